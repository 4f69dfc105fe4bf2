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

from preservation.core.audit import audit_failure, audit_record, search_summary
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


# The idle clock is written to the session at most this often: a write per request was a
# session row UPDATE on every page. The clock can only run early, never late: a session ends
# at most this many seconds before 30 idle minutes are up, never after (docs/security.md).
SEEN_AT_RESOLUTION = 60


def start_session_clock(request):
    """Called at sign-in: the absolute limit counts from here."""
    request.session[AUTH_AT] = request.session[SEEN_AT] = _now()


def reset_idle_clock(request):
    """The "stay signed in" button: the idle clock starts again now, whatever its resolution."""
    request.session[SEEN_AT] = _now()


def idle_seconds_left(request):
    """Seconds until the idle limit ends this session, counted from the clock as stored."""
    seen_at = request.session.get(SEEN_AT)
    if seen_at is None:
        return settings.SESSION_IDLE_SECONDS
    return max(0, int(settings.SESSION_IDLE_SECONDS - (_now() - seen_at)))


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
            now = _now()
            if now - request.session[SEEN_AT] >= SEEN_AT_RESOLUTION:
                request.session[SEEN_AT] = now
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
# URL arguments that name an object. Secrets in URLs (invitation, reset and feed tokens) are
# credentials, never object ids: they are not recorded (docs/security.md "What is audited").
OBJECT_KWARGS = ("pk", "id", "public_id", "uuid")
# Pages and endpoints that list case data: every read of them is recorded ("list_viewed").
LIST_VIEWS = frozenset({
    "preservation:dashboard", "preservation:notifications", "accounts:users", "accounts:audit_log",
    "api:request-list", "api:reminder-list", "api:document-list",
})


class AuditViewMiddleware:
    """Every successful read of a page or endpoint that names an object is audited ("view"), and
    every read of a list ("list_viewed"); a signed-in caller refused an object (403 or 404: another
    agency's, or none) is recorded as "access_denied", aggregated per client (audit.audit_failure).
    Changes are audited by the services that make them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The API authenticates in its view; DRF puts the token's user on this request then.
        user = getattr(request, "user", None)
        if match is None or user is None or not user.is_authenticated:
            return response
        ids = [str(v) for k, v in match.kwargs.items() if k in OBJECT_KWARGS or k.endswith("_id")]
        # A page shown (2xx), not a redirect to the sign-in or elsewhere: nothing was seen then.
        if request.method in ("GET", "HEAD") and 200 <= response.status_code < 300:
            if ids:
                # A view may name the agency whose case it showed (the platform admin has none).
                audit_record(action="view", actor=user, request=request,
                             agency=getattr(request, "audit_agency", None),
                             object_type=match.view_name, object_id="/".join(ids),
                             outcome=AuditOutcome.SUCCESS)
            elif match.view_name in LIST_VIEWS:
                audit_record(action="list_viewed", actor=user, request=request, object_type=match.view_name,
                             message=search_summary(request.GET.dict())[:500])
        elif response.status_code in (403, 404) and ids:
            audit_failure(action="access_denied", actor=user, request=request, outcome=AuditOutcome.DENIED,
                          object_type=match.view_name, object_id="/".join(ids),
                          message="%s %s answered %d" % (request.method, match.view_name, response.status_code))
        return response


def session_timing(request):
    """Template context for the idle warning (static/js/session.js)."""
    return {
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "session_idle_seconds_left": (lambda: idle_seconds_left(request)),
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
    }


# --- Request size (docs/security.md "Bounded work") --------------------------------------------


def body_limit(path):
    """The largest body accepted at ``path``: the longest matching prefix in
    REQUEST_BODY_LIMITS, or its "default"."""
    limits = settings.REQUEST_BODY_LIMITS
    matches = [prefix for prefix in limits if prefix != "default" and path.startswith(prefix)]
    return limits[max(matches, key=len)] if matches else limits["default"]


class RequestSizeLimitMiddleware:
    """Refuse a body larger than its endpoint's limit by its Content-Length, before anything
    reads or spools it (the first middleware). A body without Content-Length (chunked) is read
    by Django as empty, so nothing unbounded gets in that way either."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        limit = body_limit(request.path_info)
        if length < 0 or length > limit:
            return self.refuse(request, limit, invalid=length < 0)
        return self.get_response(request)

    @staticmethod
    def refuse(request, limit, *, invalid):
        from django.http import HttpResponse
        from django.template.defaultfilters import filesizeformat

        from preservation.api import errors

        if invalid:
            status, detail = 400, _("The request's Content-Length is not a number.")
        else:
            status, detail = 413, _("The request is too large: at most %(limit)s is accepted here.") % {
                "limit": filesizeformat(limit)}
        if errors.is_api_path(request):
            # The API's one error format (preservation/api/errors.py, docs/api.md).
            response = (errors.error_response(400, "invalid_content_length", detail) if invalid
                        else errors.too_large_response())
        else:
            response = HttpResponse(str(detail), status=status, content_type="text/plain; charset=utf-8")
        response["Connection"] = "close"  # the unread body must not be taken for the next request
        return response
