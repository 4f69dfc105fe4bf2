"""Documents of a request: the preservation request to Blink, the extension request and the
case sheet. Services that ask for one, render it (bounded, see ``pdf``), store it for good and
record each download; and the context each template gets.

A document is asked for (``document_request``: a "queued" row, rendered after commit by a
Celery task when Redis is configured, else by a background thread), or made on the spot
(``document_generate``, for commands, tests and the benchmark). Either way ``document_render``
does the work: it claims the row, renders in the request's language, stores the bytes with
their SHA-256 under the next version number and writes the history entry, in one transaction.
"""
import hashlib
import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from preservation.core.audit import audit_record
from preservation.documents import pdf
from preservation.jobs import queue
from preservation.models import (
    AgencyBranding,
    DeadlineKind,
    DeliveryState,
    DocumentKind,
    DocumentState,
    GeneratedDocument,
    PreservationRequest,
    RequestEvent,
    RequestState,
)
from preservation.requests import services as request_services
from preservation.rules import deadlines
from preservation.rules.validation import sending_errors

logger = logging.getLogger(__name__)

TEMPLATES = {
    DocumentKind.REQUEST: "preservation/pdf/request.html",
    DocumentKind.EXTENSION: "preservation/pdf/extension.html",
    DocumentKind.CASE_SHEET: "preservation/pdf/case_sheet.html",
}
# The extension request needs Blink's receipt; these states have one and no final answer yet.
EXTENSION_STATES = frozenset(
    {RequestState.PRESERVING, RequestState.EXTENSION_REQUESTED, RequestState.EXTENDED}
)
LETTER_COUNTRIES = frozenset({"US", "CA", "MX", "PH"})

LEGAL_BASIS_US = _(
    "Under 18 U.S.C. § 2703(f), we ask you to take all necessary steps to preserve the records "
    "and other evidence described below, in your possession, pending the issuance of legal "
    "process. Please preserve them for 90 days from receipt of this request. Please do not "
    "disclose this request to the account holder or to any other person, except as required to "
    "comply with it."
)
LEGAL_BASIS_OTHER = _(
    "We are investigating a criminal offence and ask you to preserve the records and other "
    "evidence described below, in your possession, pending legal process to obtain them under "
    "the law that applies. Please preserve them for 90 days from receipt of this request. Please "
    "do not disclose this request to the account holder or to any other person, except as "
    "required to comply with it."
)
DOCUMENT_HEADINGS = {
    DocumentKind.REQUEST: _("Data preservation request"),
    DocumentKind.EXTENSION: _("Request to extend a data preservation"),
    DocumentKind.CASE_SHEET: _("Case sheet"),
}
EXTENSION_BASIS_US = _(
    "This renewed request is made under 18 U.S.C. § 2703(f)(2), which provides for a further "
    "90-day period of preservation."
)


# --- Services --------------------------------------------------------------------------------


def generation_errors(request, kind, *, now):
    """Why ``kind`` cannot be generated for ``request`` now (empty when it can)."""
    if kind not in TEMPLATES:
        return [_("Unknown document.")]
    if kind == DocumentKind.REQUEST and request.state == RequestState.DRAFT:
        problems = sending_errors(request, now=now)
        if problems:
            return [_("Complete the request before printing it: %(problems)s") % {
                "problems": " ".join(str(m) for errors in problems.values() for e in errors for m in e.messages)
            }]
    if kind == DocumentKind.EXTENSION and request.state not in EXTENSION_STATES:
        if request.received_on is None:
            return [_("An extension request needs Blink's receipt of the request: record it first.")]
        return [_("An extension request is only for a preservation that is still running.")]
    return []


def _create(*, request, kind, actor, now):
    errors = generation_errors(request, kind, now=now)
    if errors:
        raise ValidationError(errors, code="cannot_generate")
    return GeneratedDocument.objects.create(
        request=request, kind=kind, language=request.language, requested_by=actor, requested_at=now,
    )


@transaction.atomic
def document_request(*, request, kind, actor, now=None):
    """Queue a document; it is rendered in the background once this transaction commits."""
    document = _create(request=request, kind=kind, actor=actor, now=now or timezone.now())
    queue.defer("render_document", document.pk)
    return document


def document_generate(*, request, kind, actor, now=None):
    """Render and store a document now, in this thread (still in a bounded child process)."""
    now = now or timezone.now()
    with transaction.atomic():
        document = _create(request=request, kind=kind, actor=actor, now=now)
    return document_render(document_id=document.pk, now=now)


def document_render(*, document_id, now=None):
    """Claim a queued document, render and store it. Returns it, or None if it was not queued
    (another worker has it, or it is finished)."""
    claimed = _row(document_id).filter(state=DocumentState.QUEUED).update(
        state=DocumentState.RENDERING, started_at=timezone.now(), progress=1,
    )
    if not claimed:
        return None
    document = _row(document_id).select_related("request__agency", "requested_by").get()
    now = now or timezone.now()
    try:
        rendered = _render(document, now, partial(_set_progress, document_id))
    except pdf.RenderError as error:
        logger.warning("Document %s failed to render: %s", document_id, error.code)
        return _fail(document_id, error.code)
    except Exception:
        _fail(document_id, "error")
        raise
    return _store(document, rendered, now)


def _render(document, now, on_progress):
    request = document.request
    with translation.override(document.language):
        context = document_context(request, document.kind, now=now)
        return pdf.render_pdf(
            TEMPLATES[document.kind], context, language=document.language,
            zone=request.agency.time_zone, on_progress=on_progress,
        )


def _row(document_id):
    # The worker is given an id only (nothing personal goes through the broker), so it reads
    # the row across agencies; the row then leads to its one request and agency.
    return GeneratedDocument.objects.across_agencies().filter(pk=document_id)


def _set_progress(document_id, percent):
    _row(document_id).filter(state=DocumentState.RENDERING).update(progress=percent)


def _fail(document_id, code):
    _row(document_id).filter(
        state__in=[DocumentState.QUEUED, DocumentState.RENDERING]
    ).update(state=DocumentState.FAILED, error=code[:30])
    return _row(document_id).defer("content").get()


@transaction.atomic
def _store(document, rendered, now):
    # Lock the request so two documents finishing together cannot take the same version.
    request = document.request
    PreservationRequest.objects.select_for_update().filter(pk=request.pk, agency=request.agency_id).exists()
    version = 1 + (GeneratedDocument.objects.filter(
        request_id=document.request_id, kind=document.kind, state=DocumentState.DONE,
    ).aggregate(last=Max("version"))["last"] or 0)
    digest = hashlib.sha256(rendered.content).hexdigest()
    stored = _row(document.pk).filter(state=DocumentState.RENDERING).update(
        state=DocumentState.DONE, version=version, content=rendered.content, sha256=digest,
        size=len(rendered.content), pages=rendered.pages, generated_at=now, progress=100,
    )
    if not stored:
        return _row(document.pk).defer("content").get()
    document = _row(document.pk).select_related("request__agency", "requested_by").get()
    _history(document, RequestEvent.Action.DOCUMENT_GENERATED, actor=document.requested_by, now=now)
    _audit("document_generated", document, actor=document.requested_by, now=now)
    return document


def document_record_download(*, document, actor, now=None, http_request=None):
    """A person downloaded a stored document: kept in the request's history and the audit log."""
    now = now or timezone.now()
    with transaction.atomic():
        _history(document, RequestEvent.Action.DOCUMENT_DOWNLOADED, actor=actor, now=now)
        _audit("document_downloaded", document, actor=actor, now=now, http_request=http_request)


def _history(document, action, *, actor, now):
    RequestEvent.objects.create(
        request_id=document.request_id, actor=actor, at=now, action=action,
        data={"document": document.pk, "kind": document.kind, "version": document.version,
              "sha256": document.sha256},
    )


def _audit(action, document, *, actor, now, http_request=None):
    audit_record(
        action=action, actor=actor, agency=document.request.agency, obj=document,
        request=http_request, now=now,
        message="%s %s v%s sha256=%s" % (document.request.reference, document.kind, document.version, document.sha256),
    )


# --- Template context ---------------------------------------------------------------------------


def document_context(request, kind, *, now):
    """What the template of ``kind`` needs. Call inside the document's language."""
    context = _common_context(request, kind, now)
    if kind == DocumentKind.EXTENSION:
        context.update(_extension_context(request))
    if kind == DocumentKind.CASE_SHEET:
        context.update(_case_sheet_context(request, now))
    return context


def _common_context(request, kind, now):
    agency = request.agency
    logo = getattr(getattr(agency, "branding", None), "logo", None)
    heading = DOCUMENT_HEADINGS[kind]
    return {
        "kind": kind,
        "language": translation.get_language(),
        "heading": heading,
        "document_title": "%s %s" % (heading, request.reference),
        "subject": (_("CRIM# %(case)s") % {"case": request.case_number}) if request.case_number else request.reference,
        "preservation_request": request,
        "agency": agency,
        "agency_zone": agency.time_zone,
        "logo_url": (pdf.MEDIA_PREFIX + logo.name) if logo else "",
        "paper": "letter" if agency.country in LETTER_COUNTRIES else "A4",
        "generated_at": now,
        "window_zone": request.window_zone,
        "serials": [
            {"display": s.display, "model_label": s.get_model_display() if s.model else ""}
            for s in request.serials.all()
        ],
        "data_types": _data_types(request.data_types),
        "legal_basis": agency.legal_basis or (LEGAL_BASIS_US if agency.country == "US" else LEGAL_BASIS_OTHER),
        **pdf.PAGE_MARKERS,
    }


def _data_types(codes):
    known = {code for code, _label, _text in deadlines.DATA_TYPES}
    return [
        (deadlines.data_type_label(code), deadlines.data_type_explanation(code))
        for code in codes if code in known
    ]


def _extension_context(request):
    zone = request.agency.time_zone
    clock = deadlines.preservation_clock(
        received_on=request.received_on, sent_on=None, extended=True,
        preservation_days=settings.PRESERVE["PRESERVATION_DAYS"],
        lead_days=settings.PRESERVE["EXTENSION_LEAD_DAYS"],
    )
    return {
        "sent_on": deadlines.local_date(request.sent_at, zone) if request.sent_at else None,
        "received_on": request.received_on,
        "expires_on": clock.expires_on,
        "final_expires_on": clock.final_expires_on,
        "extension_days": settings.PRESERVE["PRESERVATION_DAYS"],
        "legal_basis_extension": EXTENSION_BASIS_US if request.agency.country == "US" else "",
    }


def _case_sheet_context(request, now):
    report = request_services.request_report(request, now=now)
    explanations = []
    if report:
        clock_explanations = report.clock.explanations if report.clock else ()
        explanations = [e.text for e in report.retention.explanations + clock_explanations]
    return {
        "deadlines": _deadlines(request),
        "explanations": explanations,
        "timeline": _timeline(request),
        "events": request.events.select_related("actor").order_by("at", "pk"),
        "reminders": _sent_reminders(request),
        "correspondence": request.correspondence.without_content().select_related("actor", "inbound_message")
        .order_by("at", "pk"),
    }


def _deadlines(request):
    rows = [
        (DeadlineKind.FIRST_LOSS.label, request.first_loss_at, True),
        (DeadlineKind.TOTAL_LOSS.label, request.total_loss_at, True),
        (DeadlineKind.EXTENSION_SEND_BY.label, request.extension_send_by, False),
        (DeadlineKind.EXPIRES.label, request.expires_on, False),
        (DeadlineKind.FINAL_EXPIRES.label, request.final_expires_on, False),
    ]
    return [row for row in rows if row[1] is not None]


def _timeline(request):
    field = PreservationRequest._meta.get_field
    return [
        (_("Created"), request.created_at, True),
        (field("sent_at").verbose_name, request.sent_at, True),
        (field("received_on").verbose_name, request.received_on, False),
        (field("extension_sent_at").verbose_name, request.extension_sent_at, True),
        (field("extension_received_on").verbose_name, request.extension_received_on, False),
        (field("legal_process_served_on").verbose_name, request.legal_process_served_on, False),
        (field("closed_at").verbose_name, request.closed_at, True),
    ]


def _sent_reminders(request):
    return list(request.reminders.filter(
        state__in=[DeliveryState.SENT, DeliveryState.LATE]
    ).order_by("sent_at", "pk"))


# --- Agency letterhead ----------------------------------------------------------------------------


@transaction.atomic
def agency_logo_save(*, agency, actor, image, now=None):
    """Store a (re-encoded PNG) logo for the agency's letterhead, replacing any previous one."""
    now = now or timezone.now()
    branding, _created = AgencyBranding.objects.select_for_update().get_or_create(
        agency=agency, defaults={"updated_at": now, "updated_by": actor},
    )
    previous = branding.logo.name if branding.logo else ""
    branding.logo.save("logo.png", ContentFile(image), save=False)
    branding.updated_at, branding.updated_by = now, actor
    branding.save()
    if previous:
        # Generated documents carry their logo in their own bytes; the old file is not needed.
        transaction.on_commit(partial(branding.logo.storage.delete, previous))
    _audit_agency("agency_logo_changed", agency, actor=actor, now=now)
    return branding


def _audit_agency(action, agency, *, actor, now):
    audit_record(action=action, actor=actor, agency=agency, obj=agency, now=now)
