"""The pure reminder rules (docs/deadlines.md "Reminders"): what a request needs, and when."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from preservation.models import DeliveryState as D
from preservation.models import ReminderKind as K
from preservation.models import RequestState as S
from preservation.reminders.rules import Facts, Planned, Rules, is_late, plan, reconcile, wants_email
from preservation.reminders.texts import describe
from tests.conftest import utc

NY = "America/New_York"
NOW = utc(2026, 1, 10, 15)


def keys(planned):
    return sorted((p.kind, p.lead_days) for p in planned)


def by_key(planned):
    return {(p.kind, p.lead_days): p for p in planned}


def preserving(**kwargs):
    values = dict(state=S.PRESERVING, zone=NY, sent_on=dt.date(2026, 1, 5),
                  extension_send_by=dt.date(2026, 3, 29), expires_on=dt.date(2026, 4, 5))
    return Facts(**{**values, **kwargs})


def test_a_preserving_request_needs_five_extension_reminders_and_one_escalation():
    assert keys(plan(preserving(), now=NOW)) == sorted(
        [(K.EXTENSION_DUE, n) for n in (30, 14, 7, 3, 1)] + [(K.ESCALATION, 7)]
    )


def test_a_submitted_request_also_needs_the_missing_acknowledgement_reminder_three_days_on():
    planned = by_key(plan(preserving(state=S.SUBMITTED), now=NOW))
    ack = planned[(K.ACK_MISSING, 3)]
    assert ack.day == dt.date(2026, 1, 8)
    assert ack.due_at == utc(2026, 1, 8, 13)  # 08:00 EST
    assert ack.catch_up


def test_extension_reminders_fall_the_lead_days_before_the_send_by_date_at_eight_local():
    planned = by_key(plan(preserving(), now=NOW))
    assert planned[(K.EXTENSION_DUE, 30)].day == dt.date(2026, 2, 27)
    assert planned[(K.EXTENSION_DUE, 30)].due_at == utc(2026, 2, 27, 13)  # EST, UTC-5
    assert planned[(K.EXTENSION_DUE, 1)].due_at == utc(2026, 3, 28, 12)  # EDT, UTC-4
    assert planned[(K.EXTENSION_DUE, 1)].deadline_on == dt.date(2026, 3, 29)


def test_escalation_is_seven_days_before_expiry_and_catches_up():
    escalation = by_key(plan(preserving(), now=NOW))[(K.ESCALATION, 7)]
    assert escalation.day == dt.date(2026, 3, 29)
    assert escalation.deadline_on == dt.date(2026, 4, 5)
    assert escalation.catch_up


def test_an_extended_request_needs_final_expiry_reminders_only():
    facts = preserving(state=S.EXTENDED, final_expires_on=dt.date(2026, 7, 4))
    planned = plan(facts, now=NOW)
    assert keys(planned) == sorted((K.FINAL_EXPIRY, n) for n in (30, 14, 7, 3, 1))
    assert by_key(planned)[(K.FINAL_EXPIRY, 3)].day == dt.date(2026, 7, 1)


def test_a_lapsed_request_is_announced_on_the_morning_after_its_expiry():
    (lapsed,) = plan(preserving(state=S.LAPSED), now=NOW)
    assert (lapsed.kind, lapsed.lead_days, lapsed.day) == (K.LAPSED, 0, dt.date(2026, 4, 6))
    assert lapsed.due_at == utc(2026, 4, 6, 12)
    assert lapsed.catch_up


def test_an_extended_request_lapses_after_its_final_expiry():
    (lapsed,) = plan(preserving(state=S.LAPSED, final_expires_on=dt.date(2026, 7, 4)), now=NOW)
    assert lapsed.day == dt.date(2026, 7, 5)


@pytest.mark.parametrize("state", [S.LEGAL_PROCESS_SERVED, S.CLOSED, S.WITHDRAWN])
def test_states_where_the_race_is_over_need_no_reminder(state):
    facts = preserving(state=state, final_expires_on=dt.date(2026, 7, 4), extension_sent_on=dt.date(2026, 3, 20))
    assert plan(facts, now=NOW) == []


def test_custom_rules_change_the_lead_times_and_the_hour():
    rules = Rules(hour=9, lead_days=(10,), escalation_days=2)
    planned = by_key(plan(preserving(), now=NOW, rules=rules))
    assert set(planned) == {(K.EXTENSION_DUE, 10), (K.ESCALATION, 2)}
    assert planned[(K.EXTENSION_DUE, 10)].due_at == utc(2026, 3, 19, 13)  # 09:00 EDT


# --- Retention ("file now"), daily while a draft is high, critical or losing ---------------------


def draft(first_loss_at, total_loss_at, **kwargs):
    return Facts(state=S.DRAFT, zone=NY, first_loss_at=first_loss_at, total_loss_at=total_loss_at, **kwargs)


def test_retention_reminders_start_the_first_morning_less_than_seven_days_remain():
    facts = draft(utc(2026, 1, 20, 17), utc(2026, 1, 22, 17))  # 12:00 EST
    days = [p.day for p in plan(facts, now=NOW)]
    # 7 days before 01-20 12:00 local is 01-13 12:00: the 13th at 08:00 is still "elevated".
    assert days == [dt.date(2026, 1, d) for d in range(14, 23)]


def test_retention_reminders_stop_once_the_newest_clip_is_deleted():
    facts = draft(utc(2026, 1, 11, 12), utc(2026, 1, 12, 12))  # 07:00 EST on the 12th
    assert [p.day for p in plan(facts, now=NOW)] == [dt.date(2026, 1, 11)]


def test_retention_reminders_are_never_planned_for_a_morning_already_past():
    facts = draft(utc(2026, 1, 11, 17), utc(2026, 1, 14, 17))
    # NOW is 10:00 EST on the 10th: today's 08:00 has passed.
    assert [p.day for p in plan(facts, now=NOW)] == [dt.date(2026, 1, d) for d in (11, 12, 13, 14)]


def test_a_legacy_device_makes_every_morning_critical():
    facts = draft(utc(2026, 2, 20, 17), utc(2026, 2, 21, 17), legacy=True)
    planned = plan(facts, now=NOW)
    assert planned[0].day == dt.date(2026, 1, 11)
    assert planned[-1].day == dt.date(2026, 2, 21)


def test_retention_leads_count_down_to_the_day_everything_is_lost():
    facts = draft(utc(2026, 1, 11, 17), utc(2026, 1, 13, 17))
    assert [(p.lead_days, p.deadline_on) for p in plan(facts, now=NOW)] == [
        (2, dt.date(2026, 1, 13)), (1, dt.date(2026, 1, 13)), (0, dt.date(2026, 1, 13))
    ]


@pytest.mark.parametrize("facts", [
    draft(utc(2026, 1, 12), utc(2026, 1, 13), content=False),
    draft(None, None),
    draft(utc(2026, 1, 1), utc(2026, 1, 2)),  # already lost
], ids=["non-content only", "incomplete window", "already lost"])
def test_drafts_that_lose_nothing_more_get_no_retention_reminder(facts):
    assert plan(facts, now=NOW) == []


# --- Clock changes, 29 February, zones far from UTC -------------------------------------------

# (zone, reminder day, 08:00 local in UTC)
MOMENTS = [
    ("America/New_York", dt.date(2026, 3, 8), utc(2026, 3, 8, 12)),      # spring forward at 02:00
    ("America/New_York", dt.date(2026, 11, 1), utc(2026, 11, 1, 13)),    # fall back at 02:00
    ("Europe/London", dt.date(2026, 3, 29), utc(2026, 3, 29, 7)),
    ("Europe/Berlin", dt.date(2026, 10, 25), utc(2026, 10, 25, 7)),
    ("Europe/Berlin", dt.date(2028, 2, 29), utc(2028, 2, 29, 7)),
    ("Pacific/Auckland", dt.date(2026, 4, 5), utc(2026, 4, 4, 20)),      # NZDT ends at 03:00
    ("Pacific/Auckland", dt.date(2026, 9, 27), utc(2026, 9, 26, 19)),    # NZST to NZDT at 02:00
    ("Pacific/Honolulu", dt.date(2028, 2, 29), utc(2028, 2, 29, 18)),
    ("Asia/Kolkata", dt.date(2026, 6, 1), utc(2026, 6, 1, 2, 30)),
    ("Australia/Lord_Howe", dt.date(2026, 10, 4), utc(2026, 10, 3, 21)),  # half-hour DST shift
]


@pytest.mark.parametrize("zone,day,expected", MOMENTS)
def test_reminders_arrive_at_eight_local_on_clock_change_days_and_leap_days(zone, day, expected):
    facts = preserving(zone=zone, extension_send_by=day + dt.timedelta(days=7))
    planned = by_key(plan(facts, now=NOW))[(K.EXTENSION_DUE, 7)]
    assert planned.due_at == expected
    assert planned.due_at.astimezone(ZoneInfo(zone)).hour == 8


def test_a_skipped_reminder_hour_fires_at_the_end_of_the_gap_never_later():
    # New York skips 02:00-03:00 on 2026-03-08: a 02:00 reminder fires at 03:00 EDT (07:00 UTC).
    facts = preserving(extension_send_by=dt.date(2026, 3, 15))
    planned = by_key(plan(facts, now=NOW, rules=Rules(hour=2)))[(K.EXTENSION_DUE, 7)]
    assert planned.due_at == utc(2026, 3, 8, 7)


def test_the_escalation_for_an_expiry_on_29_february_falls_on_22_february():
    facts = preserving(zone="Europe/Berlin", expires_on=dt.date(2028, 2, 29),
                       extension_send_by=dt.date(2028, 2, 22))
    escalation = by_key(plan(facts, now=NOW))[(K.ESCALATION, 7)]
    assert escalation.day == dt.date(2028, 2, 22)
    assert escalation.due_at == utc(2028, 2, 22, 7)


@hsettings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Pacific/Auckland", "Pacific/Honolulu",
                          "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]),
)
def test_every_deadline_reminder_is_due_at_eight_on_its_own_local_day(day, zone):
    facts = preserving(zone=zone, extension_send_by=day + dt.timedelta(days=30),
                       expires_on=day + dt.timedelta(days=37))
    for item in plan(facts, now=NOW):
        local = item.due_at.astimezone(ZoneInfo(zone))
        assert (local.date(), local.hour, local.minute) == (item.day, 8, 0)
        assert item.due_at.tzinfo is not None


# --- Reconciling with the rows that exist -----------------------------------------------------


def item(kind=K.EXTENSION_DUE, lead=7, due=utc(2026, 3, 1, 13), catch_up=False):
    return Planned(kind, lead, due.date(), due, None, catch_up)


PAST, FUTURE = utc(2026, 1, 1, 13), utc(2026, 3, 1, 13)


@pytest.mark.parametrize("planned,existing,create,move,cancel", [
    ([item(due=FUTURE)], {}, 1, 0, 0),
    ([item(due=PAST)], {}, 0, 0, 0),
    ([item(due=PAST, catch_up=True)], {}, 1, 0, 0),
    ([item(due=FUTURE)], {(K.EXTENSION_DUE, 7): (D.SCHEDULED, FUTURE)}, 0, 0, 0),
    ([item(due=FUTURE)], {(K.EXTENSION_DUE, 7): (D.SCHEDULED, PAST)}, 0, 1, 0),
    ([item(due=PAST)], {(K.EXTENSION_DUE, 7): (D.SCHEDULED, FUTURE)}, 0, 1, 0),
    ([item(due=FUTURE)], {(K.EXTENSION_DUE, 7): (D.CANCELLED, FUTURE)}, 0, 1, 0),
    ([item(due=PAST)], {(K.EXTENSION_DUE, 7): (D.CANCELLED, PAST)}, 0, 0, 0),
    ([], {(K.EXTENSION_DUE, 7): (D.SCHEDULED, FUTURE)}, 0, 0, 1),
    ([], {(K.EXTENSION_DUE, 7): (D.SCHEDULED, PAST)}, 0, 0, 1),
    ([], {(K.EXTENSION_DUE, 7): (D.SENT, PAST)}, 0, 0, 0),
    ([], {(K.EXTENSION_DUE, 7): (D.SENDING, PAST)}, 0, 0, 0),
    ([item(due=FUTURE)], {(K.EXTENSION_DUE, 7): (D.SENT, PAST)}, 0, 0, 0),
    ([item(due=FUTURE)], {(K.EXTENSION_DUE, 7): (D.LATE, PAST)}, 0, 0, 0),
    ([item(due=FUTURE)], {(K.EXTENSION_DUE, 7): (D.FAILED, PAST)}, 0, 0, 0),
], ids=[
    "new future: create", "new past: skip", "new past catch-up: create",
    "scheduled unchanged: nothing", "scheduled moved later: move",
    "scheduled moved into the past: move (sent late)",
    "cancelled needed again: revive", "cancelled and past: leave", "no longer needed: cancel",
    "no longer needed though overdue: cancel", "sent stays history", "sending is left to its worker",
    "sent is never sent again", "late is never sent again", "failed is never retried by a recompute",
])
def test_reconcile(planned, existing, create, move, cancel):
    result = reconcile(planned, existing, now=NOW)
    assert (len(result.create), len(result.move), len(result.cancel)) == (create, move, cancel)


@pytest.mark.parametrize("overdue,late", [
    (dt.timedelta(0), False), (dt.timedelta(hours=24), False),
    (dt.timedelta(hours=24, seconds=1), True), (dt.timedelta(days=5), True),
])
def test_a_reminder_more_than_a_day_overdue_is_late(overdue, late):
    assert is_late(NOW - overdue, NOW) is late


@pytest.mark.parametrize("kind,lead,leads,wanted", [
    (K.EXTENSION_DUE, 30, {7, 1}, False),
    (K.EXTENSION_DUE, 7, {7, 1}, True),
    (K.FINAL_EXPIRY, 14, {3}, False),
    (K.ESCALATION, 7, {1}, True),
    (K.LAPSED, 0, {1}, True),
    (K.ACK_MISSING, 3, set(), True),
    (K.RETENTION, 4, {1}, True),
])
def test_lead_time_preferences_thin_out_only_the_countdown_reminders(kind, lead, leads, wanted):
    assert wants_email(kind, lead, leads) is wanted


@pytest.mark.parametrize("kind", list(K))
def test_every_kind_has_a_subject_and_summary_naming_the_request(kind):
    subject, summary = describe(kind=kind, lead_days=7, deadline_on=dt.date(2026, 4, 5),
                                reference="PR-000042", case_number="CR-1")
    assert "PR-000042" in subject and "PR-000042" in summary
    assert "CR-1" in summary


# One day or several: every language says it in the right number ("1 day left", not "1 days").
ONE_OR_MORE = [
    ("en", K.EXTENSION_DUE, 1, "(1 day left)"), ("en", K.EXTENSION_DUE, 3, "(3 days left)"),
    ("en", K.FINAL_EXPIRY, 1, "(1 day left)"), ("en", K.ESCALATION, 1, "in 1 day,"),
    ("en", K.ACK_MISSING, 1, "sent 1 day ago"), ("en", K.EXTENSION_ACK_MISSING, 2, "sent 2 days ago"),
    ("de", K.EXTENSION_DUE, 1, "(noch 1 Tag)"), ("de", K.EXTENSION_DUE, 7, "(noch 7 Tage)"),
    ("de", K.ACK_MISSING, 1, "vor 1 Tag "), ("fr", K.FINAL_EXPIRY, 1, "(1 jour restant)"),
    ("fr", K.FINAL_EXPIRY, 14, "(14 jours restants)"), ("es", K.ESCALATION, 1, "dentro de 1 día,"),
    ("es", K.EXTENSION_ACK_MISSING, 1, "hace 1 día "), ("es", K.EXTENSION_ACK_MISSING, 3, "hace 3 días "),
]


@pytest.mark.parametrize("language, kind, days, wanted", ONE_OR_MORE)
def test_the_days_are_counted_in_the_right_number(language, kind, days, wanted):
    from django.utils import translation

    with translation.override(language):
        _subject, summary = describe(kind=kind, lead_days=days, deadline_on=dt.date(2026, 4, 5),
                                     reference="PR-000001")
    assert wanted in summary
