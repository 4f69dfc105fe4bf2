"""``Idempotency-Key`` on creates: a retried POST with the same key returns what the first one
created instead of creating it again (docs/api.md §5)."""
import hashlib
import json
import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions

from preservation.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
# Visible ASCII, as in a UUID or any token a client makes up; no spaces or control characters.
_KEY = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_LENGTH)


class KeyReused(exceptions.APIException):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was already used with a different body. Use a new key "
                       "for a new request.")


def read_key(request):
    """The request's key, None when it sent none; a malformed key is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise exceptions.ValidationError(
            {HEADER: [exceptions.ErrorDetail(
                _("Send 1 to %(max)d visible ASCII characters, such as a UUID.") % {"max": MAX_LENGTH},
                code="invalid_idempotency_key")]}
        )
    return key


def fingerprint(path, data):
    """The same input however it is spaced or ordered: SHA-256 of the path and the parsed body."""
    canonical = json.dumps([path, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_once(*, user, key, fingerprint, create, now=None):
    """``(obj, replayed)``: what ``create()`` made, or what an earlier call with the same key and
    body made (then ``create`` is not called). A call with the same key running at the same
    time waits on the key's unique constraint, then gets the first call's request."""
    if key is None:
        return create(), False
    existing = _earlier(user, key, fingerprint)
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            created = create()
            IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint, request=created,
                                          created_at=now or timezone.now())
            return created, False
    except IntegrityError:
        existing = _earlier(user, key, fingerprint)
        if existing is None:
            raise
        return existing, True


def _earlier(user, key, fingerprint):
    row = IdempotencyKey.objects.filter(user=user, key=key).select_related("request").first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise KeyReused()
    return row.request
