"""check_identifier and the deadlines command's --provider and --basis (docs/providers.md)."""
import json
from io import StringIO

import pytest
from django.core.management import call_command

from preservation.rules import catalogue
from preservation.rules.identifiers import check_identifier
from preservation.rules.serials import parse_serial


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


WINDOW = ("--start", "2026-03-01T00:00Z", "--end", "2026-03-02T00:00Z", "--now", "2026-04-20T12:00Z")


@pytest.mark.parametrize("extra", [
    ("--country", "US"),
    ("--country", "DE", "--received", "2026-03-05"),
    ("--country", "US", "--received", "2026-03-05", "--extended"),
    ("--received", "2026-03-05", "--tz", "America/New_York", "--legacy"),
])
def test_deadlines_for_blink_gives_exactly_todays_answers(extra):
    today = json.loads(run("deadlines", *WINDOW, *extra, "--json"))
    for flags in (("--provider", "blink"), ("--provider", "blink", "--basis", "us_2703f")):
        chosen = json.loads(run("deadlines", *WINDOW, *extra, *flags, "--json"))
        assert {key: chosen[key] for key in today} == today
        assert chosen["provider"] == "blink" and chosen["legal_basis"] == "us_2703f"


def test_deadlines_without_provider_or_basis_keeps_its_keys():
    data = json.loads(run("deadlines", *WINDOW, "--country", "US", "--json"))
    assert "provider" not in data and data["retention_days"] == 60


def test_deadlines_for_ring_under_epoc_pr():
    data = json.loads(run("deadlines", *WINDOW, "--country", "DE", "--received", "2026-09-01",
                          "--provider", "ring", "--basis", "eu_epoc_pr", "--json"))
    assert (data["retention_days"], data["expires_on"], data["extension_send_by"]) == (30, "2026-10-31", "2026-10-24")
    assert any("EPOC-PR received 2026-09-01 + 60 days = 2026-10-31" in e["text"] for e in data["explanations"])


def test_deadlines_for_a_national_order_with_two_renewals():
    data = json.loads(run("deadlines", *WINDOW, "--received", "2026-09-01", "--basis", "national_order",
                          "--provider", "other", "--national-renewals", "2", "--extensions", "2", "--json"))
    assert (data["expires_on"], data["final_expires_on"], data["extensions_received"]) == ("2026-11-30", "2027-05-29", 2)


def test_deadlines_until_production():
    data = json.loads(run("deadlines", *WINDOW, "--received", "2026-09-01", "--basis", "eu_epoc_pr",
                          "--production-confirmed", "2026-10-01", "--json"))
    assert data["until_production"] is True and data["final_expires_on"] is None


# --- Identifiers -------------------------------------------------------------------------------

MACS = ["00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E", "001a.2b3c.4d5e", "001A2B3C4D5E", " 00 1a 2b 3c 4d 5e "]


@pytest.mark.parametrize("raw", MACS)
def test_a_mac_in_any_common_notation_becomes_12_hex_digits(raw):
    result = check_identifier(catalogue.MAC, raw)
    assert result.valid and result.normalized == "001A2B3C4D5E" and result.display == "00:1A:2B:3C:4D:5E"


@pytest.mark.parametrize(("kind", "raw", "code"), [
    (catalogue.MAC, "00:1a:2b:3c:4d", "invalid_mac"),
    (catalogue.MAC, "00:1a:2b:3c:4d:5g", "invalid_mac"),
    (catalogue.MAC, "", "empty"),
    (catalogue.EMAIL, "not an email", "invalid_email"),
    (catalogue.PHONE, "030 1234567", "invalid_phone"),
    (catalogue.PHONE, "+1 555", "invalid_phone"),
    (catalogue.TEXT, "bad\x00text", "invalid_text"),
    (catalogue.TEXT, "x" * 300, "too_long"),
])
def test_invalid_identifiers_say_what_was_expected(kind, raw, code):
    result = check_identifier(kind, raw)
    assert not result.valid and result.error_code == code and result.error


@pytest.mark.parametrize(("kind", "raw", "normalized"), [
    (catalogue.EMAIL, "Jane.Doe@Example.COM", "Jane.Doe@example.com"),
    (catalogue.PHONE, "+49 30 1234567", "+49301234567"),
    (catalogue.PHONE, "+1 (202) 555-0143", "+12025550143"),
    (catalogue.TEXT, "account 42 / subscriber SimpliSafe", "account 42 / subscriber SimpliSafe"),
])
def test_valid_identifiers_are_normalised(kind, raw, normalized):
    result = check_identifier(kind, raw)
    assert result.valid and result.normalized == normalized


@pytest.mark.parametrize("raw", ["g8t1-sj02-3294-01vr", "638241420", "G8T1-OI02-3294-01VR", "12345-67890"])
def test_a_blink_serial_is_checked_exactly_as_check_serial_does(raw):
    serial, result = parse_serial(raw), check_identifier(catalogue.BLINK_SERIAL, raw)
    assert (result.valid, result.normalized, result.error_code) == (
        serial.valid, serial.normalized or "", serial.error_code)
    assert [w["code"] for w in result.warnings] == [w.code for w in serial.warnings]


def test_check_identifier_json_and_exit_status():
    data = json.loads(run("check_identifier", "--type", "mac", "--json", "00-1a-2b-3c-4d-5e"))
    assert data[0]["normalized"] == "001A2B3C4D5E" and data[0]["kind"] == "mac"
    with pytest.raises(SystemExit) as exc:
        run("check_identifier", "--type", "phone", "+49 30 1234567", "12")
    assert exc.value.code == 1


def test_check_identifier_prints_one_line_per_value():
    lines = run("check_identifier", "--type", "email", "jane@example.com").splitlines()
    assert lines == ["jane@example.com: valid Account email jane@example.com"]
