"""Settings of the real Celery workers and beats the reliability tests start.

Production settings read from the environment (DATABASE_URL of the test database, REDIS_URL,
EMAIL_* of the local SMTP sink); only the "stuck" delay is shortened so a run takes seconds,
and the kill switch is armed when RELIABILITY_KILL_AT is set.
"""
import os

from config.settings.base import *  # noqa: F401,F403
from config.settings.base import PRESERVE

PRESERVE = {**PRESERVE, "REMINDER_STUCK_SECONDS": int(os.environ.get("RELIABILITY_STUCK_SECONDS", "1"))}
ENVIRONMENT = "test"

from tests.reliability import killswitch  # noqa: E402,F401  (arms itself from the environment)
