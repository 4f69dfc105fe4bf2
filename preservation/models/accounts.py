"""Accounts around the user: invitations, the platform's login banner, supervisor approvals."""
import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from preservation.core.scoping import AgencyScopedQuerySet
from preservation.models.core import TEXT_LIMITS, RequestRowQuerySet, Role

__all__ = ["Invitation", "LoginBanner", "RequestApproval", "DEFAULT_BANNER"]

DEFAULT_BANNER = _(
    "You are accessing a criminal justice information system. Use is restricted to "
    "authorised users for official purposes. Activity is monitored and recorded; misuse may "
    "lead to disciplinary action and criminal prosecution. By continuing you consent to this "
    "monitoring."
)


def _nonce():
    return secrets.token_urlsafe(24)


class InvitationQuerySet(AgencyScopedQuerySet):
    """An agency's invitations (emails of people not yet users) are read through the agency;
    the link's signed token is the one lookup without it (preservation.core.scoping)."""

    scope_fields = ("agency",)
    scope_hint = "Read an agency's invitations with .filter(agency=agency)."


class Invitation(models.Model):
    """An agency admin's invitation; its link (a signed token naming this row and its nonce)
    works once, until ``expires_at``."""

    agency = models.ForeignKey(
        "preservation.Agency", verbose_name=_("agency"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.REQUESTER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("invited by"), on_delete=models.PROTECT, related_name="+"
    )
    nonce = models.CharField(_("nonce"), max_length=64, default=_nonce, editable=False)
    # The revoke address names this, not the global row number (docs/security.md "Opaque identifiers").
    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"),
        on_delete=models.PROTECT, null=True, blank=True, related_name="invitation"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self):
        return "%s → %s" % (self.agency, self.get_role_display())

    def is_usable(self, now):
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


class LoginBanner(models.Model):
    """The system-use notice every user acknowledges after signing in; the newest row is in
    force, so the platform admin's earlier texts stay on record."""

    text = models.TextField(_("text"), max_length=TEXT_LIMITS["text"], validators=[MaxLengthValidator(TEXT_LIMITS["text"])])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("login banner")
        verbose_name_plural = _("login banners")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.text[:60]


class RequestApproval(models.Model):
    """A supervisor approved a draft for sending. Valid until the draft is edited again."""

    request = models.ForeignKey(
        "preservation.PreservationRequest", verbose_name=_("request"),
        on_delete=models.CASCADE, related_name="approvals"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("approved at"))

    objects = RequestRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["-at", "-pk"]
