"""Web pages. Thin: forms read input, services change state, selectors read, presentation
shapes what a page shows. Every page with case data is login-only, agency-scoped (404 for
another agency's request) and sent with ``Cache-Control: no-store``.
"""
import csv
from datetime import UTC
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from preservation.requests import dashboard_rows
from preservation.rules import next_step
from preservation.core import permissions, presentation
from preservation.core.audit import audit_record, search_summary
from preservation.core.spreadsheet import safe_cell
from preservation.documents import services as documents
from preservation.correspondence.panel import correspondence_panel
from preservation.documents.panel import documents_panel, is_stale, with_problem
from preservation.models import DocumentKind, DocumentState, RequestState
from preservation.requests import selectors, services
from preservation.requests.access import case_data, request_or_404
from preservation.requests.forms import (
    ACTION_FORMS,
    CorrectionForm,
    MAX_PASTE_LENGTH,
    MAX_SERIALS,
    ZONES,
    BulkForm,
    DashboardFilterForm,
    LocalDateTimeField,
    RequestForm,
    SendForm,
    SerialFormSet,
    add_service_errors,
    initial_for,
    serial_initial,
    serial_rows,
    unchecked_warnings,
)
from preservation.rules import catalogue, deadlines, identifiers, serials
from preservation.rules import premises as evidence
from preservation.rules.validation import sending_errors, sending_warnings

PAGE_SIZE = 25
FILTERS_SESSION_KEY = "preservation:dashboard_filters"


# --- Dashboard -----------------------------------------------------------------------------------


# What a dashboard row shows, read as plain values; the rest of each request stays in the
# database. People's names come from the agency's people, already read for the filter form: no
# join in the rows' query. The next step's facts come with the rows (selectors.with_row_facts).
DASHBOARD_COLUMNS = (
    "pk", "case_number", "state", "urgency", "next_deadline_on", "next_deadline_kind", "deadlines_provisional",
    "created_by_id", "assigned_to_id", "first_loss_at", "total_loss_at",
    "sent_at", "extension_sent_at", "extension_send_by", "expires_on", "final_expires_on",
    "approval_requested_at", "emergency_reason", "emergency_reviewed_at", "approved", "legacy",
)


def _dashboard_filters(request, form=None):
    """The search typed (kept in the session, never in a URL) and the filters of the address."""
    if form is None:
        people, active = _dashboard_people(request.user)
        form = DashboardFilterForm(request.GET, agency_users=active, owners=people)
    url_form = form
    url_form.is_valid()  # a filter the address gets wrong is left out; the others apply
    filters = url_form.url_value()
    query = request.session.get(FILTERS_SESSION_KEY, {}).get("q")
    return {**filters, "q": query} if query else filters


def _dashboard_people(user):
    """The agency's people, read once: the active ones are the owner filter's choices and
    everyone's name labels the rows."""
    people = list(selectors.agency_members(user))
    return people, [person for person in people if person.is_active]


def _render_dashboard(request, form, people, filters, status=200):
    user = request.user
    today = selectors.agency_today(user)
    queryset = selectors.with_row_facts(
        selectors.dashboard_requests(user, filters, today).select_related(None)).values(*DASHBOARD_COLUMNS)
    counts = selectors.bucket_counts(user, today)
    paginator = Paginator(queryset, PAGE_SIZE)
    if not filters:
        paginator.count = counts["total"]  # already counted with the groups: one query less
    page = paginator.get_page(request.GET.get("page"))
    url_filters = {key: value for key, value in filters.items() if key != "q"}
    return render(request, "preservation/dashboard.html", {
        "page": page, "rows": dashboard_rows.rows(
            page.object_list, user=user, today=today, people=people, now=timezone.now(),
            csrf_token=get_token(request), next_url=request.get_full_path()),
        "form": form, "buckets": _chips(DashboardFilterForm.BUCKETS, "bucket", counts, url_filters),
        "groups": _chips(DashboardFilterForm.GROUPS, "group", counts, url_filters)
        + _chips([("me", _("Assigned to me"))], "owner", {}, url_filters),
        "inbox": _chips(DashboardFilterForm.INBOX, "inbox", selectors.inbox_counts(user), url_filters)
        if user.role in permissions.APPROVERS else [],
        "total": counts["total"], "filtered": bool(filters),
        "active_filters": _active_filters(form, filters), "page_query": _query(url_filters),
        "assignees": [person for person in people if person.is_active],
        "document_kinds": DocumentKind.choices,
    }, status=status)


def _query(filters, **changes):
    """The dashboard's address for these filters (never the search)."""
    values = {**filters, **changes}
    return urlencode({key: value for key, value in values.items() if value not in ("", None)})


def _chips(choices, name, counts, filters):
    """Buttons that each set one filter, keeping the others; the active one removes it again."""
    return [
        {"code": code, "label": label, "count": counts.get(code), "active": filters.get(name) == code,
         "query": _query(filters, **{name: "" if filters.get(name) == code else code})}
        for code, label in choices if code
    ]


def _active_filters(form, filters):
    """Each filter in force, in words ("State: Preserving"); the search says only that one runs."""
    shown = []
    for name, value in filters.items():
        if name == "q":
            shown.append(str(_("a search")))
            continue
        field = form.fields.get(name)
        if field is None:
            continue
        choices = dict((str(key), label) for key, label in getattr(field, "choices", ()))
        shown.append("%s: %s" % (field.label, choices.get(str(value), value)))
    return shown


@case_data
@require_GET
def dashboard(request):
    people, active = _dashboard_people(request.user)
    form = DashboardFilterForm(request.GET, agency_users=active, owners=people)
    filters = _dashboard_filters(request, form)
    form = DashboardFilterForm(initial=filters, agency_users=active, owners=people)
    return _render_dashboard(request, form, people, filters)


@case_data
@require_POST
def dashboard_search(request):
    """The search arrives by POST and lives in the session: an email or serial typed into the
    search box never appears in a URL, the browser history or a server log. The other filters
    go to the address, where a view can be bookmarked and shared."""
    if "clear" in request.POST:
        request.session.pop(FILTERS_SESSION_KEY, None)
        return redirect("preservation:dashboard")
    people, active = _dashboard_people(request.user)
    form = DashboardFilterForm(request.POST, agency_users=active, owners=people)
    if not form.is_valid():
        return _render_dashboard(request, form, people, _dashboard_filters(request), status=400)
    # What was searched for, never the terms (docs/security.md "What is audited").
    audit_record(action="search", actor=request.user, request=request, object_type="preservation:dashboard",
                 message=search_summary({**form.url_value(), "q": form.cleaned_data.get("q")}))
    query = form.cleaned_data.get("q")
    if query:
        request.session[FILTERS_SESSION_KEY] = {"q": query}
    else:
        request.session.pop(FILTERS_SESSION_KEY, None)
    address = reverse("preservation:dashboard")
    url_query = _query(form.url_value())
    return redirect(address + ("?" + url_query if url_query else ""))


def _csv_cell(value):
    # Formulas neutralised, also after a semicolon (preservation/spreadsheet.py).
    return safe_cell(value)


def _csv_instant(instant):
    """A time in whole seconds ("2026-04-30T09:15:02Z"): spreadsheets choke on microseconds."""
    return instant and deadlines.format_instant(instant.replace(microsecond=0))


CSV_COLUMNS = (
    (_("Reference"), lambda r: r.reference),
    (_("CRIM#"), lambda r: r.case_number),
    (_("State"), lambda r: r.get_state_display()),
    (_("Urgency"), lambda r: r.get_urgency_display()),
    (_("Next deadline"), lambda r: r.next_deadline_on and r.next_deadline_on.isoformat()),
    (_("Next deadline is"), lambda r: r.get_next_deadline_kind_display()),
    (_("Provisional"), lambda r: _("yes") if r.deadlines_provisional else ""),
    (_("Created by"), lambda r: r.created_by.get_full_name() or r.created_by.username),
    (_("Assigned to"), lambda r: r.assigned_to and (r.assigned_to.get_full_name() or r.assigned_to.username)),
    (_("Requester"), lambda r: r.requester_name),
    (_("Window start (UTC)"), lambda r: _csv_instant(r.window_start)),
    (_("Window end (UTC)"), lambda r: _csv_instant(r.window_end)),
    (_("Sent (UTC)"), lambda r: _csv_instant(r.sent_at)),
    (_("Received by Blink"), lambda r: r.received_on and r.received_on.isoformat()),
    (_("Expires"), lambda r: r.expires_on and r.expires_on.isoformat()),
    (_("Final expiry"), lambda r: r.final_expires_on and r.final_expires_on.isoformat()),
)


@case_data
@require_GET
def dashboard_csv(request):
    """The filtered list as CSV. Account emails and serials are left out of the file: the
    list identifies requests, the request page holds the personal data."""
    filters = _dashboard_filters(request)
    return _csv_response(request, selectors.dashboard_requests(request.user, filters),
                         what="filters: %s" % (search_summary(filters) or "none"))


def _csv_response(request, queryset, *, what):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="preservation-requests.csv"'
    writer = csv.writer(response)
    writer.writerow([str(title) for title, _value in CSV_COLUMNS])
    rows = 0
    for preservation_request in queryset.select_related("assigned_to").iterator(chunk_size=1000):
        writer.writerow([_csv_cell(value(preservation_request)) for _title, value in CSV_COLUMNS])
        rows += 1
    audit_record(action="requests_exported", actor=request.user, request=request,
                 object_type="preservation:dashboard_csv",
                 message="%d request(s); %s" % (rows, what))
    return response


# --- Bulk actions --------------------------------------------------------------------------------


@case_data
@require_POST
def requests_bulk(request):
    """One action on the dashboard's selected rows. Each request goes through its own service
    call (own transaction, own checks, own history and audit record): one refusal never
    undoes the others, and each is reported."""
    people = _dashboard_people(request.user)[1]
    form = BulkForm(request.POST, agency_users=people)
    back = _back_to_list(request) or reverse("preservation:dashboard")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    chosen = selectors.requests_for_user(request.user).filter(pk__in=form.cleaned_data["selected"])
    operation = form.cleaned_data["operation"]
    if operation == "csv":
        return _csv_response(request, chosen.order_by("urgency_rank", "next_deadline_on", "-created_at", "-pk"),
                             what="selected rows")
    done, refused = [], []
    for preservation_request in chosen.select_related("agency").order_by("pk"):
        try:
            _bulk_one(operation, preservation_request, request.user, form.cleaned_data, {p.pk: p for p in people})
        except ValidationError as error:
            refused.append("%s: %s" % (preservation_request.reference, " ".join(error.messages)))
        else:
            done.append(preservation_request.reference)
    if done:
        messages.success(request, ngettext("Done for %(n)d request: %(refs)s.", "Done for %(n)d requests: %(refs)s.",
                                           len(done)) % {"n": len(done), "refs": ", ".join(done)})
    for refusal in refused:
        messages.error(request, refusal)
    return redirect(back)


def _bulk_one(operation, preservation_request, actor, data, people):
    now = timezone.now()
    if operation == "assign":
        services.request_assign(request=preservation_request, actor=actor, assignee=people[data["assignee"]], now=now)
    elif operation == "record_receipt":
        services.request_record_receipt(request=preservation_request, actor=actor, received_on=data["received_on"],
                                        blink_reference=data["blink_reference"], now=now)
    elif operation == "generate":
        if not permissions.can_edit_request(actor, preservation_request):
            raise ValidationError(NOT_YOURS)
        documents.document_request(request=preservation_request, kind=data["kind"], actor=actor, now=now)


# --- Intake --------------------------------------------------------------------------------------


def _intake_context(form, formset, preservation_request, serial_errors=()):
    """The intake page; for a saved draft, its urgency and UTC window as stored."""
    context = {
        "form": form, "formset": formset, "preservation_request": preservation_request,
        "serial_errors": serial_errors,
        "data_type_rows": [(widget, form.data_type_help[widget.data["value"]]) for widget in form["data_types"]],
    }
    report = preservation_request and services.request_report(preservation_request, now=timezone.now())
    if report:
        retention = report.retention
        context.update({
            "urgency": preservation_request.urgency,
            "headline": presentation.urgency_headline(retention, timezone.now(), preservation_request.window_zone),
            "explanations": [e.text for e in retention.explanations if e.code != "urgency"],
            "window_utc": [presentation.utc_text(preservation_request.window_start),
                           presentation.utc_text(preservation_request.window_end)],
        })
    return context


def _saved_rows_formset(preservation_request):
    return SerialFormSet(prefix="serials", initial=serial_initial(preservation_request))


def _intake(request, preservation_request=None):
    agency = request.user.agency
    if agency is None:
        raise Http404
    if request.method != "POST":
        initial = None if preservation_request else initial_for(request.user)
        form = RequestForm(instance=preservation_request, initial=initial, agency=agency)
        return render(request, "preservation/request_form.html",
                      _intake_context(form, _saved_rows_formset(preservation_request), preservation_request))
    form = RequestForm(request.POST, instance=preservation_request, agency=agency)
    formset = SerialFormSet(request.POST, prefix="serials")
    if not (form.is_valid() and formset.is_valid()):
        return render(request, "preservation/request_form.html",
                      _intake_context(form, formset, preservation_request), status=400)
    rows = serial_rows(formset, form.pasted_serials())
    try:
        preservation_request = services.request_save_draft(
            agency=agency, actor=request.user, fields=form.draft_fields(), serial_rows=rows,
            request=preservation_request,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return render(request, "preservation/request_form.html",
                      _intake_context(form, formset, preservation_request), status=400)
    if request.POST.get("action") == "send":
        return _ready_to_send_or_errors(request, preservation_request, rows)
    messages.success(request, _("Draft %(ref)s saved.") % {"ref": preservation_request.reference})
    return redirect("preservation:request_edit", pk=preservation_request.pk)


def _ready_to_send_or_errors(request, preservation_request, rows):
    """The draft is saved; go to the sending page, or show every problem beside its field."""
    errors = sending_errors(preservation_request, now=timezone.now())
    serial_problems = errors.pop("serials", []) + unchecked_warnings(rows)
    if not (errors or serial_problems):
        return redirect("preservation:request_send", pk=preservation_request.pk)
    data = request.POST.copy()
    data["paste"] = ""  # the pasted serials are rows of the list now
    form = RequestForm(data, instance=preservation_request, agency=preservation_request.agency)
    form.is_valid()
    if errors:
        add_service_errors(form, ValidationError(errors))
    messages.warning(request, _("Draft %(ref)s saved, but it cannot be sent yet: see the problems below.")
                     % {"ref": preservation_request.reference})
    context = _intake_context(form, _saved_rows_formset(preservation_request), preservation_request,
                              serial_errors=[message for e in serial_problems for message in e.messages])
    return render(request, "preservation/request_form.html", {**context, "sending": True}, status=400)


@case_data
def request_new(request):
    return _intake(request)


@case_data
def request_edit(request, pk):
    preservation_request = request_or_404(request.user, pk)
    if preservation_request.state != RequestState.DRAFT:
        messages.info(request, _("Only a draft can be edited; this request has been sent."))
        return redirect("preservation:request_detail", pk=pk)
    if not permissions.can_edit_request(request.user, preservation_request):
        messages.info(request, NOT_YOURS)
        return redirect("preservation:request_detail", pk=pk)
    return _intake(request, preservation_request)


# --- Live checks (JSON, POST only: serials and emails never travel in a URL) ------------------


@login_required
@require_POST
def serial_check(request):
    """``serial``: one typed serial; ``paste``: many, split as the paste box splits them."""
    if "paste" in request.POST:
        text = request.POST["paste"][:MAX_PASTE_LENGTH]
        pieces = serials.split_serials(text)[:MAX_SERIALS]
        return JsonResponse({"serials": [_serial_json(piece) for piece in pieces]})
    kind = request.POST.get("kind") or catalogue.BLINK_SERIAL
    if "serial" in request.POST and kind != catalogue.BLINK_SERIAL:
        if kind not in catalogue.IDENTIFIER_LABELS:
            return JsonResponse({"error": _("Unknown identifier type.")}, status=400)
        return JsonResponse(identifiers.check_identifier(kind, request.POST["serial"]).as_dict())
    if "serial" in request.POST:
        return JsonResponse(_serial_json(request.POST["serial"]))
    return JsonResponse({"error": _("Send a serial or a pasted list.")}, status=400)


def _serial_json(raw):
    result = serials.parse_serial(raw)
    data = result.as_dict()
    data["legacy_pool"] = result.generation == serials.LEGACY or serials.is_legacy_pool_model(result.model_hint)
    return data


def _window_from_post(post, zone):
    """(start, end, problem): the window in UTC, or what stops reading it (a time at a clock
    change is named, docs/dates.md)."""
    field = LocalDateTimeField(required=False)
    try:
        start, end = field.clean(post.get("window_start")), field.clean(post.get("window_end"))
    except ValidationError:
        return None, None, None
    moments = []
    for name, wall in (("window_start", start), ("window_end", end)):
        try:
            moments.append(wall and presentation.wall_to_utc(wall, zone, post.get(name + "_offset")))
        except ValidationError as error:
            return None, None, error.messages[0]
    return moments[0], moments[1], None


@login_required
@require_POST
def urgency_check(request):
    """The live urgency panel of the intake form: UTC equivalents of the window and how much
    time is left before its oldest clip is deleted."""
    zone = request.POST.get("window_zone") or (request.user.agency.time_zone if request.user.agency else "UTC")
    if zone not in ZONES:
        return JsonResponse({"ok": False, "message": _("Choose a known time zone.")}, status=400)
    start, end, problem = _window_from_post(request.POST, zone)
    body = {"ok": False, "start_utc": start and presentation.utc_text(start),
            "end_utc": end and presentation.utc_text(end)}
    if problem:
        return JsonResponse({**body, "message": problem})
    if not (start and end):
        return JsonResponse({**body, "message": _("Enter when the window starts and ends to see the urgency.")})
    if end <= start:
        return JsonResponse({**body, "message": _("The window must end after it starts.")})
    report = _draft_report(request.POST, start, end, zone)
    return JsonResponse({
        **body, "ok": True, "urgency": report.retention.urgency.value,
        "urgency_label": str(report.retention.urgency.label),
        "icon": presentation.URGENCY_ICONS[report.retention.urgency.value],
        "style": presentation.URGENCY_STYLES[report.retention.urgency.value],
        "headline": str(presentation.urgency_headline(report.retention, timezone.now(), zone)),
        "explanations": [e.text for e in report.retention.explanations if e.code != "urgency"],
    })


def _draft_report(post, start, end, zone):
    data_types = set(post.getlist("data_types"))
    raw_serials = [value for key, value in post.items() if key.startswith("serials-") and key.endswith("-raw")]
    models = [value for key, value in post.items() if key.startswith("serials-") and key.endswith("-model")]
    legacy = any(serials.parse_serial(raw).generation == serials.LEGACY for raw in raw_serials if raw) or any(
        serials.is_legacy_pool_model(model) for model in models)
    auto_delete = post.get("auto_delete_days")
    auto_delete = int(auto_delete) if auto_delete in {str(d) for d in deadlines.AUTO_DELETE_CHOICES} else None
    return deadlines.compute_report(
        start=start, end=end, now=timezone.now(), country=(post.get("account_country") or "").strip() or None,
        auto_delete_days=auto_delete, legacy=legacy,
        content=bool(data_types & deadlines.CONTENT_DATA_TYPES) or not data_types,
        zone=zone, thresholds=services.thresholds(),
        provider=selectors.provider_policy(post.get("provider") or catalogue.BLINK.code,
                                          post.get("provider_other_name", "")),
    )


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

NOT_YOURS = _("You can read this request but not change it: only its requester, a paralegal, a supervisor "
              "or an agency administrator can.")


def _approval_state(user, preservation_request, form=None):
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
        "ask_url": can_ask and reverse("preservation:request_ask_approval", args=[preservation_request.pk]),
        "form": can_approve and (form or ACTION_FORMS["approve"](preservation_request=preservation_request, prefix="approve")),
        "url": reverse("preservation:request_approve", args=[preservation_request.pk]),
    }


def _own_draft_notice(user, preservation_request):
    """Why this approver may not approve this draft (four eyes: they wrote part of it), or "".
    The page hides the Approve button then; services.request_approve refuses it anyway."""
    editor_ids = services.request_editor_ids(preservation_request)
    if permissions.approves_own_work(user, preservation_request, editor_ids=editor_ids):
        return services.OWN_REQUEST
    return ""


def _detail_context(request, preservation_request, bound_forms=None):
    now = timezone.now()
    report = services.request_report(preservation_request, now=now)
    # Buttons only for what this user may do; the services refuse the rest anyway.
    can_edit = permissions.can_edit_request(request.user, preservation_request)
    actions = services.allowed_actions(preservation_request) if can_edit else []
    if permissions.can_correct_request(request.user, preservation_request) and CorrectionForm.recorded_fields(preservation_request):
        actions.append("correct")
    bound_forms = bound_forms or {}
    approval = _approval_state(request.user, preservation_request, bound_forms.get("approve"))
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
            {**ACTIONS[name], "name": name, "url": reverse(ACTIONS[name]["url"], args=[preservation_request.pk]),
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
    agency = preservation_request.agency
    approval_required = agency.requires_supervisor_approval and preservation_request.state == RequestState.DRAFT
    return next_step.next_step(next_step.Facts(
        state=preservation_request.state, zone=agency.time_zone,
        first_loss_at=preservation_request.first_loss_at, total_loss_at=preservation_request.total_loss_at,
        sent_at=preservation_request.sent_at, extension_sent_at=preservation_request.extension_sent_at,
        extension_send_by=preservation_request.extension_send_by, expires_on=preservation_request.expires_on,
        final_expires_on=preservation_request.final_expires_on, urgency=preservation_request.urgency,
        legacy=preservation_request.has_legacy_device, approval_required=approval_required,
        approved=approval_required and services.request_is_approved(preservation_request),
        approval_requested=preservation_request.approval_requested_at is not None,
    ), now=now, rules=selectors.next_step_rules())


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
        return {"url": reverse(_STEP_TARGETS[step.action], args=[preservation_request.pk])}
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
def request_detail(request, pk):
    preservation_request = request_or_404(request.user, pk)
    return render(request, "preservation/request_detail.html", _detail_context(request, preservation_request))


DONE_MESSAGES = {
    "approve": _("%(ref)s is approved for sending."),
    "correct": _("%(ref)s: corrected; its deadlines and reminders were worked out again."),
    "ask_approval": _("%(ref)s: your agency's supervisors are asked to approve it."),
    "review_emergency": _("%(ref)s: the emergency send is marked as reviewed."),
    "assign": _("%(ref)s is reassigned."),
}


def _back_to_list(request):
    """The dashboard address a list's button came from (its filters kept), or None."""
    target = request.POST.get("next", "")
    dashboard_path = reverse("preservation:dashboard")
    on_list = target == dashboard_path or target.startswith(dashboard_path + "?")
    if on_list and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return None


@case_data
@require_POST
def request_action(request, pk, action):
    """One state change from a button of the request page (or the sending page)."""
    preservation_request = request_or_404(request.user, pk)
    form = ACTION_FORMS[action](request.POST, preservation_request=preservation_request, prefix=action)
    if form.is_valid():
        try:
            changed = form.execute(actor=request.user, now=timezone.now())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            done = DONE_MESSAGES.get(action, _("%(ref)s: done, the request is now “%(state)s”."))
            messages.success(request, done % {"ref": changed.reference, "state": changed.get_state_display()})
            return redirect(_back_to_list(request) or reverse("preservation:request_detail", args=[pk]))
        if _back_to_list(request):
            for error in form.errors.values():
                messages.error(request, " ".join(error))
            return redirect(_back_to_list(request))
    if action == "send":
        return render(request, "preservation/request_send.html",
                      _send_context(request, preservation_request, form), status=400)
    context = _detail_context(request, preservation_request, {action: form})
    # A refused action whose button is not on the page (the state moved on) still says why.
    shown = any(item["name"] == action for item in context["actions"]) or (
        action == "approve" and bool(context["approval"] and context["approval"]["form"])) or (
        action == "assign" and bool(context["assign_form"]))
    return render(request, "preservation/request_detail.html", {
        **context, "open_action": action, "refusals": [] if shown else form.non_field_errors(),
    }, status=400)


# --- Sending to Blink -------------------------------------------------------------------------


def _send_context(request, preservation_request, form):
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
    approval = _approval_state(request.user, preservation_request)
    return {
        "problems": [message for errors in problems.values() for e in errors for message in e.messages],
        "zone": agency.time_zone,
        "preservation_request": preservation_request, "fields": [
            {"code": code, "label": label, "value": value or ""} for code, label, value in fields],
        "form": form, "draft": draft, "can_edit": can_edit, "approval": approval, "read_only": NOT_YOURS,
        "can_send": draft and can_edit and (not (approval and not approval["approved"])
                                            or "emergency_reason" in form.fields),
        "emergency": "emergency_reason" in form.fields,
        "letter": _letter(preservation_request, now),
        "blink_form_url": settings.PRESERVE["BLINK_FORM_URL"],
    }


def _letter(preservation_request, now, kind=DocumentKind.REQUEST):
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


@case_data
@require_GET
def request_send(request, pk):
    preservation_request = request_or_404(request.user, pk)
    form = SendForm(preservation_request=preservation_request, prefix="send")
    return render(request, "preservation/request_send.html", _send_context(request, preservation_request, form))



# --- Sending the extension ------------------------------------------------------------------


def _extension_context(request, preservation_request, form):
    """What Blink's form needs to extend the preservation (the same request, identified by
    Blink's reference and the original receipt), the extension letter, and when it must arrive."""
    agency = preservation_request.agency
    serial_list = list(preservation_request.serials.all())
    fields = [
        ("blink_reference", _("Blink's reference"), preservation_request.blink_reference),
        ("received_on", _("Original request received by Blink on"),
         preservation_request.received_on and preservation_request.received_on.isoformat()),
        ("requester_name", _("Requester name"), preservation_request.requester_name),
        ("requester_email", _("Requester email"), preservation_request.requester_email),
        ("agency", _("Agency (affiliation)"), agency.name),
        ("case_number", _("CRIM#"), preservation_request.case_number),
        ("window_start", _("Start date and time (UTC)"),
         preservation_request.window_start and preservation_request.window_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("window_end", _("End date and time (UTC)"),
         preservation_request.window_end and preservation_request.window_end.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("serials", _("Device serial numbers (DSN)"), "\n".join(s.display for s in serial_list)),
        ("account_email", _("Account email"), preservation_request.account_email),
    ]
    now = timezone.now()
    can_edit = permissions.can_edit_request(request.user, preservation_request)
    clock = selectors.request_clock(preservation_request, extensions_received=1)
    extended_until = clock and clock.final_expires_on
    return {
        "preservation_request": preservation_request, "zone": agency.time_zone, "form": form,
        "fields": [{"code": code, "label": label, "value": value or ""} for code, label, value in fields],
        "can_send": can_edit and preservation_request.state == RequestState.PRESERVING,
        "read_only": NOT_YOURS, "can_edit": can_edit, "extended_until": extended_until,
        "letter": _letter(preservation_request, now, DocumentKind.EXTENSION),
        "blink_form_url": settings.PRESERVE["BLINK_FORM_URL"],
    }


@case_data
@require_GET
def request_extension_page(request, pk):
    preservation_request = request_or_404(request.user, pk)
    form = ACTION_FORMS["send_extension"](preservation_request=preservation_request, prefix="send_extension")
    return render(request, "preservation/request_extension.html", _extension_context(request, preservation_request, form))
