"""Personal API tokens: a name, an expiry, revocable; only a hash of the secret is stored.

A token reads ``pv_<prefix>_<secret>``. The prefix is stored in clear to find the row (and to
let people tell their tokens apart); the secret has 256 bits of entropy, so a fast SHA-256 of
it is as safe as a slow password hash would be, and checking it costs nothing per request.
"""
import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from preservation.core.scoping import AgencyScopedQuerySet

__all__ = ["ApiToken", "IdempotencyKey"]

TOKEN_SCHEME = "pv"
PREFIX_BYTES = 6  # 8 url-safe characters
SECRET_BYTES = 32  # 256 bits


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(AgencyScopedQuerySet):
    """A credential: read for its user (preservation.core.scoping), so a view that looks a token up
    by id alone cannot reach a colleague's or another agency's token. Authentication, which
    knows no user yet, finds it by its prefix and opts out."""

    scope_fields = ("user",)
    scope_hint = "Read a user's tokens through the user: user.api_tokens or .filter(user=user)."

    def active(self, now):
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)


class ApiToken(models.Model):
    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        _("name"), max_length=100,
        help_text=_("What the token is for, such as the name of the case system using it."),
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return "%s (%s…)" % (self.name, self.display_prefix)

    @property
    def display_prefix(self):
        return "%s_%s" % (TOKEN_SCHEME, self.prefix)

    @classmethod
    def new(cls, **fields):
        """An unsaved token and its plain text, which exists only in this return value."""
        prefix = secrets.token_urlsafe(PREFIX_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        token = cls(prefix=prefix, secret_hash=_digest(secret), **fields)
        return token, "%s_%s_%s" % (TOKEN_SCHEME, prefix, secret)

    @staticmethod
    def split(plain):
        """(prefix, secret) of a presented token, or None when it is not of our shape."""
        scheme, _sep, rest = plain.partition("_")
        # The url-safe alphabet contains "_", so the prefix is cut by its length, not by "_".
        prefix, separator, secret = rest[:8], rest[8:9], rest[9:]
        if scheme != TOKEN_SCHEME or separator != "_" or len(prefix) != 8 or not secret:
            return None
        return prefix, secret

    def matches(self, secret):
        return hmac.compare_digest(self.secret_hash, _digest(secret))

    def is_active(self, now):
        return self.revoked_at is None and self.expires_at > now and self.user.is_active


class IdempotencyKeyQuerySet(AgencyScopedQuerySet):
    scope_fields = ("user",)
    scope_hint = "Read a user's idempotency keys with .filter(user=user)."


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` a user sent with a create, and what it created: a retry with the
    same key and body gets that request back instead of a second one (docs/api.md §5)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the body as parsed JSON with sorted keys: the same input, however spaced.
    fingerprint = models.CharField(max_length=64)
    request = models.ForeignKey("preservation.PreservationRequest", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]
