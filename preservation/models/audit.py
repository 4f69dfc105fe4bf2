"""The append-only, hash-chained audit log (docs/security.md "Audit").

Each record carries the SHA-256 of the previous one, so changing or removing any row breaks
the chain from that row on; ``manage.py verify_audit`` finds the first broken record. The
application has no code path that changes or deletes a record (save refuses updates, delete
and queryset update/delete raise, the admin is read-only) and on PostgreSQL a trigger refuses
UPDATE, DELETE and TRUNCATE as well, and the application's database role may only INSERT and
SELECT (``manage.py audit_grants``). Each record also carries a MAC keyed outside the database,
and signed checkpoints of the newest record are written outside the database
(docs/security.md "Audit log integrity"). Records are kept for good (CJIS asks for at least a year): there is
no pruning code at all; archiving old years is an operator's job on the database.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from preservation.core.scoping import AgencyScopedQuerySet

__all__ = ["AuditRecord", "AuditOutcome", "AppendOnlyError"]

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit record."""


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")
    DENIED = "denied", _("Denied")


class AuditQuerySet(AgencyScopedQuerySet):
    """An agency's log is read through its agency (preservation.core.scoping); the chain itself
    (appending, verify_audit) and the platform admin read every agency's records, opting out."""

    scope_fields = ("agency",)
    scope_hint = "Read an agency's audit log with AuditRecord.objects.for_agency(agency)."

    def update(self, **kwargs):
        raise AppendOnlyError("Audit records cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit records cannot be deleted.")

    def for_agency(self, agency):
        return self.filter(agency=agency)


class AuditRecord(models.Model):
    at = models.DateTimeField(_("when (UTC)"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    # The name at the time, so the record reads the same if the account is renamed.
    actor_label = models.CharField(_("who (as recorded)"), max_length=150, blank=True)
    agency = models.ForeignKey(
        "preservation.Agency", verbose_name=_("agency"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=50, db_index=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    ip_address = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)
    prev_hash = models.CharField(_("hash of the previous record"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)
    # HMAC-SHA256 of ``hash`` under AUDIT_HMAC_KEY, a secret the database does not hold: whoever
    # rewrites rows and recomputes the chain cannot recompute this (docs/security.md).
    mac = models.CharField(max_length=64, editable=False, default="")

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit log")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["agency", "at"]), models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return "%s %s %s" % (self.at.isoformat(), self.actor_label or "-", self.action)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit records cannot be deleted.")
