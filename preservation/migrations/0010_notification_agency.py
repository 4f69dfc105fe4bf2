"""Notifications carry their request's agency, so an inbox is read from one table (0011 makes the
column required once every existing row has it)."""
import django.db.models.deletion
from django.db import migrations, models


def copy_agency(apps, schema_editor):
    Notification = apps.get_model("preservation", "Notification")
    Reminder = apps.get_model("preservation", "Reminder")
    request_agency = Reminder.objects.filter(pk=models.OuterRef("reminder_id")).values("request__agency_id")[:1]
    Notification.objects.update(agency_id=models.Subquery(request_agency))


class Migration(migrations.Migration):

    dependencies = [
        ("preservation", "0009_manifest_immutable"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="agency",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="preservation.agency"
            ),
        ),
        migrations.RunPython(copy_agency, migrations.RunPython.noop),
    ]
