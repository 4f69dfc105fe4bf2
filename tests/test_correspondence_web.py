"""The correspondence pages: the log on the request page, downloads, the inbox and the
one-click receipt, each only within the user's agency."""
import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from preservation.requests import services
from preservation.correspondence import services as correspondence
from preservation.models import (
    CorrespondenceKind,
    InboundChannel,
    InboundMessage,
    RequestState,
)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login
from tests.mail_support import provider_reply

NOW = utc(2026, 4, 21, 12)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sent(make_request):
    request = make_request(window_start=utc(2026, 4, 10), window_end=utc(2026, 4, 11))
    return services.request_send(preservation_request=request, actor=request.created_by, sent_at=utc(2026, 4, 19, 15), now=NOW)


def test_a_note_typed_on_the_request_page_appears_in_its_log(signed_in, sent):
    response = signed_in.post(reverse("preservation:correspondence_note", args=[sent.public_id]),
                              {"text": "Called Blink's LE desk"})
    assert response.status_code == 302
    page = signed_in.get(reverse("preservation:request_detail", args=[sent.public_id]))
    assert "Called Blink&#x27;s LE desk" in page.content.decode() and 'id="correspondence"' in page.content.decode()


def test_an_empty_note_is_refused_with_the_form_kept(signed_in, sent):
    response = signed_in.post(reverse("preservation:correspondence_note", args=[sent.public_id]), {"text": ""})
    assert response.status_code == 400


def test_an_attachment_is_downloaded_never_shown_inline(signed_in, sent):
    upload = SimpleUploadedFile("x.html", b"<script>alert(1)</script>", content_type="text/html")
    signed_in.post(reverse("preservation:correspondence_attachment", args=[sent.public_id]), {"file": upload})
    entry = sent.correspondence.get(kind=CorrespondenceKind.ATTACHMENT)
    response = signed_in.get(reverse("preservation:correspondence_download", args=[entry.public_id]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == b"<script>alert(1)</script>"


def test_another_agencys_attachment_message_and_request_are_404(client, sent):
    entry = correspondence.entry_add_attachment(preservation_request=sent, actor=sent.created_by, filename="a.txt", content=b"a", now=NOW)
    message = correspondence.message_ingest(agency=sent.agency, raw=provider_reply(date=NOW), channel=InboundChannel.UPLOAD, now=NOW)
    stranger = login(client, UserFactory(agency=AgencyFactory()))
    for url in (reverse("preservation:correspondence_download", args=[entry.public_id]),
                reverse("preservation:mail_message", args=[message.public_id]),
                reverse("preservation:mail_raw", args=[message.public_id])):
        assert stranger.get(url).status_code == 404
    assert stranger.post(reverse("preservation:correspondence_note", args=[sent.public_id]), {"text": "x"}).status_code == 404


def test_an_eml_uploaded_to_the_inbox_waits_and_is_attached_in_one_step(signed_in, sent):
    raw = provider_reply(subject="Hello", body="Nothing to match on.", date=utc(2026, 4, 20, 14), auth="")
    response = signed_in.post(reverse("preservation:mail_upload"),
                              {"message": SimpleUploadedFile("m.eml", raw, content_type="message/rfc822")})
    message = InboundMessage.objects.for_agency(sent.agency).get()
    assert response.url == reverse("preservation:mail_message", args=[message.public_id])
    inbox = signed_in.get(reverse("preservation:mail_inbox")).content.decode()
    assert reverse("preservation:mail_message", args=[message.public_id]) in inbox
    page = signed_in.get(response.url).content.decode()
    assert "The sender could not be verified" in page
    signed_in.post(reverse("preservation:mail_attach", args=[message.public_id]), {"reference": sent.reference})
    message.refresh_from_db()
    assert message.request_id == sent.pk


def test_attaching_to_another_agencys_reference_is_refused(signed_in, sent):
    other = RequestFactory(agency=AgencyFactory())
    message = correspondence.message_ingest(agency=sent.agency, raw=provider_reply(date=NOW), channel=InboundChannel.UPLOAD, now=NOW)
    response = signed_in.post(reverse("preservation:mail_attach", args=[message.public_id]), {"reference": other.reference})
    assert response.status_code == 400
    message.refresh_from_db()
    assert message.request_id is None


def test_one_click_confirms_the_proposed_receipt(signed_in, sent):
    message = correspondence.message_ingest(
        agency=sent.agency, raw=provider_reply(subject="Re: %s" % sent.reference, date=utc(2026, 4, 21, 2, 30)),
        channel=InboundChannel.UPLOAD, now=NOW)
    request_page = signed_in.get(reverse("preservation:request_detail", args=[sent.public_id])).content.decode()
    notice = request_page.split('data-testid="receipt-proposed"', 1)[1].split("</div>", 1)[0]
    assert "20 April 2026 (America/New_York)" in " ".join(notice.split())
    page = signed_in.get(reverse("preservation:mail_message", args=[message.public_id])).content.decode()
    assert 'value="2026-04-20"' in page and "Sender verified" in page
    response = signed_in.post(reverse("preservation:mail_confirm_receipt", args=[message.public_id]),
                              {"received_on": "2026-04-20", "reference": ""})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.state == RequestState.PRESERVING and sent.received_on == dt.date(2026, 4, 20)


def test_a_receipt_date_before_sending_is_refused_on_the_message_page(signed_in, sent):
    message = correspondence.message_ingest(
        agency=sent.agency, raw=provider_reply(subject="Re: %s" % sent.reference, date=NOW),
        channel=InboundChannel.UPLOAD, now=NOW)
    response = signed_in.post(reverse("preservation:mail_confirm_receipt", args=[message.public_id]),
                              {"received_on": "2026-04-01"})
    assert response.status_code == 400
    sent.refresh_from_db()
    assert sent.state == RequestState.SUBMITTED


# --- The API and the case sheet -------------------------------------------------------------------


def test_the_api_lists_and_adds_correspondence_within_the_agency(sent):
    from tests.api_support import token_client

    api = token_client(sent.created_by)
    url = "/api/v1/requests/%s/correspondence/" % sent.public_id
    created = api.post(url, {"kind": "reference", "reference": "BL-7", "given_on": "2026-04-20"}, format="json")
    assert created.status_code == 201 and created.json()["reference"] == "BL-7"
    assert api.post(url, {"kind": "note", "text": ""}, format="json").status_code == 400
    listed = api.get(url).json()
    assert [(row["kind"], row["reference"], row["given_on"]) for row in listed] == [("reference", "BL-7", "2026-04-20")]
    stranger = token_client(UserFactory(agency=AgencyFactory()))
    assert stranger.get(url).status_code == 404


def test_the_case_sheet_lists_the_correspondence(sent):
    from preservation.documents import services as documents
    from preservation.models import DocumentKind
    from tests.pdf_support import pdf_text

    correspondence.entry_add_reference(preservation_request=sent, actor=sent.created_by, reference="BL-4711",
                                       given_on=dt.date(2026, 4, 20), now=NOW)
    correspondence.entry_add_note(preservation_request=sent, actor=sent.created_by, text="Phoned the LE desk", now=NOW)
    document = documents.document_generate(preservation_request=sent, kind=DocumentKind.CASE_SHEET, actor=sent.created_by, now=NOW)
    text = pdf_text(bytes(document.content))
    assert "BL-4711" in text and "Phoned the LE desk" in text


def test_the_letter_is_emailed_from_the_request_page_and_the_reply_threads_back(signed_in, sent, mailoutbox):
    from preservation.documents import services as documents
    from preservation.models import AgencyMailAddress, DocumentKind, MatchRule

    AgencyMailAddress.objects.create(agency=sent.agency, from_address="le-desk@agency.example")
    documents.document_generate(preservation_request=sent, kind=DocumentKind.REQUEST, actor=sent.created_by, now=NOW)
    response = signed_in.post(reverse("preservation:correspondence_email_letter", args=[sent.public_id]),
                              {"to_address": "lawenforcement@provider.example"})
    assert response.status_code == 302
    sent_mail = mailoutbox[0]
    assert sent_mail.from_email == "le-desk@agency.example" and sent.reference in sent_mail.subject
    assert sent_mail.attachments[0][1].startswith(b"%PDF")
    entry = sent.correspondence.get(kind=CorrespondenceKind.SENT)
    assert "<%s>" % entry.message_id == sent_mail.extra_headers["Message-ID"]
    reply = provider_reply(subject="Your letter", body="Thanks.", in_reply_to="<%s>" % entry.message_id, date=NOW)
    signed_in.post(reverse("preservation:mail_upload"), {"message": SimpleUploadedFile("r.eml", reply)})
    message = InboundMessage.objects.for_agency(sent.agency).get()
    assert (message.request_id, message.match_rule) == (sent.pk, MatchRule.THREAD)


def test_emailing_without_a_letter_says_to_generate_it_first(signed_in, sent):
    response = signed_in.post(reverse("preservation:correspondence_email_letter", args=[sent.public_id]),
                              {"to_address": "lawenforcement@provider.example"})
    assert response.status_code == 400 and "Generate the preservation letter first." in response.content.decode()


def test_an_eml_uploaded_on_the_request_page_goes_to_that_request(signed_in, sent):
    raw = provider_reply(subject="Hello", body="no reference", date=NOW)
    response = signed_in.post(reverse("preservation:correspondence_upload", args=[sent.public_id]),
                              {"message": SimpleUploadedFile("m.eml", raw)})
    assert response.status_code == 302
    assert InboundMessage.objects.for_agency(sent.agency).get().request_id == sent.pk
    assert sent.correspondence.get().kind == CorrespondenceKind.RECEIVED


def test_the_request_page_reads_the_messages_once_without_their_raw_bytes(signed_in, sent):
    """The correspondence panel asks each received message for its request (to propose a
    receipt): that was one query per message once the request no longer waited for a receipt,
    and every message was read with the whole message as received."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    preserving = services.request_record_receipt(preservation_request=sent, actor=sent.created_by,
                                                 received_on=dt.date(2026, 4, 20), now=NOW)
    assert preserving.state == RequestState.PRESERVING
    signed_in.get(reverse("preservation:request_detail", args=[sent.public_id]))  # the bell's count, cached
    counted = []
    for more in (1, 3):
        for n in range(more):
            correspondence.message_ingest(
                agency=sent.agency, raw=provider_reply(subject="Re: %s" % sent.reference, body="reply %d %d" % (more, n),
                                                       date=utc(2026, 4, 21, 2, n)),
                channel=InboundChannel.UPLOAD, now=NOW)
        with CaptureQueriesContext(connection) as queries:
            page = signed_in.get(reverse("preservation:request_detail", args=[sent.public_id]))
        assert page.status_code == 200 and page.content.decode().count("/mail/") >= more
        counted.append(len(queries))
        assert not any('"preservation_inboundmessage"."raw"' in query["sql"] for query in queries.captured_queries)
    assert counted[0] == counted[1], counted
