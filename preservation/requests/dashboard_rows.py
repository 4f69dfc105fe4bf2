"""The dashboard's rows: each open request with its next step (next_step.next_step), the
button for it where the user's role allows, its urgency and its next deadline.

Put together in Python as Django's admin builds its change-list rows
(contrib/admin/templatetags/admin_list.py): 25 rows of cells cost the template engine more than
the rest of the page (bench/dashboard.py). fill_html escapes every value, as format_html does.
On a narrow screen the same row is a card (static/css/preserve.css reads the cells' data-label).
"""
import uuid

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timesince
from django.utils.translation import gettext_lazy as _

from preservation.core import permissions, presentation
from preservation.core.presentation import fill_html
from preservation.models import PreservationRequest, RequestState
from preservation.requests import selectors
from preservation.rules import next_step
from preservation.templatetags.preserve_ui import (
    deadline_kind_label,
    state_label,
    urgency_badge,
)

# Stands for the public id while each address is reversed, once per page.
_PLACEHOLDER = uuid.UUID(int=0x987654321)
_NONE = "\N{EM DASH}"

_ROW = (
    '<tr data-request="{}" data-group="{}" data-next-step="{}">'
    '<td class="row-select"><input class="form-check-input" type="checkbox" name="selected" value="{}" '
    'form="bulk-form" id="select-{}" aria-label="{}"></td>'
    '<td data-label="{}"><a href="{}">{}</a>{}</td>'
    '<td data-label="{}">{}</td>'
    '<td data-label="{}" class="next-step"><strong>{}</strong>{}<span class="small d-block">{}</span>{}</td>'
    '<td data-label="{}" class="next-deadline">{}</td>'
    '<td data-label="{}">{}</td>'
    '<td data-label="{}">{}</td></tr>\n'
)
_DUE = '{}: <strong>{}</strong>{}<span class="small text-body-secondary d-block">{}</span>'
_PROVISIONAL = ' <span class="badge text-bg-light border">{}</span> '
_CASE = '<span class="small text-body-secondary d-block">{} {}</span>'
_MARK = ' <span class="badge text-bg-danger" data-emergency>{}</span>'
_LINK = '<a class="btn btn-sm btn-{} mt-1" href="{}">{}</a>'
_POST = ('<form method="post" action="{}" class="mt-1"><input type="hidden" name="csrfmiddlewaretoken" '
         'value="{}"><input type="hidden" name="next" value="{}">'
         '<button class="btn btn-sm btn-{}" type="submit">{}</button></form>')

ACTION_LABELS = {
    "send": _("Send to Blink"),
    "complete": _("Complete the draft"),
    "ask_approval": _("Ask for approval"),
    "await_approval": _("Awaiting approval"),
    "record_receipt": _("Record Blink's receipt"),
    "chase_receipt": _("Chase Blink's acknowledgement"),
    "send_extension": _("Send the extension"),
    "record_extension_receipt": _("Record the extension's receipt"),
    "chase_extension_ack": _("Chase the extension's acknowledgement"),
    "serve_legal_process": _("Serve legal process"),
    "close": _("Close the request"),
    "none": _("Nothing to do"),
}

# Where each step's button leads: (address name, anchor on the request page, needs a POST).
_BUTTONS = {
    "send": ("preservation:request_send", "", False),
    "complete": ("preservation:request_edit", "", False),
    "ask_approval": ("preservation:request_ask_approval", "", True),
    "record_receipt": ("preservation:request_detail", "#action-record_receipt", False),
    "chase_receipt": ("preservation:request_detail", "#action-record_receipt", False),
    "send_extension": ("preservation:request_extension_page", "", False),
    "record_extension_receipt": ("preservation:request_detail", "#action-record_extension_receipt", False),
    "chase_extension_ack": ("preservation:request_detail", "#action-record_extension_receipt", False),
    "serve_legal_process": ("preservation:request_detail", "#action-record_legal_process", False),
    "close": ("preservation:request_detail", "#action-close", False),
}


def facts_of(row, zone, approval_required):
    """next_step's facts from a dashboard row (a dict of DASHBOARD_COLUMNS)."""
    return next_step.Facts(
        state=row["state"], zone=zone,
        first_loss_at=row["first_loss_at"], total_loss_at=row["total_loss_at"], sent_at=row["sent_at"],
        extension_sent_at=row["extension_sent_at"], extension_send_by=row["extension_send_by"],
        expires_on=row["expires_on"], final_expires_on=row["final_expires_on"], urgency=row["urgency"],
        legacy=row["legacy"], approval_required=approval_required, approved=row["approved"],
        approval_requested=row["approval_requested_at"] is not None,
    )


def facts_of_request(preservation_request, *, approved):
    """next_step's facts from a request read whole (the request page, the API). ``approved``:
    a supervisor approved the draft as it stands; the serials are read for the legacy flag
    (prefetch them for a page of requests)."""
    agency = preservation_request.agency
    approval_required = agency.requires_supervisor_approval and preservation_request.state == RequestState.DRAFT
    return next_step.Facts(
        state=preservation_request.state, zone=agency.time_zone,
        first_loss_at=preservation_request.first_loss_at, total_loss_at=preservation_request.total_loss_at,
        sent_at=preservation_request.sent_at, extension_sent_at=preservation_request.extension_sent_at,
        extension_send_by=preservation_request.extension_send_by, expires_on=preservation_request.expires_on,
        final_expires_on=preservation_request.final_expires_on, urgency=preservation_request.urgency,
        legacy=preservation_request.has_legacy_device, approval_required=approval_required,
        approved=approval_required and approved,
        approval_requested=preservation_request.approval_requested_at is not None,
    )


class _Addresses:
    """Each address reversed once per page, then filled in with a row's public id."""

    def __init__(self):
        self.cache = {}

    def __call__(self, name, public_id):
        if name not in self.cache:
            self.cache[name] = reverse(name, args=[_PLACEHOLDER]).split(str(_PLACEHOLDER))
        head, tail = self.cache[name]
        return "%s%s%s" % (head, public_id, tail)


def _button(step, row, user, addresses, csrf_token, next_url):
    if step.action == "await_approval":
        if user.role in permissions.APPROVERS and row["created_by_id"] != user.pk:
            return fill_html(_POST, addresses("preservation:request_approve", row["public_id"]), csrf_token,
                             next_url, "success", _("Approve"))
        return ""
    target = _BUTTONS.get(step.action)
    can_edit = user.role in permissions.CASE_MANAGERS or row["created_by_id"] == user.pk
    if target is None or not can_edit:
        return ""
    name, anchor, post = target
    address = addresses(name, row["public_id"]) + anchor
    style = "primary" if step.group == next_step.YOURS else "outline-secondary"
    if post:
        return fill_html(_POST, address, csrf_token, next_url, style, ACTION_LABELS[step.action])
    return fill_html(_LINK, style, address, ACTION_LABELS[step.action])


def rows(requests, *, user, today, people, now, csrf_token, next_url):
    """Each row's HTML. Labels, badges and dates are worked out once per page, as plain text:
    a lazy translation would be translated again at every use."""
    requests = list(requests)
    names = {person.pk: person.get_full_name() or person.username for person in people}
    missing = {r["created_by_id"] for r in requests} | {r["assigned_to_id"] for r in requests}
    missing = {pk for pk in missing - names.keys() if pk}
    if missing:
        names.update(selectors.user_names(missing))
    agency = user.agency
    rules, addresses, texts = selectors.next_step_rules(), _Addresses(), {}

    def once(key, make):
        if key not in texts:
            texts[key] = make()
        return texts[key]

    labels = once("labels", lambda: [str(text) for text in (
        _("Reference"), _("Urgency"), _("Next step"), _("Next deadline"), _("State"), _("Assigned to"),
        _("CRIM#"), _("Sent without approval"), _("provisional"), _("passed"))])
    reference, urgency_l, step_l, due_l, state_l, owner_l, crim, emergency, provisional_l, passed = labels
    provisional = fill_html(_PROVISIONAL, provisional_l)
    html = []
    for r in requests:
        step = next_step.next_step(facts_of(r, agency.time_zone, agency.requires_supervisor_approval),
                                   now=now, rules=rules)
        due, kind, urgency, state = r["next_deadline_on"], r["next_deadline_kind"], r["urgency"], r["state"]
        flagged = r["deadlines_provisional"]
        due_cell = once(("due", due, kind, flagged), lambda: fill_html(
            _DUE, str(deadline_kind_label(kind)), presentation.day_text(due),
            provisional if flagged else " ", passed if due < today else timesince.timeuntil(due, today),
        ) if due else _NONE)
        badge = once(("urgency", urgency), lambda: render_to_string(
            "preservation/_urgency_badge.html", urgency_badge(urgency)) if urgency else _NONE)
        ref, public_id = r["reference"], r["public_id"]
        html.append(fill_html(
            _ROW, public_id, step.group, step.action, public_id, public_id, ref,
            reference, addresses("preservation:request_detail", public_id), ref,
            fill_html(_CASE, crim, r["case_number"]) if r["case_number"] else "",
            urgency_l, badge,
            step_l, once(("action", step.action), lambda: str(ACTION_LABELS[step.action])),
            fill_html(_MARK, emergency) if r["emergency_reason"] else "", step.reason,
            _button(step, r, user, addresses, csrf_token, next_url),
            due_l, due_cell, state_l, once(("state", state), lambda: str(state_label(state))),
            owner_l, names.get(r["assigned_to_id"] or r["created_by_id"], _NONE),
        ))
    return html
