"""What a draft created through the API or the intake page costs in queries: the catalogue
read once, the new request's serials read once while its deadlines and reminders are worked
out, the agency's requests_version moved on once after the commit. Counts by kind of query,
so that the test says which read came back."""
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from preservation.models import Agency, PreservationRequest
from preservation.requests import services
from tests.api_support import api, fresh_throttle  # noqa: F401 (fixtures)
from tests.conftest import utc
from tests.test_api_requests import complete_draft

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 2, 17, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def kinds(queries):
    """How many queries of each kind: ("select", table) or ("update", table)."""
    counted = {}
    for query in queries:
        sql = query["sql"]
        match = re.match(r'\s*(SELECT|UPDATE|INSERT INTO|DELETE FROM)\b.*?(?:FROM )?"(preservation_\w+)"', sql, re.S)
        if match:
            key = (match.group(1).split()[0].lower(), match.group(2))
            counted[key] = counted.get(key, 0) + 1
    return counted


def test_an_api_create_reads_the_catalogue_once_and_bumps_the_version_once(
        api, user, django_capture_on_commit_callbacks):
    api.get("/api/v1/me/")  # the token's first use of the minute is recorded: not part of the count
    before = Agency.objects.values_list("requests_version", flat=True).get(pk=user.agency_id)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/requests/", complete_draft(), format="json")
    assert response.status_code == 201, response.json()
    counted = kinds(queries.captured_queries)
    assert counted[("select", "preservation_provider")] == 1
    assert counted[("select", "preservation_legalbasis")] == 1
    assert counted[("update", "preservation_agency")] == 1
    # Once for the deadlines and the reminders together, once for the answer.
    assert counted[("select", "preservation_deviceserial")] == 2
    assert Agency.objects.values_list("requests_version", flat=True).get(pk=user.agency_id) == before + 1
    body = response.json()
    assert body["deadlines"]["first_loss_at"] == "2026-04-21T15:00:00Z"
    assert body["serials"][0]["reading"]["display"] == "G8T1-SJ02-3294-01VR"


def test_the_serials_read_for_the_deadlines_are_forgotten_afterwards(user):
    draft = services.request_save_draft(
        agency=user.agency, actor=user, now=NOW,
        fields={"window_start": utc(2026, 2, 20, 15), "window_end": utc(2026, 2, 20, 17), "window_zone": "UTC"},
        serial_rows=[{"raw": "G8T1-SJ02-3294-01VR"}])
    assert not draft.has_legacy_device
    assert "serials" not in getattr(draft, "_prefetched_objects_cache", {})
    # A legacy device added later on the same object is seen by the next recompute.
    services._replace_serials(draft, [{"raw": "638241420"}])
    assert draft.has_legacy_device
    stored = PreservationRequest.objects.for_agency(user.agency).get(pk=draft.pk)
    assert stored.has_legacy_device


def _step(request, name, now):
    kwargs = {"preservation_request": request, "now": now}
    actor = request.created_by
    return {
        "send": lambda: services.request_send(actor=actor, **kwargs),
        "receipt": lambda: services.request_record_receipt(actor=actor, received_on=now.date(), **kwargs),
        "send_extension": lambda: services.request_send_extension(actor=actor, **kwargs),
        "extension_receipt": lambda: services.request_record_extension_receipt(
            actor=actor, received_on=now.date(), **kwargs),
        "legal_process": lambda: services.request_record_legal_process(
            actor=actor, process_type="search_warrant", served_on=now.date(), **kwargs),
        "close": lambda: services.request_close(
            actor=actor, outcome="lapsed" if request.state == "lapsed" else "produced", **kwargs),
        "withdraw": lambda: services.request_withdraw(actor=actor, reason="Case closed", **kwargs),
        "lapse": lambda: services.request_lapse(**kwargs),
    }[name]()


# (steps, each at a day after NOW): every transition a request lives through.
LIVES = [
    [("send", 0), ("receipt", 1), ("send_extension", 60), ("extension_receipt", 61), ("legal_process", 70),
     ("close", 71)],
    [("send", 0), ("receipt", 2), ("lapse", 93), ("close", 94)],
    [("send", 0), ("withdraw", 1)],
]


@pytest.mark.parametrize("life", LIVES, ids=["extended-served-closed", "lapsed-closed", "withdrawn"])
def test_a_transition_writes_the_row_once_and_reads_no_serials_once_sent(user, life):
    """The new state and its deadlines go in one UPDATE, and a sent request's serials are not
    read: its stored values (urgency, deadlines, reminder plan) do not depend on a legacy device,
    which makes only a draft critical (docs/deadlines.md §3.5)."""
    from datetime import timedelta

    draft = services.request_save_draft(
        agency=user.agency, actor=user, now=NOW,
        fields={"window_start": utc(2026, 2, 20, 15), "window_end": utc(2026, 2, 20, 17), "window_zone": "UTC",
                "data_types": ["video_clips"], "requester_name": "Dana Scully",
                "requester_email": "dana.scully@agency.example", "case_number": "CR-2026-00042",
                "account_email": "owner@example.com"},
        serial_rows=[{"raw": "638241420"}])
    assert draft.has_legacy_device and draft.urgency == "critical"  # the legacy device counts here
    request = draft
    for name, day in life:
        now = NOW + timedelta(days=day)
        fresh = PreservationRequest.objects.for_agency(user.agency).select_related("agency", "created_by").get(
            pk=request.pk)
        with CaptureQueriesContext(connection) as queries:
            request = _step(fresh, name, now)
        counted = kinds(queries.captured_queries)
        assert counted.get(("update", "preservation_preservationrequest")) == 1, (name, counted)
        if name != "send":  # sending checks the draft's identifiers, which are its serials
            assert ("select", "preservation_deviceserial") not in counted, (name, counted)
        # The provider and legal basis came with the locked row.
        assert ("select", "preservation_provider") not in counted, (name, counted)
        assert ("select", "preservation_legalbasis") not in counted, (name, counted)
        # What is stored is what the report gives with the serials read.
        stored = PreservationRequest.objects.for_agency(user.agency).select_related("agency").get(pk=request.pk)
        assert stored.state == request.state
        report = services.request_report(stored, now=now)
        retention, clock = report.retention, report.clock
        assert (stored.first_loss_at, stored.total_loss_at, stored.retention_days) == (
            retention.first_loss_at, retention.total_loss_at, retention.retention_days)
        assert (stored.expires_on, stored.final_expires_on) == (
            clock and clock.expires_on, clock and clock.final_expires_on)
        urgency = services._urgency(stored, report, stored.next_deadline_on, now)
        assert stored.urgency == (urgency.value if urgency else ""), name


def test_the_catalogue_rows_read_with_a_request_serve_only_its_own_codes(user, make_request):
    from preservation.requests import selectors

    request = make_request()
    loaded = PreservationRequest.objects.for_agency(user.agency).select_related(*selectors.CATALOGUE_ROWS).get(
        pk=request.pk)
    with CaptureQueriesContext(connection) as queries:
        provider, basis = selectors.request_policies(loaded)
    assert queries.captured_queries == []
    assert (provider.code, basis.code) == (loaded.provider, loaded.legal_basis)
    # The provider changed on the object (a draft being edited): the row read with it is the old
    # provider's, so the new one is read.
    loaded.provider = "ring"
    with CaptureQueriesContext(connection) as queries:
        provider, basis = selectors.request_policies(loaded)
    assert provider.code == "ring" and basis.code == loaded.legal_basis
    assert kinds(queries.captured_queries) == {("select", "preservation_provider"): 1}


def test_a_request_whose_provider_has_no_catalogue_row_is_still_read_and_follows_the_shipped_one(user):
    from preservation.models import Provider
    from preservation.rules import catalogue

    draft = services.request_save_draft(
        agency=user.agency, actor=user, now=NOW,
        fields={"window_start": utc(2026, 2, 20, 15), "window_end": utc(2026, 2, 20, 17), "window_zone": "UTC",
                "data_types": ["video_clips"], "requester_name": "Dana Scully",
                "requester_email": "dana.scully@agency.example", "case_number": "CR-2026-00042",
                "account_email": "owner@example.com"},
        serial_rows=[{"raw": "G8T1-SJ02-3294-01VR"}])
    Provider.objects.filter(code=draft.provider).delete()  # the row is optional: the join is an outer one
    sent = services.request_send(preservation_request=draft, actor=user, now=NOW)
    assert sent.state == "submitted"
    assert sent.provider_row is None
    assert services.request_report(sent, now=NOW).provider == catalogue.BLINK.code
