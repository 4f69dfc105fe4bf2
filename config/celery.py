"""Celery application, used when REDIS_URL is set; see README "Reminders".

Run exactly one beat (``celery -A config beat``) and any number of workers. Every periodic job
is a sweep that re-derives its work from the database, so a wiped Redis, a lost message or a
second beat by mistake costs at most a delay, never a missed or doubled reminder. No task is
ever scheduled with an ETA or countdown.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("preserve")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Intervals (not crontab) tick in UTC whatever the server's zone. A sweep that waited in the
# queue longer than its interval is dropped: the next one does the same work.
app.conf.beat_schedule = {
    "send-due-reminders": {
        "task": "preservation.tasks.send_due_reminders",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "detect-lapses": {
        "task": "preservation.tasks.detect_lapses",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    "refresh-urgency": {
        "task": "preservation.tasks.refresh_urgency",
        "schedule": 60 * 60.0,
        "options": {"expires": 55 * 60},
    },
    # The newest audit record, signed, into a file outside the database (docs/security.md).
    "audit-checkpoint": {
        "task": "preservation.tasks.audit_checkpoint",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Each user's digest goes after 08:00 in their agency's zone: a quarter-hourly check
    # catches every zone's morning, including the half-hour ones.
    "send-digests": {
        "task": "preservation.tasks.send_digests",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
}
