"""Notifications that are not a reminder's copy: a draft waits for a supervisor's approval, or
was sent without it in an emergency (docs/workday.md §2). Each goes to the
bell of the people concerned and, once the change commits, to their email."""
import logging

from django.core.mail import get_connection
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from preservation.models import Notification, NotificationKind
from preservation.reminders import emails

logger = logging.getLogger(__name__)

SUBJECTS = {
    NotificationKind.APPROVAL_REQUESTED: _("%(ref)s waits for your approval"),
    NotificationKind.EMERGENCY_SENT: _("%(ref)s was sent without approval: review it"),
}
SUMMARIES = {
    NotificationKind.APPROVAL_REQUESTED: _("%(who)s asks you to approve %(ref)s for sending to Blink."),
    NotificationKind.EMERGENCY_SENT: _("%(who)s sent %(ref)s to Blink without approval, in an emergency. "
                                       "Their reason: %(reason)s"),
}


def describe(*, kind, preservation_request, who):
    """(subject, summary) in the active language."""
    values = {"ref": preservation_request.reference, "who": who, "reason": preservation_request.emergency_reason}
    return str(SUBJECTS[kind] % values), str(SUMMARIES[kind] % values)


def notify(*, users, preservation_request, kind, actor, now):
    """A notification for each user, in this transaction; their emails once it commits."""
    Notification.objects.bulk_create([
        Notification(user=user, request=preservation_request, kind=kind, agency_id=preservation_request.agency_id, created_at=now)
        for user in users
    ])
    who = actor.get_full_name() or actor.username
    transaction.on_commit(lambda: _email(users, preservation_request, kind, who))


def _email(users, preservation_request, kind, who):
    messages = []
    for user in users:
        if not user.email:
            continue
        with translation.override(user.language):
            subject, summary = describe(kind=kind, preservation_request=preservation_request, who=who)
        messages.append(emails.inbox_message(preservation_request, user, subject=subject, summary=summary))
    try:
        get_connection().send_messages(messages)
    except Exception:  # the bell has it; a mail server down must not undo the change
        logger.exception("inbox email for %s failed", preservation_request.reference)
