"""Writing and checking the tamper-evident audit log.

``audit_record(...)`` is the one writer. Records form a hash chain: each stores the SHA-256
of the previous record's hash and a canonical serialisation of its own fields, so editing,
inserting or deleting a row anywhere is found by ``verify_chain`` (``manage.py verify_audit``).
Writers take a database-wide lock for the length of their transaction so the chain stays a
line even with many workers.
"""
import datetime as dt
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from preservation.models import AuditOutcome, AuditRecord
from preservation.models.audit import GENESIS_HASH

# Any number will do as long as nothing else in the database uses it as an advisory lock key.
_CHAIN_LOCK_KEY = 0x50524553  # "PRES"

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
# Blink DSNs: Amazon-era G + 15 (often grouped in fours), legacy 9 digits (docs/blink.md §1).
_SERIAL = re.compile(
    r"\b(?:G[A-Z0-9]{3}(?:[\s\-]?[A-Z0-9]{4}){3}|\d{3}[\s\-]?\d{3}[\s\-]?\d{3})\b", re.IGNORECASE
)


def mask(text):
    """Hide emails and device serials in free text: d***@agency.example, ****01VR."""
    text = _EMAIL.sub(lambda m: "%s***@%s" % (m.group(1), m.group(2)), str(text))
    return _SERIAL.sub(lambda m: "****" + re.sub(r"[\s\-]", "", m.group(0))[-4:], text)


def client_ip(request):
    """REMOTE_ADDR, or with ``PROXY_COUNT`` proxies in front the address the outermost of
    them saw. X-Forwarded-For is never trusted without a configured proxy count."""
    count = settings.PROXY_COUNT
    address = request.META.get("REMOTE_ADDR") or None
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= count:
            address = hops[-count]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def canonical(record):
    """The bytes that the hash covers: every field but the id and the hash, in a fixed form.
    (Deleting or reordering rows is caught by the prev_hash links.)"""
    fields = {
        "at": record.at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
        "actor": record.actor_id,
        "actor_label": record.actor_label,
        "agency": record.agency_id,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "action": record.action,
        "outcome": record.outcome,
        "ip": record.ip_address,
        "message": record.message,
        "prev_hash": record.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def record_hash(record):
    return hashlib.sha256(canonical(record)).hexdigest()


def _lock_chain():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite serialises writers on its own.


def _object_fields(obj, object_type, object_id):
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    return object_type or "", str(object_id or "")


def audit_record(*, action, actor=None, agency=None, obj=None, object_type="", object_id="",
                 outcome=AuditOutcome.SUCCESS, request=None, message="", now=None):
    """Append one record to the chain. ``agency`` defaults to the object's, then the actor's."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if agency is None:
        agency_id = getattr(obj, "agency_id", None) or getattr(actor, "agency_id", None)
    else:
        agency_id = agency.pk
    object_type, object_id = _object_fields(obj, object_type, object_id)
    with transaction.atomic():
        _lock_chain()
        # The chain runs through every agency's records: the newest one overall is the link.
        last = AuditRecord.objects.across_agencies().order_by("-pk").values_list("hash", flat=True).first()
        record = AuditRecord(
            at=now or timezone.now(), actor=actor, actor_label=actor.get_username() if actor else "",
            agency_id=agency_id, object_type=object_type[:50], object_id=object_id[:64],
            action=action, outcome=outcome, ip_address=client_ip(request) if request else None,
            message=mask(message)[:2000], prev_hash=last or GENESIS_HASH,
        )
        record.hash = record_hash(record)
        record.save()
    return record


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self):
        return self.broken_id is None


def verify_chain():
    """Walk the chain in id order; stop at the first record whose links or hash are wrong."""
    previous = GENESIS_HASH
    checked = 0
    # Verifying the chain reads every agency's records (tenancy-guard opt-out).
    for record in AuditRecord.objects.across_agencies().order_by("pk").iterator(chunk_size=2000):
        if record.prev_hash != previous:
            return ChainReport(checked, record.pk, "prev_hash does not match the record before it")
        if record.hash != record_hash(record):
            return ChainReport(checked, record.pk, "hash does not match the record's contents")
        previous = record.hash
        checked += 1
    return ChainReport(checked)
