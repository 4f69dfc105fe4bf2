from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from preservation.management.arguments import instant_argument
from preservation.reminders import sweep


class Command(BaseCommand):
    help = (
        "Send every reminder due now (the same sweep the scheduler runs every minute). "
        "Safe to run at any time and from cron: nothing is ever sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", help="judge what is due at this instant, ISO 8601 (UTC unless it has an offset)"
        )

    def handle(self, *args, **options):
        now = instant_argument(options["now"], "UTC") if options["now"] else timezone.now()
        sent = sweep.reminders_send_due(now=now)
        self.stdout.write(_("%(n)d reminders sent.") % {"n": sent})
