"""The platform administrator's admin: case data is read-only there (every change goes through
the services), every agency's rows are listed with the tenancy guard on, the stored PDF and CSV
bytes are never read into a page, and what the platform admin reads is audited."""
import datetime as dt
import hashlib
from dataclasses import dataclass

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.utils import label_for_field
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.functional import Promise

from preservation import admin as preservation_admin
from preservation.models import (
    AuditRecord, DeliveryState, DigestDelivery, DocumentState, EvidenceFile, EvidenceManifest,
    GeneratedDocument, Notification, Reminder, ReminderKind, Role, User,
)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 2, 15)
FILES = preservation_admin.FILES_SHOWN + 5


@dataclass
class Rows:
    """One row of every model the admin shows, all of one agency, and the stored PDF and CSV
    contents of its document and manifest."""

    request: object
    reminder: object
    notification: object
    digest: object
    document: object
    manifest: object
    evidence_file: object
    stored_bytes: tuple


def make_rows(name, files):
    agency = AgencyFactory(name="Agency %s" % name)
    user = UserFactory(agency=agency, role=Role.PARALEGAL, username="paralegal-%s" % name)
    request = RequestFactory(agency=agency, created_by=user, case_number="CR-%s" % name)
    reminder = Reminder.objects.create(
        request=request, kind=ReminderKind.EXTENSION_DUE, lead_days=7, day=dt.date(2026, 3, 22),
        due_at=utc(2026, 3, 22, 12), deadline_on=dt.date(2026, 3, 29), state=DeliveryState.FAILED,
        attempts=5, last_error="SMTP 451 greylisted at mx-%s" % name,
    )
    pdf, csv, pdf_manifest = (b"%%PDF-1.7 %s-%s" % (kind, name.encode()) for kind in (b"DOC", b"CSV", b"MAN"))
    document = GeneratedDocument.objects.create(
        request=request, kind="request", language="en", requested_by=user, requested_at=NOW,
        state=DocumentState.DONE, version=1, content=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf), pages=1, generated_at=NOW,
    )
    manifest = EvidenceManifest.objects.create(
        request=request, created_at=NOW, created_by=user, actor_label=user.username, indexed_at=NOW,
        source_path="/media/usb-%s" % name, zone="UTC", summary={"files": files}, csv_content=csv,
        csv_sha256=hashlib.sha256(csv).hexdigest(), pdf_content=pdf_manifest,
        pdf_sha256=hashlib.sha256(pdf_manifest).hexdigest(),
    )
    files = EvidenceFile.objects.bulk_create(
        EvidenceFile(manifest=manifest, position=i, path="clip-%s-%03d.mp4" % (name, i), kind="clip")
        for i in range(files)
    )
    return Rows(
        request=request, reminder=reminder, document=document, manifest=manifest, evidence_file=files[0],
        stored_bytes=tuple(content.decode() for content in (pdf, csv, pdf_manifest)),
        notification=Notification.objects.create(user=user, reminder=reminder, created_at=NOW),
        digest=DigestDelivery.objects.create(user=user, day=dt.date(2026, 3, 2), items=3,
                                             state=DeliveryState.FAILED, last_error="digest-%s" % name),
    )


@pytest.fixture
def ours():
    return make_rows("ours", FILES)


@pytest.fixture
def theirs():
    return make_rows("theirs", 2)  # listed first (the newer manifest), with ours on the same page


@pytest.fixture
def platform_admin(client):
    root = User.objects.create_superuser("root", "root@example.com", "a long enough password")
    return login(client, root)


# model name, the row of Rows it shows, a text of that row the page shows
SHOWN = [
    ("preservationrequest", "request", lambda rows: rows.request.case_number),
    ("reminder", "reminder", lambda rows: rows.reminder.last_error),
    ("notification", "notification", lambda rows: rows.notification.user.username),
    ("digestdelivery", "digest", lambda rows: rows.digest.last_error),
    ("generateddocument", "document", lambda rows: rows.document.sha256),
    ("evidencemanifest", "manifest", lambda rows: rows.manifest.csv_sha256),
    ("evidencefile", "evidence_file", lambda rows: rows.evidence_file.path),
]
MODELS = [model for model, _row, _text in SHOWN]
CASE_DATA = [model for model in MODELS if model != "digestdelivery"]
REQUEST_OF = {
    "preservationrequest": lambda obj: obj.pk,
    "reminder": lambda obj: obj.request_id,
    "notification": lambda obj: obj.reminder.request_id,
    "generateddocument": lambda obj: obj.request_id,
    "evidencemanifest": lambda obj: obj.request_id,
    "evidencefile": lambda obj: obj.manifest.request_id,
}


def url(model, view, *args):
    return reverse("admin:preservation_%s_%s" % (model, view), args=args)


@pytest.mark.parametrize("model, row, text", SHOWN, ids=MODELS)
def test_the_platform_admin_lists_every_agencys_rows(platform_admin, ours, theirs, model, row, text):
    response = platform_admin.get(url(model, "changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert text(ours) in body and text(theirs) in body
    shown = getattr(ours, row)
    assert response.context["cl"].result_count == type(shown)._base_manager.count() >= 2


@pytest.mark.parametrize("model, row, text", SHOWN, ids=MODELS)
def test_the_platform_admin_opens_every_agencys_rows_read_only(platform_admin, ours, theirs, model, row, text):
    for rows in (ours, theirs):
        response = platform_admin.get(url(model, "change", getattr(rows, row).pk))
        assert response.status_code == 200
        assert text(rows) in response.content.decode()
        assert response.context["has_change_permission"] is False
        assert b'name="_save"' not in response.content and b"deletelink" not in response.content


@pytest.mark.parametrize("model, row, text", SHOWN, ids=MODELS)
def test_nothing_can_be_added_changed_or_deleted(platform_admin, ours, model, row, text):
    obj = getattr(ours, row)
    before = type(obj)._base_manager.filter(pk=obj.pk).values().get()
    change = {"case_number": "CR-EDITED", "state": "closed", "last_error": "", "read_at": "2026-03-03"}
    assert platform_admin.get(url(model, "add")).status_code == 403
    assert platform_admin.post(url(model, "add"), change).status_code == 403
    assert platform_admin.post(url(model, "change", obj.pk), change).status_code == 403
    assert platform_admin.get(url(model, "delete", obj.pk)).status_code == 403
    assert platform_admin.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    # No bulk action either ("delete selected" is not offered, and a forged one does nothing).
    response = platform_admin.post(url(model, "changelist"),
                                   {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert response.status_code == 200 and not response.context["action_form"]
    assert type(obj)._base_manager.filter(pk=obj.pk).values().get() == before


def test_a_request_posted_to_the_admin_keeps_its_fields_and_serials(platform_admin, ours):
    request = ours.request
    serial = request.serials.get()
    form = {"serials-TOTAL_FORMS": "1", "serials-INITIAL_FORMS": "1", "serials-0-id": serial.pk,
            "serials-0-request": request.pk, "serials-0-raw": "638241420", "serials-0-DELETE": "on",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "case_number": "CR-EDITED"}
    assert platform_admin.post(url("preservationrequest", "change", request.pk), form).status_code == 403
    assert list(request.serials.values_list("raw", flat=True)) == [serial.raw]
    request.refresh_from_db()
    assert request.case_number == "CR-ours"


@pytest.mark.parametrize("model, row", [("generateddocument", "document"), ("evidencemanifest", "manifest"),
                                        ("evidencefile", "evidence_file")])
def test_the_stored_pdf_and_csv_bytes_are_never_read_into_a_page(platform_admin, ours, theirs, model, row):
    columns = ('"content"', '"csv_content"', '"pdf_content"')
    for page in (url(model, "changelist"), url(model, "change", getattr(ours, row).pk)):
        with CaptureQueriesContext(connection) as queries:
            response = platform_admin.get(page)
        assert response.status_code == 200
        body = response.content.decode()
        assert [text for rows in (ours, theirs) for text in rows.stored_bytes if text in body] == []
        read = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        assert [sql for sql in read if any(c in sql for c in columns)] == []


def test_a_manifest_page_shows_the_first_files_and_links_to_all_of_them(platform_admin, ours):
    response = platform_admin.get(url("evidencemanifest", "change", ours.manifest.pk))
    inline = response.context["inline_admin_formsets"][0]
    assert len(inline.formset.forms) == preservation_admin.FILES_SHOWN
    every_file = "%s?manifest__exact=%d" % (url("evidencefile", "changelist"), ours.manifest.pk)
    assert every_file in response.content.decode()
    listed = platform_admin.get(every_file)
    assert listed.context["cl"].result_count == FILES
    assert len(listed.context["cl"].result_list) == preservation_admin.FILES_SHOWN


@pytest.mark.parametrize("model", CASE_DATA)
@pytest.mark.parametrize("term", ["reference", "case_number"])
def test_case_data_is_found_by_its_requests_reference_or_crim_number(platform_admin, ours, theirs, model, term):
    wanted = ours.request.reference.lower() if term == "reference" else ours.request.case_number
    response = platform_admin.get(url(model, "changelist"), {"q": wanted})
    found = response.context["cl"].queryset
    assert {REQUEST_OF[model](obj) for obj in found} == {ours.request.pk}


def test_a_search_keeps_the_filters_it_is_combined_with(platform_admin, ours, theirs):
    for q in (ours.request.reference, "g8t1-sj02-3294-01vr"):
        response = platform_admin.get(url("preservationrequest", "changelist"),
                                      {"q": q, "agency__id__exact": theirs.request.agency_id})
        assert [r.pk for r in response.context["cl"].queryset] == (
            [] if q == ours.request.reference else [theirs.request.pk])


@pytest.mark.parametrize("model, state, none_in", [("reminder", "failed", "sending"),
                                                   ("digestdelivery", "failed", "sending"),
                                                   ("generateddocument", "done", "rendering")])
def test_rows_are_filtered_by_state_and_agency(platform_admin, ours, theirs, model, state, none_in):
    agency = "request__agency__id__exact" if model != "digestdelivery" else "user__agency__id__exact"
    response = platform_admin.get(url(model, "changelist"),
                                  {"state__exact": state, agency: ours.request.agency_id})
    assert response.status_code == 200 and response.context["cl"].result_count == 1
    other = platform_admin.get(url(model, "changelist"), {"state__exact": none_in})
    assert other.context["cl"].result_count == 0


def test_the_platform_admins_view_of_a_request_is_audited(platform_admin, ours):
    before = AuditRecord.objects.across_agencies().count()
    platform_admin.get(url("preservationrequest", "change", ours.request.pk))
    record = AuditRecord.objects.across_agencies().get(object_type__startswith="admin:")
    assert AuditRecord.objects.across_agencies().count() == before + 1
    assert (record.action, record.object_type, record.object_id, record.actor_label) == (
        "view", "admin:preservation_preservationrequest_change", str(ours.request.pk), "root")


@pytest.mark.parametrize("model, row, text", [case for case in SHOWN if case[0] in CASE_DATA],
                         ids=CASE_DATA)
def test_a_case_opened_in_the_admin_is_in_its_agencys_audit_log(platform_admin, ours, model, row, text):
    obj = getattr(ours, row)
    assert platform_admin.get(url(model, "change", obj.pk)).status_code == 200
    record = AuditRecord.objects.across_agencies().get(object_type="admin:preservation_%s_change" % model)
    assert record.agency_id == ours.request.agency_id  # not the platform admin's (none)
    assert AuditRecord.objects.for_agency(ours.request.agency).filter(pk=record.pk).exists()


def test_a_redirect_is_not_recorded_as_a_view(client, ours):
    login(client, UserFactory(agency=ours.request.agency))  # not staff: sent to the admin's sign-in
    assert client.get(url("preservationrequest", "change", ours.request.pk)).status_code == 302
    assert not AuditRecord.objects.across_agencies().filter(object_type__startswith="admin:").exists()


@pytest.mark.parametrize("model", CASE_DATA)
def test_every_list_of_case_data_the_platform_admin_reads_is_audited_with_its_search(platform_admin, ours, model):
    response = platform_admin.get(url(model, "changelist"), {"q": "owner@example.com", "o": "1"})
    assert response.status_code == 200
    record = AuditRecord.objects.across_agencies().get(object_type="admin:preservation_%s_changelist" % model)
    assert (record.action, record.actor_label, record.object_id) == ("view", "root", "")
    assert record.message == "o=1, q=o***@example.com"


def test_a_list_that_shows_nothing_of_a_case_is_not_audited(platform_admin, ours):
    platform_admin.get(url("digestdelivery", "changelist"))
    assert not AuditRecord.objects.across_agencies().filter(object_type__startswith="admin:").exists()


@pytest.mark.parametrize("model, row, text", SHOWN, ids=MODELS)
def test_a_user_who_is_not_staff_is_sent_away(client, ours, model, row, text):
    login(client, UserFactory(agency=ours.request.agency, role=Role.AGENCY_ADMIN))
    for page in (url(model, "changelist"), url(model, "change", getattr(ours, row).pk)):
        response = client.get(page)
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
        assert text(ours) not in response.content.decode()


def test_staff_without_permissions_is_refused(client, ours):
    login(client, UserFactory(agency=None, is_staff=True))
    assert client.get(url("preservationrequest", "changelist")).status_code == 403
    assert client.get(url("reminder", "change", ours.reminder.pk)).status_code == 403


def _admins():
    return [(model, model_admin) for model, model_admin in django_admin.site._registry.items()
            if model._meta.model_name in MODELS]


def _labels(model, model_admin, request):
    """Every heading of the list and every label of the read-only page and its inlines."""
    for name in model_admin.list_display:
        yield name, label_for_field(name, model, model_admin)
    inlines = model_admin.get_inline_instances(request)
    for owner, form in [(model_admin, model_admin.get_form(request)),
                        *((inline, inline.get_formset(request).form) for inline in inlines)]:
        labels = form._meta.labels or {}
        for name in owner.get_fields(request):
            yield name, labels.get(name) or label_for_field(name, owner.model, owner)


def test_every_admin_label_is_marked_for_translation(rf):
    request = rf.get("/admin/")
    request.user = User.objects.create_superuser("root", "root@example.com", "a long enough password")
    untranslated = [(model.__name__, getattr(name, "__name__", name))
                    for model, model_admin in _admins() for name, label in _labels(model, model_admin, request)
                    if not isinstance(label, Promise)]
    assert len(_admins()) == len(MODELS)
    assert untranslated == []
