"""Reminders (deadlines.md "Reminders"): which ones a request needs, and sending them once.

The first half is pure: ``plan`` turns a request's facts into the reminders it needs and
``reconcile`` decides what to do with the rows that exist; neither touches the ORM. The second
half holds the services: scheduling (called by ``services.request_recompute`` in the same
transaction), the sweep that claims due rows and sends them, lapse detection and the digest.

Never missed, never doubled: the database is the source of truth. A row is claimed atomically
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE`` elsewhere)
before anything is sent, marked after; a row whose worker died while "sending" is claimed again
after ``REMINDER_STUCK_SECONDS``. The only duplicate left is the one no mail system can avoid
(mail accepted, worker killed before marking it), and it carries the same Message-ID.
"""
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, ngettext_lazy

from . import deadlines, scoping
from .models import (
    DeliveryState,
    DigestDelivery,
    Notification,
    PreservationRequest,
    RequestState,
    Reminder,
    ReminderKind,
    ReminderPreference,
    Role,
    User,
)

logger = logging.getLogger(__name__)
K = ReminderKind
S = RequestState
D = DeliveryState

# --- Pure rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    hour: int = 8
    lead_days: tuple[int, ...] = (30, 14, 7, 3, 1)
    ack_missing_days: int = 3
    extension_ack_missing_days: int = 3
    escalation_days: int = 7
    high_days: int = 7  # retention reminders run while less than this is left (high or worse)


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about a request (its stored, computed fields)."""

    state: str
    zone: str
    sent_on: date | None = None
    extension_sent_on: date | None = None
    extension_send_by: date | None = None
    expires_on: date | None = None
    final_expires_on: date | None = None
    first_loss_at: datetime | None = None
    total_loss_at: datetime | None = None
    content: bool = True
    legacy: bool = False


@dataclass(frozen=True)
class Planned:
    kind: str
    lead_days: int
    day: date
    due_at: datetime
    deadline_on: date | None
    # Created even when its moment has passed: it is still true and still needs acting on.
    catch_up: bool = False

    @property
    def key(self):
        return (self.kind, self.lead_days)


def plan(facts: Facts, *, now: datetime, rules: Rules = Rules()) -> list[Planned]:
    """Every reminder a request in this state needs, at most one per key.

    Deadline reminders are planned past and future alike (``reconcile`` decides what a past
    one means); the daily retention reminder only from today on, since yesterday's "file now"
    is superseded by today's.
    """
    builders = {
        S.DRAFT: [_retention],
        S.SUBMITTED: [_ack_missing, _extension_due, _escalation],
        S.PRESERVING: [_extension_due, _escalation],
        S.EXTENSION_REQUESTED: [_extension_ack_missing],
        S.EXTENDED: [_final_expiry],
        S.LAPSED: [_lapsed],
    }
    return [item for build in builders.get(facts.state, []) for item in build(facts, rules, now)]


def _at(kind, lead, day, facts, rules, deadline=None, catch_up=False):
    due_at = deadlines.reminder_moment(day, facts.zone, hour=rules.hour)
    return Planned(kind, lead, day, due_at, deadline, catch_up)


def _before(kind, deadline, leads, facts, rules, catch_up=False):
    if deadline is None:
        return []
    return [_at(kind, lead, deadline - timedelta(days=lead), facts, rules, deadline, catch_up)
            for lead in leads]


def _ack_missing(facts, rules, now):
    if facts.sent_on is None:
        return []
    day = facts.sent_on + timedelta(days=rules.ack_missing_days)
    return [_at(K.ACK_MISSING, rules.ack_missing_days, day, facts, rules, catch_up=True)]


def _extension_ack_missing(facts, rules, now):
    """Blink's receipt of the extension is not recorded N days after sending it, while the
    original expiry (its deadline) comes closer. An extension sent late is still reminded in
    time: at the latest the day before the expiry (or the day after sending, if that is later),
    since the preservation lapses the day after it; sent on the expiry day itself, the lapse
    reminder is the one to come. The lead is the days actually waited."""
    if facts.extension_sent_on is None:
        return []
    sent = facts.extension_sent_on
    day = sent + timedelta(days=rules.extension_ack_missing_days)
    if facts.expires_on is not None:
        day = min(day, max(sent + timedelta(days=1), facts.expires_on - timedelta(days=1)))
        if day > facts.expires_on:
            return []
    lead = (day - sent).days
    return [_at(K.EXTENSION_ACK_MISSING, lead, day, facts, rules, facts.expires_on, catch_up=True)]


def _extension_due(facts, rules, now):
    return _before(K.EXTENSION_DUE, facts.extension_send_by, rules.lead_days, facts, rules)


def _escalation(facts, rules, now):
    # Still true once its moment passed (no extension, no legal process): catch up.
    return _before(K.ESCALATION, facts.expires_on, [rules.escalation_days], facts, rules, True)


def _final_expiry(facts, rules, now):
    return _before(K.FINAL_EXPIRY, facts.final_expires_on, rules.lead_days, facts, rules)


def _lapsed(facts, rules, now):
    expiry = facts.final_expires_on or facts.expires_on
    if expiry is None:
        return []
    return [_at(K.LAPSED, 0, expiry + timedelta(days=1), facts, rules, expiry, catch_up=True)]


def _retention(facts, rules, now):
    """Daily while the draft is high, critical or losing: from the first morning less than
    ``high_days`` remain before the oldest clip goes (any morning for a legacy device, which is
    always critical) until the last morning before the newest clip goes."""
    if not (facts.content and facts.first_loss_at and facts.total_loss_at):
        return []
    after = now if facts.legacy else max(now, facts.first_loss_at - timedelta(days=rules.high_days))
    last = deadlines.local_date(facts.total_loss_at, facts.zone)
    planned, day = [], deadlines.local_date(after, facts.zone)
    while day <= last:
        item = _at(K.RETENTION, (last - day).days, day, facts, rules, last)
        if after < item.due_at < facts.total_loss_at:
            planned.append(item)
        day += timedelta(days=1)
    return planned


@dataclass(frozen=True)
class Reconciliation:
    create: list[Planned]
    move: list[Planned]  # scheduled (or cancelled and needed again): set to this moment
    cancel: list[tuple[str, int]]


def reconcile(planned, existing, *, now) -> Reconciliation:
    """What to do with the rows that exist, ``existing`` mapping (kind, lead) to (state, due_at).

    A reminder first planned after its moment passed is only created when it is a catch-up
    kind: a "30 days before" note that arrives with 20 days left would be noise. A row already
    scheduled keeps its place even when its moment is past (the system was down): it is sent
    once, late. Rows already sent or being sent are history and never touched.
    """
    create, move = [], []
    wanted = {item.key: item for item in planned}
    for key, item in wanted.items():
        state, due_at = existing.get(key, (None, None))
        fresh = item.due_at > now or item.catch_up
        if state is None and fresh:
            create.append(item)
        elif (state == D.SCHEDULED and due_at != item.due_at) or (state == D.CANCELLED and fresh):
            move.append(item)
    cancel = [key for key, (state, _due) in existing.items()
              if state == D.SCHEDULED and key not in wanted]
    return Reconciliation(create, move, cancel)


def is_late(due_at, now, late_after=timedelta(hours=24)):
    return now - due_at > late_after


# Who hears of each kind (deadlines.md); lapsed goes to everyone on the request.
RECIPIENT_ROLES = {
    K.RETENTION: (),
    K.ACK_MISSING: (),
    K.EXTENSION_ACK_MISSING: (),
    K.EXTENSION_DUE: (Role.PARALEGAL,),
    K.ESCALATION: (Role.PARALEGAL, Role.SUPERVISOR),
    K.FINAL_EXPIRY: (Role.PARALEGAL, Role.SUPERVISOR),
    K.LAPSED: (Role.PARALEGAL, Role.SUPERVISOR),
}
# The only kinds a user may thin out by lead time; the rest are too important to switch off.
LEAD_FILTERED_KINDS = frozenset({K.EXTENSION_DUE, K.FINAL_EXPIRY})


def wants_email(kind, lead_days, leads):
    return kind not in LEAD_FILTERED_KINDS or lead_days in leads


def describe(*, kind, lead_days, deadline_on, reference, case_number=""):
    """Subject line and one-sentence summary of a reminder, in the active language."""
    case = _(" (CRIM# %(case)s)") % {"case": case_number} if case_number else ""
    params = {"ref": reference, "case": case, "n": lead_days,
              "date": deadline_on.isoformat() if deadline_on else ""}
    subject, summary = _TEXTS[kind]
    return str(subject % params), str(summary % params)


_TEXTS = {
    K.RETENTION: (
        _("File now: %(ref)s%(case)s is losing clips"),
        _("%(ref)s%(case)s is still a draft and Blink is deleting the requested clips; every "
          "clip is gone by %(date)s. Send it to Blink today."),
    ),
    K.ACK_MISSING: (
        _("No acknowledgement from Blink for %(ref)s%(case)s"),
        ngettext_lazy(
            "%(ref)s%(case)s was sent %(n)d day ago and Blink's receipt is not recorded. Check for "
            "Blink's acknowledgement, or send the request again.",
            "%(ref)s%(case)s was sent %(n)d days ago and Blink's receipt is not recorded. Check "
            "for Blink's acknowledgement, or send the request again.", "n"),
    ),
    K.EXTENSION_ACK_MISSING: (
        _("No acknowledgement from Blink for the extension of %(ref)s%(case)s"),
        ngettext_lazy(
            "The extension request for %(ref)s%(case)s was sent %(n)d day ago and Blink's receipt "
            "is not recorded; the preservation expires on %(date)s unless Blink has it. Check for "
            "Blink's acknowledgement and record it, or contact Blink before then.",
            "The extension request for %(ref)s%(case)s was sent %(n)d days ago and Blink's receipt "
            "is not recorded; the preservation expires on %(date)s unless Blink has it. Check for "
            "Blink's acknowledgement and record it, or contact Blink before then.", "n"),
    ),
    K.EXTENSION_DUE: (
        _("Extension due by %(date)s: %(ref)s%(case)s"),
        ngettext_lazy(
            "Send the extension request for %(ref)s%(case)s by %(date)s (%(n)d day left) or "
            "the preservation will lapse.",
            "Send the extension request for %(ref)s%(case)s by %(date)s (%(n)d days left) or "
            "the preservation will lapse.", "n"),
    ),
    K.ESCALATION: (
        _("Escalation: %(ref)s%(case)s expires %(date)s with no extension"),
        ngettext_lazy(
            "The preservation of %(ref)s%(case)s expires on %(date)s, in %(n)d day, and no "
            "extension or legal process is recorded.",
            "The preservation of %(ref)s%(case)s expires on %(date)s, in %(n)d days, and no "
            "extension or legal process is recorded.", "n"),
    ),
    K.FINAL_EXPIRY: (
        _("Preservation ends %(date)s: %(ref)s%(case)s"),
        ngettext_lazy(
            "The extended preservation of %(ref)s%(case)s ends on %(date)s (%(n)d day left) and "
            "cannot be extended again: serve legal process before then.",
            "The extended preservation of %(ref)s%(case)s ends on %(date)s (%(n)d days left) and "
            "cannot be extended again: serve legal process before then.", "n"),
    ),
    K.LAPSED: (
        _("Preservation lapsed: %(ref)s%(case)s"),
        _("The preservation of %(ref)s%(case)s expired on %(date)s with no extension or legal "
          "process; Blink may now delete the data."),
    ),
}


# --- Scheduling (services) ---------------------------------------------------------------------


def _setting(name):
    return settings.PRESERVE[name]


def rules():
    return Rules(
        hour=_setting("REMINDER_HOUR"),
        lead_days=tuple(_setting("REMINDER_LEAD_DAYS")),
        ack_missing_days=_setting("ACK_MISSING_DAYS"),
        extension_ack_missing_days=_setting("EXTENSION_ACK_MISSING_DAYS"),
        escalation_days=_setting("ESCALATION_DAYS"),
        high_days=_setting("URGENCY_HIGH_DAYS"),
    )


def request_facts(request):
    zone = request.agency.time_zone
    return Facts(
        state=request.state,
        zone=zone,
        sent_on=deadlines.local_date(request.sent_at, zone) if request.sent_at else None,
        extension_sent_on=(deadlines.local_date(request.extension_sent_at, zone)
                           if request.extension_sent_at else None),
        extension_send_by=request.extension_send_by,
        expires_on=request.expires_on,
        final_expires_on=request.final_expires_on,
        first_loss_at=request.first_loss_at,
        total_loss_at=request.total_loss_at,
        content=request.requests_content or not request.data_types,
        legacy=request.state == S.DRAFT and request.has_legacy_device,
    )


def reminders_schedule_for_request(*, request, now):
    """Create, move or cancel the request's reminder rows to match its deadlines now.

    Called by ``services.request_recompute`` inside the transaction that moved a deadline.
    """
    rows = {(r.kind, r.lead_days): r for r in request.reminders.all()}
    existing = {key: (row.state, row.due_at) for key, row in rows.items()}
    todo = reconcile(plan(request_facts(request), now=now, rules=rules()), existing, now=now)
    Reminder.objects.bulk_create([
        Reminder(request=request, kind=p.kind, lead_days=p.lead_days, day=p.day,
                 due_at=p.due_at, deadline_on=p.deadline_on)
        for p in todo.create
    ])
    for item in todo.move:
        row = rows[item.key]
        row.state, row.day, row.due_at, row.deadline_on = D.SCHEDULED, item.day, item.due_at, item.deadline_on
        row.save(update_fields=["state", "day", "due_at", "deadline_on"])
    if todo.cancel:
        Reminder.objects.filter(
            request=request, pk__in=[rows[key].pk for key in todo.cancel], state=D.SCHEDULED
        ).update(state=D.CANCELLED)


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
    logger.debug("reminder sweep starting", extra={"event": "sweep_start"})
    while True:
        ids, lease = _claim(Reminder, {"due_at__lte": now}, _setting("REMINDER_BATCH"))
        logger.debug("claimed %d reminders", len(ids), extra={"event": "claimed"})
        if not ids:
            return sent
        _count_attempt(Reminder, ids, lease)
        sent += _send_batch(ids, lease, now)


def _send_batch(ids, lease, now):
    from . import emails

    sent = 0
    rows = Reminder.objects.filter(pk__in=ids, claimed_at=lease).select_related(
        "request__agency", "request__created_by", "request__assigned_to"
    )
    hold = timedelta(seconds=_setting("REMINDER_STUCK_SECONDS") / 2)
    with get_connection() as mail:
        for reminder in rows:
            if timezone.now() - lease > hold:
                # A slow mail server must not make this claim look abandoned: hand back what
                # is left before another sweep could take it for stuck.
                _release(Reminder, ids, lease)
                break
            recipients = reminder_recipients(reminder)
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
    return sent


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
    if _retry_or_fail(Reminder, reminder, lease, error):
        _notify(reminder, recipients, now)  # the email failed for good: in-app still tells them


def _retry_or_fail(model, row, lease, error):
    """Leave the row "sending" so it is retried after the stuck delay, until attempts run out
    (a mail server down for an hour delays reminders, it does not drop them). True if final."""
    logger.warning("%s %s not sent: %s", model._meta.model_name, row.pk, error)
    final = row.attempts >= _setting("REMINDER_MAX_ATTEMPTS")  # this attempt is counted
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


# Who takes a reminder whose creator and assignee are both deactivated (docs/workday.md).
ORPHAN_ROLES = (Role.SUPERVISOR, Role.AGENCY_ADMIN)


def reminder_recipients(reminder):
    """The requester (the user who filed it, its assignee, and the requester's email when that
    is someone else), plus the agency's paralegals and supervisors the kind calls for; never
    only people who were deactivated."""
    request = reminder.request
    wanted = Q(role__in=RECIPIENT_ROLES[reminder.kind])
    if request.requester_email:
        wanted |= Q(email__iexact=request.requester_email)
    owners = list({u.pk: u for u in [request.created_by, request.assigned_to] if u and u.is_active}.values())
    users = owners + list(
        User.objects.filter(wanted, agency_id=request.agency_id, is_active=True)
        .exclude(pk__in=[request.created_by_id, request.assigned_to_id]).order_by("pk")
    )
    if not users:
        # Its people have left (deactivated): the reminder goes to whoever can take it over.
        users = list(User.objects.filter(agency_id=request.agency_id, is_active=True,
                                         role__in=ORPHAN_ROLES).order_by("pk"))
    leads = preferred_leads(users)
    recipients = [
        Recipient("u%d" % u.pk, u.email, u.language, u,
                  bool(u.email) and wants_email(reminder.kind, reminder.lead_days, leads[u.pk]))
        for u in users
    ]
    emails_taken = {r.email.lower() for r in recipients}
    if request.requester_email and request.requester_email.lower() not in emails_taken and not (
            User.objects.filter(agency_id=request.agency_id, is_active=False,
                                email__iexact=request.requester_email).exists()):
        recipients.append(Recipient("requester", request.requester_email, request.language, None))
    return recipients


def preferred_leads(users):
    default = set(_setting("REMINDER_LEAD_DAYS"))
    chosen = {p.user_id: set(p.lead_days) for p in ReminderPreference.objects.filter(user__in=users)}
    return {u.pk: chosen.get(u.pk, default) for u in users}


# --- Lapses and the digest (services) ----------------------------------------------------------


@scoping.all_agencies()  # lapse detection runs over every agency's requests
def requests_detect_lapses(*, now=None):
    """Lapse every request whose expiry passed; each lapse schedules its "lapsed" reminder in
    the same transaction (``request_recompute``), and this sends what is due right away."""
    from . import services

    now = now or timezone.now()
    lapsed = services.requests_lapse_due(now=now)
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
    for user in digest_recipients():
        local = now.astimezone(user.agency.zone)
        if local.hour >= _setting("REMINDER_HOUR"):
            _digest_row(user, local.date())
    sent = 0
    while True:
        ids, lease = _claim(DigestDelivery, {}, _setting("REMINDER_BATCH"))
        if not ids:
            return sent
        _count_attempt(DigestDelivery, ids, lease)
        sent += _send_digests(ids, lease)


def _digest_row(user, day):
    try:
        with transaction.atomic():
            DigestDelivery.objects.get_or_create(user=user, day=day)
    except IntegrityError:
        pass  # another sweep created it a moment ago


def _send_digests(ids, lease):
    from . import emails

    sent = 0
    rows = DigestDelivery.objects.filter(pk__in=ids, claimed_at=lease).select_related("user__agency")
    with get_connection() as mail:
        for digest in rows:
            items = list(digest_requests(digest.user, today=digest.day)[:200])
            try:
                if items:
                    emails.send_digest(digest, items, connection=mail)
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
