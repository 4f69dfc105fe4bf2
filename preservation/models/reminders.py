"""Reminders, digests, in-app notifications, per-user reminder preferences and calendar feeds.

A reminder is a row per (request, kind, lead time) with its due moment stored in UTC and a
state; the database is the source of truth, so a wiped broker or a crashed worker can neither
lose nor double one (see ``preservation.reminders``).
"""
import secrets
import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from preservation.core.scoping import AgencyScopedQuerySet
from preservation.models.core import PreservationRequest, RequestRowQuerySet, User, WritesTold

__all__ = [
    "ReminderKind", "DeliveryState", "Reminder", "DigestDelivery", "Notification", "NotificationKind",
    "ReminderPreference", "CalendarFeedToken", "bump_notifications_versions_after_commit",
]


class ReminderKind(models.TextChoices):
    RETENTION = "retention", _("File now: clips are being deleted")
    ACK_MISSING = "ack_missing", _("Acknowledgement missing")
    EXTENSION_ACK_MISSING = "extension_ack_missing", _("Extension acknowledgement missing")
    EXTENSION_DUE = "extension_due", _("Extension due")
    ESCALATION = "escalation", _("Escalation: expiry without extension")
    FINAL_EXPIRY = "final_expiry", _("Extended preservation expiring")
    LAPSED = "lapsed", _("Preservation lapsed")
    DEADLINE_MOVED = "deadline_moved", _("A deadline moved after a correction")


class DeliveryState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    LATE = "late", _("Sent late")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class _Delivery(models.Model):
    """What a reminder and a digest share: a state, a claim lease and the attempts made."""

    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.SCHEDULED
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        abstract = True


class Reminder(_Delivery):
    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=ReminderKind.choices)
    # Days before the deadline the reminder is about (days after sending the request or the
    # extension for the two "acknowledgement missing" kinds, days before total loss for the
    # daily retention reminder, 0 for "lapsed"; for "deadline moved", the number of the
    # correction on this request, 1, 2, ..., so each correction is announced once).
    lead_days = models.SmallIntegerField(_("lead time (days)"))
    day = models.DateField(_("date"))
    due_at = models.DateTimeField(_("due"))
    deadline_on = models.DateField(_("deadline"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = RequestRowQuerySet.as_manager()
    CLAIM_ORDER = "due_at"

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "lead_days"], name="reminder_once_per_kind_and_lead"
            ),
        ]
        # The sweep reads only what is due: its cost follows the due rows, not the table.
        indexes = [models.Index(fields=["state", "due_at"], name="reminder_state_due")]

    def __str__(self):
        return "%s %s -%sd" % (self.request, self.kind, self.lead_days)


class DigestDelivery(_Delivery):
    """One morning digest per (user, local date)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="digests"
    )
    day = models.DateField(_("date"))
    items = models.PositiveIntegerField(_("requests listed"), default=0)

    CLAIM_ORDER = "day"

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_and_day"),
        ]
        indexes = [models.Index(fields=["state", "claimed_at"], name="digest_state_claimed")]


class NotificationQuerySet(WritesTold, AgencyScopedQuerySet):
    """A user's inbox: read for one user (a user belongs to one agency), for one reminder (a row
    of a request) or through the request's agency (preservation.core.scoping)."""

    scope_fields = ("user", "reminder", "preservation.PreservationRequest.agency")
    scope_hint = "Read notifications for one user: user.notifications or .filter(user=user)."

    # Every write path moves its users' notifications_version on, so the bell's cached count
    # never outlives a change: save() and delete() through the model's signals
    # (preservation/core/signals.py), the bulk paths through WritesTold.
    def _keys_of_rows(self):
        return self.values_list("user_id", flat=True)

    def _keys_of(self, objs):
        return [obj.user_id for obj in objs]

    def _written(self, keys):
        bump_notifications_versions_after_commit(keys)


class _NotificationsBump:
    """The users' bump after the commit (a callable with a ``__qualname__``, which Django names
    a failed robust callback by). Not inside the transaction: the users' rows would stay locked
    until it ends (a sweep's batch, an approval). Until then readers see the previous version,
    as they see the previous notifications."""

    def __init__(self, user_ids):
        self.user_ids = user_ids
        self.__qualname__ = "bump_notifications_versions"

    def __call__(self):
        User.objects.filter(pk__in=self.user_ids).update(notifications_version=F("notifications_version") + 1)


def bump_notifications_versions_after_commit(user_ids):
    """These users' notifications changed: what was cached about them is out of date once the
    change commits. robust: a failed bump is logged; the cached count then lives out its
    time-to-live (reminders.views.UNREAD_TTL)."""
    user_ids = sorted({pk for pk in user_ids if pk is not None})
    if user_ids:
        transaction.on_commit(_NotificationsBump(user_ids), robust=True)


class NotificationKind(models.TextChoices):
    """What a notification that is not a reminder's copy is about (docs/workday.md §2)."""

    APPROVAL_REQUESTED = "approval_requested", _("Approval asked for")
    EMERGENCY_SENT = "emergency_sent", _("Sent without approval (emergency)")


class Notification(models.Model):
    """An in-app copy of a reminder for one user, or (``kind``, ``request``) a request that
    waits for them; the text is rendered in the reader's language."""

    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"),
        on_delete=models.CASCADE, related_name="notifications"
    )
    reminder = models.ForeignKey(
        Reminder, verbose_name=_("reminder"), on_delete=models.CASCADE, related_name="notifications",
        null=True, blank=True,
    )
    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="+",
        null=True, blank=True,
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices, blank=True)
    # The request's agency, copied here: a user's inbox is read for (user, their agency), one
    # table, so someone who moved agency no longer sees the old agency's cases, and the bell on
    # every page costs no join.
    agency = models.ForeignKey(
        "preservation.Agency", verbose_name=_("agency"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    def save(self, *args, **kwargs):
        if self.agency_id is None:
            self.agency_id = (self.request or self.reminder.request).agency_id
        super().save(*args, **kwargs)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "reminder"], name="notification_once_per_user"),
        ]
        indexes = [models.Index(fields=["user", "agency", "read_at"], name="notification_inbox")]


def default_lead_days():
    return list(settings.PRESERVE["REMINDER_LEAD_DAYS"])


class ReminderPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"),
        on_delete=models.CASCADE, related_name="reminder_preference"
    )
    lead_days = models.JSONField(
        _("email me this many days before a deadline"), default=default_lead_days
    )
    digest_enabled = models.BooleanField(_("morning digest by email"), default=True)

    class Meta:
        verbose_name = _("reminder preference")
        verbose_name_plural = _("reminder preferences")


def new_feed_token():
    return secrets.token_urlsafe(32)


class CalendarFeedTokenQuerySet(AgencyScopedQuerySet):
    """A credential: read for its user; the feed view finds it by the secret, opting out."""

    scope_fields = ("user",)
    scope_hint = "Read a user's feed token through the user: .filter(user=user)."


class CalendarFeedToken(models.Model):
    """The secret in a user's calendar feed URL; regenerating it revokes the old URL."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"),
        on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(_("created"), auto_now=True)

    objects = CalendarFeedTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
