"""Sign-in events become audit records and start the session clock; a committed change to a
request moves its agency's requests_version on, one to a notification its user's
notifications_version."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from preservation.core.audit import audit_failure, audit_record
from preservation.core.middleware import start_session_clock
from preservation.models import (
    AuditOutcome,
    Notification,
    PreservationRequest,
    User,
    bump_notifications_versions_after_commit,
    bump_requests_versions_after_commit,
)
from preservation.models.core import count_block


@receiver([post_save, post_delete], sender=PreservationRequest, dispatch_uid="preserve_requests_version")
def _request_changed(sender, instance, **kwargs):
    # Only the block of ids it is in: the dashboard counts that block again, not every request.
    bump_requests_versions_after_commit([instance.agency_id], blocks=[count_block(instance.pk)])


@receiver([post_save, post_delete], sender=Notification, dispatch_uid="preserve_notifications_version")
def _notification_changed(sender, instance, **kwargs):
    # The bell's cached unread count of its user is out of date (reminders/views.py).
    bump_notifications_versions_after_commit([instance.user_id])


@receiver(user_logged_in, dispatch_uid="preserve_logged_in")
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        start_session_clock(request)
    audit_record(action="login", actor=user, obj=user, request=request, message="password accepted")


@receiver(user_logged_out, dispatch_uid="preserve_logged_out")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="logout", actor=user, obj=user, request=request)


def _known_user(username):
    """The account a failed attempt aimed at, so its agency's admins see it in their log."""
    return User.objects.filter(username=username).select_related("agency").first() if username else None


@receiver(user_login_failed, dispatch_uid="preserve_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")[:150]
    target = _known_user(username)
    # A known user's failures end in a lockout after 5; unknown names are aggregated per client
    # address, so guessing names cannot grow the log without bound.
    write = audit_record if target is not None else audit_failure
    write(action="login_failed", request=request, outcome=AuditOutcome.FAILURE, obj=target,
          agency=target.agency if target else None, message="username %s" % username)


@receiver(user_locked_out, dispatch_uid="preserve_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    target = _known_user(username)
    audit_record(action="locked_out", request=request, outcome=AuditOutcome.DENIED, obj=target,
                 agency=target.agency if target else None, message="username %s" % (username or "")[:150])
