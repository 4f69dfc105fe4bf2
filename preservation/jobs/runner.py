"""The embedded runner: the periodic jobs of ``definitions.SCHEDULE`` in one loop, for
installations without Redis (``manage.py run_reminders``, started by ``make run``)."""
import logging
import threading
import time

from django.db import close_old_connections
from django.utils import timezone

from preservation.jobs import definitions  # noqa: F401  (registers the jobs)
from preservation.jobs.queue import JOBS
from preservation.jobs.schedule import SCHEDULE

logger = logging.getLogger(__name__)


class Runner:
    """Runs each periodic job when its interval has passed (every job at the first tick)."""

    def __init__(self, schedule=SCHEDULE, clock=time.monotonic):
        self.schedule = schedule
        self.clock = clock
        self.last_run = {}

    def due(self):
        now = self.clock()
        return [p for p in self.schedule
                if p.name not in self.last_run or now - self.last_run[p.name] >= p.seconds]

    def tick(self, now=None):
        """Run the due jobs. One failing job (database restarting, mail server down) must not
        stop the others or the loop: the next tick re-derives everything from the database."""
        now = now or timezone.now()
        for periodic in self.due():
            try:
                JOBS[periodic.name](now=now)
            except Exception:  # noqa: BLE001
                logger.exception("job %s failed; trying again at the next tick", periodic.name)
                continue
            self.last_run[periodic.name] = self.clock()

    def run(self, *, tick_seconds, stop: threading.Event, once=False):
        while not stop.is_set():
            self.tick()
            if once:
                return
            stop.wait(tick_seconds)
            close_old_connections()  # a long-lived process must not keep a dead connection
