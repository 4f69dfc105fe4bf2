"""Hostile text in every text field of a request never loads anything or embeds anything, and
comes out as the plain text it is."""
import datetime as dt

import pytest
import time_machine
from django.utils import translation

from preservation.documents import pdf
from preservation.documents import services as documents
from preservation.models import DeviceSerial, DocumentKind
from preservation.requests import services
from tests.conftest import utc
from tests.factories import UserFactory
from tests.pdf_support import Canary, embedded_files, payloads, pdf_text, save_page_images, squash
from tests.test_documents import full_request

# Every text a person can type that a document prints: the request's own fields, the agency's,
# a serial as typed, a history reason and the people's names.
REQUEST_FIELDS = ["requester_name", "requester_title", "requester_badge", "requester_email",
                  "unit", "case_number", "account_email", "account_country", "notes", "blink_reference"]
AGENCY_FIELDS = ["name", "postal_address", "legal_basis"]
# The huge data: URL goes into the free-text columns (the notes, the agency's address); the
# other columns' own limits (at most 200 characters) make it impossible input there.
HUGE = 24 * 1024


@pytest.fixture
def canary_file(tmp_path):
    path = tmp_path / "canary.txt"
    path.write_text("CANARY-77d2 secret contents")
    return path


@pytest.fixture
def hostile(db, canary_file):
    """A received request whose every text field carries every payload."""
    with Canary() as canary:
        items = payloads(canary, canary_file, HUGE)
        text = " ".join(items[:-1])  # all but the huge data: URL
        officer = UserFactory(first_name=text[:150], last_name="")
        with time_machine.travel(utc(2026, 3, 20), tick=False):
            request = full_request(officer, serials=[])
            services.request_send(preservation_request=request, actor=officer, now=utc(2026, 3, 3))
            services.request_record_receipt(preservation_request=request, actor=officer, received_on=dt.date(2026, 3, 4),
                                            now=utc(2026, 3, 5))
            services.request_withdraw(preservation_request=request, actor=officer, reason=text, now=utc(2026, 3, 6))
        request.refresh_from_db()
        DeviceSerial.objects.bulk_create(
            DeviceSerial(request=request, position=i, raw=item[:200]) for i, item in enumerate(items[:-1])
        )
        for field in REQUEST_FIELDS:
            setattr(request, field, text)
        request.notes = " ".join(items)
        for field in AGENCY_FIELDS:
            setattr(request.agency, field, text)
        request.agency.postal_address = " ".join(items)
        yield request, canary, items


@pytest.mark.parametrize("kind", DocumentKind.values)
def test_payloads_in_every_field_load_nothing_embed_nothing_and_print_as_text(hostile, kind):
    request, canary, items = hostile
    with translation.override("en"):
        context = documents.document_context(request, kind, now=utc(2026, 3, 20))
        rendered = pdf.render_pdf(documents.TEMPLATES[kind], context, language="en", zone="UTC")
    save_page_images(rendered.content, "injection-%s" % kind, last_page=2)
    assert canary.hits == []
    assert embedded_files(rendered.content) == []
    assert rendered.refused_urls == 0  # escaped text never even asks for a resource
    text = squash(pdf_text(rendered.content))
    missing = [item[:60] for item in items[:-1] if squash(item) not in text]
    assert missing == []
    # The huge one spans pages, so the running footers interrupt it in the extracted text.
    huge = items[-1]
    assert squash(huge[:40]) in text and squash(huge[-40:]) in text and text.count("A") >= HUGE
    assert "CANARY-77d2" not in text
