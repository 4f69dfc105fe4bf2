"""The intake form (new and edit) and its live checks (JSON, POST only: serials and emails never
travel in a URL)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from preservation.core import permissions, presentation
from preservation.models import RequestState
from preservation.requests import selectors, services
from preservation.requests.access import case_data, request_or_404
from preservation.requests.forms import (
    MAX_PASTE_LENGTH,
    MAX_SERIALS,
    ZONES,
    LocalDateTimeField,
    RequestForm,
    SerialFormSet,
    add_service_errors,
    initial_for,
    serial_initial,
    serial_rows,
    unchecked_warnings,
)
from preservation.rules import catalogue, deadlines, identifiers, serials
from preservation.rules.validation import sending_errors
from preservation.requests.page_context import NOT_YOURS



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
            preservation_request=preservation_request,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return render(request, "preservation/request_form.html",
                      _intake_context(form, formset, preservation_request), status=400)
    if request.POST.get("action") == "send":
        return _ready_to_send_or_errors(request, preservation_request, rows)
    messages.success(request, _("Draft %(ref)s saved.") % {"ref": preservation_request.reference})
    return redirect("preservation:request_edit", public_id=preservation_request.public_id)


def _ready_to_send_or_errors(request, preservation_request, rows):
    """The draft is saved; go to the sending page, or show every problem beside its field."""
    errors = sending_errors(preservation_request, now=timezone.now())
    serial_problems = errors.pop("serials", []) + unchecked_warnings(rows)
    if not (errors or serial_problems):
        return redirect("preservation:request_send", public_id=preservation_request.public_id)
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
def request_edit(request, public_id):
    preservation_request = request_or_404(request.user, public_id)
    if preservation_request.state != RequestState.DRAFT:
        messages.info(request, _("Only a draft can be edited; this request has been sent."))
        return redirect("preservation:request_detail", public_id=public_id)
    if not permissions.can_edit_request(request.user, preservation_request):
        messages.info(request, NOT_YOURS)
        return redirect("preservation:request_detail", public_id=public_id)
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
