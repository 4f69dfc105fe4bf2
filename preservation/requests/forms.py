"""Forms of the web interface. They turn what people type into service calls; the rules live
in ``services``, ``validation``, ``serials`` and ``deadlines``.

Time is typed as a wall-clock time in a chosen zone (the agency's by default) and converted
with ``deadlines.local_to_utc``, because Blink works in UTC and officers in local time.
"""
import uuid
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from preservation.core import presentation
from preservation.models import (
    DocumentKind,
    KNOWN_TIME_ZONES,
    TEXT_LIMITS,
    LegalProcessType,
    Outcome,
    PreservationRequest,
    RequestState,
    User,
    validate_country,
)
from preservation.requests import selectors, services
from preservation.rules import catalogue, deadlines, identifiers, serials
from preservation.rules.validation import WINDOW_IN_FUTURE

MAX_SERIALS = 100
MAX_PASTE_LENGTH = 20_000
LOCAL_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
ZONES = KNOWN_TIME_ZONES
_ZONE_CHOICES = tuple((zone, zone) for zone in sorted(ZONES))


class FixedChoiceField(forms.ChoiceField):
    """A choice field whose choices are the same for every form (the ~600 time zones): each new
    form shares them instead of deep-copying them, as Django does for any field of the class
    (about 4 ms per form, each of the 1,800 strings and tuples copied one by one). Nothing
    changes these choices in place; a form that needs others assigns new ones, as with any field."""

    def __deepcopy__(self, memo):
        result = forms.Field.__deepcopy__(self, memo)  # the widget, messages and validators copied
        result._choices = self._choices
        return result


class PlainOptionsSelect(forms.Select):
    """A select of hundreds of plain options (the ~600 time zones). Django renders every option
    through two templates (option, then its attributes): for the zones that was most of the
    intake page's rendering time. These options have no groups and no attributes of their own,
    so they are written here directly, each value and label escaped (presentation.options_html,
    not format_html_join, whose machinery per argument was most of what was left); the select's own
    attributes (id, class, required, aria-describedby) are Django's, as for any widget."""

    def render(self, name, value, attrs=None, renderer=None):
        options = presentation.options_html(self.choices, set(self.format_value(value)))
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


OFFSET_CHOICES = [
    ("", "—"),
    (deadlines.EARLIER, _("the first time (before the clocks go back)")),
    (deadlines.LATER, _("the second time (after the clocks go back)")),
]
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
    window_zone = FixedChoiceField(
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
    window_start_offset = forms.ChoiceField(
        label=_("This time happens twice: which one?"), required=False, choices=OFFSET_CHOICES)
    window_end_offset = forms.ChoiceField(
        label=_("This time happens twice: which one?"), required=False, choices=OFFSET_CHOICES)
    paste = forms.CharField(
        label=_("Paste many serials"), required=False, max_length=MAX_PASTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line or per spreadsheet cell, or separated by commas or semicolons; spaces and "
                    "hyphens inside a serial are fine. Each serial becomes a row of the list above."),
    )

    class Meta:
        model = PreservationRequest
        fields = [
            "requester_name", "requester_title", "requester_badge", "requester_email",
            "requester_phone", "unit", "case_number", "account_email", "account_country",
            "auto_delete_days", "data_types", "window_start", "window_end", "window_zone",
            "notes", "language", "provider", "provider_other_name", "legal_basis",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "auto_delete_days": _("Only if you know the owner set a shorter auto-delete period."),
            "language": _("The language of the documents sent to Blink."),
        }

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.ambiguous_fields = set()
        self.fields["account_country"].widget.attrs.update({"autocapitalize": "characters", "size": 3})
        self.fields["auto_delete_days"].choices = [("", _("Not known"))] + presentation.day_choices(
            deadlines.AUTO_DELETE_CHOICES)
        zone = self.instance.window_zone if self.instance.pk else agency.time_zone
        if self.instance.pk:
            self.initial["window_start"] = local_wall_clock(self.instance.window_start, zone)
            self.initial["window_end"] = local_wall_clock(self.instance.window_end, zone)
        self.initial.setdefault("window_zone", zone)
        self.data_type_help = {code: text for code, _label, text in deadlines.DATA_TYPES}
        # docs/providers.md: the live catalogue's providers; the agency's default basis.
        self.fields["provider"] = forms.ChoiceField(
            label=_("Provider"), required=False, choices=selectors.provider_choices())
        self.fields["legal_basis"].required = False
        self.fields["legal_basis"].help_text = _("The law you act under decides the preservation clock.")
        if not self.instance.pk:
            self.initial.setdefault("legal_basis", agency.default_basis_code)

    def clean_provider(self):
        # Left out (an older client): Blink, as every request was before providers were data.
        return self.cleaned_data["provider"] or self.instance.provider or catalogue.BLINK.code

    def clean_legal_basis(self):
        if self.cleaned_data["legal_basis"]:
            return self.cleaned_data["legal_basis"]
        return self.instance.legal_basis if self.instance.pk else self.agency.default_basis_code

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
        self.ambiguous_fields = set()
        for field in ("window_start", "window_end"):
            if cleaned.get(field):
                try:
                    cleaned[field] = presentation.wall_to_utc(cleaned[field], zone, cleaned.get(field + "_offset"))
                except ValidationError as error:
                    self.ambiguous_fields |= {field} if error.code == "time_ambiguous" else set()
                    self.add_error(field, error)
                    cleaned.pop(field, None)
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The window must end after it starts."))
        if end and end > timezone.now():
            # Said at once, not only when sending: no draft can ever be sent with it.
            self.add_error("window_end", ValidationError(WINDOW_IN_FUTURE, code="end_in_future"))
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
    kind = forms.ChoiceField(label=_("Identifier type"), required=False, choices=catalogue.IDENTIFIER_TYPES,
                             initial=catalogue.BLINK_SERIAL)
    raw = forms.CharField(label=_("Serial number"), required=False, max_length=identifiers.MAX_INPUT_LENGTH)
    model = forms.ChoiceField(
        label=_("Device model"), required=False,
        choices=[("", _("Not known"))] + list(serials.DEVICE_MODELS),
    )
    warnings_acknowledged = forms.BooleanField(label=_("Warnings checked"), required=False)

    def parsed(self):
        raw = (self.cleaned_data.get("raw") if hasattr(self, "cleaned_data") else None) or self["raw"].value()
        kind = self["kind"].value() or catalogue.BLINK_SERIAL
        if not raw:
            return None
        return serials.parse_serial(raw) if kind == catalogue.BLINK_SERIAL else identifiers.check_identifier(kind, raw)


SerialFormSet = forms.formset_factory(SerialRowForm, extra=0, can_delete=True, max_num=MAX_SERIALS,
                                      validate_max=True)


def serial_initial(preservation_request):
    return [
        {"kind": s.kind, "raw": s.raw, "model": s.model, "warnings_acknowledged": s.warnings_acknowledged}
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
        if (row.get("kind") or catalogue.BLINK_SERIAL) != catalogue.BLINK_SERIAL:
            continue  # only Blink serials carry warnings to check against a label
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
        return self.service(preservation_request=self.preservation_request, actor=actor, now=now, **self.arguments())

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
    emergency_reason = forms.CharField(
        label=_("Emergency: why it cannot wait for approval"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only where your agency allows it. The request is marked as sent without approval, "
                    "and your supervisors review it afterwards."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.emergency_possible():
            del self.fields["emergency_reason"]

    def emergency_possible(self):
        """Sending without the approval the agency requires, which it allows in an emergency."""
        agency, preservation_request = self.preservation_request.agency, self.preservation_request
        return (agency.requires_supervisor_approval and agency.allows_emergency_send
                and preservation_request.state == RequestState.DRAFT and not services.request_is_approved(preservation_request))

    def arguments(self):
        return {"sent_at": self.sent_at(), "emergency_reason": self.cleaned_data.get("emergency_reason", "")}


class ReceiptForm(ActionForm):
    service = staticmethod(services.request_record_receipt)
    received_on = forms.DateField(
        label=_("Received by Blink on"), widget=DateInput(),
        help_text=_("The date on Blink's acknowledgement: the preservation clock starts here."),
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
    reason = forms.CharField(label=_("Note"), required=False, max_length=TEXT_LIMITS["reason"],
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lapsed = self.preservation_request.state == RequestState.LAPSED
        allowed = [Outcome.LAPSED] if lapsed else [Outcome.PRODUCED, Outcome.NO_DATA]
        self.fields["outcome"].choices = [(o.value, o.label) for o in allowed]

    def arguments(self):
        return {"outcome": self.cleaned_data["outcome"], "reason": self.cleaned_data["reason"]}


class WithdrawForm(ActionForm):
    service = staticmethod(services.request_withdraw)
    reason = forms.CharField(label=_("Why is it withdrawn?"), max_length=TEXT_LIMITS["reason"],
                             widget=forms.Textarea(attrs={"rows": 2}))

    def arguments(self):
        return {"reason": self.cleaned_data["reason"]}


class ApproveForm(ActionForm):
    """A supervisor approves a draft for sending; no fields, the confirmation is the button."""

    service = staticmethod(services.request_approve)


class AskApprovalForm(ActionForm):
    """Ask the agency's supervisors to approve the draft; the confirmation is the button."""

    service = staticmethod(services.request_ask_approval)


class ReviewEmergencyForm(ActionForm):
    """A supervisor has looked at an emergency send."""

    service = staticmethod(services.request_review_emergency)


class AssignForm(ActionForm):
    """The choices are the people's public ids, not their row numbers (docs/security.md
    "Opaque identifiers")."""

    assignee = forms.ChoiceField(label=_("Assign to"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {str(u.public_id): u for u in assignable_people(self.preservation_request.agency_id)}
        self.fields["assignee"].choices = [(key, u.get_full_name() or u.username) for key, u in self.people.items()]
        assigned = self.preservation_request.assigned_to_id
        self.initial.setdefault("assignee", next((key for key, u in self.people.items() if u.pk == assigned), None))

    def execute(self, *, actor, now):
        return services.request_assign(preservation_request=self.preservation_request, actor=actor, now=now,
                                       assignee=self.people[self.cleaned_data["assignee"]])


def assignable_people(agency_id):
    """Who a request can be given to: the agency's active members."""
    return User.objects.filter(agency_id=agency_id, is_active=True).order_by("first_name", "last_name", "username")


class CorrectionForm(ActionForm):
    """Correct the facts recorded so far (docs/corrections.md): the form shows each one as
    recorded; what is changed is corrected, with the reason, by ``services.request_correct``."""

    service = staticmethod(services.request_correct)
    FIELDS = {
        "sent_at": lambda: LocalDateTimeField(label=_("Sent at (agency time)")),
        "received_on": lambda: forms.DateField(label=_("Received by Blink on"), widget=DateInput()),
        "blink_reference": lambda: forms.CharField(label=_("Blink's reference"), required=False, max_length=100),
        "extension_sent_at": lambda: LocalDateTimeField(label=_("Extension sent at (agency time)")),
        "extension_received_on": lambda: forms.DateField(label=_("Extension received by Blink on"),
                                                         widget=DateInput()),
        "legal_process_type": lambda: forms.ChoiceField(label=_("Legal process"), choices=LegalProcessType.choices),
        "legal_process_served_on": lambda: forms.DateField(label=_("Served on Amazon on"), widget=DateInput()),
        "outcome": lambda: forms.ChoiceField(
            label=_("Outcome"), choices=[(o.value, o.label) for o in services.CHOSEN_OUTCOMES]),
    }
    INSTANTS = ("sent_at", "extension_sent_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.recorded_fields(self.preservation_request):
            self.fields[name] = self.FIELDS[name]()
            value = getattr(self.preservation_request, name)
            self.initial[name] = local_wall_clock(value, self.zone) if name in self.INSTANTS else value
        self.fields["reason"] = forms.CharField(
            label=_("Why is it corrected?"), widget=forms.Textarea(attrs={"rows": 2}),
            help_text=_("Kept in the history and the audit log with the old and the new value."))

    @classmethod
    def recorded_fields(cls, preservation_request):
        """The facts recorded on the request so far (the reference once receipt is recorded)."""
        recorded = [name for name in cls.FIELDS if getattr(preservation_request, name) not in (None, "")]
        if preservation_request.received_on and "blink_reference" not in recorded:
            recorded.insert(recorded.index("received_on") + 1, "blink_reference")
        if preservation_request.outcome not in services.CHOSEN_OUTCOMES and "outcome" in recorded:
            recorded.remove("outcome")
        return recorded

    def _value(self, name):
        value = self.cleaned_data[name]
        if name not in self.INSTANTS:
            return value
        old = getattr(self.preservation_request, name)
        if value == local_wall_clock(old, self.zone).replace(second=0, microsecond=0):
            return old  # the form shows minutes: an untouched time keeps its seconds
        return _to_utc(value, self.zone, name)

    def arguments(self):
        changes = {name: self._value(name) for name in self.fields if name != "reason"}
        return {"changes": changes, "reason": self.cleaned_data["reason"]}


ACTION_FORMS = {
    "approve": ApproveForm,
    "ask_approval": AskApprovalForm,
    "review_emergency": ReviewEmergencyForm,
    "assign": AssignForm,
    "send": SendForm,
    "record_receipt": ReceiptForm,
    "send_extension": ExtensionForm,
    "record_extension_receipt": ExtensionReceiptForm,
    "record_legal_process": LegalProcessForm,
    "close": CloseForm,
    "withdraw": WithdrawForm,
    "correct": CorrectionForm,
}


# --- Dashboard -----------------------------------------------------------------------------------


class DashboardFilterForm(forms.Form):
    """Filters of the dashboard. The typed search is sent by POST and kept in the session, so
    an email or a serial never lands in a URL, a browser history or a proxy log; the other
    filters (nothing personal) are the page's address, so a view can be bookmarked."""

    BUCKETS = [
        ("", _("All")),
        ("lost_losing", _("Lost or losing")),
        ("critical", _("Critical")),
        ("due_week", _("Due this week")),
        ("preserving", _("Preserving")),
        ("extended", _("Extended")),
        ("closed", _("Closed")),
    ]
    GROUPS = [
        ("", _("Everything")),
        ("yours", _("Your move")),
        ("waiting", _("Waiting on Blink")),
        ("done", _("Done")),
        ("open", _("Open")),
    ]
    INBOX = [
        ("", _("Everything")),
        ("approval", _("Awaiting my approval")),
        ("review", _("Sent without approval: to review")),
    ]
    URL_FIELDS = ("bucket", "group", "inbox", "state", "urgency", "owner", "requester", "due_within")

    q = forms.CharField(
        label=_("Search"), required=False, max_length=200,
        help_text=_("Part of a CRIM#, a serial (4 characters or more, any format), the account email, "
                    "the requester's name or a reference."),
    )
    bucket = forms.ChoiceField(label=_("Group"), required=False, choices=BUCKETS)
    group = forms.ChoiceField(label=_("Whose move"), required=False, choices=GROUPS)
    inbox = forms.ChoiceField(label=_("Inbox"), required=False, choices=INBOX)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("Any state"))] + list(RequestState.choices))
    urgency = forms.ChoiceField(
        label=_("Urgency"), required=False,
        choices=[("", _("Any urgency"))] + [(u.value, u.label) for u in deadlines.Urgency],
    )
    owner = forms.ChoiceField(label=_("Assigned to"), required=False)
    requester = forms.ChoiceField(label=_("Created by"), required=False)
    PEOPLE_FIELDS = ("owner", "requester")
    due_within = forms.IntegerField(label=_("Due within (days)"), required=False, min_value=0, max_value=3650)

    def __init__(self, *args, agency_users, owners=None, **kwargs):
        """``agency_users``: the active people; ``owners``: everyone whose requests can be
        listed, people who left included (their requests are to be handed over)."""
        super().__init__(*args, **kwargs)
        owners = owners if owners is not None else agency_users
        self._map_old_numbers(owners)
        self.fields["owner"].choices = [("", _("Anyone")), ("me", _("Assigned to me"))] + [
            (str(u.public_id), u.get_full_name() or u.username if u.is_active
             else _("%(name)s (deactivated)") % {"name": u.get_full_name() or u.username})
            for u in owners]
        self.fields["requester"].choices = [("", _("Anyone"))] + [
            (str(u.public_id), u.get_full_name() or u.username) for u in agency_users]
        # Plain Bootstrap classes: the dashboard renders these fields itself, cheaply.
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def _map_old_numbers(self, people):
        """A person is chosen by public id; an address bookmarked before names them by their
        number: that of one of the agency's own people is read as their public id, any other
        number is no choice (the filter is left out, as for any value the address gets wrong)."""
        old = [name for name in self.PEOPLE_FIELDS if str(self.data.get(name, "")).isdigit()]
        if not old:
            return
        public_ids = {str(u.pk): str(u.public_id) for u in people}
        self.data = self.data.copy()
        for name in old:
            self.data[name] = public_ids.get(self.data[name], "")

    def url_value(self):
        """The filters that go in the address: never the typed search."""
        return {key: value for key, value in self.cleaned_data.items()
                if key in self.URL_FIELDS and value not in ("", None)}


# --- Bulk actions on the dashboard's selected rows --------------------------------------------


def _public_id(text):
    """A selected row's public id, or None for anything else."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None

MAX_BULK = 100


class BulkForm(forms.Form):
    """One action for every selected request; each is still changed by its own service call,
    checked and audited on its own (docs/workday.md §6)."""

    OPERATIONS = [
        ("assign", _("Assign to")),
        ("record_receipt", _("Record Blink's receipt")),
        ("generate", _("Generate documents")),
        ("csv", _("Download as CSV")),
    ]
    operation = forms.ChoiceField(label=_("With the selected requests"), choices=OPERATIONS)
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)
    received_on = forms.DateField(label=_("Received by Blink on"), required=False, widget=DateInput())
    blink_reference = forms.CharField(label=_("Blink's reference"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Document"), required=False, choices=[])

    error_messages = {
        "none_selected": _("Select at least one request."),
        "too_many": _("Select at most %(limit)d requests at once."),
        "assignee_required": _("Choose whom to assign them to."),
        "date_required": _("Enter the date on Blink's acknowledgement."),
        "kind_required": _("Choose which document to generate."),
    }

    def __init__(self, *args, agency_users, **kwargs):
        super().__init__(*args, **kwargs)
        # People by public id, not by row number (docs/security.md "Opaque identifiers").
        self.fields["assignee"].choices = [("", "")] + [
            (str(u.public_id), u.get_full_name() or u.username) for u in agency_users]
        self.fields["kind"].choices = [("", "")] + list(DocumentKind.choices)

    def clean(self):
        cleaned = super().clean()
        selected = [found for found in map(_public_id, self.data.getlist("selected") if self.data else []) if found]
        if not selected:
            raise ValidationError(self.error_messages["none_selected"], code="none_selected")
        if len(selected) > MAX_BULK:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"limit": MAX_BULK})
        cleaned["selected"] = selected
        required = {"assign": ("assignee", "assignee_required"), "record_receipt": ("received_on", "date_required"),
                    "generate": ("kind", "kind_required")}.get(cleaned.get("operation"))
        if required and not cleaned.get(required[0]):
            self.add_error(required[0], ValidationError(self.error_messages[required[1]], code=required[1]))
        return cleaned
