"""A German agency files a Ring request with a MAC address under the European Preservation Order
in a real browser: the EPOC-PR is its default basis, the MAC is checked as it is typed, the
expiry is 60 days after receipt, and the certificate document (Annex II) can be generated
(docs/providers.md)."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from preservation.rules import catalogue
from preservation.rules import deadlines
from preservation.models import DocumentKind, GeneratedDocument, PreservationRequest
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_browser_request_flow import PASSWORD, sign_in
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import verified_device

pytestmark = pytest.mark.browser


@pytest.fixture
def kommissarin(transactional_db):
    agency = AgencyFactory(name="LKA Berlin", time_zone="Europe/Berlin", country="DE")
    user = UserFactory(agency=agency, username="odenthal", first_name="Lena", last_name="Odenthal",
                       email="lena@lka.example", password=PASSWORD)
    verified_device(user)
    return user


def local_input(instant, zone):
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def test_a_ring_request_with_a_mac_under_the_epoc_pr_for_a_german_agency(page, kommissarin):
    sign_in(page, kommissarin)
    zone = kommissarin.agency.time_zone
    now = timezone.now()
    page.goto("/requests/new/")

    # The EPOC-PR is the German agency's default basis.
    assert page.locator("#id_legal_basis").input_value() == catalogue.EPOC_PR
    page.select_option("#id_provider", "ring")
    page.fill("#id_case_number", "LKA-2026-0815")
    page.check("text=Video clips")
    page.fill("#id_account_country", "DE")
    page.fill("#id_window_start", local_input(now - timedelta(days=5), zone))
    page.fill("#id_window_end", local_input(now - timedelta(days=4), zone))
    page.locator("#id_window_end").blur()

    # A MAC address in any notation, checked as it is typed.
    page.get_by_role("button", name="Add an identifier").click()
    row = page.locator("#serial-rows [data-serial-row]").last
    row.locator("[data-serial-kind]").select_option("mac")
    row.locator("[data-serial-input]").fill("00-1a-2b-3c-4d-5e")
    page.wait_for_selector("#serial-rows >> text=00:1A:2B:3C:4D:5E")
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("text=saved")
    request_obj = PreservationRequest.objects.for_agency(kommissarin.agency).get()
    assert (request_obj.provider, request_obj.legal_basis) == ("ring", catalogue.EPOC_PR)
    assert [(s.kind, s.normalized) for s in request_obj.serials.all()] == [("mac", "001A2B3C4D5E")]

    page.get_by_role("button", name="Check and prepare to send").click()
    page.wait_for_selector("[data-testid=send-values]")
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=state] >> text=Sent to Blink")

    # Receipt: the EPOC-PR's 60 days.
    today = deadlines.local_date(timezone.now(), zone)
    page.locator("#action-record_receipt summary").click()
    page.fill("#id_record_receipt-received_on", today.isoformat())
    page.get_by_role("button", name="Confirm: Record Blink's receipt").click()
    page.wait_for_selector("[data-testid=state] >> text=Preserving")
    expiry = today + timedelta(days=60)
    expires_row = page.locator("[data-deadline=expires]")
    assert "%d %s %d" % (expiry.day, expiry.strftime("%B"), expiry.year) in expires_row.inner_text()
    assert "EPOC-PR received %s + 60 days = %s" % (today.isoformat(), expiry.isoformat()) in expires_row.inner_text()
    assert page.get_by_test_id("provider").inner_text() == "Ring"

    # The certificate document, filled from the request.
    card = page.locator(".card:has-text('European Preservation Order Certificate (EPOC-PR)')")
    assert card.is_visible()
    card.get_by_role("button").click()
    page.wait_for_load_state()
    document = GeneratedDocument.objects.get(request=request_obj, kind=DocumentKind.EPOC_PR_CERTIFICATE)
    page.goto("/requests/%s/" % request_obj.public_id)
    page.wait_for_selector("#document-%s >> text=Download" % document.public_id)
    assert serious_accessibility_violations(page) == []
