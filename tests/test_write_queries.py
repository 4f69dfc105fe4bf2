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
