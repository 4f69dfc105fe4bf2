import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from preservation import audit, reminders, scoping, services

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Embedded scheduler for installations without Redis: every minute, send due reminders, "
        "lapse expired requests and send morning digests; every hour, refresh urgency. "
        "`make run` starts it beside the server. "
        "With REDIS_URL set, run Celery beat and a worker instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between sweeps")
        parser.add_argument("--once", action="store_true", help="sweep once and exit")

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_args: stop.set())
        self.stdout.write(_("Sending reminders every %(s)d seconds.") % {"s": options["interval"]})
        self.refreshed_at = None
        while not stop.is_set():
            self.sweep()
            if options["once"]:
                return
            stop.wait(options["interval"])
            close_old_connections()  # a long-lived process must not keep a dead connection

    def sweep(self):
        # One failing sweep (database restarting, mail server down) must not end the loop:
        # the next one re-derives everything from the database.
        try:
            now = timezone.now()
            reminders.requests_detect_lapses(now=now)
            reminders.reminders_send_due(now=now)
            reminders.digest_send(now=now)
            audit.write_checkpoint(now=now)
            if self.refreshed_at is None or time.monotonic() - self.refreshed_at >= 3600:
                with scoping.all_agencies():
                    services.requests_refresh_urgency(now=now)
                self.refreshed_at = time.monotonic()
        except Exception:  # noqa: BLE001
            logger.exception("reminder sweep failed; trying again at the next interval")
