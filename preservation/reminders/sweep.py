"""Sending reminders once, lapse detection and the morning digest: the sweeps run by the jobs.

Never missed, never doubled: the database is the source of truth. A row is claimed atomically
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE`` elsewhere)
before anything is sent, marked after; a row whose worker died while "sending" is claimed again
after ``REMINDER_STUCK_SECONDS``. The only duplicate left is the one no mail system can avoid
(mail accepted, worker killed before marking it), and it carries the same Message-ID.
"""
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from preservation.core import scoping
from preservation.models import (
    DeliveryState,
    DigestDelivery,
    Notification,
    PreservationRequest,
    Reminder,
    RequestState,
    Role,
    User,
)
from preservation.reminders import emails
from preservation.reminders.rules import RECIPIENT_ROLES, is_late, wants_email
from preservation.reminders.scheduling import _setting, preferred_leads
from preservation.requests import services as request_services

logger = logging.getLogger(__name__)

S = RequestState
D = DeliveryState

# --- Sending (services) ------------------------------------------------------------------------


def _stuck_before():
    return timezone.now() - timedelta(seconds=_setting("REMINDER_STUCK_SECONDS"))


def _claimable(model, due):
    """Rows ready to claim, as two queries: left "sending" by a worker that died (oldest
    first), then scheduled and due. Each is one range of the (state, due) index read in order,
    so with a LIMIT the cost follows the rows claimed, never the table: an OR of the two
    would let the planner fall back to scanning every row."""
    order = model.CLAIM_ORDER
    return [
        model.objects.filter(state=D.SENDING, claimed_at__lt=_stuck_before()).order_by(order),
        model.objects.filter(state=D.SCHEDULED, **due).order_by(order),
    ]


def _claim(model, due, limit):
    """Claim up to ``limit`` rows for this worker alone; returns (ids, lease).

    The lease (the claim time) goes with every later write, so a worker that was presumed
    dead and overtaken cannot mark a row another worker now holds.
    """
    lease = timezone.now()
    ids = []
    if connection.vendor == "postgresql":
        with transaction.atomic():
            for query in _claimable(model, due):
                ids += query.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit - len(ids)]
            model.objects.filter(pk__in=ids).update(state=D.SENDING, claimed_at=lease)
        return ids, lease
    for query in _claimable(model, due):
        for pk in list(query.values_list("pk", flat=True)[:limit - len(ids)]):
            # Exactly one row changes when this worker wins the race for it.
            if query.filter(pk=pk).update(state=D.SENDING, claimed_at=lease) == 1:
                ids.append(pk)
    return ids, lease


def _count_attempt(model, ids, lease):
    model.objects.filter(pk__in=ids, claimed_at=lease).update(attempts=F("attempts") + 1)


@scoping.all_agencies()  # a sweep serves every agency
def reminders_send_due(*, now=None):
    """Send every reminder due at ``now``; returns how many were sent (late ones included).

    Claims, sends and marks in small batches until nothing is left, so a crash loses at most
    one batch's worth of progress and never a reminder.
    """
    now = now or timezone.now()
    sent = 0
    limit = _setting("REMINDER_BATCH")
    logger.debug("reminder sweep starting", extra={"event": "sweep_start"})
    while True:
        ids, lease = _claim(Reminder, {"due_at__lte": now}, limit)
        logger.debug("claimed %d reminders", len(ids), extra={"event": "claimed"})
        if not ids:
            return sent
        _count_attempt(Reminder, ids, lease)
        done, handed_back = _send_batch(ids, lease, now)
        sent += done
        if _drained(ids, limit, handed_back):
            return sent


def _drained(ids, limit, handed_back):
    """A claim that took fewer rows than it could took every row ready at that moment: another
    round would find none, unless this batch handed rows back. Rows that become ready meanwhile
    (another worker's, left "sending") are the next sweep's, a minute later."""
    return len(ids) < limit and not handed_back


def _send_batch(ids, lease, now):
    """Send and mark the claimed reminders; (how many were sent, whether some were handed back
    unsent)."""
    sent = 0
    rows = Reminder.objects.filter(pk__in=ids, claimed_at=lease).select_related(
        "request__agency", "request__created_by", "request__assigned_to"
    )
    hold = timedelta(seconds=_setting("REMINDER_STUCK_SECONDS") / 2)
    people = People()
    with get_connection() as mail:
        for reminder in rows:
            if timezone.now() - lease > hold:
                # A slow mail server must not make this claim look abandoned: hand back what
                # is left before another sweep could take it for stuck.
                _release(Reminder, ids, lease)
                return sent, True
            recipients = reminder_recipients(reminder, people)
            late = is_late(reminder.due_at, now, timedelta(hours=_setting("REMINDER_LATE_HOURS")))
            try:
                emails.send_reminder(reminder, recipients, late=late, connection=mail)
            except Exception as error:  # noqa: BLE001 - any mail failure is retried, then "failed"
                _mark_failed(reminder, lease, error, recipients, now)
                continue
            logger.debug("sent reminder %s", reminder.pk, extra={"event": "sent", "reminder": reminder.pk})
            sent += _mark_sent(reminder, lease, recipients, now, late)
            # After the commit: "marked" must mean it is on disk.
            logger.debug("marked reminder %s", reminder.pk, extra={"event": "marked", "reminder": reminder.pk})
    return sent, False


def _release(model, ids, lease):
    model.objects.filter(pk__in=ids, state=D.SENDING, claimed_at=lease).update(
        state=D.SCHEDULED, claimed_at=None, attempts=F("attempts") - 1
    )


@transaction.atomic
def _mark_sent(reminder, lease, recipients, now, late):
    state = D.LATE if late else D.SENT
    changed = Reminder.objects.filter(pk=reminder.pk, state=D.SENDING, claimed_at=lease).update(
        state=state, sent_at=timezone.now(), last_error=""
    )
    if changed:
        _notify(reminder, recipients, now)
    return changed


@transaction.atomic
def _mark_failed(reminder, lease, error, recipients, now):
    if _retry_or_fail(Reminder, reminder, lease, error, since=reminder.due_at):
        _notify(reminder, recipients, now)  # the email failed for good: in-app still tells them


def _retry_or_fail(model, row, lease, error, since=None):
    """Leave the row "sending" so it is retried after the stuck delay, until attempts run out
    and, for a row with a moment (``since``), ``REMINDER_RETRY_HOURS`` have passed since it:
    a mail server down for hours delays reminders, it does not drop them (docs/deadlines.md
    §5.3). True if final."""
    logger.warning("%s %s not sent: %s", model._meta.model_name, row.pk, error)
    final = row.attempts >= _setting("REMINDER_MAX_ATTEMPTS")  # this attempt is counted
    if since is not None:
        final = final and timezone.now() - since >= timedelta(hours=_setting("REMINDER_RETRY_HOURS"))
    model.objects.filter(pk=row.pk, state=D.SENDING, claimed_at=lease).update(
        state=D.FAILED if final else D.SENDING, last_error=str(error)[:1000]
    )
    return final


def _notify(reminder, recipients, now):
    Notification.objects.bulk_create(
        [Notification(user=r.user, reminder=reminder, agency_id=reminder.request.agency_id, created_at=now)
         for r in recipients if r.user],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class Recipient:
    key: str  # stable per reminder: the Message-ID is built from it
    email: str
    language: str
    user: User | None
    wants_email: bool = True


# Who takes a reminder whose creator and assignee are both deactivated (docs/workday.md §3).
ORPHAN_ROLES = (Role.SUPERVISOR, Role.AGENCY_ADMIN)


class People:
    """Who may hear of a reminder, read once per sweep batch rather than once per reminder: each
    agency's active users (with their reminder preferences), and who holds a given email
    address. A batch's reminders are about a few agencies' requests; their people are read as the
    batch is, a moment before sending."""

    def __init__(self):
        self._agency, self._leads, self._email = {}, {}, {}

    def active(self, agency_id):
        if agency_id not in self._agency:
            users = list(User.objects.filter(agency_id=agency_id, is_active=True).order_by("pk"))
            self._agency[agency_id] = users
            self._leads.update(preferred_leads(users))
        return self._agency[agency_id]

    def leads(self, users):
        missing = [u for u in users if u.pk not in self._leads]
        if missing:
            self._leads.update(preferred_leads(missing))
        return {u.pk: self._leads[u.pk] for u in users}

    def holders(self, email):
        """(agency id, active) of every user with this address (compared as ``iexact`` does)."""
        key = email.upper()
        if key not in self._email:
            self._email[key] = list(User.objects.filter(email__iexact=email).values_list("agency_id", "is_active"))
        return self._email[key]


def reminder_recipients(reminder, people=None):
    """The requester (the user who filed it, its assignee, and the requester's email when that
    is someone else), plus the agency's paralegals and supervisors the kind calls for; never
    only people who were deactivated. ``people``: read for the whole batch (``People``)."""
    people = people or People()
    request = reminder.request
    email = request.requester_email
    roles = RECIPIENT_ROLES[reminder.kind]
    active = people.active(request.agency_id)
    # A creator who moved to another agency no longer hears about this agency's cases.
    owners = list({u.pk: u for u in [request.created_by, request.assigned_to]
                   if u and u.is_active and u.agency_id == request.agency_id}.values())
    users = owners + [u for u in active
                      if (u.role in roles or (email and u.email.upper() == email.upper()))
                      and u.pk not in (request.created_by_id, request.assigned_to_id)]
    if not users:
        # Its people have left (deactivated): the reminder goes to whoever can take it over.
        users = [u for u in active if u.role in ORPHAN_ROLES]
    leads = people.leads(users)
    recipients = [
        Recipient("u%d" % u.pk, u.email, u.language, u,
                  bool(u.email) and wants_email(reminder.kind, reminder.lead_days, leads[u.pk]))
        for u in users
    ]
    emails_taken = {r.email.lower() for r in recipients}
    if email:
        holders = people.holders(email)
        # Nor by the requester email of the form, when it is the address of another agency's user.
        if any(agency_id != request.agency_id for agency_id, _active in holders):
            emails_taken.add(email.lower())
        # Nor of one of this agency's users who was deactivated.
        if email.lower() not in emails_taken and not any(
                agency_id == request.agency_id and not is_active for agency_id, is_active in holders):
            recipients.append(Recipient("requester", email, request.language, None))
    return recipients


# --- Lapses and the digest (services) ----------------------------------------------------------


@scoping.all_agencies()  # lapse detection runs over every agency's requests
def requests_detect_lapses(*, now=None):
    """Lapse every request whose expiry passed; each lapse schedules its "lapsed" reminder in
    the same transaction (``request_recompute``), and this sends what is due right away."""
    now = now or timezone.now()
    lapsed = request_services.requests_lapse_due(now=now)
    if lapsed:
        reminders_send_due(now=now)
    return lapsed


def digest_requests(user, *, today):
    """Open requests of the user's agency with something due within ``DIGEST_DAYS``."""
    until = today + timedelta(days=_setting("DIGEST_DAYS"))
    soon = Q(next_deadline_on__lte=until) | Q(state=S.DRAFT, urgency__in=["critical", "high", "losing"])
    return (
        PreservationRequest.objects.for_agency(user.agency_id).open()
        .exclude(state=S.LEGAL_PROCESS_SERVED).filter(soon)
        .order_by("urgency_rank", "next_deadline_on", "pk")
    )


def digest_recipients():
    return User.objects.filter(
        is_active=True, agency__isnull=False, role__in=[Role.PARALEGAL, Role.SUPERVISOR]
    ).exclude(email="").exclude(reminder_preference__digest_enabled=False).select_related("agency")


@scoping.all_agencies()  # digests go to every agency's staff; each lists its own agency's
def digest_send(*, now=None):
    """Each paralegal and supervisor gets one digest per local morning (after REMINDER_HOUR in
    the agency's zone), never two. Returns how many digests were emailed."""
    now = now or timezone.now()
    mornings = []
    for user in digest_recipients():
        local = now.astimezone(user.agency.zone)
        if local.hour >= _setting("REMINDER_HOUR"):
            mornings.append((user, local.date()))
    _digest_rows(mornings)
    sent = 0
    limit = _setting("REMINDER_BATCH")
    while True:
        ids, lease = _claim(DigestDelivery, {}, limit)
        if not ids:
            return sent
        _count_attempt(DigestDelivery, ids, lease)
        sent += _send_digests(ids, lease)
        if _drained(ids, limit, handed_back=False):
            return sent


def _digest_rows(mornings):
    """The row of each (user, local day) not made yet, in two queries whatever the number of
    users (the check runs every quarter hour): which exist, then the others; a row another
    sweep made a moment ago is left to the unique constraint."""
    if not mornings:
        return
    existing = set(DigestDelivery.objects.filter(
        user__in=[user for user, _day in mornings], day__in={day for _user, day in mornings},
    ).values_list("user_id", "day"))
    missing = [DigestDelivery(user=user, day=day) for user, day in mornings if (user.pk, day) not in existing]
    if missing:
        DigestDelivery.objects.bulk_create(missing, ignore_conflicts=True)


def _send_digests(ids, lease):
    sent = 0
    rows = DigestDelivery.objects.filter(pk__in=ids, claimed_at=lease).select_related("user__agency")
    # The requests of a digest are its agency's on its day: the batch reads them, and renders
    # them in each language, once for all of that agency's people.
    items_of, rendered = {}, {}
    with get_connection() as mail:
        for digest in rows:
            agency_day = (digest.user.agency_id, digest.day)
            if agency_day not in items_of:
                items_of[agency_day] = list(digest_requests(digest.user, today=digest.day)[:200])
            items = items_of[agency_day]
            try:
                if items:
                    key = agency_day + (digest.user.language,)
                    if key not in rendered:
                        rendered[key] = emails.digest_rendered(items, day=digest.day, language=digest.user.language)
                    emails.send_digest(digest, rendered[key], connection=mail)
            except Exception as error:  # noqa: BLE001 - retried after the stuck delay
                _retry_or_fail(DigestDelivery, digest, lease, error)
                continue
            # Nothing due: nothing to say, and the row keeps the day from being tried again.
            state = D.SENT if items else D.CANCELLED
            done = DigestDelivery.objects.filter(pk=digest.pk, state=D.SENDING, claimed_at=lease).update(
                state=state, items=len(items), sent_at=timezone.now() if items else None
            )
            sent += done if items else 0
    return sent
