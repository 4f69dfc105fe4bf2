"""Request-wide security rules: session timeouts, the second-factor and banner gate, no-store
caching of signed-in pages and the audit of every view of an object."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _

from preservation.core.audit import audit_record
from preservation.models import AuditOutcome

AUTH_AT = "preserve_auth_at"
SEEN_AT = "preserve_seen_at"
BANNER_ACK = "preserve_banner_ack"

# Pages a password-only session may reach (everything else sends it to the second factor).
SECOND_FACTOR_VIEWS = frozenset({
    "accounts:otp_verify", "accounts:otp_enrol", "logout", "set_language", "javascript-catalog",
})
BANNER_VIEWS = SECOND_FACTOR_VIEWS | {"accounts:banner", "accounts:session_keepalive"}


def _now():
    return timezone.now().timestamp()


def start_session_clock(request):
    """Called at sign-in: the absolute limit counts from here."""
    request.session[AUTH_AT] = request.session[SEEN_AT] = _now()


def _view_name(request):
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None


class SessionTimeoutMiddleware:
    """30 idle minutes or 12 hours after sign-in, whichever comes first, end the session
    server-side (the session row is deleted by logout)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            expired = self._expired(request)
            if expired:
                user = request.user
                audit_record(action="session_expired", actor=user, request=request, message=expired)
                logout(request)
                messages.info(request, _("You were signed out because your session ended. Please sign in again."))
                return redirect_to_login(request.get_full_path())
            request.session[SEEN_AT] = _now()
        return self.get_response(request)

    def _expired(self, request):
        now = _now()
        auth_at = request.session.get(AUTH_AT)
        seen_at = request.session.get(SEEN_AT)
        if auth_at is None or seen_at is None:
            return "no sign-in time on the session"
        if now - seen_at > settings.SESSION_IDLE_SECONDS:
            return "idle timeout"
        if now - auth_at > settings.SESSION_ABSOLUTE_SECONDS:
            return "absolute timeout"
        return ""


class AccessGateMiddleware:
    """A password-only session reaches only the second-factor pages; a verified one must
    acknowledge the login banner before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            view_name = _view_name(request)
            if not request.user.is_verified():
                if view_name not in SECOND_FACTOR_VIEWS:
                    return redirect(_second_factor_url(request.user), permanent=False)
            elif not request.session.get(BANNER_ACK) and view_name not in BANNER_VIEWS:
                return redirect("accounts:banner")
        return self.get_response(request)


def _second_factor_url(user):
    from django_otp import user_has_device

    return "accounts:otp_verify" if user_has_device(user) else "accounts:otp_enrol"


class NoStoreMiddleware:
    """Pages show case data: no browser or proxy keeps a copy (static files are served
    before this, by WhiteNoise, and stay cacheable)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response


# URL keyword arguments that name an object; their view is audited as a "view" of it.
OBJECT_KWARGS = ("pk", "id", "public_id", "uuid", "token")


class AuditViewMiddleware:
    """Every successful read of a page or endpoint that names an object is audited
    ("view"). Changes are audited by the services that make them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # A page shown (2xx), not a redirect to the sign-in or elsewhere: nothing was seen then.
        if (request.method in ("GET", "HEAD") and 200 <= response.status_code < 300 and match is not None
                and request.user.is_authenticated):
            ids = [str(v) for k, v in match.kwargs.items() if k in OBJECT_KWARGS or k.endswith("_id")]
            if ids:
                # A view may name the agency whose case it showed (the platform admin has none).
                audit_record(action="view", actor=request.user, request=request,
                             agency=getattr(request, "audit_agency", None),
                             object_type=match.view_name, object_id="/".join(ids),
                             outcome=AuditOutcome.SUCCESS)
        return response


def session_timing(request):
    """Template context for the idle warning (static/js/session.js)."""
    return {
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
    }
