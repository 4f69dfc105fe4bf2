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
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from preservation.core.audit import audit_record
from preservation.documents import pdf
from preservation.jobs import queue
from preservation.models import (
    Agency,
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
from preservation.requests.selectors import request_clock_terms
from preservation.rules import catalogue, deadlines
from preservation.rules.validation import sending_errors

logger = logging.getLogger(__name__)

TEMPLATES = {
    DocumentKind.REQUEST: "preservation/pdf/request.html",
    DocumentKind.EXTENSION: "preservation/pdf/extension.html",
    DocumentKind.CASE_SHEET: "preservation/pdf/case_sheet.html",
    DocumentKind.EPOC_PR_CERTIFICATE: "preservation/pdf/epoc_pr_certificate.html",
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
# docs/providers.md §8: the letter's first paragraph under each legal basis.
LEGAL_BASIS_EPOC_PR = _(
    "This is a European Preservation Order under Regulation (EU) 2023/1543. Please preserve the "
    "data described below, in your possession, for 60 days from receipt, pending a request for "
    "production; the certificate (EPOC-PR) signed by the issuing authority accompanies it. Please "
    "do not disclose this order to the account holder or to any other person."
)
LEGAL_BASIS_NATIONAL = _(
    "Under the national preservation order issued in this investigation, we ask you to preserve "
    "the records and other evidence described below, in your possession, for %(days)d days from "
    "receipt of this request, pending legal process. Please do not disclose this request to the "
    "account holder or to any other person, except as required to comply with it."
)
LEGAL_BASIS_CYBERTIPLINE = _(
    "This request concerns a report to the CyberTipline. Under 18 U.S.C. § 2258A(h), as amended "
    "by the REPORT Act, the contents of the report are to be preserved for one year; we ask you to "
    "preserve the records and other evidence described below as well. Please do not disclose this "
    "request to the account holder or to any other person, except as required to comply with it."
)
LEGAL_BASIS_VOLUNTARY = _(
    "We are investigating a criminal offence and ask you, under your own data preservation "
    "policy, to preserve the records and other evidence described below, in your possession, "
    "pending legal process to obtain them under the law that applies. Please tell us how long you "
    "will preserve them. Please do not disclose this request to the account holder or to any other "
    "person, except as required to comply with it."
)
PRESERVATION_NOTE = _(
    "Please preserve these records for every device and account identified above, including data "
    "that has been deleted but is still recoverable, for %(days)d days from receipt of this request."
)
NO_EXTENSION = _("No extension is known under this legal basis for this provider.")
ADDRESSEE_BLINK = _("Blink, an Amazon company: law enforcement requests")
ADDRESSEE = _("%(provider)s: law enforcement requests")
# Annex II asks for the categories of data; the request's data types fall into them so.
EPOC_PR_CATEGORIES = (
    (_("Subscriber data"), {"subscriber"}),
    (_("Data requested for the sole purpose of identifying the user"), {"sign_ins"}),
    (_("Traffic data"), {"device_records", "event_metadata", "activity_logs"}),
    (_("Content data"), {"video_clips", "live_view", "thumbnails", "local_storage_manifests"}),
)
DOCUMENT_HEADINGS = {
    DocumentKind.EPOC_PR_CERTIFICATE: _("European Preservation Order Certificate (EPOC-PR)"),
    DocumentKind.REQUEST: _("Data preservation request"),
    DocumentKind.EXTENSION: _("Request to extend a data preservation"),
    DocumentKind.CASE_SHEET: _("Case sheet"),
}
EXTENSION_BASIS_US = _(
    "This renewed request is made under 18 U.S.C. § 2703(f)(2), which provides for a further "
    "90-day period of preservation."
)


# --- Services --------------------------------------------------------------------------------


def generation_errors(preservation_request, kind, *, now):
    """Why ``kind`` cannot be generated for ``request`` now (empty when it can)."""
    if kind not in TEMPLATES:
        return [_("Unknown document.")]
    if kind == DocumentKind.EPOC_PR_CERTIFICATE and preservation_request.legal_basis != catalogue.EPOC_PR:
        return [_("Only for a request under a European Preservation Order.")]
    if kind in (DocumentKind.REQUEST, DocumentKind.EPOC_PR_CERTIFICATE) and preservation_request.state == RequestState.DRAFT:
        problems = sending_errors(preservation_request, now=now)
        if problems:
            return [_("Complete the request before printing it: %(problems)s") % {
                "problems": " ".join(str(m) for errors in problems.values() for e in errors for m in e.messages)
            }]
    if kind == DocumentKind.EXTENSION and preservation_request.received_on and not request_clock_terms(preservation_request).extensions:
        return [NO_EXTENSION]
    if kind == DocumentKind.EXTENSION and preservation_request.state not in EXTENSION_STATES:
        if preservation_request.received_on is None:
            return [_("An extension request needs Blink's receipt of the request: record it first.")]
        return [_("An extension request is only for a preservation that is still running.")]
    return []


# --- Render limits (docs/security.md "Bounded work") ---------------------------------------------


def pending_is_stale(document, now):
    """A pending document whose worker cannot still be running (it died, or the server stopped)."""
    limit = timedelta(seconds=settings.PRESERVE_PDF["WALL_SECONDS"] + 120)
    return document.is_pending and now - document.requested_at > limit


def _pending(now):
    """Pending documents that may still be rendered (the stale ones no longer count)."""
    cutoff = now - timedelta(seconds=settings.PRESERVE_PDF["WALL_SECONDS"] + 120)
    return GeneratedDocument.objects.across_agencies().filter(
        state__in=[DocumentState.QUEUED, DocumentState.RENDERING], requested_at__gte=cutoff)


def _too_many(message):
    return ValidationError(message, code="too_many_renders")

def applicable_kinds(preservation_request):
    """The documents a request can have: the EPOC-PR certificate only under that basis."""
    return [(kind, label) for kind, label in DocumentKind.choices
            if kind != DocumentKind.EPOC_PR_CERTIFICATE or preservation_request.legal_basis == catalogue.EPOC_PR]


def _create(*, preservation_request, kind, actor, now):
    """(document, created): a new pending document, or the one already pending for this request
    and kind (a second click queues nothing). Refused when the user or the agency has too many
    pending."""
    errors = generation_errors(preservation_request, kind, now=now)
    if errors:
        raise ValidationError(errors, code="cannot_generate")
    # One agency's queue is decided one at a time: the limits cannot be overrun by parallel clicks.
    Agency.objects.select_for_update().filter(pk=preservation_request.agency_id).exists()
    same = GeneratedDocument.objects.for_agency(preservation_request.agency_id).filter(
        request=preservation_request, kind=kind, state__in=[DocumentState.QUEUED, DocumentState.RENDERING])
    for document in same:
        if not pending_is_stale(document, now):
            return document, False
    # Its worker is gone: it will never finish, so it must not hold the place of a new one.
    _row_set(same).update(state=DocumentState.FAILED, error="interrupted")
    limits = settings.PRESERVE_PDF
    pending = _pending(now)
    if pending.filter(requested_by=actor).count() >= limits["MAX_PENDING_PER_USER"]:
        raise _too_many(_("%(n)d of your documents are being generated: wait until one is ready, then try again.")
                        % {"n": limits["MAX_PENDING_PER_USER"]})
    if pending.filter(request__agency_id=preservation_request.agency_id).count() >= limits["MAX_PENDING_PER_AGENCY"]:
        raise _too_many(_("%(n)d documents of your agency are being generated: wait a minute, then try again.")
                        % {"n": limits["MAX_PENDING_PER_AGENCY"]})
    return GeneratedDocument.objects.create(
        request=preservation_request, kind=kind, language=preservation_request.language, requested_by=actor, requested_at=now,
    ), True


def _row_set(queryset):
    return GeneratedDocument.objects.across_agencies().filter(pk__in=list(queryset.values_list("pk", flat=True)))


@transaction.atomic
def document_request(*, preservation_request, kind, actor, now=None):
    """Queue a document; it is rendered in the background once this transaction commits. Asking
    again while it is pending returns the same document and queues nothing."""
    document, created = _create(preservation_request=preservation_request, kind=kind, actor=actor, now=now or timezone.now())
    if created:
        queue.defer("render_document", document.pk)
    return document


def document_generate(*, preservation_request, kind, actor, now=None):
    """Render and store a document now, in this thread (still in a bounded child process)."""
    now = now or timezone.now()
    with transaction.atomic():
        document, _created = _create(preservation_request=preservation_request, kind=kind, actor=actor, now=now)
    return document_render(document_id=document.pk, now=now) or _row(document.pk).defer("content").get()


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


def document_context(preservation_request, kind, *, now):
    """What the template of ``kind`` needs. Call inside the document's language."""
    context = _common_context(preservation_request, kind, now)
    if kind == DocumentKind.EXTENSION:
        context.update(_extension_context(preservation_request))
    if kind == DocumentKind.CASE_SHEET:
        context.update(_case_sheet_context(preservation_request, now))
    if kind == DocumentKind.EPOC_PR_CERTIFICATE:
        context.update(_epoc_pr_context(preservation_request))
    return context


def _common_context(preservation_request, kind, now):
    agency = preservation_request.agency
    logo = getattr(getattr(agency, "branding", None), "logo", None)
    heading = DOCUMENT_HEADINGS[kind]
    return {
        "kind": kind,
        "language": translation.get_language(),
        "heading": heading,
        "document_title": "%s %s" % (heading, preservation_request.reference),
        "subject": (_("CRIM# %(case)s") % {"case": preservation_request.case_number}) if preservation_request.case_number else preservation_request.reference,
        "preservation_request": preservation_request,
        "agency": agency,
        "agency_zone": agency.time_zone,
        "logo_url": (pdf.MEDIA_PREFIX + logo.name) if logo else "",
        "paper": "letter" if agency.country in LETTER_COUNTRIES else "A4",
        "generated_at": now,
        "window_zone": preservation_request.window_zone,
        "serials": [
            {"display": s.display, "model_label": s.get_model_display() if s.model else "",
             "kind_label": s.get_kind_display() if s.kind != catalogue.BLINK_SERIAL else ""}
            for s in preservation_request.serials.all()
        ],
        "data_types": _data_types(preservation_request.data_types),
        "legal_basis": _legal_basis_text(preservation_request),
        "addressee": _addressee(preservation_request),
        "preservation_note": _preservation_note(preservation_request),
        **pdf.PAGE_MARKERS,
    }


def _addressee(preservation_request):
    if preservation_request.provider == catalogue.BLINK.code:
        return ADDRESSEE_BLINK
    return ADDRESSEE % {"provider": preservation_request.provider_name}


def _legal_basis_text(preservation_request):
    """The agency's own text for its default basis, else the standard text of the request's."""
    agency, basis = preservation_request.agency, preservation_request.legal_basis
    if agency.legal_basis and basis == agency.default_basis_code:
        return agency.legal_basis
    if basis == catalogue.US_2703F:
        # Only a US governmental entity invokes § 2703(f); elsewhere the neutral text, as before.
        return LEGAL_BASIS_US if agency.country == "US" else LEGAL_BASIS_OTHER
    if basis == catalogue.EPOC_PR:
        return LEGAL_BASIS_EPOC_PR
    if basis == catalogue.NATIONAL_ORDER:
        return LEGAL_BASIS_NATIONAL % {"days": agency.national_order_days}
    if basis == catalogue.CYBERTIPLINE:
        return LEGAL_BASIS_CYBERTIPLINE
    # Voluntary: Blink's letter as before (its policy is 90 days); another provider's is neutral.
    return LEGAL_BASIS_OTHER if preservation_request.provider == catalogue.BLINK.code else LEGAL_BASIS_VOLUNTARY


def _preservation_note(preservation_request):
    if preservation_request.legal_basis == catalogue.VOLUNTARY and preservation_request.provider != catalogue.BLINK.code:
        return ""  # the provider's own period: the letter asks them to say it
    return PRESERVATION_NOTE % {"days": request_clock_terms(preservation_request).days}


def _epoc_pr_context(preservation_request):
    chosen = set(preservation_request.data_types)
    return {
        "categories": [(label, bool(codes & chosen)) for label, codes in EPOC_PR_CATEGORIES],
        "identifiers": [{"kind": s.get_kind_display(), "display": s.display} for s in preservation_request.serials.all()],
        "provider_name": preservation_request.provider_name,
        "terms": request_clock_terms(preservation_request),
    }


def _data_types(codes):
    known = {code for code, _label, _text in deadlines.DATA_TYPES}
    return [
        (deadlines.data_type_label(code), deadlines.data_type_explanation(code))
        for code in codes if code in known
    ]


def _extension_context(preservation_request):
    zone = preservation_request.agency.time_zone
    terms = request_clock_terms(preservation_request)
    expires_on = preservation_request.received_on + timedelta(days=terms.days)
    return {
        "sent_on": deadlines.local_date(preservation_request.sent_at, zone) if preservation_request.sent_at else None,
        "received_on": preservation_request.received_on,
        "expires_on": expires_on,
        "final_expires_on": expires_on + timedelta(days=terms.extension_days),
        "extension_days": terms.extension_days,
        "legal_basis_extension": EXTENSION_BASIS_US if preservation_request.agency.country == "US" else "",
    }


def _case_sheet_context(preservation_request, now):
    report = request_services.request_report(preservation_request, now=now)
    explanations = []
    if report:
        clock_explanations = report.clock.explanations if report.clock else ()
        explanations = [e.text for e in report.retention.explanations + clock_explanations]
    return {
        "deadlines": _deadlines(preservation_request),
        "explanations": explanations,
        "timeline": _timeline(preservation_request),
        "events": preservation_request.events.select_related("actor").order_by("at", "pk"),
        "reminders": _sent_reminders(preservation_request),
        "correspondence": preservation_request.correspondence.without_content().select_related("actor", "inbound_message")
        .annotate(corrects_public_id=F("corrects__public_id")).order_by("at", "pk"),
    }


def _deadlines(preservation_request):
    rows = [
        (DeadlineKind.FIRST_LOSS.label, preservation_request.first_loss_at, True),
        (DeadlineKind.TOTAL_LOSS.label, preservation_request.total_loss_at, True),
        (DeadlineKind.EXTENSION_SEND_BY.label, preservation_request.extension_send_by, False),
        (DeadlineKind.EXPIRES.label, preservation_request.expires_on, False),
        (DeadlineKind.FINAL_EXPIRES.label, preservation_request.final_expires_on, False),
    ]
    return [row for row in rows if row[1] is not None]


def _timeline(preservation_request):
    field = PreservationRequest._meta.get_field
    return [
        (_("Created"), preservation_request.created_at, True),
        (field("sent_at").verbose_name, preservation_request.sent_at, True),
        (field("received_on").verbose_name, preservation_request.received_on, False),
        (field("extension_sent_at").verbose_name, preservation_request.extension_sent_at, True),
        (field("extension_received_on").verbose_name, preservation_request.extension_received_on, False),
        (field("legal_process_served_on").verbose_name, preservation_request.legal_process_served_on, False),
        (field("closed_at").verbose_name, preservation_request.closed_at, True),
    ]


def _sent_reminders(preservation_request):
    return list(preservation_request.reminders.filter(
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
