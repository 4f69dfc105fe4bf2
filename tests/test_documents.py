"""Documents built from requests: content, metadata, versions, hashes, language, history."""
import datetime as dt
import hashlib
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from pypdf import PdfReader

from preservation.documents import services as documents
from preservation.models import (
    AuditRecord,
    DeliveryState,
    DocumentKind,
    DocumentState,
    GeneratedDocument,
    ImmutableDocumentError,
    Reminder,
    ReminderKind,
    RequestEvent,
)
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.pdf_support import pdf_text, save_page_images

NOW = utc(2026, 3, 20, 15, 30)
SERIALS = ["G8T1-SJ02-3294-01VR", "G8T1LPFFF4023S6S", "638241420"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agency(db):
    return AgencyFactory(
        name="Springfield Police Department", country="US", time_zone="America/Chicago",
        postal_address="100 Main Street\nSpringfield, IL 62701", phone="+12175550100",
    )


@pytest.fixture
def officer(agency):
    return UserFactory(agency=agency, first_name="Dana", last_name="Scully")


def full_request(officer, **overrides):
    fields = dict(
        agency=officer.agency, created_by=officer, requester_name="Dana Scully",
        requester_title="Detective Sergeant", requester_badge="4471-B",
        requester_email="dana.scully@springfield.example", requester_phone="+12175550143",
        unit="Burglary Unit", case_number="CR-2026-00815",
        data_types=["video_clips", "subscriber", "device_records"],
        window_start=utc(2026, 3, 1, 6, 0), window_end=utc(2026, 3, 2, 5, 59),
        window_zone="America/Chicago", account_email="owner@example.com", account_country="US",
        auto_delete_days=30, notes="Neighbour's doorbell faces the alley.",
        serials=SERIALS,
    )
    fields.update(overrides)
    return RequestFactory(**fields)


def received(request, officer, **kwargs):
    services.request_send(preservation_request=request, actor=officer, sent_at=utc(2026, 3, 3, 14), now=utc(2026, 3, 3, 14))
    services.request_record_receipt(preservation_request=request, actor=officer, received_on=dt.date(2026, 3, 4),
                                    blink_reference="BLINK-LE-77120", now=utc(2026, 3, 4, 15))
    request.refresh_from_db()
    return request


def generate(request, kind, actor):
    document = documents.document_generate(preservation_request=request, kind=kind, actor=actor, now=NOW)
    assert document.state == DocumentState.DONE, document.error
    return document


def test_the_request_pdf_carries_every_field_of_the_request(officer):
    request = full_request(officer)
    document = generate(request, DocumentKind.REQUEST, officer)
    save_page_images(bytes(document.content), "request-en")
    text = pdf_text(bytes(document.content))
    expected = [
        "Springfield Police Department", "100 Main Street", "Springfield, IL 62701", "+1 217-555-0100",
        "Dana Scully", "Detective Sergeant", "4471-B", "dana.scully@springfield.example",
        "+1 217-555-0143", "Burglary Unit", "CR-2026-00815", "owner@example.com", "US",
        "G8T1-SJ02-3294-01VR", "G8T1-LPFF-F402-3S6S", "638241420", "Video Doorbell", "XT",
        "Video clips", "Subscriber / account records", "Device records",
        "Motion and doorbell-press clips",  # each data type's explanation
        # window, local and UTC, in the app's English dates: day month year, 24-hour clock
        "America/Chicago", "1 March 2026, 00:00", "1 March 2026, 06:00",
        "1 March 2026, 23:59", "2 March 2026, 05:59",
        "18 U.S.C. § 2703(f)", request.reference, "Signature", "Page 1 of",
        "Generated on 20 March 2026, 10:30 CDT (America/Chicago)",
    ]
    missing = [value for value in expected if value not in text]
    assert missing == []


def test_the_request_pdf_has_pdf_a_metadata_title_author_and_crim_number(officer):
    request = full_request(officer)
    reader = PdfReader(io.BytesIO(bytes(generate(request, DocumentKind.REQUEST, officer).content)))
    assert reader.metadata.title == "Data preservation request %s" % request.reference
    assert reader.metadata.author == "Springfield Police Department"
    assert reader.metadata.subject == "CRIM# CR-2026-00815"
    pdfa = {node.localName: node.firstChild.nodeValue if node.firstChild else node.nodeValue
            for node in reader.xmp_metadata.get_nodes_in_namespace("", "http://www.aiim.org/pdfa/ns/id/")}
    assert (pdfa["part"], pdfa["conformance"]) == ("3", "B")
    fonts = {str(font.get_object()["/BaseFont"]).split("+")[-1]
             for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and all(name.startswith("/DejaVu") or name.startswith("DejaVu") for name in fonts), fonts


def test_a_non_us_agency_gets_the_neutral_legal_basis_and_a4_paper(officer, agency):
    agency.country, agency.save = "DE", agency.save
    agency.save()
    request = full_request(officer, account_country="DE")
    content = bytes(generate(request, DocumentKind.REQUEST, officer).content)
    text = pdf_text(content)
    assert "2703" not in text and "investigating a criminal offence" in text
    width, height = PdfReader(io.BytesIO(content)).pages[0].mediabox.upper_right
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points


def test_the_agency_legal_basis_replaces_the_default(officer, agency):
    agency.legal_basis = "Pursuant to section 12 of the Example Act we request preservation."
    agency.save()
    text = pdf_text(bytes(generate(full_request(officer), DocumentKind.REQUEST, officer).content))
    assert "section 12 of the Example Act" in text and "2703" not in text


def test_a_document_is_written_in_the_language_of_the_request(officer):
    request = full_request(officer, language="de")
    document = generate(request, DocumentKind.REQUEST, officer)
    save_page_images(bytes(document.content), "request-de")
    text = pdf_text(bytes(document.content))
    assert document.language == "de"
    assert "1. März 2026" in text  # German date format and month name


def test_an_incomplete_draft_cannot_be_printed_and_says_why(officer):
    request = full_request(officer, requester_name="", data_types=[])
    with pytest.raises(ValidationError) as error:
        documents.document_generate(preservation_request=request, kind=DocumentKind.REQUEST, actor=officer, now=NOW)
    assert "requester's name" in str(error.value) and "at least one type of data" in str(error.value)
    assert not GeneratedDocument.objects.filter(request=request).exists()


def test_each_generation_stores_a_new_immutable_version_with_its_sha256(officer):
    request = full_request(officer)
    first = generate(request, DocumentKind.REQUEST, officer)
    second = generate(request, DocumentKind.REQUEST, officer)
    sheet = generate(request, DocumentKind.CASE_SHEET, officer)
    assert (first.version, second.version, sheet.version) == (1, 2, 1)
    for document in (first, second):
        assert document.sha256 == hashlib.sha256(bytes(document.content)).hexdigest()
        assert (document.size, document.requested_by, document.generated_at) == (len(document.content), officer, NOW)
        assert document.pages >= 1
    with pytest.raises(ImmutableDocumentError):
        first.save()
    with pytest.raises(ImmutableDocumentError):
        first.delete()


def test_generating_writes_the_history_and_the_audit_log(officer):
    request = full_request(officer)
    document = generate(request, DocumentKind.REQUEST, officer)
    event = request.events.get(action=RequestEvent.Action.DOCUMENT_GENERATED)
    assert (event.actor, event.at, event.data["sha256"], event.data["version"]) == (officer, NOW, document.sha256, 1)
    audit = AuditRecord.objects.across_agencies().get(action="document_generated")
    assert (audit.actor, audit.agency_id, audit.object_id) == (officer, request.agency_id, str(document.public_id))


def test_the_database_refuses_to_change_a_stored_document(officer, postgres_only):
    from django.db import connection, transaction

    document = generate(full_request(officer), DocumentKind.REQUEST, officer)
    with pytest.raises(Exception, match="cannot be changed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE preservation_generateddocument SET sha256 = %s WHERE id = %s", ["0" * 64, document.pk])


def test_the_extension_request_refers_to_the_receipt_and_states_the_new_final_expiry(officer):
    request = received(full_request(officer), officer)
    document = generate(request, DocumentKind.EXTENSION, officer)
    save_page_images(bytes(document.content), "extension-en")
    text = pdf_text(bytes(document.content))
    for value in ["BLINK-LE-77120", request.reference, "CR-2026-00815",
                  "Blink received on 4 March 2026",  # the receipt date...
                  "further 90 days", "2 June 2026",  # current expiry: received + 90
                  "ends on 31 August 2026",  # final expiry: received + 180
                  "2703(f)(2)", "G8T1-SJ02-3294-01VR"]:
        assert value in text, value


def test_an_extension_request_needs_blinks_receipt(officer):
    with pytest.raises(ValidationError, match="receipt"):
        documents.document_generate(preservation_request=full_request(officer), kind=DocumentKind.EXTENSION, actor=officer, now=NOW)


def test_the_case_sheet_has_deadlines_explained_the_timeline_history_and_reminders_sent(officer):
    request = received(full_request(officer), officer)
    # Reminders are scheduled by the services; mark one of them sent, leave another scheduled.
    Reminder.objects.update_or_create(
        request=request, kind=ReminderKind.EXTENSION_DUE, lead_days=30,
        defaults=dict(day=dt.date(2026, 4, 26), due_at=utc(2026, 4, 26, 13), deadline_on=request.extension_send_by,
                      state=DeliveryState.SENT, sent_at=utc(2026, 4, 26, 13, 0, 5)),
    )
    Reminder.objects.update_or_create(
        request=request, kind=ReminderKind.ESCALATION, lead_days=7,
        defaults=dict(day=dt.date(2026, 5, 26), due_at=utc(2026, 5, 26, 13), deadline_on=request.expires_on,
                      state=DeliveryState.SCHEDULED, sent_at=None),
    )
    document = generate(request, DocumentKind.CASE_SHEET, officer)
    save_page_images(bytes(document.content), "case-sheet-en")
    text = pdf_text(bytes(document.content))
    for value in [
        "Preservation expires: received 2026-03-04 + 90 days = 2026-06-02.",  # deadline explained
        "Send the extension by: expiry 2026-06-02 - 7 days = 2026-05-26.",
        "Oldest clip deleted", "Send extension by", "26 May 2026",
        "Sent to Blink", "Received by Blink on",  # timeline rows
        "Draft → Sent to Blink", "Sent to Blink → Preserving",  # history of state changes
        "Extension due", "26 April 2026",  # the reminder sent...
        "Neighbour's doorbell faces the alley.", "30 days",
    ]:
        assert value in text, value
    assert "Escalation" not in text  # ...and not the one still scheduled


def test_the_case_sheet_of_a_draft_without_a_window_says_no_deadline_can_be_computed(officer):
    request = full_request(officer, window_start=None, window_end=None)
    text = pdf_text(bytes(generate(request, DocumentKind.CASE_SHEET, officer).content))
    assert "No deadline can be computed" in text and "No reminder has been sent" in text


def test_a_render_failure_leaves_a_failed_row_and_no_version(officer, settings):
    settings.PRESERVE_PDF = {**settings.PRESERVE_PDF, "WALL_SECONDS": 0.05}
    document = documents.document_generate(preservation_request=full_request(officer), kind=DocumentKind.REQUEST,
                                           actor=officer, now=NOW)
    assert (document.state, document.error, document.version, document.sha256) == ("failed", "timeout", None, "")
    assert not document.request.events.filter(action=RequestEvent.Action.DOCUMENT_GENERATED).exists()


def test_a_document_is_rendered_once_even_if_two_workers_pick_it_up(officer):
    request = full_request(officer)
    document = GeneratedDocument.objects.create(request=request, kind=DocumentKind.CASE_SHEET, language="en",
                                                requested_by=officer, requested_at=NOW)
    assert documents.document_render(document_id=document.pk, now=NOW).state == DocumentState.DONE
    assert documents.document_render(document_id=document.pk, now=NOW) is None


def test_a_request_with_25_serials_fits_the_table_across_pages(officer):
    serials = ["G8T1-9412-%04d-%s" % (i, "AB%02d" % i) for i in range(25)]
    document = generate(full_request(officer, serials=serials), DocumentKind.REQUEST, officer)
    save_page_images(bytes(document.content), "request-25-serials")
    text = pdf_text(bytes(document.content))
    assert all(s in text for s in serials)
