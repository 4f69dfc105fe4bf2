"""The date oracle (docs/dates.md): for generated requests in far-apart zones and in every
language, read back every date and time a person reads (request page, dashboard row, PDF case
sheet, reminder email, ICS file, API answer) and compare it with the rules engine."""
import datetime as dt
import re
from datetime import UTC, timedelta

import pytest
import time_machine
from django.urls import reverse
from hypothesis import HealthCheck, given, note, settings, strategies as st
from icalendar import Calendar

from preservation.documents import services as documents
from preservation.reminders import calendar, emails, sweep
from preservation.requests import services
from preservation.rules import deadlines
from preservation.models import DeadlineKind, DocumentKind, DocumentState
from tests.api_support import token_client
from tests.date_reading import DateReader, minute
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login
from tests.pdf_support import pdf_text

pytestmark = pytest.mark.django_db

ZONES = ["America/New_York", "Europe/Berlin", "Pacific/Auckland", "Asia/Kolkata", "UTC"]
LANGUAGES = ["en", "de", "fr", "es"]
STAGES = ["draft", "submitted", "preserving", "extended"]
BASE = dt.datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def cases(draw):
    """A request at some stage, everything placed backwards from ``now`` (any hour of a year,
    so clock changes and both sides of every zone's summer time come up)."""
    now = BASE + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    stage = draw(st.sampled_from(STAGES))
    sent_ago = timedelta(hours=draw(st.integers(250, 1900)))
    window_end = now - (sent_ago if stage != "draft" else timedelta()) - timedelta(
        minutes=draw(st.integers(60, 40 * 24 * 60)))
    window_start = window_end - timedelta(minutes=draw(st.integers(1, 72 * 60)))
    return {
        "now": now, "stage": stage, "sent_at": now - sent_ago, "receipt_days": draw(st.integers(0, 3)),
        "window_start": window_start, "window_end": window_end, "zone": draw(st.sampled_from(ZONES)),
        "language": draw(st.sampled_from(LANGUAGES)),
    }


def build(case):
    now, zone = case["now"], case["zone"]
    agency = AgencyFactory(time_zone=zone)
    user = UserFactory(agency=agency, language=case["language"])
    request = RequestFactory(agency=agency, created_by=user, window_start=case["window_start"],
                             window_end=case["window_end"], window_zone=zone, language=case["language"],
                             account_country="US")
    if case["stage"] == "draft":
        return user, request
    request = services.request_send(preservation_request=request, actor=user, sent_at=case["sent_at"], now=now)
    if case["stage"] == "submitted":
        return user, request
    received = deadlines.local_date(case["sent_at"], zone) + timedelta(days=case["receipt_days"])
    request = services.request_record_receipt(preservation_request=request, actor=user, received_on=received,
                                              blink_reference="LE-7", now=now)
    if case["stage"] == "extended":
        request = services.request_send_extension(preservation_request=request, actor=user, sent_at=now - timedelta(hours=2), now=now)
        request = services.request_record_extension_receipt(
            preservation_request=request, actor=user, received_on=deadlines.local_date(now, zone), now=now)
    return user, request


class Truth:
    """What the rules engine says, independently of what the app stored."""

    def __init__(self, request, now):
        zone = request.agency.time_zone
        self.report = report = services.request_report(request, now=now)
        self.zone = request.window_zone
        clock = report.clock
        self.instants = {"first_loss": report.retention.first_loss_at, "total_loss": report.retention.total_loss_at}
        self.dates = {
            "expires": clock and clock.expires_on, "extension_send_by": clock and clock.extension_send_by,
            "final_expires": clock and clock.final_expires_on,
        }
        self.next_on, self.next_kind = services._next_deadline(request, report, now)
        moments = [request.window_start, request.window_end, request.sent_at, request.extension_sent_at, now,
                   *self.instants.values(), *request.reminders.values_list("due_at", flat=True)]
        self.known_instants = {minute(m) for m in moments if m}
        days = [request.received_on, request.extension_received_on, deadlines.local_date(now, zone),
                *self.dates.values(), *request.reminders.values_list("deadline_on", flat=True)]
        days += [deadlines.local_date(m, self.zone) for m in moments if m]
        self.known_dates = {d for d in days if d}


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def check_page(html, truth, reader, request):
    zone = truth.zone
    for code, expected in truth.instants.items():
        row = re.search(r'data-deadline="%s">.*?<td [^>]*data-testid="deadline-date"[^>]*>(.*?)</td>' % code, html, re.S)
        if row:
            read = reader.instants(row.group(1), zone)
            assert read and set(read) == {minute(expected)}, (code, row.group(1))
    for code, expected in truth.dates.items():
        row = re.search(r'data-deadline="%s">.*?<td [^>]*data-testid="deadline-date"[^>]*>(.*?)</td>' % code, html, re.S)
        assert bool(row) == bool(expected), code
        if row:
            assert reader.dates_only(text_of(row.group(1))) == [expected], (code, row.group(1))
    window = text_of(re.search(r'data-testid="window">(.*?)</dd>', html, re.S).group(1))
    assert reader.instants(window, zone) == [minute(request.window_start), minute(request.window_end)] * 2, window
    header = re.search(r'data-testid="next-deadline">(.*?)</span>', html)
    if truth.next_kind:
        expected = truth.instants.get(truth.next_kind) or truth.dates.get(truth.next_kind)
        read = reader.instants(header.group(1), zone) if truth.next_kind in truth.instants else reader.dates(header.group(1))
        assert set(read) == {minute(expected) if truth.next_kind in truth.instants else expected}, header.group(1)
    check_everything_known(text_of(html), truth, reader)


def check_everything_known(text, truth, reader):
    """No date or time on the whole page that the engine (or the recorded facts) cannot explain."""
    unknown_instants = set(reader.instants(text, truth.zone)) - truth.known_instants
    unknown_dates = set(reader.dates_only(text)) - truth.known_dates
    assert not unknown_instants and not unknown_dates, (unknown_instants, unknown_dates)


def check_dashboard(html, truth, reader, request):
    row = re.search(r'<tr data-request="%s".*?</tr>' % request.public_id, html, re.S).group(0)
    assert ">%s</a>" % request.reference in row, row
    cell = re.search(r'<td [^>]*class="next-deadline">(.*?)</td>', row, re.S).group(1)
    due = re.search(r"<strong>(.*?)</strong>", cell)
    assert (reader.dates(due.group(1)) if due else []) == ([truth.next_on] if truth.next_on else []), row


def check_pdf(request, user, truth, reader, now):
    document = documents.document_generate(preservation_request=request, kind=DocumentKind.CASE_SHEET, actor=user, now=now)
    assert document.state == DocumentState.DONE, document.error
    text = pdf_text(bytes(document.content)).replace("\u200b", "")
    check_everything_known(text, truth, reader)
    for code, expected in truth.dates.items():
        assert not expected or expected in reader.dates_only(text), code
    for expected in truth.instants.values():
        assert minute(expected) in reader.instants(text, truth.zone)


REMINDER_DEADLINES = {"extension_due": "extension_send_by", "escalation": "expires", "final_expiry": "final_expires",
                      "extension_ack_missing": "expires"}


def check_email(request, user, truth, reader):
    reminder = request.reminders.order_by("due_at").first()
    if reminder is None:
        return
    recipient = sweep.Recipient("u%d" % user.pk, user.email, user.language, user)
    message = emails.reminder_message(reminder, recipient)
    found = set(reader.dates_only(message.body))
    if reminder.kind in REMINDER_DEADLINES:
        assert found == {truth.dates[REMINDER_DEADLINES[reminder.kind]]}, message.body
    assert found <= truth.known_dates, message.body


ICS_KINDS = {DeadlineKind.FIRST_LOSS: "first_loss", DeadlineKind.TOTAL_LOSS: "total_loss",
             DeadlineKind.EXTENSION_SEND_BY: "extension_send_by", DeadlineKind.EXPIRES: "expires",
             DeadlineKind.FINAL_EXPIRES: "final_expires"}


def check_ics(request, user, truth):
    events = Calendar.from_ical(calendar.request_calendar(user, request)).walk("VEVENT")
    zone = request.agency.time_zone
    for event in events:
        code = next(code for kind, code in ICS_KINDS.items() if str(event["uid"]).endswith("-%s@preserve" % kind))
        expected = truth.dates.get(code) or deadlines.local_date(truth.instants[code], zone)
        assert event["dtstart"].dt == expected, (code, event["dtstart"].dt, expected)


def check_api(request, user, truth):
    body = token_client(user).get("/api/v1/requests/%s/" % request.public_id).json()
    assert dt.datetime.fromisoformat(body["window_start"]) == request.window_start
    assert dt.datetime.fromisoformat(body["window_end"]) == request.window_end
    got = body["deadlines"]
    for code, field in (("first_loss", "first_loss_at"), ("total_loss", "total_loss_at")):
        assert dt.datetime.fromisoformat(got[field].replace("Z", "+00:00")) == truth.instants[code]
    for code, field in (("expires", "expires_on"), ("extension_send_by", "extension_send_by"),
                        ("final_expires", "final_expires_on")):
        assert got[field] == (truth.dates[code].isoformat() if truth.dates[code] else None), field
    assert (got["next_deadline"] or {}).get("on") == (truth.next_on.isoformat() if truth.next_on else None)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_every_date_a_person_reads_agrees_with_the_rules_engine(client, case):
    note(repr(case))
    now = case["now"]
    with time_machine.travel(now, tick=False):
        user, request = build(case)
        truth = Truth(request, now)
        note("stored next deadline %s %s; engine %s %s" % (
            request.next_deadline_on, request.next_deadline_kind, truth.next_on, truth.next_kind))
        reader = DateReader(case["language"])
        login(client, user)
        page = client.get(reverse("preservation:request_detail", args=[request.public_id])).content.decode()
        check_page(page, truth, reader, request)
        check_dashboard(client.get(reverse("preservation:dashboard")).content.decode(), truth, reader, request)
        check_email(request, user, truth, reader)
        check_ics(request, user, truth)
        check_api(request, user, truth)
        check_pdf(request, user, truth, reader, now)
