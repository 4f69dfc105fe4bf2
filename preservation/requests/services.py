"""Every change of a request's state, one function each (docs/deadlines.md "Request states").

Each service locks the row, checks the transition is allowed, writes the history entry,
recomputes the stored deadlines, all in one transaction. ``now`` is passed in so tests and
operators control the clock.
"""
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from preservation.core import permissions, presentation
from preservation.core.audit import audit_record
from preservation.reminders import inbox
from preservation.models import (
    NotificationKind,
    CLOCK_STATES,
    NO_URGENCY_RANK,
    OPEN_STATES,
    DeadlineKind,
    DeviceSerial,
    LegalProcessType,
    Outcome,
    PreservationRequest,
    RequestApproval,
    RequestEvent,
    RequestState,
    Role,
    User,
)
from preservation.reminders import scheduling
from preservation.requests.selectors import (
    CATALOGUE_ROWS,
    all_policies,
    basis_policy,
    request_clock,
    request_clock_terms,
    request_policies,
)
from preservation.rules import catalogue, deadlines, identifiers, serials
from preservation.rules.validation import sending_errors

S = RequestState
SENT_OPEN_STATES = frozenset({S.SUBMITTED, S.PRESERVING, S.EXTENSION_REQUESTED, S.EXTENDED})


def _setting(name):
    return settings.PRESERVE[name]


def thresholds():
    return deadlines.Thresholds(
        critical_days=_setting("URGENCY_CRITICAL_DAYS"),
        high_days=_setting("URGENCY_HIGH_DAYS"),
        elevated_days=_setting("URGENCY_ELEVATED_DAYS"),
    )


# --- Deadlines -------------------------------------------------------------------------------


# A draft keeps whatever was typed; deadlines are computed only for windows whose dates plus
# retention and preservation (at most a year) stay inside the calendar.
_EARLIEST = datetime(2, 1, 1, tzinfo=dt_timezone.utc)
_LATEST = datetime(9998, 1, 1, tzinfo=dt_timezone.utc)


def request_report(preservation_request, *, now, policies=None, legacy=None):
    """The deadline report of a request as it stands, or None while its window is incomplete
    (or, in a draft, so far outside the calendar that no deadline can be computed).
    ``policies``: the provider and basis already read for many requests (``selectors.policies_for``).
    ``legacy``: whether a legacy device is named, when the caller knows it need not be read."""
    if not (preservation_request.window_start and preservation_request.window_end and preservation_request.window_start < preservation_request.window_end):
        return None
    if not (_EARLIEST <= preservation_request.window_start and preservation_request.window_end <= _LATEST):
        return None
    zone = preservation_request.agency.time_zone
    production_order = None
    if preservation_request.production_order_received_at:
        production_order = deadlines.ProductionOrder(preservation_request.production_order_received_at,
                                                     preservation_request.production_order_emergency)
    return deadlines.compute_report(
        start=preservation_request.window_start,
        end=preservation_request.window_end,
        now=now,
        country=preservation_request.account_country or None,
        auto_delete_days=preservation_request.auto_delete_days,
        legacy=preservation_request.has_legacy_device if legacy is None else legacy,
        content=preservation_request.requests_content or not preservation_request.data_types,
        received_on=preservation_request.received_on,
        sent_on=deadlines.local_date(preservation_request.sent_at, zone) if preservation_request.sent_at else None,
        extended=bool(preservation_request.extension_received_on),
        zone=zone,
        thresholds=thresholds(),
        lead_days=_setting("EXTENSION_LEAD_DAYS"),
        provider=(policies.provider(preservation_request.provider, preservation_request.provider_other_name) if policies
                  else request_policies(preservation_request)[0]),
        basis=policies.basis(preservation_request.legal_basis) if policies else request_policies(preservation_request)[1],
        production_confirmed_on=preservation_request.production_confirmed_on,
        production_order=production_order,
        national=preservation_request.agency.national_order,
    )


def _next_deadline(preservation_request, report, now):
    """(date, kind) of the next date someone must act on, or (None, "")."""
    zone = preservation_request.agency.time_zone
    today = deadlines.local_date(now, zone)
    if preservation_request.state == S.DRAFT and report:
        for instant, kind in ((report.retention.first_loss_at, DeadlineKind.FIRST_LOSS),
                              (report.retention.total_loss_at, DeadlineKind.TOTAL_LOSS)):
            if now < instant:
                return deadlines.local_date(instant, zone), kind
        return None, ""
    clock = report.clock if report else None
    if clock is None or preservation_request.state not in SENT_OPEN_STATES:
        return None, ""
    if clock.until_production:
        if clock.production_due_at is None:
            return None, ""
        return deadlines.local_date(clock.production_due_at, zone), DeadlineKind.PRODUCTION_DUE
    if preservation_request.state == S.EXTENDED and clock.final_expires_on:
        return clock.final_expires_on, DeadlineKind.FINAL_EXPIRES
    send_by = clock.extension_send_by
    if preservation_request.state in (S.SUBMITTED, S.PRESERVING) and send_by and today <= send_by:
        return send_by, DeadlineKind.EXTENSION_SEND_BY
    return clock.expires_on, DeadlineKind.EXPIRES


def _urgency(preservation_request, report, next_on, now):
    if report is None or preservation_request.state not in OPEN_STATES or preservation_request.state == S.LEGAL_PROCESS_SERVED:
        return None
    if preservation_request.state == S.DRAFT:
        return report.retention.urgency
    today = deadlines.local_date(now, preservation_request.agency.time_zone)
    return deadlines.clock_urgency(deadline=next_on, today=today, thresholds=thresholds())


def _recompute_at(preservation_request, report, now):
    """The next moment the request's computed fields or reminder rows change with time alone
    (docs/deadlines.md "Urgency refresh"), or None: until then the refresh need not recompute
    it, as the same facts give the same result. A change of facts goes through a service,
    which recomputes at once."""
    state, zone = preservation_request.state, preservation_request.agency.time_zone
    moments = []
    if state == S.DRAFT and report:
        retention = report.retention
        moments.append(deadlines.retention_urgency_changes_at(
            first_loss_at=retention.first_loss_at, total_loss_at=retention.total_loss_at, now=now,
            content=preservation_request.requests_content or not preservation_request.data_types,
            thresholds=thresholds()))
        # The next deadline moves from the oldest clip's deletion to the newest's, then is none,
        # whatever was requested.
        moments += [m for m in (retention.first_loss_at, retention.total_loss_at) if m > now]
        moments.append(scheduling.plan_changes_at(preservation_request, now=now))
    elif state in SENT_OPEN_STATES and report and report.clock:
        today = deadlines.local_date(now, zone)
        days = [deadlines.clock_urgency_changes_on(deadline=preservation_request.next_deadline_on, today=today,
                                                   thresholds=thresholds())]
        send_by = report.clock.extension_send_by
        if state in (S.SUBMITTED, S.PRESERVING) and send_by and today <= send_by:
            days.append(send_by + timedelta(days=1))  # the next deadline becomes the expiry
        moments += [deadlines.start_of_day(day, zone) for day in days if day]
    return min((m for m in moments if m), default=None)


def request_recompute(*, preservation_request, now, policies=None, changed=False):
    """Store the computed deadlines and urgency on the row (the only writer of those fields).
    Nothing is written when nothing changed, so unchanged rows and the agency's cached counts
    (selectors.bucket_counts) are left alone; when only ``recompute_at`` moved (the refresh's
    own bookkeeping, docs/deadlines.md §3.5), that column alone.
    ``policies``: the catalogue already read for many requests (``selectors.all_policies``).
    ``changed``: the caller changed other fields of the row and has not saved them: the whole
    row is written, once, with the computed fields (a transition's one UPDATE)."""
    with _serials_read_once(preservation_request):
        return _recompute(preservation_request, now, policies, changed)


@contextmanager
def _serials_read_once(preservation_request):
    """A draft with a whole window asks for its serials twice here (its deadlines and its
    reminders each ask whether a device is legacy): read them once, and forget them afterwards,
    so that serials changed later on the same object are read afresh. A request that already
    holds its serials (a page of them prefetched) is left as it is."""
    cache = preservation_request.__dict__.setdefault("_prefetched_objects_cache", {})
    asks_twice = (preservation_request.state == S.DRAFT and preservation_request.window_start is not None
                  and preservation_request.window_end is not None)
    if "serials" in cache or not asks_twice:
        yield
        return
    prefetch_related_objects([preservation_request], "serials")
    try:
        yield
    finally:
        cache.pop("serials", None)


def _recompute(preservation_request, now, policies=None, changed=False):
    stored = [getattr(preservation_request, name) for name in COMPUTED_FIELDS]
    # Whether a legacy device is named changes only a draft's urgency and reminder plan (its
    # clips can roll off before receipt); once sent, the stored fields and the plan do not
    # depend on it, so its serials are not read (docs/deadlines.md §3.5).
    legacy = None if preservation_request.state == S.DRAFT else False
    report = request_report(preservation_request, now=now, policies=policies, legacy=legacy)
    retention = report.retention if report else None
    clock = report.clock if report else None
    preservation_request.retention_days = retention.retention_days if retention else None
    preservation_request.first_loss_at = retention.first_loss_at if retention else None
    preservation_request.total_loss_at = retention.total_loss_at if retention else None
    preservation_request.expires_on = clock.expires_on if clock else None
    preservation_request.extension_send_by = clock.extension_send_by if clock else None
    preservation_request.final_expires_on = clock.final_expires_on if clock else None
    preservation_request.deadlines_provisional = bool(clock and clock.provisional)
    preservation_request.preserved_until_production = bool(clock and clock.until_production)
    preservation_request.next_deadline_on, preservation_request.next_deadline_kind = _next_deadline(preservation_request, report, now)
    urgency = _urgency(preservation_request, report, preservation_request.next_deadline_on, now)
    preservation_request.urgency = urgency.value if urgency else ""
    preservation_request.urgency_rank = urgency.rank if urgency else NO_URGENCY_RANK
    recompute_at = preservation_request.recompute_at
    preservation_request.recompute_at = _recompute_at(preservation_request, report, now)
    if changed:
        preservation_request.save()
    elif [getattr(preservation_request, name) for name in COMPUTED_FIELDS] != stored:
        preservation_request.save(update_fields=COMPUTED_FIELDS + ["recompute_at", "updated_at"])
    elif preservation_request.recompute_at != recompute_at:
        # Only the refresh's own bookkeeping moved: no one reads it, the cached counts stay valid.
        PreservationRequest.objects.across_agencies().filter(pk=preservation_request.pk).update(
            recompute_at=preservation_request.recompute_at)
    # Reminder rows follow the deadlines in the same transaction (cancelled once it is over).
    scheduling.reminders_schedule_for_request(preservation_request=preservation_request, now=now)
    return report


COMPUTED_FIELDS = [
    "retention_days", "first_loss_at", "total_loss_at", "expires_on", "extension_send_by",
    "final_expires_on", "deadlines_provisional", "preserved_until_production", "urgency", "urgency_rank",
    "next_deadline_on", "next_deadline_kind",
]


def requests_refresh_urgency(*, now, queryset=None):
    """Recompute the open requests whose computed fields change with time by ``now`` (their
    ``recompute_at`` came: an urgency threshold, a deadline passed, a daily reminder's moment;
    docs/deadlines.md "Urgency refresh"). The others would compute exactly what is stored.
    Returns how many changed urgency or next deadline.

    Each due request is read again under its row lock, in its own transaction, and recomputed
    from that: a service that changed it since it was found due has recomputed it already (its
    ``recompute_at`` moved on, and it is skipped), and one changing it now waits for the lock.
    Recomputing from rows read a moment earlier could write old facts' urgency over a service's
    and reconcile reminders against them."""
    queryset = queryset if queryset is not None else PreservationRequest.objects.across_agencies().open()
    due = list(queryset.filter(recompute_at__lte=now).order_by("pk").values_list("pk", flat=True))
    if not due:
        return 0
    changed = 0
    policies = all_policies()
    for pk in due:
        with transaction.atomic():
            preservation_request = (
                PreservationRequest.objects.across_agencies().open().filter(pk=pk, recompute_at__lte=now)
                .select_related("agency").select_for_update(of=("self",)).first()
            )
            if preservation_request is None:
                continue  # recomputed by a service meanwhile, or closed
            before = (preservation_request.urgency, preservation_request.next_deadline_on)
            request_recompute(preservation_request=preservation_request, now=now, policies=policies)
        changed += before != (preservation_request.urgency, preservation_request.next_deadline_on)
    return changed


# --- History ---------------------------------------------------------------------------------


def _record(preservation_request, *, actor, now, action, from_state="", to_state="", reason="", data=None, message=None):
    event = RequestEvent.objects.create(
        request=preservation_request, actor=actor, at=now, action=action, from_state=from_state,
        to_state=to_state, reason=reason, data=data or {},
    )
    # Every history entry is also an audit record (masked, hash-chained, in this transaction).
    audit_record(action="request_%s" % action, actor=actor, obj=preservation_request, now=now,
                 message=message if message is not None else " -> ".join(filter(None, [from_state, to_state])))
    return event


def _locked(preservation_request):
    """Re-read the row under a lock so two people cannot change it at the same moment, with
    its agency (locked too) and its provider's and legal basis's catalogue rows (not locked:
    read, as the deadlines need them)."""
    return (
        PreservationRequest.objects.for_agency(preservation_request.agency_id)
        .select_for_update(of=("self", "agency"))
        .select_related("agency", *CATALOGUE_ROWS)
        .get(pk=preservation_request.pk)
    )


def _refuse(message, code, params=None, field=None):
    error = ValidationError(message, code=code, params=params)
    raise ValidationError({field: [error]}) if field else error


def _check_actor(preservation_request, actor):
    """Roles (permissions.py): requesters change their own requests, case managers any of
    their agency's. Checked here so the web, the API and commands all follow it."""
    if not permissions.can_edit_request(actor, preservation_request):
        _refuse(_("Your role does not allow changing this request; ask its requester, a paralegal "
                  "or a supervisor."), "not_allowed")


ALLOWED_FROM = {
    "send": {S.DRAFT},
    "record_receipt": {S.SUBMITTED},
    "send_extension": {S.PRESERVING},
    "record_extension_receipt": {S.EXTENSION_REQUESTED},
    "record_legal_process": SENT_OPEN_STATES,
    "close": {S.LEGAL_PROCESS_SERVED, S.LAPSED},
    "withdraw": OPEN_STATES,
    "lapse": CLOCK_STATES,
}


def allowed_actions(preservation_request):
    """The transitions a request's current state allows (for buttons and API links)."""
    return [name for name, states in ALLOWED_FROM.items() if preservation_request.state in states and name != "lapse"]


def _check_allowed(preservation_request, action):
    if preservation_request.state in ALLOWED_FROM[action]:
        return
    if action == "send_extension" and preservation_request.state in (S.EXTENSION_REQUESTED, S.EXTENDED):
        _refuse(
            _("Blink allows only one extension of a preservation, and this request already has one."),
            "second_extension",
        )
    _refuse(
        _("This action is not possible while the request is “%(state)s”."),
        "transition_not_allowed",
        {"state": preservation_request.get_state_display()},
    )


def _transition(preservation_request, *, actor, now, to_state, reason="", data=None):
    from_state = preservation_request.state
    preservation_request.state = to_state
    _record(
        preservation_request, actor=actor, now=now, action=RequestEvent.Action.STATE_CHANGED,
        from_state=from_state, to_state=to_state, reason=reason, data=data,
    )
    # The new state and the deadlines it gives go in one UPDATE, in this transaction.
    request_recompute(preservation_request=preservation_request, now=now, changed=True)
    return preservation_request


# What the first recording and a correction both refuse (docs/corrections.md).
SENT_IN_FUTURE = _("The sending time is in the future.")
DATE_IN_FUTURE = _("This date is in the future.")
RECEIVED_BEFORE_SENT = _("Blink cannot have received the request before it was sent (%(date)s).")
EXTENSION_BEFORE_RECEIPT = _("The extension cannot be sent before Blink received the request (%(date)s).")
EXTENSION_AFTER_EXPIRY = _("The preservation expired on %(date)s; an extension must reach Blink before expiry.")
EXTENSION_RECEIVED_BEFORE_SENT = _("Blink cannot have received the extension before it was sent (%(date)s).")
LEGAL_BEFORE_SENT = _("Legal process for this preservation cannot predate sending it (%(date)s).")
LEGAL_AFTER_EXPIRY = _("The preservation expired on %(date)s, before this legal process was served.")


def _today(preservation_request, now):
    return deadlines.local_date(now, preservation_request.agency.time_zone)


def _not_in_future(day, preservation_request, now, field):
    if day > _today(preservation_request, now):
        _refuse(DATE_IN_FUTURE, "date_in_future", field=field)


def _not_before(day, earliest, field, message):
    if day < earliest:
        _refuse(message, "date_too_early", {"date": earliest.isoformat()}, field=field)


# --- Drafts ----------------------------------------------------------------------------------


DRAFT_FIELDS = [
    "requester_name", "requester_title", "requester_badge", "requester_email", "requester_phone",
    "unit", "case_number", "data_types", "window_start", "window_end", "window_zone",
    "account_email", "account_country", "auto_delete_days", "notes", "language",
    "provider", "provider_other_name", "legal_basis",
]


def _replace_serials(preservation_request, serial_rows, *, new=False):
    """serial_rows: iterable of dicts with ``raw`` and optional ``kind`` (a Blink serial unless
    given), ``model`` and ``warnings_acknowledged``. ``new``: the request was just inserted, so
    it has no serials to delete (one round trip less per draft created)."""
    if not new:
        preservation_request.serials.all().delete()
    rows = []
    for position, row in enumerate(serial_rows):
        kind = row.get("kind") or catalogue.BLINK_SERIAL
        if kind == catalogue.BLINK_SERIAL:
            parsed = serials.parse_serial(row["raw"])
            normalized, generation = (parsed.normalized if parsed.valid else ""), parsed.generation or ""
            model = row.get("model") or parsed.model_hint or ""
            from_hint = not row.get("model") and bool(parsed.model_hint)
        else:
            checked = identifiers.check_identifier(kind, row["raw"])
            normalized, generation, model = (checked.normalized if checked.valid else ""), "", ""
            from_hint = False
        rows.append(DeviceSerial(
            request=preservation_request, position=position, kind=kind, raw=row["raw"][:DeviceSerial._meta.get_field("raw").max_length],
            normalized=normalized, generation=generation, model=model, model_from_hint=from_hint,
            warnings_acknowledged=bool(row.get("warnings_acknowledged")),
        ))
    DeviceSerial.objects.bulk_create(rows)


@transaction.atomic
def request_save_draft(*, agency, actor, fields, serial_rows=None, preservation_request=None, now=None):
    """Create a draft or update one, complete or not: nothing the user typed is lost."""
    now = now or timezone.now()
    creating = preservation_request is None
    if creating:
        preservation_request = PreservationRequest(agency=agency, created_by=actor, assigned_to=actor,
                                      legal_basis=agency.default_basis_code)
    else:
        preservation_request = _locked(preservation_request)
        _check_actor(preservation_request, actor)
        if preservation_request.state != S.DRAFT:
            _refuse(_("Only a draft can be edited; this request has been sent."), "not_a_draft")
    for name, value in fields.items():
        if name not in DRAFT_FIELDS:
            raise ValueError("not a draft field: %s" % name)
        setattr(preservation_request, name, value)
    preservation_request.save()
    if serial_rows is not None:
        _replace_serials(preservation_request, serial_rows, new=creating)
    action = RequestEvent.Action.CREATED if creating else RequestEvent.Action.UPDATED
    _record(preservation_request, actor=actor, now=now, action=action, to_state=preservation_request.state if creating else "")
    request_recompute(preservation_request=preservation_request, now=now)
    return preservation_request


# --- Approval --------------------------------------------------------------------------------


EDIT_ACTIONS = [RequestEvent.Action.CREATED, RequestEvent.Action.UPDATED]

OWN_REQUEST = _("You created this draft or edited it since it was last approved: another supervisor "
                "must approve it.")


def request_last_edited_at(preservation_request):
    """When the request's recorded fields last changed (creation or a draft edit), or None."""
    return preservation_request.events.filter(
        action__in=EDIT_ACTIONS
    ).order_by("-at", "-pk").values_list("at", flat=True).first()


def request_editor_ids(preservation_request):
    """Who wrote the edits an approval now would cover: everyone who created or edited the
    draft since its latest approval (that approval covered what came before, as in
    ``request_is_approved``). Not only the last editor: otherwise a supervisor could edit,
    have anyone touch the draft after them, and approve their own change."""
    edits = preservation_request.events.filter(action__in=EDIT_ACTIONS, actor__isnull=False)
    latest = preservation_request.approvals.order_by("-at", "-pk").values_list("at", flat=True).first()
    if latest is not None:
        edits = edits.filter(at__gt=latest)
    return set(edits.values_list("actor_id", flat=True))


def request_is_approved(preservation_request):
    """A supervisor approved the draft as it stands now (an edit after approval voids it)."""
    approval = preservation_request.approvals.order_by("-at", "-pk").first()
    if approval is None:
        return False
    last_edit = request_last_edited_at(preservation_request)
    return last_edit is None or approval.at >= last_edit


def approval_over(approvals, edits):
    """``request_is_approved`` and ``request_editor_ids`` over rows already loaded (a page of
    requests at once): ``approvals`` are one request's approvals, ``edits`` its creation and
    edit events. Returns the approval that covers the request as it stands (or None) and the
    ids of the people an approval now would cover."""
    latest = max(approvals, key=lambda approval: (approval.at, approval.pk), default=None)
    last_edit = max((event.at for event in edits), default=None)
    valid = latest if latest is not None and (last_edit is None or latest.at >= last_edit) else None
    editors = {event.actor_id for event in edits
               if event.actor_id is not None and (latest is None or event.at > latest.at)}
    return valid, editors


@transaction.atomic
def request_approve(*, preservation_request, actor, now=None):
    """A supervisor approves a draft for sending (needed where the agency requires it), never
    one they wrote (four eyes, permissions.approves_own_work)."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    if preservation_request.state != S.DRAFT:
        _refuse(_("Only a draft can be approved; this request has been sent."), "not_a_draft")
    if not permissions.can_approve_request(actor, preservation_request):
        _refuse(_("Only a supervisor of this agency can approve requests."), "not_an_approver")
    if permissions.approves_own_work(actor, preservation_request, editor_ids=request_editor_ids(preservation_request)):
        _refuse(OWN_REQUEST, "own_request")
    RequestApproval.objects.create(request=preservation_request, approved_by=actor, at=now)
    preservation_request.approval_requested_at = None
    preservation_request.save(update_fields=["approval_requested_at", "updated_at"])
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.APPROVED)
    return preservation_request


@transaction.atomic
def request_ask_approval(*, preservation_request, actor, now=None):
    """Ask the agency's supervisors to approve a draft: each one who may approve it gets a
    notification and an email (docs/workday.md §2)."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    if preservation_request.state != S.DRAFT:
        _refuse(_("Only a draft can be approved; this request has been sent."), "not_a_draft")
    if not preservation_request.agency.requires_supervisor_approval or request_is_approved(preservation_request):
        _refuse(_("This draft needs no approval: it can be sent."), "no_approval_needed")
    approvers = request_approvers(preservation_request)
    if not approvers:
        _refuse(_("Nobody in your agency can approve this draft: a supervisor or an agency "
                  "administrator other than its authors must."), "no_approver")
    preservation_request.approval_requested_at = now
    preservation_request.save(update_fields=["approval_requested_at", "updated_at"])
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.APPROVAL_REQUESTED)
    inbox.notify(users=approvers, preservation_request=preservation_request, kind=NotificationKind.APPROVAL_REQUESTED,
                 actor=actor, now=now)
    return preservation_request


def request_approvers(preservation_request):
    """Who is asked to approve a draft: the agency's active supervisors who did not write it;
    where there is none (a single supervisor wrote it), its agency administrators."""
    editors = request_editor_ids(preservation_request) | {preservation_request.created_by_id}
    people = User.objects.filter(agency_id=preservation_request.agency_id, is_active=True).exclude(pk__in=editors)
    supervisors = list(people.filter(role=Role.SUPERVISOR).order_by("pk"))
    return supervisors or list(people.filter(role=Role.AGENCY_ADMIN).order_by("pk"))


# --- Transitions -----------------------------------------------------------------------------


@transaction.atomic
def request_send(*, preservation_request, actor, sent_at=None, emergency_reason="", now=None):
    """Record that the request was sent to Blink (draft → submitted). Without the approval
    the agency requires, only as an emergency with a written reason where the agency allows
    it: marked on the request and in the audit log, and put before its supervisors."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "send")
    _check_actor(preservation_request, actor)
    sent_at = sent_at or now
    if sent_at > now:
        _refuse(SENT_IN_FUTURE, "date_in_future", field="sent_at")
    errors = sending_errors(preservation_request, now=now)
    if errors:
        raise ValidationError(errors)
    emergency_reason = (emergency_reason or "").strip()
    emergency = preservation_request.agency.requires_supervisor_approval and not request_is_approved(preservation_request)
    if emergency:
        _check_emergency(preservation_request, emergency_reason)
    preservation_request.sent_at = sent_at
    if not emergency:
        return _transition(preservation_request, actor=actor, now=now, to_state=S.SUBMITTED)
    preservation_request.emergency_reason = emergency_reason
    preservation_request.approval_requested_at = None
    _transition(preservation_request, actor=actor, now=now, to_state=S.SUBMITTED, reason=emergency_reason,
                data={"emergency": True})
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.EMERGENCY_SENT, reason=emergency_reason)
    inbox.notify(users=request_approvers(preservation_request), preservation_request=preservation_request, kind=NotificationKind.EMERGENCY_SENT,
                 actor=actor, now=now)
    return preservation_request


def _check_emergency(preservation_request, reason):
    if not preservation_request.agency.allows_emergency_send:
        _refuse(_("Your agency requires a supervisor's approval before a request is sent. "
                  "Ask a supervisor to approve this request, then send it."), "approval_required")
    if not reason:
        _refuse(_("Say why this request cannot wait for a supervisor's approval."), "required",
                field="emergency_reason")


@transaction.atomic
def request_review_emergency(*, preservation_request, actor, now=None):
    """A supervisor has looked at a request sent without approval in an emergency."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    if not preservation_request.emergency_reason or preservation_request.emergency_reviewed_at:
        _refuse(_("This request has no emergency send waiting for review."), "nothing_to_review")
    if not permissions.can_approve_request(actor, preservation_request) or actor.pk == preservation_request.created_by_id:
        _refuse(_("Only a supervisor of this agency, other than its requester, can review an emergency "
                  "send."), "not_an_approver")
    preservation_request.emergency_reviewed_at = now
    preservation_request.save(update_fields=["emergency_reviewed_at", "updated_at"])
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.EMERGENCY_REVIEWED)
    return preservation_request


# --- Owners ----------------------------------------------------------------------------------


@transaction.atomic
def request_assign(*, preservation_request, actor, assignee, now=None):
    """Give the request to someone of the agency who is active: they move it on from now."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    if not (assignee.is_active and assignee.agency_id == preservation_request.agency_id):
        _refuse(_("Choose an active member of your agency."), "invalid_assignee", field="assignee")
    if preservation_request.assigned_to_id == assignee.pk:
        return preservation_request
    before = preservation_request.assigned_to_id
    preservation_request.assigned_to = assignee
    preservation_request.save(update_fields=["assigned_to", "updated_at"])
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.ASSIGNED,
            data={"from": before, "to": assignee.pk})
    return preservation_request


@transaction.atomic
def request_record_receipt(*, preservation_request, actor, received_on, blink_reference="", now=None):
    """The provider acknowledged receipt: the preservation clock now runs from ``received_on``."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "record_receipt")
    _check_actor(preservation_request, actor)
    _not_in_future(received_on, preservation_request, now, "received_on")
    _not_before(received_on, deadlines.local_date(preservation_request.sent_at, preservation_request.agency.time_zone),
                "received_on", RECEIVED_BEFORE_SENT)
    preservation_request.received_on = received_on
    preservation_request.blink_reference = blink_reference.strip()
    return _transition(preservation_request, actor=actor, now=now, to_state=S.PRESERVING,
                       data={"received_on": received_on.isoformat(), "blink_reference": preservation_request.blink_reference})


@transaction.atomic
def request_send_extension(*, preservation_request, actor, sent_at=None, now=None):
    """The extension request went to Blink; it must reach Blink before the expiry date."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "send_extension")
    _check_actor(preservation_request, actor)
    if not request_clock_terms(preservation_request).extensions:
        _refuse(_("No extension is known under this legal basis for this provider."), "no_extension")
    sent_at = sent_at or now
    if sent_at > now:
        _refuse(SENT_IN_FUTURE, "date_in_future", field="sent_at")
    sent_on = deadlines.local_date(sent_at, preservation_request.agency.time_zone)
    _not_before(sent_on, preservation_request.received_on, "sent_at",
                EXTENSION_BEFORE_RECEIPT)
    if sent_on > preservation_request.expires_on:
        _refuse(EXTENSION_AFTER_EXPIRY,
                "after_expiry", {"date": preservation_request.expires_on.isoformat()}, field="sent_at")
    preservation_request.extension_sent_at = sent_at
    return _transition(preservation_request, actor=actor, now=now, to_state=S.EXTENSION_REQUESTED)


@transaction.atomic
def request_record_extension_receipt(*, preservation_request, actor, received_on, now=None):
    """The provider confirmed the extension: the preservation runs on, counted from ``received_on``."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "record_extension_receipt")
    _check_actor(preservation_request, actor)
    _not_in_future(received_on, preservation_request, now, "received_on")
    _not_before(received_on, deadlines.local_date(preservation_request.extension_sent_at, preservation_request.agency.time_zone),
                "received_on", EXTENSION_RECEIVED_BEFORE_SENT)
    preservation_request.extension_received_on = received_on
    return _transition(preservation_request, actor=actor, now=now, to_state=S.EXTENDED,
                       data={"received_on": received_on.isoformat()})


def _effective_expiry(preservation_request):
    if preservation_request.preserved_until_production:
        return None  # an EPOC-PR with a confirmed production order: kept until production
    return preservation_request.final_expires_on or preservation_request.expires_on


@transaction.atomic
def request_record_production_order(*, preservation_request, actor, confirmed_on=None, received_at=None, emergency=False,
                                    now=None):
    """EPOC-PR: the issuing authority confirmed a production order was issued (preservation then
    runs until production) and/or the provider received it (its answer is due in 10 days, or 8
    hours in an emergency). docs/providers.md §4."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_actor(preservation_request, actor)
    if preservation_request.state not in SENT_OPEN_STATES or not basis_policy(preservation_request.legal_basis).until_production:
        _refuse(_("A production order can be recorded only for a sent European Preservation Order."),
                "production_not_allowed")
    sent_on = deadlines.local_date(preservation_request.sent_at, preservation_request.agency.time_zone)
    if confirmed_on is not None:
        _not_in_future(confirmed_on, preservation_request, now, "confirmed_on")
        _not_before(confirmed_on, sent_on, "confirmed_on",
                    _("The production order cannot be confirmed before the request was sent (%(date)s)."))
        preservation_request.production_confirmed_on = confirmed_on
    if received_at is not None:
        if received_at > now:
            _refuse(_("This date is in the future."), "date_in_future", field="received_at")
        preservation_request.production_order_received_at = received_at
        preservation_request.production_order_emergency = emergency
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.UPDATED, data={
        "production_confirmed_on": confirmed_on and confirmed_on.isoformat(),
        "production_order_received_at": received_at and received_at.isoformat(), "emergency": emergency,
    })
    request_recompute(preservation_request=preservation_request, now=now, changed=True)
    return preservation_request


@transaction.atomic
def request_record_legal_process(*, preservation_request, actor, process_type, served_on, now=None):
    """Legal process was served on Amazon: the race is over, deadline reminders stop."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "record_legal_process")
    _check_actor(preservation_request, actor)
    if process_type not in LegalProcessType.values:
        _refuse(_("Choose the kind of legal process served."), "invalid_choice", field="process_type")
    _not_in_future(served_on, preservation_request, now, "served_on")
    _not_before(served_on, deadlines.local_date(preservation_request.sent_at, preservation_request.agency.time_zone),
                "served_on", LEGAL_BEFORE_SENT)
    expiry = _effective_expiry(preservation_request)
    if expiry and preservation_request.received_on and served_on > expiry:
        _refuse(LEGAL_AFTER_EXPIRY,
                "after_expiry", {"date": expiry.isoformat()}, field="served_on")
    preservation_request.legal_process_type = process_type
    preservation_request.legal_process_served_on = served_on
    return _transition(preservation_request, actor=actor, now=now, to_state=S.LEGAL_PROCESS_SERVED,
                       data={"process_type": process_type, "served_on": served_on.isoformat()})


@transaction.atomic
def request_close(*, preservation_request, actor, outcome, reason="", now=None):
    """Close a finished request with its outcome (produced or no data after legal process;
    lapsed after a lapse)."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "close")
    _check_actor(preservation_request, actor)
    allowed = [Outcome.LAPSED] if preservation_request.state == S.LAPSED else [Outcome.PRODUCED, Outcome.NO_DATA]
    if outcome not in allowed:
        _refuse(_("Choose one of: %(choices)s."), "invalid_choice",
                {"choices": ", ".join(str(Outcome(o).label) for o in allowed)}, field="outcome")
    preservation_request.outcome = outcome
    preservation_request.closed_at = now
    return _transition(preservation_request, actor=actor, now=now, to_state=S.CLOSED, reason=reason,
                       data={"outcome": outcome})


@transaction.atomic
def request_withdraw(*, preservation_request, actor, reason, now=None):
    """Withdraw an open request; the reason is required and kept in the history."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "withdraw")
    _check_actor(preservation_request, actor)
    if not (reason or "").strip():
        _refuse(_("Say why the request is withdrawn."), "required", field="reason")
    preservation_request.outcome = Outcome.WITHDRAWN
    preservation_request.closed_at = now
    return _transition(preservation_request, actor=actor, now=now, to_state=S.WITHDRAWN, reason=reason.strip())


@transaction.atomic
def request_lapse(*, preservation_request, now=None):
    """The expiry passed with no extension or legal process: preservation has lapsed."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    _check_allowed(preservation_request, "lapse")
    expiry = _effective_expiry(preservation_request)
    if expiry is None or _today(preservation_request, now) <= expiry:
        _refuse(_("The preservation has not expired yet."), "not_expired")
    return _transition(preservation_request, actor=None, now=now, to_state=S.LAPSED,
                       reason=_("Expired on %(date)s with no extension or legal process.") % {"date": expiry.isoformat()})


def requests_lapse_due(*, now):
    """Lapse every request whose expiry passed (in its agency's zone). Returns the lapsed ids.

    One read finds them: the requests whose expiry has passed somewhere on Earth (the zone
    furthest ahead), kept if it has passed in their agency's zone. A request still on its last
    day at home is not read again every quarter hour until midnight there; ``request_lapse``
    checks again under the row lock."""
    # A system sweep over every agency (tenancy guard opt-out, see scoping.py).
    candidates = PreservationRequest.objects.across_agencies().filter(
        state__in=CLOCK_STATES, preserved_until_production=False,
    ).annotate(expiry=Coalesce("final_expires_on", "expires_on")).filter(
        expiry__lt=deadlines.local_date(now, "Pacific/Kiritimati"),
    ).values_list("pk", "agency_id", "expiry", "agency__time_zone").order_by("pk")
    lapsed = []
    for pk, agency_id, expiry, zone in candidates:
        if deadlines.local_date(now, zone) <= expiry:
            continue  # not over yet in its agency's zone
        try:
            request_lapse(preservation_request=PreservationRequest(pk=pk, agency_id=agency_id), now=now)
        except ValidationError:
            continue  # changed meanwhile
        lapsed.append(pk)
    return lapsed


# --- Corrections (docs/corrections.md) --------------------------------------------------------

# Each recorded fact, and whether it is an instant (typed as a local time) or a date.
CORRECTABLE_FIELDS = (
    "sent_at", "received_on", "blink_reference", "extension_sent_at", "extension_received_on",
    "legal_process_type", "legal_process_served_on", "outcome",
)
# Outcomes a person chose when closing; "lapsed" and "withdrawn" follow from what happened.
CHOSEN_OUTCOMES = (Outcome.PRODUCED, Outcome.NO_DATA)
MOVING_FIELDS = ("first_loss_at", "total_loss_at", "extension_send_by", "expires_on", "final_expires_on")


def _clock_of(preservation_request):
    """The preservation clock the request's recorded receipt gives (None before receipt)."""
    return request_clock(preservation_request)


def recorded_fact_errors(preservation_request, *, now):
    """The rules a first recording checks, applied to every recorded fact together: nothing in
    the future, no receipt before sending, no extension after expiry... As ``{field: [error]}``,
    each error on the later fact of the pair it breaks (and on the earlier one too, as
    ``request_correct`` reports it on whichever was corrected)."""
    zone = preservation_request.agency.time_zone

    def day(instant):
        return instant and deadlines.local_date(instant, zone)

    today, clock = deadlines.local_date(now, zone), _clock_of(preservation_request)
    sent, ext_sent = day(preservation_request.sent_at), day(preservation_request.extension_sent_at)
    served = preservation_request.legal_process_served_on
    expiry = clock and (clock.final_expires_on if preservation_request.extension_received_on else clock.expires_on)
    rules = [
        (("sent_at",), preservation_request.sent_at and preservation_request.sent_at > now, SENT_IN_FUTURE, None),
        (("extension_sent_at",), preservation_request.extension_sent_at and preservation_request.extension_sent_at > now, SENT_IN_FUTURE, None),
        (("received_on",), _after(preservation_request.received_on, today), DATE_IN_FUTURE, None),
        (("extension_received_on",), _after(preservation_request.extension_received_on, today), DATE_IN_FUTURE, None),
        (("legal_process_served_on",), _after(served, today), DATE_IN_FUTURE, None),
        (("received_on", "sent_at"), _after(sent, preservation_request.received_on), RECEIVED_BEFORE_SENT, sent),
        (("extension_sent_at", "received_on"), _after(preservation_request.received_on, ext_sent),
         EXTENSION_BEFORE_RECEIPT, preservation_request.received_on),
        (("extension_sent_at", "received_on"), clock and _after(ext_sent, clock.expires_on),
         EXTENSION_AFTER_EXPIRY, clock and clock.expires_on),
        (("extension_received_on", "extension_sent_at"), _after(ext_sent, preservation_request.extension_received_on),
         EXTENSION_RECEIVED_BEFORE_SENT, ext_sent),
        (("legal_process_served_on", "sent_at"), _after(sent, served), LEGAL_BEFORE_SENT, sent),
        (("legal_process_served_on", "received_on", "extension_received_on"), _after(served, expiry),
         LEGAL_AFTER_EXPIRY, expiry),
    ]
    errors = {}
    for fields, broken, message, when in rules:
        if broken:
            params = {"date": presentation.day_text(when)} if when else None
            error = ValidationError(message, code="fact_order" if when else "date_in_future", params=params)
            for field in fields:
                errors.setdefault(field, []).append(error)
    return errors


def _after(first, second):
    """``first`` is a later day than ``second`` (False while either is unknown)."""
    return bool(first and second and first > second)


def _check_correction(preservation_request, name, old, new):
    if old in (None, "") and not (name == "blink_reference" and preservation_request.received_on):
        _refuse(_("Only a fact already recorded can be corrected; record it with its own action."),
                "not_recorded", field=name)
    if new in (None, "") and name != "blink_reference":
        _refuse(_("A recorded fact can be corrected but not removed."), "required", field=name)
    if name == "legal_process_type" and new not in LegalProcessType.values:
        _refuse(_("Choose the kind of legal process served."), "invalid_choice", field=name)
    if name == "outcome" and (old not in CHOSEN_OUTCOMES or new not in CHOSEN_OUTCOMES):
        _refuse(_("Only the outcome chosen when closing (data produced or no data) can be corrected."),
                "invalid_choice", field=name)


def _fact_text(value):
    """A recorded value as the history and the audit log write it: ISO for dates and instants."""
    if isinstance(value, datetime):
        return deadlines.format_instant(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@transaction.atomic
def request_correct(*, preservation_request, actor, changes, reason, now=None):
    """Correct facts recorded on a request (a mistyped receipt date...): the same rules as when
    they were first recorded, deadlines, urgency and reminders worked out again in this
    transaction, "corrected from X to Y, by whom, why" in the history and the audit log, and
    everyone on the request told when a deadline moved. Reminders already sent stay sent."""
    now = now or timezone.now()
    preservation_request = _locked(preservation_request)
    if not permissions.can_correct_request(actor, preservation_request):
        _refuse(_("Only the requester, a supervisor or an agency administrator can correct a "
                  "recorded fact."), "not_allowed")
    reason = (reason or "").strip()
    if not reason:
        _refuse(_("Say why the recorded fact is corrected."), "required", field="reason")
    changed = {}
    for name, new in changes.items():
        if name not in CORRECTABLE_FIELDS:
            raise ValueError("not a correctable field: %s" % name)
        new = new.strip() if isinstance(new, str) else new
        old = getattr(preservation_request, name)
        if new != old:
            _check_correction(preservation_request, name, old, new)
            changed[name] = (old, new)
            setattr(preservation_request, name, new)
    if not changed:
        _refuse(_("Nothing to correct: every value is as recorded."), "no_change")
    errors = recorded_fact_errors(preservation_request, now=now)
    errors = {name: errors[name] for name in changed if name in errors}
    if errors:
        raise ValidationError(errors)
    before = [getattr(preservation_request, name) for name in MOVING_FIELDS]
    preservation_request.save(update_fields=[*changed, "updated_at"])
    data = {name: {"from": _fact_text(old), "to": _fact_text(new)} for name, (old, new) in changed.items()}
    message = "; ".join("%s corrected from %s to %s" % (name, values["from"], values["to"])
                        for name, values in data.items())
    _record(preservation_request, actor=actor, now=now, action=RequestEvent.Action.CORRECTED, reason=reason,
            data=data, message="%s. Why: %s" % (message, reason))
    request_recompute(preservation_request=preservation_request, now=now)
    if [getattr(preservation_request, name) for name in MOVING_FIELDS] != before:
        number = preservation_request.events.filter(action=RequestEvent.Action.CORRECTED).count()
        scheduling.reminders_announce_moved_deadline(preservation_request=preservation_request, correction=number, now=now)
    return preservation_request
