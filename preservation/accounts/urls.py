"""Accounts (sign-in second factor, banner, invitations) and agency administration routes."""
from django.urls import path

from preservation.accounts import views
from preservation.legacy_addresses import legacy_patterns

app_name = "accounts"

urlpatterns = [
    path("accounts/two-factor/", views.otp_verify, name="otp_verify"),
    path("accounts/two-factor/setup/", views.otp_enrol, name="otp_enrol"),
    path("accounts/two-factor/backup-codes/", views.backup_codes, name="backup_codes"),
    path("accounts/notice/", views.banner, name="banner"),
    path("accounts/session/keep-alive/", views.session_keepalive, name="session_keepalive"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("agency/users/", views.users, name="users"),
    path("agency/users/invite/", views.user_invite, name="user_invite"),
    path("agency/users/<uuid:public_id>/role/", views.user_role, name="user_role"),
    path("agency/users/<uuid:public_id>/active/", views.user_active, name="user_active"),
    path("agency/users/<uuid:public_id>/unlock/", views.user_unlock, name="user_unlock"),
    path("agency/invitations/<uuid:public_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("agency/settings/", views.agency_settings, name="agency_settings"),
    path("agency/audit/", views.audit_log, name="audit_log"),
    path("agency/audit/filter/", views.audit_filter, name="audit_filter"),
    path("agency/audit/export.csv", views.audit_export, name="audit_export"),
]
# The agency's people and invitations are addressed by public_id; their old numbered addresses redirect
# (docs/security.md "Opaque identifiers").
urlpatterns += legacy_patterns(urlpatterns, app_name)
