"""The one thing that moves an open request on, by when, and why (docs/workday.md §1).

Pure: no ORM, no clock of its own. ``next_step`` takes what is stored on the request row
(``Facts``) and ``now``, and returns the action, its deadline (a date in the agency's calendar)
and the reason in words. The dashboard row, the request page and the approval inbox all show it.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from preservation.rules import deadlines

DRAFT, SUBMITTED, PRESERVING = "draft", "submitted", "preserving"
EXTENSION_REQUESTED, EXTENDED = "extension_requested", "extended"
LEGAL_PROCESS_SERVED, LAPSED = "legal_process_served", "lapsed"

# Whose move it is: the agency's, Blink's (or a supervisor's), or nobody's any more.
YOURS, WAITING, DONE = "yours", "waiting", "done"
GROUPS = (YOURS, WAITING, DONE)


@dataclass(frozen=True)
class Rules:
    ack_missing_days: int = 3
    extension_ack_missing_days: int = 3
    # The extension is offered as the next step from this many days before its send-by date.
    extension_prompt_days: int = 14


@dataclass(frozen=True)
class Facts:
    """A request as stored (the computed deadlines included), plus two facts about its rows."""

    state: str
    zone: str
    first_loss_at: datetime | None = None
    total_loss_at: datetime | None = None
    sent_at: datetime | None = None
    extension_sent_at: datetime | None = None
    extension_send_by: date | None = None
    expires_on: date | None = None
    final_expires_on: date | None = None
    urgency: str = ""
    legacy: bool = False
    approval_required: bool = False
    approved: bool = False
    approval_requested: bool = False


@dataclass(frozen=True)
class NextStep:
    action: str  # send, complete, ask_approval, await_approval, record_receipt, chase_receipt,
    # send_extension, record_extension_receipt, chase_extension_ack, serve_legal_process, close, none
    due: date | None
    reason: str
    group: str


def _day(value):
    return date_format(value, "DATE_FORMAT")


def _days(n):
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


def next_step(facts: Facts, *, now: datetime, rules: Rules = Rules()) -> NextStep:
    today = deadlines.local_date(now, facts.zone)
    step = _STEPS.get(facts.state)
    if step is None:
        return NextStep("none", None, str(_("Finished: nothing left to do.")), DONE)
    return step(facts, now, today, rules)


def _draft(facts, now, today, rules):
    if facts.first_loss_at is None or facts.total_loss_at is None:
        # The window is incomplete (or outside the calendar): no deletion date is known.
        return NextStep("complete", today, str(_(
            "Complete the time window: until then nobody knows when the clips are deleted.")), YOURS)
    why = _draft_reason(facts, now, today)
    if facts.approval_required and not facts.approved:
        if facts.approval_requested:
            return NextStep("await_approval", today, str(_(
                "Waiting for a supervisor's approval. %(why)s") % {"why": why}), WAITING)
        return NextStep("ask_approval", today, str(_(
            "Ask a supervisor to approve it today. %(why)s") % {"why": why}), YOURS)
    return NextStep("send", today, str(_("Send it to Blink today. %(why)s") % {"why": why}), YOURS)


def _draft_reason(facts, now, today):
    """Why sending cannot wait, in words: the urgency's reason."""
    first, last = facts.first_loss_at, facts.total_loss_at
    if last is not None and now >= last:
        return str(_("Every clip in the window may already be deleted; Blink may still hold other data."))
    if first is not None and now >= first:
        return str(_("Clips are being deleted now; the newest goes on %(date)s.") % {
            "date": _day(deadlines.local_date(last, facts.zone))})
    left = (deadlines.local_date(first, facts.zone) - today).days
    text = _("The oldest clip is deleted on %(date)s (%(left)s).") % {
        "date": _day(deadlines.local_date(first, facts.zone)), "left": _days(left)}
    if facts.legacy:
        text = "%s %s" % (text, _("Critical because a legacy device's clips may be deleted sooner, "
                                  "without notice."))
    return str(text)


def _submitted(facts, now, today, rules):
    if facts.sent_at is None:
        return NextStep("chase_receipt", today, str(_(
            "Record when Blink acknowledged the request.")), YOURS)
    sent_on = deadlines.local_date(facts.sent_at, facts.zone)
    chase_on = sent_on + timedelta(days=rules.ack_missing_days)
    if today >= chase_on:
        return NextStep("chase_receipt", today, str(_(
            "Blink has not acknowledged the request sent on %(date)s: chase them, then record "
            "the receipt.") % {"date": _day(sent_on)}), YOURS)
    return NextStep("record_receipt", chase_on, str(_(
        "Waiting for Blink's acknowledgement: record its date when it arrives (chase them from "
        "%(date)s).") % {"date": _day(chase_on)}), WAITING)


def _preserving(facts, now, today, rules):
    send_by, expires = facts.extension_send_by, facts.expires_on
    if send_by is None or expires is None:
        return _no_dates_yet()
    if today > send_by:
        return NextStep("send_extension", expires, str(_(
            "The extension is late: it must reach Blink before the preservation expires on "
            "%(date)s.") % {"date": _day(expires)}), YOURS)
    if (send_by - today).days <= rules.extension_prompt_days:
        return NextStep("send_extension", send_by, str(_(
            "Send the extension by %(date)s (%(left)s left), or serve legal process before "
            "%(expires)s.") % {"date": _day(send_by), "left": _days((send_by - today).days),
                               "expires": _day(expires)}), YOURS)
    return NextStep("serve_legal_process", expires, str(_(
        "Preserved until %(date)s: serve legal process on Amazon before then; the extension is "
        "due from %(from)s.") % {"date": _day(expires),
                                 "from": _day(send_by - timedelta(days=rules.extension_prompt_days))}), YOURS)


def _extension_requested(facts, now, today, rules):
    if facts.extension_sent_at is None or facts.expires_on is None:
        return _no_dates_yet()
    sent_on = deadlines.local_date(facts.extension_sent_at, facts.zone)
    chase_on = sent_on + timedelta(days=rules.extension_ack_missing_days)
    if today >= chase_on:
        return NextStep("chase_extension_ack", facts.expires_on, str(_(
            "Blink has not acknowledged the extension sent on %(date)s: chase them before the "
            "preservation expires on %(expires)s.") % {"date": _day(sent_on),
                                                       "expires": _day(facts.expires_on)}), YOURS)
    return NextStep("record_extension_receipt", chase_on, str(_(
        "Waiting for Blink to acknowledge the extension: record its date when it arrives (chase "
        "them from %(date)s).") % {"date": _day(chase_on)}), WAITING)


def _extended(facts, now, today, rules):
    if facts.final_expires_on is None:
        return _no_dates_yet()
    return NextStep("serve_legal_process", facts.final_expires_on, str(_(
        "Extended until %(date)s, and no further extension is possible: serve legal process "
        "before then.") % {"date": _day(facts.final_expires_on)}), YOURS)


def _legal_process_served(facts, now, today, rules):
    return NextStep("close", None, str(_(
        "Legal process served: close the request with the outcome when Amazon answers.")), WAITING)


def _lapsed(facts, now, today, rules):
    expiry = facts.final_expires_on or facts.expires_on
    if expiry is None:
        return NextStep("close", today, str(_("The preservation lapsed: close the request with its outcome.")), YOURS)
    return NextStep("close", today, str(_(
        "The preservation lapsed after %(date)s: close the request with its outcome.") % {
            "date": _day(expiry)}), YOURS)


def _no_dates_yet():
    """A sent request whose clock is not stored (yet): the legal process is still the way on."""
    return NextStep("serve_legal_process", None, str(_(
        "Preserved: serve legal process on Amazon before the preservation expires.")), YOURS)


_STEPS = {
    DRAFT: _draft,
    SUBMITTED: _submitted,
    PRESERVING: _preserving,
    EXTENSION_REQUESTED: _extension_requested,
    EXTENDED: _extended,
    LEGAL_PROCESS_SERVED: _legal_process_served,
    LAPSED: _lapsed,
}
