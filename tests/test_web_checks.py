"""The intake form's live checks: serials and urgency, POST only, behind the login."""
import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import utc
from tests.helpers import login

NOW = utc(2026, 4, 20, 12, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("typed, display, hint", [
    ("g8t1 sj02 3294 01vr", "G8T1-SJ02-3294-01VR", "doorbell"),
    ("camera.g8t1_lpff_f402_3s6s", "G8T1-LPFF-F402-3S6S", "sync_module_2"),
    ("638241420", "638241420", "xt"),
])
def test_a_typed_serial_comes_back_in_its_display_form_with_the_model_hint(signed_in, typed, display, hint):
    body = signed_in.post(reverse("preservation:serial_check"), {"serial": typed}).json()
    assert (body["valid"], body["display"], body["model_hint"]) == (True, display, hint)


def test_an_invalid_serial_comes_back_with_the_exact_problem(signed_in):
    body = signed_in.post(reverse("preservation:serial_check"), {"serial": "12345-67890"}).json()
    assert body["valid"] is False
    assert body["error_code"] == "not_a_dsn_network_id"


def test_a_legacy_serial_is_flagged_for_the_rolling_pool(signed_in):
    assert signed_in.post(reverse("preservation:serial_check"), {"serial": "638241420"}).json()["legacy_pool"]


def test_a_pasted_list_is_split_like_the_paste_box(signed_in):
    body = signed_in.post(reverse("preservation:serial_check"),
                          {"paste": "G8T1 SJ02 3294 01VR\n638241420, nonsense"}).json()
    assert [(s["input"], s["valid"]) for s in body["serials"]] == [
        ("G8T1 SJ02 3294 01VR", True), ("638241420", True), ("nonsense", False)]


def test_the_serial_check_refuses_get_so_serials_never_travel_in_a_url(signed_in):
    assert signed_in.get(reverse("preservation:serial_check"), {"serial": "638241420"}).status_code == 405


def test_the_serial_check_needs_a_csrf_token(user):
    client = login(Client(enforce_csrf_checks=True), user)
    assert client.post(reverse("preservation:serial_check"), {"serial": "638241420"}).status_code == 403


def test_the_serial_check_needs_a_signed_in_user(client):
    assert client.post(reverse("preservation:serial_check"), {"serial": "638241420"}).status_code == 302


def test_an_empty_serial_check_is_a_clear_400(signed_in):
    response = signed_in.post(reverse("preservation:serial_check"), {})
    assert response.status_code == 400 and response.json()["error"]


def test_the_urgency_panel_matches_the_worked_example(signed_in):
    # docs/deadlines.md example 1: window 1-2 March 2026 UTC, US account, on 20 April 12:00 UTC.
    body = signed_in.post(reverse("preservation:urgency_check"), {
        "window_start": "2026-03-01T00:00", "window_end": "2026-03-02T00:00", "window_zone": "UTC",
        "account_country": "US", "data_types": ["video_clips"],
    }).json()
    assert body["urgency"] == "elevated"
    assert body["headline"] == (
        "The oldest clip in this window is deleted on 30 April 2026, 00:00 UTC: 9 days left (Elevated).")
    assert body["start_utc"] == "1 March 2026, 00:00 UTC"


def test_the_urgency_panel_shows_the_utc_equivalent_of_a_local_window(signed_in):
    body = signed_in.post(reverse("preservation:urgency_check"), {
        "window_start": "2026-03-01T00:00", "window_end": "2026-03-02T00:00",
        "window_zone": "America/New_York", "account_country": "US",
    }).json()
    assert (body["start_utc"], body["end_utc"]) == ("1 March 2026, 05:00 UTC", "2 March 2026, 05:00 UTC")


def test_a_legacy_serial_in_the_form_makes_the_panel_critical_with_its_warning(signed_in):
    body = signed_in.post(reverse("preservation:urgency_check"), {
        "window_start": "2026-04-01T00:00", "window_end": "2026-04-02T00:00", "window_zone": "UTC",
        "account_country": "US", "data_types": ["video_clips"], "serials-0-raw": "638241420",
    }).json()
    assert body["urgency"] == "critical"
    assert body["headline"] == ("The oldest clip in this window is deleted on 31 May 2026, 00:00 UTC: 40 days left. "
                                "Critical: a legacy device is named, so its clips can roll off at any time.")
    assert any("7,200-second pool" in text for text in body["explanations"])


def test_a_shorter_auto_delete_setting_is_explained(signed_in):
    body = signed_in.post(reverse("preservation:urgency_check"), {
        "window_start": "2026-04-10T00:00", "window_end": "2026-04-11T00:00", "window_zone": "UTC",
        "account_country": "US", "auto_delete_days": "14",
    }).json()
    assert body["urgency"] == "high"
    assert any("auto-delete setting (14 days)" in text for text in body["explanations"])


@pytest.mark.parametrize("fields, message", [
    ({"window_start": "2026-03-01T00:00"}, "Enter when the window starts and ends"),
    ({"window_start": "2026-03-02T00:00", "window_end": "2026-03-01T00:00"}, "must end after it starts"),
    ({"window_start": "not a date", "window_end": "2026-03-01T00:00"}, "Enter when the window starts and ends"),
])
def test_an_incomplete_window_gives_a_message_not_an_error(signed_in, fields, message):
    body = signed_in.post(reverse("preservation:urgency_check"), {"window_zone": "UTC", **fields}).json()
    assert body["ok"] is False and message in body["message"]


def test_an_unknown_zone_is_refused(signed_in):
    response = signed_in.post(reverse("preservation:urgency_check"), {"window_zone": "Mars/Olympus"})
    assert response.status_code == 400


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.datetimes(), end=st.datetimes(),
       zone=st.sampled_from(["UTC", "Pacific/Kiritimati", "Europe/London", "", "../etc"]),
       country=st.text(max_size=4), serial=st.text(max_size=300))
def test_no_input_makes_the_live_checks_fail(signed_in, start, end, zone, country, serial):
    # The checks only read, so one signed-in client serves every example.
    for url, data in (
        (reverse("preservation:urgency_check"), {
            "window_start": start.strftime("%Y-%m-%dT%H:%M"), "window_end": end.strftime("%Y-%m-%dT%H:%M"),
            "window_zone": zone, "account_country": country, "serials-0-raw": serial}),
        (reverse("preservation:serial_check"), {"serial": serial}),
        (reverse("preservation:serial_check"), {"paste": serial}),
    ):
        assert signed_in.post(url, data).status_code in (200, 400)
