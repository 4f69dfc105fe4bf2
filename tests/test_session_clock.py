"""The idle clock is written to the session at most once a minute (a session write per page was
a database UPDATE per request); the timeouts must hold all the same: never later than 30 idle
minutes or 12 hours after sign-in, and the page's countdown starts from the clock as stored."""
import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.urls import reverse

from preservation.core.middleware import SEEN_AT
from tests.conftest import utc
from tests.helpers import login


@pytest.fixture
def officer(user):
    return user


def _session_row(client):
    return Session.objects.get(session_key=client.session.session_key).session_data


def _signed_out(response):
    return response.status_code == 302 and response.url.startswith(reverse("login"))


def test_pages_within_a_minute_of_the_last_write_do_not_write_the_session(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        client.get("/")
        stored = _session_row(client)
        for _step in range(5):
            clock.shift(dt.timedelta(seconds=10))
            assert client.get("/").status_code == 200
        assert _session_row(client) == stored
        clock.shift(dt.timedelta(seconds=11))  # 61 s since the last write
        client.get("/")
        assert _session_row(client) != stored


@pytest.mark.parametrize("active_for, idle, signed_out", [
    # active every 50 s (no write between), then idle: counted from the last write at the latest
    (dt.timedelta(minutes=10), dt.timedelta(minutes=29), False),
    (dt.timedelta(minutes=10), dt.timedelta(minutes=30, seconds=1), True),
    (dt.timedelta(minutes=0), dt.timedelta(minutes=30, seconds=1), True),
])
def test_the_idle_limit_still_ends_a_session_after_thirty_idle_minutes_at_most(client, officer, active_for, idle, signed_out):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        steps = int(active_for.total_seconds() // 50)
        for _step in range(steps):
            clock.shift(dt.timedelta(seconds=50))
            assert client.get("/").status_code == 200
        clock.shift(idle)
        assert _signed_out(client.get("/")) is signed_out


def test_a_session_never_outlives_thirty_idle_minutes_after_its_last_request(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        clock.shift(dt.timedelta(seconds=59))
        client.get("/")  # not written: 59 s after sign-in
        clock.shift(dt.timedelta(minutes=30) - dt.timedelta(seconds=58))
        assert _signed_out(client.get("/"))  # 30 min 1 s after the last write: ended early, never late


def test_the_absolute_limit_holds_with_requests_every_few_seconds(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 6), tick=False) as clock:
        login(client, officer)
        clock.shift(dt.timedelta(hours=11, minutes=59, seconds=50))
        session = client.session
        session[SEEN_AT] = utc(2026, 5, 1, 17, 59, 50).timestamp()  # active until now
        session.save()
        assert client.get("/").status_code == 200
        clock.shift(dt.timedelta(seconds=11))
        assert _signed_out(client.get("/"))


def test_stay_signed_in_always_writes_the_clock(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        clock.shift(dt.timedelta(seconds=5))
        assert client.post(reverse("accounts:session_keepalive")).status_code == 204
        assert client.session[SEEN_AT] == utc(2026, 5, 1, 12, 0, 5).timestamp()


def test_the_page_countdown_starts_from_the_idle_time_the_server_has_left(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        clock.shift(dt.timedelta(seconds=45))  # no write yet: 45 s of the 30 minutes are gone
        page = client.get("/").content.decode()
        assert 'data-idle-seconds="1800"' in page and 'data-idle-left-seconds="1755"' in page
