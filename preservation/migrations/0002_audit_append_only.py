"""On PostgreSQL the audit table refuses UPDATE and DELETE at the database too, so even a bug
or a shell session in the application cannot rewrite history (verify_audit still catches a
database superuser who disables the trigger). See docs/security.md §5."""
from django.db import migrations

# Re-runnable: a database created before the migration history was squashed has the trigger already.
FORWARD = """
CREATE OR REPLACE FUNCTION preservation_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'preservation_auditrecord is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS preservation_auditrecord_append_only ON preservation_auditrecord;
CREATE TRIGGER preservation_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON preservation_auditrecord
    FOR EACH ROW EXECUTE FUNCTION preservation_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS preservation_auditrecord_append_only ON preservation_auditrecord;
DROP FUNCTION IF EXISTS preservation_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("preservation", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
