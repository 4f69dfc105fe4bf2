"""Supervisor approval in a real browser: the requester sees why Send is blocked, a supervisor
approves (through the confirmation), and the requester can then send."""
from datetime import timedelta

import pytest
from django.utils import timezone

from preservation.models import RequestApproval, Role
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_browser_request_flow import PASSWORD, sign_in
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import verified_device

pytestmark = pytest.mark.browser


@pytest.fixture
def strict_draft(transactional_db):
    agency = AgencyFactory(name="Springfield PD", requires_supervisor_approval=True)
    officer = UserFactory(agency=agency, username="mulder", first_name="Fox", last_name="Mulder", password=PASSWORD)
    supervisor = UserFactory(agency=agency, username="skinner", first_name="Walter", last_name="Skinner",
                             role=Role.SUPERVISOR, password=PASSWORD)
    for user in (officer, supervisor):
        verified_device(user)
    now = timezone.now()
    draft = RequestFactory(agency=agency, created_by=officer, window_start=now - timedelta(days=12),
                           window_end=now - timedelta(days=11))
    return draft, officer, supervisor


def test_a_supervisor_approves_a_draft_the_requester_then_sends(page, browser, live_server, strict_draft):
    draft, officer, supervisor = strict_draft
    detail = "/requests/%s/" % draft.public_id

    sign_in(page, officer)
    page.goto(detail)
    assert "Waiting for a supervisor’s approval" in page.get_by_test_id("approval").inner_text()
    assert page.locator("#actions").get_by_role("button", name="Send to Blink").is_disabled()
    assert page.get_by_role("button", name="Approve for sending").count() == 0
    assert serious_accessibility_violations(page) == []

    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-US")
    boss = context.new_page()
    boss.on("dialog", lambda dialog: dialog.accept())
    sign_in(boss, supervisor)
    boss.goto(detail)
    boss.get_by_role("button", name="Approve for sending").click()
    boss.wait_for_selector("text=is approved for sending")
    assert serious_accessibility_violations(boss) == []
    context.close()
    assert RequestApproval.objects.get(request=draft).approved_by == supervisor

    page.reload()
    assert "Approved by Walter Skinner" in page.get_by_test_id("approval").inner_text()
    page.locator("#actions").get_by_role("link", name="Send to Blink").click()
    page.get_by_role("button", name="I have sent it to Blink").click()
    page.wait_for_selector("[data-testid=state] >> text=Sent to Blink")
