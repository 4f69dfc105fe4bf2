"""The request page and its actions: one state change per button, each through its service."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from preservation.requests import dashboard_rows
from preservation.rules import next_step
from preservation.core import permissions, presentation
from preservation.correspondence.panel import correspondence_panel
from preservation.documents.panel import documents_panel
from preservation.models import RequestState
from preservation.requests import selectors, services
from preservation.requests.access import case_data, request_or_404
from preservation.requests.forms import (
    ACTION_FORMS,
    CorrectionForm,
    add_service_errors,
)
from preservation.rules import deadlines
from preservation.rules import premises as evidence
from preservation.rules.validation import sending_warnings
from preservation.requests.page_context import NOT_YOURS, approval_state, back_to_list, send_context



# --- Request page --------------------------------------------------------------------------------

ACTIONS = {
    "record_receipt": {
        "url": "preservation:request_record_receipt", "title": _("Record Blink's receipt"),
        "confirm": _("Record that Blink received this request? The preservation clock counts from this date."),
        "style": "primary",
    },
    "send_extension": {
        "url": "preservation:request_send_extension", "title": _("Record the extension request"),
        "confirm": _("Record that the extension request was sent to Blink?"), "style": "primary",
    },
    "record_extension_receipt": {
        "url": "preservation:request_record_extension_receipt", "title": _("Record the extension's receipt"),
        "confirm": _("Record that Blink received the extension? The extended preservation counts from Blink's "
                     "receipt of the original request, not from the extension's receipt."),
        "style": "primary",
    },
    "record_legal_process": {
        "url": "preservation:request_record_legal_process", "title": _("Record legal process served"),
        "confirm": _("Record that legal process was served on Amazon? Deadline reminders stop."),
        "style": "outline-primary",
    },
    "close": {
        "url": "preservation:request_close", "title": _("Close the request"),
        "confirm": _("Close this request with the chosen outcome?"), "style": "outline-secondary",
    },
    "correct": {
        "url": "preservation:request_correct", "title": _("Correct a recorded fact"),
        "confirm": _("Correct what was recorded? Deadlines and reminders are worked out again, and "
                     "everyone on the request is told if a deadline moves."),
        "style": "outline-secondary",
    },
    "withdraw": {
        "url": "preservation:request_withdraw", "title": _("Withdraw the request"),
        "confirm": _("Withdraw this request? Its deadlines and reminders stop."), "style": "outline-danger",
    },
}


def _detail_context(request, preservation_request, bound_forms=None):
    now = timezone.now()
    report = services.request_report(preservation_request, now=now)
    # Buttons only for what this user may do; the services refuse the rest anyway.
    can_edit = permissions.can_edit_request(request.user, preservation_request)
    actions = services.allowed_actions(preservation_request) if can_edit else []
    if permissions.can_correct_request(request.user, preservation_request) and CorrectionForm.recorded_fields(preservation_request):
        actions.append("correct")
    bound_forms = bound_forms or {}
    approval = approval_state(request.user, preservation_request, bound_forms.get("approve"))
    serial_list = list(preservation_request.serials.all())
    step = request_next_step(preservation_request, now)
    reminders = list(preservation_request.reminders.all())
    return {
        "preservation_request": preservation_request,
        "report": report,
        "documents_panel": documents_panel(preservation_request, user=request.user, now=now),
        "next_step": step, "next_step_label": dashboard_rows.ACTION_LABELS[step.action],
        "next_step_button": _next_step_button(request.user, preservation_request, step, can_edit),
        "assign_form": can_edit and (bound_forms.get("assign") or ACTION_FORMS["assign"](
            preservation_request=preservation_request, prefix="assign")) if preservation_request.is_open else None,
        "review_form": _review_form(request.user, preservation_request, bound_forms),
        # Cancelled reminders (a daily one for each day the draft waited) are folded away.
        "reminders_active": [r for r in reminders if r.state != "cancelled"],
        "reminders_cancelled": [r for r in reminders if r.state == "cancelled"],
        "correspondence": correspondence_panel(preservation_request, user=request.user),
        "headline": presentation.urgency_headline(report.retention, now, preservation_request.window_zone)
        if report and preservation_request.state == RequestState.DRAFT else "",
        "deadline_rows": presentation.deadline_rows(preservation_request, report),
        "next_deadline_text": presentation.next_deadline_text(preservation_request),
        "other_explanations": presentation.other_explanations(report),
        "timeline": presentation.build_timeline(preservation_request, now),
        "history": selectors.request_history(preservation_request),
        "actions": [
            {**ACTIONS[name], "name": name, "url": reverse(ACTIONS[name]["url"], args=[preservation_request.public_id]),
             "form": bound_forms.get(name) or ACTION_FORMS[name](preservation_request=preservation_request, prefix=name)}
            for name in actions if name != "send"
        ],
        "can_edit": can_edit,
        "read_only": NOT_YOURS if not can_edit and services.allowed_actions(preservation_request) else "",
        "can_send": "send" in actions,
        "approval": approval,
        "send_blocked": bool(approval and not approval["approved"]),
        "serial_list": serial_list,
        "data_types": [(deadlines.data_type_label(c), deadlines.data_type_explanation(c))
                       for c in preservation_request.data_types],
        "checklist": evidence.evidence_checklist(s.model for s in serial_list),
        "warnings": sending_warnings(preservation_request),
    }


def request_next_step(preservation_request, now):
    """The request's next step (next_step.next_step) from the request as stored."""
    approval_required = (preservation_request.agency.requires_supervisor_approval
                         and preservation_request.state == RequestState.DRAFT)
    facts = dashboard_rows.facts_of_request(
        preservation_request, approved=approval_required and services.request_is_approved(preservation_request))
    return next_step.next_step(facts, now=now, rules=selectors.next_step_rules())


# The request page's button for each next step: a page to go to, or an action form below.
_STEP_TARGETS = {
    "send": "preservation:request_send",
    "complete": "preservation:request_edit",
    "send_extension": "preservation:request_extension_page",
}
_STEP_FORMS = {
    "ask_approval": "ask_approval", "record_receipt": "record_receipt", "chase_receipt": "record_receipt",
    "record_extension_receipt": "record_extension_receipt", "chase_extension_ack": "record_extension_receipt",
    "serve_legal_process": "record_legal_process", "close": "close",
}


def _next_step_button(user, preservation_request, step, can_edit):
    if step.action == "await_approval" or not can_edit:
        return None
    if step.action in _STEP_TARGETS:
        return {"url": reverse(_STEP_TARGETS[step.action], args=[preservation_request.public_id])}
    if step.action in _STEP_FORMS:
        return {"anchor": "#action-" + _STEP_FORMS[step.action]}
    return None


def _review_form(user, preservation_request, bound_forms):
    if not preservation_request.emergency_reason or preservation_request.emergency_reviewed_at:
        return None
    if not permissions.can_approve_request(user, preservation_request) or user.pk == preservation_request.created_by_id:
        return None
    return bound_forms.get("review_emergency") or ACTION_FORMS["review_emergency"](
        preservation_request=preservation_request, prefix="review_emergency")


@case_data
@require_GET
def request_detail(request, public_id):
    preservation_request = request_or_404(request.user, public_id)
    return render(request, "preservation/request_detail.html", _detail_context(request, preservation_request))


DONE_MESSAGES = {
    "approve": _("%(ref)s is approved for sending."),
    "correct": _("%(ref)s: corrected; its deadlines and reminders were worked out again."),
    "ask_approval": _("%(ref)s: your agency's supervisors are asked to approve it."),
    "review_emergency": _("%(ref)s: the emergency send is marked as reviewed."),
    "assign": _("%(ref)s is reassigned."),
}


@case_data
@require_POST
def request_action(request, public_id, action):
    """One state change from a button of the request page (or the sending page)."""
    preservation_request = request_or_404(request.user, public_id)
    form = ACTION_FORMS[action](request.POST, preservation_request=preservation_request, prefix=action)
    if form.is_valid():
        try:
            changed = form.execute(actor=request.user, now=timezone.now())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            done = DONE_MESSAGES.get(action, _("%(ref)s: done, the request is now “%(state)s”."))
            messages.success(request, done % {"ref": changed.reference, "state": changed.get_state_display()})
            return redirect(back_to_list(request) or reverse("preservation:request_detail", args=[public_id]))
        if back_to_list(request):
            for error in form.errors.values():
                messages.error(request, " ".join(error))
            return redirect(back_to_list(request))
    if action == "send":
        return render(request, "preservation/request_send.html",
                      send_context(request, preservation_request, form), status=400)
    context = _detail_context(request, preservation_request, {action: form})
    # A refused action whose button is not on the page (the state moved on) still says why.
    shown = any(item["name"] == action for item in context["actions"]) or (
        action == "approve" and bool(context["approval"] and context["approval"]["form"])) or (
        action == "assign" and bool(context["assign_form"]))
    return render(request, "preservation/request_detail.html", {
        **context, "open_action": action, "refusals": [] if shown else form.non_field_errors(),
    }, status=400)
