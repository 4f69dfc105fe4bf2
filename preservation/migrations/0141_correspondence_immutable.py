"""Correspondence is a record: on PostgreSQL the database refuses any change or deletion of a
correspondence entry, and any change of a received message's bytes, hash or size, or its
deletion (docs/correspondence.md). Matching a message to a request changes only its match.

(SQLite keeps the ORM guards of the models only.)
"""
from django.db import migrations

IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION preservation_correspondence_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'correspondence row %.% cannot be changed or deleted (% refused)',
        TG_TABLE_NAME, OLD.id, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER preservation_correspondenceentry_immutable
    BEFORE UPDATE OR DELETE ON preservation_correspondenceentry
    FOR EACH ROW EXECUTE FUNCTION preservation_correspondence_immutable();
CREATE TRIGGER preservation_inboundmessage_kept
    BEFORE DELETE ON preservation_inboundmessage
    FOR EACH ROW EXECUTE FUNCTION preservation_correspondence_immutable();
CREATE TRIGGER preservation_inboundmessage_raw_immutable
    BEFORE UPDATE OF raw, sha256, size, agency_id, received_at ON preservation_inboundmessage
    FOR EACH ROW EXECUTE FUNCTION preservation_correspondence_immutable();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS preservation_inboundmessage_raw_immutable ON preservation_inboundmessage;
DROP TRIGGER IF EXISTS preservation_inboundmessage_kept ON preservation_inboundmessage;
DROP TRIGGER IF EXISTS preservation_correspondenceentry_immutable ON preservation_correspondenceentry;
DROP FUNCTION IF EXISTS preservation_correspondence_immutable();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL holds a literal "%"
    return run


class Migration(migrations.Migration):
    dependencies = [("preservation", "0140_correspondence")]

    operations = [migrations.RunPython(_on_postgresql(IMMUTABLE_SQL), _on_postgresql(DROP_SQL))]
