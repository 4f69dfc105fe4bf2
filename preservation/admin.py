"""The platform administrator's admin.

Case data (requests with their serials and history, reminders, notifications, generated
documents, evidence manifests and their files) and digest deliveries are read-only here: every
change goes through the web app, the API or the management commands, whose services check the
transition, recompute the deadlines and write the audit record. The admin reads every agency,
so each case-data admin opts out of the tenancy guard where it queries (``across_agencies()``),
and every list of case data it shows is audited (its change pages are audited by
``AuditViewMiddleware``: their URLs carry the object id). Stored PDF and CSV bytes are never
read from the database here, let alone shown.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from preservation.accounts.admin import (
    AuditedAdmin,
    ReadOnlyAdmin,  # also registers the audit log, banner and invitation admins
)
from preservation.core.audit import audit_record
from preservation.models import (
    RECOMPUTE_AT_ONCE,
    Agency,
    DeviceSerial,
    DigestDelivery,
    EvidenceFile,
    EvidenceManifest,
    GeneratedDocument,
    LegalBasis,
    Notification,
    PreservationRequest,
    Provider,
    Reminder,
    RequestEvent,
    User,
)
from preservation.rules import references, serials

# A manifest of a whole drive can list thousands of files: its page shows the first ones and
# links to the paginated list of all of them.
FILES_SHOWN = 100
ERROR_CHARS = 80


@admin.register(Agency)
class AgencyAdmin(AuditedAdmin):
    list_display = ["name", "country", "time_zone"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ["username", "email", "agency", "role", "is_active"]
    list_filter = ["agency", "role", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("Agency"), {"fields": ["agency", "role", "rank_title", "badge_number", "phone", "unit", "language"]}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # As when an agency admin deactivates (docs/security.md "Credential changes").
            from preservation.accounts.services import credentials_revoke

            credentials_revoke(user=obj, reason="deactivated in the admin", request=request)

    def user_change_password(self, request, id, form_url=""):
        """The admin's password form: audited and, like any password change, revoking."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            from preservation.accounts.services import credentials_revoke

            user = self.get_object(request, unquote(id))
            audit_record(action="admin_changed", actor=request.user, obj=user, agency=user.agency,
                         request=request, message="password: changed")
            credentials_revoke(user=user, reason="password set in the admin", request=request)
        return response


def column(path, description, ordering=None):
    """A list column for a property or a field across a relation (``request__agency``), under a
    translatable heading: Django would head a ``__`` path with the path itself."""
    *through, last = path.split("__")

    def value(obj):
        for name in through:
            obj = getattr(obj, name, None)
        shown = getattr(obj, "get_%s_display" % last, None)
        return shown() if shown else getattr(obj, last, None)

    return admin.display(description=description, ordering=ordering or path)(value)


def typed_reference(search_term):
    """Our reference typed into a search box (PR-000042, pr-42, pr-7kq4-m2xd) as stored, else None."""
    if not search_term.strip().upper().startswith("PR"):
        return None
    return references.canonical(search_term)


class CaseDataAdmin(ReadOnlyAdmin):
    """Read-only, audited lists of case data, searchable by the request's reference.

    ``request_lookup`` is the path from the model to its request ("pk" for the request itself).
    """

    actions = None
    request_lookup = "request"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            # The same action and object type the middleware records for a change page; the
            # search and filters say what was listed (emails and serials masked by audit_record).
            audit_record(action="view", actor=request.user, request=request,
                         object_type=request.resolver_match.view_name,
                         message=", ".join("%s=%s" % item for item in sorted(request.GET.items())))
        return response

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # The case's agency, not the platform admin's (none): the agency's own audit log
            # then shows that the platform admin opened one of its cases (AuditViewMiddleware).
            request.audit_agency = self.agency_of(obj)
        return obj

    def agency_of(self, obj):
        case = obj
        if self.request_lookup != "pk":
            for name in self.request_lookup.split("__"):
                case = getattr(case, name)
        return case.agency

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset  # what the list filters left: a search widens the match, not the filters
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        reference = typed_reference(search_term)
        if reference is not None:
            lookup = "reference" if self.request_lookup == "pk" else "%s__reference" % self.request_lookup
            queryset |= filtered.filter(**{lookup: reference})
        return queryset, may_have_duplicates


class ReadOnlyInline:
    """Rows of a case shown on its page, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeviceSerialInline(ReadOnlyInline, admin.TabularInline):
    model = DeviceSerial
    fields = ["raw", "normalized", "generation", "model", "warnings_acknowledged"]


class RequestEventInline(ReadOnlyInline, admin.TabularInline):
    model = RequestEvent
    fields = ["at", "actor", "action", "from_state", "to_state", "reason"]


@admin.register(PreservationRequest)
class PreservationRequestAdmin(CaseDataAdmin):
    list_display = [column("reference", _("Reference"), ordering="pk"), "agency", "case_number", "state",
                    "urgency", "next_deadline_on"]
    list_filter = ["state", "urgency", "agency"]
    list_select_related = ["agency"]
    search_fields = ["case_number", "account_email", "serials__normalized"]
    readonly_fields = [
        "created_at", "updated_at", "state", "retention_days", "first_loss_at", "total_loss_at", "expires_on",
        "extension_send_by", "final_expires_on", "deadlines_provisional", "urgency",
        "next_deadline_on", "next_deadline_kind",
    ]
    inlines = [DeviceSerialInline, RequestEventInline]
    request_lookup = "pk"

    def get_queryset(self, request):
        # The platform admin works across agencies: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()

    def get_search_results(self, request, queryset, search_term):
        # A serial can be typed in any form (lower case, hyphens, HA entity id): normalise it.
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        normalized = serials.normalize_serial(search_term)
        if normalized and normalized != search_term:
            queryset |= filtered.filter(serials__normalized=normalized)
            may_have_duplicates = True
        return queryset, may_have_duplicates


def _short_error(obj):
    return Truncator(obj.last_error).chars(ERROR_CHARS)


@admin.register(Reminder)
class ReminderAdmin(CaseDataAdmin):
    list_display = ["due_at", "request", column("request__agency", _("agency")), "kind", "lead_days",
                    "state", "attempts", "sent_at", "error_summary"]
    list_filter = ["state", "kind", "request__agency"]
    list_select_related = ["request__agency"]
    search_fields = ["=request__case_number"]
    fields = ["request", "kind", "lead_days", "day", "deadline_on", "due_at", "state", "claimed_at",
              "attempts", "sent_at", "last_error", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Reminders of every agency: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()

    @admin.display(description=_("last error"))
    def error_summary(self, obj):
        return _short_error(obj)


@admin.register(Notification)
class NotificationAdmin(CaseDataAdmin):
    list_display = ["created_at", "user", "agency",
                    column("reminder__request", _("request")), column("reminder__kind", _("kind")), "read_at"]
    list_filter = ["agency", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "agency", "reminder__request"]
    search_fields = ["=user__username", "=reminder__request__case_number"]
    fields = ["user", "agency", "reminder", "created_at", "read_at"]
    readonly_fields = fields
    request_lookup = "reminder__request"

    def get_queryset(self, request):
        # Every user's inbox: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(ReadOnlyAdmin):
    """Digests are rows of a user (how many requests were listed, not which): no guard to opt
    out of, and nothing of a case to audit."""

    actions = None
    list_display = ["day", "user", column("user__agency", _("agency")), "state", "attempts",
                    "items", "sent_at", "error_summary"]
    list_filter = ["state", "user__agency"]
    list_select_related = ["user__agency"]
    search_fields = ["=user__username"]
    fields = ["user", "day", "items", "state", "claimed_at", "attempts", "sent_at", "last_error"]
    readonly_fields = fields
    ordering = ["-day", "-pk"]

    @admin.display(description=_("last error"))
    def error_summary(self, obj):
        return _short_error(obj)


@admin.register(GeneratedDocument)
class GeneratedDocumentAdmin(CaseDataAdmin):
    # The facts about a document, never its bytes: they are not even read from the database.
    list_display = ["requested_at", "request", column("request__agency", _("agency")), "kind", "version", "state",
                    "language", "size", "sha256"]
    list_filter = ["state", "kind", "request__agency"]
    list_select_related = ["request__agency"]
    search_fields = ["=request__case_number", "=sha256"]
    fields = ["request", "kind", "version", "state", "language", "requested_by", "requested_at",
              "started_at", "generated_at", "progress", "sha256", "size", "pages", "error"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Documents of every agency (an explicit tenancy-guard opt-out), without the PDF bytes.
        return super().get_queryset(request).across_agencies().without_content()


class CappedFormSet(BaseInlineFormSet):
    def get_queryset(self):
        if not hasattr(self, "_capped"):
            self._capped = super().get_queryset()[:FILES_SHOWN]
        return self._capped


def _first_files():
    return _("The first %(count)d files") % {"count": FILES_SHOWN}


class EvidenceFileInline(ReadOnlyInline, admin.TabularInline):
    model = EvidenceFile
    formset = CappedFormSet
    verbose_name_plural = lazy(_first_files, str)()
    fields = ["position", "path", "kind", "camera", "recorded_at", "size", "sha256", "in_window"]


@admin.register(EvidenceManifest)
class EvidenceManifestAdmin(CaseDataAdmin):
    list_display = ["created_at", column("short_id", _("ID"), ordering="public_id"), "request",
                    column("request__agency", _("agency")), "actor_label", "csv_sha256", "pdf_sha256", "pdf_error"]
    list_filter = ["request__agency"]
    list_select_related = ["request__agency"]
    search_fields = ["=request__case_number"]
    fields = ["public_id", "request", "created_at", "created_by", "actor_label", "indexed_at", "source_path",
              "zone", "window_start", "window_end", "camera", "summary", "csv_sha256", "pdf_sha256",
              "pdf_error", "all_files"]
    readonly_fields = fields
    inlines = [EvidenceFileInline]

    def get_queryset(self, request):
        # Manifests of every agency (an explicit tenancy-guard opt-out), without the CSV and PDF bytes.
        return super().get_queryset(request).across_agencies().without_content()

    @admin.display(description=_("Files"))
    def all_files(self, obj):
        count = obj.files.count()
        url = "%s?manifest__exact=%d" % (reverse("admin:preservation_evidencefile_changelist"), obj.pk)
        return format_html('<a href="{}">{}</a>', url, ngettext(
            "List its %(count)d file", "List all its %(count)d files", count) % {"count": count})


@admin.register(EvidenceFile)
class EvidenceFileAdmin(CaseDataAdmin):
    list_display = ["manifest", column("manifest__request", _("request")), "position", "path", "kind",
                    "camera", "recorded_at", "size", "sha256", "in_window"]
    list_filter = ["kind", "in_window", "manifest__request__agency"]
    list_select_related = ["manifest__request"]
    search_fields = ["=sha256", "=manifest__request__case_number"]
    list_per_page = FILES_SHOWN
    fields = ["manifest", "position", "path", "kind", "camera", "clip_number", "camera_uid", "recorded_at",
              "recorded_at_alt", "size", "sha256", "in_window", "camera_match", "problems"]
    readonly_fields = fields
    request_lookup = "manifest__request"

    def get_queryset(self, request):
        # Files of every agency's manifests (an explicit tenancy-guard opt-out); the manifest
        # named on each row is read without its CSV and PDF bytes.
        return (super().get_queryset(request).across_agencies().select_related("manifest__request")
                .defer("manifest__csv_content", "manifest__pdf_content"))


class CatalogueAdmin(admin.ModelAdmin):
    """The provider catalogue and the legal bases (docs/providers.md): platform staff correct a
    fact with its source and date; each change is an audit record naming the fields changed."""

    readonly_fields = ["code", "updated_at"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # requests refer to the code; a provider that stops is corrected, not removed

    def get_readonly_fields(self, request, obj=None):
        return ["updated_at"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Every open request's dates may follow the catalogue: the next urgency refresh
        # recomputes them (docs/deadlines.md §3.5).
        PreservationRequest.objects.across_agencies().open().update(recompute_at=RECOMPUTE_AT_ONCE)
        action = "catalogue_changed" if change else "catalogue_added"
        audit_record(action=action, actor=request.user, obj=obj, request=request,
                     message="%s %s: %s" % (obj._meta.model_name, obj.code, ", ".join(form.changed_data)))


@admin.register(Provider)
class ProviderAdmin(CatalogueAdmin):
    list_display = [column("name", _("Name")), column("code", _("Code")),
                    column("preservation_days", _("Own preservation period (days)")),
                    column("updated_at", _("Updated"))]


@admin.register(LegalBasis)
class LegalBasisAdmin(CatalogueAdmin):
    list_display = [column("name", _("Name")), column("code", _("Code")),
                    column("preservation_days", _("Preservation (days)")),
                    column("verified_on", _("Last verified"))]
