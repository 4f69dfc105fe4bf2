"""The serial checker and the what-if deadline calculator through the API."""
import io
import json

import pytest
from django.core.management import call_command

from tests.api_support import api, fresh_throttle  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_a_batch_of_serials_gets_one_reading_each_and_duplicates_named(api):
    response = api.post("/api/v1/serials/validate/", {
        "serials": ["g8t1 sj02 3294 01vr", "G8T1-SJ02-3294-01VR", "12-34", "", "６３４５６７８９０"],
    }, format="json")

    assert response.status_code == 200
    body = response.json()
    results = body["results"]
    assert [r["valid"] for r in results] == [True, True, False, False, True]
    assert results[0]["display"] == "G8T1-SJ02-3294-01VR" and results[0]["model_hint"] == "doorbell"
    assert results[2]["error_code"] == "not_a_dsn_network_id" and results[2]["error"]
    assert results[3]["error_code"] == "empty"
    assert results[4]["normalized"] == "634567890"  # full-width digits
    assert body["duplicates"] == [{
        "normalized": "G8T1SJ02329401VR", "display": "G8T1-SJ02-3294-01VR",
        "inputs": ["g8t1 sj02 3294 01vr", "G8T1-SJ02-3294-01VR"],
    }]
    assert body["all_valid"] is False


def test_a_serial_warning_comes_with_its_code(api):
    result = api.post("/api/v1/serials/validate/", {"serials": ["G8V1 SJ02 3294 0IVR"]}, format="json").json()

    assert [w["code"] for w in result["results"][0]["warnings"]] == ["unconfirmed_prefix", "ambiguous_letters"]


@pytest.mark.parametrize("body, field, code", [
    ({}, "serials", "required"),
    ({"serials": "G8T1SJ02329401VR"}, "serials", "not_a_list"),
    ({"serials": ["G8T1SJ02329401VR"] * 101}, "serials", "max_length"),
    ({"serials": ["x" * 10_001]}, "serials.0", "max_length"),
])
def test_a_malformed_batch_is_a_field_error(api, body, field, code):
    response = api.post("/api/v1/serials/validate/", body, format="json")

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["fields"][field]] == [code]


def command_report(*args):
    out = io.StringIO()
    call_command("deadlines", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("body, arguments", [
    ({"start": "2026-02-01T08:00", "end": "2026-02-01T09:00", "tz": "Europe/Berlin", "country": "DE",
      "now": "2026-02-10T12:00"},
     ["--start", "2026-02-01T08:00", "--end", "2026-02-01T09:00", "--tz", "Europe/Berlin", "--country", "DE",
      "--now", "2026-02-10T12:00"]),
    ({"start": "2026-01-05T00:00:00Z", "end": "2026-01-06T00:00:00Z", "received": "2026-01-20", "extended": True,
      "legacy": True, "auto_delete_days": 14, "now": "2026-01-25T00:00:00Z"},
     ["--start", "2026-01-05T00:00:00Z", "--end", "2026-01-06T00:00:00Z", "--received", "2026-01-20",
      "--extended", "--legacy", "--auto-delete-days", "14", "--now", "2026-01-25T00:00:00Z"]),
    ({"start": "2026-03-08T01:30", "end": "2026-03-08T03:30", "tz": "America/New_York", "non_content_only": True,
      "now": "2026-03-09T00:00"},
     ["--start", "2026-03-08T01:30", "--end", "2026-03-08T03:30", "--tz", "America/New_York",
      "--non-content-only", "--now", "2026-03-09T00:00"]),
])
def test_the_calculator_answers_exactly_as_the_deadlines_command(api, body, arguments):
    response = api.post("/api/v1/deadlines/", body, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == command_report(*arguments)


@pytest.mark.parametrize("body, field, code", [
    ({"start": "2026-02-01T09:00", "end": "2026-02-01T08:00"}, "end", "end_before_start"),
    ({"start": "2026-02-01T08:00", "end": "2026-02-01T09:00", "tz": "Atlantis/Capital"}, "tz", "invalid_time_zone"),
    ({"start": "2026-02-01T08:00", "end": "2026-02-01T09:00", "extended": True}, "received", "required"),
    ({"start": "0001-01-01T00:00", "end": "2026-02-01T09:00"}, "start", "out_of_range"),
    ({"start": "2026-02-01T08:00", "end": "9999-12-31T23:59"}, "end", "out_of_range"),
    ({"start": "2026-02-29T08:00", "end": "2026-03-01T09:00"}, "start", "invalid"),
    # Clock changes are named, not guessed (docs/dates.md): 02:30 is skipped, 01:30 repeated.
    ({"start": "2026-03-08T01:30", "end": "2026-03-08T02:30", "tz": "America/New_York"}, "end", "time_skipped"),
    ({"start": "2026-11-01T01:30", "end": "2026-11-01T05:00", "tz": "America/New_York"}, "start", "time_ambiguous"),
    ({"start": "2026-02-01T08:00", "end": "2026-02-01T09:00", "country": "Germany"}, "country", "max_length"),
    ({"start": "2026-02-01T08:00", "end": "2026-02-01T09:00", "auto_delete_days": 1}, "auto_delete_days",
     "invalid_choice"),
])
def test_the_calculator_refuses_bad_input_by_field(api, body, field, code):
    response = api.post("/api/v1/deadlines/", body, format="json")

    assert response.status_code == 400
    assert code in [e["code"] for e in response.json()["fields"][field]]


def test_a_leap_day_window_is_fine(api):
    body = {"start": "2028-02-29T08:00:00Z", "end": "2028-02-29T09:00:00Z", "country": "US",
            "now": "2028-03-01T00:00:00Z"}

    assert api.post("/api/v1/deadlines/", body, format="json").json()["first_loss_at"] == "2028-04-29T08:00:00Z"
