"""Celery application. Used only when REDIS_URL is set; see README "Reminders"."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("preserve")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
