"""Web pages. Thin: forms read input, services change state, selectors read, presentation
shapes what a page shows. Every page with case data is login-only, agency-scoped (404 for
another agency's request) and sent with ``Cache-Control: no-store``.
"""
import csv
import zoneinfo
from datetime import UTC

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timesince, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from preservation.core import permissions, presentation
from preservation.documents import services as documents
from preservation.correspondence.panel import correspondence_panel
from preservation.documents.panel import documents_panel, is_stale, with_problem
from preservation.models import DocumentKind, DocumentState, PreservationRequest, RequestState
from preservation.requests import selectors, services
from preservation.requests.access import case_data, request_or_404
from preservation.requests.forms import (
    ACTION_FORMS,
    MAX_PASTE_LENGTH,
    MAX_SERIALS,
    ZONES,
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
from preservation.rules import deadlines, serials
from preservation.rules import premises as evidence
from preservation.rules.validation import sending_errors, sending_warnings
from preservation.templatetags.preserve_ui import deadline_kind_label, state_label, urgency_badge

PAGE_SIZE = 25
FILTERS_SESSION_KEY = "preservation:dashboard_filters"


# --- Dashboard -----------------------------------------------------------------------------------


# What a dashboard row shows, read as plain values; the rest of each request stays in the
# database. Creators' names come from the agency's people, already read for the filter form: no
# join in the rows' query.
DASHBOARD_COLUMNS = (
    "pk", "case_number", "state", "urgency", "next_deadline_on", "next_deadline_kind", "deadlines_provisional",
    "created_by_id",
)


def _dashboard_filters(request):
    return request.session.get(FILTERS_SESSION_KEY, {})


def _dashboard_people(user):
    """The agency's people, read once: the active ones are the requester filter's choices and
    everyone's name labels the rows."""
    people = list(selectors.agency_members(user))
    return people, [person for person in people if person.is_active]


def _render_dashboard(request, form, people, status=200):
    user, filters = request.user, _dashboard_filters(request)
    today = selectors.agency_today(user)
    queryset = selectors.dashboard_requests(user, filters, today).select_related(None).values(*DASHBOARD_COLUMNS)
    counts = selectors.bucket_counts(user, today)
    paginator = Paginator(queryset, PAGE_SIZE)
    if not filters:
        paginator.count = counts["total"]  # already counted with the groups: one query less
    page = paginator.get_page(request.GET.get("page"))
    buckets = [
        {"code": code, "label": label, "count": counts[code], "active": filters.get("bucket") == code}
        for code, label in DashboardFilterForm.BUCKETS if code
    ]
    return render(request, "preservation/dashboard.html", {
        "page": page, "rows": _dashboard_rows(page.object_list, today, people), "form": form,
        "buckets": buckets, "total": counts["total"], "filtered": bool(filters),
    }, status=status)


# Stands for the pk while the request page's address is reversed, once per page.
_PK_STAND_IN = 987654321

# A dashboard row, put together here as Django's admin builds its change-list rows
# (contrib/admin/templatetags/admin_list.py): 25 rows of six cells cost the template engine
# more than the rest of the page (bench/dashboard.py). format_html escapes every value.
_ROW_HTML = (
    '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n'
)
_DUE_HTML = '{}: <strong>{}</strong>{}<span class="small text-body-secondary d-block">{}</span>'
_PROVISIONAL_HTML = ' <span class="badge text-bg-light border">{}</span> '
_NONE = "\N{EM DASH}"


def _dashboard_rows(requests, today, people):
    """Each row's HTML. Badges, labels and dates are worked out once per page, as plain text:
    a lazy translation would be translated again at every use."""
    requests = list(requests)
    head, tail = reverse("preservation:request_detail", args=[_PK_STAND_IN]).split(str(_PK_STAND_IN))
    names = {person.pk: person.get_full_name() or person.username for person in people}
    missing = {row["created_by_id"] for row in requests} - names.keys()
    if missing:
        names.update(selectors.user_names(missing))
    texts = {}

    def once(key, make):
        if key not in texts:
            texts[key] = make()
        return texts[key]

    provisional = format_html(_PROVISIONAL_HTML, _("provisional"))
    rows = []
    for row in requests:
        due, kind, urgency, state = row["next_deadline_on"], row["next_deadline_kind"], row["urgency"], row["state"]
        flagged = row["deadlines_provisional"]
        due_cell = once(("due", due, kind, flagged), lambda: format_html(
            _DUE_HTML, str(deadline_kind_label(kind)), formats.date_format(due, "SHORT_DATE_FORMAT"),
            provisional if flagged else " ",
            str(_("passed")) if due < today else timesince.timeuntil(due, today),
        ) if due else _NONE)
        badge = once(("urgency", urgency), lambda: render_to_string(
            "preservation/_urgency_badge.html", urgency_badge(urgency)) if urgency else _NONE)
        rows.append(format_html(
            _ROW_HTML, "%s%d%s" % (head, row["pk"], tail), PreservationRequest.reference_for(row["pk"]),
            row["case_number"] or _NONE, badge, once(("state", state), lambda: str(state_label(state))), due_cell,
            names[row["created_by_id"]],
        ))
    return rows


@case_data
@require_GET
def dashboard(request):
    people, active = _dashboard_people(request.user)
    form = DashboardFilterForm(initial=_dashboard_filters(request), agency_users=active)
    return _render_dashboard(request, form, people)


@case_data
@require_POST
def dashboard_search(request):
    """Filters arrive by POST and live in the session: an email or serial typed into the
    search box never appears in a URL, the browser history or a server log."""
    if "clear" in request.POST:
        request.session.pop(FILTERS_SESSION_KEY, None)
        return redirect("preservation:dashboard")
    if "bucket_toggle" in request.POST:
        request.session[FILTERS_SESSION_KEY] = _toggle_bucket(
            _dashboard_filters(request), request.POST["bucket_toggle"])
        return redirect("preservation:dashboard")
    people, active = _dashboard_people(request.user)
    form = DashboardFilterForm(request.POST, agency_users=active)
    if not form.is_valid():
        return _render_dashboard(request, form, people, status=400)
    request.session[FILTERS_SESSION_KEY] = form.session_value()
    return redirect("preservation:dashboard")


def _toggle_bucket(filters, code):
    """A group button keeps the other filters; pressing the active group again removes it."""
    filters = {**filters}
    if filters.get("bucket") == code or code not in dict(DashboardFilterForm.BUCKETS):
        filters.pop("bucket", None)
    else:
        filters["bucket"] = code
    return filters


def _csv_cell(value):
    # A cell starting with = + - @ is a formula in spreadsheet programs: neutralise it.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = (
    (_("Reference"), lambda row: row.reference),
    (_("CRIM#"), lambda row: row.case_number),
    (_("State"), lambda row: row.get_state_display()),
    (_("Urgency"), lambda row: row.get_urgency_display()),
    (_("Next deadline"), lambda row: row.next_deadline_on and row.next_deadline_on.isoformat()),
    (_("Next deadline is"), lambda row: row.get_next_deadline_kind_display()),
    (_("Provisional"), lambda row: _("yes") if row.deadlines_provisional else ""),
    (_("Created by"), lambda row: row.created_by.get_full_name() or row.created_by.username),
    (_("Requester"), lambda row: row.requester_name),
    (_("Window start (UTC)"), lambda row: row.window_start and deadlines.format_instant(row.window_start)),
    (_("Window end (UTC)"), lambda row: row.window_end and deadlines.format_instant(row.window_end)),
    (_("Sent (UTC)"), lambda row: row.sent_at and deadlines.format_instant(row.sent_at)),
    (_("Received by Blink"), lambda row: row.received_on and row.received_on.isoformat()),
    (_("Expires"), lambda row: row.expires_on and row.expires_on.isoformat()),
    (_("Final expiry"), lambda row: row.final_expires_on and row.final_expires_on.isoformat()),
)


@case_data
@require_GET
def dashboard_csv(request):
    """The filtered list as CSV. Account emails and serials are left out of the file: the
    list identifies requests, the request page holds the personal data."""
    queryset = selectors.dashboard_requests(request.user, _dashboard_filters(request))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="preservation-requests.csv"'
    writer = csv.writer(response)
    writer.writerow([str(title) for title, _value in CSV_COLUMNS])
    for preservation_request in queryset.iterator(chunk_size=1000):
        writer.writerow([_csv_cell(value(preservation_request)) for _title, value in CSV_COLUMNS])
    return response


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
            "headline": presentation.urgency_headline(retention, timezone.now()),
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
    if "serial" in request.POST:
        return JsonResponse(_serial_json(request.POST["serial"]))
    return JsonResponse({"error": _("Send a serial or a pasted list.")}, status=400)


def _serial_json(raw):
    result = serials.parse_serial(raw)
    data = result.as_dict()
    data["legacy_pool"] = result.generation == serials.LEGACY or serials.is_legacy_pool_model(result.model_hint)
    return data


def _window_from_post(post, zone):
    field = LocalDateTimeField(required=False)
    try:
        start, end = field.clean(post.get("window_start")), field.clean(post.get("window_end"))
        if not (start and end):
            return None, None
        return deadlines.local_to_utc(start, zone), deadlines.local_to_utc(end, zone)
    except (ValidationError, OverflowError, ValueError):
        return None, None


@login_required
@require_POST
def urgency_check(request):
    """The live urgency panel of the intake form: UTC equivalents of the window and how much
    time is left before its oldest clip is deleted."""
    zone = request.POST.get("window_zone") or (request.user.agency.time_zone if request.user.agency else "UTC")
    if zone not in ZONES:
        return JsonResponse({"ok": False, "message": _("Choose a known time zone.")}, status=400)
    start, end = _window_from_post(request.POST, zone)
    body = {"ok": False, "start_utc": start and presentation.utc_text(start),
            "end_utc": end and presentation.utc_text(end)}
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
        "headline": str(presentation.urgency_headline(report.retention, timezone.now())),
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
    )


# --- Request page --------------------------------------------------------------------------------

ACTIONS = {
    "record_receipt": {
        "url": "preservation:request_record_receipt", "title": _("Record Blink's receipt"),
        "confirm": _("Record that Blink received this request? The 90-day clock counts from this date."),
        "style": "primary",
    },
    "send_extension": {
        "url": "preservation:request_send_extension", "title": _("Record the extension request"),
        "confirm": _("Record that the extension request was sent to Blink?"), "style": "primary",
    },
    "record_extension_receipt": {
        "url": "preservation:request_record_extension_receipt", "title": _("Record the extension's receipt"),
        "confirm": _("Record that Blink received the extension? Preservation then runs 180 days from receipt."),
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
    return {
        "approved": approved, "latest": latest, "voided": latest is not None and not approved,
        "can_approve": can_approve,
        "own_draft": can_approve and _own_draft_notice(user, preservation_request),
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
    bound_forms = bound_forms or {}
    approval = _approval_state(request.user, preservation_request, bound_forms.get("approve"))
    serial_list = list(preservation_request.serials.all())
    zone, window = preservation_request.window_zone, (preservation_request.window_start, preservation_request.window_end)
    return {
        "preservation_request": preservation_request,
        "report": report,
        "documents_panel": documents_panel(preservation_request, user=request.user, now=now),
        "correspondence": correspondence_panel(preservation_request, user=request.user),
        "headline": presentation.urgency_headline(report.retention, now)
        if report and preservation_request.state == RequestState.DRAFT else "",
        "deadline_rows": presentation.deadline_rows(preservation_request, report),
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
        "window_local": [moment and moment.astimezone(zoneinfo.ZoneInfo(zone)) for moment in window],
        "window_utc": [moment and moment.astimezone(UTC) for moment in window],
        "checklist": evidence.evidence_checklist(s.model for s in serial_list),
        "warnings": sending_warnings(preservation_request),
    }


@case_data
@require_GET
def request_detail(request, pk):
    preservation_request = request_or_404(request.user, pk)
    return render(request, "preservation/request_detail.html", _detail_context(request, preservation_request))


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
            done = (_("%(ref)s is approved for sending.") if action == "approve"
                    else _("%(ref)s: done, the request is now “%(state)s”."))
            messages.success(request, done % {"ref": changed.reference, "state": changed.get_state_display()})
            return redirect("preservation:request_detail", pk=pk)
    if action == "send":
        return render(request, "preservation/request_send.html",
                      _send_context(request, preservation_request, form), status=400)
    context = _detail_context(request, preservation_request, {action: form})
    # A refused action whose button is not on the page (the state moved on) still says why.
    shown = any(item["name"] == action for item in context["actions"]) or (
        action == "approve" and bool(context["approval"] and context["approval"]["form"]))
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
        "can_send": draft and can_edit and not (approval and not approval["approved"]),
        "letter": _letter(preservation_request, now),
    }


def _letter(preservation_request, now):
    """The preservation letter (PDF) to attach to Blink's form: its latest version, whether
    it still matches the request, and whether a new one can be generated."""
    latest = (preservation_request.documents.without_content().select_related("requested_by", "request")
              .filter(kind=DocumentKind.REQUEST).order_by("-requested_at", "-pk").first())
    last_edit = services.request_last_edited_at(preservation_request)
    outdated = bool(latest and latest.state == DocumentState.DONE and last_edit
                    and latest.requested_at < last_edit)
    working = bool(latest and latest.is_pending and not is_stale(latest, now))
    usable = bool(latest and latest.state == DocumentState.DONE and not outdated)
    return {
        "document": with_problem(latest, now), "now": now, "outdated": outdated, "usable": usable,
        "offer_generate": not (usable or working),
        "errors": documents.generation_errors(preservation_request, DocumentKind.REQUEST, now=now),
    }


@case_data
@require_GET
def request_send(request, pk):
    preservation_request = request_or_404(request.user, pk)
    form = SendForm(preservation_request=preservation_request, prefix="send")
    return render(request, "preservation/request_send.html", _send_context(request, preservation_request, form))

