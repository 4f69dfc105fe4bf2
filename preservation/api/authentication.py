"""``Authorization: Bearer <token>`` with a personal API token (models/api.py)."""
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from preservation.api.throttling import FailedTokenThrottle
from preservation.core.audit import audit_failure
from preservation.models import ApiToken, AuditOutcome

# Recording every use would turn each read into a write; a minute is precise enough to see
# whether a token is still in use before revoking it.
LAST_USED_PRECISION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as “Authorization: Bearer <token>”."), code="malformed_token"
            )
        throttle = FailedTokenThrottle()
        if throttle.blocked(request):
            raise exceptions.Throttled(throttle.wait())
        try:
            plain = parts[1].decode("ascii")
        except UnicodeDecodeError:
            plain = ""
        try:
            return self.authenticate_token(plain, now=timezone.now(), request=request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure()
            raise

    def authenticate_token(self, plain, *, now, request=None):
        token = self._find(plain)
        if token is None or not token.is_active(now):
            # A failed sign-in, audited like one: the prefix only, never the secret.
            # Aggregated per client address: wrong tokens cannot grow the log without bound.
            audit_failure(action="api_token_rejected", actor=token.user if token else None, obj=token,
                         outcome=AuditOutcome.FAILURE, request=request, now=now,
                         message=token.display_prefix if token else "unknown token")
            # One message for unknown, wrong, expired and revoked tokens: nothing to probe.
            raise exceptions.AuthenticationFailed(
                _("The API token is invalid, expired or revoked."), code="invalid_token"
            )
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk, user=token.user_id).update(last_used_at=now)
        return token.user, token

    def _find(self, plain):
        parts = ApiToken.split(plain)
        if parts is None:
            return None
        prefix, secret = parts
        # No user is known before the token is checked: the lookup by prefix is the one read
        # of tokens that is not through a user (tenancy-guard opt-out); the secret decides.
        token = ApiToken.objects.across_agencies().select_related("user__agency").filter(prefix=prefix).first()
        return token if token is not None and token.matches(secret) else None

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when no or a bad token is sent.
        return '%s realm="api"' % self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(_(
                "A personal API token from the API tokens page, or from "
                "`manage.py create_api_token`: `Authorization: Bearer pv_…`."
            )),
        }
