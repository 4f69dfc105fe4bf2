"""Wall times at a clock change (docs/dates.md "Clock changes"): a time the clocks skip is
refused with the valid time it most likely meant; a time that happens twice asks which one,
on the form, in the API and on the command line."""
import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from preservation.rules import deadlines
from preservation.models import PreservationRequest
from tests.api_support import token_client
from tests.conftest import utc
from tests.helpers import login
from tests.test_api_requests import field_codes
from tests.test_web_intake import form_data

NOW = utc(2026, 11, 20, 12)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


WALL_TIMES = [
    # (wall time, zone, offset chosen, UTC instant or the error with what it offers)
    (dt.datetime(2026, 3, 8, 2, 30), "America/New_York", None, ("skipped", utc(2026, 3, 8, 7, 30))),
    (dt.datetime(2026, 3, 29, 2, 15), "Europe/Berlin", None, ("skipped", utc(2026, 3, 29, 1, 15))),
    (dt.datetime(2026, 9, 27, 2, 0), "Pacific/Auckland", None, ("skipped", utc(2026, 9, 26, 14))),
    (dt.datetime(2026, 11, 1, 1, 30), "America/New_York", None,
     ("ambiguous", (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)))),
    (dt.datetime(2026, 11, 1, 1, 30), "America/New_York", deadlines.EARLIER, utc(2026, 11, 1, 5, 30)),
    (dt.datetime(2026, 11, 1, 1, 30), "America/New_York", deadlines.LATER, utc(2026, 11, 1, 6, 30)),
    (dt.datetime(2026, 4, 5, 2, 30), "Pacific/Auckland", deadlines.LATER, utc(2026, 4, 4, 14, 30)),
    (dt.datetime(2026, 10, 25, 2, 30), "Europe/Berlin", None,
     ("ambiguous", (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)))),
    # Ordinary times, and zones without summer time, need no choice (and ignore one).
    (dt.datetime(2026, 3, 8, 3, 30), "America/New_York", None, utc(2026, 3, 8, 7, 30)),
    (dt.datetime(2026, 11, 1, 1, 30), "Asia/Kolkata", deadlines.LATER, utc(2026, 10, 31, 20)),
    (dt.datetime(2026, 11, 1, 1, 30), "UTC", None, utc(2026, 11, 1, 1, 30)),
]


@pytest.mark.parametrize("wall, zone, offset, expected", WALL_TIMES)
def test_a_wall_time_is_read_or_the_clock_change_is_named(wall, zone, offset, expected):
    if isinstance(expected, dt.datetime):
        assert deadlines.resolve_wall_time(wall, zone, offset) == expected
        return
    kind, offered = expected
    error_class = deadlines.SkippedTime if kind == "skipped" else deadlines.AmbiguousTime
    with pytest.raises(error_class) as raised:
        deadlines.resolve_wall_time(wall, zone, offset)
    assert (raised.value.suggestion if kind == "skipped" else raised.value.options) == offered


def post(client, **overrides):
    return client.post(reverse("preservation:request_new"), form_data(**overrides))


def test_the_form_says_a_skipped_time_does_not_exist_and_proposes_the_valid_one(client, user):
    login(client, user)
    response = post(client, window_start="2026-03-08T02:30", window_end="2026-03-08T03:00")
    assert response.status_code == 400
    content = response.content.decode()
    assert ("8 March 2026, 02:30 does not exist in America/New_York: the clocks go forward then. "
            "Did you mean 8 March 2026, 03:30 EDT?") in content
    assert "The window must end after it starts" not in content


def test_the_form_asks_which_of_two_repeated_times_is_meant(client, user):
    login(client, user)
    response = post(client, window_start="2026-11-01T01:30", window_end="2026-11-01T05:00")
    assert response.status_code == 400
    content = response.content.decode()
    assert ("1 November 2026, 01:30 happens twice in America/New_York: the clocks go back then. Say which one: "
            "1 November 2026, 01:30 EDT or 1 November 2026, 01:30 EST.") in content
    assert 'name="window_start_offset"' in content

    response = post(client, window_start="2026-11-01T01:30", window_start_offset="later",
                    window_end="2026-11-01T05:00")
    assert response.status_code == 302
    assert PreservationRequest.objects.for_agency(user.agency).get().window_start == utc(2026, 11, 1, 6, 30)


def test_the_live_check_names_the_clock_change(client, user):
    login(client, user)
    answer = client.post(reverse("preservation:urgency_check"), {
        "window_zone": "America/New_York", "window_start": "2026-03-08T02:30", "window_end": "2026-03-08T04:00",
    }).json()
    assert not answer["ok"] and "does not exist in America/New_York" in answer["message"]


def test_the_api_answers_with_a_code_for_each_case(user):
    api = token_client(user)
    body = {"window_zone": "America/New_York", "window_start": "2026-11-01T01:30", "window_end": "2026-11-01T05:00"}
    refused = api.post("/api/v1/requests/", body, format="json")
    assert refused.status_code == 400
    assert field_codes(refused) == {"window_start": ["time_ambiguous"]}
    created = api.post("/api/v1/requests/", {**body, "window_start_offset": "earlier"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["window_start"].startswith("2026-11-01T05:30")
    skipped = api.post("/api/v1/requests/", {**body, "window_start": "2026-03-08T02:30"}, format="json")
    assert field_codes(skipped) == {"window_start": ["time_skipped"]}
    assert "Did you mean 8 March 2026, 03:30 EDT?" in skipped.json()["fields"]["window_start"][0]["message"]


@pytest.mark.parametrize("value, message", [
    ("2026-03-08T02:30", "Did you mean 2026-03-08T03:30-04:00 (EDT)?"),
    ("2026-11-01T01:30", "2026-11-01T01:30-04:00 (EDT) or 2026-11-01T01:30-05:00 (EST)"),
])
def test_the_command_line_names_the_clock_change_and_what_to_type(value, message):
    with pytest.raises(CommandError) as refused:
        call_command("deadlines", "--start", value, "--end", "2026-11-02T00:00", "--tz", "America/New_York",
                     "--now", "2026-11-20T12:00Z", "--json")
    assert message in str(refused.value)
