"""The urgency refresh recomputes only requests whose computed fields change by now
(docs/deadlines.md "Urgency refresh"), each from its row re-read under lock."""
import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from preservation.models import PreservationRequest, RequestState, Reminder
from preservation.reminders import scheduling
from preservation.reminders.rules import plan, reconcile
from preservation.requests import services
from preservation.rules import deadlines

UTC = dt.UTC
NOON = dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # noon in New York
S = RequestState

pytestmark = pytest.mark.django_db

T = deadlines.Thresholds(critical_days=3, high_days=7, elevated_days=14)
D = dt.date(2026, 5, 20)


@pytest.mark.parametrize("today, expected", [
    (D - dt.timedelta(days=30), D - dt.timedelta(days=13)),  # normal until 14 days are left...
    (D - dt.timedelta(days=14), D - dt.timedelta(days=13)),  # ...14 left is still normal
    (D - dt.timedelta(days=13), D - dt.timedelta(days=6)),  # elevated, high from 6 left
    (D - dt.timedelta(days=3), D - dt.timedelta(days=2)),  # high, critical from 2 left
    (D - dt.timedelta(days=2), D + dt.timedelta(days=1)),  # critical until the day after: lost
    (D, D + dt.timedelta(days=1)),
    (D + dt.timedelta(days=1), None),  # lost stays lost
])
def test_the_day_a_clock_urgency_changes(today, expected):
    assert deadlines.clock_urgency_changes_on(deadline=D, today=today, thresholds=T) == expected
    if expected:  # and it does change that day, not the day before
        before = deadlines.clock_urgency(deadline=D, today=expected - dt.timedelta(days=1), thresholds=T)
        assert deadlines.clock_urgency(deadline=D, today=today, thresholds=T) == before
        assert deadlines.clock_urgency(deadline=D, today=expected, thresholds=T) != before


FIRST = dt.datetime(2026, 5, 20, 13, 30, tzinfo=UTC)
TOTAL = FIRST + dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)


@pytest.mark.parametrize("now, expected", [
    (FIRST - dt.timedelta(days=20), FIRST - dt.timedelta(days=14) + TICK),
    (FIRST - dt.timedelta(days=14), FIRST - dt.timedelta(days=14) + TICK),  # exactly 14 left: normal
    (FIRST - dt.timedelta(days=14) + TICK, FIRST - dt.timedelta(days=7) + TICK),
    (FIRST - dt.timedelta(days=1), FIRST),  # critical until the oldest clip goes: losing
    (FIRST, TOTAL),  # losing until the newest goes: lost
    (TOTAL, None),
])
def test_the_moment_a_retention_urgency_changes(now, expected):
    assert deadlines.retention_urgency_changes_at(first_loss_at=FIRST, total_loss_at=TOTAL, now=now,
                                                  thresholds=T) == expected
    assert deadlines.retention_urgency_changes_at(first_loss_at=FIRST, total_loss_at=TOTAL, now=now,
                                                  content=False, thresholds=T) is None


def _requests(make_request):
    sent = NOON - dt.timedelta(days=2)
    return [
        make_request(state=S.DRAFT),  # clips 10 days old: its daily "file now" and urgency move
        make_request(state=S.DRAFT, serials=["XT-0001"]),
        make_request(state=S.DRAFT, data_types=["subscriber"]),  # no clips: no urgency, its next deadline moves
        make_request(state=S.SUBMITTED, sent_at=sent),
        make_request(state=S.PRESERVING, sent_at=sent, received_on=sent.date()),
        make_request(state=S.EXTENDED, sent_at=sent - dt.timedelta(days=80), received_on=(sent - dt.timedelta(days=80)).date(),
                     extension_sent_at=sent - dt.timedelta(days=10), extension_received_on=(sent - dt.timedelta(days=9)).date()),
    ]


def _full_recompute_agrees(preservation_request, now):
    """What recomputing the request from scratch at ``now`` would store and schedule."""
    report = services.request_report(preservation_request, now=now)
    next_on, _kind = services._next_deadline(preservation_request, report, now)
    urgency = services._urgency(preservation_request, report, next_on, now)
    assert (preservation_request.next_deadline_on, preservation_request.urgency) == (
        next_on, urgency.value if urgency else ""), (preservation_request.state, now)
    rows = {(r.kind, r.lead_days): (r.state, r.due_at) for r in preservation_request.reminders.all()}
    todo = reconcile(plan(scheduling.request_facts(preservation_request), now=now, rules=scheduling.rules()),
                     rows, now=now)
    assert (todo.create, todo.move, todo.cancel) == ([], [], []), (preservation_request.state, now, todo)


def test_refreshed_at_each_moment_its_values_change_as_a_full_recompute_would(make_request):
    # Every two hours for 80 days, the refresh of only the due requests leaves every request as
    # recomputing all of them would: urgencies crossing their thresholds, a send-by date
    # passing, a draft's oldest and newest clips deleted, its daily "file now" reminders.
    with time_machine.travel(NOON, tick=False):
        requests = _requests(make_request)
    pks = [r.pk for r in requests]
    first_urgency = dict(PreservationRequest.objects.across_agencies().filter(pk__in=pks).values_list("pk", "urgency"))
    refreshed = 0
    for hour in range(1, 80 * 24, 2):
        now = NOON + dt.timedelta(hours=hour)
        with time_machine.travel(now, tick=False):
            services.requests_refresh_urgency(now=now)
        for preservation_request in PreservationRequest.objects.across_agencies().filter(pk__in=pks).select_related("agency"):
            _full_recompute_agrees(preservation_request, now)
            refreshed += preservation_request.recompute_at is not None and preservation_request.recompute_at <= now
    assert refreshed == 0  # every due request was recomputed, and its next moment lies ahead
    states = dict(PreservationRequest.objects.across_agencies().filter(pk__in=pks).values_list("pk", "urgency"))
    assert states[pks[0]] != first_urgency[pks[0]] and states[pks[3]] != first_urgency[pks[3]]


def test_a_request_whose_band_changes_at_a_moment_is_refreshed_at_that_moment(make_request):
    with time_machine.travel(NOON, tick=False):
        request = make_request(state=S.PRESERVING, sent_at=NOON - dt.timedelta(days=2),
                               received_on=(NOON - dt.timedelta(days=2)).date())
    request.refresh_from_db()
    assert request.urgency == "normal"
    zone = request.agency.time_zone
    change = deadlines.start_of_day(request.next_deadline_on - dt.timedelta(days=13), zone)
    assert request.recompute_at == change
    assert services.requests_refresh_urgency(now=change - TICK) == 0
    assert services.requests_refresh_urgency(now=change) == 1
    request.refresh_from_db()
    assert request.urgency == "elevated"
    assert request.recompute_at == deadlines.start_of_day(request.next_deadline_on - dt.timedelta(days=6), zone)


def test_a_refresh_with_nothing_due_costs_one_query_whatever_the_number_of_requests(make_request):
    def queries(count):
        PreservationRequest.objects.across_agencies().delete()
        with time_machine.travel(NOON, tick=False):
            for _n in range(count):
                make_request(state=S.SUBMITTED, sent_at=NOON - dt.timedelta(days=2))
        with CaptureQueriesContext(connection) as captured:
            assert services.requests_refresh_urgency(now=NOON + dt.timedelta(hours=1)) == 0
        return len(captured.captured_queries)

    assert queries(1) == queries(8) == 1


def test_a_due_request_costs_a_bounded_number_of_queries(make_request, django_assert_max_num_queries):
    with time_machine.travel(NOON, tick=False):
        for _n in range(5):
            make_request(state=S.SUBMITTED, sent_at=NOON - dt.timedelta(days=2))
    PreservationRequest.objects.across_agencies().update(recompute_at=NOON)
    # The due ids, the catalogue, then each request on its own (savepoint, locked read, its
    # reminder rows, its write, the cached counts' bump, release): never the catalogue again.
    with django_assert_max_num_queries(3 + 5 * 7):
        services.requests_refresh_urgency(now=NOON + dt.timedelta(hours=1))


def test_a_request_a_service_changed_after_it_was_found_due_is_not_recomputed_from_old_facts(
    make_request, user, monkeypatch
):
    # Two requests due at the same moment; while the refresh recomputes the first, someone
    # withdraws the second. Recomputing the second from the row read before would write its old
    # urgency over the withdrawal's (and reconcile its reminders against a request still open).
    with time_machine.travel(NOON, tick=False):
        first, second = [make_request(state=S.PRESERVING, sent_at=NOON - dt.timedelta(days=2),
                                      received_on=(NOON - dt.timedelta(days=2)).date()) for _n in range(2)]
    second.refresh_from_db()
    later = deadlines.start_of_day(second.next_deadline_on - dt.timedelta(days=5), second.agency.time_zone)
    original = services.request_recompute
    withdrawn = []

    def recompute_while_someone_withdraws(*, preservation_request, now, **kwargs):
        if not withdrawn:
            other = second if preservation_request.pk == first.pk else first
            withdrawn.append(other)
            services.request_withdraw(preservation_request=other, actor=user, reason="Case closed", now=now)
        return original(preservation_request=preservation_request, now=now, **kwargs)

    monkeypatch.setattr(services, "request_recompute", recompute_while_someone_withdraws)
    with time_machine.travel(later, tick=False):
        services.requests_refresh_urgency(now=later)
    (other,) = withdrawn
    other.refresh_from_db()
    assert other.state == S.WITHDRAWN
    assert (other.urgency, other.next_deadline_on) == ("", None)
    assert not Reminder.objects.across_agencies().filter(request=other, state="scheduled").exists()


def test_an_agency_setting_the_rules_read_makes_its_requests_due(make_request, user):
    from preservation.accounts.services import agency_update_settings
    from preservation.models import RECOMPUTE_AT_ONCE

    with time_machine.travel(NOON, tick=False):
        request = make_request(state=S.PRESERVING, sent_at=NOON - dt.timedelta(days=2),
                               received_on=(NOON - dt.timedelta(days=2)).date())
    agency_update_settings(agency=request.agency, actor=user, fields={"name": "Renamed"})
    request.refresh_from_db()
    assert request.recompute_at > NOON  # a name changes no date
    agency_update_settings(agency=request.agency, actor=user, fields={"time_zone": "Pacific/Auckland"})
    request.refresh_from_db()
    assert request.recompute_at == RECOMPUTE_AT_ONCE
    later = NOON + dt.timedelta(hours=1)
    services.requests_refresh_urgency(now=later)
    request.refresh_from_db()
    assert request.recompute_at == deadlines.start_of_day(request.next_deadline_on - dt.timedelta(days=13),
                                                          "Pacific/Auckland")
