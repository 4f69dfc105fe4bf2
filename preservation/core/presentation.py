"""What the request pages show, computed from a request and its deadline report: the deadline
rows with their explanations, the urgency headline and the timeline drawn as inline SVG.
No ORM writes, no clock of its own: ``now`` is passed in.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from preservation.rules import deadlines

URGENCY_ICONS = {
    "lost": "✖",
    "losing": "⚠",
    "critical": "⚠",
    "high": "▲",
    "elevated": "●",
    "normal": "✓",
}
URGENCY_STYLES = {
    "lost": "dark",
    "losing": "danger",
    "critical": "danger",
    "high": "warning",
    "elevated": "info",
    "normal": "success",
}


def utc_text(instant):
    """“30 April 2026, 00:00 UTC”: Blink works in UTC, so the zone is always written out."""
    return "%s UTC" % date_format(instant.astimezone(UTC), "DATETIME_FORMAT")


def day_choices(counts):
    """Choices for a number of days, each labelled in the reader's language and number
    ("1 day", "30 days"). Call it when the form is built, not at import."""
    return [(n, ngettext("%(n)d day", "%(n)d days", n) % {"n": n}) for n in counts]


def _days_left_text(left):
    days = int(left / timedelta(days=1))
    if days < 1:
        hours = max(int(left / timedelta(hours=1)), 0)
        return ngettext("%(n)d hour left", "%(n)d hours left", hours) % {"n": hours}
    return ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}


def urgency_headline(retention, now):
    """One sentence a person reads first, e.g. “The oldest clip in this window is deleted on
    30 April 2026, 00:00 UTC: 9 days left (Elevated).”"""
    urgency = retention.urgency
    if urgency in (deadlines.Urgency.LOST, deadlines.Urgency.LOSING):
        return next(e.text for e in retention.explanations if e.code == "urgency")
    if now >= retention.first_loss_at:
        return _("The oldest clip in this window was deleted on %(at)s.") % {
            "at": utc_text(retention.first_loss_at)}
    values = {"at": utc_text(retention.first_loss_at), "left": _days_left_text(retention.first_loss_at - now)}
    codes = {e.code for e in retention.explanations}
    if urgency is None or (urgency == deadlines.Urgency.CRITICAL and "legacy_pool" in codes):
        # A legacy device makes it critical whatever the calendar says: say both, plainly.
        sentence = _("The oldest clip in this window is deleted on %(at)s: %(left)s.") % values
        reason = [e.text for e in retention.explanations if e.code == "urgency" and urgency is not None]
        return " ".join([str(sentence)] + reason)
    values["level"] = urgency.label
    return _("The oldest clip in this window is deleted on %(at)s: %(left)s (%(level)s).") % values


def local_midnight(day, zone):
    return datetime.combine(day, time()).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- Timeline ---------------------------------------------------------------------------------

WIDTH, LEFT, RIGHT = 1000, 20, 980
AXIS_Y, LABEL_ROWS, ROW_HEIGHT = 150, 5, 22


@dataclass(frozen=True)
class Mark:
    at: datetime
    label: str
    kind: str  # window, loss, sent, clock, today
    provisional: bool = False


def timeline_marks(preservation_request, now):
    """Every moment worth seeing on the request's timeline, as UTC instants."""
    zone = preservation_request.agency.time_zone
    provisional = preservation_request.deadlines_provisional
    candidates = [
        (preservation_request.window_start, _("Window starts"), "window", False),
        (preservation_request.window_end, _("Window ends"), "window", False),
        (preservation_request.first_loss_at, _("Oldest clip deleted"), "loss", False),
        (preservation_request.total_loss_at, _("Newest clip deleted"), "loss", False),
        (preservation_request.sent_at, _("Sent"), "sent", False),
        (preservation_request.extension_sent_at, _("Extension sent"), "sent", False),
    ]
    days = [
        (preservation_request.received_on, _("Received by Blink"), "sent", False),
        (preservation_request.extension_send_by, _("Send extension by"), "clock", provisional),
        (preservation_request.expires_on, _("Expires"), "clock", provisional),
        (preservation_request.final_expires_on, _("Final expiry"), "clock", provisional),
        (preservation_request.legal_process_served_on, _("Legal process served"), "sent", False),
    ]
    candidates += [(local_midnight(day, zone) if day else None, *rest) for day, *rest in days]
    marks = [Mark(at, str(label), kind, prov) for at, label, kind, prov in candidates if at]
    return sorted(marks + [Mark(now, str(_("Today")), "today")], key=lambda m: m.at)


def build_timeline(preservation_request, now):
    """Geometry of the SVG timeline (viewBox 1000 wide), or None when there is nothing to draw."""
    marks = timeline_marks(preservation_request, now)
    if len(marks) < 2:
        return None
    first, last = marks[0].at, marks[-1].at
    span = max((last - first).total_seconds(), 1)

    def x(instant):
        return round(LEFT + (RIGHT - LEFT) * (instant - first).total_seconds() / span, 1)

    placed = [_place(mark, x(mark.at), index) for index, mark in enumerate(marks)]
    return {
        "width": WIDTH,
        "height": AXIS_Y + 40,
        "axis_y": AXIS_Y,
        "left": LEFT,
        "right": RIGHT,
        "marks": placed,
        "bars": _bars(preservation_request, x),
        "start_text": date_format(first.astimezone(UTC), "SHORT_DATE_FORMAT"),
        "end_text": date_format(last.astimezone(UTC), "SHORT_DATE_FORMAT"),
    }


def _place(mark, x, index):
    label_y = 16 + (index % LABEL_ROWS) * ROW_HEIGHT
    anchor = "start" if x < WIDTH * 0.7 else "end"
    return {
        "x": x, "label_y": label_y, "line_top": label_y + 5, "anchor": anchor,
        "label": mark.label + (" *" if mark.provisional else ""),
        "date": date_format(mark.at.astimezone(UTC), "SHORT_DATE_FORMAT"),
        "kind": mark.kind, "provisional": mark.provisional,
    }


def _bars(preservation_request, x):
    zone = preservation_request.agency.time_zone
    bars = []
    if preservation_request.window_start and preservation_request.window_end:
        bars.append(("window", x(preservation_request.window_start), x(preservation_request.window_end), _("requested window")))
    if preservation_request.first_loss_at and preservation_request.total_loss_at:
        bars.append(("loss", x(preservation_request.first_loss_at), x(preservation_request.total_loss_at),
                     _("clips being deleted")))
    start = preservation_request.received_on or (preservation_request.sent_at and deadlines.local_date(preservation_request.sent_at, zone))
    end = preservation_request.final_expires_on or preservation_request.expires_on
    if start and end:
        bars.append(("preserved", x(local_midnight(start, zone)), x(local_midnight(end, zone)),
                     _("preservation")))
    return [
        {"kind": kind, "x": x1, "width": max(x2 - x1, 2), "label": label} for kind, x1, x2, label in bars
    ]


# --- Deadline rows ----------------------------------------------------------------------------

_DEADLINE_ROWS = (
    ("first_loss", "first_loss_at", _("Oldest requested clip deleted")),
    ("total_loss", "total_loss_at", _("Newest requested clip deleted")),
    ("extension_send_by", "extension_send_by", _("Send the extension by")),
    ("expires", "expires_on", _("Preservation expires")),
    ("final_expires", "final_expires_on", _("Extended preservation expires")),
)
_CLOCK_CODES = frozenset({"extension_send_by", "expires", "final_expires"})


def deadline_rows(preservation_request, report):
    """Each stored deadline with the sentence that explains it and whether it is provisional."""
    if report is None:
        return []
    explained = {e.code: e.text for e in report.retention.explanations}
    if report.clock:
        explained.update({e.code: e.text for e in report.clock.explanations})
    rows = []
    for code, field, label in _DEADLINE_ROWS:
        value = getattr(preservation_request, field)
        if value is None:
            continue
        provisional = code in _CLOCK_CODES and preservation_request.deadlines_provisional
        is_instant = isinstance(value, datetime)
        rows.append({
            "code": code, "label": label, "provisional": provisional,
            "value": utc_text(value) if is_instant else date_format(value, "DATE_FORMAT"),
            "explanation": explained.get(code, ""),
            "is_next": code == preservation_request.next_deadline_kind,
        })
    return rows


def other_explanations(report):
    """The explanations that are not one deadline's (retention rule, warnings, what receipt saved)."""
    if report is None:
        return []
    row_codes = {code for code, _field, _label in _DEADLINE_ROWS} | {"urgency"}
    everything = report.retention.explanations + (report.clock.explanations if report.clock else ())
    return [e.text for e in everything if e.code not in row_codes]
