"""When each periodic job runs: one table for Celery beat (config/celery.py) and the embedded
runner (preservation/jobs/runner.py). Plain data, importable before Django is set up.

Intervals tick in UTC whatever the server's zone. Each user's digest goes after 08:00 in their
agency's zone: a quarter-hourly check catches every zone's morning, half-hour zones included.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    name: str  # also the job's function in preservation.jobs.definitions
    seconds: float


SCHEDULE = (
    Periodic("send_due_reminders", 60.0),
    Periodic("detect_lapses", 15 * 60.0),
    Periodic("refresh_urgency", 60 * 60.0),
    Periodic("send_digests", 15 * 60.0),
    # The newest audit record, signed, into a file outside the database (docs/security.md).
    Periodic("audit_checkpoint", 60.0),
)
