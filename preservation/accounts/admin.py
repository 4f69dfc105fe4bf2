"""Admin for the platform admin: the login banner, invitations (read-only) and the audit log
(read-only: nobody can change or delete a record, not even a superuser)."""
from django.contrib import admin

from preservation.core.audit import audit_record, newest_checkpoint
from preservation.models import AuditRecord, Invitation, LoginBanner


SECRET_FIELDS = {"password", "password1", "password2", "key", "token", "nonce"}


def _shown(value):
    if hasattr(value, "all"):  # many-to-many: the chosen rows
        value = [str(v) for v in value.all()]
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, str):
        return "[%s]" % ", ".join(sorted(str(v) for v in value))
    return str(getattr(value, "pk", value))


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the admin goes through audit.audit_record, like any
    other change (docs/security.md "What is audited"): changed fields with their old and new
    values (secrets only named), the platform admin's address, the object's agency."""

    def _agency(self, obj):
        from preservation.models import Agency

        return obj if isinstance(obj, Agency) else getattr(obj, "agency", None)

    def save_model(self, request, obj, form, change):
        changes = []
        for name in form.changed_data:
            if name in SECRET_FIELDS:
                changes.append("%s: changed" % name)
            else:
                before = form.initial.get(name)
                after = form.cleaned_data.get(name)
                changes.append("%s: %s -> %s" % (name, _shown(before) if before is not None else "", _shown(after)))
        super().save_model(request, obj, form, change)
        audit_record(action="admin_changed" if change else "admin_added", actor=request.user, obj=obj,
                     agency=self._agency(obj), request=request,
                     message="; ".join(changes) or "no field changed")

    def delete_model(self, request, obj):
        audit_record(action="admin_deleted", actor=request.user, obj=obj, agency=self._agency(obj),
                     request=request, message=str(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(LoginBanner)
class LoginBannerAdmin(AuditedAdmin):
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
    # Above the list: the newest signed checkpoint outside the database (docs/security.md).
    change_list_template = "admin/preservation/auditrecord/change_list.html"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "audit_checkpoint": newest_checkpoint()}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        # The platform admin reads every agency's log: an explicit tenancy-guard opt-out.
        return super().get_queryset(request).across_agencies()
