"""Correspondence: what passed between the agency and the provider after a request was made
(docs/correspondence.md).

``CorrespondenceEntry`` is the log of one request: notes, attachments, provider references,
messages received and letters sent by email. An entry is never changed or deleted; a mistake is
put right by a new entry that names the one it corrects.

``InboundMessage`` is one email as it arrived (upload, IMAP or the SMTP/LMTP listener), stored
byte for byte with its SHA-256 before it is parsed; it belongs to the agency whose channel
received it and waits in that agency's inbox until it is matched to one of its requests.
"""
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from preservation.core.scoping import AgencyScopedQuerySet
from preservation.models.core import Agency, PreservationRequest, RequestRowQuerySet

__all__ = [
    "AgencyMailAddress", "CorrespondenceKind", "CorrespondenceEntry", "ImmutableEntryError",
    "InboundChannel", "InboundMessage", "MatchRule",
]


class ImmutableEntryError(Exception):
    """Raised on any attempt to change or delete a correspondence entry or a stored message."""


def new_mail_token():
    return secrets.token_hex(16)


class AgencyMailAddress(models.Model):
    """The secret local part under which ``receive_mail`` accepts an agency's forwarded mail:
    a message to <token>@<any domain> lands in this agency's inbox and nowhere else."""

    agency = models.OneToOneField(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="mail_address"
    )
    token = models.CharField(max_length=64, unique=True, default=new_mail_token, editable=False)
    # The agency's own mailbox: letters sent by email come from it, so replies arrive there.
    from_address = models.EmailField(_("agency mailbox address"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("agency mail address")
        verbose_name_plural = _("agency mail addresses")

    def __str__(self):
        return str(self.agency)


class InboundChannel(models.TextChoices):
    UPLOAD = "upload", _("Uploaded file")
    IMAP = "imap", _("Agency mailbox (IMAP)")
    SMTP = "smtp", _("Forwarded to the mail listener")


class MatchRule(models.TextChoices):
    REFERENCE = "reference", _("Our reference in the subject or text")
    THREAD = "thread", _("Reply to a message we sent")
    CASE_NUMBER = "case_number", _("CRIM# in the subject or text")
    IDENTIFIER = "identifier", _("Serial or account of an open request")
    MANUAL = "manual", _("Attached by hand")


class InboundMessageQuerySet(AgencyScopedQuerySet):
    scope_fields = ("agency",)

    def for_agency(self, agency):
        return self.filter(agency=agency)

    def without_raw(self):
        return self.defer("raw")


class InboundMessage(models.Model):
    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="inbound_messages"
    )
    channel = models.CharField(_("arrived by"), max_length=10, choices=InboundChannel.choices)
    received_at = models.DateTimeField(_("received"))
    raw = models.BinaryField(_("message as received"), editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    # What parsing found; empty until parsed, and for a message that could not be parsed.
    parsed = models.BooleanField(_("parsed"), default=False)
    parse_problems = models.JSONField(default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    from_address = models.CharField(_("from"), max_length=320, blank=True)
    sent_date = models.DateTimeField(_("dated"), null=True, blank=True)
    message_id = models.CharField(max_length=500, blank=True, db_index=True)
    thread_ids = models.JSONField(default=list, blank=True)
    text = models.TextField(_("text"), blank=True)
    attachments = models.JSONField(default=list, blank=True)
    authentication = models.JSONField(default=dict, blank=True)
    sender_verified = models.BooleanField(_("sender verified"), default=False)
    # Where it was matched to, by which rule; empty while it waits in the agency's inbox.
    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="inbound_messages",
    )
    match_rule = models.CharField(_("matched by"), max_length=20, choices=MatchRule.choices, blank=True)

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("received message")
        verbose_name_plural = _("received messages")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["agency", "request", "-received_at"])]

    def __str__(self):
        return self.subject or self.sha256[:12]

    def delete(self, *args, **kwargs):
        raise ImmutableEntryError("Received messages are kept.")


class CorrespondenceKind(models.TextChoices):
    NOTE = "note", _("Note")
    ATTACHMENT = "attachment", _("Attachment")
    REFERENCE = "reference", _("Provider reference")
    RECEIVED = "received", _("Message received")
    SENT = "sent", _("Letter sent by email")
    CORRECTION = "correction", _("Correction")


class CorrespondenceQuerySet(RequestRowQuerySet):
    def delete(self):
        raise ImmutableEntryError("Correspondence entries cannot be deleted.")

    def update(self, **kwargs):
        raise ImmutableEntryError("Correspondence entries cannot be changed.")

    def without_content(self):
        return self.defer("content")


class CorrespondenceEntry(models.Model):
    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.PROTECT,
        related_name="correspondence",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=CorrespondenceKind.choices)
    at = models.DateTimeField(_("recorded"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="+",
    )
    text = models.TextField(_("text"), blank=True)
    # Attachments: the bytes as uploaded, never served inline.
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    content = models.BinaryField(null=True, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), null=True, blank=True)
    # Provider references, with the date the provider gave them.
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    given_on = models.DateField(_("given on"), null=True, blank=True)
    # Messages: the received message, or the Message-ID of the one we sent.
    inbound_message = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    message_id = models.CharField(max_length=500, blank=True, db_index=True)
    corrects = models.ForeignKey(
        "self", verbose_name=_("corrects"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="corrections",
    )

    objects = CorrespondenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("correspondence entry")
        verbose_name_plural = _("correspondence")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="attachment")
                | (models.Q(content__isnull=False) & ~models.Q(sha256="")),
                name="correspondence_attachment_complete",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="reference") | ~models.Q(reference=""),
                name="correspondence_reference_given",
            ),
        ]

    def __str__(self):
        return "%s %s" % (self.request, self.get_kind_display())

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEntryError("Correspondence entries are corrected by a new entry.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEntryError("Correspondence entries cannot be deleted.")
