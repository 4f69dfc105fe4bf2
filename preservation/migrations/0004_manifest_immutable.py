"""An attached USB evidence manifest is evidence (docs/blink.md §6): on PostgreSQL the database
itself refuses any change or deletion of the manifest and of its file rows (paths, sizes,
hashes, recording times), so neither a bug, a queryset ``update()`` nor a hand-written UPDATE
can alter what was indexed. A manifest is complete when it is inserted
(``manifests.manifest_attach`` writes it and its rows in one transaction), so every stored row
is final.

(TRUNCATE, used only by test teardown, does not fire row triggers; SQLite keeps the ORM
guard of ``EvidenceManifest`` only.)
"""
from django.db import migrations

# Re-runnable: a database created before the migration history was squashed has the trigger already.
IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION preservation_manifest_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'evidence manifest row %.% is stored and cannot be changed or deleted (% refused)',
        TG_TABLE_NAME, OLD.id, TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS preservation_evidencemanifest_immutable ON preservation_evidencemanifest;
CREATE TRIGGER preservation_evidencemanifest_immutable
    BEFORE UPDATE OR DELETE ON preservation_evidencemanifest
    FOR EACH ROW EXECUTE FUNCTION preservation_manifest_immutable();
DROP TRIGGER IF EXISTS preservation_evidencefile_immutable ON preservation_evidencefile;
CREATE TRIGGER preservation_evidencefile_immutable
    BEFORE UPDATE OR DELETE ON preservation_evidencefile
    FOR EACH ROW EXECUTE FUNCTION preservation_manifest_immutable();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS preservation_evidencefile_immutable ON preservation_evidencefile;
DROP TRIGGER IF EXISTS preservation_evidencemanifest_immutable ON preservation_evidencemanifest;
DROP FUNCTION IF EXISTS preservation_manifest_immutable();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL holds a literal "%"
    return run


class Migration(migrations.Migration):
    dependencies = [("preservation", "0003_document_immutable")]

    operations = [migrations.RunPython(_on_postgresql(IMMUTABLE_SQL), _on_postgresql(DROP_SQL))]
