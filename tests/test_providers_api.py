"""The API with providers, legal bases and identifier types (docs/providers.md)."""
import pytest
import time_machine

from preservation.rules import catalogue
from tests.api_support import fresh_throttle, token_client  # noqa: F401 (fixtures)
from tests.conftest import utc
from tests.factories import AgencyFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = utc(2026, 11, 2, 12)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def german():
    user = UserFactory(agency=AgencyFactory(country="DE", time_zone="Europe/Berlin"))
    return user, token_client(user)


def ring_draft(**overrides):
    return {
        "requester_name": "Kommissarin Lena Odenthal", "requester_email": "lena@polizei.example",
        "data_types": ["video_clips"], "window_start": "2026-08-25T10:00", "window_end": "2026-08-25T12:00",
        "window_zone": "Europe/Berlin", "account_country": "DE", "provider": "ring",
        "serials": [{"kind": "mac", "raw": "00-1a-2b-3c-4d-5e"}], **overrides,
    }


def test_a_ring_draft_with_a_mac_under_the_german_agency_default_epoc_pr(german):
    _user, api = german
    body = api.post("/api/v1/requests/", ring_draft(), format="json").json()
    assert (body["provider"], body["legal_basis"]) == ("ring", catalogue.EPOC_PR)
    assert body["serials"][0]["kind"] == "mac"
    assert body["serials"][0]["reading"]["normalized"] == "001A2B3C4D5E"
    assert body["deadlines"]["provider"] == "ring" and body["deadlines"]["retention_hours"] == 720
    assert body["sending_problems"] == {}

    sent = api.post("/api/v1/requests/%s/send/" % body["id"], {"sent_at": "2026-09-01T08:00:00Z"}, format="json")
    assert sent.status_code == 200, sent.json()
    received = api.post("/api/v1/requests/%s/record-receipt/" % body["id"], {"received_on": "2026-09-01"},
                        format="json").json()
    assert (received["deadlines"]["expires_on"], received["deadlines"]["extension_send_by"]) == (
        "2026-10-31", "2026-10-24")

    produced = api.post("/api/v1/requests/%s/record-production-order/" % body["id"],
                        {"confirmed_on": "2026-10-20", "received_at": "2026-10-20T09:00:00Z", "emergency": True},
                        format="json").json()
    assert produced["preserved_until_production"] is True
    assert produced["deadlines"]["production_due_at"] == "2026-10-20T17:00:00Z"


def test_an_unknown_provider_and_a_bad_mac_are_refused(german):
    _user, api = german
    response = api.post("/api/v1/requests/", ring_draft(provider="acme"), format="json")
    assert response.status_code == 400
    body = api.post("/api/v1/requests/", ring_draft(serials=[{"kind": "mac", "raw": "00-1a"}]), format="json").json()
    assert body["sending_problems"]["serials"][0]["code"] == "invalid_mac"


def test_the_identifier_batch_check(german):
    _user, api = german
    body = api.post("/api/v1/identifiers/validate/", {"kind": "phone", "values": ["+49 30 1234567", "030"]},
                    format="json").json()
    assert [(r["valid"], r["normalized"]) for r in body] == [(True, "+49301234567"), (False, "")]


def test_the_deadline_calculator_with_provider_and_basis(german):
    _user, api = german
    query = {"start": "2026-08-25T00:00Z", "end": "2026-08-26T00:00Z", "country": "DE", "received": "2026-09-01",
             "now": "2026-09-02T00:00Z"}
    plain = api.post("/api/v1/deadlines/", query, format="json").json()
    assert "provider" not in plain
    blink = api.post("/api/v1/deadlines/", {**query, "provider": "blink"}, format="json").json()
    assert {key: blink[key] for key in plain} == plain
    ring = api.post("/api/v1/deadlines/", {**query, "provider": "ring", "basis": "eu_epoc_pr"}, format="json").json()
    assert ring["expires_on"] == "2026-10-31" and ring["legal_basis"] == "eu_epoc_pr"
