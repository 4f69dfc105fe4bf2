"""A done document is evidence: on PostgreSQL the database itself refuses any change or deletion
of a generated document once it is done, so neither a bug nor a hand-written UPDATE can alter
what was signed and sent. (TRUNCATE, used only by test teardown, does not fire row triggers;
SQLite keeps the ORM guard of ``GeneratedDocument`` only.)"""
from django.db import migrations

# Re-runnable: a database created before the migration history was squashed has the trigger already.
IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION preservation_document_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.state = 'done' THEN
        RAISE EXCEPTION 'generated document % is stored and cannot be changed or deleted', OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS preservation_document_immutable ON preservation_generateddocument;
CREATE TRIGGER preservation_document_immutable
    BEFORE UPDATE OR DELETE ON preservation_generateddocument
    FOR EACH ROW EXECUTE FUNCTION preservation_document_immutable();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS preservation_document_immutable ON preservation_generateddocument;
DROP FUNCTION IF EXISTS preservation_document_immutable();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL holds a literal "%"
    return run


class Migration(migrations.Migration):
    dependencies = [("preservation", "0002_audit_append_only")]

    operations = [migrations.RunPython(_on_postgresql(IMMUTABLE_SQL), _on_postgresql(DROP_SQL))]
