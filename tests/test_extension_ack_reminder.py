"""The "extension acknowledgement missing" reminder: the extension request was sent and, N days
on, Blink's receipt of it is still not recorded while the original expiry comes closer (the
counterpart of docs/deadlines.md's "acknowledgement missing")."""
import datetime as dt
from datetime import datetime, time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import translation

from preservation.models import (
    DeliveryState as D,
)
from preservation.models import (
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
from preservation.reminders.emails import message_id
from preservation.reminders.rules import RECIPIENT_ROLES, Facts, Rules, plan, wants_email
from preservation.reminders.texts import describe
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.mail_support import reminder_mail

NY = "America/New_York"
AUCKLAND = "Pacific/Auckland"
EXT = K.EXTENSION_ACK_MISSING


# --- The pure rule ------------------------------------------------------------------------------


def requested(**kwargs):
    values = dict(state=S.EXTENSION_REQUESTED, zone=NY, sent_on=dt.date(2026, 1, 4),
                  extension_sent_on=dt.date(2026, 3, 20), extension_send_by=dt.date(2026, 3, 29),
                  expires_on=dt.date(2026, 4, 5))
    return Facts(**{**values, **kwargs})


def test_an_extension_request_waits_three_days_for_blinks_receipt_then_reminds():
    (item,) = plan(requested(), now=utc(2026, 3, 20, 15))
    assert (item.kind, item.lead_days, item.day) == (EXT, 3, dt.date(2026, 3, 23))
    assert item.due_at == utc(2026, 3, 23, 12)  # 08:00 EDT
    assert item.deadline_on == dt.date(2026, 4, 5)  # what is at stake: the original expiry
    assert item.catch_up  # still true once its moment passed


def test_the_number_of_days_is_its_own_rule():
    (item,) = plan(requested(), now=utc(2026, 3, 20, 15), rules=Rules(extension_ack_missing_days=5))
    assert (item.lead_days, item.day) == (5, dt.date(2026, 3, 25))


@pytest.mark.parametrize("sent_on, day, lead", [
    (dt.date(2026, 3, 20), dt.date(2026, 3, 23), 3),  # in time: three days on
    (dt.date(2026, 4, 1), dt.date(2026, 4, 4), 3),    # three days on is the day before expiry
    (dt.date(2026, 4, 2), dt.date(2026, 4, 4), 2),    # late: the day before the 5 April expiry
    (dt.date(2026, 4, 3), dt.date(2026, 4, 4), 1),
    (dt.date(2026, 4, 4), dt.date(2026, 4, 5), 1),    # the day after sending: the expiry day
])
def test_an_extension_sent_late_is_reminded_before_the_expiry(sent_on, day, lead):
    (item,) = plan(requested(extension_sent_on=sent_on), now=utc(2026, 3, 20, 15))
    assert (item.day, item.lead_days) == (day, lead)


@pytest.mark.parametrize("sent_on", [dt.date(2026, 4, 5), dt.date(2026, 4, 6)])
def test_an_extension_sent_on_the_expiry_day_leaves_it_to_the_lapse_reminder(sent_on):
    assert plan(requested(extension_sent_on=sent_on), now=utc(2026, 4, 5, 15)) == []


def test_its_text_counts_the_days_actually_waited():
    (item,) = plan(requested(extension_sent_on=dt.date(2026, 4, 3)), now=utc(2026, 4, 3, 15))
    with translation.override("en"):
        _subject, summary = describe(kind=EXT, lead_days=item.lead_days, deadline_on=item.deadline_on,
                                     reference="PR-000001", case_number="")
    assert "was sent 1 day ago and" in summary


def test_without_a_sending_date_there_is_nothing_to_wait_for():
    assert plan(requested(extension_sent_on=None), now=utc(2026, 3, 20, 15)) == []


@pytest.mark.parametrize("state", [
    S.SUBMITTED, S.PRESERVING, S.EXTENDED, S.LEGAL_PROCESS_SERVED, S.LAPSED, S.WITHDRAWN, S.CLOSED,
])
def test_only_a_request_waiting_for_the_extension_receipt_needs_it(state):
    facts = requested(state=state, final_expires_on=dt.date(2026, 9, 16))
    assert EXT not in {p.kind for p in plan(facts, now=utc(2026, 3, 20, 15))}


# (zone, extension sent on (local), reminder due in UTC): 08:00 local three days on.
PURE_MOMENTS = [
    (NY, dt.date(2026, 3, 5), utc(2026, 3, 8, 12)),          # spring forward that night
    (NY, dt.date(2026, 10, 29), utc(2026, 11, 1, 13)),       # fall back that night
    (AUCKLAND, dt.date(2026, 4, 2), utc(2026, 4, 4, 20)),    # NZDT ends 03:00 on 04-05
    (AUCKLAND, dt.date(2026, 9, 24), utc(2026, 9, 26, 19)),  # NZDT starts 02:00 on 09-27
    ("Pacific/Honolulu", dt.date(2028, 2, 26), utc(2028, 2, 29, 18)),
    ("Asia/Kolkata", dt.date(2026, 5, 29), utc(2026, 6, 1, 2, 30)),
]


@pytest.mark.parametrize("zone,sent_on,due_at", PURE_MOMENTS)
def test_it_falls_at_eight_local_on_clock_change_and_leap_days(zone, sent_on, due_at):
    facts = requested(zone=zone, extension_sent_on=sent_on, expires_on=sent_on + dt.timedelta(days=30))
    (item,) = plan(facts, now=utc(2026, 1, 1))
    assert item.due_at == due_at
    local = item.due_at.astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute) == (sent_on + dt.timedelta(days=3), 8, 0)


def test_it_goes_to_whoever_acknowledgement_missing_goes_to_and_is_always_emailed():
    assert RECIPIENT_ROLES[EXT] == RECIPIENT_ROLES[K.ACK_MISSING]
    assert wants_email(EXT, 3, {30, 14}) is True  # lead-time preferences do not thin it out


def test_its_text_names_the_request_the_days_waited_and_the_expiry_at_stake():
    subject, summary = describe(kind=EXT, lead_days=3, deadline_on=dt.date(2026, 4, 5),
                                reference="PR-000042", case_number="CR-1")
    assert "PR-000042" in subject and "extension" in subject
    assert all(part in summary for part in ("PR-000042", "CR-1", "3 days", "5 April 2026"))


# --- Rows and sending through the services --------------------------------------------------------



@pytest.fixture
def frozen():
    with time_machine.travel(utc(2026, 1, 1), tick=False) as traveller:
        yield traveller


def local_noon(day, zone):
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc)


def preserving_request(frozen, *, zone=NY, received_on=dt.date(2026, 1, 5), **fields):
    """A request of an agency in ``zone``, sent and received by Blink on ``received_on``."""
    at = local_noon(received_on, zone)
    frozen.move_to(at)
    agency = AgencyFactory(time_zone=zone)
    officer = UserFactory(agency=agency)
    request = RequestFactory(agency=agency, created_by=officer, **fields)
    request = services.request_send(preservation_request=request, actor=officer, sent_at=at, now=at)
    return services.request_record_receipt(preservation_request=request, actor=officer, received_on=received_on, now=at)


def send_extension(frozen, request, at, sent_at=None):
    frozen.move_to(at)
    return services.request_send_extension(preservation_request=request, actor=request.created_by,
                                           sent_at=sent_at or at, now=at)


def ext_row(request):
    return Reminder.objects.get(request=request, kind=EXT)


def sweep(frozen, at):
    frozen.move_to(at)
    return reminder_sweep.reminders_send_due(now=at)


def ext_messages(row):
    return reminder_mail(row)


# (zone, Blink received the request on, extension sent at (UTC), reminder due at (UTC))
SERVICE_MOMENTS = [
    (NY, dt.date(2026, 1, 5), utc(2026, 3, 5, 15), utc(2026, 3, 8, 12)),  # spring forward day
    # 22:00 EST on 03-05 is already 03-06 in UTC: the agency's date counts.
    (NY, dt.date(2026, 1, 5), utc(2026, 3, 6, 3), utc(2026, 3, 8, 12)),
    (NY, dt.date(2026, 8, 10), utc(2026, 10, 29, 14), utc(2026, 11, 1, 13)),  # fall back day
    (AUCKLAND, dt.date(2026, 2, 1), utc(2026, 4, 2, 1), utc(2026, 4, 4, 20)),  # NZDT ends 04-05
    # 12:30 NZDT on 04-03 is still 04-02 in UTC: three days from 04-03, not from 04-02.
    (AUCKLAND, dt.date(2026, 2, 1), utc(2026, 4, 2, 23, 30), utc(2026, 4, 5, 20)),
    (AUCKLAND, dt.date(2026, 7, 1), utc(2026, 9, 24), utc(2026, 9, 26, 19)),  # NZDT starts 09-27
    ("Asia/Kolkata", dt.date(2026, 4, 1), utc(2026, 5, 29, 12), utc(2026, 6, 1, 2, 30)),
]


@pytest.mark.django_db
@pytest.mark.parametrize("zone,received_on,sent_at,due_at", SERVICE_MOMENTS)
def test_it_fires_at_eight_on_the_agencys_third_day_not_before_and_only_once(
    frozen, zone, received_on, sent_at, due_at
):
    request = send_extension(frozen, preserving_request(frozen, zone=zone, received_on=received_on), sent_at)
    row = ext_row(request)
    assert (row.state, row.due_at, row.deadline_on) == (D.SCHEDULED, due_at, request.expires_on)
    assert sweep(frozen, due_at - dt.timedelta(minutes=1)) == 0
    assert mail.outbox == []
    assert sweep(frozen, due_at) == 1
    assert ext_row(request).state == D.SENT
    assert len(ext_messages(row)) == len(mail.outbox) > 0
    assert sweep(frozen, due_at + dt.timedelta(days=1)) == 0
    services.request_recompute(preservation_request=request, now=due_at + dt.timedelta(days=1))
    assert Reminder.objects.filter(request=request, kind=EXT).count() == 1
    assert ext_row(request).state == D.SENT


EXT_SENT = utc(2026, 3, 20, 15)  # New York, received 2026-01-05: expires 2026-04-05
EXT_DUE = utc(2026, 3, 23, 12)
ACTED = utc(2026, 3, 21, 15)


def receive_extension(request):
    return services.request_record_extension_receipt(
        preservation_request=request, actor=request.created_by, received_on=dt.date(2026, 3, 21), now=ACTED)


def serve_legal_process(request):
    return services.request_record_legal_process(
        preservation_request=request, actor=request.created_by, process_type=LegalProcessType.SEARCH_WARRANT,
        served_on=dt.date(2026, 3, 21), now=ACTED)


def withdraw(request):
    return services.request_withdraw(preservation_request=request, actor=request.created_by,
                                     reason="suspect charged", now=ACTED)


@pytest.mark.django_db
@pytest.mark.parametrize("act", [receive_extension, serve_legal_process, withdraw],
                         ids=["extension receipt recorded", "legal process served", "withdrawn"])
def test_it_is_cancelled_when_the_wait_ends_before_it_is_due(frozen, act):
    request = send_extension(frozen, preserving_request(frozen), EXT_SENT)
    frozen.move_to(ACTED)
    act(request)
    row = ext_row(request)
    assert row.state == D.CANCELLED
    assert sweep(frozen, EXT_DUE + dt.timedelta(hours=1)) == 0
    assert mail.outbox == [] and not Notification.objects.filter(reminder=row).exists()


@pytest.mark.django_db
def test_it_is_cancelled_when_the_preservation_lapses_first(frozen):
    # Sent two days before the expiry, reminded the day before it (4 April), but the expiry
    # passed before the sweep reached it: the lapse cancels it, the lapse reminder goes out.
    request = send_extension(frozen, preserving_request(frozen), utc(2026, 4, 3, 15))
    row = ext_row(request)
    assert (row.due_at, row.lead_days) == (utc(2026, 4, 4, 12), 1)
    frozen.move_to(utc(2026, 4, 6, 15))
    assert reminder_sweep.requests_detect_lapses(now=utc(2026, 4, 6, 15)) == [request.pk]
    row.refresh_from_db()
    assert row.state == D.CANCELLED
    sweep(frozen, utc(2026, 4, 8, 13))
    assert ext_messages(row) == [] and not Notification.objects.filter(reminder=row).exists()
    assert Reminder.objects.get(request=request, kind=K.LAPSED).state == D.SENT


@pytest.mark.django_db
def test_a_receipt_recorded_after_the_reminder_went_out_leaves_it_as_history(frozen):
    request = send_extension(frozen, preserving_request(frozen), EXT_SENT)
    sweep(frozen, EXT_DUE)
    frozen.move_to(utc(2026, 3, 24, 15))
    services.request_record_extension_receipt(preservation_request=request, actor=request.created_by,
                                              received_on=dt.date(2026, 3, 24), now=utc(2026, 3, 24, 15))
    assert ext_row(request).state == D.SENT


@pytest.mark.django_db
def test_an_extension_recorded_days_after_it_was_sent_is_reminded_at_once_and_marked_late(frozen):
    request = send_extension(frozen, preserving_request(frozen), utc(2026, 3, 25, 15),
                             sent_at=utc(2026, 3, 20, 15))
    assert ext_row(request).due_at == EXT_DUE
    assert sweep(frozen, utc(2026, 3, 25, 15)) == 1
    assert ext_row(request).state == D.LATE
    assert all(m.subject.startswith("[Late]") for m in mail.outbox)


@pytest.mark.django_db
def test_the_setting_moves_it(frozen, settings):
    settings.PRESERVE = {**settings.PRESERVE, "EXTENSION_ACK_MISSING_DAYS": 5}
    request = send_extension(frozen, preserving_request(frozen), EXT_SENT)
    row = ext_row(request)
    assert (row.lead_days, row.day) == (5, dt.date(2026, 3, 25))


@pytest.mark.django_db
def test_it_reaches_the_same_people_as_acknowledgement_missing(frozen):
    request = send_extension(frozen, preserving_request(frozen), EXT_SENT)
    for role in (Role.PARALEGAL, Role.SUPERVISOR, Role.REQUESTER):
        UserFactory(agency=request.agency, role=role)
    UserFactory(agency=request.agency, email=request.requester_email)

    def people(kind):
        row = Reminder(request=request, kind=kind, lead_days=3)
        return [(r.email, r.user) for r in reminder_sweep.reminder_recipients(row)]

    assert people(EXT) == people(K.ACK_MISSING)
    assert request.created_by.email in {email for email, _user in people(EXT)}


@pytest.mark.django_db
def test_send_extension_then_the_sweep_command_sends_one_email_in_the_requesters_language(frozen):
    request = preserving_request(frozen)
    officer = request.created_by
    officer.language = "de"
    officer.save(update_fields=["language"])
    request.requester_email = officer.email  # the officer filed it for themselves
    request.save(update_fields=["requester_email"])
    ReminderPreference.objects.create(user=officer, lead_days=[1])  # cannot switch it off
    paralegal = UserFactory(agency=request.agency, role=Role.PARALEGAL)
    request = send_extension(frozen, request, EXT_SENT)

    frozen.move_to(EXT_DUE)
    out = StringIO()
    call_command("send_due_reminders", "--now", EXT_DUE.isoformat(), stdout=out)

    (message,) = mail.outbox
    row = ext_row(request)
    assert message.to == [officer.email]
    assert message.extra_headers["Content-Language"] == "de"
    assert message.extra_headers["Message-ID"] == message_id("reminder", row.pk, "u%d" % officer.pk)
    with translation.override("de"):
        subject, summary = describe(kind=EXT, lead_days=3, deadline_on=dt.date(2026, 4, 5),
                                    reference=request.reference, case_number=request.case_number)
    assert message.subject == subject
    assert summary in message.body and "5. April 2026" in message.body
    assert row.state == D.SENT
    assert list(Notification.objects.filter(reminder=row).values_list("user", flat=True)) == [officer.pk]
    assert not Notification.objects.filter(user=paralegal).exists()
