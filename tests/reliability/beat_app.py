"""The production Celery app with its beat schedule ticking every second, so a test sees
dozens of beat ticks in seconds (two beats at once in test_two_beats)."""
from config.celery import app

app.conf.beat_schedule = {
    name: {**entry, "schedule": 1.0, "options": {"expires": 5}}
    for name, entry in app.conf.beat_schedule.items()
    if name == "send-due-reminders"
}
