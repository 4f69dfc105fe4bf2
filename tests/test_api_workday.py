"""The workday fields of the requests API (docs/workday.md, docs/api.md): the assignee and the
next step, the same one the dashboard row shows, its due day in the agency's calendar, and a
list that costs the same queries however many rows it has."""
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from preservation.models import PreservationRequest, Role
from preservation.requests import services
from tests.api_support import api, fresh_throttle, token_client  # noqa: F401 (fixtures)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login
from tests.test_api_requests import url

pytestmark = pytest.mark.django_db

# 03:00 UTC on 3 March 2026 is 22:00 on 2 March in New York, the agency's zone: its "today" is
# 2 March while UTC's is already 3 March.
NOW = utc(2026, 3, 3, 3, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def draft_of(author, **extra):
    window = {"window_start": NOW - timedelta(days=12), "window_end": NOW - timedelta(days=11)}
    return RequestFactory(agency=author.agency, created_by=author, **{**window, **extra})


def test_a_draft_reads_with_its_assignee_and_next_step(api, user):
    draft = draft_of(user)

    body = api.get(url(draft)).json()

    assert body["assigned_to"] == user.username
    step = body["next_step"]
    assert (step["code"], step["label"], step["whose_move"]) == ("send", "Send to Blink", "yours")
    assert step["reason"].startswith("Send it to Blink today.")


def test_the_next_step_is_due_on_the_agencys_day_not_utcs(api, user):
    draft = draft_of(user)
    sent = draft_of(user)
    # Sent at 23:30 on 1 March in New York (04:30 UTC on 2 March): Blink has three days from
    # the New York day, 1 March, so the chase starts on 4 March, not on 5 March.
    services.request_send(preservation_request=sent, actor=user, sent_at=utc(2026, 3, 2, 4, 30))

    draft_step = api.get(url(draft)).json()["next_step"]
    sent_step = api.get(url(sent)).json()["next_step"]

    assert draft_step["due_on"] == "2026-03-02"
    assert (sent_step["code"], sent_step["whose_move"], sent_step["due_on"]) == ("record_receipt", "waiting",
                                                                                  "2026-03-04")
    assert "4 March 2026" in sent_step["reason"]


def test_a_step_with_no_date_has_a_null_due_day(api, user, make_request):
    withdrawn = make_request()
    services.request_withdraw(preservation_request=withdrawn, actor=user, reason="duplicate")

    step = api.get(url(withdrawn)).json()["next_step"]

    assert (step["code"], step["whose_move"], step["due_on"]) == ("none", "done", None)


def test_the_api_gives_each_request_the_next_step_its_dashboard_row_shows(client):
    agency = AgencyFactory(requires_supervisor_approval=True)
    officer = UserFactory(agency=agency, role=Role.REQUESTER)
    supervisor = UserFactory(agency=agency, role=Role.SUPERVISOR)
    draft_of(officer)
    asked = draft_of(officer)
    services.request_ask_approval(preservation_request=asked, actor=officer, now=NOW)
    approved = draft_of(officer)
    services.request_approve(preservation_request=approved, actor=supervisor, now=NOW)
    sent = draft_of(officer)
    services.request_approve(preservation_request=sent, actor=supervisor, now=NOW)
    services.request_send(preservation_request=sent, actor=officer, sent_at=NOW - timedelta(days=5))
    incomplete = draft_of(officer, window_start=None, window_end=None)

    listed = token_client(officer).get("/api/v1/requests/").json()["results"]
    page = login(client, officer).get(reverse("preservation:dashboard")).content.decode()

    ids = dict(PreservationRequest.objects.for_agency(agency).values_list("public_id", "pk"))
    from_api = {ids[uuid.UUID(row["id"])]: row["next_step"]["code"] for row in listed}
    on_rows = {ids[uuid.UUID(public_id)]: code
               for public_id, code in re.findall(r'data-request="([0-9a-f-]{36})"[^>]*data-next-step="(\w+)"', page)}
    assert from_api == on_rows
    assert from_api[asked.pk] == "await_approval" and from_api[approved.pk] == "send"
    assert from_api[sent.pk] == "chase_receipt" and from_api[incomplete.pk] == "complete"


def test_a_reassigned_request_names_its_new_assignee_and_an_unassigned_one_its_creator(api, user, agency):
    colleague = UserFactory(agency=agency, role=Role.REQUESTER)
    reassigned = draft_of(user)
    services.request_assign(preservation_request=reassigned, actor=user, assignee=colleague, now=NOW)
    unassigned = draft_of(user, assigned_to=None)

    assert api.get(url(reassigned)).json()["assigned_to"] == colleague.username
    assert api.get(url(unassigned)).json()["assigned_to"] == user.username


def _queries_to_list(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/requests/")
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def test_the_list_costs_the_same_queries_for_one_request_as_for_twenty(api, user, agency):
    colleague = UserFactory(agency=agency, role=Role.REQUESTER)
    api.get("/api/v1/me/")  # the token's first use of the minute is recorded: not part of the count
    draft_of(user)
    one, rows = _queries_to_list(api)
    assert rows == 1
    for n in range(19):
        # Other assignees, sent and legacy devices: nothing a row shows may be read per row.
        request_obj = draft_of(user, assigned_to=colleague if n % 2 else user,
                               serials=["G8T1-SJ02-3294-01VR", "638241420"] if n % 3 else None)
        if n % 4 == 0:
            services.request_send(preservation_request=request_obj, actor=user, sent_at=NOW - timedelta(days=1))

    twenty, rows = _queries_to_list(api)

    assert rows == 20 and twenty == one
