"""Admin for the platform admin: the login banner, invitations (read-only) and the audit log
(read-only: nobody can change or delete a record, not even a superuser)."""
from django.contrib import admin

from preservation.models import AuditRecord, Invitation, LoginBanner


@admin.register(LoginBanner)
class LoginBannerAdmin(admin.ModelAdmin):
    list_display = ["created_at", "__str__"]

    def has_change_permission(self, request, obj=None):
        return False  # a new text is a new row, so earlier texts stay on record

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "agency", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["agency", "role"]
    exclude = ["nonce"]

    def get_queryset(self, request):
        # The platform admin sees every agency's invitations: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "agency", "action", "object_type", "object_id", "outcome", "ip_address"]
    list_filter = ["outcome", "agency", "action"]
    search_fields = ["actor_label", "object_id", "action"]
    date_hierarchy = "at"
    actions = None

    def get_queryset(self, request):
        # The platform admin reads every agency's log: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()
