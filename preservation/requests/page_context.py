"""What several request pages show alike: who may change a request, the approval panel, the
send page's context and the letter. Plain functions of the request and the user; the views
(preservation/requests/views/) only call them."""
from datetime import UTC

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from preservation.core import permissions
from preservation.documents import services as documents
from preservation.documents.panel import is_stale, with_problem
from preservation.models import DocumentKind, DocumentState, RequestState
from preservation.requests import services
from preservation.requests.forms import (
    ACTION_FORMS,
)
from preservation.rules import deadlines
from preservation.rules.validation import sending_errors

NOT_YOURS = _("You can read this request but not change it: only its requester, a paralegal, a supervisor "
              "or an agency administrator can.")


def approval_state(user, preservation_request, form=None):
    """Where the agency requires a supervisor's approval before sending: where this draft
    stands, and the Approve form for those allowed to approve. None when no approval applies."""
    if preservation_request.state != RequestState.DRAFT or not preservation_request.agency.requires_supervisor_approval:
        return None
    latest = preservation_request.approvals.select_related("approved_by").order_by("-at", "-pk").first()
    approved = services.request_is_approved(preservation_request)
    can_approve = not approved and permissions.can_approve_request(user, preservation_request)
    can_ask = (not approved and preservation_request.approval_requested_at is None
               and permissions.can_edit_request(user, preservation_request))
    return {
        "approved": approved, "latest": latest, "voided": latest is not None and not approved,
        "can_approve": can_approve, "asked_at": preservation_request.approval_requested_at,
        "own_draft": can_approve and _own_draft_notice(user, preservation_request),
        "ask_url": can_ask and reverse("preservation:request_ask_approval", args=[preservation_request.public_id]),
        "form": can_approve and (form or ACTION_FORMS["approve"](preservation_request=preservation_request, prefix="approve")),
        "url": reverse("preservation:request_approve", args=[preservation_request.public_id]),
    }


def _own_draft_notice(user, preservation_request):
    """Why this approver may not approve this draft (four eyes: they wrote part of it), or "".
    The page hides the Approve button then; services.request_approve refuses it anyway."""
    editor_ids = services.request_editor_ids(preservation_request)
    if permissions.approves_own_work(user, preservation_request, editor_ids=editor_ids):
        return services.OWN_REQUEST
    return ""


def back_to_list(request):
    """The dashboard address a list's button came from (its filters kept), or None."""
    target = request.POST.get("next", "")
    dashboard_path = reverse("preservation:dashboard")
    on_list = target == dashboard_path or target.startswith(dashboard_path + "?")
    if on_list and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return None


# --- Sending to Blink -------------------------------------------------------------------------


def send_context(request, preservation_request, form):
    """Every value in the order Blink's online form asks for it (docs/blink.md §5), times in UTC."""
    agency = preservation_request.agency
    serial_list = list(preservation_request.serials.all())
    fields = [
        ("requester_name", _("Requester name"), preservation_request.requester_name),
        ("requester_title", _("Rank or title"), preservation_request.requester_title),
        ("requester_badge", _("Badge or ID number"), preservation_request.requester_badge),
        ("requester_email", _("Requester email"), preservation_request.requester_email),
        ("requester_phone", _("Requester phone"), preservation_request.requester_phone and preservation_request.requester_phone.as_international),
        ("agency", _("Agency (affiliation)"), agency.name),
        ("unit", _("Unit or department"), preservation_request.unit),
        ("agency_address", _("Agency address"), agency.postal_address),
        ("case_number", _("CRIM#"), preservation_request.case_number),
        ("data_types", _("Data types requested"),
         "\n".join(deadlines.data_type_label(c) for c in preservation_request.data_types)),
        ("window_start", _("Start date and time (UTC)"),
         preservation_request.window_start and preservation_request.window_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("window_end", _("End date and time (UTC)"),
         preservation_request.window_end and preservation_request.window_end.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("serials", _("Device serial numbers (DSN)"), "\n".join(s.display for s in serial_list)),
        ("account_email", _("Account email"), preservation_request.account_email),
    ]
    now = timezone.now()
    draft = preservation_request.state == RequestState.DRAFT
    problems = sending_errors(preservation_request, now=now) if draft else {}
    can_edit = permissions.can_edit_request(request.user, preservation_request)
    approval = approval_state(request.user, preservation_request)
    return {
        "problems": [message for errors in problems.values() for e in errors for message in e.messages],
        "zone": agency.time_zone,
        "preservation_request": preservation_request, "fields": [
            {"code": code, "label": label, "value": value or ""} for code, label, value in fields],
        "form": form, "draft": draft, "can_edit": can_edit, "approval": approval, "read_only": NOT_YOURS,
        "can_send": draft and can_edit and (not (approval and not approval["approved"])
                                            or "emergency_reason" in form.fields),
        "emergency": "emergency_reason" in form.fields,
        "letter": letter(preservation_request, now),
        "blink_form_url": settings.PRESERVE["BLINK_FORM_URL"],
    }


def letter(preservation_request, now, kind=DocumentKind.REQUEST):
    """The letter (PDF) to attach to Blink's form (the preservation request, or the extension
    request): its latest version, whether it still matches the request, and whether a new one
    can be generated."""
    latest = (preservation_request.documents.without_content().select_related("requested_by", "request")
              .filter(kind=kind).order_by("-requested_at", "-pk").first())
    last_edit = services.request_last_edited_at(preservation_request)
    outdated = bool(latest and latest.state == DocumentState.DONE and last_edit
                    and latest.requested_at < last_edit)
    working = bool(latest and latest.is_pending and not is_stale(latest, now))
    usable = bool(latest and latest.state == DocumentState.DONE and not outdated)
    return {
        "document": with_problem(latest, now), "now": now, "outdated": outdated, "usable": usable,
        "offer_generate": not (usable or working), "kind": kind,
        "back_to": "send" if kind == DocumentKind.REQUEST else "extension",
        "errors": documents.generation_errors(preservation_request, kind, now=now),
    }
