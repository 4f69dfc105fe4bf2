"""Bounded work (docs/security.md "Bounded work"): document renders are limited per document,
per user and per agency and run in a bounded pool; long text fields have a length cap in the
model, the forms and the API; request bodies over the limit are refused before they are read."""
import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from preservation.documents import services as documents
from preservation.api.tokens import api_token_create
from preservation.requests.forms import CloseForm, RequestForm, WithdrawForm
from preservation.accounts.forms import AgencySettingsForm
from preservation.models import (
    Agency, DocumentKind, DocumentState, GeneratedDocument, LoginBanner, PreservationRequest, Role, TEXT_LIMITS,
)
from tests.factories import UserFactory
from tests.helpers import login
from tests.test_documents import full_request


@pytest.fixture
def officer(user):
    return user


def queue(request, actor, kind=DocumentKind.CASE_SHEET):
    return documents.document_request(preservation_request=request, kind=kind, actor=actor)


# --- Renders ------------------------------------------------------------------------------------


def test_twenty_clicks_on_one_document_queue_one_render(officer):
    request = full_request(officer)
    rows = {queue(request, officer).pk for _n in range(20)}
    assert len(rows) == 1
    assert GeneratedDocument.objects.filter(request=request).count() == 1


def test_a_stale_pending_render_does_not_block_a_new_one(officer):
    request = full_request(officer)
    first = queue(request, officer)
    GeneratedDocument.objects.across_agencies().filter(pk=first.pk).update(requested_at=timezone.now() - dt.timedelta(hours=1))
    second = queue(request, officer)
    assert second.pk != first.pk
    first.refresh_from_db()
    assert (first.state, first.error) == (DocumentState.FAILED, "interrupted")


def test_one_user_may_have_only_a_few_renders_pending(officer, settings):
    limit = settings.PRESERVE_PDF["MAX_PENDING_PER_USER"]
    requests = [full_request(officer, case_number="CR-%d" % n) for n in range(limit + 1)]
    for request in requests[:limit]:
        queue(request, officer)
    with pytest.raises(ValidationError) as refused:
        queue(requests[-1], officer)
    assert refused.value.code == "too_many_renders"


def test_an_agency_may_have_only_a_bounded_number_of_renders_pending(officer, settings):
    settings.PRESERVE_PDF = {**settings.PRESERVE_PDF, "MAX_PENDING_PER_USER": 1, "MAX_PENDING_PER_AGENCY": 2}
    colleagues = [officer] + [UserFactory(agency=officer.agency) for _n in range(2)]
    for colleague in colleagues[:2]:
        queue(full_request(colleague), colleague)
    with pytest.raises(ValidationError) as refused:
        queue(full_request(colleagues[2]), colleagues[2])
    assert refused.value.code == "too_many_renders"
    stranger = UserFactory(agency=Agency.objects.create(name="Other", country="US"))
    assert queue(full_request(stranger), stranger).is_pending  # another agency's limit is its own


def test_the_web_page_shows_the_limit_and_the_api_answers_429(client, officer, settings):
    settings.PRESERVE_PDF = {**settings.PRESERVE_PDF, "MAX_PENDING_PER_USER": 1}
    queue(full_request(officer, case_number="CR-1"), officer)
    second = full_request(officer, case_number="CR-2")
    login(client, officer)
    response = client.post(reverse("preservation:document_generate", args=[second.public_id, "case_sheet"]), follow=True)
    assert "documents are being generated" in response.content.decode()
    _token, plain = api_token_create(user=officer, name="cms")
    response = Client().post("/api/v1/requests/%s/documents/" % second.public_id, {"kind": "case_sheet"},
                             content_type="application/json", HTTP_AUTHORIZATION="Bearer " + plain)
    assert response.status_code == 429 and response.json()["code"] == "too_many_renders"


def test_in_process_renders_run_in_a_bounded_pool(settings):
    from preservation.jobs import queue

    pool = queue._embedded_pool()
    assert pool._max_workers == settings.PRESERVE_JOBS["EMBEDDED_WORKERS"] and queue._embedded_pool() is pool


# --- Long text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model, field", [
    (PreservationRequest, "notes"), (Agency, "legal_basis"), (Agency, "postal_address"), (LoginBanner, "text"),
])
def test_long_text_fields_have_a_cap_in_the_model(model, field):
    assert model._meta.get_field(field).max_length == TEXT_LIMITS[field]


def test_the_request_form_refuses_notes_over_the_cap(officer):
    form = RequestForm(data={"notes": "x" * (TEXT_LIMITS["notes"] + 1)}, agency=officer.agency)
    form.is_valid()
    assert "notes" in form.errors


def test_the_agency_settings_form_refuses_a_legal_basis_over_the_cap(agency):
    form = AgencySettingsForm(data={"name": "A", "time_zone": "UTC", "legal_basis": "x" * 6000}, instance=agency)
    assert not form.is_valid() and "legal_basis" in form.errors


@pytest.mark.parametrize("form_class", [CloseForm, WithdrawForm])
def test_reasons_have_a_cap(form_class):
    field = form_class.base_fields["reason"]
    assert field.max_length == TEXT_LIMITS["reason"]


def test_the_api_refuses_notes_over_the_cap(officer):
    _token, plain = api_token_create(user=officer, name="cms")
    response = Client().post("/api/v1/requests/", json.dumps({"notes": "x" * (TEXT_LIMITS["notes"] + 1)}),
                             content_type="application/json", HTTP_AUTHORIZATION="Bearer " + plain)
    assert response.status_code == 400 and "notes" in response.json()["fields"]


# --- Request size -------------------------------------------------------------------------------


class _Unreadable:
    """A body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def _post(path, length, content_type="multipart/form-data; boundary=x"):
    from django.test.client import RequestFactory

    from config.wsgi import application

    environ = RequestFactory().post(path).environ
    environ.update({"CONTENT_LENGTH": str(length), "CONTENT_TYPE": content_type, "wsgi.input": _Unreadable()})
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response))
    return int(captured["status"].split()[0]), captured["headers"], body


def test_a_150_mb_post_to_the_login_page_is_refused_before_it_is_read(db):
    status, _headers, body = _post(reverse("login"), 150 * 1024 * 1024)
    assert status == 413


def test_an_api_body_over_the_limit_is_refused_in_the_api_error_format(db):
    status, headers, body = _post("/api/v1/requests/", 5 * 1024 * 1024, content_type="application/json")
    assert status == 413 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["code"] == "too_large" and json.loads(body)["fields"] == {}


def test_the_logo_upload_has_its_own_larger_limit(settings):
    from preservation.core.middleware import body_limit

    assert body_limit("/agency/letterhead/") > body_limit("/accounts/login/")
    assert body_limit("/accounts/login/") == settings.REQUEST_BODY_LIMITS["default"]


def test_django_keeps_at_most_a_small_body_in_memory(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 1024 * 1024
