from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django_otp.admin import OTPAdminSite

from preservation.accounts import views as account_views
from preservation.core import health, i18n, wellknown

admin.site.__class__ = OTPAdminSite  # the documented way to make the default site require OTP

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(".well-known/security.txt", wellknown.security_txt, name="security_txt"),
    # Sign-in is password, then second factor, then the banner (preservation/accounts/views.py).
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="registration/message_page.html",
        extra_context={"title": _("Check your email"), "text": _(
            "If an account uses that address, we sent it a link to choose a new password. The link works "
            "once, for one hour. You will still need your authenticator app to sign in.")}),
        name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", account_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="registration/message_page.html",
        extra_context={"title": _("Password changed"), "text": _(
            "Your password was changed. Sign in with it and a code from your authenticator app.")}),
        name="password_reset_complete"),
    # The admin has no login of its own: it sends people through the sign-in above, and its
    # pages need a verified (second-factor) session (OTPAdminSite).
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("preservation.api.urls")),
    path("", include("preservation.accounts.urls")),
    path("", include("preservation.urls")),
]

# Django's own error pages, except under /api/, where errors keep the API's JSON format.
handler400 = "preservation.api.errors.handler400"
handler404 = "preservation.api.errors.handler404"
handler500 = "preservation.api.errors.handler500"
