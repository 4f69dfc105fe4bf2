"""Opaque identifiers (docs/security.md "Opaque identifiers").

A request gets a stored ``reference``: rows filed before keep the one they were sent with,
``PR-`` and their number (``PR-000123``), so letters already sent and replies quoting them
still match; new rows draw a random one. Documents, notifications, API tokens, received
messages and correspondence entries get a ``public_id`` for their addresses.

Documents, correspondence entries and received messages refuse any UPDATE on PostgreSQL
(0003, 0141), so their ``public_id`` is not backfilled by updating rows: PostgreSQL adds the
column with a per-row ``gen_random_uuid()`` default (a table rewrite, no row trigger fires) and
drops the default; SQLite, which has no such triggers, adds a nullable column, fills it row by
row and then makes it unique and required.
"""
import uuid

from django.db import migrations, models

import preservation.models.core

OPAQUE_MODELS = ["generateddocument", "notification", "apitoken", "inboundmessage", "correspondenceentry"]
BATCH = 1000


def keep_old_references(apps, schema_editor):
    """Every request without a stored reference keeps the one it was shown with: PR-000123."""
    model = apps.get_model("preservation", "PreservationRequest")
    rows = model._base_manager.filter(models.Q(reference__isnull=True) | models.Q(reference=""))
    pending = []
    for pk in rows.values_list("pk", flat=True).iterator(chunk_size=BATCH):
        pending.append(model(pk=pk, reference="PR-%06d" % pk))
        if len(pending) == BATCH:
            model._base_manager.bulk_update(pending, ["reference"])
            pending = []
    model._base_manager.bulk_update(pending, ["reference"])


def _final_field():
    field = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="public ID")
    field.set_attributes_from_name("public_id")
    return field


def add_public_ids(apps, schema_editor):
    for name in OPAQUE_MODELS:
        model = apps.get_model("preservation", name)
        table = schema_editor.quote_name(model._meta.db_table)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("ALTER TABLE %s ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid()" % table)
            schema_editor.execute("ALTER TABLE %s ALTER COLUMN public_id DROP DEFAULT" % table)
            schema_editor.execute("ALTER TABLE %s ADD CONSTRAINT %s UNIQUE (public_id)" % (
                table, schema_editor.quote_name("%s_public_id_uniq" % model._meta.db_table)))
            continue
        nullable = models.UUIDField(null=True, editable=False)
        nullable.set_attributes_from_name("public_id")
        schema_editor.add_field(model, nullable)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT id FROM %s" % table)
            for (pk,) in cursor.fetchall():
                cursor.execute("UPDATE %s SET public_id = %%s WHERE id = %%s" % table, [uuid.uuid4().hex, pk])
        schema_editor.alter_field(model, nullable, _final_field())


def drop_public_ids(apps, schema_editor):
    for name in OPAQUE_MODELS:
        model = apps.get_model("preservation", name)
        if not any(field.name == "public_id" for field in model._meta.local_fields):
            # SQLite rebuilds the table from the model: it has to know the column it drops.
            _final_field().contribute_to_class(model, "public_id")
        schema_editor.remove_field(model, model._meta.get_field("public_id"))


class Migration(migrations.Migration):

    dependencies = [
        ("preservation", "0141_correspondence_immutable"),
    ]

    operations = [
        migrations.AddField(
            model_name="preservationrequest",
            name="reference",
            field=models.CharField(editable=False, max_length=20, null=True, verbose_name="reference"),
        ),
        migrations.RunPython(keep_old_references, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="preservationrequest",
            name="reference",
            field=models.CharField(default=preservation.models.core.new_request_reference, editable=False,
                                   max_length=20, unique=True, verbose_name="reference"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_public_ids, drop_public_ids)],
            state_operations=[
                migrations.AddField(
                    model_name=name,
                    name="public_id",
                    field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="public ID"),
                )
                for name in OPAQUE_MODELS
            ],
        ),
    ]
