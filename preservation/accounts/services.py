"""Account services: second-factor enrolment, backup codes, invitations, roles, deactivation,
unlocking. Each change is one function, one transaction, one audit record."""
import base64
import secrets
import time
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
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from preservation.core.audit import audit_record
from preservation.models import Agency, Invitation, LoginBanner, Role, User
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


@transaction.atomic
def totp_device_confirm(*, user, device, token, request=None):
    """The user typed a valid code from the new authenticator: it becomes their device (any
    older one is removed) and fresh backup codes are returned, shown once."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not (token.isdigit() and totp.verify(int(token), device.tolerance)):
        audit_record(action="otp_enrol_failed", actor=user, request=request, outcome="failure")
        raise ValidationError(_("That code is not right. Check the time on your phone and type the current code."),
                              code="invalid_token")
    TOTPDevice.objects.filter(user=user).delete()
    device.confirmed, device.last_t = True, totp.t()
    device.save()
    if request is not None:
        request.session.pop(PENDING_TOTP_KEY, None)
    codes = backup_codes_replace(user=user, request=request)
    audit_record(action="otp_enrolled", actor=user, request=request, obj=user)
    return codes


def _backup_code():
    return "-".join(secrets.token_hex(2) for _i in range(3))  # e.g. 3f9a-07c2-b1de


@transaction.atomic
def backup_codes_replace(*, user, request=None):
    """Ten new single-use backup codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=str(_("Backup codes")), confirmed=True)
    codes = [_backup_code() for _i in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(action="backup_codes_replaced", actor=user, request=request, obj=user)
    return codes


# --- Banner ----------------------------------------------------------------------------------


def banner_text():
    banner = LoginBanner.objects.first()
    return banner.text if banner else str(DEFAULT_BANNER)


# --- Invitations -----------------------------------------------------------------------------


def invitation_token(invitation):
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_INVITATION_SALT, compress=True)


def invitation_from_token(token, *, now):
    """The usable invitation a link names, or None (bad signature, used, revoked, expired)."""
    try:
        data = signing.loads(token, salt=_INVITATION_SALT, max_age=settings.INVITATION_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    # The signed token is the credential and names no agency the reader belongs to: the one
    # read of invitations not through an agency (tenancy-guard opt-out).
    invitation = Invitation.objects.across_agencies().select_related("agency").filter(
        pk=data.get("i"), nonce=data.get("n")).first()
    return invitation if invitation and invitation.is_usable(now) else None


@transaction.atomic
def invitation_create(*, agency, email, role, invited_by, request=None, now=None):
    now = now or timezone.now()
    email = User.objects.normalize_email(email.strip())
    if User.objects.filter(email__iexact=email).exists():
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


def sessions_end_for_user(user):
    """Delete every server-side session of ``user`` (they are signed out everywhere)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
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
        sessions_end_for_user(user)
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
                          "requires_supervisor_approval"]


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
        audit_record(action="agency_updated", actor=actor, agency=agency, obj=agency, request=request,
                     message="Changed: %s" % ", ".join(changed))
    return agency
