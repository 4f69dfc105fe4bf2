"""Reminder rows follow the services, and the sweep sends each one once."""
import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import translation

from preservation.models import (
    DeliveryState as D,
)
from preservation.models import (
    DigestDelivery,
    LegalProcessType,
    Notification,
    Reminder,
    ReminderPreference,
    Role,
)
from preservation.models import (
    ReminderKind as K,
)
from preservation.models import (
    RequestState as S,
)
from preservation.reminders import sweep as reminder_sweep
from preservation.reminders import texts
from preservation.reminders.emails import message_id
from preservation.requests import services
from tests.conftest import utc
from tests.factories import UserFactory
from tests.mail_support import reminder_mail

pytestmark = pytest.mark.django_db
SENT_AT = utc(2026, 1, 4, 15)  # 10:00 in New York
RECEIVED_AT = utc(2026, 1, 6, 15)



@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(SENT_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff(agency):
    return {
        "paralegal": UserFactory(agency=agency, role=Role.PARALEGAL, language="de"),
        "supervisor": UserFactory(agency=agency, role=Role.SUPERVISOR),
    }


@pytest.fixture
def sent(make_request):
    draft = make_request(window_start=utc(2025, 12, 20), window_end=utc(2025, 12, 21))
    return services.request_send(preservation_request=draft, actor=draft.created_by, sent_at=SENT_AT, now=SENT_AT)


def rows(request):
    return {(r.kind, r.lead_days): r for r in Reminder.objects.filter(request=request)}


def scheduled(request):
    return sorted(key for key, r in rows(request).items() if r.state == D.SCHEDULED)


def receive(request, on=dt.date(2026, 1, 5), now=RECEIVED_AT):
    return services.request_record_receipt(preservation_request=request, actor=request.created_by,
                                           received_on=on, now=now)


def sweep(frozen, at):
    frozen.move_to(at)
    return reminder_sweep.reminders_send_due(now=at)


# --- Rows follow the deadlines -----------------------------------------------------------------


def test_sending_schedules_acknowledgement_extension_and_escalation_reminders(sent):
    assert scheduled(sent) == sorted(
        [(K.ACK_MISSING, 3), (K.ESCALATION, 7)] + [(K.EXTENSION_DUE, n) for n in (30, 14, 7, 3, 1)]
    )
    # Provisional dates count from sending (2026-01-04): send by 2026-03-28.
    assert rows(sent)[(K.EXTENSION_DUE, 1)].due_at == utc(2026, 3, 27, 12)


def test_recording_receipt_moves_the_reminders_and_cancels_the_acknowledgement_one(sent):
    receive(sent)
    current = rows(sent)
    assert current[(K.ACK_MISSING, 3)].state == D.CANCELLED
    assert current[(K.EXTENSION_DUE, 1)].due_at == utc(2026, 3, 28, 12)
    assert current[(K.EXTENSION_DUE, 1)].deadline_on == dt.date(2026, 3, 29)
    deadline_rows = Reminder.objects.filter(request=sent).exclude(kind=K.RETENTION)
    assert deadline_rows.count() == 7  # moved, never duplicated


def test_rows_read_before_a_sweep_sent_one_neither_move_it_back_nor_make_it_twice(sent):
    # The hourly refresh reads a chunk of requests with their reminder rows; meanwhile a sweep
    # sends one (and a service makes another): what it then writes must not undo either.
    from preservation.models import PreservationRequest
    from preservation.reminders import scheduling

    request = PreservationRequest.objects.across_agencies().select_related("agency").prefetch_related(
        "reminders").get(pk=sent.pk)
    cached = {(r.kind, r.lead_days): r for r in request.reminders.all()}
    Reminder.objects.filter(request=sent, pk=cached[(K.ACK_MISSING, 3)].pk).update(state=D.SENT)
    cached[(K.ACK_MISSING, 3)].due_at -= dt.timedelta(hours=1)  # as if read before a move
    gone = cached[(K.ESCALATION, 7)]
    request._prefetched_objects_cache["reminders"] = [r for r in request.reminders.all() if r.pk != gone.pk]
    scheduling.reminders_schedule_for_request(preservation_request=request, now=SENT_AT)
    assert rows(sent)[(K.ACK_MISSING, 3)].state == D.SENT
    assert Reminder.objects.filter(request=sent, kind=K.ESCALATION, lead_days=7).count() == 1


def test_moving_a_requests_reminders_is_one_update_however_many_move(sent):
    # Recording the receipt moves every extension and escalation reminder to the new dates.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = {key: r.due_at for key, r in rows(sent).items() if r.state == D.SCHEDULED}
    with CaptureQueriesContext(connection) as captured:
        request = receive(sent)
    moved = [key for key, r in rows(request).items() if r.state == D.SCHEDULED and key in before
             and r.due_at != before[key]]
    assert len(moved) >= 5
    updates = [q["sql"] for q in captured.captured_queries
               if q["sql"].startswith('UPDATE "preservation_reminder"') and '"due_at" =' in q["sql"]]
    assert len(updates) == 1, updates


def test_sending_the_extension_stops_extension_and_escalation_reminders(sent):
    request = receive(sent)
    services.request_send_extension(preservation_request=request, actor=request.created_by, now=RECEIVED_AT)
    # Only the watch for Blink's receipt of the extension is left (test_extension_ack_reminder.py).
    assert scheduled(request) == [(K.EXTENSION_ACK_MISSING, 3)]


def test_receiving_the_extension_schedules_final_expiry_reminders(sent, frozen):
    request = receive(sent)
    frozen.move_to(utc(2026, 3, 20, 15))
    request = services.request_send_extension(preservation_request=request, actor=request.created_by, now=utc(2026, 3, 20, 15))
    services.request_record_extension_receipt(preservation_request=request, actor=request.created_by,
                                              received_on=dt.date(2026, 3, 21), now=utc(2026, 3, 22, 15))
    assert scheduled(request) == sorted((K.FINAL_EXPIRY, n) for n in (30, 14, 7, 3, 1))
    assert rows(request)[(K.FINAL_EXPIRY, 30)].day == dt.date(2026, 6, 4)


@pytest.mark.parametrize("finish", ["legal_process", "withdraw"])
def test_serving_legal_process_or_withdrawing_cancels_every_scheduled_reminder(sent, finish):
    request = receive(sent)
    if finish == "legal_process":
        services.request_record_legal_process(preservation_request=request, actor=request.created_by,
                                              process_type=LegalProcessType.SEARCH_WARRANT,
                                              served_on=dt.date(2026, 1, 4), now=SENT_AT)
    else:
        services.request_withdraw(preservation_request=request, actor=request.created_by, reason="case closed", now=SENT_AT)
    assert scheduled(request) == []
    assert {r.state for r in rows(request).values()} == {D.CANCELLED}


def test_a_receipt_recorded_weeks_late_keeps_rows_already_scheduled(sent, frozen):
    # The rows were scheduled at sending; receipt moves them by a day, into the past for the
    # 30-day one: it is kept and sent late rather than silently dropped.
    frozen.move_to(utc(2026, 3, 10, 15))
    request = receive(sent, now=utc(2026, 3, 10, 15))
    assert rows(request)[(K.EXTENSION_DUE, 30)].state == D.SCHEDULED
    assert rows(request)[(K.EXTENSION_DUE, 30)].due_at == utc(2026, 2, 27, 13)


def test_countdown_reminders_first_planned_after_their_moment_are_not_created(make_request, frozen):
    frozen.move_to(utc(2026, 3, 10, 15))
    draft = make_request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2))
    request = services.request_send(preservation_request=draft, actor=draft.created_by, sent_at=SENT_AT,
                                    now=utc(2026, 3, 10, 15))
    # Sent (by post) on 2026-01-04, recorded on 2026-03-10: send by 2026-03-28.
    assert sorted(k for k in rows(request) if k[0] == K.EXTENSION_DUE) == [
        (K.EXTENSION_DUE, 1), (K.EXTENSION_DUE, 3), (K.EXTENSION_DUE, 7), (K.EXTENSION_DUE, 14)
    ]
    assert rows(request)[(K.ACK_MISSING, 3)].state == D.SCHEDULED  # catch-up: still true


# --- Sending ------------------------------------------------------------------------------------


def test_nothing_is_sent_before_its_moment(sent, frozen):
    assert sweep(frozen, utc(2026, 1, 7, 12, 59)) == 0
    assert mail.outbox == []


def test_a_due_reminder_is_emailed_once_with_text_and_html_parts(sent, frozen, staff):
    assert sweep(frozen, utc(2026, 1, 7, 13)) == 1  # 08:00 EST, three days after sending
    message = mail.outbox[0]  # acknowledgement missing: the requester only
    assert {m.to[0] for m in mail.outbox} == {sent.requester_email, sent.created_by.email}
    assert sent.reference in message.subject
    assert message.alternatives[0].mimetype == "text/html"
    assert sent.reference in message.alternatives[0].content
    assert rows(sent)[(K.ACK_MISSING, 3)].state == D.SENT
    assert sweep(frozen, utc(2026, 1, 7, 13, 1)) == 0
    assert len(mail.outbox) == 2


def test_the_requester_email_gets_its_own_message_when_it_is_not_the_filer(sent, frozen):
    sweep(frozen, utc(2026, 1, 7, 13))
    assert sorted(m.to[0] for m in mail.outbox) == sorted([sent.created_by.email, sent.requester_email])


def test_message_ids_are_deterministic_per_reminder_and_recipient(sent, frozen):
    sweep(frozen, utc(2026, 1, 7, 13))
    reminder = rows(sent)[(K.ACK_MISSING, 3)]
    ids = sorted(m.extra_headers["Message-ID"] for m in mail.outbox)
    assert ids == sorted([
        message_id("reminder", reminder.pk, "u%d" % sent.created_by_id),
        message_id("reminder", reminder.pk, "requester"),
    ])
    assert "Message-ID: %s" % ids[0] in "".join(m.message().as_string() for m in mail.outbox)


@pytest.mark.parametrize("kind,lead,roles", [
    (K.EXTENSION_DUE, 30, {"requester", "paralegal"}),
    (K.ESCALATION, 7, {"requester", "paralegal", "supervisor"}),
])
def test_each_kind_reaches_the_people_deadlines_md_names(sent, frozen, staff, kind, lead, roles):
    request = receive(sent)
    request.requester_email = request.created_by.email
    request.save(update_fields=["requester_email"])
    reminder = rows(request)[(kind, lead)]
    sweep(frozen, reminder.due_at)
    addresses = {m.to[0] for m in reminder_mail(reminder)}
    people = {"requester": request.created_by, **staff}
    assert addresses == {people[role].email for role in roles}


def test_each_email_is_in_its_recipients_language(sent, frozen, staff):
    request = receive(sent)
    sweep(frozen, rows(request)[(K.EXTENSION_DUE, 30)].due_at)
    languages = {m.to[0]: m.extra_headers["Content-Language"] for m in mail.outbox}
    assert languages[staff["paralegal"].email] == "de"
    assert languages[request.created_by.email] == "en"
    reminder = rows(request)[(K.EXTENSION_DUE, 30)]
    with translation.override("de"):
        german, _summary = texts.describe(
            kind=reminder.kind, lead_days=30, deadline_on=reminder.deadline_on,
            reference=request.reference, case_number=request.case_number)
    assert {m.subject for m in mail.outbox if m.to[0] == staff["paralegal"].email} == {german}


def test_a_reminder_is_rendered_once_per_language_not_once_per_recipient(sent, frozen, staff, monkeypatch):
    from preservation.reminders import emails

    request = receive(sent)
    reminder = rows(request)[(K.ESCALATION, 7)]
    recipients = reminder_sweep.reminder_recipients(reminder)
    assert sorted(r.language for r in recipients) == ["de", "en", "en", "en"]  # the filer, requester, staff
    rendered = []
    original = emails.render_to_string
    monkeypatch.setattr(emails, "render_to_string", lambda name, *a, **k: rendered.append(name) or original(name, *a, **k))
    with mail.get_connection() as connection:
        emails.send_reminder(reminder, recipients, late=False, connection=connection)
    assert len(mail.outbox) == 4
    assert len(rendered) == 2 * 3  # subject, text and HTML, in German and in English
    html = {m.to[0]: m.alternatives[0][0] for m in mail.outbox}
    assert '<html lang="de">' in html[staff["paralegal"].email] and '<html lang="en">' in html[request.requester_email]
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 4


def test_a_sweep_batch_reads_each_agencys_people_once(sent, frozen, staff, make_request, django_assert_num_queries):
    others = [receive(services.request_send(preservation_request=make_request(window_start=utc(2025, 12, 20),
                                                                              window_end=utc(2025, 12, 21)),
                                            actor=sent.created_by, sent_at=SENT_AT, now=SENT_AT))
              for _n in range(3)]
    people = reminder_sweep.People()
    first = rows(receive(sent))[(K.ESCALATION, 7)]
    expected = reminder_sweep.reminder_recipients(first)
    assert reminder_sweep.reminder_recipients(first, people) == expected
    batch = [Reminder.objects.across_agencies().select_related("request__agency", "request__created_by", "request__assigned_to").get(
        pk=rows(request)[(K.ESCALATION, 7)].pk) for request in others]
    with django_assert_num_queries(0):  # the agency's users, their preferences, the email's holders: read
        for reminder in batch:
            recipients = reminder_sweep.reminder_recipients(reminder, people)
            assert [(r.key, r.email, r.wants_email) for r in recipients] == [
                (r.key, r.email, r.wants_email) for r in expected]


def test_lead_time_preferences_skip_the_email_but_not_the_in_app_notification(sent, frozen, staff):
    ReminderPreference.objects.create(user=staff["paralegal"], lead_days=[7, 1])
    request = receive(sent)
    reminder = rows(request)[(K.EXTENSION_DUE, 30)]
    sweep(frozen, reminder.due_at)
    assert staff["paralegal"].email not in {m.to[0] for m in mail.outbox}
    assert Notification.objects.filter(user=staff["paralegal"], reminder=reminder).exists()


def test_a_reminder_more_than_a_day_overdue_is_sent_once_and_marked_late(sent, frozen):
    assert sweep(frozen, utc(2026, 1, 9, 13)) == 1  # the system was down for two days
    assert rows(sent)[(K.ACK_MISSING, 3)].state == D.LATE
    assert all(m.subject.startswith("[Late]") for m in mail.outbox)
    assert sweep(frozen, utc(2026, 1, 9, 14)) == 0


def test_a_reminder_a_few_hours_overdue_is_simply_sent(sent, frozen):
    sweep(frozen, utc(2026, 1, 8, 12))
    assert rows(sent)[(K.ACK_MISSING, 3)].state == D.SENT


def test_a_row_left_sending_by_a_dead_worker_is_claimed_again_after_ten_minutes(sent, frozen):
    reminder = rows(sent)[(K.ACK_MISSING, 3)]
    Reminder.objects.filter(request=sent, pk=reminder.pk).update(state=D.SENDING, claimed_at=utc(2026, 1, 7, 13))
    assert sweep(frozen, utc(2026, 1, 7, 13, 9)) == 0  # its worker may still be at it
    assert sweep(frozen, utc(2026, 1, 7, 13, 10, 1)) == 1
    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts) == (D.SENT, 1)


def test_a_mail_failure_is_retried_after_the_stuck_delay_then_marked_failed(sent, frozen, settings, monkeypatch):
    settings.PRESERVE = {**settings.PRESERVE, "REMINDER_MAX_ATTEMPTS": 2, "REMINDER_RETRY_HOURS": 0}

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("preservation.reminders.emails.send_reminder", refuse)
    sweep(frozen, utc(2026, 1, 7, 13))
    reminder = rows(sent)[(K.ACK_MISSING, 3)]
    assert (reminder.state, reminder.attempts, reminder.last_error) == (D.SENDING, 1, "mail server down")
    sweep(frozen, utc(2026, 1, 7, 13, 11))
    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts) == (D.FAILED, 2)
    assert Notification.objects.filter(reminder=reminder, user=sent.created_by).exists()


@pytest.mark.parametrize("down_hours, state", [
    (2, D.SENT),  # the simulated year's outage: six attempts are spent in under an hour
    (23, D.SENT),
    (25, D.FAILED),  # still refused a day after its moment: given up, in-app only
])
def test_a_mail_server_down_for_hours_delays_a_reminder_and_does_not_drop_it(
        sent, frozen, settings, monkeypatch, down_hours, state):
    settings.PRESERVE = {**settings.PRESERVE, "REMINDER_MAX_ATTEMPTS": 6, "REMINDER_RETRY_HOURS": 24}
    due = utc(2026, 1, 7, 13)  # 08:00 in New York, three days after sending
    back = due + dt.timedelta(hours=down_hours)
    original = reminder_sweep.emails.send_reminder

    def refuse_until_back(*args, **kwargs):
        if reminder_sweep.timezone.now() < back:
            raise ConnectionRefusedError("451 try again later")
        return original(*args, **kwargs)

    monkeypatch.setattr("preservation.reminders.emails.send_reminder", refuse_until_back)
    at = due
    while at <= back + dt.timedelta(minutes=11):
        sweep(frozen, at)
        at += dt.timedelta(minutes=11)  # each retry waits REMINDER_STUCK_SECONDS (10 minutes)
    reminder = rows(sent)[(K.ACK_MISSING, 3)]
    assert reminder.state == state
    assert bool(mail.outbox) == (state == D.SENT)


def test_sending_creates_one_in_app_notification_per_user_recipient(sent, frozen, staff):
    request = receive(sent)
    reminder = rows(request)[(K.ESCALATION, 7)]
    sweep(frozen, reminder.due_at)
    users = set(Notification.objects.filter(reminder=reminder).values_list("user_id", flat=True))
    assert users == {request.created_by_id, staff["paralegal"].pk, staff["supervisor"].pk}


def test_two_sweeps_claim_disjoint_rows(sent, frozen):
    frozen.move_to(utc(2026, 1, 7, 13))
    due = {"due_at__lte": utc(2026, 1, 7, 13)}
    with reminder_sweep.scoping.all_agencies():
        first, _lease = reminder_sweep._claim(Reminder, due, 10)
        second, _lease = reminder_sweep._claim(Reminder, due, 10)
    assert len(first) == 1 and second == []


# --- Lapses, the digest, the commands --------------------------------------------------------


def test_a_lapse_is_detected_and_everyone_on_the_request_is_told(sent, frozen, staff):
    request = receive(sent)
    frozen.move_to(utc(2026, 4, 6, 13))  # 09:00 EDT the day after expiry
    assert reminder_sweep.requests_detect_lapses(now=utc(2026, 4, 6, 13)) == [request.pk]
    request.refresh_from_db()
    assert request.state == S.LAPSED
    lapsed = rows(request)[(K.LAPSED, 0)]
    assert lapsed.state == D.SENT
    assert {request.created_by.email, staff["paralegal"].email, staff["supervisor"].email} <= {
        m.to[0] for m in reminder_mail(lapsed)
    }


def test_the_digest_goes_to_paralegals_and_supervisors_once_each_morning(sent, frozen, staff):
    receive(sent)
    frozen.move_to(utc(2026, 3, 20, 11, 59))  # 07:59 EDT
    assert reminder_sweep.digest_send(now=utc(2026, 3, 20, 11, 59)) == 0
    frozen.move_to(utc(2026, 3, 20, 12))
    assert reminder_sweep.digest_send(now=utc(2026, 3, 20, 12)) == 2
    assert reminder_sweep.digest_send(now=utc(2026, 3, 20, 12, 15)) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in staff.values())
    assert all(sent.reference in m.body for m in mail.outbox)
    assert all(m.alternatives[0].mimetype == "text/html" for m in mail.outbox)


@pytest.mark.parametrize("extra_staff", [0, 6])
def test_the_quarter_hourly_digest_check_costs_the_same_queries_however_many_staff(
        sent, frozen, staff, agency, extra_staff, django_assert_max_num_queries):
    # It runs every 15 minutes all day: once today's rows exist, a check reads them in one
    # query, never one query (and savepoint) per paralegal or supervisor.
    for _n in range(extra_staff):
        UserFactory(agency=agency, role=Role.PARALEGAL)
    receive(sent)
    frozen.move_to(utc(2026, 3, 20, 12))
    reminder_sweep.digest_send(now=utc(2026, 3, 20, 12))
    assert DigestDelivery.objects.filter(day=dt.date(2026, 3, 20)).count() == 2 + extra_staff
    with django_assert_max_num_queries(6):
        assert reminder_sweep.digest_send(now=utc(2026, 3, 20, 12, 15)) == 0
    assert DigestDelivery.objects.filter(day=dt.date(2026, 3, 20)).count() == 2 + extra_staff


def test_an_agencys_digests_read_its_requests_once_and_render_once_per_language(
        sent, frozen, staff, agency, monkeypatch):
    # Every paralegal and supervisor of an agency gets the same list: one read of the agency's
    # requests and one rendering per language for all of them, whatever their number.
    from preservation.reminders import emails

    for _n in range(4):
        UserFactory(agency=agency, role=Role.PARALEGAL)  # English, like the supervisor
    request = receive(sent)
    rendered = []
    original = emails.render_to_string
    monkeypatch.setattr(emails, "render_to_string", lambda name, *a, **k: rendered.append(name) or original(name, *a, **k))
    reads = []
    original_requests = reminder_sweep.digest_requests
    monkeypatch.setattr(reminder_sweep, "digest_requests", lambda user, **k: reads.append(user) or original_requests(user, **k))
    frozen.move_to(utc(2026, 3, 20, 12))
    assert reminder_sweep.digest_send(now=utc(2026, 3, 20, 12)) == 6
    assert len(reads) == 1
    assert len(rendered) == 2 * 3  # subject, text, HTML: in English and in German
    german = [m for m in mail.outbox if m.to[0] == staff["paralegal"].email]
    assert len(german) == 1 and german[0].extra_headers["Content-Language"] == "de"
    assert '<html lang="de">' in german[0].alternatives[0][0]
    with translation.override("de"):
        assert str(S(request.state).label) in german[0].body  # the state's label, in German
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 6


def test_no_digest_when_nothing_is_due_or_when_it_is_turned_off(sent, frozen, staff):
    ReminderPreference.objects.create(user=staff["supervisor"], digest_enabled=False)
    receive(sent)
    frozen.move_to(utc(2026, 1, 20, 14))  # nothing due within 14 days
    assert reminder_sweep.digest_send(now=utc(2026, 1, 20, 14)) == 0
    assert mail.outbox == []
    assert set(DigestDelivery.objects.values_list("user_id", "state")) == {(staff["paralegal"].pk, D.CANCELLED)}


def test_send_due_reminders_command_takes_an_iso_now(sent):
    out = StringIO()
    call_command("send_due_reminders", "--now", "2026-01-07T13:00:00Z", stdout=out)
    assert "1 reminders sent" in out.getvalue()
    assert rows(sent)[(K.ACK_MISSING, 3)].state == D.SENT


def test_run_reminders_once_sweeps_reminders_lapses_and_digests(sent, frozen, staff):
    frozen.move_to(utc(2026, 1, 7, 13))
    call_command("run_reminders", "--once", stdout=StringIO())
    assert rows(sent)[(K.ACK_MISSING, 3)].state == D.SENT


def test_the_celery_tasks_call_the_sweeps(sent, frozen):
    from preservation.jobs import tasks

    frozen.move_to(utc(2026, 1, 7, 13))
    assert tasks.send_due_reminders.delay().get() == 1
    assert tasks.detect_lapses.delay().get() == 0
    assert tasks.send_digests.delay().get() == 0
    assert tasks.refresh_urgency.delay().get() == 0


def test_the_beat_schedule_runs_the_sweep_every_minute_and_tasks_are_safe_to_redeliver():
    from config.celery import app
    from preservation.jobs import tasks

    schedule = app.conf.beat_schedule
    assert schedule["send-due-reminders"]["schedule"] == 60.0
    assert {entry["task"] for entry in schedule.values()} == {
        "preservation.jobs.tasks.send_due_reminders", "preservation.jobs.tasks.detect_lapses",
        "preservation.jobs.tasks.send_digests", "preservation.jobs.tasks.refresh_urgency",
        "preservation.jobs.tasks.audit_checkpoint",
    }
    for task in (tasks.send_due_reminders, tasks.detect_lapses, tasks.send_digests, tasks.refresh_urgency):
        assert task.acks_late and task.time_limit and task.soft_time_limit
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


def test_a_requester_email_of_a_colleague_reaches_that_user_in_their_language(sent, frozen):
    detective = UserFactory(agency=sent.agency, email=sent.requester_email.upper(), language="fr")
    sweep(frozen, utc(2026, 1, 7, 13))
    reminder = rows(sent)[(K.ACK_MISSING, 3)]
    assert {m.extra_headers["Message-ID"] for m in mail.outbox if m.to[0] == detective.email} == {
        message_id("reminder", reminder.pk, "u%d" % detective.pk)
    }
    assert Notification.objects.filter(user=detective, reminder=reminder).exists()


def test_a_deactivated_filer_is_not_emailed_but_the_requester_email_still_is(sent, frozen):
    sent.created_by.is_active = False
    sent.created_by.save()
    sweep(frozen, utc(2026, 1, 7, 13))
    assert [m.to[0] for m in mail.outbox] == [sent.requester_email]


def test_a_slow_sweep_hands_back_its_claim_before_it_could_look_abandoned(make_request, frozen, monkeypatch, caplog):
    from preservation.reminders import emails

    drafts = [make_request(window_start=utc(2025, 12, 20), window_end=utc(2025, 12, 21)) for _ in range(3)]
    requests = [services.request_send(preservation_request=d, actor=d.created_by, sent_at=SENT_AT, now=SENT_AT) for d in drafts]
    real_send = emails.send_reminder

    def slow_send(*args, **kwargs):
        real_send(*args, **kwargs)
        frozen.shift(dt.timedelta(seconds=400))  # more than half the 600 s stuck delay

    monkeypatch.setattr(emails, "send_reminder", slow_send)
    caplog.set_level("DEBUG", logger="preservation.reminders")
    assert sweep(frozen, utc(2026, 1, 7, 13)) == 3
    claims = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "claimed"]
    # Each batch handed back what it had not sent; the last took every row left.
    assert claims == ["claimed 3 reminders", "claimed 2 reminders", "claimed 1 reminders"]
    assert len(mail.outbox) == 6  # two recipients each, nobody twice
    assert [rows(r)[(K.ACK_MISSING, 3)].attempts for r in requests] == [1, 1, 1]


@pytest.mark.parametrize("due,batch,claims", [
    (3, 50, [3]),  # fewer than a batch: every row ready was claimed at once
    (3, 2, [2, 1]),
    (2, 2, [2, 0]),  # a full batch: there may be more
    (0, 50, [0]),
])
def test_a_sweep_claims_again_only_after_a_full_batch(make_request, frozen, settings, caplog, due, batch, claims):
    settings.PRESERVE = {**settings.PRESERVE, "REMINDER_BATCH": batch}
    for _n in range(due):
        draft = make_request(window_start=utc(2025, 12, 20), window_end=utc(2025, 12, 21))
        services.request_send(preservation_request=draft, actor=draft.created_by, sent_at=SENT_AT, now=SENT_AT)
    caplog.set_level("DEBUG", logger="preservation.reminders")
    assert sweep(frozen, utc(2026, 1, 7, 13)) == due
    logged = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "claimed"]
    assert logged == ["claimed %d reminders" % n for n in claims]


@pytest.mark.parametrize("zone,sent_at,received_on,due", [
    ("America/New_York", utc(2025, 12, 21, 15), dt.date(2025, 12, 22), utc(2026, 3, 8, 12)),   # DST starts
    ("Europe/Berlin", utc(2027, 12, 14, 12), dt.date(2027, 12, 15), utc(2028, 2, 29, 7)),      # 29 February
    ("Pacific/Auckland", utc(2026, 1, 18, 0), dt.date(2026, 1, 19), utc(2026, 4, 4, 20)),     # DST ends
], ids=["New York spring forward", "Berlin 29 February", "Auckland fall back"])
def test_a_reminder_on_a_clock_change_or_leap_day_goes_out_at_eight_local_not_a_minute_before(
    make_request, agency, frozen, zone, sent_at, received_on, due
):
    agency.time_zone = zone
    agency.save()
    frozen.move_to(sent_at)
    draft = make_request()
    request = services.request_send(preservation_request=draft, actor=draft.created_by, now=sent_at)
    frozen.move_to(sent_at + dt.timedelta(days=2))
    request = services.request_record_receipt(preservation_request=request, actor=draft.created_by,
                                              received_on=received_on, now=sent_at + dt.timedelta(days=2))
    assert rows(request)[(K.EXTENSION_DUE, 7)].due_at == due
    sweep(frozen, due - dt.timedelta(minutes=1))
    assert rows(request)[(K.EXTENSION_DUE, 7)].state == D.SCHEDULED
    sweep(frozen, due)
    assert rows(request)[(K.EXTENSION_DUE, 7)].state == D.SENT
