"""Every allowed and every refused transition of a request, with frozen time."""
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from preservation.models import (
    LegalProcessType,
    Outcome,
    RequestEvent,
)
from preservation.models import (
    RequestState as S,
)
from preservation.requests import services
from tests.conftest import utc

NOW = utc(2026, 4, 20, 12)  # 08:00 in New York
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def draft(make_request):
    return make_request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2))


def send(request, at=NOW):
    return services.request_send(preservation_request=request, actor=request.created_by, sent_at=at, now=NOW)


def receive(request, on=dt.date(2026, 4, 10)):
    return services.request_record_receipt(preservation_request=request, actor=request.created_by,
                                           received_on=on, blink_reference="LE-1", now=NOW)


def at_state(draft, state):
    """Walk a fresh draft to ``state`` through the services."""
    actor = draft.created_by
    if state == S.DRAFT:
        return draft
    request = send(draft, at=utc(2026, 1, 4, 15))
    if state == S.SUBMITTED:
        return request
    request = receive(request, on=dt.date(2026, 1, 5))
    if state == S.PRESERVING:
        return request
    if state in (S.EXTENSION_REQUESTED, S.EXTENDED):
        request = services.request_send_extension(preservation_request=request, actor=actor, sent_at=utc(2026, 3, 20, 15), now=NOW)
        if state == S.EXTENDED:
            request = services.request_record_extension_receipt(
                preservation_request=request, actor=actor, received_on=dt.date(2026, 3, 21), now=NOW)
        return request
    if state == S.LEGAL_PROCESS_SERVED:
        return services.request_record_legal_process(
            preservation_request=request, actor=actor, process_type=LegalProcessType.SUBPOENA,
            served_on=dt.date(2026, 2, 1), now=NOW)
    if state == S.LAPSED:
        return services.request_lapse(preservation_request=request, now=NOW)
    if state == S.WITHDRAWN:
        return services.request_withdraw(preservation_request=request, actor=actor, reason="no longer needed", now=NOW)
    if state == S.CLOSED:
        served = services.request_record_legal_process(
            preservation_request=request, actor=actor, process_type=LegalProcessType.SUBPOENA,
            served_on=dt.date(2026, 2, 1), now=NOW)
        return services.request_close(preservation_request=served, actor=actor, outcome=Outcome.PRODUCED, now=NOW)
    raise AssertionError(state)


def act(request, action):
    actor = request.created_by
    calls = {
        "send": lambda: services.request_send(preservation_request=request, actor=actor, now=NOW),
        "record_receipt": lambda: services.request_record_receipt(
            preservation_request=request, actor=actor, received_on=dt.date(2026, 4, 19), now=NOW),
        "send_extension": lambda: services.request_send_extension(preservation_request=request, actor=actor, now=NOW),
        "record_extension_receipt": lambda: services.request_record_extension_receipt(
            preservation_request=request, actor=actor, received_on=dt.date(2026, 4, 20), now=NOW),
        "record_legal_process": lambda: services.request_record_legal_process(
            preservation_request=request, actor=actor, process_type="search_warrant", served_on=dt.date(2026, 4, 20), now=NOW),
        "close": lambda: services.request_close(
            preservation_request=request, actor=actor,
            outcome=Outcome.LAPSED if request.state == S.LAPSED else Outcome.NO_DATA, now=NOW),
        "withdraw": lambda: services.request_withdraw(preservation_request=request, actor=actor, reason="duplicate", now=NOW),
    }
    return calls[action]()


ALL_STATES = [S.DRAFT, S.SUBMITTED, S.PRESERVING, S.EXTENSION_REQUESTED, S.EXTENDED,
              S.LEGAL_PROCESS_SERVED, S.LAPSED, S.WITHDRAWN, S.CLOSED]
EXPECTED = {
    "send": {S.DRAFT: S.SUBMITTED},
    "record_receipt": {S.SUBMITTED: S.PRESERVING},
    "close": {S.LAPSED: S.CLOSED, S.LEGAL_PROCESS_SERVED: S.CLOSED},
    "withdraw": {s: S.WITHDRAWN for s in [S.DRAFT, S.SUBMITTED, S.PRESERVING, S.EXTENSION_REQUESTED,
                                          S.EXTENDED, S.LEGAL_PROCESS_SERVED]},
}


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", ["send", "record_receipt", "close", "withdraw"])
def test_each_action_is_allowed_from_exactly_its_states(draft, state, action):
    request = at_state(draft, state)
    expected = EXPECTED[action].get(state)
    if expected is None:
        with pytest.raises(ValidationError):
            act(request, action)
        request.refresh_from_db()
        assert request.state == state
    else:
        assert act(request, action).state == expected


@pytest.mark.parametrize("state", ALL_STATES)
def test_send_extension_only_from_preserving(draft, state):
    request = at_state(draft, state)
    call = lambda: services.request_send_extension(  # noqa: E731
        preservation_request=request, actor=request.created_by, sent_at=utc(2026, 3, 25, 12), now=NOW)
    if state == S.PRESERVING:
        assert call().state == S.EXTENSION_REQUESTED
    else:
        with pytest.raises(ValidationError):
            call()


@pytest.mark.parametrize("state", ALL_STATES)
def test_legal_process_only_while_the_clock_runs_or_before_receipt(draft, state):
    request = at_state(draft, state)
    call = lambda: services.request_record_legal_process(  # noqa: E731
        preservation_request=request, actor=request.created_by, process_type="court_order",
        served_on=dt.date(2026, 3, 1), now=NOW)
    if state in (S.SUBMITTED, S.PRESERVING, S.EXTENSION_REQUESTED, S.EXTENDED):
        assert call().state == S.LEGAL_PROCESS_SERVED
    else:
        with pytest.raises(ValidationError):
            call()


def test_a_second_extension_is_refused_with_a_clear_message(draft):
    request = at_state(draft, S.EXTENDED)
    with pytest.raises(ValidationError) as exc:
        services.request_send_extension(preservation_request=request, actor=request.created_by, now=NOW)
    assert exc.value.code == "second_extension"
    assert "only one extension" in exc.value.messages[0]


def test_receipt_before_the_sent_date_is_refused(draft):
    request = send(draft, at=utc(2026, 4, 10, 15))
    with pytest.raises(ValidationError) as exc:
        receive(request, on=dt.date(2026, 4, 9))
    assert "received_on" in exc.value.error_dict


def test_receipt_in_the_future_is_refused(draft):
    request = send(draft)
    with pytest.raises(ValidationError) as exc:
        receive(request, on=dt.date(2026, 4, 21))
    assert exc.value.error_dict["received_on"][0].code == "date_in_future"


def test_today_in_the_agency_zone_is_not_the_future(make_request):
    # 02:00 UTC on 21 April is still 20 April in New York: a receipt on the 21st is in the future.
    request = make_request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2))
    with time_machine.travel(utc(2026, 4, 21, 2), tick=False):
        request = services.request_send(preservation_request=request, actor=request.created_by,
                                        sent_at=utc(2026, 4, 20, 12), now=utc(2026, 4, 21, 2))
        with pytest.raises(ValidationError):
            services.request_record_receipt(preservation_request=request, actor=request.created_by,
                                            received_on=dt.date(2026, 4, 21), now=utc(2026, 4, 21, 2))


def test_sending_in_the_future_is_refused(draft):
    with pytest.raises(ValidationError) as exc:
        services.request_send(preservation_request=draft, actor=draft.created_by, sent_at=utc(2026, 4, 21), now=NOW)
    assert "sent_at" in exc.value.error_dict


def test_an_incomplete_draft_cannot_be_sent_and_every_problem_is_named(agency, user):
    request = services.request_save_draft(agency=agency, actor=user, fields={"case_number": "CR-1"}, now=NOW)
    with pytest.raises(ValidationError) as exc:
        services.request_send(preservation_request=request, actor=user, now=NOW)
    assert {"requester_name", "requester_email", "window_start", "window_end", "data_types", "__all__"} <= set(
        exc.value.error_dict)
    request.refresh_from_db()
    assert request.state == S.DRAFT


def test_duplicate_serials_are_named_when_sending(agency, user):
    request = services.request_save_draft(
        agency=agency, actor=user, now=NOW,
        fields={"requester_name": "A", "requester_email": "a@b.example", "data_types": ["video_clips"],
                "window_start": utc(2026, 3, 1), "window_end": utc(2026, 3, 2)},
        serial_rows=[{"raw": "G8T1-SJ02-3294-01VR"}, {"raw": "camera.g8t1_sj02_3294_01vr"}])
    with pytest.raises(ValidationError) as exc:
        services.request_send(preservation_request=request, actor=user, now=NOW)
    message = " ".join(exc.value.message_dict["serials"])
    assert "G8T1-SJ02-3294-01VR" in message and "camera.g8t1_sj02_3294_01vr" in message


def test_a_window_ending_in_the_future_cannot_be_sent(make_request):
    request = make_request(window_start=utc(2026, 4, 19), window_end=utc(2026, 4, 21))
    with pytest.raises(ValidationError) as exc:
        send(request)
    assert exc.value.error_dict["window_end"][0].code == "end_in_future"


def test_every_state_change_writes_who_when_from_to_and_why(draft):
    request = services.request_withdraw(preservation_request=send(draft), actor=draft.created_by, reason="duplicate", now=NOW)
    changes = list(request.events.filter(action=RequestEvent.Action.STATE_CHANGED).values_list(
        "from_state", "to_state", "actor", "at", "reason"))
    assert changes == [
        (S.DRAFT, S.SUBMITTED, draft.created_by.pk, NOW, ""),
        (S.SUBMITTED, S.WITHDRAWN, draft.created_by.pk, NOW, "duplicate"),
    ]


def test_withdrawing_needs_a_reason(draft):
    with pytest.raises(ValidationError) as exc:
        services.request_withdraw(preservation_request=draft, actor=draft.created_by, reason="  ", now=NOW)
    assert "reason" in exc.value.error_dict


def test_deadlines_follow_the_worked_example_through_the_lifecycle(draft):
    """docs/deadlines.md example 3: received 2026-01-05 → expires 2026-04-05, extension by 2026-03-29,
    final 2026-07-04 once extended."""
    request = at_state(draft, S.PRESERVING)
    assert (request.expires_on, request.extension_send_by, request.final_expires_on) == (
        dt.date(2026, 4, 5), dt.date(2026, 3, 29), None)
    assert request.deadlines_provisional is False
    request = services.request_send_extension(preservation_request=request, actor=draft.created_by,
                                              sent_at=utc(2026, 3, 20, 15), now=NOW)
    request = services.request_record_extension_receipt(preservation_request=request, actor=draft.created_by,
                                                        received_on=dt.date(2026, 3, 21), now=NOW)
    assert request.final_expires_on == dt.date(2026, 7, 4)
    assert request.next_deadline_on == dt.date(2026, 7, 4)


def test_deadlines_are_provisional_until_receipt_is_recorded(draft):
    request = send(draft, at=utc(2026, 4, 20, 12))
    assert request.deadlines_provisional is True
    assert request.expires_on == dt.date(2026, 7, 19)
    assert receive(request, on=dt.date(2026, 4, 20)).deadlines_provisional is False


def test_a_draft_carries_its_retention_urgency_worked_example_1(draft):
    assert draft.urgency == "elevated"
    assert draft.first_loss_at == utc(2026, 4, 30)
    assert draft.next_deadline_on == dt.date(2026, 4, 29)  # 00:00 UTC is the evening before in New York


def test_legal_process_after_expiry_is_refused(draft):
    request = at_state(draft, S.PRESERVING)  # expires 2026-04-05
    with pytest.raises(ValidationError) as exc:
        services.request_record_legal_process(preservation_request=request, actor=draft.created_by,
                                              process_type="subpoena", served_on=dt.date(2026, 4, 6), now=NOW)
    assert exc.value.error_dict["served_on"][0].code == "after_expiry"


def test_lapse_sweep_lapses_only_expired_requests(draft, make_request):
    expired = at_state(draft, S.PRESERVING)  # expired 2026-04-05
    fresh = make_request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2))
    fresh = receive(send(fresh), on=dt.date(2026, 4, 20))
    assert services.requests_lapse_due(now=NOW) == [expired.pk]
    expired.refresh_from_db(), fresh.refresh_from_db()
    assert (expired.state, fresh.state) == (S.LAPSED, S.PRESERVING)
    assert services.requests_lapse_due(now=NOW) == []


def test_lapse_waits_for_the_end_of_the_expiry_day_in_the_agency_zone(draft):
    request = at_state(draft, S.PRESERVING)  # expires 2026-04-05 (New York)
    end_of_day = utc(2026, 4, 6, 3, 59, 59)  # 23:59:59 on the 5th in New York (EDT)
    with pytest.raises(ValidationError):
        services.request_lapse(preservation_request=request, now=end_of_day)
    assert services.request_lapse(preservation_request=request, now=utc(2026, 4, 6, 4)).state == S.LAPSED


# (now, the agencies' zones whose requests are over): each request expires on 5 April, local.
LAPSE_MOMENTS = [
    (utc(2026, 4, 5, 11, 59), []),  # Auckland (UTC+12) 23:59 on the 5th
    (utc(2026, 4, 5, 12), ["Pacific/Auckland"]),
    (utc(2026, 4, 5, 18, 29), ["Pacific/Auckland"]),  # Kolkata (UTC+5:30) 23:59 on the 5th
    (utc(2026, 4, 5, 18, 30), ["Pacific/Auckland", "Asia/Kolkata"]),
    (utc(2026, 4, 6, 3, 59), ["Pacific/Auckland", "Asia/Kolkata"]),  # New York (EDT) 23:59
    (utc(2026, 4, 6, 4), ["Pacific/Auckland", "Asia/Kolkata", "America/New_York"]),
]


@pytest.mark.parametrize("now, over", LAPSE_MOMENTS)
def test_the_lapse_sweep_reads_only_requests_over_in_their_own_zone(now, over, make_request):
    """Every request below has expired somewhere on Earth: only those whose expiry day has ended
    in their agency's zone are read under lock and lapsed; the others are not read again
    every quarter hour until midnight there."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import AgencyFactory, UserFactory

    requests = {}
    for zone in ("Pacific/Auckland", "Asia/Kolkata", "America/New_York"):
        user = UserFactory(agency=AgencyFactory(time_zone=zone))
        requests[zone] = at_state(make_request(created_by=user, window_start=utc(2026, 3, 1),
                                               window_end=utc(2026, 3, 2)), S.PRESERVING)
        assert requests[zone].expires_on == dt.date(2026, 4, 5)
    with CaptureQueriesContext(connection) as queries:
        lapsed = services.requests_lapse_due(now=now)
    assert sorted(lapsed) == sorted(requests[zone].pk for zone in over)
    read = [q for q in queries.captured_queries
            if q["sql"].startswith("SELECT") and '"preservation_preservationrequest"."id" = ' in q["sql"]]
    assert len(read) == len(over), [q["sql"][:120] for q in read]


def test_only_a_draft_can_be_edited(draft):
    request = send(draft)
    with pytest.raises(ValidationError):
        services.request_save_draft(agency=request.agency, actor=request.created_by, preservation_request=request,
                                    fields={"notes": "x"}, now=NOW)


def test_a_draft_keeps_invalid_input_so_nothing_typed_is_lost(agency, user):
    request = services.request_save_draft(agency=agency, actor=user, now=NOW,
                                          fields={"requester_email": "not-an-email"},
                                          serial_rows=[{"raw": "G8T1-#"}])
    request.refresh_from_db()
    assert request.requester_email == "not-an-email"
    assert [s.raw for s in request.serials.all()] == ["G8T1-#"]


def test_urgency_is_refreshed_as_time_passes(draft):
    assert draft.urgency == "elevated"
    assert services.requests_refresh_urgency(now=utc(2026, 4, 28, 12)) == 1
    draft.refresh_from_db()
    assert draft.urgency == "critical"


@pytest.mark.parametrize("start, end", [
    (utc(9999, 12, 30), utc(9999, 12, 31)),
    (dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), utc(1, 1, 2)),
])
def test_a_draft_with_dates_at_the_ends_of_the_calendar_saves_without_deadlines(agency, user, start, end):
    request = services.request_save_draft(agency=agency, actor=user, now=NOW,
                                          fields={"window_start": start, "window_end": end})
    request.refresh_from_db()
    assert (request.window_end, request.first_loss_at, request.urgency) == (end, None, "")


def test_a_new_draft_stores_its_serials_without_deleting_first_and_an_edit_replaces_them(user, agency):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        made = services.request_save_draft(agency=agency, actor=user, fields={"case_number": "CR-NEW"},
                                           serial_rows=[{"raw": "G8T1-SJ02-3294-01VR"}])
    assert not [q for q in queries if q["sql"].startswith("DELETE")]
    services.request_save_draft(agency=agency, actor=user, fields={}, preservation_request=made,
                                serial_rows=[{"raw": "G8T1-9412-3135-0JD5"}])
    assert [s.normalized for s in made.serials.all()] == ["G8T1941231350JD5"]
