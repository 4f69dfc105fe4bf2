"""Sign-in with a second factor, the login banner, invitations, the agency's users, settings
and audit log. Thin views: the rules live in accounts.py, permissions.py and audit.py."""
import csv
import datetime as dt
import functools

from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _, ngettext
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice

from preservation.accounts import backends
from preservation.accounts import services as accounts
from preservation.accounts.forms import (
    AcceptInvitationForm,
    AgencySettingsForm,
    AuditFilterForm,
    BannerForm,
    EnrolForm,
    InvitationForm,
    ReauthForm,
    ReplaceAuthenticatorForm,
    RoleForm,
    SignInForm,
    TokenForm,
)
from preservation.core import permissions
from preservation.core.audit import audit_record, search_summary
from preservation.requests import selectors
from preservation.core.middleware import BANNER_ACK, reset_idle_clock
from preservation.core.spreadsheet import safe_cell
from preservation.models import AuditOutcome, AuditRecord, Invitation, User

NEXT = "preserve_next"


def _posted(request):
    """The submitted data, bound even when empty (an empty POST must show "required")."""
    return request.POST if request.method == "POST" else None


def _continue(request):
    """After the second factor: the banner, then where the user was going."""
    if not request.session.get(BANNER_ACK):
        return redirect("accounts:banner")
    next_url = request.session.pop(NEXT, "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = settings.LOGIN_REDIRECT_URL
    return redirect(next_url)


# --- Sign-in ---------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"

    def form_valid(self, form):
        next_url = self.get_success_url()
        super().form_valid(form)  # password accepted: a password-only session so far
        self.request.session[NEXT] = next_url
        return redirect("accounts:otp_verify")


@login_required
def otp_verify(request):
    user = request.user
    if user.is_verified():
        return _continue(request)
    if not user_has_device(user):
        return redirect("accounts:otp_enrol")
    form = TokenForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        # While the authenticator is throttled after a wrong code, even the right code is refused.
        wait = accounts.totp_wait_seconds(user, now=timezone.now())
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()
            used_backup = isinstance(device, StaticDevice)
            audit_record(action="otp_verified", actor=user, obj=user, request=request,
                         message="backup code used" if used_backup else "authenticator code")
            if used_backup:
                left = device.token_set.count()
                messages.warning(request, _("You signed in with a backup code; %(n)d remain. Each works once.")
                                 % {"n": left})
            return _continue(request)
        audit_record(action="otp_failed", actor=user, obj=user, request=request, outcome=AuditOutcome.FAILURE)
        form.add_error("token", ngettext(
            "After a wrong code the next one is checked only after a pause: wait %(seconds)d second, then "
            "type the code your app shows.",
            "After wrong codes the next one is checked only after a pause: wait %(seconds)d seconds, then "
            "type the code your app shows.",
            wait) % {"seconds": wait} if wait else _(
            "That code is not right, or it was already used. Wait for the next code from your app and try again."))
    return render(request, "accounts/otp_verify.html", {"form": form})


def _qr_svg(device):
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff",
                                                               title=str(_("QR code for your authenticator app")))


@login_required
def otp_enrol(request):
    """Set up the authenticator: the first time (password-only session, no device yet), or to
    replace it (only from a verified session: a password alone never adds a device)."""
    user = request.user
    if user_has_device(user) and not user.is_verified():
        return redirect("accounts:otp_verify")
    device = accounts.totp_device_pending(user=user, session=request.session)
    replacing = user_has_device(user)
    # Replacing a working authenticator also needs the password and a current code
    # (docs/security.md "Credential changes"): a stolen session alone cannot move it.
    form = ReplaceAuthenticatorForm(_posted(request), user=user) if replacing else EnrolForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            codes = accounts.totp_device_confirm(user=user, device=device, token=form.cleaned_data["token"],
                                                 request=request)
        except ValidationError as error:
            form.add_error("token", error)
        else:
            otp_login(request, device)
            request.session.cycle_key()
            return render(request, "accounts/backup_codes.html", {"codes": codes, "enrolled": True})
    secret = accounts.totp_secret(device)
    return render(request, "accounts/otp_enrol.html", {
        "form": form, "qr_svg": _qr_svg(device), "replacing": replacing,
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
    })


@login_required
def backup_codes(request):
    """Show how many backup codes remain; POST with the password and a current code replaces
    them (shown once; docs/security.md "Credential changes")."""
    form = ReauthForm(_posted(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        codes = accounts.backup_codes_replace(user=request.user, request=request)
        return render(request, "accounts/backup_codes.html", {"codes": codes})
    remaining = sum(d.token_set.count() for d in StaticDevice.objects.filter(user=request.user))
    return render(request, "accounts/backup_codes.html", {"remaining": remaining, "form": form},
                  status=400 if form.is_bound else 200)


@login_required
def banner(request):
    form = BannerForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        request.session[BANNER_ACK] = True
        audit_record(action="banner_acknowledged", actor=request.user, obj=request.user, request=request)
        return _continue(request)
    return render(request, "accounts/banner.html", {"form": form, "banner_text": accounts.banner_text()})


@require_POST
@login_required
def session_keepalive(request):
    """The "stay signed in" button: the idle clock starts again now."""
    reset_idle_clock(request)
    return HttpResponse(status=204)


class PasswordResetView(auth_views.PasswordResetView):
    """Answers at once and the same way whether or not an account uses the address; the link is
    mailed from the queue, and requests are rate-limited (docs/security.md "Password reset")."""

    template_name = "registration/form_page.html"
    extra_context = {"title": _("Reset your password"), "submit": _("Email me a link")}

    def form_valid(self, form):
        accounts.password_reset_request(email=form.cleaned_data["email"], request=self.request)
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A reset sets a new password only; signing in still needs the second factor."""

    post_reset_login = False
    template_name = "registration/form_page.html"
    extra_context = {"title": _("Choose a new password"), "submit": _("Set password")}
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(action="password_reset", actor=None, obj=form.user, agency=form.user.agency,
                     request=self.request, message=form.user.get_username())
        accounts.credentials_revoke(user=form.user, reason="password reset", request=self.request)
        accounts.security_change_notify(user=form.user, change="password_reset", request=self.request)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/form_page.html"
    extra_context = {"title": _("Change your password"), "submit": _("Change password")}
    success_url = reverse_lazy("preservation:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(action="password_changed", actor=self.request.user, obj=self.request.user, request=self.request)
        accounts.credentials_revoke(user=self.request.user, reason="password changed", request=self.request,
                                    keep_session_key=self.request.session.session_key)
        accounts.security_change_notify(user=self.request.user, change="password_changed", request=self.request)
        messages.success(self.request, _("Your password was changed."))
        return response


# --- Invitations -----------------------------------------------------------------------------


def invitation_accept(request, token):
    invitation = accounts.invitation_from_token(token, now=timezone.now())
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        logout(request)  # joining as someone else must not inherit this session
    form = AcceptInvitationForm(_posted(request), email=invitation.email)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.invitation_accept(
                invitation=invitation, username=data["username"], password=data["password1"],
                first_name=data["first_name"], last_name=data["last_name"], request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            from django.contrib.auth import login

            login(request, user, backend=backends.PATH)
            messages.success(request, _("Welcome. Now set up the second sign-in step on your phone."))
            return redirect("accounts:otp_enrol")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


# --- Agency administration -------------------------------------------------------------------


def agency_admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not permissions.can_manage_agency(request.user):
            raise PermissionDenied(_("Only your agency's administrators can do this."))
        return view(request, *args, **kwargs)

    return wrapper


def _agency_user(request, public_id):
    """A user of the admin's own agency, or 404 (another agency's user does not exist here)."""
    return get_object_or_404(User, public_id=public_id, agency_id=request.user.agency_id)


@agency_admin_required
def users(request):
    agency = request.user.agency
    members = list(User.objects.filter(agency=agency).order_by("-is_active", "last_name", "username"))
    for member in members:
        member.locked = accounts.user_is_locked(member)
    pending = Invitation.objects.filter(agency=agency, accepted_at__isnull=True, revoked_at__isnull=True,
                                        expires_at__gt=timezone.now())
    return render(request, "accounts/users.html", {
        "members": members, "pending": pending, "invite_form": InvitationForm(), "role_form": RoleForm(),
    })


@require_POST
@agency_admin_required
def user_invite(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            accounts.invitation_create(agency=request.user.agency, email=form.cleaned_data["email"],
                                       role=form.cleaned_data["role"], invited_by=request.user, request=request)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Invitation sent. The link works once, for 7 days."))
            return redirect("accounts:users")
    agency = request.user.agency
    return render(request, "accounts/users.html", {
        "members": User.objects.filter(agency=agency).order_by("-is_active", "last_name", "username"),
        "pending": Invitation.objects.filter(agency=agency, accepted_at__isnull=True, revoked_at__isnull=True,
                                             expires_at__gt=timezone.now()),
        "invite_form": form, "role_form": RoleForm(),
    }, status=400)


def _apply(request, action, success):
    try:
        action()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect("accounts:users")


@require_POST
@agency_admin_required
def user_role(request, public_id):
    member = _agency_user(request, public_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role from the list."))
        return redirect("accounts:users")
    return _apply(request, lambda: accounts.user_set_role(user=member, role=form.cleaned_data["role"],
                                                          actor=request.user, request=request),
                  _("Role of %(name)s changed.") % {"name": member.get_username()})


@require_POST
@agency_admin_required
def user_active(request, public_id):
    member = _agency_user(request, public_id)
    active = request.POST.get("active") == "1"
    done = _("%(name)s can sign in again.") if active else _("%(name)s is deactivated and signed out everywhere.")
    response = _apply(request, lambda: accounts.user_set_active(user=member, active=active, actor=request.user,
                                                                request=request),
                      done % {"name": member.get_username()})
    member.refresh_from_db(fields=["is_active"])
    left = 0 if member.is_active else selectors.open_requests_of(member).count()
    if left:
        # Their open requests, listed for handing over (docs/workday.md §3).
        messages.warning(request, ngettext(
            "%(name)s still has %(n)d open request: select it below and assign it to someone else.",
            "%(name)s still has %(n)d open requests: select them below and assign them to someone else.",
            left) % {"name": member.get_username(), "n": left})
        return redirect(reverse("preservation:dashboard") + "?" + urlencode({"owner": member.public_id, "group": "open"}))
    return response


@require_POST
@agency_admin_required
def user_unlock(request, public_id):
    member = _agency_user(request, public_id)
    return _apply(request, lambda: accounts.user_unlock(user=member, actor=request.user, request=request),
                  _("%(name)s can try to sign in again.") % {"name": member.get_username()})


@require_POST
@agency_admin_required
def invitation_revoke(request, public_id):
    invitation = get_object_or_404(Invitation, public_id=public_id, agency_id=request.user.agency_id)
    return _apply(request, lambda: accounts.invitation_revoke(invitation=invitation, actor=request.user,
                                                              request=request),
                  _("Invitation withdrawn; its link no longer works."))


@agency_admin_required
def agency_settings(request):
    agency = request.user.agency
    form = AgencySettingsForm(_posted(request), instance=agency)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        agency.refresh_from_db()  # the form wrote onto the instance; the service compares
        accounts.agency_update_settings(agency=agency, actor=request.user, fields=fields, request=request)
        messages.success(request, _("Agency settings saved."))
        return redirect("accounts:agency_settings")
    return render(request, "accounts/agency_settings.html", {"form": form}, status=400 if form.errors else 200)


AUDIT_FILTERS_SESSION_KEY = "accounts:audit_filters"


def _audit_filters(request):
    return request.session.get(AUDIT_FILTERS_SESSION_KEY, {})


def _filtered_audit(request):
    """The agency's records narrowed by the filters kept in the session, and those filters."""
    form = AuditFilterForm(_audit_filters(request) or None)
    records = AuditRecord.objects.for_agency(request.user.agency_id).order_by("-at", "-pk")
    if form.is_valid():
        records = form.filter(records)
    elif form.is_bound:
        records = records.none()
    return form, records


def _render_audit_log(request, form=None, status=200):
    saved, records = _filtered_audit(request)
    page = Paginator(records.select_related("actor"), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit_log.html", {"form": form if form is not None else saved, "page": page},
                  status=status)


@require_GET
@agency_admin_required
def audit_log(request):
    return _render_audit_log(request)


@require_POST
@agency_admin_required
def audit_filter(request):
    """Filters arrive by POST and live in the session, as on the dashboard: a username typed
    into them never appears in a URL, the browser history or a server log."""
    if "clear" in request.POST:
        request.session.pop(AUDIT_FILTERS_SESSION_KEY, None)
        return redirect("accounts:audit_log")
    form = AuditFilterForm(request.POST)
    if not form.is_valid():
        return _render_audit_log(request, form, status=400)
    request.session[AUDIT_FILTERS_SESSION_KEY] = form.session_value()
    audit_record(action="search", actor=request.user, request=request, object_type="accounts:audit_log",
                 message=search_summary(form.session_value()))
    return redirect("accounts:audit_log")


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """Defuse spreadsheet formulas in exported text (CSV injection), also after a semicolon."""
    return safe_cell(value)


# The "id" column stays (a public interface) but holds the start of the record's hash, not its
# row number: audit records of all agencies share one sequence (docs/security.md "Opaque identifiers").
AUDIT_CSV_ID_LENGTH = 12
AUDIT_CSV_COLUMNS = ["id", "at_utc", "actor", "agency", "object_type", "object_id", "action", "outcome",
                     "client_ip", "message", "prev_hash", "hash"]


@agency_admin_required
def audit_export(request):
    form, records = _filtered_audit(request)
    # Which filters, not their values: a username typed into them stays out of the log.
    audit_record(action="audit_exported", actor=request.user, request=request,
                 message="filters: %s" % (", ".join(sorted(_audit_filters(request))) or "none"))
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(AUDIT_CSV_COLUMNS)
        for r in records.iterator(chunk_size=1000):
            yield writer.writerow([_cell(v) for v in (
                r.hash[:AUDIT_CSV_ID_LENGTH], r.at.astimezone(dt.timezone.utc).isoformat(), r.actor_label, r.agency_id, r.object_type,
                r.object_id, r.action, r.outcome, r.ip_address, r.message, r.prev_hash, r.hash)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log-%s.csv"' % timezone.now().strftime("%Y%m%d")
    return response
