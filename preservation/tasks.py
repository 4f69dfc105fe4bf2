"""Celery tasks: thin wrappers around one service each, ids only as arguments (nothing
personal ever goes through the broker), JSON, acks_late, and time limits shorter than the delay
after which a "sending" row is reclaimed (REMINDER_STUCK_SECONDS), so a live sweep is never
overtaken. The periodic sweeps take no argument at all: they read their work from the database."""
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import audit, documents, reminders, scoping, services

LIMITS = {"acks_late": True, "time_limit": 300, "soft_time_limit": 240}


@shared_task(**LIMITS)
def send_due_reminders():
    return reminders.reminders_send_due()


@shared_task(**LIMITS)
def detect_lapses():
    return len(reminders.requests_detect_lapses())


@shared_task(**LIMITS)
def send_digests():
    return reminders.digest_send()


@shared_task(acks_late=True, time_limit=settings.PRESERVE_PDF["WALL_SECONDS"] + 60,
             soft_time_limit=settings.PRESERVE_PDF["WALL_SECONDS"] + 30)
def render_document(document_id):
    """Render one queued document (issue 5). The render itself runs in a child process with
    its own CPU, memory and wall-clock limits (preservation.pdf); these limits are the backstop."""
    return bool(documents.document_render(document_id=document_id))


@shared_task(**LIMITS)
def refresh_urgency():
    """Urgency grows with time alone; the dashboards and the digest read the stored value."""
    with scoping.all_agencies():
        return services.requests_refresh_urgency(now=timezone.now())


@shared_task(**LIMITS)
def audit_checkpoint():
    """Sign the newest audit record into the checkpoint file (docs/security.md)."""
    return bool(audit.write_checkpoint())


@shared_task(**LIMITS)
def send_password_reset(user_ids):
    """Reset links, sent after the page answered (docs/security.md "Password reset"); ids only."""
    from . import accounts

    return accounts.password_reset_send(user_ids=user_ids)
