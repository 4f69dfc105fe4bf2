"""API representations. Rules live elsewhere: serials.parse_serial reads serials,
services.* change requests (and validation.sending_errors decides what may be sent),
deadlines.compute_report computes dates; this module only maps JSON to and from them."""
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from preservation.models import (
    LEGAL_BASIS_CHOICES,
    DeviceSerial,
    DocumentKind,
    DocumentState,
    LegalProcessType,
    Outcome,
    PreservationRequest,
    RequestState,
    validate_country,
    validate_time_zone,
)
from preservation.api.errors import django_fields
from preservation.core import permissions as roles
from preservation.core.presentation import wall_to_utc
from preservation.requests import dashboard_rows, selectors, services
from preservation.rules import catalogue, deadlines, identifiers, next_step, serials
from preservation.rules.deadlines import CLOCK_CHANGE_OFFSETS
from preservation.rules.validation import sending_errors, sending_warnings

# Deadline arithmetic adds up to a year to these dates; outside this range no real case lies,
# and years such as 1 or 9999 would overflow it.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
_OUT_OF_RANGE = _("Enter a date between the years %(first)d and %(last)d.")
DATA_TYPE_CODES = [code for code, _label, _text in deadlines.DATA_TYPES]
MAX_SERIALS = 100
NOTES_MAX_LENGTH = 10_000
PHONE_MAX_LENGTH = 128  # the model field's
URGENCY_CODES = [u.value for u in deadlines.Urgency]


def _check_year(value):
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise serializers.ValidationError(
            _OUT_OF_RANGE % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}, code="out_of_range"
        )
    return value


class LocalDateTimeField(serializers.DateTimeField):
    """ISO 8601. A value without an offset is kept naive here and read in a zone later
    (the window's zone, or the calculator's ``tz``), as people type wall-clock times."""

    def to_internal_value(self, value):
        return _check_year(super().to_internal_value(value))

    def enforce_timezone(self, value):
        return value if timezone.is_naive(value) else super().enforce_timezone(value)


class BoundedDateField(serializers.DateField):
    def to_internal_value(self, value):
        return _check_year(super().to_internal_value(value))


class BoundedAwareDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        return _check_year(super().to_internal_value(value))


def _in_own_zone(value, zone):
    """An aware instant as ISO 8601 in ``zone`` with its offset, such as 2026-04-20T09:00:00-04:00."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(zone or "UTC")).isoformat()


def _in_zone(value, zone, field="", offset=None):
    """A naive wall time read in ``zone``; at a clock change the answer names the problem
    (codes time_skipped, time_ambiguous; docs/dates.md "Clock changes")."""
    if value is None or not timezone.is_naive(value):
        return value
    try:
        return wall_to_utc(value, zone, offset)
    except DjangoValidationError as error:
        detail = serializers.ErrorDetail(error.messages[0], code=error.code)
        raise serializers.ValidationError({field: [detail]} if field else [detail]) from None


OFFSET_HELP = _("Only for a time that happens twice when the clocks go back: earlier or later.")


# --- Serials ---------------------------------------------------------------------------------


class SerialWarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SerialReadingSerializer(serializers.Serializer):
    """What serials.parse_serial read from one typed serial."""

    valid = serializers.BooleanField()
    normalized = serializers.CharField(help_text=_("Stored form; empty when invalid."))
    display = serializers.CharField(help_text=_("Form to show and print, such as G8T1-SJ02-3294-01VR."))
    generation = serializers.ChoiceField(choices=[serials.AMAZON, serials.LEGACY], allow_null=True)
    model_hint = serializers.CharField(allow_null=True, help_text=_("A hint only: the user may override it."))
    model_hint_label = serializers.CharField(allow_null=True)
    warnings = SerialWarningSerializer(many=True)
    error = serializers.CharField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)


class SerialCheckSerializer(SerialReadingSerializer):
    input = serializers.CharField(help_text=_("The serial as sent (cut short when far too long)."))


class DeviceSerialSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=catalogue.IDENTIFIER_TYPES, required=False, default=catalogue.BLINK_SERIAL,
                                   help_text=_("The identifier type (docs/providers.md); a Blink serial by default."))
    raw = serializers.CharField(
        max_length=serials.MAX_INPUT_LENGTH, trim_whitespace=False,
        help_text=_("The serial as typed; any spacing, hyphens or case."),
    )
    model = serializers.ChoiceField(
        choices=serials.DEVICE_MODELS, required=False, allow_blank=True,
        help_text=_("In responses: the model entered or, when none was, the serial's model hint "
                    "(see model_entered and model_from_hint)."),
    )
    warnings_acknowledged = serializers.BooleanField(required=False, default=False)
    model_label = serializers.CharField(read_only=True)
    model_entered = serializers.ChoiceField(
        choices=serials.DEVICE_MODELS, allow_blank=True, read_only=True,
        help_text=_("The model the user entered; empty when they entered none."),
    )
    model_from_hint = serializers.BooleanField(
        read_only=True, help_text=_("“model” was not entered but taken from the serial's model hint."),
    )
    reading = SerialReadingSerializer(read_only=True)

    def to_representation(self, instance):
        if instance.kind == catalogue.BLINK_SERIAL:
            reading = instance.parsed.as_dict()
        else:
            reading = identifiers.check_identifier(instance.kind, instance.raw).as_dict()
        del reading["input"]
        return {
            "kind": instance.kind,
            "raw": instance.raw,
            "model": instance.model,
            "model_label": serials.model_label(instance.model) if instance.model else "",
            "model_entered": "" if instance.model_from_hint else instance.model,
            "model_from_hint": instance.model_from_hint,
            "warnings_acknowledged": instance.warnings_acknowledged,
            "reading": reading,
        }


class SerialBatchSerializer(serializers.Serializer):
    serials = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=10_000),
        max_length=MAX_SERIALS,
        help_text=_("Serials as typed, in order (at most %(n)d).") % {"n": MAX_SERIALS},
    )


class DuplicateSerialSerializer(serializers.Serializer):
    normalized = serializers.CharField()
    display = serializers.CharField()
    inputs = serializers.ListField(child=serializers.CharField())


class SerialBatchResultSerializer(serializers.Serializer):
    results = SerialCheckSerializer(many=True)
    duplicates = DuplicateSerialSerializer(many=True)
    all_valid = serializers.BooleanField(help_text=_("Every serial is valid and none is repeated."))

    @staticmethod
    def check(raw_values):
        results = [serials.parse_serial(raw) for raw in raw_values]
        duplicates = [
            {"normalized": normalized, "display": serials.parse_serial(normalized).display, "inputs": inputs}
            for normalized, inputs in serials.find_duplicates(r for r in results if r.valid).items()
        ]
        return {
            "results": [result.as_dict() for result in results],
            "duplicates": duplicates,
            "all_valid": all(r.valid for r in results) and not duplicates,
        }


# --- Deadlines -------------------------------------------------------------------------------


class ExplanationSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class _DeadlinesSerializer(serializers.Serializer):
    retention_days = serializers.IntegerField()
    first_loss_at = serializers.DateTimeField()
    total_loss_at = serializers.DateTimeField()
    covered_from = serializers.DateTimeField(allow_null=True)
    lost_until = serializers.DateTimeField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    extension_send_by = serializers.DateField(allow_null=True)
    final_expires_on = serializers.DateField(allow_null=True)
    provisional = serializers.BooleanField(allow_null=True)
    explanations = ExplanationSerializer(many=True)


class DeadlineReportSerializer(_DeadlinesSerializer):
    """deadlines.DeadlineReport.as_dict(): instants in UTC, calendar dates in the agency's zone."""

    urgency = serializers.ChoiceField(choices=URGENCY_CODES, allow_null=True,
                                      help_text=_("Retention urgency, until Blink's receipt is recorded."))


class DeadlineQuerySerializer(serializers.Serializer):
    """The fields of ``manage.py deadlines``."""

    start = LocalDateTimeField(help_text=_("Window start, ISO 8601; read in tz unless it has an offset."))
    end = LocalDateTimeField(help_text=_("Window end, ISO 8601."))
    tz = serializers.CharField(default="UTC", max_length=64, validators=[validate_time_zone],
                               help_text=_("IANA zone of the window and of calendar dates."))
    country = serializers.CharField(required=False, allow_blank=True, max_length=2, validators=[validate_country],
                                    help_text=_("Account country, ISO 3166 alpha-2 (decides 30 or 60 days)."))
    auto_delete_days = serializers.ChoiceField(choices=deadlines.AUTO_DELETE_CHOICES, required=False, allow_null=True)
    legacy = serializers.BooleanField(default=False, help_text=_("A legacy device (XT, XT2, Indoor gen 1) is listed."))
    non_content_only = serializers.BooleanField(default=False, help_text=_("Only account and device records."))
    received = BoundedDateField(required=False, allow_null=True, help_text=_("Date Blink received the request."))
    extended = serializers.BooleanField(default=False, help_text=_("The one extension was received."))
    now = LocalDateTimeField(required=False, allow_null=True, help_text=_("Judge urgency at this instant (default: now)."))
    provider = serializers.ChoiceField(choices=[p.code for p in catalogue.PROVIDERS], required=False,
                                       help_text=_("The provider; with it or basis, the answer adds provider fields."))
    basis = serializers.ChoiceField(choices=LEGAL_BASIS_CHOICES, required=False, help_text=_("The legal basis."))
    extensions = serializers.IntegerField(required=False, min_value=0, max_value=20,
                                          help_text=_("Extensions or renewals received (instead of extended)."))
    production_confirmed = BoundedDateField(required=False, allow_null=True,
                                            help_text=_("EPOC-PR: the day a production order was confirmed."))

    def validate(self, attrs):
        zone = attrs["tz"]
        attrs["start"], attrs["end"] = _in_zone(attrs["start"], zone, "start"), _in_zone(attrs["end"], zone, "end")
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError(
                {"end": serializers.ErrorDetail(_("The window must end after it starts."), code="end_before_start")}
            )
        if attrs["extended"] and not attrs.get("received"):
            raise serializers.ValidationError(
                {"received": serializers.ErrorDetail(_("An extension needs the date Blink received the request."),
                                                     code="required")}
            )
        attrs["now"] = _in_zone(attrs.get("now"), zone) or timezone.now()
        return attrs

    def report(self):
        data = self.validated_data
        chosen = data.get("provider") or data.get("basis")
        report = deadlines.compute_report(
            start=data["start"], end=data["end"], now=data["now"], country=data.get("country") or None,
            auto_delete_days=data.get("auto_delete_days"), legacy=data["legacy"],
            content=not data["non_content_only"], received_on=data.get("received"),
            extended=data["extended"], zone=data["tz"], thresholds=services.thresholds(),
            provider=selectors.provider_policy(data.get("provider") or catalogue.BLINK.code),
            basis=data.get("basis") and selectors.basis_policy(data["basis"]),
            extensions_received=data.get("extensions"), production_confirmed_on=data.get("production_confirmed"),
        )
        # Without provider or basis, exactly the answer of before providers were data.
        return report.as_full_dict() if chosen else report.as_dict()


# --- Requests --------------------------------------------------------------------------------


class UrgencySerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=URGENCY_CODES)
    label = serializers.CharField()
    rank = serializers.IntegerField(help_text=_("0 is the most urgent."))


class NextDeadlineSerializer(serializers.Serializer):
    on = serializers.DateField()
    kind = serializers.CharField()
    label = serializers.CharField()


class ProviderDeadlinesSerializer(serializers.Serializer):
    """What ``DeadlineReport.as_full_dict`` adds: the provider, the basis, and what only some
    bases have (docs/providers.md §4)."""

    provider = serializers.CharField()
    legal_basis = serializers.ChoiceField(choices=LEGAL_BASIS_CHOICES)
    retention_hours = serializers.IntegerField()
    extensions_received = serializers.IntegerField(allow_null=True)
    until_production = serializers.BooleanField(allow_null=True)
    production_due_at = serializers.DateTimeField(allow_null=True)


class RequestDeadlinesSerializer(_DeadlinesSerializer, ProviderDeadlinesSerializer):
    next_deadline = NextDeadlineSerializer(allow_null=True)


class FieldProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    index = serializers.IntegerField(
        allow_null=True, min_value=0,
        help_text=_("For a problem with one serial: its position in “serials”, from 0; otherwise null."),
    )
    value = serializers.CharField(
        allow_null=True, help_text=_("For a problem with one serial: the serial as typed; otherwise null."),
    )


class ApprovalSerializer(serializers.Serializer):
    required = serializers.BooleanField(
        help_text=_("The agency requires a supervisor's approval before a draft is sent."))
    approved = serializers.BooleanField(
        help_text=_("A supervisor approved the request as it stands (an edit after approval voids it)."))
    approved_by = serializers.CharField(allow_null=True, help_text=_("Who gave that approval; null when none."))
    approved_at = serializers.DateTimeField(allow_null=True, help_text=_("When; null when none."))


class NextStepSerializer(serializers.Serializer):
    """The one action that moves the request on, as the dashboard row and the request page show
    it (docs/workday.md §1)."""

    code = serializers.ChoiceField(choices=list(dashboard_rows.ACTION_LABELS),
                                   help_text=_("The action, stable: such as send, record_receipt, none."))
    label = serializers.CharField(help_text=_("The action in words, in the caller's language."))
    reason = serializers.CharField(help_text=_("Why and by when, in words."))
    whose_move = serializers.ChoiceField(
        choices=list(next_step.GROUPS),
        help_text=_("yours: the agency's; waiting: on Blink, a supervisor or Amazon; done: nothing left."))
    due_on = serializers.DateField(allow_null=True,
                                   help_text=_("The day the step is due, in the agency's calendar; null when none."))


class RequestSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    reference = serializers.CharField(read_only=True, help_text=_("Shown to people, such as PR-000042."))
    data_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DATA_TYPE_CODES), required=False, max_length=len(DATA_TYPE_CODES),
    )
    window_start = LocalDateTimeField(required=False, allow_null=True,
                                      help_text=_("ISO 8601; read in window_zone unless it has an offset."))
    window_end = LocalDateTimeField(required=False, allow_null=True,
                                    help_text=_("ISO 8601; read in window_zone unless it has an offset."))
    window_start_offset = serializers.ChoiceField(choices=CLOCK_CHANGE_OFFSETS, required=False, write_only=True,
                                                  help_text=OFFSET_HELP)
    window_end_offset = serializers.ChoiceField(choices=CLOCK_CHANGE_OFFSETS, required=False, write_only=True,
                                                help_text=OFFSET_HELP)
    requester_phone = PhoneNumberField(required=False, allow_blank=True, max_length=PHONE_MAX_LENGTH)
    serials = DeviceSerialSerializer(many=True, required=False, max_length=MAX_SERIALS)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    legal_process_type = serializers.ChoiceField(choices=LegalProcessType.choices, allow_blank=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    assigned_to = serializers.SerializerMethodField()
    next_step = serializers.SerializerMethodField()
    urgency = serializers.SerializerMethodField()
    deadlines = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    caller_actions = serializers.SerializerMethodField()
    approval = serializers.SerializerMethodField()
    window_start_local = serializers.SerializerMethodField()
    window_end_local = serializers.SerializerMethodField()
    sending_problems = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = PreservationRequest
        read_only_fields = [
            "id", "reference", "state", "state_label", "outcome", "created_at", "updated_at", "created_by",
            "sent_at", "received_on", "blink_reference", "extension_sent_at", "extension_received_on",
            "legal_process_type", "legal_process_served_on", "closed_at", "production_confirmed_on",
            "production_order_received_at", "production_order_emergency", "preserved_until_production",
        ]
        fields = read_only_fields + services.DRAFT_FIELDS + [
            "serials", "urgency", "deadlines", "allowed_actions", "sending_problems", "warnings",
            "caller_actions", "approval", "window_start_local", "window_end_local",
            "window_start_offset", "window_end_offset", "assigned_to", "next_step",
        ]
        extra_kwargs = {"notes": {"max_length": NOTES_MAX_LENGTH}}

    @extend_schema_field(UrgencySerializer(allow_null=True))
    def get_urgency(self, obj):
        if not obj.urgency:
            return None
        level = deadlines.Urgency(obj.urgency)
        return {"code": level.value, "label": str(level.label), "rank": level.rank}

    @extend_schema_field(serializers.CharField(
        help_text=_("The username of who moves the request on: its creator until someone reassigns it."),
    ))
    def get_assigned_to(self, obj):
        return (obj.assigned_to or obj.created_by).get_username()

    @extend_schema_field(NextStepSerializer)
    def get_next_step(self, obj):
        step = next_step.next_step(
            dashboard_rows.facts_of_request(obj, approved=self._approval(obj)["approved"]),
            now=self.context.get("now") or timezone.now(), rules=selectors.next_step_rules(),
        )
        return {"code": step.action, "label": str(dashboard_rows.ACTION_LABELS[step.action]),
                "reason": step.reason, "whose_move": step.group, "due_on": step.due}

    @extend_schema_field(RequestDeadlinesSerializer(allow_null=True))
    def get_deadlines(self, obj):
        report = services.request_report(obj, now=self.context.get("now") or timezone.now(),
                                         policies=self.context.get("policies"))
        if report is None:
            return None
        data = report.as_full_dict()
        del data["urgency"]  # the request's urgency (above) covers sent requests too
        data["next_deadline"] = obj.next_deadline_on and {
            "on": obj.next_deadline_on, "kind": obj.next_deadline_kind, "label": obj.get_next_deadline_kind_display(),
        }
        return data

    @extend_schema_field(serializers.ListField(
        child=serializers.CharField(),
        help_text=_("The actions (the last part of their URL) the request's state allows, whoever calls; "
                    "“approve” is listed for every draft. See caller_actions for what you may do."),
    ))
    def get_allowed_actions(self, obj):
        names = [name.replace("_", "-") for name in services.allowed_actions(obj)]
        return [*names, "approve"] if obj.state == RequestState.DRAFT else names

    @extend_schema_field(serializers.ListField(
        child=serializers.CharField(),
        help_text=_("The actions of allowed_actions that the token's user may take now: their role "
                    "permits it, “send” only once a required approval is given, and “approve” only "
                    "for a supervisor who did not write the draft. “send” can still be refused for "
                    "what sending_problems lists."),
    ))
    def get_caller_actions(self, obj):
        user = self.context["request"].user
        names = []
        if obj.state == RequestState.DRAFT and self._may_approve(user, obj):
            names.append("approve")
        if roles.can_edit_request(user, obj):
            for name in services.allowed_actions(obj):
                if name == "send" and obj.agency.requires_supervisor_approval and not self._approval(obj)["approved"]:
                    continue
                names.append(name.replace("_", "-"))
        return names

    def _may_approve(self, user, obj):
        approval = self._approval(obj)
        if not roles.can_approve_request(user, obj) or approval["approved"]:
            return False
        return not roles.approves_own_work(user, obj, editor_ids=approval["editor_ids"])

    @extend_schema_field(ApprovalSerializer)
    def get_approval(self, obj):
        return {name: value for name, value in self._approval(obj).items() if name != "editor_ids"}

    def _approval(self, obj):
        cache = self.context.setdefault("_approvals", {})
        if obj.pk not in cache:
            # Loaded with the page (views.RequestViewSet.get_queryset), else read here.
            edits = getattr(obj, "edit_events", None)
            if edits is None:
                edits = list(obj.events.filter(action__in=services.EDIT_ACTIONS))
            valid, editor_ids = services.approval_over(obj.approvals.all(), edits)
            cache[obj.pk] = {
                "required": obj.agency.requires_supervisor_approval,
                "approved": valid is not None,
                "approved_by": valid.approved_by.get_username() if valid else None,
                "approved_at": valid.at if valid else None,
                "editor_ids": editor_ids,
            }
        return cache[obj.pk]

    @extend_schema_field(serializers.DateTimeField(
        allow_null=True, help_text=_("window_start in window_zone, with that zone's offset."),
    ))
    def get_window_start_local(self, obj):
        return _in_own_zone(obj.window_start, obj.window_zone)

    @extend_schema_field(serializers.DateTimeField(
        allow_null=True, help_text=_("window_end in window_zone, with that zone's offset."),
    ))
    def get_window_end_local(self, obj):
        return _in_own_zone(obj.window_end, obj.window_zone)

    @extend_schema_field(serializers.DictField(
        child=FieldProblemSerializer(many=True), allow_null=True,
        help_text=_("What stops a draft from being sent, keyed by field: {} when nothing does (and for "
                    "every request that is no longer a draft); null in lists and searches, where it is "
                    "not checked: read the request for it."),
    ))
    def get_sending_problems(self, obj):
        if self.context.get("listing"):
            return None
        if obj.state != RequestState.DRAFT:
            return {}
        problems = django_fields(sending_errors(obj, now=self.context.get("now") or timezone.now()))
        return {field: [{"index": None, "value": None, **problem} for problem in found]
                for field, found in problems.items()}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, obj):
        return [str(warning) for warning in sending_warnings(obj)]

    def validate(self, attrs):
        instance = self.instance
        zone = attrs.get("window_zone") or (instance.window_zone if instance else "UTC")
        offsets = {name: attrs.pop(name + "_offset", None) for name in ("window_start", "window_end")}
        for name in ("window_start", "window_end"):
            if name in attrs:
                attrs[name] = _in_zone(attrs[name], zone, name, offsets[name])
        start = attrs.get("window_start", instance.window_start if instance else None)
        end = attrs.get("window_end", instance.window_end if instance else None)
        if start and end and end <= start:
            # The table refuses such a window even in a draft (window_start_before_end).
            raise serializers.ValidationError(
                {"window_end": serializers.ErrorDetail(_("The window must end after it starts."), code="end_before_start")}
            )
        return attrs

    def validate_provider(self, value):
        if value not in dict(selectors.provider_choices()):
            raise serializers.ValidationError(_("Unknown provider: %(code)s.") % {"code": value}, code="invalid_choice")
        return value

    def save_draft(self, *, agency, actor):
        fields = dict(self.validated_data)
        serial_rows = fields.pop("serials", None)
        return services.request_save_draft(
            agency=agency, actor=actor, fields=fields, serial_rows=serial_rows, preservation_request=self.instance,
        )


class RequestFilterSerializer(serializers.Serializer):
    state = serializers.ListField(child=serializers.ChoiceField(choices=RequestState.choices), required=False,
                                 help_text=_("Repeat to match any of several states."))
    urgency = serializers.ListField(child=serializers.ChoiceField(choices=URGENCY_CODES),
                                   required=False)
    due_before = BoundedDateField(required=False, help_text=_("Next deadline on or before this date."))
    case_number = serializers.CharField(required=False, max_length=64, help_text=_("CRIM#, exact (any case)."))

    def filter(self, queryset):
        data = self.validated_data
        if data.get("state"):
            queryset = queryset.filter(state__in=data["state"])
        if data.get("urgency"):
            queryset = queryset.filter(urgency__in=data["urgency"])
        if data.get("due_before"):
            queryset = queryset.filter(next_deadline_on__lte=data["due_before"])
        if data.get("case_number"):
            queryset = queryset.filter(case_number__iexact=data["case_number"].strip())
        return queryset


class RequestSearchSerializer(RequestFilterSerializer):
    """The list filters plus the serial, which must not travel in a URL (personal data)."""

    serial = serializers.CharField(required=False, max_length=serials.MAX_INPUT_LENGTH, trim_whitespace=False)

    def validate_serial(self, value):
        reading = serials.parse_serial(value)
        if not reading.valid:
            raise serializers.ValidationError(reading.error, code=reading.error_code)
        return reading.normalized

    def filter(self, queryset):
        queryset = super().filter(queryset)
        if self.validated_data.get("serial"):
            queryset = queryset.filter(Exists(DeviceSerial.objects.filter(
                request=OuterRef("pk"), normalized=self.validated_data["serial"],
            )))
        return queryset


# --- State changes (the services decide; these only read the input) --------------------------


class SendSerializer(serializers.Serializer):
    sent_at = BoundedAwareDateTimeField(required=False, allow_null=True, help_text=_("Default: now."))

    def perform(self, request, actor):
        return services.request_send(preservation_request=request, actor=actor, sent_at=self.validated_data.get("sent_at"))


class RecordReceiptSerializer(serializers.Serializer):
    received_on = BoundedDateField()
    blink_reference = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    def perform(self, request, actor):
        return services.request_record_receipt(preservation_request=request, actor=actor, **self.validated_data)


class SendExtensionSerializer(SendSerializer):
    def perform(self, request, actor):
        return services.request_send_extension(preservation_request=request, actor=actor,
                                               sent_at=self.validated_data.get("sent_at"))


class RecordExtensionReceiptSerializer(serializers.Serializer):
    received_on = BoundedDateField()

    def perform(self, request, actor):
        return services.request_record_extension_receipt(preservation_request=request, actor=actor, **self.validated_data)


class IdentifierBatchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=catalogue.IDENTIFIER_TYPES)
    values = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False,
                                                               max_length=10_000), max_length=MAX_SERIALS)


class IdentifierReadingSerializer(serializers.Serializer):
    """What identifiers.check_identifier read from one typed identifier."""

    kind = serializers.CharField()
    input = serializers.CharField()
    valid = serializers.BooleanField()
    normalized = serializers.CharField()
    display = serializers.CharField()
    warnings = SerialWarningSerializer(many=True)
    error = serializers.CharField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)


class RecordProductionOrderSerializer(serializers.Serializer):
    confirmed_on = BoundedDateField(required=False, allow_null=True,
                                    help_text=_("The day the issuing authority confirmed a production order."))
    received_at = BoundedAwareDateTimeField(required=False, allow_null=True,
                                            help_text=_("When the provider received the production order."))
    emergency = serializers.BooleanField(required=False, default=False)

    def perform(self, request, actor):
        return services.request_record_production_order(preservation_request=request, actor=actor, **self.validated_data)


class RecordLegalProcessSerializer(serializers.Serializer):
    process_type = serializers.ChoiceField(choices=LegalProcessType.choices)
    served_on = BoundedDateField()

    def perform(self, request, actor):
        return services.request_record_legal_process(preservation_request=request, actor=actor, **self.validated_data)


class CloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[Outcome.PRODUCED, Outcome.NO_DATA, Outcome.LAPSED],
        help_text=_("produced or no_data after legal process; lapsed after a lapse."),
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def perform(self, request, actor):
        return services.request_close(preservation_request=request, actor=actor, **self.validated_data)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)

    def perform(self, request, actor):
        return services.request_withdraw(preservation_request=request, actor=actor, **self.validated_data)


class CorrectionSerializer(serializers.Serializer):
    """Correct facts already recorded (docs/corrections.md): send only what changes, and why."""

    sent_at = BoundedAwareDateTimeField(required=False)
    received_on = BoundedDateField(required=False)
    blink_reference = serializers.CharField(required=False, allow_blank=True, max_length=100)
    extension_sent_at = BoundedAwareDateTimeField(required=False)
    extension_received_on = BoundedDateField(required=False)
    legal_process_type = serializers.ChoiceField(choices=LegalProcessType.choices, required=False)
    legal_process_served_on = BoundedDateField(required=False)
    outcome = serializers.ChoiceField(choices=[Outcome.PRODUCED, Outcome.NO_DATA], required=False)
    reason = serializers.CharField(max_length=2000, help_text=_("Why: kept in the history and the audit log."))

    def perform(self, request, actor):
        changes = dict(self.validated_data)
        reason = changes.pop("reason")
        return services.request_correct(preservation_request=request, actor=actor, changes=changes, reason=reason)


class ReminderSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    lead_days = serializers.IntegerField()
    deadline_on = serializers.DateField(allow_null=True)
    due_at = serializers.DateTimeField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    sent_at = serializers.DateTimeField(allow_null=True)


@extend_schema_field({"type": "integer", "deprecated": True})
class DeprecatedIdField(serializers.IntegerField):
    """An integer id kept for existing clients: it counts the rows of every agency, so new clients
    use ``public_id`` (docs/api.md "Deprecated fields", docs/security.md "Opaque identifiers")."""


class DocumentSerializer(serializers.Serializer):
    id = DeprecatedIdField(help_text=_("Deprecated: use public_id."))
    public_id = serializers.UUIDField()
    request = serializers.UUIDField(source="request.public_id")
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    state = serializers.ChoiceField(choices=DocumentState.choices,
                                    help_text=_("queued and rendering change on their own: poll the document."))
    progress = serializers.IntegerField(help_text=_("Percent done while rendering."))
    version = serializers.IntegerField(allow_null=True)
    language = serializers.CharField()
    requested_at = serializers.DateTimeField()
    generated_at = serializers.DateTimeField(allow_null=True)
    sha256 = serializers.CharField(help_text=_("Of the PDF bytes; empty until done."))
    size = serializers.IntegerField(allow_null=True)
    pages = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text=_("Why rendering failed; empty otherwise."))
    filename = serializers.SerializerMethodField()

    def get_filename(self, document) -> str:
        return document.filename if document.version else ""


class DocumentOrderSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)


class WhoAmISerializer(serializers.Serializer):
    username = serializers.CharField()
    agency = serializers.CharField(allow_null=True)
    role = serializers.CharField()
    token_name = serializers.CharField()
    token_expires_at = serializers.DateTimeField()
