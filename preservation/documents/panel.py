"""What the documents panel of a request page shows: each kind with what stops it, the
documents made so far and, for each, why it is not available. Read-only; templates only render
the result."""
from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from preservation.core import permissions
from preservation.documents.services import applicable_kinds, generation_errors
from preservation.models import DocumentKind, DocumentState

DESCRIPTIONS = {
    DocumentKind.REQUEST: _("The letter to Blink, to sign and send."),
    DocumentKind.EXTENSION: _("Asks Blink to extend the preservation before it expires."),
    DocumentKind.CASE_SHEET: _("For the case file: deadlines, timeline, history and reminders."),
    DocumentKind.EPOC_PR_CERTIFICATE: _("The fields of the certificate in Annex II of Regulation (EU) "
                                        "2023/1543, filled from this request, for the issuing authority "
                                        "to check, complete and sign."),
}
FAILURES = {
    "timeout": _("Stopped: it took too long to generate. Try again; if it fails again, tell your administrator."),
    "memory": _("Stopped: it needed too much memory. Try again; if it fails again, tell your administrator."),
    "cpu": _("Stopped: it needed too much processing time. Try again; if it fails again, tell your administrator."),
    "interrupted": _("Interrupted before it finished (the server restarted?). Generate it again."),
}
FAILED = _("Could not be generated. Try again; if it fails again, tell your administrator.")


def is_stale(document, now):
    """A pending document whose worker cannot still be running (it died, or the server stopped)."""
    limit = timedelta(seconds=settings.PRESERVE_PDF["WALL_SECONDS"] + 120)
    return document.is_pending and now - document.requested_at > limit


def document_problem(document, now):
    """Why a document is not available, in words, or ""."""
    if is_stale(document, now):
        return FAILURES["interrupted"]
    if document.state == DocumentState.FAILED:
        return FAILURES.get(document.error, FAILED)
    return ""


def with_problem(document, now):
    """The document, carrying ``problem`` for its row on the page."""
    if document is not None:
        document.problem = document_problem(document, now)
    return document


def documents_panel(preservation_request, *, user, now):
    # Each document's request is this one (the related manager hands it over): no join of the
    # request's every column again.
    listed = [with_problem(document, now) for document in
              preservation_request.documents.without_content().select_related("requested_by")]
    kinds = [
        {"kind": kind, "label": label, "description": DESCRIPTIONS[kind],
         "errors": generation_errors(preservation_request, kind, now=now),
         "done": any(d.kind == kind and d.state == DocumentState.DONE for d in listed)}
        for kind, label in applicable_kinds(preservation_request)
    ]
    return {"kinds": kinds, "documents": listed, "now": now,
            "can_change_letterhead": permissions.can_manage_agency(user)}
