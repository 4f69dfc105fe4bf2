"""One officer's whole journey in a real browser, with accessibility checks on the way:
sign in, paste three serials (one invalid), fix it, save a draft, send, record Blink's
receipt, read the expiry date, send the extension."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_otp.oath import TOTP

from preservation.models import PreservationRequest, RequestState
from preservation.rules import deadlines
from tests.browser.conftest import serious_accessibility_violations
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import verified_device

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


@pytest.fixture
def officer(transactional_db):
    agency = AgencyFactory(name="Springfield PD", time_zone="America/New_York", country="US")
    user = UserFactory(agency=agency, username="mulder", first_name="Fox", last_name="Mulder",
                       email="fox@springfield.example", password=PASSWORD)
    verified_device(user)  # enrolled in the second factor already
    return user


def sign_in(page, user):
    """Through the real forms: password, then the second factor and the notice when asked."""
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    submit(page, "#id_username")
    if page.locator("input[name=token]").count():
        device = verified_device(user)
        page.fill("input[name=token]", "%06d" % TOTP(device.bin_key, device.step, device.t0, device.digits).token())
        submit(page, "input[name=token]")
    if page.locator("input[name=acknowledge]").count():
        page.check("input[name=acknowledge]")
        submit(page, "input[name=acknowledge]")
    assert page.locator("#id_username, input[name=token], input[name=acknowledge]").count() == 0


def submit(page, field):
    page.locator("form:has(%s) [type=submit]" % field).click()
    page.wait_for_load_state()


def local_input(instant, zone):
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def assert_accessible(page):
    assert serious_accessibility_violations(page) == []


def test_an_officer_files_sends_and_extends_a_request(page, officer):
    sign_in(page, officer)
    zone = officer.agency.time_zone
    now = timezone.now()

    # The dashboard of a new agency says what to do first.
    page.goto("/")
    assert page.get_by_test_id("empty-state").is_visible()
    page.get_by_role("link", name="Create your first request").click()

    page.fill("#id_case_number", "CR-2026-00042")
    page.check("text=Video clips")
    page.fill("#id_window_start", local_input(now - timedelta(days=20), zone))
    page.fill("#id_window_end", local_input(now - timedelta(days=19), zone))
    page.locator("#id_window_end").blur()
    page.wait_for_selector("#urgency-badge [data-urgency]")
    assert "UTC" in page.get_by_test_id("start-utc").inner_text()

    # Paste three serials, one of them invalid.
    page.fill("#id_paste", "G8T1-SJ02-3294-01VR\n638241420, G8T1-12")
    page.get_by_role("button", name="Add pasted serials to the list").click()
    page.wait_for_selector("[data-serial-row] >> nth=2")
    rows = page.locator("#serial-rows [data-serial-row]")
    assert rows.count() == 3
    assert rows.nth(0).locator("[data-serial-model]").input_value() == "doorbell"
    invalid = rows.nth(2).locator("[data-serial-input]")
    assert "is-invalid" in invalid.get_attribute("class")
    assert "found 6 characters" in rows.nth(2).locator("[data-serial-feedback]").inner_text()
    # The legacy XT makes the whole request critical at once.
    page.wait_for_selector("#urgency-badge [data-urgency=critical]")
    assert_accessible(page)

    # Fix it: the check runs as it is typed.
    invalid.fill("g8t1 lpff f402 3s6s")
    page.wait_for_selector("#serial-rows [data-serial-row] >> nth=2 >> text=G8T1-LPFF-F402-3S6S")
    assert rows.nth(2).locator("[data-serial-model]").input_value() == "sync_module_2"
    # Typed in lowercase, its l is read as the letter L: the row says so, and the officer ticks
    # "Warnings checked" after reading the label, or the request cannot be sent.
    assert "lowercase l" in rows.nth(2).locator("[data-serial-feedback]").inner_text()
    rows.nth(2).locator("[data-serial-ack]").check()

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("text=saved")
    preservation_request = PreservationRequest.objects.for_agency(officer.agency).get()
    assert [s.normalized for s in preservation_request.serials.all()] == [
        "G8T1SJ02329401VR", "638241420", "G8T1LPFFF4023S6S"]

    # Send: the sending page lists every value for Blink's form, then one click records it.
    page.get_by_role("button", name="Check and prepare to send").click()
    page.wait_for_selector("[data-testid=send-values]")
    assert "G8T1-LPFF-F402-3S6S" in page.locator("[data-field=serials]").inner_text()
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=state] >> text=Sent to Blink")
    assert_accessible(page)

    # Record Blink's receipt and read the expiry date.
    today = deadlines.local_date(timezone.now(), zone)
    page.locator("#action-record_receipt summary").click()
    page.fill("#id_record_receipt-received_on", today.isoformat())
    page.fill("#id_record_receipt-blink_reference", "LE-2026-991")
    page.get_by_role("button", name="Confirm: Record Blink's receipt").click()
    page.wait_for_selector("[data-testid=state] >> text=Preserving")
    expiry = today + timedelta(days=90)
    expires_row = page.locator("[data-deadline=expires]")
    assert "%d %s %d" % (expiry.day, expiry.strftime("%B"), expiry.year) in expires_row.inner_text()
    assert "+ 90 days" in expires_row.inner_text()

    # Send the extension.
    page.locator("#action-send_extension summary").click()
    page.get_by_role("button", name="Confirm: Record the extension request").click()
    page.wait_for_selector("[data-testid=state] >> text=Extension requested")
    preservation_request.refresh_from_db()
    assert preservation_request.state == RequestState.EXTENSION_REQUESTED

    page.goto("/")
    assert page.locator("[data-testid=requests]").get_by_text(preservation_request.reference).is_visible()
    assert_accessible(page)
