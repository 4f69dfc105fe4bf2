"""Writing and checking the tamper-evident audit log.

``audit_record(...)`` is the one writer. Records form a hash chain: each stores the SHA-256
of the previous record's hash and a canonical serialisation of its own fields, so editing,
inserting or deleting a row anywhere is found by ``verify_chain`` (``manage.py verify_audit``).
Writers take a database-wide lock for the length of their transaction so the chain stays a
line even with many workers; on PostgreSQL the lock, the read of the newest hash and the insert
are one statement (``_append_in_database``, migration 0163).

The chain alone cannot prove completeness: whoever can write the table can delete its newest
rows, truncate it, or rewrite rows and recompute every hash. So each record also carries a MAC
keyed with ``AUDIT_HMAC_KEY`` (a setting, never in the database), and ``write_checkpoint``
appends the newest record's id and hash, signed with the same key, to ``AUDIT_CHECKPOINT_PATH``,
a file outside the database. ``verify_chain`` checks MACs and that every checkpointed record is
still there with its hash (docs/security.md "Audit log integrity").
"""
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from preservation.models import AuditOutcome, AuditRecord
from preservation.models.audit import GENESIS_HASH
from preservation.rules import references

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


# The label the key is derived with when AUDIT_HMAC_KEY is unset. It is part of the key, not a
# module's path: it must never change, or every record and checkpoint sealed before would fail
# verification. The structure change that moved this module into core/ rewrote it by mistake;
# what was sealed in between verifies under that label too (docs/security.md "Audit log
# integrity"), and nothing new is sealed with it.
KEY_LABEL = b"preservation.audit.mac:"
EARLIER_KEY_LABELS = (b"preservation.core.audit.mac:",)


def _derived_key(label):
    return hashlib.sha256(label + settings.SECRET_KEY.encode()).digest()


def audit_key():
    """The MAC key: AUDIT_HMAC_KEY, or one derived from the secret key (neither is in the database)."""
    if settings.AUDIT_HMAC_KEY:
        return settings.AUDIT_HMAC_KEY.encode()
    return _derived_key(KEY_LABEL)


def _verification_keys():
    """The key, then the derivations a record or checkpoint may have been sealed with before."""
    yield audit_key()
    if not settings.AUDIT_HMAC_KEY:
        yield from (_derived_key(label) for label in EARLIER_KEY_LABELS)


def _sealed_with_a_key(mac, message):
    return any(hmac.compare_digest(str(mac), hmac.new(key, message, hashlib.sha256).hexdigest())
               for key in _verification_keys())


def record_mac(record):
    return hmac.new(audit_key(), record.hash.encode(), hashlib.sha256).hexdigest()


def record_mac_ok(record):
    return _sealed_with_a_key(record.mac, record.hash.encode())


def _lock_chain():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite serialises writers on its own.


def _object_fields(obj, object_type, object_id):
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        # The id its address shows where it has one, never a row number that counts every
        # agency's rows (docs/security.md "Opaque identifiers").
        object_id = object_id or str(getattr(obj, "public_id", None) or obj.pk)
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
    record = AuditRecord(
        at=now or timezone.now(), actor=actor, actor_label=actor.get_username() if actor else "",
        agency_id=agency_id, object_type=object_type[:50], object_id=object_id[:64],
        action=action, outcome=outcome, ip_address=client_ip(request) if request else None,
        message=mask(message)[:2000],
    )
    if connection.vendor == "postgresql" and _append_in_database(record):
        return record
    with transaction.atomic():
        _lock_chain()
        # The chain runs through every agency's records: the newest one overall is the link.
        last = AuditRecord.objects.across_agencies().order_by("-pk").values_list("hash", flat=True).first()
        _seal(record, last or GENESIS_HASH)
        record.save()
    _newest_hash_seen[connection.alias] = record.hash
    return record


def _seal(record, prev_hash):
    record.prev_hash = prev_hash
    record.hash = record_hash(record)
    record.mac = record_mac(record)


# The newest hash of the chain as this process last saw it: the link a new record is sealed
# against before the database confirms it (a guess, never trusted: see _append_in_database).
_newest_hash_seen = {}
# Tries of the one-statement append before taking the lock for the whole of a transaction.
APPEND_TRIES = 3


def _append_in_database(record):
    """Append ``record`` with one statement (migration 0163's preservation_audit_append): it is
    sealed against the newest hash this process has seen; under the chain's lock the database
    inserts it only if that is still the newest, else returns the newest, which the next try
    seals against. The chain stays a line whatever the guess was. False after APPEND_TRIES
    refusals (another writer was faster each time): the caller then appends under the lock."""
    guess = _newest_hash_seen.get(connection.alias, "")
    with connection.cursor() as cursor:
        for _try in range(APPEND_TRIES):
            _seal(record, guess)
            cursor.execute(
                "SELECT new_id, chain_tail FROM preservation_audit_append(%s::text, %s::text, "
                "%s::timestamptz, %s::bigint, %s::text, %s::bigint, %s::text, %s::text, %s::text, "
                "%s::text, %s::inet, %s::text, %s::text, %s::text)",
                [guess, GENESIS_HASH, record.at, record.actor_id, record.actor_label, record.agency_id,
                 record.object_type, record.object_id, record.action, record.outcome, record.ip_address,
                 record.message, record.hash, record.mac])
            new_id, newest = cursor.fetchone()
            _newest_hash_seen[connection.alias] = newest
            if new_id is not None:
                record.pk = new_id
                record._state.adding, record._state.db = False, connection.alias
                return True
            guess = newest
    return False


# --- Aggregated failures and searches (docs/security.md "What is audited") ----------------------

AGGREGATE_WINDOW_SECONDS = 3600


def _is_power_of_ten(n):
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


def audit_failure(*, action, request=None, message="", now=None, **fields):
    """A failure or denial from a client that may repeat it without end (wrong tokens, probes of
    other agencies' ids). Per action and client address and hour, the 1st, 10th, 100th, ...
    are recorded, each with its count: the log shows every attack and its size, yet grows only
    with the logarithm of it. Returns the record, or None when this one was counted only."""
    from django.core.cache import caches

    now = now or timezone.now()
    ip = client_ip(request) if request is not None else None
    window = int(now.timestamp()) // AGGREGATE_WINDOW_SECONDS
    key = "audit-failures:%s:%s:%d" % (action, ip or "-", window)
    counters = caches["api_throttle"]  # shared by every worker (Redis) when there is one
    counters.add(key, 0, AGGREGATE_WINDOW_SECONDS * 2)
    try:
        count = counters.incr(key)
    except ValueError:  # expired between add and incr
        counters.set(key, 1, AGGREGATE_WINDOW_SECONDS * 2)
        count = 1
    if not _is_power_of_ten(count):
        return None
    if count > 1:
        message = ("%s (failure %d of this kind from this address this hour; only the 1st, 10th, "
                   "100th, ... are recorded)" % (message, count)).strip()
    return audit_record(action=action, request=request, message=message, now=now, **fields)


def _term_category(value):
    text = str(value).strip()
    if _EMAIL.search(text):
        return "email"
    if _SERIAL.search(text):
        return "serial"
    if re.fullmatch(r"PR-?\d+", text, re.IGNORECASE) or (text[:2].upper() == "PR" and references.canonical(text)):
        return "reference"
    if text.isdigit():
        return "number"
    if re.fullmatch(r"[\d\-/.: T]+", text):
        return "date"
    return "text"


def search_summary(terms):
    """What a search looked for, without the terms: each field's kind of value and a keyed hash
    (so two searches for the same term can be matched in an investigation, but the term cannot be
    read or guessed from the log): "q=email#3f9a07c2b1de"."""
    parts = []
    for field, value in sorted(terms.items()):
        if value in ("", None, [], ()):
            continue
        digest = hmac.new(audit_key(), ("search:%s" % value).encode(), hashlib.sha256).hexdigest()[:12]
        parts.append("%s=%s#%s" % (field, _term_category(value), digest))
    return ", ".join(parts)


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""
    checkpoints: int = 0
    newest_checkpoint: dict | None = None

    @property
    def ok(self):
        return self.broken_id is None and not self.reason


# --- Checkpoints: the newest record, signed, outside the database --------------------------------

def _checkpoint_body(entry):
    body = json.dumps({k: entry[k] for k in ("at", "id", "hash")}, sort_keys=True, separators=(",", ":"))
    return b"checkpoint:" + body.encode()


def _checkpoint_signature(entry):
    return hmac.new(audit_key(), _checkpoint_body(entry), hashlib.sha256).hexdigest()


def checkpoint_signature_ok(entry):
    return _sealed_with_a_key(entry.get("signature", ""), _checkpoint_body(entry))


def read_checkpoints():
    """Every checkpoint in the file, oldest first; [] when there is none yet."""
    path = Path(settings.AUDIT_CHECKPOINT_PATH)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entries.append(_checkpoint_entry(line))
    return entries


def _checkpoint_entry(line):
    try:
        return json.loads(line)
    except ValueError:
        return {"unreadable": line[:80]}


def newest_checkpoint():
    """The last checkpoint in the file, read from its end: the minutely job asks before every
    write and the file only grows (reading all of it made each minute slower than the last)."""
    path = Path(settings.AUDIT_CHECKPOINT_PATH)
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            step = min(8192, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            lines = [line for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
            # The first line of a block read from the middle may be cut: it counts only at the
            # start of the file.
            if len(lines) > 1 or (lines and position == 0):
                return _checkpoint_entry(lines[-1])
    return None


def write_checkpoint(*, now=None):
    """Append the newest record's id and hash, signed, unless it is already the newest line.
    Returns the entry written, or None when nothing changed."""
    newest = (AuditRecord.objects.across_agencies().order_by("-pk").values("pk", "hash").first())
    if newest is None:
        return None
    last = newest_checkpoint()
    if last and last.get("id") == newest["pk"] and last.get("hash") == newest["hash"]:
        return None
    entry = {"at": (now or timezone.now()).astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
             "id": newest["pk"], "hash": newest["hash"]}
    entry["signature"] = _checkpoint_signature(entry)
    path = Path(settings.AUDIT_CHECKPOINT_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry


def verify_chain():
    """Walk the chain in id order; stop at the first record whose links, hash or MAC are wrong;
    then check that every checkpointed record is still there with the hash it had."""
    checkpoints = read_checkpoints()
    expected = {}
    for entry in checkpoints:
        if "unreadable" in entry or not checkpoint_signature_ok(entry):
            return ChainReport(0, reason="a checkpoint line has a wrong signature: %s" % json.dumps(entry)[:120],
                               checkpoints=len(checkpoints))
        expected[entry["id"]] = entry
    previous = GENESIS_HASH
    checked = 0
    # Verifying the chain reads every agency's records (tenancy-guard opt-out).
    for record in AuditRecord.objects.across_agencies().order_by("pk").iterator(chunk_size=2000):
        report = None
        if record.prev_hash != previous:
            report = ChainReport(checked, record.pk, "prev_hash does not match the record before it")
        elif record.hash != record_hash(record):
            report = ChainReport(checked, record.pk, "hash does not match the record's contents")
        elif not record_mac_ok(record):
            report = ChainReport(checked, record.pk, "MAC does not match: the record was written or "
                                                     "rewritten without the audit key")
        else:
            entry = expected.pop(record.pk, None)
            if entry is not None and entry["hash"] != record.hash:
                report = ChainReport(checked, record.pk, "hash differs from the checkpoint of %s" % entry["at"])
        if report:
            report.checkpoints, report.newest_checkpoint = len(checkpoints), (checkpoints or [None])[-1]
            return report
        previous = record.hash
        checked += 1
    if expected:
        missing = max(expected)
        return ChainReport(checked, missing, "record named by the checkpoint of %s is missing: the newest "
                                             "records were deleted or the table truncated" % expected[missing]["at"],
                           checkpoints=len(checkpoints), newest_checkpoint=checkpoints[-1])
    return ChainReport(checked, checkpoints=len(checkpoints), newest_checkpoint=(checkpoints or [None])[-1])
