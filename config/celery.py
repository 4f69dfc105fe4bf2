"""Celery application, used when REDIS_URL is set; see README "Reminders".

Run exactly one beat (``celery -A config beat``) and any number of workers. Every periodic job
is a sweep that re-derives its work from the database, so a wiped Redis, a lost message or a
second beat by mistake costs at most a delay, never a missed or doubled reminder. No task is
ever scheduled with an ETA or countdown.
"""
import os

from celery import Celery

from preservation.jobs.schedule import SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("preserve")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["preservation.jobs"])

# One schedule for Celery beat and the embedded runner (preservation/jobs/schedule.py). A sweep
# that waited in the queue longer than its interval is dropped: the next one does the same work.
app.conf.beat_schedule = {
    periodic.name.replace("_", "-"): {
        "task": "preservation.jobs.tasks.%s" % periodic.name,
        "schedule": periodic.seconds,
        "options": {"expires": round(periodic.seconds * 0.92)},
    }
    for periodic in SCHEDULE
}
