"""Check the audit log's hash chain; exit non-zero and name the first broken record."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from preservation.core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the tamper-evident audit log (hash chain). Exits with status 1 at the first broken record."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                _("Audit log broken at record %(id)s: %(reason)s (%(n)d records before it are intact).")
                % {"id": report.broken_id, "reason": report.reason, "n": report.checked}
            )
        self.stdout.write(_("Audit log intact: %(n)d records, hash chain verified.") % {"n": report.checked})
