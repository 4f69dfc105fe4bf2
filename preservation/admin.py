from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import serials
from .models import Agency, DeviceSerial, PreservationRequest, RequestEvent, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "time_zone"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "agency", "role", "is_active"]
    list_filter = ["agency", "role", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("Agency"), {"fields": ["agency", "role", "rank_title", "badge_number", "phone", "unit", "language"]}),
    )


class DeviceSerialInline(admin.TabularInline):
    model = DeviceSerial
    extra = 0
    fields = ["raw", "normalized", "generation", "model", "warnings_acknowledged"]
    readonly_fields = ["normalized", "generation"]


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "action", "from_state", "to_state", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PreservationRequest)
class PreservationRequestAdmin(admin.ModelAdmin):
    list_display = ["reference", "agency", "case_number", "state", "urgency", "next_deadline_on"]
    list_filter = ["state", "urgency", "agency"]
    search_fields = ["case_number", "account_email", "serials__normalized"]
    readonly_fields = [
        "state", "retention_days", "first_loss_at", "total_loss_at", "expires_on",
        "extension_send_by", "final_expires_on", "deadlines_provisional", "urgency",
        "next_deadline_on", "next_deadline_kind",
    ]
    inlines = [DeviceSerialInline, RequestEventInline]

    def get_queryset(self, request):
        # The platform admin works across agencies: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()

    def get_search_results(self, request, queryset, search_term):
        # A serial can be typed in any form (lower case, hyphens, HA entity id): normalise it.
        normalized = serials.normalize_serial(search_term)
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if normalized and normalized != search_term:
            queryset |= self.model.objects.across_agencies().filter(serials__normalized=normalized)
            may_have_duplicates = True
        return queryset, may_have_duplicates


from . import account_admin  # noqa: E402,F401  (audit log, banner, invitations)
