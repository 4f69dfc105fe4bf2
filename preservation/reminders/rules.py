"""Which reminders a request needs and when (docs/deadlines.md "Reminders"): pure rules.

``plan`` turns a request's facts into the reminders it needs and ``reconcile`` decides what to do
with the rows that exist; neither touches the ORM, and both take ``now``.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from preservation.models import DeliveryState, ReminderKind, RequestState, Role
from preservation.rules import deadlines

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


def plan_changes_at(facts: Facts, *, now: datetime, rules: Rules = Rules()) -> datetime | None:
    """The first moment after ``now`` at which ``plan`` (with ``reconcile``) may differ for the
    same facts. Only the daily retention reminder is planned from ``now`` on: each one leaves
    the plan at its moment (today's "file now" supersedes yesterday's). Every other kind is
    planned from the facts alone, and what ``reconcile`` makes of a past one was decided when it
    was first planned. None: nothing changes until a fact does."""
    if facts.state != S.DRAFT:
        return None
    return min((item.due_at for item in _retention(facts, rules, now)), default=None)


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


# Who hears of each kind (docs/deadlines.md); lapsed goes to everyone on the request.
RECIPIENT_ROLES = {
    K.RETENTION: (),
    K.ACK_MISSING: (),
    K.EXTENSION_ACK_MISSING: (),
    K.EXTENSION_DUE: (Role.PARALEGAL,),
    K.ESCALATION: (Role.PARALEGAL, Role.SUPERVISOR),
    K.FINAL_EXPIRY: (Role.PARALEGAL, Role.SUPERVISOR),
    K.LAPSED: (Role.PARALEGAL, Role.SUPERVISOR),
    K.DEADLINE_MOVED: (Role.PARALEGAL, Role.SUPERVISOR),
}
# The only kinds a user may thin out by lead time; the rest are too important to switch off.
LEAD_FILTERED_KINDS = frozenset({K.EXTENSION_DUE, K.FINAL_EXPIRY})


def wants_email(kind, lead_days, leads):
    return kind not in LEAD_FILTERED_KINDS or lead_days in leads
