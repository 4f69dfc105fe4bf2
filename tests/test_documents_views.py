"""The documents panel, generation with progress, download, and the letterhead logo upload."""
import base64
import hashlib
import io

import pytest
from django.urls import reverse
from PIL import Image

from preservation.models import (
    AuditRecord,
    DocumentKind,
    DocumentState,
    GeneratedDocument,
    RequestEvent,
    Role,
)
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login
from tests.test_documents import full_request


@pytest.fixture
def officer(db):
    return UserFactory(agency=AgencyFactory(name="Springfield Police Department"))


@pytest.fixture
def client_in(client, officer):
    return login(client, officer)


def generate_url(request, kind):
    return reverse("preservation:document_generate", args=[request.public_id, kind])


def test_generating_queues_the_document_and_renders_it_after_commit(client_in, officer, django_capture_on_commit_callbacks):
    request = full_request(officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(generate_url(request, DocumentKind.CASE_SHEET))
    assert response.status_code == 302 and response["Location"].endswith("#documents")
    document = GeneratedDocument.objects.get(request=request)
    assert (document.state, document.version, document.requested_by) == (DocumentState.DONE, 1, officer)
    page = client_in.get(reverse("preservation:request_detail", args=[request.public_id]))
    assert document.sha256 in page.content.decode()


def test_the_status_endpoint_reports_progress_while_rendering(client_in, officer):
    request = full_request(officer)
    from django.utils import timezone

    document = GeneratedDocument.objects.create(request=request, kind=DocumentKind.REQUEST, language="en",
                                                requested_by=officer, requested_at=timezone.now())
    request.documents.filter(pk=document.pk).update(state=DocumentState.RENDERING, progress=38)
    status = client_in.get(reverse("preservation:document_status", args=[document.public_id])).json()
    assert (status["state"], status["progress"], status["finished"]) == ("rendering", 38, False)
    assert 'value="38"' in status["row_html"] and "Generating… 38%" in status["row_html"]


def test_a_stale_document_shows_as_interrupted(client_in, officer):
    import datetime as dt

    from django.utils import timezone

    document = GeneratedDocument.objects.create(
        request=full_request(officer), kind=DocumentKind.REQUEST, language="en", requested_by=officer,
        requested_at=timezone.now() - dt.timedelta(hours=1))
    status = client_in.get(reverse("preservation:document_status", args=[document.public_id])).json()
    assert "Interrupted" in status["row_html"] and "data-document-pending" not in status["row_html"]


def test_generating_is_a_post_only_action(client_in, officer):
    assert client_in.get(generate_url(full_request(officer), DocumentKind.REQUEST)).status_code == 405


def test_an_incomplete_draft_shows_why_it_cannot_be_printed(client_in, officer):
    request = full_request(officer, requester_email="")
    response = client_in.post(generate_url(request, DocumentKind.REQUEST), follow=True)
    assert "Complete the request before printing it" in response.content.decode()
    assert not GeneratedDocument.objects.filter(request=request).exists()


def test_the_download_is_the_stored_bytes_and_is_recorded(client_in, officer, django_capture_on_commit_callbacks):
    request = full_request(officer)
    with django_capture_on_commit_callbacks(execute=True):
        client_in.post(generate_url(request, DocumentKind.REQUEST))
    document = GeneratedDocument.objects.get(request=request)
    response = client_in.get(reverse("preservation:document_download", args=[document.public_id]))
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == document.sha256
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="%s"' % document.filename
    assert "no-store" in response["Cache-Control"]
    assert response["Repr-Digest"] == "sha-256=:%s:" % base64.b64encode(bytes.fromhex(document.sha256)).decode()
    event = request.events.get(action=RequestEvent.Action.DOCUMENT_DOWNLOADED)
    assert (event.actor, event.data["version"]) == (officer, 1)
    assert AuditRecord.objects.across_agencies().filter(action="document_downloaded", actor=officer).count() == 1


@pytest.mark.parametrize("name", ["document_status", "document_download"])
def test_another_agencys_document_is_not_found(client, officer, name, django_capture_on_commit_callbacks):
    from preservation.documents import services as documents

    document = documents.document_generate(preservation_request=full_request(officer), kind=DocumentKind.CASE_SHEET, actor=officer)
    stranger = UserFactory(agency=AgencyFactory())
    assert login(client, stranger).get(reverse("preservation:" + name, args=[document.public_id])).status_code == 404


def test_another_agencys_request_cannot_get_a_document(client, officer):
    request = full_request(officer)
    stranger = UserFactory(agency=AgencyFactory())
    assert login(client, stranger).post(generate_url(request, DocumentKind.CASE_SHEET)).status_code == 404
    assert not GeneratedDocument.objects.filter(request=request).exists()


def png(size=(300, 120), color=(31, 59, 92, 255), fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGBA" if fmt == "PNG" else "RGB", size, color[: 4 if fmt == "PNG" else 3]).save(out, format=fmt)
    out.seek(0)
    out.name = "logo." + fmt.lower()
    return out


@pytest.fixture
def admin_client(client, officer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = UserFactory(agency=officer.agency, role=Role.AGENCY_ADMIN)
    return login(client, admin)


def test_an_agency_admin_uploads_a_logo_that_is_printed_on_documents(admin_client, officer):
    from preservation.documents import services as documents

    url = reverse("preservation:agency_branding")
    response = admin_client.post(url, {"logo": png(fmt="JPEG")})
    assert response.status_code == 302
    branding = officer.agency.branding
    assert branding.logo.name.startswith("branding/") and branding.logo.name.endswith(".png")
    with branding.logo.open("rb") as stored:
        assert Image.open(stored).format == "PNG"  # re-encoded, never the uploaded bytes
    assert "data:image/png;base64," in admin_client.get(url).content.decode()
    document = documents.document_generate(preservation_request=full_request(officer), kind=DocumentKind.REQUEST, actor=officer)
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(bytes(document.content))).pages[0].images) == 1


@pytest.mark.parametrize("upload, message", [
    (io.BytesIO(b"GIF89a not really"), "not a PNG or JPEG image"),
    (io.BytesIO(b"%PDF-1.7 hello"), "not a PNG or JPEG image"),
])
def test_a_file_that_is_not_an_image_is_refused_with_a_message(admin_client, upload, message):
    upload.name = "logo.png"
    response = admin_client.post(reverse("preservation:agency_branding"), {"logo": upload})
    assert response.status_code == 400 and message in response.content.decode()


def test_a_logo_over_the_size_limit_is_refused(admin_client, settings):
    settings.PRESERVE_PDF = {**settings.PRESERVE_PDF, "LOGO_MAX_BYTES": 100}
    response = admin_client.post(reverse("preservation:agency_branding"), {"logo": png()})
    assert response.status_code == 400 and "the largest logo accepted is 100" in response.content.decode()


def test_only_an_agency_admin_may_change_the_logo(client_in):
    assert client_in.get(reverse("preservation:agency_branding")).status_code == 403


def test_the_request_page_lists_the_documents_and_says_why_one_cannot_be_made_yet(client_in, officer):
    request = full_request(officer)
    page = client_in.get(reverse("preservation:request_detail", args=[request.public_id])).content.decode()
    assert "No document has been generated for this request yet." in page
    assert "An extension request needs Blink&#x27;s receipt of the request" in page
    assert 'disabled aria-describedby="document-why-extension"' in page
    assert reverse("preservation:agency_branding") not in page  # not an agency admin


def test_an_agency_admin_finds_the_letterhead_page_from_the_request_page(admin_client, officer):
    page = admin_client.get(reverse("preservation:request_detail", args=[full_request(officer).public_id]))
    assert reverse("preservation:agency_branding") in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_embedded_job_pool_renders_the_document_after_commit(client, settings):
    from preservation.jobs import queue

    settings.REDIS_URL, settings.CELERY_TASK_ALWAYS_EAGER = "", False
    officer = UserFactory(agency=AgencyFactory())
    request = full_request(officer)
    login(client, officer).post(generate_url(request, DocumentKind.CASE_SHEET))
    pool, queue._pool = queue._embedded_pool(), None
    pool.shutdown(wait=True)  # every job it was handed has finished
    document = GeneratedDocument.objects.get(request=request)
    assert (document.state, document.version) == (DocumentState.DONE, 1)


def test_the_request_page_lists_its_documents_without_reading_the_request_again(client_in, officer):
    """Each listed document's request is the page's own (the related manager hands it over):
    the documents' query used to join the request's every column once more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    request = full_request(officer)
    for kind in (DocumentKind.REQUEST, DocumentKind.CASE_SHEET):
        GeneratedDocument.objects.create(request=request, kind=kind, language="en",
                                         requested_by=officer, requested_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        page = client_in.get(reverse("preservation:request_detail", args=[request.public_id]))
    assert page.status_code == 200
    listing = [q["sql"] for q in queries.captured_queries if 'FROM "preservation_generateddocument"' in q["sql"]]
    assert listing and not any('"preservation_preservationrequest"' in sql for sql in listing)
    # The rows still link to this request's page and show its times.
    assert page.content.decode().count(reverse("preservation:request_detail", args=[request.public_id])) >= 2
