"""One round trip per audit record on PostgreSQL (docs/security.md "Audit log integrity").

``preservation_audit_append`` takes the chain's lock, reads the chain's newest hash and inserts
the record only if the record links to that hash, all inside the database: the application
computes the hash and MAC (the MAC key never reaches the database) against the newest hash it
expects, and the function refuses the record and returns the real newest hash when another
writer came first. A writer outside a transaction then pays one statement instead of BEGIN,
lock, read, INSERT, COMMIT, and holds the lock for no network round trip at all.

The function is VOLATILE (the default), so in READ COMMITTED each statement in it takes a fresh
snapshot: the read after the lock sees every record committed by the lock's previous holder
(a single statement that locked and read in one snapshot would not). It runs with the caller's
rights (SECURITY INVOKER), so the application's role still needs only INSERT and SELECT.
"""
from django.db import migrations

# The key of preservation.core.audit._CHAIN_LOCK_KEY ("PRES"): the Python path takes the same lock.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION preservation_audit_append(
    expected_prev text, genesis text, p_at timestamptz, p_actor_id bigint, p_actor_label text,
    p_agency_id bigint, p_object_type text, p_object_id text, p_action text, p_outcome text,
    p_ip inet, p_message text, p_hash text, p_mac text)
RETURNS TABLE (new_id bigint, chain_tail text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    tail text;
    inserted bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(1347568979);
    SELECT r.hash INTO tail FROM preservation_auditrecord r ORDER BY r.id DESC LIMIT 1;
    tail := COALESCE(tail, genesis);
    IF tail <> expected_prev THEN
        RETURN QUERY SELECT NULL::bigint, tail;
        RETURN;
    END IF;
    INSERT INTO preservation_auditrecord (at, actor_id, actor_label, agency_id, object_type, object_id,
                                          action, outcome, ip_address, message, prev_hash, hash, mac)
    VALUES (p_at, p_actor_id, p_actor_label, p_agency_id, p_object_type, p_object_id, p_action, p_outcome,
            p_ip, p_message, expected_prev, p_hash, p_mac)
    RETURNING id INTO inserted;
    RETURN QUERY SELECT inserted, p_hash;
END;
$$;
"""
DROP_APPEND_FUNCTION = """
DROP FUNCTION IF EXISTS preservation_audit_append(text, text, timestamptz, bigint, text, bigint, text, text,
                                                  text, text, inet, text, text, text);
"""


def add_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_FUNCTION)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("preservation", "0162_user_public_id")]

    operations = [migrations.RunPython(add_function, drop_function)]
