"""Dates in a real browser (docs/dates.md): the timeline draws in every language with no
console error and every label inside the drawing; a corrected receipt date moves the expiry,
the extension date and the next reminder, and the correction is in the history."""
import datetime as dt

import pytest
from django.utils import timezone

from preservation.core import presentation
from preservation.requests import services
from preservation.rules import deadlines
from tests.browser.test_browser_request_flow import PASSWORD, sign_in
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import verified_device

pytestmark = pytest.mark.browser


def officer_speaking(language):
    agency = AgencyFactory(name="Springfield PD", time_zone="America/New_York", country="US")
    user = UserFactory(agency=agency, language=language, password=PASSWORD)
    verified_device(user)
    return user


def preserving_request(user):
    """Sent eight days ago, received by Blink a week ago."""
    now = timezone.now()
    request = RequestFactory(agency=user.agency, created_by=user, window_start=now - dt.timedelta(days=12),
                             window_end=now - dt.timedelta(days=11, hours=20))
    services.request_send(preservation_request=request, actor=user, sent_at=now - dt.timedelta(days=8), now=now)
    received = deadlines.local_date(now - dt.timedelta(days=7), user.agency.time_zone)
    return services.request_record_receipt(preservation_request=request, actor=user, received_on=received,
                                           blink_reference="LE-1", now=now)


def console_errors(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


LABELS_OUTSIDE = """() => {
    const svg = document.querySelector("svg.timeline-svg");
    const frame = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll("text")];
    return {count: texts.length, outside: texts.filter(t => {
        const box = t.getBoundingClientRect();
        return box.width === 0 || box.left < frame.left - 0.5 || box.right > frame.right + 0.5
            || box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5;
    }).map(t => t.textContent)};
}"""


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_the_timeline_draws_in_every_language_with_every_label_inside(page, transactional_db, language):
    user = officer_speaking(language)
    request = preserving_request(user)
    errors = console_errors(page)
    sign_in(page, user)
    page.goto("/requests/%s/" % request.public_id)
    page.wait_for_selector("svg.timeline-svg")
    drawn = page.evaluate(LABELS_OUTSIDE)
    assert drawn["count"] >= 6 and drawn["outside"] == []
    bars = page.evaluate("() => [...document.querySelectorAll('svg.timeline-svg rect')].map(r => r.getBBox().width)")
    assert bars and all(width > 0 for width in bars)
    assert errors == []


def test_correcting_the_receipt_date_moves_the_expiry_the_extension_date_and_the_next_reminder(page, transactional_db):
    user = officer_speaking("en")
    request = preserving_request(user)
    sign_in(page, user)
    page.goto("/requests/%s/" % request.public_id)

    def shown(code):
        return page.locator("[data-deadline=%s] [data-testid=deadline-date]" % code).inner_text().strip()

    def next_reminder():
        return page.locator("#reminders li:has-text('Scheduled') time").first.inner_text()

    expires, send_by, reminder = shown("expires"), shown("extension_send_by"), next_reminder()
    later = request.received_on + dt.timedelta(days=1)
    page.locator("#action-correct summary").click()
    page.fill("#id_correct-received_on", later.isoformat())
    page.fill("#id_correct-reason", "Blink's email is dated a day later")
    page.get_by_role("button", name="Confirm: Correct a recorded fact").click()
    page.wait_for_load_state()

    day = presentation.day_text
    assert shown("expires") == day(request.expires_on + dt.timedelta(days=1)) != expires
    assert shown("extension_send_by") == day(request.extension_send_by + dt.timedelta(days=1)) != send_by
    assert next_reminder() != reminder
    correction = page.get_by_test_id("correction").first.inner_text()
    assert correction == "received by Blink on: %s → %s" % (day(request.received_on), day(later))
    assert "Blink's email is dated a day later" in page.locator("#history").inner_text()
