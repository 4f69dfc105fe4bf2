"""Celery tasks: thin callers of the jobs in ``preservation.jobs.definitions``.

Ids only as arguments (nothing personal goes through the broker), JSON, acks_late, and time
limits shorter than the delay after which a "sending" row is reclaimed
(REMINDER_STUCK_SECONDS), so a live sweep is never overtaken.
"""
from celery import shared_task
from django.conf import settings

from preservation.jobs import definitions

LIMITS = {"acks_late": True, "time_limit": 300, "soft_time_limit": 240}


@shared_task(**LIMITS)
def send_due_reminders():
    return definitions.send_due_reminders()


@shared_task(**LIMITS)
def detect_lapses():
    return definitions.detect_lapses()


@shared_task(**LIMITS)
def send_digests():
    return definitions.send_digests()


@shared_task(**LIMITS)
def refresh_urgency():
    return definitions.refresh_urgency()


@shared_task(acks_late=True, time_limit=settings.PRESERVE_PDF["WALL_SECONDS"] + 60,
             soft_time_limit=settings.PRESERVE_PDF["WALL_SECONDS"] + 30)
def render_document(document_id):
    return definitions.render_document(document_id)


@shared_task(**LIMITS)
def audit_checkpoint():
    return definitions.audit_checkpoint()


@shared_task(**LIMITS)
def send_password_reset(user_ids):
    return definitions.send_password_reset(user_ids)
