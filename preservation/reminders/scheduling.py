"""Scheduling: create, move or cancel a request's reminder rows to match its deadlines.

Called by the request services inside the transaction that moved a deadline."""

from django.conf import settings

from preservation.models import DeliveryState, Reminder, ReminderKind, ReminderPreference, RequestState
from preservation.reminders import rules as rules_module
from preservation.reminders.rules import Facts, Rules, plan, reconcile
from preservation.rules import deadlines

S = RequestState
D = DeliveryState

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


def request_facts(preservation_request):
    zone = preservation_request.agency.time_zone
    return Facts(
        state=preservation_request.state,
        zone=zone,
        sent_on=deadlines.local_date(preservation_request.sent_at, zone) if preservation_request.sent_at else None,
        extension_sent_on=(deadlines.local_date(preservation_request.extension_sent_at, zone)
                           if preservation_request.extension_sent_at else None),
        extension_send_by=preservation_request.extension_send_by,
        expires_on=preservation_request.expires_on,
        final_expires_on=preservation_request.final_expires_on,
        first_loss_at=preservation_request.first_loss_at,
        total_loss_at=preservation_request.total_loss_at,
        content=preservation_request.requests_content or not preservation_request.data_types,
        legacy=preservation_request.state == S.DRAFT and preservation_request.has_legacy_device,
    )


def plan_changes_at(preservation_request, *, now):
    """When the request's reminder plan changes with time alone (``rules.plan_changes_at``)."""
    return rules_module.plan_changes_at(request_facts(preservation_request), now=now, rules=rules())


def reminders_schedule_for_request(*, preservation_request, now):
    """Create, move or cancel the request's reminder rows to match its deadlines now.

    Called by ``services.request_recompute`` inside the transaction that moved a deadline.
    """
    # Announcements of a moved deadline are not planned from the deadlines: never cancel them.
    rows = {(r.kind, r.lead_days): r for r in preservation_request.reminders.all() if r.kind != ReminderKind.DEADLINE_MOVED}
    existing = {key: (row.state, row.due_at) for key, row in rows.items()}
    todo = reconcile(plan(request_facts(preservation_request), now=now, rules=rules()), existing, now=now)
    # The rows may have been read a moment ago with many requests' (the hourly refresh): a row
    # made since is not made twice, and one a sweep claimed or sent since is history, not moved.
    Reminder.objects.bulk_create([
        Reminder(request=preservation_request, kind=p.kind, lead_days=p.lead_days, day=p.day,
                 due_at=p.due_at, deadline_on=p.deadline_on)
        for p in todo.create
    ], ignore_conflicts=True)
    moved = []
    for item in todo.move:
        row = rows[item.key]
        row.state, row.day, row.due_at, row.deadline_on = D.SCHEDULED, item.day, item.due_at, item.deadline_on
        moved.append(row)
    if moved:
        # One UPDATE for all of them, each still only while scheduled or cancelled.
        Reminder.objects.filter(request=preservation_request, state__in=[D.SCHEDULED, D.CANCELLED]).bulk_update(
            moved, ["state", "day", "due_at", "deadline_on"])
    if todo.cancel:
        Reminder.objects.filter(
            request=preservation_request, pk__in=[rows[key].pk for key in todo.cancel], state=D.SCHEDULED
        ).update(state=D.CANCELLED)


def reminders_announce_moved_deadline(*, preservation_request, correction, now):
    """Tell everyone on the request, now, that a correction moved its deadlines. ``correction``
    numbers the request's corrections, so each is announced once. Called by
    ``services.request_correct`` in the transaction of the correction; sent by the next sweep."""
    Reminder.objects.create(
        request=preservation_request, kind=ReminderKind.DEADLINE_MOVED, lead_days=correction,
        day=deadlines.local_date(now, preservation_request.agency.time_zone), due_at=now,
        deadline_on=preservation_request.next_deadline_on or preservation_request.final_expires_on or preservation_request.expires_on,
    )



def preferred_leads(users):
    default = set(_setting("REMINDER_LEAD_DAYS"))
    chosen = {p.user_id: set(p.lead_days) for p in ReminderPreference.objects.filter(user__in=users)}
    return {u.pk: chosen.get(u.pk, default) for u in users}
