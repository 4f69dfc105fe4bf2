"""Append a signed checkpoint of the newest audit record to AUDIT_CHECKPOINT_PATH
(docs/security.md "Audit log integrity"). Celery beat and the reminder loop run it every minute."""
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from preservation.core.audit import write_checkpoint


class Command(BaseCommand):
    help = "Write a signed checkpoint of the newest audit record outside the database."

    def handle(self, *args, **options):
        entry = write_checkpoint()
        if entry is None:
            self.stdout.write(_("No new audit records since the last checkpoint."))
        else:
            self.stdout.write(_("Checkpoint written: record %(id)s.") % {"id": entry["id"]})
