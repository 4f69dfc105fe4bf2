"""Users get a ``public_id`` (docs/security.md "Opaque identifiers"): the dashboard's filters,
the assignee choices, the agency's user list and audit records name a person by it. So do
invitations, for their revoke address.

Neither table has triggers refusing updates, so the same steps serve SQLite and
PostgreSQL: a nullable column, filled in batches with a fresh UUID per row, then made unique
and required.
"""
import uuid

from django.db import migrations, models

BATCH = 1000
MODELS = ["user", "invitation"]


def fill_public_ids(apps, schema_editor):
    for name in MODELS:
        _fill(apps.get_model("preservation", name))


def _fill(model):
    pending = []
    for pk in model._base_manager.filter(public_id__isnull=True).values_list("pk", flat=True).iterator(chunk_size=BATCH):
        pending.append(model(pk=pk, public_id=uuid.uuid4()))
        if len(pending) == BATCH:
            model._base_manager.bulk_update(pending, ["public_id"])
            pending = []
    model._base_manager.bulk_update(pending, ["public_id"])


class Migration(migrations.Migration):

    dependencies = [
        ("preservation", "0161_opaque_ids"),
    ]

    operations = [
        *[migrations.AddField(
            model_name=name,
            name="public_id",
            field=models.UUIDField(editable=False, null=True, verbose_name="public ID"),
        ) for name in MODELS],
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=False),
        *[migrations.AlterField(
            model_name=name,
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="public ID"),
        ) for name in MODELS],
    ]
