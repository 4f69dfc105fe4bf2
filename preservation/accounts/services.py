"""Account services: second-factor enrolment, backup codes, invitations, roles, deactivation,
unlocking. Each change is one function, one transaction, one audit record."""
import base64
import math
import secrets
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from preservation.core.audit import audit_record, client_ip
from preservation.jobs import queue
from preservation.models import RECOMPUTE_AT_ONCE, Agency, ApiToken, Invitation, LoginBanner, PreservationRequest, Role, User
from preservation.models.accounts import DEFAULT_BANNER

BACKUP_CODE_COUNT = 10
PENDING_TOTP_KEY = "preserve_pending_totp_key"
_INVITATION_SALT = "preservation.invitation"


# --- Second factor ---------------------------------------------------------------------------


def totp_secret(device):
    """The key in base32, as authenticator apps take it when typed in."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def totp_device_pending(*, user, session):
    """The authenticator being set up, not saved: its key waits in the session until the user
    proves their app has it (so showing the QR code writes nothing)."""
    key = session.get(PENDING_TOTP_KEY)
    if not key:
        key = session[PENDING_TOTP_KEY] = default_key()
    return TOTPDevice(user=user, key=key, name=str(_("Authenticator app")), confirmed=False)


def totp_wait_seconds(user, *, now):
    """Seconds before the user's authenticator accepts a code again after wrong ones (django-otp
    throttles each failure longer), or 0. A right code typed meanwhile is refused too: the
    person must be told to wait, not that the code is wrong."""
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        allowed, details = device.verify_is_allowed()
        locked_until = (details or {}).get("locked_until")
        if not allowed and locked_until and locked_until > now:
            return math.ceil((locked_until - now).total_seconds())
    return 0

# --- Credential changes (docs/security.md "Credential changes") ---------------------------------


def credentials_revoke(*, user, reason, keep_session_key=None, request=None, now=None):
    """After a password change or reset, a new authenticator or a deactivation: every API token of
    ``user`` is revoked for good and every session but ``keep_session_key`` ends, so nothing a
    thief made with the old credentials keeps working (reactivation revives none of it)."""
    now = now or timezone.now()
    with transaction.atomic():
        tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        sessions = sessions_end_for_user(user, keep_session_key=keep_session_key)
        audit_record(action="credentials_revoked", actor=user, obj=user, request=request, now=now,
                     message="%s: %d API token(s) revoked, %d other session(s) ended" % (reason, tokens, sessions))
    return tokens, sessions


SECURITY_CHANGES = {
    "password_changed": _("Your password was changed."),
    "password_reset": _("Your password was reset with an emailed link."),
    "authenticator_replaced": _("Your sign-in codes were moved to a new authenticator app."),
    "backup_codes_replaced": _("New backup codes were made; the old ones no longer work."),
}


def security_change_notify(*, user, change, request=None):
    """Tell the user by email, after the transaction commits, that a credential changed, so a
    change they did not make does not go unnoticed."""
    if not user.email:
        return
    with translation.override(user.language):
        context = {"user": user, "what": str(SECURITY_CHANGES[change]),
                   "ip": client_ip(request) if request is not None else None,
                   "revoked": change != "backup_codes_replaced"}
        subject = render_to_string("accounts/email/security_change_subject.txt", context).strip()
        body = render_to_string("accounts/email/security_change_body.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))


def reauthenticated(*, user, password, code):
    """The password and a current code (authenticator or backup code) of ``user``, both right.
    The code is used up, like at sign-in."""
    from django_otp import match_token

    return bool(password) and user.check_password(password) and match_token(user, code) is not None


@transaction.atomic
def totp_device_confirm(*, user, device, token, request=None):
    """The user typed a valid code from the new authenticator: it becomes their device (any
    older one is removed) and fresh backup codes are returned, shown once. Replacing an existing
    authenticator revokes the user's API tokens and other sessions and tells them by email
    (the view asks for the password and a current code first)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not (token.isdigit() and totp.verify(int(token), device.tolerance)):
        audit_record(action="otp_enrol_failed", actor=user, request=request, outcome="failure")
        raise ValidationError(_("That code is not right. Check the time on your phone and type the current code."),
                              code="invalid_token")
    replacing = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).delete()
    device.confirmed, device.last_t = True, totp.t()
    device.save()
    if request is not None:
        request.session.pop(PENDING_TOTP_KEY, None)
    codes = backup_codes_replace(user=user, request=request, notify=False)
    audit_record(action="otp_enrolled", actor=user, request=request, obj=user,
                 message="replaced the authenticator" if replacing else "")
    if replacing:
        credentials_revoke(user=user, reason="authenticator replaced", request=request,
                           keep_session_key=request.session.session_key if request is not None else None)
        security_change_notify(user=user, change="authenticator_replaced", request=request)
    return codes


def _backup_code():
    return "-".join(secrets.token_hex(2) for _i in range(3))  # e.g. 3f9a-07c2-b1de


@transaction.atomic
def backup_codes_replace(*, user, request=None, notify=True):
    """Ten new single-use backup codes; the old ones stop working. The user is told by email
    unless they come with a new authenticator (that email says so)."""
    had_codes = StaticDevice.objects.filter(user=user).exists()
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=str(_("Backup codes")), confirmed=True)
    codes = [_backup_code() for _i in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(action="backup_codes_replaced", actor=user, request=request, obj=user)
    if notify and had_codes:
        security_change_notify(user=user, change="backup_codes_replaced", request=request)
    return codes


# --- Banner ----------------------------------------------------------------------------------


def banner_text():
    banner = LoginBanner.objects.first()
    return banner.text if banner else str(DEFAULT_BANNER)


# --- Invitations -----------------------------------------------------------------------------


def invitation_token(invitation):
    # Signed, not encrypted: anyone holding the link can read it, so it names the public id, not
    # the row number (docs/security.md "Opaque identifiers").
    return signing.dumps({"p": str(invitation.public_id), "n": invitation.nonce}, salt=_INVITATION_SALT,
                         compress=True)


def invitation_from_token(token, *, now):
    """The usable invitation a link names, or None (bad signature, used, revoked, expired)."""
    try:
        data = signing.loads(token, salt=_INVITATION_SALT, max_age=settings.INVITATION_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    # The signed token is the credential and names no agency the reader belongs to: the one
    # read of invitations not through an agency (tenancy-guard opt-out).
    # Links sent before name the row number ("i"); they work until they expire.
    try:
        named = {"public_id": uuid.UUID(str(data["p"]))} if "p" in data else {"pk": int(data.get("i"))}
    except (TypeError, ValueError):
        return None
    invitation = Invitation.objects.across_agencies().select_related("agency").filter(
        **named, nonce=data.get("n")).first()
    return invitation if invitation and invitation.is_usable(now) else None


@transaction.atomic
def invitation_create(*, agency, email, role, invited_by, request=None, now=None):
    now = now or timezone.now()
    email = User.objects.normalize_email(email.strip())
    # Only a colleague's address is refused: another agency's users are none of this agency's
    # business, so that invitation is made like any other and refused only to the invitee
    # when they try to accept it (docs/security.md "Nothing learned about another agency").
    if User.objects.filter(email__iexact=email, agency=agency).exists():
        raise ValidationError({"email": [ValidationError(_("A user with this email address already exists."),
                                                         code="duplicate_email")]})
    invitation = Invitation.objects.create(
        agency=agency, email=email, role=role, invited_by=invited_by, created_at=now,
        expires_at=now + timedelta(seconds=settings.INVITATION_MAX_AGE_SECONDS),
    )
    path = reverse("accounts:invitation_accept", kwargs={"token": invitation_token(invitation)})
    link = request.build_absolute_uri(path) if request else path
    context = {"agency": agency, "invited_by": invited_by, "link": link, "role": invitation.get_role_display(),
               "expires_at": invitation.expires_at}
    transaction.on_commit(lambda: send_mail(
        render_to_string("accounts/email/invitation_subject.txt", context).strip(),
        render_to_string("accounts/email/invitation_body.txt", context),
        None, [email],
    ))
    audit_record(action="invitation_sent", actor=invited_by, agency=agency, obj=invitation, request=request,
                 message="Invited %s as %s" % (email, role))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation, actor, request=None, now=None):
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk, agency=invitation.agency_id)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = now or timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(action="invitation_revoked", actor=actor, agency=invitation.agency, obj=invitation,
                     request=request)
    return invitation


@transaction.atomic
def invitation_accept(*, invitation, username, password, first_name="", last_name="", request=None, now=None):
    """Create the invited user (the password was validated by the form). Single use: the row is
    locked and re-checked, so two clicks cannot make two accounts."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update().select_related("agency").get(
        pk=invitation.pk, agency=invitation.agency_id)
    if not invitation.is_usable(now):
        raise ValidationError(_("This invitation has already been used or has expired. Ask your agency "
                                "administrator for a new one."), code="invitation_unusable")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(_("This email address already has an account. Sign in with it, or ask your "
                                "agency administrator to invite another address."), code="duplicate_email")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [ValidationError(_("This username is taken; choose another."),
                                                            code="duplicate_username")]})
    user = User.objects.create(
        username=username, email=invitation.email, first_name=first_name, last_name=last_name,
        agency=invitation.agency, role=invitation.role, password=make_password(password),
    )
    invitation.accepted_at = now
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    audit_record(action="invitation_accepted", actor=user, obj=user, request=request,
                 message="Joined as %s" % invitation.role)
    return user


# --- Users of an agency ----------------------------------------------------------------------


def _other_active_admins(user):
    return User.objects.filter(agency_id=user.agency_id, role=Role.AGENCY_ADMIN, is_active=True).exclude(pk=user.pk)


def _keep_an_admin(user, *, new_role=None, deactivating=False):
    losing = user.role == Role.AGENCY_ADMIN and user.is_active and (deactivating or new_role != Role.AGENCY_ADMIN)
    if losing and not _other_active_admins(user).exists():
        raise ValidationError(_("An agency needs at least one active administrator. Make someone else "
                                "administrator first."), code="last_admin")


@transaction.atomic
def user_set_role(*, user, role, actor, request=None):
    user = User.objects.select_for_update().get(pk=user.pk)
    if role not in Role.values:
        raise ValidationError({"role": [ValidationError(_("Choose a role from the list."), code="invalid_choice")]})
    if user.role == role:
        return user
    _keep_an_admin(user, new_role=role)
    before = user.role
    user.role = role
    user.save(update_fields=["role"])
    audit_record(action="role_changed", actor=actor, obj=user, request=request,
                 message="%s: %s -> %s" % (user.get_username(), before, role))
    return user


def sessions_end_for_user(user, *, keep_session_key=None):
    """Delete every server-side session of ``user`` but ``keep_session_key`` (they are signed
    out everywhere else)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(
            session_key=keep_session_key or "").iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def user_set_active(*, user, active, actor, request=None):
    """Deactivate (sessions end at once, sign-in refused) or reactivate a user."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == active:
        return user
    if not active:
        _keep_an_admin(user, deactivating=True)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        # Tokens are revoked, not merely unusable while inactive: reactivation revives nothing.
        credentials_revoke(user=user, reason="deactivated", request=request)
    audit_record(action="user_reactivated" if active else "user_deactivated", actor=actor, obj=user,
                 request=request, message=user.get_username())
    return user


@transaction.atomic
def user_unlock(*, user, actor, request=None):
    """Clear a sign-in lockout (django-axes) before the 10 minutes are up."""
    from axes.utils import reset

    cleared = reset(username=user.get_username())
    audit_record(action="user_unlocked", actor=actor, obj=user, request=request,
                 message="%s: %d lockout record(s) cleared" % (user.get_username(), cleared or 0))
    return cleared


def user_is_locked(user):
    """django-axes counts failures per username across addresses (one row per address)."""
    from axes.models import AccessAttempt

    cutoff = timezone.now() - settings.AXES_COOLOFF_TIME
    failures = AccessAttempt.objects.filter(username=user.get_username(), attempt_time__gte=cutoff).aggregate(
        n=Sum("failures_since_start"))["n"] or 0
    return failures >= settings.AXES_FAILURE_LIMIT


AGENCY_SETTINGS_FIELDS = ["name", "postal_address", "phone", "time_zone", "legal_basis",
                          "requires_supervisor_approval", "default_legal_basis", "national_order_days",
                          "national_order_renewals", "allows_emergency_send"]


# The settings the deadline rules read (the zone of "today", a national order's clock).
RECOMPUTING_FIELDS = {"time_zone", "national_order_days", "national_order_renewals"}


@transaction.atomic
def agency_update_settings(*, agency, actor, fields, request=None):
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    changed = []
    for name, value in fields.items():
        if name not in AGENCY_SETTINGS_FIELDS:
            raise ValueError("not an agency setting: %s" % name)
        if getattr(agency, name) != value:
            setattr(agency, name, value)
            changed.append(name)
    if changed:
        agency.full_clean()
        agency.save(update_fields=changed)
        if set(changed) & RECOMPUTING_FIELDS:
            # Its requests' dates and urgency change: the next urgency refresh recomputes them
            # (docs/deadlines.md §3.5).
            PreservationRequest.objects.for_agency(agency).open().update(recompute_at=RECOMPUTE_AT_ONCE)
        audit_record(action="agency_updated", actor=actor, agency=agency, obj=agency, request=request,
                     message="Changed: %s" % ", ".join(changed))
    return agency


# --- Password reset (docs/security.md "Password reset") ----------------------------------------

RESET_LIMIT_PER_ADDRESS = 3
RESET_LIMIT_PER_CLIENT = 10
RESET_WINDOW_SECONDS = 3600


def _counted(key, limit):
    """Count one more use of ``key`` this hour; False once it is over ``limit``."""
    from django.core.cache import caches

    counters = caches["api_throttle"]  # shared by every worker (Redis) when there is one
    counters.add(key, 0, RESET_WINDOW_SECONDS)
    try:
        return counters.incr(key) <= limit
    except ValueError:
        counters.set(key, 1, RESET_WINDOW_SECONDS)
        return True


def password_reset_request(*, email, request):
    """Queue the reset links for ``email``. Does the same work whether or not an account uses
    the address: one lookup, one task queued after commit (with the matching user ids, possibly
    none); the task renders and sends the mail. At most RESET_LIMIT_PER_ADDRESS links per address
    and RESET_LIMIT_PER_CLIENT requests per client address an hour; beyond that the answer is
    the same and nothing is sent (aggregated in the audit log)."""
    import hashlib

    from preservation.core.audit import audit_failure

    email = User.objects.normalize_email(email.strip()).lower()
    ip = client_ip(request) or "-"
    address_key = "reset-address:" + hashlib.sha256(email.encode()).hexdigest()
    allowed = _counted("reset-client:" + ip, RESET_LIMIT_PER_CLIENT) and _counted(address_key, RESET_LIMIT_PER_ADDRESS)
    user_ids = [
        user.pk for user in User.objects.filter(email__iexact=email, is_active=True)
        if user.has_usable_password()
    ]
    if not allowed:
        audit_failure(action="password_reset_limited", request=request, outcome="denied",
                      message="reset requests over the limit for this address or client")
        user_ids = []
    else:
        audit_failure(action="password_reset_requested", request=request, message="for %s" % email)
    queue.defer("send_password_reset", user_ids)


def password_reset_send(*, user_ids):
    """Send each user their reset link (run from the queue, never while a caller waits)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    sent = 0
    for user in User.objects.filter(pk__in=user_ids, is_active=True):
        path = reverse("password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user)})
        with translation.override(user.language):
            context = {"user": user, "link": settings.SITE_URL.rstrip("/") + path}
            subject = render_to_string("accounts/email/password_reset_subject.txt", context).strip()
            body = render_to_string("accounts/email/password_reset_body.txt", context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent
