import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from preservation.models import Agency, PreservationRequest, RequestState, User


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_check_serial_prints_one_line_per_serial_with_display_form_and_hint():
    lines = run("check_serial", "g8t1 sj02 3294 01vr", "638241420").splitlines()
    assert len(lines) == 2
    assert "G8T1-SJ02-3294-01VR" in lines[0] and "Video Doorbell" in lines[0]
    assert "638241420" in lines[1] and "XT" in lines[1]


def test_check_serial_json_has_the_documented_keys():
    data = json.loads(run("check_serial", "--json", "camera.g8t1_sj02_3294_01vr"))
    assert data[0]["normalized"] == "G8T1SJ02329401VR"
    assert {"input", "valid", "normalized", "display", "generation", "model_hint", "warnings", "error"} <= set(data[0])
    assert data[0]["generation"] == "amazon"


def test_check_serial_exits_with_status_1_when_any_serial_is_invalid():
    with pytest.raises(SystemExit) as exc:
        run("check_serial", "G8T1-SJ02-3294-01VR", "12345-67890")
    assert exc.value.code == 1


def test_deadlines_command_reproduces_worked_example_1():
    data = json.loads(run("deadlines", "--start", "2026-03-01T00:00Z", "--end", "2026-03-02T00:00Z",
                          "--country", "US", "--now", "2026-04-20T12:00Z", "--json"))
    assert data["first_loss_at"] == "2026-04-30T00:00:00Z"
    assert data["urgency"] == "elevated"
    assert data["retention_days"] == 60
    assert data["expires_on"] is None


def test_deadlines_command_reproduces_worked_example_3_with_extension():
    data = json.loads(run("deadlines", "--start", "2025-12-01T00:00Z", "--end", "2025-12-02T00:00Z",
                          "--received", "2026-01-05", "--extended", "--now", "2026-01-10T00:00Z", "--json"))
    assert (data["expires_on"], data["extension_send_by"], data["final_expires_on"]) == (
        "2026-04-05", "2026-03-29", "2026-07-04")
    assert data["provisional"] is False


def test_deadlines_command_reads_local_times_in_the_given_zone():
    data = json.loads(run("deadlines", "--start", "2026-03-01T00:00", "--end", "2026-03-02T00:00",
                          "--tz", "America/New_York", "--country", "DE", "--now", "2026-03-05T00:00Z", "--json"))
    assert data["first_loss_at"] == "2026-03-31T05:00:00Z"
    assert data["retention_days"] == 30


@pytest.mark.parametrize("args, message", [
    (["--start", "yesterday", "--end", "2026-03-02T00:00Z"], "ISO 8601"),
    (["--start", "2026-03-02T00:00Z", "--end", "2026-03-01T00:00Z"], "end after"),
    (["--start", "2026-03-01T00:00Z", "--end", "2026-03-02T00:00Z", "--tz", "Mars/Olympus"], "time zone"),
    (["--start", "2026-03-01T00:00Z", "--end", "2026-03-02T00:00Z", "--extended"], "--received"),
])
def test_deadlines_command_explains_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run("deadlines", *args)


@pytest.mark.django_db
def test_seed_demo_covers_every_state_and_urgency_and_is_idempotent():
    output = run("seed_demo")
    assert "officer" in output and "preserve-demo-2026" in output
    run("seed_demo")
    assert Agency.objects.count() == 1
    assert User.objects.count() == 4
    requests = PreservationRequest.objects.for_agency(Agency.objects.get())
    assert 18 <= requests.count() <= 25
    assert set(requests.values_list("state", flat=True)) == set(RequestState.values)
    assert {"lost", "losing", "critical", "high", "elevated", "normal"} <= set(requests.values_list("urgency", flat=True))


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="production"):
        run("seed_demo")
    assert not Agency.objects.exists()


@pytest.mark.django_db
def test_seed_demo_says_where_this_server_answers(settings):
    settings.SITE_URL = "http://127.0.0.1:8321"  # what `make run PORT=8321` sets
    assert "Open http://127.0.0.1:8321/ and sign in" in run("seed_demo")
