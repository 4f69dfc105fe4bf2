"""Correcting recorded facts (docs/corrections.md): the same rules as the first recording,
deadlines and reminders worked out again in the same transaction, "from X to Y, by whom, why"
in the history and the audit log, and everyone told when a deadline moves."""
import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from preservation.reminders import sweep
from preservation.documents import services as documents
from preservation.requests import services
from preservation.models import (
    AuditRecord,
    DeliveryState,
    DocumentKind,
    LegalProcessType,
    Notification,
    Outcome,
    Reminder,
    ReminderKind,
    RequestEvent,
    Role,
)
from tests.api_support import token_client
from tests.conftest import utc
from tests.factories import UserFactory
from tests.helpers import login
from tests.pdf_support import pdf_text

NOW = utc(2026, 2, 10, 17)  # 12:00 in New York
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def preserving(make_request):
    """Sent 4 January 2026 10:00 EST, received 5 January: expires 5 April, extension by 29 March."""
    request = make_request(window_start=utc(2026, 1, 1), window_end=utc(2026, 1, 2))
    actor = request.created_by
    services.request_send(preservation_request=request, actor=actor, sent_at=utc(2026, 1, 4, 15), now=NOW)
    return services.request_record_receipt(preservation_request=request, actor=actor, received_on=dt.date(2026, 1, 5),
                                           blink_reference="LE-1", now=NOW)


def correct(request, reason="Typed the wrong day from Blink's email", actor=None, **changes):
    return services.request_correct(preservation_request=request, actor=actor or request.created_by, changes=changes,
                                    reason=reason, now=NOW)


def test_a_receipt_date_corrected_by_one_day_moves_every_deadline(preserving):
    corrected = correct(preserving, received_on=dt.date(2026, 1, 6))
    assert (corrected.expires_on, corrected.extension_send_by) == (dt.date(2026, 4, 6), dt.date(2026, 3, 30))
    assert corrected.next_deadline_on == dt.date(2026, 3, 30)
    due = Reminder.objects.get(request=corrected, kind=ReminderKind.EXTENSION_DUE, lead_days=30)
    assert (due.deadline_on, due.day) == (dt.date(2026, 3, 30), dt.date(2026, 2, 28))


def test_the_history_and_the_audit_log_say_from_what_to_what_by_whom_and_why(preserving):
    correct(preserving, received_on=dt.date(2026, 1, 6), blink_reference="LE-2")
    event = preserving.events.get(action=RequestEvent.Action.CORRECTED)
    assert event.actor == preserving.created_by and event.reason == "Typed the wrong day from Blink's email"
    assert event.data == {"received_on": {"from": "2026-01-05", "to": "2026-01-06"},
                          "blink_reference": {"from": "LE-1", "to": "LE-2"}}
    record = AuditRecord.objects.for_agency(preserving.agency).filter(action="request_corrected").get()
    assert record.actor_label == preserving.created_by.username
    assert "received_on corrected from 2026-01-05 to 2026-01-06" in record.message
    assert "Why: Typed the wrong day" in record.message


def test_everyone_on_the_request_is_told_when_a_deadline_moves(preserving):
    paralegal = UserFactory(agency=preserving.agency, role=Role.PARALEGAL)
    supervisor = UserFactory(agency=preserving.agency, role=Role.SUPERVISOR)
    correct(preserving, received_on=dt.date(2026, 1, 6))
    assert sweep.reminders_send_due(now=NOW) == 1
    told = set(Notification.objects.across_agencies().filter(reminder__kind=ReminderKind.DEADLINE_MOVED).values_list("user", flat=True))
    assert told == {preserving.created_by.pk, paralegal.pk, supervisor.pk}
    assert any("30 March 2026" in message.body for message in mail.outbox)


def test_a_correction_that_moves_no_deadline_tells_nobody(preserving):
    correct(preserving, blink_reference="LE-2")
    assert not Reminder.objects.filter(request=preserving, kind=ReminderKind.DEADLINE_MOVED).exists()


def test_a_reminder_already_sent_stays_in_the_history(preserving):
    sent = Reminder.objects.get(request=preserving, kind=ReminderKind.EXTENSION_DUE, lead_days=30)
    preserving.reminders.filter(pk=sent.pk).update(state=DeliveryState.SENT, sent_at=NOW)
    correct(preserving, received_on=dt.date(2026, 1, 6))
    sent.refresh_from_db()
    assert (sent.state, sent.deadline_on) == (DeliveryState.SENT, dt.date(2026, 3, 29))


def test_two_corrections_are_each_announced(preserving):
    correct(preserving, received_on=dt.date(2026, 1, 6))
    correct(preserving, received_on=dt.date(2026, 1, 7))
    moved = Reminder.objects.filter(request=preserving, kind=ReminderKind.DEADLINE_MOVED)
    assert sorted(moved.values_list("lead_days", flat=True)) == [1, 2]


def test_the_sending_time_can_be_corrected_and_the_history_writes_it_in_the_request_zone(preserving, client):
    correct(preserving, sent_at=utc(2026, 1, 4, 14, 30))
    login(client, preserving.created_by)
    page = client.get(reverse("preservation:request_detail", args=[preserving.public_id])).content.decode()
    assert "sent to Blink: 4 January 2026, 10:00 EST → 4 January 2026, 09:30 EST" in page


REFUSED = [
    # (changes, field, code)
    ({"received_on": dt.date(2026, 1, 3)}, "received_on", "fact_order"),  # before sending
    ({"received_on": dt.date(2026, 2, 11)}, "received_on", "date_in_future"),
    ({"sent_at": utc(2026, 1, 6, 15)}, "sent_at", "fact_order"),  # after Blink received it
    ({"sent_at": utc(2026, 2, 10, 18)}, "sent_at", "date_in_future fact_order"),  # and after receipt
    ({"received_on": None}, "received_on", "required"),
    ({"extension_sent_at": utc(2026, 2, 1)}, "extension_sent_at", "not_recorded"),
]


@pytest.mark.parametrize("changes, field, code", REFUSED)
def test_a_correction_follows_the_rules_of_the_first_recording(preserving, changes, field, code):
    with pytest.raises(ValidationError) as refused:
        correct(preserving, **changes)
    assert [e.code for e in refused.value.error_dict[field]] == code.split()
    assert not preserving.events.filter(action=RequestEvent.Action.CORRECTED).exists()


def test_an_extension_cannot_be_moved_after_the_corrected_expiry(make_request):
    request = make_request(window_start=utc(2025, 10, 1), window_end=utc(2025, 10, 2))
    actor = request.created_by
    services.request_send(preservation_request=request, actor=actor, sent_at=utc(2025, 10, 3, 15), now=NOW)
    services.request_record_receipt(preservation_request=request, actor=actor, received_on=dt.date(2025, 11, 5), now=NOW)
    services.request_send_extension(preservation_request=request, actor=actor, sent_at=utc(2026, 2, 1, 15), now=NOW)
    with pytest.raises(ValidationError) as refused:
        correct(request, received_on=dt.date(2025, 10, 4))  # expiry 2 January, before the extension
    assert [e.code for e in refused.value.error_dict["received_on"]] == ["fact_order"]


def test_legal_process_and_the_outcome_can_be_corrected(preserving):
    actor = preserving.created_by
    services.request_record_legal_process(preservation_request=preserving, actor=actor, process_type=LegalProcessType.SUBPOENA,
                                          served_on=dt.date(2026, 2, 1), now=NOW)
    services.request_close(preservation_request=preserving, actor=actor, outcome=Outcome.NO_DATA, now=NOW)
    closed = correct(preserving, legal_process_type=LegalProcessType.SEARCH_WARRANT,
                     legal_process_served_on=dt.date(2026, 2, 2), outcome=Outcome.PRODUCED)
    assert (closed.legal_process_type, closed.legal_process_served_on, closed.outcome) == (
        LegalProcessType.SEARCH_WARRANT, dt.date(2026, 2, 2), Outcome.PRODUCED)


@pytest.mark.parametrize("reason, code", [("", "required"), ("   ", "required")])
def test_a_reason_is_required(preserving, reason, code):
    with pytest.raises(ValidationError) as refused:
        correct(preserving, reason=reason, received_on=dt.date(2026, 1, 6))
    assert [e.code for e in refused.value.error_dict["reason"]] == [code]


def test_nothing_changed_is_refused(preserving):
    with pytest.raises(ValidationError) as refused:
        correct(preserving, received_on=dt.date(2026, 1, 5))
    assert refused.value.code == "no_change"


@pytest.mark.parametrize("role, allowed", [
    (Role.SUPERVISOR, True), (Role.AGENCY_ADMIN, True), (Role.PARALEGAL, False), (Role.REQUESTER, False),
])
def test_the_requester_a_supervisor_or_an_agency_admin_may_correct(preserving, role, allowed):
    someone = UserFactory(agency=preserving.agency, role=role)
    if allowed:
        assert correct(preserving, actor=someone, received_on=dt.date(2026, 1, 6)).received_on == dt.date(2026, 1, 6)
        return
    with pytest.raises(ValidationError) as refused:
        correct(preserving, actor=someone, received_on=dt.date(2026, 1, 6))
    assert refused.value.code == "not_allowed"


def test_the_request_page_corrects_with_a_form(preserving, client):
    login(client, preserving.created_by)
    response = client.post(reverse("preservation:request_correct", args=[preserving.public_id]), {
        "correct-sent_at": "2026-01-04T10:00", "correct-received_on": "2026-01-06",
        "correct-blink_reference": "LE-1", "correct-reason": "Blink's email says 6 January",
    })
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "received by Blink on: 5 January 2026 → 6 January 2026" in page
    assert "Blink&#x27;s email says 6 January" in page


def test_the_request_page_shows_a_refused_correction_beside_its_field(preserving, client):
    login(client, preserving.created_by)
    response = client.post(reverse("preservation:request_correct", args=[preserving.public_id]), {
        "correct-sent_at": "2026-01-04T10:00", "correct-received_on": "2026-01-03",
        "correct-blink_reference": "LE-1", "correct-reason": "typo",
    })
    assert response.status_code == 400
    assert "Blink cannot have received the request before it was sent (4 January 2026)." in response.content.decode()


def test_the_api_corrects_too(preserving):
    api = token_client(preserving.created_by)
    response = api.post("/api/v1/requests/%s/correct/" % preserving.public_id,
                        {"received_on": "2026-01-06", "reason": "typo"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["received_on"] == "2026-01-06"
    refused = api.post("/api/v1/requests/%s/correct/" % preserving.public_id,
                       {"received_on": "2026-01-07"}, format="json")
    assert refused.status_code == 400


def test_the_case_sheet_pdf_keeps_the_correction_in_its_history(preserving):
    correct(preserving, received_on=dt.date(2026, 1, 6))
    document = documents.document_generate(preservation_request=preserving, kind=DocumentKind.CASE_SHEET,
                                           actor=preserving.created_by, now=NOW)
    text = pdf_text(bytes(document.content))
    assert "received by Blink on: 5 January 2026 → 6 January 2026" in text
