"""One pending render per document (docs/security.md "Bounded work"). Older duplicates left by
earlier clicks are marked interrupted first: only the newest pending one per request and kind
stays pending."""
from django.db import migrations, models


def interrupt_duplicates(apps, schema_editor):
    GeneratedDocument = apps.get_model("preservation", "GeneratedDocument")
    pending = GeneratedDocument._base_manager.filter(state__in=["queued", "rendering"]).order_by("-pk")
    seen, older = set(), []
    for pk, request_id, kind in pending.values_list("pk", "request_id", "kind"):
        if (request_id, kind) in seen:
            older.append(pk)
        seen.add((request_id, kind))
    GeneratedDocument._base_manager.filter(pk__in=older).update(state="failed", error="interrupted")


class Migration(migrations.Migration):

    dependencies = [
        ("preservation", "0151_text_limits"),
    ]

    operations = [
        migrations.RunPython(interrupt_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="generateddocument",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["queued", "rendering"])), fields=("request", "kind"),
                name="document_one_pending",
            ),
        ),
    ]
