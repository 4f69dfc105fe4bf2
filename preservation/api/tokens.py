"""Creating and revoking personal API tokens (one service each, audited)."""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from preservation.core.audit import audit_record
from preservation.models import ApiToken

DEFAULT_DAYS = 90
MAX_DAYS = 365
DAY_CHOICES = (30, 90, 180, 365)


@transaction.atomic
def api_token_create(*, user, name, days=DEFAULT_DAYS, request=None, now=None):
    """A new token and its plain text, which is shown once and never stored."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError("days must be between 1 and %d" % MAX_DAYS)
    now = now or timezone.now()
    token, plain = ApiToken.new(user=user, name=name.strip(), created_at=now, expires_at=now + timedelta(days=days))
    token.save()
    audit_record(action="api_token_created", actor=user, obj=token, request=request, now=now,
                 message="%s, expires %s" % (token.display_prefix, token.expires_at.date().isoformat()))
    return token, plain


@transaction.atomic
def api_token_revoke(*, token, actor, request=None, now=None):
    now = now or timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, user=token.user_id, revoked_at__isnull=True).update(
        revoked_at=now)
    if revoked:
        audit_record(action="api_token_revoked", actor=actor, obj=token, request=request, now=now,
                     message=token.display_prefix)
    token.refresh_from_db()
    return token
