"""Check the audit log: hash chain, keyed MACs and the signed checkpoints written outside the
database (docs/security.md "Audit log integrity"); exit non-zero and name the first broken record."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from preservation.core.audit import verify_chain


class Command(BaseCommand):
    help = ("Verify the tamper-evident audit log (hash chain, keyed MACs, checkpoints). "
            "Exits with status 1 at the first broken record.")

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            if report.broken_id is None:
                raise CommandError(_("Audit checkpoints broken: %(reason)s") % {"reason": report.reason})
            raise CommandError(
                _("Audit log broken at record %(id)s: %(reason)s (%(n)d records before it are intact).")
                % {"id": report.broken_id, "reason": report.reason, "n": report.checked}
            )
        self.stdout.write(_("Audit log intact: %(n)d records, hash chain verified.") % {"n": report.checked})
        if report.newest_checkpoint:
            self.stdout.write(
                _("%(count)d checkpoints agree; the newest, of %(at)s, names record %(id)s.")
                % {"count": report.checkpoints, "at": report.newest_checkpoint["at"],
                   "id": report.newest_checkpoint["id"]})
        else:
            self.stdout.write(_("No checkpoint written yet: run manage.py audit_checkpoint (the "
                                "reminder loop and Celery beat run it every minute)."))
