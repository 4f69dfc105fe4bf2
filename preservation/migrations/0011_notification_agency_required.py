import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("preservation", "0010_notification_agency"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="preservation.agency"),
        ),
        migrations.RemoveIndex(model_name="notification", name="notification_unread"),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["user", "agency", "read_at"], name="notification_inbox"),
        ),
    ]
