"""SIGKILL the worker at a chosen point of the reminder sweep, from outside the send path.

The sweep logs each step with an ``event`` (sweep_start, claimed, sent, marked); this handler,
installed only in the reliability tests' workers, kills the process the N-th time it sees the
chosen event: RELIABILITY_KILL_AT=sent RELIABILITY_KILL_COUNT=77.
"""
import logging
import os
import signal


class KillSwitch(logging.Handler):
    def __init__(self, event, count):
        super().__init__(level=logging.DEBUG)
        self.event, self.count, self.seen = event, count, 0

    def emit(self, record):
        if getattr(record, "event", None) != self.event:
            return
        self.seen += 1
        if self.seen == self.count:
            os.kill(os.getpid(), signal.SIGKILL)


def arm():
    event = os.environ.get("RELIABILITY_KILL_AT")
    if event:
        logger = logging.getLogger("preservation.reminders")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(KillSwitch(event, int(os.environ.get("RELIABILITY_KILL_COUNT", "1"))))


arm()
