import signal
import threading

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from preservation.jobs.runner import Runner


class Command(BaseCommand):
    help = (
        "Embedded runner for installations without Redis: runs every periodic job (reminders, "
        "lapses, digests, urgency) on the same schedule as Celery beat. "
        "`make run` starts it beside the server. "
        "With REDIS_URL set, run Celery beat and a worker instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0,
                            help="seconds between checks for due jobs")
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_args: stop.set())
        self.stdout.write(_("Sending reminders every %(s)d seconds.") % {"s": options["interval"]})
        Runner().run(tick_seconds=options["interval"], stop=stop, once=options["once"])
