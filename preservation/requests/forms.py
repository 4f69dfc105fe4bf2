"""Forms of the web interface. They turn what people type into service calls; the rules live
in ``services``, ``validation``, ``serials`` and ``deadlines``.

Time is typed as a wall-clock time in a chosen zone (the agency's by default) and converted
with ``deadlines.local_to_utc``, because Blink works in UTC and officers in local time.
"""
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from preservation.core import presentation
from preservation.models import (
    KNOWN_TIME_ZONES,
    LegalProcessType,
    Outcome,
    PreservationRequest,
    RequestState,
    validate_country,
)
from preservation.requests import services
from preservation.rules import deadlines, serials

MAX_SERIALS = 100
MAX_PASTE_LENGTH = 20_000
LOCAL_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
ZONES = KNOWN_TIME_ZONES
_ZONE_CHOICES = [(zone, zone) for zone in sorted(ZONES)]


class PlainOptionsSelect(forms.Select):
    """A select of hundreds of plain options (the ~600 time zones). Django renders every option
    through two templates (option, then its attributes): for the zones that was most of the
    intake page's rendering time. These options have no groups and no attributes of their own,
    so they are written here directly, each value and label escaped; the select's own
    attributes (id, class, required, aria-describedby) are Django's, as for any widget."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (code, mark_safe(" selected") if str(code) in chosen else "", label)
            for code, label in self.choices
        ))
        return format_html("<select{}>{}</select>", flatatt({**self.build_attrs(self.attrs, attrs), "name": name}),
                           options)


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time with no zone attached: the form converts it with the chosen zone."""

    widget = LocalDateTimeInput
    input_formats = LOCAL_DATETIME_FORMATS

    def to_python(self, value):
        result = super().to_python(value)
        # Django makes it aware in the current zone; keep the wall clock the user typed.
        return timezone.make_naive(result) if result is not None and timezone.is_aware(result) else result


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def local_wall_clock(instant, zone):
    """An aware instant as the naive wall-clock time of ``zone`` (to pre-fill a form)."""
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None) if instant else None


def _to_utc(naive, zone, field):
    try:
        return deadlines.local_to_utc(naive, zone)
    except (OverflowError, ValueError):
        raise ValidationError({field: _("This date is out of range.")}) from None


def add_service_errors(form, error):
    """Show a service's ValidationError beside the fields it names; the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.error_dict.items():
        form.add_error(field if field in form.fields else None, messages)


# --- Intake --------------------------------------------------------------------------------------


class RequestForm(forms.ModelForm):
    """A draft's fields. Formats are checked here; completeness only when the request is sent."""

    window_start = LocalDateTimeField(label=_("Window starts"), required=False)
    window_end = LocalDateTimeField(label=_("Window ends"), required=False)
    window_zone = forms.ChoiceField(
        label=_("Time zone of these times"), choices=_ZONE_CHOICES, widget=PlainOptionsSelect,
        help_text=_("Times are typed in this zone; Blink receives them in UTC."),
    )
    data_types = forms.MultipleChoiceField(
        label=_("Data to preserve"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(code, label) for code, label, _explanation in deadlines.DATA_TYPES],
    )
    requester_phone = PhoneNumberField(label=_("Requester phone"), required=False)
    account_country = forms.CharField(
        label=_("Account country"), required=False, max_length=2, validators=[validate_country],
        help_text=_("Two letters, for example US or GB. UK/EU accounts keep clips 30 days, "
                    "others 60; if unknown, 30 days is assumed."),
    )
    paste = forms.CharField(
        label=_("Paste many serials"), required=False, max_length=MAX_PASTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, or separated by commas or spaces. They are added to the list above."),
    )

    class Meta:
        model = PreservationRequest
        fields = [
            "requester_name", "requester_title", "requester_badge", "requester_email",
            "requester_phone", "unit", "case_number", "account_email", "account_country",
            "auto_delete_days", "data_types", "window_start", "window_end", "window_zone",
            "notes", "language",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "auto_delete_days": _("Only if you know the owner set a shorter auto-delete period."),
            "language": _("The language of the documents sent to Blink."),
        }

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.fields["account_country"].widget.attrs.update({"autocapitalize": "characters", "size": 3})
        self.fields["auto_delete_days"].choices = [("", _("Not known"))] + presentation.day_choices(
            deadlines.AUTO_DELETE_CHOICES)
        zone = self.instance.window_zone if self.instance.pk else agency.time_zone
        if self.instance.pk:
            self.initial["window_start"] = local_wall_clock(self.instance.window_start, zone)
            self.initial["window_end"] = local_wall_clock(self.instance.window_end, zone)
        self.initial.setdefault("window_zone", zone)
        self.data_type_help = {code: text for code, _label, text in deadlines.DATA_TYPES}

    def clean_paste(self):
        count = len(serials.split_serials(self.cleaned_data["paste"]))
        if count > MAX_SERIALS:
            raise ValidationError(
                _("Paste at most %(limit)d serials at once (found %(count)d)."),
                code="too_many_serials", params={"limit": MAX_SERIALS, "count": count})
        return self.cleaned_data["paste"]

    def clean_account_country(self):
        return self.cleaned_data["account_country"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        zone = cleaned.get("window_zone") or self.agency.time_zone
        for field in ("window_start", "window_end"):
            if cleaned.get(field):
                cleaned[field] = _to_utc(cleaned[field], zone, field)
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The window must end after it starts."))
        return cleaned

    def draft_fields(self):
        return {name: self.cleaned_data[name] for name in services.DRAFT_FIELDS if name in self.cleaned_data}

    def pasted_serials(self):
        return serials.split_serials(self.cleaned_data.get("paste") or "")


def initial_for(user):
    """A new request pre-filled from the signed-in user and their agency."""
    return {
        "requester_name": user.get_full_name(),
        "requester_title": user.rank_title,
        "requester_badge": user.badge_number,
        "requester_email": user.email,
        "requester_phone": user.phone,
        "unit": user.unit,
        "account_country": user.agency.country if user.agency else "",
        "window_zone": user.agency.time_zone if user.agency else "UTC",
        "language": user.language,
    }


class SerialRowForm(forms.Form):
    raw = forms.CharField(label=_("Serial number"), required=False, max_length=serials.MAX_INPUT_LENGTH)
    model = forms.ChoiceField(
        label=_("Device model"), required=False,
        choices=[("", _("Not known"))] + list(serials.DEVICE_MODELS),
    )
    warnings_acknowledged = forms.BooleanField(label=_("Warnings checked"), required=False)

    def parsed(self):
        raw = (self.cleaned_data.get("raw") if hasattr(self, "cleaned_data") else None) or self["raw"].value()
        return serials.parse_serial(raw) if raw else None


SerialFormSet = forms.formset_factory(SerialRowForm, extra=0, can_delete=True, max_num=MAX_SERIALS,
                                      validate_max=True)


def serial_initial(preservation_request):
    return [
        {"raw": s.raw, "model": s.model, "warnings_acknowledged": s.warnings_acknowledged}
        for s in preservation_request.serials.all()
    ] if preservation_request else []


def serial_rows(formset, pasted):
    """The serial list to store: kept rows in order, then each pasted serial with its hint."""
    rows = [
        form.cleaned_data for form in formset.forms
        if form.cleaned_data.get("raw", "").strip() and not form.cleaned_data.get("DELETE")
    ]
    rows = [{**row, "raw": row["raw"].strip()} for row in rows]
    rows += [{"raw": raw, "model": "", "warnings_acknowledged": False} for raw in pasted]
    return rows


def unchecked_warnings(rows):
    """Errors for serials whose warnings the user has not marked as checked."""
    errors = []
    for row in rows:
        parsed = serials.parse_serial(row["raw"])
        if parsed.valid and parsed.warnings and not row.get("warnings_acknowledged"):
            errors.append(ValidationError(
                _("“%(serial)s” has a warning: check the label, then tick “Warnings checked”."),
                code="warnings_unchecked", params={"serial": parsed.display},
            ))
    return errors


# --- Actions on a request ------------------------------------------------------------------------


class ActionForm(forms.Form):
    """One state change; ``execute`` calls its service, which has the last word."""

    service = None

    def __init__(self, *args, preservation_request, **kwargs):
        super().__init__(*args, **kwargs)
        self.preservation_request = preservation_request
        self.zone = preservation_request.agency.time_zone

    def arguments(self):
        return {}

    def execute(self, *, actor, now):
        return self.service(request=self.preservation_request, actor=actor, now=now, **self.arguments())

    def local_now(self):
        return local_wall_clock(timezone.now(), self.zone)


class SentAtMixin:
    def sent_at(self):
        value = self.cleaned_data.get("sent_at")
        return _to_utc(value, self.zone, "sent_at") if value else None


class SendForm(SentAtMixin, ActionForm):
    service = staticmethod(services.request_send)
    sent_at = LocalDateTimeField(
        label=_("Sent at (agency time)"), required=False,
        help_text=_("Leave empty for now. The time you submitted Blink's online form."),
    )

    def arguments(self):
        return {"sent_at": self.sent_at()}


class ReceiptForm(ActionForm):
    service = staticmethod(services.request_record_receipt)
    received_on = forms.DateField(
        label=_("Received by Blink on"), widget=DateInput(),
        help_text=_("The date on Blink's acknowledgement: the 90-day clock starts here."),
    )
    blink_reference = forms.CharField(label=_("Blink's reference"), required=False, max_length=100)

    def arguments(self):
        return {"received_on": self.cleaned_data["received_on"],
                "blink_reference": self.cleaned_data["blink_reference"]}


class ExtensionForm(SentAtMixin, ActionForm):
    service = staticmethod(services.request_send_extension)
    sent_at = LocalDateTimeField(
        label=_("Extension sent at (agency time)"), required=False, help_text=_("Leave empty for now."),
    )

    def arguments(self):
        return {"sent_at": self.sent_at()}


class ExtensionReceiptForm(ActionForm):
    service = staticmethod(services.request_record_extension_receipt)
    received_on = forms.DateField(label=_("Extension received by Blink on"), widget=DateInput())

    def arguments(self):
        return {"received_on": self.cleaned_data["received_on"]}


class LegalProcessForm(ActionForm):
    service = staticmethod(services.request_record_legal_process)
    process_type = forms.ChoiceField(label=_("Legal process"), choices=LegalProcessType.choices)
    served_on = forms.DateField(label=_("Served on Amazon on"), widget=DateInput())

    def arguments(self):
        return {"process_type": self.cleaned_data["process_type"],
                "served_on": self.cleaned_data["served_on"]}


class CloseForm(ActionForm):
    service = staticmethod(services.request_close)
    outcome = forms.ChoiceField(label=_("Outcome"))
    reason = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lapsed = self.preservation_request.state == RequestState.LAPSED
        allowed = [Outcome.LAPSED] if lapsed else [Outcome.PRODUCED, Outcome.NO_DATA]
        self.fields["outcome"].choices = [(o.value, o.label) for o in allowed]

    def arguments(self):
        return {"outcome": self.cleaned_data["outcome"], "reason": self.cleaned_data["reason"]}


class WithdrawForm(ActionForm):
    service = staticmethod(services.request_withdraw)
    reason = forms.CharField(label=_("Why is it withdrawn?"), widget=forms.Textarea(attrs={"rows": 2}))

    def arguments(self):
        return {"reason": self.cleaned_data["reason"]}


class ApproveForm(ActionForm):
    """A supervisor approves a draft for sending; no fields, the confirmation is the button."""

    service = staticmethod(services.request_approve)


ACTION_FORMS = {
    "approve": ApproveForm,
    "send": SendForm,
    "record_receipt": ReceiptForm,
    "send_extension": ExtensionForm,
    "record_extension_receipt": ExtensionReceiptForm,
    "record_legal_process": LegalProcessForm,
    "close": CloseForm,
    "withdraw": WithdrawForm,
}


# --- Dashboard -----------------------------------------------------------------------------------


class DashboardFilterForm(forms.Form):
    """Filters of the dashboard. Sent by POST and kept in the session, so a search for an
    email or a serial never lands in a URL, a browser history or a proxy log."""

    BUCKETS = [
        ("", _("All")),
        ("lost_losing", _("Lost or losing")),
        ("critical", _("Critical")),
        ("due_week", _("Due this week")),
        ("preserving", _("Preserving")),
        ("extended", _("Extended")),
        ("closed", _("Closed")),
    ]

    q = forms.CharField(
        label=_("Search"), required=False, max_length=200,
        help_text=_("CRIM#, a device serial in any format, or the account email."),
    )
    bucket = forms.ChoiceField(label=_("Group"), required=False, choices=BUCKETS)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("Any state"))] + list(RequestState.choices))
    urgency = forms.ChoiceField(
        label=_("Urgency"), required=False,
        choices=[("", _("Any urgency"))] + [(u.value, u.label) for u in deadlines.Urgency],
    )
    requester = forms.TypedChoiceField(label=_("Created by"), required=False, coerce=int, empty_value=None)
    due_within = forms.IntegerField(label=_("Due within (days)"), required=False, min_value=0, max_value=3650)

    def __init__(self, *args, agency_users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requester"].choices = [("", _("Anyone"))] + [
            (u.pk, u.get_full_name() or u.username) for u in agency_users
        ]
        # Plain Bootstrap classes: the dashboard renders these fields itself, cheaply.
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def session_value(self):
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}

