"""The dashboard: the agency's requests with their next step, filters (non-personal ones in
the address, the typed search in the session), the CSV export and bulk actions."""
import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from preservation.requests import dashboard_rows
from preservation.core import permissions
from preservation.core.audit import audit_record, search_summary
from preservation.core.spreadsheet import safe_cell
from preservation.documents import services as documents
from preservation.models import DocumentKind
from preservation.requests import selectors, services
from preservation.requests.access import case_data
from preservation.requests.forms import (
    BulkForm,
    DashboardFilterForm,
)
from preservation.rules import deadlines
from preservation.requests.page_context import NOT_YOURS, back_to_list


PAGE_SIZE = 25
FILTERS_SESSION_KEY = "preservation:dashboard_filters"


# --- Dashboard -----------------------------------------------------------------------------------


# What a dashboard row shows, read as plain values; the rest of each request stays in the
# database. People's names come from the agency's people, already read for the filter form: no
# join in the rows' query. The next step's facts come with the rows (selectors.with_row_facts).
DASHBOARD_COLUMNS = (
    "pk", "public_id", "reference", "case_number", "state", "urgency", "next_deadline_on", "next_deadline_kind", "deadlines_provisional",
    "created_by_id", "assigned_to_id", "first_loss_at", "total_loss_at",
    "sent_at", "extension_sent_at", "extension_send_by", "expires_on", "final_expires_on",
    "approval_requested_at", "emergency_reason", "emergency_reviewed_at", "approved",
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
            selectors.with_legacy_flags(page.object_list), user=user, today=today, people=people, now=timezone.now(),
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
    back = back_to_list(request) or reverse("preservation:dashboard")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    chosen = selectors.requests_for_user(request.user).filter(public_id__in=form.cleaned_data["selected"])
    operation = form.cleaned_data["operation"]
    if operation == "csv":
        return _csv_response(request, chosen.order_by("urgency_rank", "next_deadline_on", "-created_at", "-pk"),
                             what="selected rows")
    done, refused = [], []
    for preservation_request in chosen.select_related("agency").order_by("pk"):
        try:
            _bulk_one(operation, preservation_request, request.user, form.cleaned_data, {str(p.public_id): p for p in people})
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
        services.request_assign(preservation_request=preservation_request, actor=actor, assignee=people[data["assignee"]], now=now)
    elif operation == "record_receipt":
        services.request_record_receipt(preservation_request=preservation_request, actor=actor, received_on=data["received_on"],
                                        blink_reference=data["blink_reference"], now=now)
    elif operation == "generate":
        if not permissions.can_edit_request(actor, preservation_request):
            raise ValidationError(NOT_YOURS)
        documents.document_request(preservation_request=preservation_request, kind=data["kind"], actor=actor, now=now)
