"""Every change to a request's correspondence, one function each (docs/correspondence.md).

Entries are only ever added: a mistake is put right by a correction entry. Each function runs
in one transaction and writes an audit record. Received mail goes through ``message_ingest``,
whichever way it came (upload, IMAP, the SMTP/LMTP listener).
"""
import logging
import re
from email.utils import make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from preservation.rules import deadlines
from preservation.core import permissions
from preservation.requests import selectors, services
from preservation.core.audit import audit_record
from preservation.models import (
    AgencyMailAddress,
    CorrespondenceEntry,
    CorrespondenceKind,
    DocumentKind,
    DocumentState,
    InboundMessage,
    MatchRule,
    PreservationRequest,
    RequestState,
)

from preservation.correspondence import matching, parsing

logger = logging.getLogger(__name__)

K = CorrespondenceKind


def mail_setting(name):
    return settings.PRESERVE_MAIL[name]


def limits():
    return parsing.Limits(
        max_attachments=mail_setting("MAX_ATTACHMENTS"), max_parts=mail_setting("MAX_PARTS"),
        max_depth=mail_setting("MAX_DEPTH"), max_header_chars=mail_setting("MAX_HEADER_CHARS"),
        max_text_chars=mail_setting("MAX_TEXT_CHARS"),
        max_archive_entries=mail_setting("MAX_ARCHIVE_ENTRIES"),
        max_archive_bytes=mail_setting("MAX_ARCHIVE_BYTES"),
        max_archive_ratio=mail_setting("MAX_ARCHIVE_RATIO"),
        authserv_ids=tuple(mail_setting("AUTHSERV_IDS")),
    )


def _refuse(message, code, params=None, field=None):
    error = ValidationError(message, code=code, params=params)
    raise ValidationError({field: [error]}) if field else error


def _check_actor(preservation_request, actor):
    if not permissions.can_edit_request(actor, preservation_request):
        _refuse(_("Your role does not allow adding to this request's correspondence; ask its requester, "
                  "a paralegal or a supervisor."), "not_allowed")


def _locked(preservation_request):
    return PreservationRequest.objects.for_agency(preservation_request.agency_id).select_for_update().get(pk=preservation_request.pk)


def _audit(action, *, actor, preservation_request, now, message=""):
    audit_record(action="correspondence_%s" % action, actor=actor, obj=preservation_request, now=now, message=message)


def _add(preservation_request, *, actor, now, kind, **fields):
    entry = CorrespondenceEntry.objects.create(request=preservation_request, kind=kind, actor=actor, at=now, **fields)
    _audit(kind, actor=actor, preservation_request=preservation_request, now=now, message="entry %s" % entry.public_id)
    return entry


# --- The log of one request ---------------------------------------------------------------------


@transaction.atomic
def entry_add_note(*, preservation_request, actor, text, now=None):
    """A note of what happened: a phone call to the provider's desk, a letter posted."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    if not text.strip():
        _refuse(_("Write what happened."), "required", field="text")
    return _add(preservation_request, actor=actor, now=now, kind=K.NOTE, text=text.strip())


@transaction.atomic
def entry_add_attachment(*, preservation_request, actor, filename, content, text="", now=None):
    """A file kept as uploaded, byte for byte, with its SHA-256."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    limit = mail_setting("MAX_ATTACHMENT_BYTES")
    if len(content) > limit:
        _refuse(_("The file is larger than %(limit)s MB."), "too_large",
                {"limit": limit // (1024 * 1024)}, field="file")
    if not content:
        _refuse(_("The file is empty."), "empty", field="file")
    return _add(preservation_request, actor=actor, now=now, kind=K.ATTACHMENT, text=text.strip(),
                filename=parsing.clean(filename, 255) or "attachment", content=content,
                sha256=parsing.sha256(content), size=len(content))


@transaction.atomic
def entry_add_reference(*, preservation_request, actor, reference, given_on, now=None):
    """A reference the provider gave, with the date it gave it (a request may get several)."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    reference = parsing.clean(reference, 200).strip()
    if not reference:
        _refuse(_("Enter the provider's reference."), "required", field="reference")
    if given_on > deadlines.local_date(now, preservation_request.agency.time_zone):
        _refuse(_("This date is in the future."), "date_in_future", field="given_on")
    return _add(preservation_request, actor=actor, now=now, kind=K.REFERENCE, reference=reference, given_on=given_on)


@transaction.atomic
def entry_correct(*, entry, actor, text, now=None):
    """Put an entry right: the entry stays as it was, the correction says what is true."""
    now = now or timezone.now()
    request = _locked(entry.request)
    _check_actor(request, actor)
    if not text.strip():
        _refuse(_("Say what is wrong and what is right."), "required", field="text")
    return _add(request, actor=actor, now=now, kind=K.CORRECTION, text=text.strip(), corrects=entry)


# --- Received mail ------------------------------------------------------------------------------


class MessageTooLarge(Exception):
    pass


def message_ingest(*, agency, raw, channel, now=None):
    """Keep a received message, then read and match it. The raw bytes and their SHA-256 are
    committed first, on their own: whatever parsing or matching does, the message is kept."""
    now = now or timezone.now()
    if len(raw) > mail_setting("MAX_MESSAGE_BYTES"):
        raise MessageTooLarge(len(raw))
    message = _message_store(agency=agency, raw=raw, channel=channel, now=now)
    try:
        return message_process(message=message, now=now)
    except Exception:
        logger.exception("Received message %s kept but not processed", message.pk)
        return message


@transaction.atomic
def _message_store(*, agency, raw, channel, now):
    message = InboundMessage.objects.create(
        agency=agency, channel=channel, received_at=now, raw=bytes(raw), sha256=parsing.sha256(raw), size=len(raw),
        parse_problems=[parsing.UNPARSABLE],
    )
    audit_record(action="mail_received", agency=agency, obj=message, now=now,
                 message="%s %s" % (channel, message.sha256))
    return message


PARSED_FIELDS = ["parsed", "parse_problems", "subject", "from_address", "sent_date", "message_id",
                 "thread_ids", "text", "attachments", "authentication", "sender_verified"]


@transaction.atomic
def message_process(*, message, now):
    """Read a stored message and match it to a request of its agency (never another's)."""
    result = parsing.parse_message(bytes(message.raw), limits())
    message.parsed = parsing.UNPARSABLE not in result.problems
    message.parse_problems = result.problems
    for name in PARSED_FIELDS[2:]:
        setattr(message, name, getattr(result, name))
    message.save(update_fields=PARSED_FIELDS)
    if message.parsed and message.request_id is None:
        request, rule = matching.match_message(
            agency=message.agency, subject=message.subject, text=message.text, thread_ids=message.thread_ids,
        )
        if request is not None:
            _message_link(message, request, rule, actor=None, now=now)
    return message


def _message_link(message, preservation_request, rule, *, actor, now):
    message.request, message.match_rule = preservation_request, rule
    message.save(update_fields=["request", "match_rule"])
    _add(preservation_request, actor=actor, now=now, kind=K.RECEIVED, inbound_message=message,
         text=message.subject)


@transaction.atomic
def message_attach(*, message, preservation_request, actor, now=None):
    """A user attaches a message waiting in the inbox to one of the agency's requests."""
    now = now or timezone.now()
    message = InboundMessage.objects.for_agency(preservation_request.agency_id).select_for_update().get(pk=message.pk)
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    if message.request_id is not None:
        _refuse(_("This message is already attached to %(ref)s."), "already_attached",
                {"ref": message.request.reference})
    _message_link(message, preservation_request, MatchRule.MANUAL, actor=actor, now=now)
    return message


# --- One-click receipt --------------------------------------------------------------------------


# The provider catalogue's reference pattern (docs/providers.md): a reference is proposed only
# where the provider publishes its format; otherwise none is guessed.
def _proposed_reference(preservation_request, message):
    pattern = selectors.provider_policy(preservation_request.provider).reference_pattern
    if not pattern:
        return ""
    try:
        found = re.search(pattern, "%s\n%s" % (message.subject, message.text))
    except re.error:
        return ""
    return found.group(0)[:100] if found else ""


def receipt_proposal(message):
    """What a matched message proposes for "received on" and the provider's reference, or None
    when its request is not waiting for a receipt. Nothing is recorded until a person confirms."""
    request = message.request
    if request is None or request.state != RequestState.SUBMITTED:
        return None
    moment = message.sent_date or message.received_at
    return {
        "received_on": deadlines.local_date(moment, request.agency.time_zone),
        "reference": _proposed_reference(request, message),
        "zone": request.agency.time_zone,
    }


@transaction.atomic
def message_confirm_receipt(*, message, actor, received_on, reference="", now=None):
    """The user confirmed (or edited) what the message proposes: the receipt is recorded by the
    same service as one typed by hand, and the reference is kept in the log."""
    now = now or timezone.now()
    request = services.request_record_receipt(
        preservation_request=message.request, actor=actor, received_on=received_on, blink_reference=reference, now=now,
    )
    if request.blink_reference:
        _add(request, actor=actor, now=now, kind=K.REFERENCE, reference=request.blink_reference,
             given_on=received_on, inbound_message=message)
    return request


# --- Sending by email ---------------------------------------------------------------------------


def _latest_letter(preservation_request):
    return (preservation_request.documents.filter(kind=DocumentKind.REQUEST, state=DocumentState.DONE)
            .order_by("-version").first())


@transaction.atomic
def letter_send_by_email(*, preservation_request, actor, to_address, now=None):
    """Email the latest preservation letter (PDF) to a provider that takes email, our reference
    in the subject; the Message-ID is kept so the provider's reply threads back here."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    letter = _latest_letter(preservation_request)
    if letter is None:
        _refuse(_("Generate the preservation letter first."), "no_letter")
    mailbox = AgencyMailAddress.objects.filter(agency=preservation_request.agency).first()
    sender = (mailbox and mailbox.from_address) or settings.DEFAULT_FROM_EMAIL
    message_id = make_msgid(domain=mail_setting("MESSAGE_ID_DOMAIN"))
    with translation.override(preservation_request.language):
        mail = EmailMessage(
            subject="[%s] %s" % (preservation_request.reference, _("Data preservation request")),
            body=str(_("Please find our data preservation request attached. Please quote our reference "
                       "%(ref)s in your reply.") % {"ref": preservation_request.reference}),
            from_email=sender, to=[to_address], headers={"Message-ID": message_id},
        )
    mail.attach(letter.filename, bytes(letter.content), "application/pdf")
    mail.send()
    return _add(preservation_request, actor=actor, now=now, kind=K.SENT, message_id=message_id.strip("<>"),
                text=to_address, filename=letter.filename, sha256=letter.sha256, size=letter.size)
