"""USB evidence manifests attached to a request (docs/blink.md §6).

``manifest_attach`` stores what ``usb.index_tree`` found: every row, the summary, and the exact
CSV and PDF bytes with their SHA-256, plus a history entry and an audit record, in one
transaction. The PDF prints the CSV's SHA-256, so the two documents vouch for each other;
the PDF's own hash is kept on the row and shown on the request page.

(``preservation/rules/premises.py`` already holds the premises checklist, so these services live here.)
"""
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from preservation.core.audit import audit_record
from preservation.documents import pdf
from preservation.documents.services import LETTER_COUNTRIES
from preservation.evidence import usb
from preservation.models import EvidenceFile, EvidenceManifest, PreservationRequest, RequestEvent

COMMAND_LINE = "command line"
PDF_TEMPLATE = "preservation/evidence/manifest_pdf.html"
# WeasyPrint took 13 ms of CPU and 0.25 MB per row for 2,000 rows: grant the manifest limits by
# size, with headroom, up to a ceiling past which the PDF is given up (the CSV stays complete).
PDF_CPU_MS_PER_ROW = 30
PDF_KB_PER_ROW = 400
PDF_MAX_MEMORY_MB = 4096


def _sha256(content):
    return hashlib.sha256(content).hexdigest()


def manifest_language(preservation_request, actor):
    return actor.language if actor else preservation_request.language


def manifest_csv(manifest, *, language):
    with translation.override(language):
        return usb.to_csv(manifest)


def manifest_pdf(manifest, *, preservation_request, csv_sha256, actor_label, language, now):
    """The PDF manifest as bytes, rendered by ``pdf`` (locked-down fetcher, bounded child)."""
    context = manifest_pdf_context(manifest, preservation_request=preservation_request, csv_sha256=csv_sha256,
                                   actor_label=actor_label, language=language, now=now)
    html = pdf.render_html(PDF_TEMPLATE, context, language=language, zone=manifest.zone)
    return pdf.render_bounded(html, limits=pdf_limits(len(manifest.rows))).content


def pdf_limits(rows):
    limits = settings.PRESERVE_PDF
    cpu = rows * PDF_CPU_MS_PER_ROW // 1000
    return {
        "CPU_SECONDS": limits["CPU_SECONDS"] + cpu,
        "WALL_SECONDS": limits["WALL_SECONDS"] + 2 * cpu,
        "MEMORY_MB": min(PDF_MAX_MEMORY_MB, limits["MEMORY_MB"] + rows * PDF_KB_PER_ROW // 1024),
    }


def manifest_pdf_context(manifest, *, preservation_request, csv_sha256, actor_label, language, now):
    """``request`` may be None: a manifest written to a file before any request exists."""
    agency = preservation_request.agency if preservation_request else None
    title = _("USB evidence manifest")
    return {
        "language": language,
        "document_title": "%s %s" % (title, preservation_request.reference) if preservation_request else title,
        "preservation_request": preservation_request,
        "agency": agency,
        "paper": "letter landscape" if agency and agency.country in LETTER_COUNTRIES else "A4 landscape",
        "generated_at": now,
        "manifest": manifest,
        "rows": [_pdf_row(row) for row in manifest.rows],
        "summary": manifest.summary,
        "by_kind": [(usb.KINDS[kind], n) for kind, n in manifest.summary["by_kind"].items()],
        "problem_counts": [(usb.PROBLEM_LABELS[code], n) for code, n in manifest.summary["problems"].items()],
        "csv_sha256": csv_sha256,
        "actor_label": actor_label,
        **pdf.PAGE_MARKERS,
    }


def _pdf_row(row):
    return {
        "row": row, "kind_label": usb.KINDS[row.kind],
        "problems": [usb.problem_text(p) for p in row.problems],
        "window_label": usb.WINDOW_LABELS[usb.window_cell(row)],
    }


def _check_actor(preservation_request, actor):
    if actor is not None and (actor.agency_id != preservation_request.agency_id or not actor.is_active):
        raise ValidationError(
            _("%(user)s cannot attach evidence to %(reference)s: only active members of its agency can."),
            code="other_agency", params={"user": actor.get_username(), "reference": preservation_request.reference},
        )


def _documents(manifest, *, preservation_request, actor_label, language, now):
    """The CSV bytes and the PDF bytes (or None and why not). Rendering takes seconds: it is
    done before the transaction, so the request is locked only briefly."""
    csv_content = manifest_csv(manifest, language=language)
    try:
        pdf_content = manifest_pdf(manifest, preservation_request=preservation_request, csv_sha256=_sha256(csv_content),
                                   actor_label=actor_label, language=language, now=now)
    except pdf.RenderError as exc:
        return csv_content, None, exc.code
    return csv_content, pdf_content, ""


def manifest_attach(*, preservation_request, manifest, actor, now):
    """Store ``manifest`` (a ``usb.Manifest``) on ``request``. ``actor`` is a user of the
    request's agency, or None for an operator at the command line (recorded as such)."""
    _check_actor(preservation_request, actor)
    actor_label = actor.get_username() if actor else COMMAND_LINE
    csv_content, pdf_content, pdf_error = _documents(
        manifest, preservation_request=preservation_request, actor_label=actor_label, language=manifest_language(preservation_request, actor), now=now)
    with transaction.atomic():
        locked = PreservationRequest.objects.for_agency(preservation_request.agency_id).select_for_update().get(pk=preservation_request.pk)
        stored = EvidenceManifest.objects.create(
            request=locked, created_at=now, created_by=actor, actor_label=actor_label,
            indexed_at=manifest.indexed_at, source_path=manifest.root, zone=manifest.zone,
            window_start=manifest.window_start, window_end=manifest.window_end,
            camera=manifest.camera, summary=manifest.summary,
            csv_content=csv_content, csv_sha256=_sha256(csv_content), pdf_content=pdf_content,
            pdf_sha256=_sha256(pdf_content) if pdf_content else "", pdf_error=pdf_error,
        )
        EvidenceFile.objects.bulk_create(_file_rows(stored, manifest.rows), batch_size=1000)
        reason = _("USB evidence manifest") if actor else _(
            "USB evidence manifest, attached at the command line")
        _history(stored, RequestEvent.Action.DOCUMENT_GENERATED, actor=actor, now=now, reason=reason)
        audit_record(action="manifest_attached", actor=actor, agency=locked.agency, obj=stored,
                     object_type="evidencemanifest", object_id=str(stored.public_id), now=now,
                     message="%s files, CSV %s, PDF %s" % (
                         manifest.summary["files"], stored.csv_sha256, stored.pdf_sha256 or pdf_error))
    return stored


def _file_rows(stored, rows):
    for position, row in enumerate(rows):
        yield EvidenceFile(
            manifest=stored, position=position, path=row.path, kind=row.kind, camera=row.camera,
            clip_number=row.clip_number, camera_uid=row.camera_uid, recorded_at=row.recorded_at,
            recorded_at_alt=row.recorded_at_alt, size=row.size, sha256=row.sha256,
            in_window=row.in_window, camera_match=row.camera_match, problems=row.problems,
        )


def _history(stored, action, *, actor, now, reason, data=None):
    RequestEvent.objects.create(
        request_id=stored.request_id, actor=actor, at=now, action=action, reason=str(reason),
        data={"manifest": str(stored.public_id), "files": stored.summary.get("files"), **(data or {}),
              "csv_sha256": stored.csv_sha256, "pdf_sha256": stored.pdf_sha256},
    )


def manifest_record_download(*, manifest, actor, now, fmt, http_request=None):
    """Someone downloaded the CSV or PDF: kept in the request's history and the audit log."""
    with transaction.atomic():
        _history(manifest, RequestEvent.Action.DOCUMENT_DOWNLOADED, actor=actor, now=now,
                 reason=_("USB evidence manifest (%(format)s)") % {"format": fmt.upper()},
                 data={"format": fmt})
        audit_record(action="manifest_downloaded", actor=actor, agency=manifest.request.agency,
                     obj=manifest, object_type="evidencemanifest", object_id=str(manifest.public_id),
                     request=http_request, now=now, message=fmt)
