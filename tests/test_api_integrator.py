"""The API as an integrator meets it (docs/api.md): every error in the one JSON format, a schema
that says exactly what comes back, idempotent creates, and representations that need no
guessing (approval, what the caller may do, windows in their own zone, which serial is wrong)."""
import json

import pytest
import time_machine
from django.test import Client
from django.test import RequestFactory as HttpRequestFactory

from preservation.api import errors
from preservation.models import IdempotencyKey, PreservationRequest, RequestApproval, Role
from tests.api_support import api, fresh_throttle, token_client  # noqa: F401 (fixtures)
from tests.conftest import utc
from tests.factories import RequestFactory, UserFactory
from tests.test_api_requests import complete_draft, url

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 2, 17, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def post_json(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def schema():
    return Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()


# --- Every error is JSON in the one format -----------------------------------------------------


def assert_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "detail", "fields"} and body["code"] == code, body
    return body


def test_a_body_over_the_size_limit_is_a_413_in_the_error_format(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post_json(api, "/api/v1/requests/", complete_draft(unit="x" * 2000))

    assert_error(response, 413, "too_large")
    assert not PreservationRequest.objects.for_agency(user.agency).exists()


def test_notes_have_a_length_limit_the_schema_declares(api):
    limit = schema()["components"]["schemas"]["RequestRequest"]["properties"]["notes"]["maxLength"]

    response = post_json(api, "/api/v1/requests/", complete_draft(notes="n" * (limit + 1)))

    body = assert_error(response, 400, "invalid")
    assert [e["code"] for e in body["fields"]["notes"]] == ["max_length"]
    assert post_json(api, "/api/v1/requests/", complete_draft(notes="n" * limit)).status_code == 201


@pytest.mark.parametrize("path", ["/api/", "/api/v2/requests/", "/api/v1/no-such-thing/"])
def test_a_missing_page_under_api_is_a_json_404(api, path):
    assert_error(api.get(path), 404, "not_found")


def test_a_missing_page_elsewhere_stays_an_html_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("path", "api_format"), [("/api/v1/requests/", True), ("/requests/", False)])
def test_a_server_error_under_api_is_json_and_elsewhere_the_usual_page(path, api_format):
    response = errors.handler500(HttpRequestFactory().get(path))

    assert response.status_code == 500
    if api_format:
        assert json.loads(response.content)["code"] == "server_error"
    else:
        assert response["Content-Type"].startswith("text/html")


def test_django_s_own_400_under_api_is_json_too():
    from django.core.exceptions import RequestDataTooBig, SuspiciousOperation

    too_big = errors.handler400(HttpRequestFactory().post("/api/v1/requests/"), RequestDataTooBig())
    suspicious = errors.handler400(HttpRequestFactory().get("/api/v1/me/"), SuspiciousOperation())

    assert (too_big.status_code, json.loads(too_big.content)["code"]) == (413, "too_large")
    assert (suspicious.status_code, json.loads(suspicious.content)["code"]) == (400, "bad_request")


# --- The schema says exactly what comes back ---------------------------------------------------


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_nullability_is_written_as_a_null_type_never_as_nullable_without_a_type():
    document = schema()

    assert document["openapi"] == "3.1.0"
    assert not [node for node in _walk(document) if "nullable" in node]
    request = document["components"]["schemas"]["Request"]["properties"]
    for name in ("urgency", "deadlines"):
        assert {"type": "null"} in request[name]["oneOf"], request[name]
    next_deadline = document["components"]["schemas"]["RequestDeadlines"]["properties"]["next_deadline"]
    assert {"type": "null"} in next_deadline["oneOf"]


def test_every_field_of_a_response_is_required_and_pages_always_have_next_and_previous():
    components = schema()["components"]["schemas"]

    for name in ("Request", "DeviceSerial", "Document", "PaginatedRequestList", "Approval", "FieldProblem"):
        assert sorted(components[name]["required"]) == sorted(components[name]["properties"]), name
    assert components["PaginatedRequestList"]["properties"]["next"]["type"] == ["string", "null"]


def test_every_text_a_client_sends_has_a_length_limit():
    components = schema()["components"]["schemas"]
    unbounded = [
        (name, field)
        for name, component in components.items() if name.endswith("Request") and name != "Request"
        for field, spec in component.get("properties", {}).items()
        if spec.get("type") in ("string", ["string", "null"]) and "maxLength" not in spec
        and "enum" not in spec and spec.get("format") not in ("date", "date-time")
    ]
    assert unbounded == []


def test_errors_are_listed_per_operation_without_a_catch_all():
    paths = schema()["paths"]

    for item in paths.values():
        for operation in item.values():
            assert "default" not in operation["responses"]
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert set(paths["/api/v1/me/"]["get"]["responses"]) == {"200", "401", "429"}
    assert set(paths["/api/v1/requests/"]["post"]["responses"]) == {
        "201", "400", "401", "403", "413", "415", "422", "429"}
    assert set(paths["/api/v1/requests/{id}/approve/"]["post"]["responses"]) == {
        "200", "400", "401", "403", "404", "429"}


def test_the_pdf_download_is_binary_also_as_octet_stream_and_the_schema_names_a_server():
    document = schema()

    content = document["paths"]["/api/v1/documents/{id}/download/"]["get"]["responses"]["200"]["content"]
    assert content["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert document["servers"][0]["url"].startswith("http")


# --- Idempotent creates ------------------------------------------------------------------------


def test_a_retried_create_with_the_same_key_returns_the_first_request(api, user):
    first = post_json(api, "/api/v1/requests/", complete_draft(), **{"Idempotency-Key": "rms-4711"})
    retry = post_json(api, "/api/v1/requests/", complete_draft(), **{"Idempotency-Key": "rms-4711"})

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"] and retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert PreservationRequest.objects.for_agency(user.agency).count() == 1


def test_the_same_body_spaced_or_ordered_otherwise_is_the_same_call(api, user):
    body = complete_draft()
    api.post("/api/v1/requests/", data=json.dumps(body), content_type="application/json",
             headers={"Idempotency-Key": "k1"})
    respaced = json.dumps(dict(reversed(list(body.items()))), indent=2)

    retry = api.post("/api/v1/requests/", data=respaced, content_type="application/json",
                     headers={"Idempotency-Key": "k1"})

    assert retry.status_code == 201 and PreservationRequest.objects.for_agency(user.agency).count() == 1


def test_the_same_key_with_a_different_body_is_refused(api, user):
    post_json(api, "/api/v1/requests/", complete_draft(), **{"Idempotency-Key": "rms-4711"})

    response = post_json(api, "/api/v1/requests/", complete_draft(unit="Other"), **{"Idempotency-Key": "rms-4711"})

    assert_error(response, 422, "idempotency_key_reused")
    assert PreservationRequest.objects.for_agency(user.agency).count() == 1


def test_a_refused_create_does_not_use_up_its_key(api, user):
    bad = post_json(api, "/api/v1/requests/", complete_draft(window_end="2026-02-19T10:00"),
                    **{"Idempotency-Key": "k2"})
    fixed = post_json(api, "/api/v1/requests/", complete_draft(), **{"Idempotency-Key": "k2"})

    assert bad.status_code == 400 and fixed.status_code == 201
    assert IdempotencyKey.objects.filter(user=user).count() == 1


def test_keys_belong_to_their_user_and_creates_without_a_key_are_not_deduplicated(api, user):
    colleague = token_client(UserFactory(agency=user.agency))
    mine = post_json(api, "/api/v1/requests/", complete_draft(), **{"Idempotency-Key": "same"})
    theirs = post_json(colleague, "/api/v1/requests/", complete_draft(), **{"Idempotency-Key": "same"})
    post_json(api, "/api/v1/requests/", complete_draft())
    post_json(api, "/api/v1/requests/", complete_draft())

    assert mine.json()["id"] != theirs.json()["id"]
    assert PreservationRequest.objects.for_agency(user.agency).count() == 4


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "clé"])
def test_a_malformed_key_is_a_400_naming_the_header(api, key):
    response = api.post("/api/v1/requests/", data=json.dumps(complete_draft()), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=key)

    body = assert_error(response, 400, "invalid")
    assert [e["code"] for e in body["fields"]["Idempotency-Key"]] == ["invalid_idempotency_key"]


# --- Representations ---------------------------------------------------------------------------


def test_the_window_also_comes_in_its_own_zone_with_the_offset(api):
    body = post_json(api, "/api/v1/requests/", complete_draft()).json()

    assert body["window_start"] == "2026-02-20T15:00:00Z"
    assert body["window_start_local"] == "2026-02-20T10:00:00-05:00"
    assert body["window_end_local"] == "2026-02-20T12:00:00-05:00"


def test_an_empty_window_is_null_in_its_zone_too(api):
    body = post_json(api, "/api/v1/requests/", {"unit": "Burglary"}).json()

    assert body["window_start_local"] is None and body["window_end_local"] is None


@pytest.fixture
def approval_agency(agency):
    agency.requires_supervisor_approval = True
    agency.save()
    return agency


def test_a_draft_awaiting_approval_says_so_and_who_may_do_what(approval_agency):
    requester = UserFactory(agency=approval_agency, role=Role.REQUESTER)
    supervisor = UserFactory(agency=approval_agency, role=Role.SUPERVISOR)
    draft = post_json(token_client(requester), "/api/v1/requests/", complete_draft()).json()

    as_requester = token_client(requester).get(url(draft["id"])).json()
    as_supervisor = token_client(supervisor).get(url(draft["id"])).json()

    assert as_requester["approval"] == {"required": True, "approved": False, "approved_by": None, "approved_at": None}
    assert "approve" in as_requester["allowed_actions"]
    assert as_requester["caller_actions"] == ["withdraw"]  # no send before approval, no approving one's own
    assert as_supervisor["caller_actions"] == ["approve", "withdraw"]


def test_once_approved_the_requester_may_send_and_nobody_approves_again(approval_agency):
    requester = UserFactory(agency=approval_agency, role=Role.REQUESTER)
    supervisor = UserFactory(agency=approval_agency, role=Role.SUPERVISOR)
    draft = post_json(token_client(requester), "/api/v1/requests/", complete_draft()).json()

    approved = token_client(supervisor).post(url(draft["id"], "approve")).json()
    as_requester = token_client(requester).get(url(draft["id"])).json()

    assert approved["approval"] == {"required": True, "approved": True, "approved_by": supervisor.username,
                                    "approved_at": "2026-03-02T17:00:00Z"}
    assert approved["caller_actions"] == ["send", "withdraw"]  # approved: nothing left to approve
    assert as_requester["caller_actions"] == ["send", "withdraw"]


def test_an_edit_after_approval_voids_it_in_the_representation(approval_agency, frozen_time):
    requester = UserFactory(agency=approval_agency, role=Role.REQUESTER)
    supervisor = UserFactory(agency=approval_agency, role=Role.SUPERVISOR)
    client = token_client(requester)
    draft = post_json(client, "/api/v1/requests/", complete_draft()).json()
    frozen_time.shift(60)
    token_client(supervisor).post(url(draft["id"], "approve"))
    frozen_time.shift(60)

    edited = client.patch(url(draft["id"]), data={"unit": "Robbery"}, format="json").json()

    assert edited["approval"]["approved"] is False and "send" not in edited["caller_actions"]
    assert RequestApproval.objects.filter(request__agency=approval_agency).count() == 1


def test_a_colleague_without_rights_on_the_request_may_do_nothing(agency, user):
    other = UserFactory(agency=agency, role=Role.REQUESTER)
    draft = RequestFactory(agency=agency, created_by=user)

    body = token_client(other).get(url(draft)).json()

    assert body["caller_actions"] == [] and body["allowed_actions"] == ["send", "withdraw", "approve"]


def test_serial_problems_name_the_serial_by_index_and_value(api):
    serials = [{"raw": "G8T1-SJ02-3294-01VR"}, {"raw": "not a serial"}, {"raw": "g8t1sj02329401vr"}]
    draft = post_json(api, "/api/v1/requests/", complete_draft(serials=serials)).json()

    problems = draft["sending_problems"]["serials"]
    refused = api.post(url(draft["id"], "send"), format="json")

    assert [(p["index"], p["value"]) for p in problems] == [(1, "not a serial"), (2, "g8t1sj02329401vr")]
    assert [p["code"] for p in problems][1] == "duplicate_serial"
    assert [(p["index"], p["value"]) for p in refused.json()["fields"]["serials"]] == [
        (1, "not a serial"), (2, "g8t1sj02329401vr")]


def test_problems_not_about_one_serial_have_a_null_index(api):
    draft = post_json(api, "/api/v1/requests/", {"unit": "Burglary"}).json()

    problems = [p for found in draft["sending_problems"].values() for p in found]
    assert problems and all(p["index"] is None and p["value"] is None for p in problems)


def test_sending_problems_are_null_in_lists_and_empty_once_sent(api, user):
    draft = post_json(api, "/api/v1/requests/", complete_draft()).json()
    listed = api.get("/api/v1/requests/").json()["results"][0]

    sent = api.post(url(draft["id"], "send"), format="json").json()

    assert draft["sending_problems"] == {} and listed["sending_problems"] is None
    assert sent["sending_problems"] == {}


def test_the_model_hint_is_kept_apart_from_the_model_entered(api):
    serials = [{"raw": "G8T1-SJ02-3294-01VR"}, {"raw": "G8T1-SJ02-3294-01VS", "model": "mini"}]

    first, second = post_json(api, "/api/v1/requests/", complete_draft(serials=serials)).json()["serials"]

    assert (first["model"], first["model_entered"], first["model_from_hint"]) == ("doorbell", "", True)
    assert first["reading"]["model_hint"] == "doorbell"
    assert (second["model"], second["model_entered"], second["model_from_hint"]) == ("mini", "mini", False)


@pytest.mark.parametrize(("accept", "content_type"), [
    ("application/octet-stream", "application/octet-stream"),
    ("application/pdf, application/octet-stream", "application/pdf"),
    ("*/*", "application/pdf"),
    ("", "application/pdf"),
])
def test_the_pdf_comes_as_octet_stream_only_when_asked_for_that(api, user, make_request, accept, content_type):
    from preservation.documents import services as documents

    document = documents.document_generate(preservation_request=make_request(), kind="case_sheet", actor=user)

    response = api.get("/api/v1/documents/%d/download/" % document.pk, HTTP_ACCEPT=accept)

    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert response.content.startswith(b"%PDF")


def _queries_to_list(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/requests/").status_code == 200
    return len(queries)


def test_a_supervisor_s_page_of_drafts_costs_the_same_queries_however_many_rows(approval_agency):
    supervisor = UserFactory(agency=approval_agency, role=Role.SUPERVISOR)
    requester = UserFactory(agency=approval_agency, role=Role.REQUESTER)
    client = token_client(supervisor)
    client.get("/api/v1/me/")  # the token's first use of the minute is recorded: not part of the count
    for _ in range(2):
        post_json(token_client(requester), "/api/v1/requests/", complete_draft())
    few = _queries_to_list(client)
    for _ in range(4):
        post_json(token_client(requester), "/api/v1/requests/", complete_draft())

    many = _queries_to_list(client)

    assert many == few
    assert all(row["caller_actions"] == ["approve", "withdraw"]
               for row in client.get("/api/v1/requests/").json()["results"])


@pytest.mark.django_db(transaction=True)
def test_a_create_racing_another_with_the_same_key_returns_the_winner_s_request(user):
    """The other call commits its key between this call's look-up and its insert: the key's
    unique constraint refuses this call's insert, its draft is rolled back, and it answers
    with the other call's request."""
    import threading

    from django.db import connection

    from preservation.api import idempotency

    winner = RequestFactory(agency=user.agency, created_by=user)
    fingerprint = idempotency.fingerprint("/api/v1/requests/", {"unit": "x"})

    def other_call_commits_first():
        def commit():
            IdempotencyKey.objects.create(user=user, key="race", fingerprint=fingerprint, request=winner,
                                          created_at=NOW)
            connection.close()
        thread = threading.Thread(target=commit)
        thread.start()
        thread.join()
        return RequestFactory(agency=user.agency, created_by=user)

    obj, replayed = idempotency.create_once(user=user, key="race", fingerprint=fingerprint,
                                            create=other_call_commits_first)

    assert (obj.pk, replayed) == (winner.pk, True)
    assert PreservationRequest.objects.for_agency(user.agency).count() == 1
