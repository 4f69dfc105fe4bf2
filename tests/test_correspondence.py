"""The correspondence log, received mail, matching and the one-click receipt (services)."""
import datetime as dt
import hashlib

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from preservation.documents import services as documents
from preservation.requests import services
from preservation.correspondence import services as correspondence
from preservation.models import (
    AuditRecord,
    CorrespondenceEntry,
    CorrespondenceKind as K,
    DocumentKind,
    ImmutableEntryError,
    InboundChannel,
    InboundMessage,
    MatchRule,
    Reminder,
    RequestState,
)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
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


def ingest(agency, raw):
    return correspondence.message_ingest(agency=agency, raw=raw, channel=InboundChannel.UPLOAD, now=NOW)


# --- The log --------------------------------------------------------------------------------------


def test_a_note_an_attachment_and_two_references_are_logged_and_audited(sent):
    actor = sent.created_by
    correspondence.entry_add_note(preservation_request=sent, actor=actor, text="Called the LE desk.", now=NOW)
    file = correspondence.entry_add_attachment(preservation_request=sent, actor=actor, filename="ack.pdf",
                                               content=b"%PDF-1.7 signed", now=NOW)
    correspondence.entry_add_reference(preservation_request=sent, actor=actor, reference="LE-1", given_on=dt.date(2026, 4, 20), now=NOW)
    correspondence.entry_add_reference(preservation_request=sent, actor=actor, reference="LE-2", given_on=dt.date(2026, 4, 21), now=NOW)
    assert [e.kind for e in sent.correspondence.all()] == [K.NOTE, K.ATTACHMENT, K.REFERENCE, K.REFERENCE]
    assert file.sha256 == hashlib.sha256(b"%PDF-1.7 signed").hexdigest() and file.size == 15
    assert bytes(CorrespondenceEntry.objects.filter(request=sent).get(pk=file.pk).content) == b"%PDF-1.7 signed"
    assert AuditRecord.objects.for_agency(sent.agency).filter(action__startswith="correspondence_").count() == 4


def test_an_entry_is_never_changed_only_corrected(sent):
    note = correspondence.entry_add_note(preservation_request=sent, actor=sent.created_by, text="Faxed on Monday", now=NOW)
    with pytest.raises(ImmutableEntryError):
        note.save()
    with pytest.raises(ImmutableEntryError):
        note.delete()
    with pytest.raises(ImmutableEntryError):
        CorrespondenceEntry.objects.filter(request=sent).update(text="x")
    correction = correspondence.entry_correct(entry=note, actor=sent.created_by, text="Faxed on Tuesday", now=NOW)
    assert correction.corrects == note and sent.correspondence.get(corrects=note) == correction


@pytest.mark.parametrize("size, code", [(0, "empty"), (20 * 1024 * 1024 + 1, "too_large")])
def test_an_attachment_outside_the_limits_is_refused(sent, size, code):
    with pytest.raises(ValidationError) as refused:
        correspondence.entry_add_attachment(preservation_request=sent, actor=sent.created_by, filename="f", content=b"x" * size, now=NOW)
    assert refused.value.error_dict["file"][0].code == code


def test_a_colleague_of_another_role_cannot_add_to_someone_elses_request(sent):
    officer = UserFactory(agency=sent.agency)
    with pytest.raises(ValidationError):
        correspondence.entry_add_note(preservation_request=sent, actor=officer, text="hello", now=NOW)


def test_a_reference_given_in_the_future_is_refused(sent):
    with pytest.raises(ValidationError):
        correspondence.entry_add_reference(preservation_request=sent, actor=sent.created_by, reference="LE-9",
                                           given_on=dt.date(2026, 4, 23), now=NOW)


# --- Matching, in order -----------------------------------------------------------------------------


def test_our_reference_in_the_subject_matches(sent):
    message = ingest(sent.agency, provider_reply(subject="Re: %s" % sent.reference, date=NOW))
    assert (message.request, message.match_rule) == (sent, MatchRule.REFERENCE)
    assert sent.correspondence.get().inbound_message == message


def test_a_reply_to_the_letter_we_emailed_threads_back(sent):
    documents.document_generate(preservation_request=sent, kind=DocumentKind.REQUEST, actor=sent.created_by, now=NOW)
    entry = correspondence.letter_send_by_email(preservation_request=sent, actor=sent.created_by,
                                                to_address="le@provider.example", now=NOW)
    assert sent.reference in mail.outbox[0].subject
    assert mail.outbox[0].attachments[0][2] == "application/pdf"
    reply = provider_reply(subject="Your request", body="Noted.", in_reply_to="<%s>" % entry.message_id, date=NOW)
    message = ingest(sent.agency, reply)
    assert (message.request, message.match_rule) == (sent, MatchRule.THREAD)


def test_the_case_number_matches_when_no_reference_is_given(sent):
    message = ingest(sent.agency, provider_reply(subject="About case %s" % sent.case_number, date=NOW))
    assert (message.request, message.match_rule) == (sent, MatchRule.CASE_NUMBER)


def test_a_serial_of_a_draft_matches_nothing(make_request):
    draft = make_request()
    message = ingest(draft.agency, provider_reply(subject="Hello", body="G8T1-SJ02-3294-01VR", date=NOW))
    assert message.request is None


def test_a_serial_of_an_open_request_matches(sent):
    message = ingest(sent.agency, provider_reply(subject="Hello", body="Device G8T1 SJ02 3294 01VR noted.", date=NOW))
    assert (message.request, message.match_rule) == (sent, MatchRule.IDENTIFIER)


def test_a_serial_shared_by_two_open_requests_matches_neither(sent, make_request):
    twin = make_request(window_start=utc(2026, 4, 10), window_end=utc(2026, 4, 11))  # the same default serial
    services.request_send(preservation_request=twin, actor=twin.created_by, sent_at=utc(2026, 4, 19, 15), now=NOW)
    message = ingest(sent.agency, provider_reply(subject="Hello", body="G8T1-SJ02-3294-01VR", date=NOW))
    assert message.request is None


def test_another_agencys_reference_never_matches(sent):
    other = RequestFactory(agency=AgencyFactory())
    message = ingest(sent.agency, provider_reply(subject="Re: %s %s" % (other.reference, other.case_number), date=NOW))
    assert message.request is None
    assert not other.correspondence.exists()


def test_an_unmatched_message_is_attached_in_one_step(sent):
    message = ingest(sent.agency, provider_reply(subject="Hello", body="no clue here", date=NOW))
    assert message.request is None
    correspondence.message_attach(message=message, preservation_request=sent, actor=sent.created_by, now=NOW)
    message.refresh_from_db()
    assert (message.request, message.match_rule) == (sent, MatchRule.MANUAL)
    with pytest.raises(ValidationError):
        correspondence.message_attach(message=message, preservation_request=sent, actor=sent.created_by, now=NOW)


def test_a_message_of_one_agency_cannot_be_attached_to_anothers_request(sent):
    message = ingest(sent.agency, provider_reply(subject="Hello", date=NOW))
    other = RequestFactory(agency=AgencyFactory())
    with pytest.raises(InboundMessage.DoesNotExist):
        correspondence.message_attach(message=message, preservation_request=other, actor=other.created_by, now=NOW)


def test_an_unparsable_message_is_kept_as_received():
    agency = AgencyFactory()
    raw = b"\xff\xfe\x00garbage" * 3
    message = ingest(agency, raw)
    stored = InboundMessage.objects.for_agency(agency).get(pk=message.pk)
    assert bytes(stored.raw) == raw and stored.sha256 == correspondence.parsing.sha256(raw)


# --- One-click receipt --------------------------------------------------------------------------


@pytest.mark.parametrize("zone, day", [
    ("America/New_York", dt.date(2026, 4, 20)),  # 02:30 UTC on the 21st is 22:30 on the 20th
    ("Europe/Berlin", dt.date(2026, 4, 21)),     # and 04:30 on the 21st
])
def test_the_reply_proposes_its_date_in_the_agencys_zone(make_request, zone, day):
    request = make_request()
    request.agency.time_zone = zone
    request.agency.save()
    request = services.request_send(preservation_request=request, actor=request.created_by, sent_at=utc(2026, 4, 19, 15), now=NOW)
    message = ingest(request.agency, provider_reply(subject="Re: %s" % request.reference, date=utc(2026, 4, 21, 2, 30)))
    assert correspondence.receipt_proposal(message) == {"received_on": day, "reference": "", "zone": zone}


def test_one_confirmation_records_the_receipt_and_moves_the_reminders(sent):
    message = ingest(sent.agency, provider_reply(subject="Re: %s" % sent.reference, date=utc(2026, 4, 20, 14)))
    before = set(Reminder.objects.filter(request=sent).values_list("kind", "deadline_on"))
    proposal = correspondence.receipt_proposal(message)
    request = correspondence.message_confirm_receipt(message=message, actor=sent.created_by,
                                                      received_on=proposal["received_on"], reference="BL-42", now=NOW)
    assert request.state == RequestState.PRESERVING and request.received_on == dt.date(2026, 4, 20)
    assert request.expires_on == dt.date(2026, 7, 19)
    after = set(Reminder.objects.filter(request=sent, state="scheduled").values_list("kind", "deadline_on"))
    assert after != before and any(deadline == request.extension_send_by or deadline == request.expires_on
                                   for _, deadline in after)
    assert sent.correspondence.filter(kind=K.REFERENCE).get().reference == "BL-42"
    assert correspondence.receipt_proposal(InboundMessage.objects.for_agency(sent.agency).get(pk=message.pk)) is None


def test_a_request_that_already_has_its_receipt_proposes_nothing(sent):
    services.request_record_receipt(preservation_request=sent, actor=sent.created_by, received_on=dt.date(2026, 4, 20), now=NOW)
    message = ingest(sent.agency, provider_reply(subject="Re: %s" % sent.reference, date=NOW))
    assert correspondence.receipt_proposal(message) is None


def test_a_reference_is_proposed_only_where_the_catalogue_knows_the_providers_pattern(sent):
    from preservation.models import Provider
    from preservation.rules import catalogue

    raw = provider_reply(subject="Re: %s" % sent.reference, body="Our case LE-123456 is open.", date=NOW)
    assert correspondence.receipt_proposal(ingest(sent.agency, raw))["reference"] == ""
    Provider.objects.update_or_create(code=catalogue.BLINK.code, defaults={
        **Provider.fields_from_policy(catalogue.BLINK), "reference_pattern": r"\bLE-\d{6}\b"})
    assert correspondence.receipt_proposal(ingest(sent.agency, raw))["reference"] == "LE-123456"
