"""The audit log proves its own completeness (docs/security.md "Audit log integrity").

Adds the keyed MAC of each record (existing records are keyed now, with the key in force when
this migration runs) and, on PostgreSQL, a statement trigger that refuses TRUNCATE, which the
row trigger of 0004 never sees.
"""
import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models

TRUNCATE_TRIGGER = """
CREATE TRIGGER preservation_auditrecord_no_truncate
    BEFORE TRUNCATE ON preservation_auditrecord
    FOR EACH STATEMENT EXECUTE FUNCTION preservation_audit_append_only();
"""
DROP_TRUNCATE_TRIGGER = "DROP TRIGGER IF EXISTS preservation_auditrecord_no_truncate ON preservation_auditrecord;"


def _key():
    # The same derivation as preservation.audit.audit_key (a migration must not import app code).
    if settings.AUDIT_HMAC_KEY:
        return settings.AUDIT_HMAC_KEY.encode()
    return hashlib.sha256(b"preservation.audit.mac:" + settings.SECRET_KEY.encode()).digest()


def key_existing_records(apps, schema_editor):
    AuditRecord = apps.get_model("preservation", "AuditRecord")
    postgres = schema_editor.connection.vendor == "postgresql"
    key = _key()
    rows = list(AuditRecord._base_manager.filter(mac="").values_list("pk", "hash"))
    if not rows:
        return
    with schema_editor.connection.cursor() as cursor:
        if postgres:
            cursor.execute("ALTER TABLE preservation_auditrecord DISABLE TRIGGER preservation_auditrecord_append_only")
        for pk, record_hash in rows:
            mac = hmac.new(key, record_hash.encode(), hashlib.sha256).hexdigest()
            cursor.execute("UPDATE preservation_auditrecord SET mac = %s WHERE id = %s", [mac, pk])
        if postgres:
            cursor.execute("ALTER TABLE preservation_auditrecord ENABLE TRIGGER preservation_auditrecord_append_only")


def add_truncate_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRUNCATE_TRIGGER)


def drop_truncate_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRUNCATE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("preservation", "0110_trust_corrections")]

    operations = [
        migrations.AddField(
            model_name="auditrecord", name="mac",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.RunPython(key_existing_records, migrations.RunPython.noop),
        migrations.RunPython(add_truncate_trigger, drop_truncate_trigger),
    ]
