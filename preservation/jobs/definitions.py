"""Every periodic and deferred job, each one function (docs/architecture.md "Background work").

Celery (``preservation.jobs.tasks``, production with Redis) and the embedded runner
(``preservation.jobs.runner``, ``make run`` without Redis) only call these, on the one schedule
in ``preservation.jobs.schedule``. A periodic job takes no argument: it reads its work from the database, so a lost or
doubled tick costs at most a delay. A deferred job takes ids only.
"""
from django.utils import timezone

from preservation.accounts import services as accounts
from preservation.core import audit, scoping
from preservation.documents import services as documents
from preservation.jobs.queue import job
from preservation.reminders import sweep
from preservation.requests import services as requests


@job
def send_due_reminders(now=None):
    return sweep.reminders_send_due(now=now)


@job
def detect_lapses(now=None):
    return len(sweep.requests_detect_lapses(now=now))


@job
def send_digests(now=None):
    return sweep.digest_send(now=now)


@job
def refresh_urgency(now=None):
    """Urgency grows with time alone; the dashboards and the digest read the stored value."""
    with scoping.all_agencies():
        return requests.requests_refresh_urgency(now=now or timezone.now())


@job
def render_document(document_id):
    """Render one queued document; the render runs in a child process with its own limits."""
    return bool(documents.document_render(document_id=document_id))


@job
def audit_checkpoint(now=None):
    """Sign the newest audit record into the checkpoint file (docs/security.md)."""
    return bool(audit.write_checkpoint(now=now))


@job
def send_password_reset(user_ids):
    """Reset links, sent after the page answered (docs/security.md "Password reset")."""
    return accounts.password_reset_send(user_ids=user_ids)
