"""The workday in a real browser (docs/workday.md): the next step sends from the dashboard, a
single-supervisor agency's admin approves, an emergency send reaches the supervisor's review
list, a paralegal records three receipts at once, and an officer on a phone files and sends
without the page ever scrolling sideways. axe-core finds nothing serious at phone and tablet
widths."""
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from preservation.requests import services
from preservation.models import DocumentState, GeneratedDocument, PreservationRequest, RequestState, Role
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_browser_request_flow import PASSWORD, local_input, sign_in
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import verified_device

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}


def member(agency, username, role=Role.REQUESTER, **names):
    user = UserFactory(agency=agency, username=username, role=role, password=PASSWORD, **names)
    verified_device(user)
    return user


def draft_of(author, **extra):
    now = timezone.now()
    return RequestFactory(agency=author.agency, created_by=author, window_start=now - timedelta(days=12),
                          window_end=now - timedelta(days=11), **extra)


def assert_no_sideways_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


def assert_fits_and_accessible(page):
    assert_no_sideways_scroll(page)
    assert serious_accessibility_violations(page) == []


def other_page(browser, live_server, viewport=None):
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-US",
                                  viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return context, page


def row(page, request_obj):
    return page.locator("tr[data-request='%s']" % request_obj.public_id)


def test_an_officer_sees_send_as_the_next_step_and_sends_from_the_dashboard(page, transactional_db):
    agency = AgencyFactory(name="Springfield PD")
    officer = member(agency, "mulder", first_name="Fox", last_name="Mulder")
    draft = draft_of(officer, case_number="CR-2026-4471")
    sign_in(page, officer)
    page.goto("/")
    line = row(page, draft)
    assert line.get_attribute("data-next-step") == "send"
    assert "Send it to Blink today." in line.inner_text()
    assert serious_accessibility_violations(page) == []
    line.get_by_role("link", name="Send to Blink").click()
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=state] >> text=Sent to Blink")
    page.goto("/")
    assert row(page, draft).get_attribute("data-next-step") == "record_receipt"
    assert "Waiting for Blink's acknowledgement" in row(page, draft).inner_text()


def test_a_single_supervisor_agency_gets_its_supervisors_request_approved_by_the_admin(
        page, browser, live_server, transactional_db):
    agency = AgencyFactory(name="Shelbyville PD", requires_supervisor_approval=True)
    boss = member(agency, "skinner", Role.SUPERVISOR, first_name="Walter", last_name="Skinner")
    admin = member(agency, "kersh", Role.AGENCY_ADMIN, first_name="Alvin", last_name="Kersh")
    draft = draft_of(boss)
    sign_in(page, boss)
    page.goto("/requests/%s/" % draft.public_id)
    page.get_by_role("button", name="Ask for approval").click()
    page.wait_for_selector("[data-testid=approval-asked]")

    context, admin_page = other_page(browser, live_server)
    sign_in(admin_page, admin)
    admin_page.goto("/")
    assert admin_page.get_by_role("link", name="Notifications").inner_text().strip().endswith("unread")
    admin_page.locator("[data-inbox=approval]").click()
    line = row(admin_page, draft)
    assert line.get_attribute("data-next-step") == "await_approval"
    assert serious_accessibility_violations(admin_page) == []
    line.get_by_role("button", name="Approve").click()
    admin_page.wait_for_selector("text=is approved for sending")
    assert "inbox=approval" in admin_page.url  # back on the list it was approved from
    context.close()

    page.reload()
    page.locator("#actions").get_by_role("link", name="Send to Blink").click()
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=state] >> text=Sent to Blink")


def test_an_emergency_send_lands_in_the_supervisors_review_list(page, browser, live_server, transactional_db):
    agency = AgencyFactory(name="Capital City PD", requires_supervisor_approval=True, allows_emergency_send=True)
    officer = member(agency, "scully", first_name="Dana", last_name="Scully")
    boss = member(agency, "skinner", Role.SUPERVISOR, first_name="Walter", last_name="Skinner")
    draft = draft_of(officer)
    sign_in(page, officer)
    page.goto("/requests/%s/send/" % draft.public_id)
    assert "in an emergency you may send now" in page.get_by_test_id("send-approval").inner_text()
    page.fill("#id_send-emergency_reason", "The owner deletes the account tonight")
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=emergency]")
    assert "The owner deletes the account tonight" in page.get_by_test_id("emergency").inner_text()

    context, boss_page = other_page(browser, live_server)
    sign_in(boss_page, boss)
    boss_page.goto("/")
    boss_page.locator("[data-inbox=review]").click()
    assert row(boss_page, draft).is_visible()
    assert "Sent without approval" in row(boss_page, draft).inner_text()
    row(boss_page, draft).get_by_role("link", name=draft.reference).click()
    boss_page.get_by_role("button", name="Mark as reviewed").click()
    boss_page.wait_for_selector("text=marked as reviewed")
    context.close()


def test_a_paralegal_records_three_receipts_in_one_bulk_action(page, transactional_db):
    agency = AgencyFactory(name="Springfield PD")
    officer = member(agency, "mulder")
    paralegal = member(agency, "langly", Role.PARALEGAL, first_name="Richard", last_name="Langly")
    sent = []
    for _ in range(3):
        request_obj = draft_of(officer)
        services.request_send(preservation_request=request_obj, actor=officer, now=timezone.now() - timedelta(days=1))
        sent.append(request_obj)
    draft_of(officer)  # stays a draft: not selected
    sign_in(page, paralegal)
    page.goto("/?group=waiting")
    for request_obj in sent:
        page.check("#select-%s" % request_obj.public_id)
    page.get_by_test_id("bulk").locator("summary").click()
    page.select_option("#bulk-operation", "record_receipt")
    page.fill("#bulk-received", timezone.localdate(timezone.now(), agency.zone).isoformat())
    page.fill("#bulk-reference", "LE-2026-77")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    page.wait_for_selector("text=Done for 3 requests")
    assert serious_accessibility_violations(page) == []
    states = set(PreservationRequest.objects.for_agency(agency).filter(pk__in=[r.pk for r in sent])
                 .values_list("state", "blink_reference"))
    assert states == {(RequestState.PRESERVING, "LE-2026-77")}


def test_an_officer_on_a_phone_files_and_sends_without_sideways_scrolling(browser, live_server, transactional_db):
    agency = AgencyFactory(name="Springfield PD")
    officer = member(agency, "mulder", first_name="Fox", last_name="Mulder")
    draft_of(officer, case_number="CR-2026-1")  # so the dashboard has a card
    context, page = other_page(browser, live_server, viewport=PHONE)
    sign_in(page, officer)
    page.goto("/")
    assert_fits_and_accessible(page)
    page.goto("/requests/new/")
    assert_no_sideways_scroll(page)
    now, zone = timezone.now(), agency.time_zone
    page.fill("#id_case_number", "CR-2026-00390")
    page.check("text=Video clips")
    page.fill("#id_window_start", local_input(now - timedelta(days=20), zone))
    page.fill("#id_window_end", local_input(now - timedelta(days=19), zone))
    page.fill("#id_paste", "G8T1-SJ02-3294-01VR")
    page.get_by_role("button", name="Add pasted serials to the list").click()
    page.wait_for_selector("[data-serial-row]")
    assert_fits_and_accessible(page)
    page.get_by_role("button", name="Check and prepare to send").click()
    page.wait_for_selector("[data-testid=send-values]")
    assert_fits_and_accessible(page)
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=state] >> text=Sent to Blink")
    # The next step and its action come first on the request page.
    next_step = page.get_by_test_id("next-step").bounding_box()
    assert next_step["y"] < page.locator("#deadlines").bounding_box()["y"]
    assert next_step["y"] < 844
    assert_fits_and_accessible(page)
    context.close()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_the_busy_pages_fit_and_are_accessible_at_phone_and_tablet_widths(browser, live_server, transactional_db,
                                                                          viewport):
    agency = AgencyFactory(name="Springfield PD", requires_supervisor_approval=True, allows_emergency_send=True)
    officer = member(agency, "mulder", first_name="Fox", last_name="Mulder")
    member(agency, "skinner", Role.SUPERVISOR)
    draft = draft_of(officer, case_number="CR-2026-7")
    services.request_approve(preservation_request=draft, actor=agency.users.get(username="skinner"))
    services.request_send(preservation_request=draft, actor=officer)
    services.request_record_receipt(preservation_request=draft, actor=officer, received_on=timezone.localdate(timezone.now(), agency.zone))
    pdf = b"%PDF-1.7 a stand-in letter"  # its fingerprint is the long unbroken value to fit
    GeneratedDocument.objects.create(
        request=draft, kind="request", language="en", requested_by=officer, requested_at=timezone.now(),
        state=DocumentState.DONE, version=1, content=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf), pages=1, generated_at=timezone.now())
    context, page = other_page(browser, live_server, viewport=viewport)
    sign_in(page, officer)
    for address in ("/", "/?group=yours", "/requests/%s/" % draft.public_id, "/requests/%s/send/" % draft.public_id,
                    "/requests/%s/extension/send/" % draft.public_id, "/notifications/"):
        page.goto(address)
        assert_fits_and_accessible(page)
    download = page.goto("/requests/%s/" % draft.public_id) and page.locator("#documents").get_by_role("link", name="Download")
    assert download.first.bounding_box()["width"] > 60  # "Download" whole, not "Do"
    context.close()
