"""The audit log proves its own completeness (docs/security.md "Audit log integrity").

A keyed MAC on every record (the key is a setting, never in the database), signed checkpoints of
the newest record written to a file the database role cannot touch, a TRUNCATE trigger and an
app role that may only INSERT and SELECT: each tampering below must be found by verify_audit.
"""
import hashlib
import hmac
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from preservation.core import audit
from preservation.core.audit import audit_record, verify_chain, write_checkpoint
from preservation.management.commands import audit_grants
from preservation.models import AuditRecord

APP_ROLE = "preserve_security_test_app"


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")
    return tmp_path / "audit-checkpoints.jsonl"


def verify():
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def _superuser_sql(sql, params=()):
    """What a database superuser (or the table's owner) can do: bypass the triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def _rechain(records):
    """Recompute every hash and link after an edit, as a forger without the key would."""
    previous = audit.GENESIS_HASH
    for record in records:
        record.prev_hash = previous
        record.hash = audit.record_hash(record)
        _superuser_sql("UPDATE preservation_auditrecord SET message = %s, prev_hash = %s, hash = %s "
                       "WHERE id = %s", [record.message, record.prev_hash, record.hash, record.pk])
        previous = record.hash


def test_every_record_carries_a_mac_keyed_outside_the_database(user, settings):
    record = audit_record(action="login", actor=user)
    assert len(record.mac) == 64 and record.mac != record.hash
    assert record.mac == audit.record_mac(record)
    settings.AUDIT_HMAC_KEY = "another-key"
    assert record.mac != audit.record_mac(record)


def test_checkpoints_are_signed_appended_and_skip_an_unchanged_log(user, checkpoint_file):
    records = [audit_record(action="view", actor=user) for _n in range(3)]
    first = write_checkpoint()
    assert write_checkpoint() is None  # nothing new since: no line added
    audit_record(action="view", actor=user)
    write_checkpoint()
    lines = [json.loads(line) for line in checkpoint_file.read_text().splitlines()]
    assert [line["id"] for line in lines] == [records[-1].pk, records[-1].pk + 1]
    assert lines[0]["hash"] == records[-1].hash == first["hash"]
    assert all(audit.checkpoint_signature_ok(line) for line in lines)
    assert "checkpoint" in verify() and "intact" in verify()


def test_a_forged_checkpoint_line_is_refused(user, checkpoint_file):
    audit_record(action="view", actor=user)
    write_checkpoint()
    line = json.loads(checkpoint_file.read_text())
    line["hash"] = "f" * 64
    checkpoint_file.write_text(json.dumps(line) + "\n")
    with pytest.raises(CommandError, match="signature"):
        verify()


def test_deleting_the_newest_records_is_found(user, postgres_only):
    records = [audit_record(action="view", actor=user) for _n in range(30)]
    write_checkpoint()
    _superuser_sql("DELETE FROM preservation_auditrecord WHERE id >= %s", [records[5].pk])
    assert verify_chain().ok is False
    with pytest.raises(CommandError, match="record %d" % records[-1].pk):
        verify()


def test_truncating_the_table_is_found_even_when_new_records_follow(user, postgres_only):
    records = [audit_record(action="view", actor=user) for _n in range(5)]
    write_checkpoint()
    _superuser_sql("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE preservation_auditrecord")
    audit_record(action="login", actor=user)  # a fresh chain from the genesis hash
    report = verify_chain()
    assert not report.ok and "checkpoint" in report.reason
    with pytest.raises(CommandError, match="record %d" % records[-1].pk):
        verify()


def test_a_record_forged_and_rechained_without_the_key_is_found(user, postgres_only):
    records = [audit_record(action="view", actor=user) for _n in range(4)]
    forged = list(AuditRecord.objects.across_agencies().order_by("pk"))
    forged[1].message = "nothing happened"
    _rechain(forged)
    report = verify_chain()
    assert (report.ok, report.broken_id) == (False, records[1].pk)
    assert "MAC" in report.reason


def test_deleting_a_record_and_rechaining_is_found(user, postgres_only):
    records = [audit_record(action="view", actor=user) for _n in range(4)]
    _superuser_sql("DELETE FROM preservation_auditrecord WHERE id = %s", [records[1].pk])
    _rechain(list(AuditRecord.objects.across_agencies().order_by("pk")))
    report = verify_chain()
    assert not report.ok and "MAC" in report.reason


def test_the_database_refuses_truncate(user, postgres_only):
    audit_record(action="view", actor=user)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE preservation_auditrecord")


@pytest.fixture
def app_role(postgres_only):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if not cursor.fetchone():
            cursor.execute("CREATE ROLE %s NOLOGIN" % APP_ROLE)
    yield APP_ROLE


@pytest.mark.parametrize("sql", [
    "UPDATE preservation_auditrecord SET message = 'x'",
    "DELETE FROM preservation_auditrecord",
    "TRUNCATE preservation_auditrecord",
    "ALTER TABLE preservation_auditrecord DISABLE TRIGGER USER",
    "DROP TRIGGER preservation_auditrecord_append_only ON preservation_auditrecord",
], ids=["update", "delete", "truncate", "disable-trigger", "drop-trigger"])
def test_the_app_role_may_only_insert_and_read_audit_records(user, app_role, sql):
    call_command("audit_grants", app_role=app_role, stdout=io.StringIO())
    audit_record(action="view", actor=user)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE %s" % app_role)
            cursor.execute("SELECT count(*) FROM preservation_auditrecord")
            assert cursor.fetchone()[0] == 1
            with pytest.raises(Exception, match="permission denied|must be owner"), transaction.atomic():
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; " + sql)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE %s" % app_role)
            record = audit_record(action="view", actor=user)
    assert record.pk and verify_chain().ok


def test_audit_grants_refuses_to_run_as_the_app_role_itself(db, app_role):
    with pytest.raises(CommandError, match="owner"):
        call_command("audit_grants", app_role=connection.get_connection_params()["user"] or "postgres",
                     stdout=io.StringIO())


def test_platform_admins_see_the_newest_checkpoint(client, user):
    from tests.factories import UserFactory
    from tests.helpers import login

    record = audit_record(action="view", actor=user)
    write_checkpoint()
    login(client, UserFactory(agency=user.agency, is_staff=True, is_superuser=True))
    page = client.get("/admin/preservation/auditrecord/").content.decode()
    assert "Newest checkpoint" in page and record.hash in page


@pytest.mark.parametrize("text", [
    "",
    "\n\n",
    '{"id": 1}\n',
    '{"id": 1}',
    '{"id": 1}\n{"id": 2}\n\n\n',
    '{"id": 1}\nnot json at all\n',
    "".join('{"id": %d, "hash": "%s"}\n' % (n, "ab" * 30) for n in range(5000)),  # many blocks
    '{"id": 1}\n{"id": 2, "pad": "%s"}\n' % ("x" * 20000),  # one line longer than a block
    '{"id": 1, "pad": "%s"}\n' % ("x" * 20000),
])
def test_the_newest_checkpoint_is_the_last_line_read_from_the_end(settings, tmp_path, monkeypatch, text):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")
    (tmp_path / "audit-checkpoints.jsonl").write_text(text)
    expected = (audit.read_checkpoints() or [None])[-1]

    def whole_file():
        raise AssertionError("the minutely checkpoint must not read every line of a growing file")

    monkeypatch.setattr(audit, "read_checkpoints", whole_file)
    assert audit.newest_checkpoint() == expected


def test_no_checkpoint_file_yet(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "none.jsonl")
    assert audit.newest_checkpoint() is None


# --- One statement per record (migration 0163, docs/security.md "Audit log integrity") -----------


def test_a_record_is_one_statement_when_this_process_saw_the_newest(user, postgres_only, django_assert_max_num_queries):
    audit_record(action="view", actor=user)
    # Was BEGIN (or a savepoint), the chain's lock, the newest hash, INSERT, COMMIT: five round trips,
    # with the lock held across three of them.
    with django_assert_max_num_queries(1):
        record = audit_record(action="view", actor=user)
    assert record.pk and verify_chain().ok


@pytest.mark.parametrize("guess", ["", "f" * 64, "previous"], ids=["none-yet", "unknown", "stale"])
def test_a_wrong_guess_of_the_newest_hash_is_corrected_by_the_database(user, postgres_only, guess,
                                                                         django_assert_max_num_queries):
    first = audit_record(action="view", actor=user)
    second = audit_record(action="view", actor=user)
    # Another worker appended after this process last looked (or it never looked).
    audit._newest_hash_seen[connection.alias] = first.hash if guess == "previous" else guess
    with django_assert_max_num_queries(2):
        record = audit_record(action="view", actor=user)
    assert record.prev_hash == second.hash
    assert AuditRecord.objects.across_agencies().order_by("-pk").first().pk == record.pk
    assert verify_chain().ok


def test_refused_every_try_it_appends_under_the_lock(user, postgres_only, monkeypatch):
    audit_record(action="view", actor=user)
    monkeypatch.setattr(audit, "_append_in_database", lambda record: False)
    record = audit_record(action="view", actor=user)
    assert record.pk and verify_chain().ok


def test_parallel_writers_keep_one_line(transactional_db, postgres_only, settings, tmp_path):
    import threading

    from django.db import connections

    from tests.factories import UserFactory

    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "parallel.jsonl")
    actor = UserFactory()
    barrier, errors = threading.Barrier(4), []

    def write(n):
        try:
            barrier.wait()
            for _n in range(25):
                audit._newest_hash_seen.pop(connection.alias, None) if n == 0 else None
                audit_record(action="view", actor=actor, message="writer %d" % n)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify_chain()
    assert report.ok and report.checked == AuditRecord.objects.across_agencies().count() >= 100


def test_the_app_role_appends_through_the_function_even_when_public_may_not_execute_it(user, app_role):
    """A hardened database revokes EXECUTE on functions from PUBLIC: audit_grants grants it to
    the app role, which then appends in one statement (not through the fallback under the lock)."""
    with connection.cursor() as cursor:
        cursor.execute("REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC" % audit_grants.AUDIT_APPEND_FUNCTION)
    call_command("audit_grants", app_role=app_role, stdout=io.StringIO())
    audit_record(action="view", actor=user)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE %s" % app_role)
            assert audit._append_in_database(audit.AuditRecord(at=audit.timezone.now(), action="view", outcome="success"))
    assert verify_chain().ok


# --- The key derived from the secret key never changes (docs/security.md "Audit log integrity") --

def _derived(label, secret):
    return hashlib.sha256(label + secret.encode()).digest()


def test_the_derived_key_is_the_one_records_were_first_sealed_with(settings):
    """A known answer: the label is part of the key, not a module's path, so moving the code
    (as the structure change moved preservation/audit.py into core/) must not change it."""
    import importlib

    settings.AUDIT_HMAC_KEY, settings.SECRET_KEY = "", "a-secret"
    assert audit.audit_key() == _derived(b"preservation.audit.mac:", "a-secret")
    migration = importlib.import_module("preservation.migrations.0150_audit_mac_truncate")
    assert audit.audit_key() == migration._key()


@pytest.mark.parametrize("label, verifies", [
    (b"preservation.audit.mac:", True),        # sealed before the move, or by migration 0150
    (b"preservation.core.audit.mac:", True),   # sealed between the move and the fix
    (b"another.label:", False),                 # never this installation's key
])
def test_records_and_checkpoints_sealed_under_each_derivation_verify(user, checkpoint_file, settings, label,
                                                                     verifies, postgres_only):
    settings.AUDIT_HMAC_KEY, settings.SECRET_KEY = "", "a-secret"
    record = audit_record(action="login", actor=user)
    mac = hmac.new(_derived(label, "a-secret"), record.hash.encode(), hashlib.sha256).hexdigest()
    _superuser_sql("UPDATE preservation_auditrecord SET mac = %s WHERE id = %s", [mac, record.pk])
    assert verify_chain().ok is verifies
    if verifies:
        entry = {"at": "2026-12-03T17:00:00+00:00", "id": record.pk, "hash": record.hash}
        body = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        entry["signature"] = hmac.new(_derived(label, "a-secret"), b"checkpoint:" + body.encode(),
                                      hashlib.sha256).hexdigest()
        assert audit.checkpoint_signature_ok(entry)
