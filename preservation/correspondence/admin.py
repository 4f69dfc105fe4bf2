"""The platform administrator's view of correspondence: agency mail addresses are set up here;
the log and received messages are read-only (never their bytes), like all case data."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from preservation.admin import CaseDataAdmin, column
from preservation.models import AgencyMailAddress, CorrespondenceEntry, InboundMessage


@admin.register(AgencyMailAddress)
class AgencyMailAddressAdmin(admin.ModelAdmin):
    list_display = ["agency", "from_address", "created_at"]
    fields = ["agency", "from_address", "token"]
    readonly_fields = ["token"]


@admin.register(CorrespondenceEntry)
class CorrespondenceEntryAdmin(CaseDataAdmin):
    list_display = ["at", "request", column("request__agency", _("agency")), "kind", "reference", "sha256"]
    list_filter = ["kind", "request__agency"]
    list_select_related = ["request__agency"]
    search_fields = ["=request__case_number", "=sha256", "=reference"]
    fields = ["request", "kind", "at", "actor", "text", "filename", "sha256", "size", "reference", "given_on",
              "message_id", "corrects"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).across_agencies().without_content()


@admin.register(InboundMessage)
class InboundMessageAdmin(CaseDataAdmin):
    request_lookup = "request"
    list_display = ["received_at", "agency", "channel", "subject", "request", "match_rule", "sha256"]
    list_filter = ["channel", "agency", "match_rule"]
    list_select_related = ["agency", "request"]
    search_fields = ["=sha256"]
    fields = ["agency", "channel", "received_at", "sha256", "size", "parsed", "subject", "from_address",
              "sent_date", "request", "match_rule", "sender_verified"]
    readonly_fields = fields

    def agency_of(self, obj):
        return obj.agency

    def get_queryset(self, request):
        return super().get_queryset(request).across_agencies().without_raw()
