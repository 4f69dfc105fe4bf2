"""Manifests of evidence seized outside Blink's cloud (docs/blink.md §6): a USB drive indexed by
``manage.py index_usb`` and attached to a request.

A manifest is a record of what was on the drive when it was indexed: its rows, summary and
the exact CSV and PDF bytes (with their SHA-256) are written once and never changed.
"""
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from preservation.core.scoping import AgencyScopedQuerySet
from preservation.evidence import usb
from preservation.models.core import PreservationRequest, RequestRowQuerySet

__all__ = ["EvidenceManifest", "EvidenceFile", "ImmutableManifestError"]


class ImmutableManifestError(Exception):
    """Raised on any attempt to change or delete a stored manifest or one of its file rows
    through the ORM (on PostgreSQL a trigger refuses any other way too, migration 0004_manifest_immutable)."""


STORED = "An evidence manifest and its file rows are stored and cannot be changed or deleted."


class _Immutable:
    """Queryset half of the guard: no update() or delete() of stored rows, on any database."""

    def update(self, **kwargs):
        raise ImmutableManifestError(STORED)

    def delete(self):
        raise ImmutableManifestError(STORED)


class _StoredOnce:
    """Model half of the guard: a row is inserted once, then never saved again or deleted."""

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableManifestError(STORED)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableManifestError(STORED)


class EvidenceManifestQuerySet(_Immutable, RequestRowQuerySet):
    def for_agency(self, agency):
        return self.filter(request__agency=agency)

    def without_content(self):
        """Pages need the facts, not the CSV and PDF bytes."""
        return self.defer("csv_content", "pdf_content")


class EvidenceManifest(_StoredOnce, models.Model):
    public_id = models.UUIDField(_("ID"), default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.PROTECT,
        related_name="evidence_manifests",
    )
    created_at = models.DateTimeField(_("attached"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("attached by"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    # The username at the time, or "command line" when an operator ran it without --user.
    actor_label = models.CharField(_("attached by (as recorded)"), max_length=150)
    indexed_at = models.DateTimeField(_("indexed"))
    source_path = models.TextField(_("drive or folder indexed"))
    zone = models.CharField(_("time zone"), max_length=64)
    window_start = models.DateTimeField(_("window start"), null=True, blank=True)
    window_end = models.DateTimeField(_("window end"), null=True, blank=True)
    camera = models.CharField(_("camera filter"), max_length=200, blank=True)
    summary = models.JSONField(_("summary"), default=dict)
    csv_content = models.BinaryField(_("CSV manifest"), editable=False)
    csv_sha256 = models.CharField(_("CSV SHA-256"), max_length=64)
    # A PDF that could not be rendered (a huge drive: RenderError code here) never costs the
    # rows and the CSV, which are the manifest itself.
    pdf_content = models.BinaryField(_("PDF manifest"), null=True, editable=False)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    pdf_error = models.CharField(_("why the PDF is missing"), max_length=30, blank=True)

    objects = EvidenceManifestQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence manifest")
        verbose_name_plural = _("evidence manifests")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return "USB manifest %s" % self.short_id

    @property
    def short_id(self):
        return self.public_id.hex[:8]

    @property
    def filename_stem(self):
        return "%s-usb-manifest-%s" % (self.request.reference, self.short_id)

    # PostgreSQL's jsonb does not keep key order: the counts are sorted when read.
    def kind_counts(self):
        return [(usb.KINDS.get(kind, kind), n) for kind, n in sorted(self.summary.get("by_kind", {}).items())]

    def camera_counts(self):
        return sorted(self.summary.get("by_camera", {}).items())

    def day_counts(self):
        return sorted(self.summary.get("by_day", {}).items())

    def problem_counts(self):
        return [(usb.PROBLEM_LABELS.get(code, code), n)
                for code, n in sorted(self.summary.get("problems", {}).items())]


class EvidenceFileQuerySet(_Immutable, AgencyScopedQuerySet):
    scope_fields = ("manifest", "preservation.PreservationRequest.agency")


class EvidenceFile(_StoredOnce, models.Model):
    """One file, link or unreadable entry met on the drive."""

    manifest = models.ForeignKey(
        EvidenceManifest, verbose_name=_("evidence manifest"), on_delete=models.CASCADE, related_name="files"
    )
    position = models.PositiveIntegerField(_("position"))
    path = models.TextField(_("path"))
    kind = models.CharField(_("kind"), max_length=20, choices=list(usb.KINDS.items()))
    camera = models.TextField(_("camera"), blank=True)
    clip_number = models.CharField(_("clip number"), max_length=20, blank=True)
    camera_uid = models.CharField(_("camera UID"), max_length=64, blank=True)
    recorded_at = models.DateTimeField(_("recorded (UTC)"), null=True, blank=True)
    recorded_at_alt = models.DateTimeField(_("or recorded (UTC)"), null=True, blank=True)
    size = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    in_window = models.BooleanField(_("in the window"), null=True)
    camera_match = models.BooleanField(_("camera matches"), default=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)

    objects = EvidenceFileQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["manifest", "position"]
        constraints = [
            models.UniqueConstraint(fields=["manifest", "position"], name="evidence_file_position_unique"),
        ]
        indexes = [models.Index(fields=["sha256"])]

    def __str__(self):
        return self.path
