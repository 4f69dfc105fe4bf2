"""The requests API: representation, drafts, filters, state changes, errors, tenancy, roles."""

import pytest
import time_machine

from preservation.models import AuditRecord, PreservationRequest, RequestEvent, Role
from tests.api_support import api, fresh_throttle, token_client  # noqa: F401 (fixtures)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 2, 17, 0)  # 12:00 in New York, the agency's zone


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def complete_draft(**overrides):
    body = {
        "requester_name": "Dana Scully",
        "requester_email": "dana.scully@agency.example",
        "requester_phone": "+12025550143",
        "case_number": "CR-2026-00042",
        "data_types": ["video_clips", "subscriber"],
        "window_start": "2026-02-20T10:00",
        "window_end": "2026-02-20T12:00",
        "window_zone": "America/New_York",
        "account_country": "US",
        "serials": [{"raw": "g8t1 sj02 3294 01vr"}],
    }
    body.update(overrides)
    return body


def url(obj_or_id, action=""):
    public_id = getattr(obj_or_id, "public_id", obj_or_id)
    return "/api/v1/requests/%s/%s" % (public_id, action + "/" if action else "")


def field_codes(response):
    return {field: [e["code"] for e in errors] for field, errors in response.json()["fields"].items()}


# --- Drafts ------------------------------------------------------------------------------------


def test_a_draft_created_through_the_api_reads_back_with_serials_deadlines_and_urgency(api, user):
    response = api.post("/api/v1/requests/", complete_draft(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == "/api/v1/requests/%s/" % body["id"]
    assert body["state"] == "draft" and body["created_by"] == user.username
    assert body["window_start"] == "2026-02-20T15:00:00Z"  # 10:00 in New York
    serial = body["serials"][0]
    assert serial["raw"] == "g8t1 sj02 3294 01vr"
    assert serial["reading"]["display"] == "G8T1-SJ02-3294-01VR"
    assert serial["reading"]["model_hint"] == "doorbell"
    assert body["deadlines"]["first_loss_at"] == "2026-04-21T15:00:00Z"  # US: 60 days
    assert body["deadlines"]["next_deadline"]["kind"] == "first_loss"
    assert {e["code"] for e in body["deadlines"]["explanations"]} >= {"retention"}
    assert body["urgency"]["code"] == "normal" and body["urgency"]["label"] == "Normal"
    assert body["sending_problems"] == {}
    assert body["allowed_actions"] == ["send", "withdraw", "approve"]
    stored = PreservationRequest.objects.for_agency(user.agency).get(public_id=body["id"])
    assert stored.events.get().action == RequestEvent.Action.CREATED


def test_an_incomplete_draft_is_kept_and_says_what_stops_sending(api):
    response = api.post("/api/v1/requests/", {"notes": "caller will send the serial"}, format="json")

    assert response.status_code == 201
    problems = response.json()["sending_problems"]
    assert problems["requester_name"][0]["code"] == "required"
    assert problems["non_field_errors"][0]["code"] == "no_identifier"
    assert response.json()["deadlines"] is None


def test_an_invalid_serial_is_kept_in_the_draft_with_its_reading(api):
    response = api.post("/api/v1/requests/", complete_draft(serials=[{"raw": "G8T1-SJ02"}]), format="json")

    assert response.status_code == 201
    reading = response.json()["serials"][0]["reading"]
    assert reading["valid"] is False and reading["error_code"] == "wrong_length"
    assert response.json()["sending_problems"]["serials"][0]["code"] == "wrong_length"


def test_a_draft_is_updated_field_by_field_and_the_change_is_in_the_history(api, make_request):
    draft = make_request()

    response = api.patch(url(draft), {"notes": "Owner consented."}, format="json")

    assert response.status_code == 200
    assert response.json()["notes"] == "Owner consented."
    assert response.json()["serials"][0]["reading"]["display"] == "G8T1-SJ02-3294-01VR"  # untouched
    assert draft.events.filter(action=RequestEvent.Action.UPDATED, actor=draft.created_by).exists()


def test_a_sent_request_cannot_be_edited(api, make_request):
    sent = make_request()
    api.post(url(sent, "send"), {}, format="json")

    response = api.patch(url(sent), {"notes": "late change"}, format="json")

    assert response.status_code == 400
    assert field_codes(response) == {"non_field_errors": ["not_a_draft"]}


@pytest.mark.parametrize("changes, field, code", [
    ({"requester_email": "not an email"}, "requester_email", "invalid"),
    ({"window_end": "2026-02-20T09:00"}, "window_end", "end_before_start"),
    ({"window_start": "0001-01-01T00:00"}, "window_start", "out_of_range"),
    ({"window_end": "9999-12-31T23:59:59Z"}, "window_end", "out_of_range"),
    ({"window_start": "2026-02-30T10:00"}, "window_start", "invalid"),
    ({"window_zone": "Mars/Olympus"}, "window_zone", "invalid_time_zone"),
    ({"account_country": "usa"}, "account_country", "max_length"),
    ({"case_number": "CR\n42"}, "case_number", "invalid_case_number"),
    ({"case_number": "X" * 65}, "case_number", "max_length"),
    ({"data_types": ["video_clips", "dreams"]}, "data_types.1", "invalid_choice"),
    ({"auto_delete_days": 5}, "auto_delete_days", "invalid_choice"),
    ({"requester_phone": "call me"}, "requester_phone", "invalid"),
    ({"serials": [{"raw": "x" * 201}]}, "serials.0.raw", "max_length"),
    ({"serials": [{"raw": "G8T1SJ0232940 1VR", "model": "toaster"}]}, "serials.0.model", "invalid_choice"),
    ({"requester_name": "é" * 10_000}, "requester_name", "max_length"),
])
def test_bad_input_is_refused_by_field_with_a_code(api, changes, field, code):
    response = api.post("/api/v1/requests/", complete_draft(**changes), format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert code in field_codes(response)[field]


@pytest.mark.parametrize("text", ["Ωμέγα Ñandú 👮\u200d♀️", "\u202eRTL override", "Zoë\u0301 O’Brien"])
def test_any_unicode_text_is_kept_as_sent(api, text):
    response = api.post("/api/v1/requests/", {"requester_name": text, "notes": text * 100}, format="json")

    assert response.status_code == 201
    assert response.json()["requester_name"] == text and response.json()["notes"] == text * 100


def test_text_postgresql_cannot_store_is_refused_as_a_parse_error(api):
    response = api.generic("POST", "/api/v1/requests/", '{"notes": "\\ud800"}', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_body_that_is_not_json_is_refused_in_the_same_format(api):
    response = api.generic("POST", "/api/v1/requests/", "notes=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- Listing and searching ----------------------------------------------------------------------


def test_the_list_is_filtered_by_state_urgency_due_date_and_crim_number(api, make_request):
    draft = make_request(case_number="CR-1")
    sent = make_request(case_number="CR-2")
    api.post(url(sent, "send"), {}, format="json")

    def ids(query):
        response = api.get("/api/v1/requests/", query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids({}) == {str(draft.public_id), str(sent.public_id)}
    assert ids({"state": "submitted"}) == {str(sent.public_id)}
    assert ids({"state": ["draft", "submitted"]}) == {str(draft.public_id), str(sent.public_id)}
    assert ids({"case_number": "cr-1"}) == {str(draft.public_id)}
    assert ids({"urgency": "normal"}) == {str(draft.public_id), str(sent.public_id)}
    assert ids({"due_before": "2026-03-10"}) == set()
    assert ids({"due_before": "2026-04-25"}) == {str(draft.public_id)}  # the oldest clip goes ~20 April
    assert ids({"due_before": "2026-05-24"}) == {str(draft.public_id), str(sent.public_id)}  # send-by


def test_a_bad_filter_is_a_field_error_not_an_empty_list(api):
    response = api.get("/api/v1/requests/", {"state": "misplaced", "due_before": "tomorrow"})

    assert response.status_code == 400
    assert set(field_codes(response)) == {"state.0", "due_before"}


def test_lists_are_paginated(api, make_request):
    for _ in range(3):
        make_request()

    response = api.get("/api/v1/requests/", {"page_size": 2})

    assert response.json()["count"] == 3 and len(response.json()["results"]) == 2
    assert response.json()["results"][0]["sending_problems"] is None  # read the request for them
    assert api.get("/api/v1/requests/", {"page": 9}).status_code == 404


def test_search_finds_a_request_by_a_serial_typed_any_way_without_putting_it_in_the_url(api, make_request):
    wanted = make_request(serials=["G8T1-SJ02-3294-01VR"])
    make_request(serials=["123456789"])

    response = api.post("/api/v1/requests/search/", {"serial": "g8t1sj02329401vr"}, format="json")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(wanted.public_id)]


def test_search_with_something_that_is_not_a_serial_says_why(api):
    response = api.post("/api/v1/requests/search/", {"serial": "12-34"}, format="json")

    assert response.status_code == 400
    assert field_codes(response) == {"serial": ["not_a_dsn_network_id"]}


# --- The lifecycle ---------------------------------------------------------------------------------


def test_the_full_lifecycle_through_the_api(user, frozen_time):
    api = token_client(user, days=365)  # the lifecycle outlasts the default 90 days
    created = api.post("/api/v1/requests/", complete_draft(), format="json").json()
    request_url = url(created["id"])

    def act(action, body, expected_state):
        response = api.post(request_url + action + "/", body, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["state"] == expected_state
        return response.json()

    sent = act("send", {}, "submitted")
    assert sent["deadlines"]["provisional"] is True
    received = act("record-receipt", {"received_on": "2026-03-02", "blink_reference": "LE-123"}, "preserving")
    assert received["deadlines"]["expires_on"] == "2026-05-31"
    assert received["deadlines"]["extension_send_by"] == "2026-05-24"
    assert received["allowed_actions"] == ["send-extension", "record-legal-process", "withdraw"]
    frozen_time.move_to(utc(2026, 5, 20, 16, 0))
    act("send-extension", {}, "extension_requested")
    frozen_time.move_to(utc(2026, 5, 22, 16, 0))
    extended = act("record-extension-receipt", {"received_on": "2026-05-21"}, "extended")
    assert extended["deadlines"]["final_expires_on"] == "2026-08-29"
    frozen_time.move_to(utc(2026, 6, 2, 16, 0))
    served = act("record-legal-process", {"process_type": "search_warrant", "served_on": "2026-06-01"},
                 "legal_process_served")
    assert served["urgency"] is None and served["legal_process_type"] == "search_warrant"
    closed = act("close", {"outcome": "produced"}, "closed")
    assert closed["outcome"] == "produced" and closed["allowed_actions"] == []

    stored = PreservationRequest.objects.for_agency(user.agency).get(public_id=created["id"])
    assert list(stored.events.values_list("to_state", flat=True)) == [
        "draft", "submitted", "preserving", "extension_requested", "extended", "legal_process_served", "closed",
    ]
    assert set(stored.events.values_list("actor", flat=True)) == {user.pk}


def test_withdrawing_needs_a_reason(api, make_request):
    draft = make_request()

    assert field_codes(api.post(url(draft, "withdraw"), {}, format="json")) == {"reason": ["required"]}
    response = api.post(url(draft, "withdraw"), {"reason": "Duplicate of PR-000001"}, format="json")
    assert response.json()["state"] == "withdrawn" and response.json()["outcome"] == "withdrawn"


@pytest.mark.parametrize("action, body, field, code", [
    ("record-receipt", {"received_on": "2026-03-02"}, "non_field_errors", "transition_not_allowed"),
    ("close", {"outcome": "produced"}, "non_field_errors", "transition_not_allowed"),
    ("send", {"sent_at": "2026-03-03T12:00:00Z"}, "sent_at", "date_in_future"),
    ("send", {"sent_at": "1999-12-31T12:00:00Z"}, "sent_at", "out_of_range"),
    ("record-legal-process", {"process_type": "pinky_promise", "served_on": "2026-03-01"}, "process_type",
     "invalid_choice"),
])
def test_a_refused_state_change_says_why_with_a_code(api, make_request, action, body, field, code):
    draft = make_request()

    response = api.post(url(draft, action), body, format="json")

    assert response.status_code == 400
    assert code in field_codes(response)[field]
    assert PreservationRequest.objects.for_agency(draft.agency).get(pk=draft.pk).state == "draft"


def test_sending_an_incomplete_draft_lists_every_problem_by_field(api):
    draft = api.post("/api/v1/requests/", {"case_number": "CR-9"}, format="json").json()

    response = api.post(url(draft["id"], "send"), {}, format="json")

    assert response.status_code == 400
    codes = field_codes(response)
    assert codes["requester_name"] == ["required"]
    assert codes["data_types"] == ["required"]
    assert codes["non_field_errors"] == ["no_identifier"]


def test_a_receipt_dated_before_sending_is_refused(api, make_request):
    draft = make_request()
    api.post(url(draft, "send"), {}, format="json")

    response = api.post(url(draft, "record-receipt"), {"received_on": "2026-02-27"}, format="json")

    assert field_codes(response) == {"received_on": ["date_too_early"]}


def test_a_second_extension_is_refused_with_its_own_code(api, make_request, frozen_time):
    draft = make_request()
    for action, body in [("send", {}), ("record-receipt", {"received_on": "2026-03-02"}), ("send-extension", {})]:
        assert api.post(url(draft, action), body, format="json").status_code == 200

    response = api.post(url(draft, "send-extension"), {}, format="json")

    assert field_codes(response) == {"non_field_errors": ["second_extension"]}


def test_reminders_of_a_request_are_listed(api, make_request):
    draft = make_request()

    response = api.get(url(draft, "reminders"))

    assert response.status_code == 200
    assert isinstance(response.json(), list)


# --- Tenancy and roles -------------------------------------------------------------------------


OBJECT_ENDPOINTS = [
    ("get", ""), ("put", ""), ("patch", ""), ("get", "reminders"), ("get", "documents"), ("post", "documents"),
    ("post", "send"), ("post", "record-receipt"), ("post", "send-extension"),
    ("post", "record-extension-receipt"), ("post", "record-legal-process"), ("post", "close"),
    ("post", "withdraw"), ("post", "approve"),
]


@pytest.mark.parametrize("method, action", OBJECT_ENDPOINTS)
def test_another_agencys_request_is_not_found_on_every_object_endpoint(api, method, action):
    theirs = UserFactory(agency=AgencyFactory())
    other = token_client(theirs).post("/api/v1/requests/", complete_draft(), format="json").json()

    response = getattr(api, method)(url(other["id"], action), complete_draft(), format="json")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}
    assert PreservationRequest.objects.for_agency(theirs.agency).get(public_id=other["id"]).state == "draft"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
def test_an_unknown_id_is_not_found(api, bad_id):
    assert api.get(url(bad_id)).status_code == 404


def test_an_unknown_api_address_answers_in_the_error_format(api):
    response = api.get("/api/v1/nothing/here/")

    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_requester_reads_a_colleagues_request_but_cannot_change_it(api, agency, make_request):
    colleague = UserFactory(agency=agency, role=Role.REQUESTER)
    theirs = make_request(created_by=colleague)

    assert api.get(url(theirs)).status_code == 200
    response = api.post(url(theirs, "send"), {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_a_paralegal_moves_any_request_of_the_agency(agency, make_request):
    paralegal = UserFactory(agency=agency, role=Role.PARALEGAL)
    draft = make_request()

    response = token_client(paralegal).post(url(draft, "send"), {}, format="json")

    assert response.status_code == 200
    assert draft.events.filter(to_state="submitted").get().actor == paralegal


def test_where_the_agency_requires_it_a_supervisor_approves_before_sending(api, agency, make_request):
    agency.requires_supervisor_approval = True
    agency.save()
    draft = make_request()

    refused = api.post(url(draft, "send"), {}, format="json")
    not_mine = api.post(url(draft, "approve"), format="json")
    approved = token_client(UserFactory(agency=agency, role=Role.SUPERVISOR)).post(url(draft, "approve"))

    assert field_codes(refused) == {"non_field_errors": ["approval_required"]}
    assert field_codes(not_mine) == {"non_field_errors": ["not_an_approver"]}
    assert approved.status_code == 200
    assert api.post(url(draft, "send"), {}, format="json").json()["state"] == "submitted"


def test_a_user_without_an_agency_has_no_requests():
    loner = UserFactory(agency=None)

    response = token_client(loner).get("/api/v1/requests/")

    assert response.status_code == 403 and response.json()["code"] == "no_agency"


def test_writes_through_the_api_are_in_the_audit_log(api, make_request):
    draft = make_request()

    api.post(url(draft, "send"), {}, format="json")

    assert AuditRecord.objects.across_agencies().filter(object_id=str(draft.public_id)).exists()


# --- Documents ---------------------------------------------------------------------------------


def test_a_document_is_ordered_through_the_api_and_queued(api, make_request):
    draft = make_request()

    response = api.post(url(draft, "documents"), {"kind": "case_sheet"}, format="json")

    assert response.status_code == 202
    assert response.json()["state"] == "queued" and response.json()["request"] == str(draft.public_id)
    listed = api.get(url(draft, "documents")).json()
    assert [d["id"] for d in listed] == [response.json()["id"]]
    assert api.get("/api/v1/documents/%d/" % response.json()["id"]).json()["kind_label"] == "Case sheet"
    not_ready = api.get("/api/v1/documents/%d/download/" % response.json()["id"])
    assert not_ready.status_code == 404 and not_ready.json()["code"] == "not_ready"


def test_a_document_that_cannot_be_made_yet_says_why(api, make_request):
    draft = make_request()

    response = api.post(url(draft, "documents"), {"kind": "extension"}, format="json")

    assert response.status_code == 400
    # documents._create raises a list of messages, which Django keeps without their code.
    assert "receipt" in response.json()["fields"]["non_field_errors"][0]["message"]


def test_a_finished_document_downloads_as_pdf_and_the_download_is_recorded(api, user, make_request):
    from preservation.documents import services as documents

    document = documents.document_generate(preservation_request=make_request(), kind="case_sheet", actor=user)

    response = api.get("/api/v1/documents/%d/download/" % document.pk, HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert document.request.events.filter(action=RequestEvent.Action.DOCUMENT_DOWNLOADED, actor=user).exists()
    assert AuditRecord.objects.across_agencies().filter(action="document_downloaded", actor=user).exists()


def test_another_agencys_document_is_not_found(api):
    from preservation.documents import services as documents

    theirs = UserFactory(agency=AgencyFactory())
    other = documents.document_request(
        preservation_request=RequestFactory(agency=theirs.agency, created_by=theirs), kind="case_sheet", actor=theirs,
    )

    for path in ("/api/v1/documents/%d/", "/api/v1/documents/%d/download/"):
        assert api.get(path % other.pk).status_code == 404
    assert api.get("/api/v1/documents/99999999999999999999999/").status_code == 404


def test_reading_a_request_through_the_api_is_audited_as_a_view(api, user, make_request):
    draft = make_request()

    api.get(url(draft))

    assert AuditRecord.objects.across_agencies().filter(action="view", actor=user, object_id=str(draft.public_id)).exists()
