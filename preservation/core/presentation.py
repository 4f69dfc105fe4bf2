"""What the request pages show, computed from a request and its deadline report: the deadline
rows with their explanations, the urgency headline and the timeline drawn as inline SVG.
No ORM writes, no clock of its own: ``now`` is passed in.
"""
import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from preservation.models import PreservationRequest
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


# --- Plain <option> lists ------------------------------------------------------------------------


def _escaped(value):
    """conditional_escape(value) as a plain string: a safe string as it is, anything else escaped."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def fill_html(template, *args):
    """format_html(template, *args), the same string, without its machinery per argument (a
    lazy-object check around each escape): each argument escaped unless it is safe already.
    The dashboard's rows fill some 700 values a page (bench/dashboard.py)."""
    return mark_safe(template.format(*map(_escaped, args)))


def options_html(choices, chosen):
    """``<option value="…"[ selected]>…</option>`` for each (value, label), value and label escaped:
    the same bytes as format_html_join gives, without its machinery per argument (the intake
    form's zone and country lists are some 800 options, bench/_profile_pages.py). ``chosen``:
    the selected values, as strings."""
    return mark_safe("".join(
        '<option value="%s"%s>%s</option>' % (_escaped(value), " selected" if str(value) in chosen else "",
                                               _escaped(label))
        for value, label in choices))


# --- Dates and times as people read them (docs/dates.md) ---------------------------------------


def utc_text(instant):
    """“30 April 2026, 00:00 UTC”: Blink works in UTC, so the zone is always written out."""
    return "%s UTC" % date_format(instant.astimezone(UTC), "DATETIME_FORMAT")


def instant_text(instant, zone):
    """“1 December 2026, 21:00 EST”: the wall clock of ``zone`` with the abbreviation in force
    at that instant (EST in winter, EDT in summer), never a bare time under a zone's name."""
    local = instant.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    return "%s %s" % (date_format(local, "DATETIME_FORMAT"), local.tzname())


def instant_utc_text(instant, zone):
    """An instant Blink also reads: local with its abbreviation, and UTC beside it
    (once only when the zone is UTC)."""
    local = instant_text(instant, zone)
    utc = utc_text(instant)
    return utc if local == utc else "%s (%s)" % (local, utc)


def day_text(day):
    """A calendar date (already a date in the agency's zone): “30 January 2027”."""
    return date_format(day, "DATE_FORMAT")


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


def urgency_headline(retention, now, zone="UTC"):
    """One sentence a person reads first, e.g. “The oldest clip in this window is deleted on
    29 April 2026, 20:00 EDT (30 April 2026, 00:00 UTC): 9 days left (Elevated).”"""
    urgency = retention.urgency
    at = instant_utc_text(retention.first_loss_at, zone)
    if urgency in (deadlines.Urgency.LOST, deadlines.Urgency.LOSING):
        return next(e.text for e in retention.explanations if e.code == "urgency")
    if now >= retention.first_loss_at:
        return _("The oldest clip in this window was deleted on %(at)s.") % {"at": at}
    values = {"at": at, "left": _days_left_text(retention.first_loss_at - now)}
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


# --- Clock changes (docs/dates.md) ------------------------------------------------------------

SKIPPED_TIME = _("%(time)s does not exist in %(zone)s: the clocks go forward then. Did you mean %(valid)s?")
AMBIGUOUS_TIME = _("%(time)s happens twice in %(zone)s: the clocks go back then. Say which one: %(earlier)s "
                   "or %(later)s.")


def clock_change_error(error):
    """The message for a wall time at a clock change (docs/dates.md "Clock changes")."""
    values = {"time": date_format(error.wall, "DATETIME_FORMAT"), "zone": error.zone}
    if isinstance(error, deadlines.SkippedTime):
        return ValidationError(SKIPPED_TIME, code="time_skipped",
                               params={**values, "valid": instant_text(error.suggestion, error.zone)})
    earlier, later = (instant_text(option, error.zone) for option in error.options)
    return ValidationError(AMBIGUOUS_TIME, code="time_ambiguous", params={**values, "earlier": earlier, "later": later})


def wall_to_utc(naive, zone, offset=None):
    """A typed wall time as UTC, or a ValidationError saying what is wrong at a clock change."""
    try:
        return deadlines.resolve_wall_time(naive, zone, offset)
    except (deadlines.SkippedTime, deadlines.AmbiguousTime) as error:
        raise clock_change_error(error) from None
    except (OverflowError, ValueError):
        raise ValidationError(_("This date is out of range."), code="out_of_range") from None


# --- Timeline ---------------------------------------------------------------------------------

WIDTH, LEFT, RIGHT = 1000, 20, 980
AXIS_Y, LABEL_ROWS, ROW_HEIGHT = 150, 5, 22


@dataclass(frozen=True)
class Mark:
    at: datetime
    label: str
    kind: str  # window, loss, sent, clock, today
    provisional: bool = False
    day: date | None = None  # the calendar date written beside the mark (docs/dates.md)


def timeline_marks(preservation_request, now):
    """Every moment worth seeing on the request's timeline, as UTC instants, each with the date
    written beside it: an instant's date in the request's zone, a calendar deadline's own date."""
    zone, request_zone = preservation_request.agency.time_zone, preservation_request.window_zone
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
    marks = [Mark(at, str(label), kind, prov, deadlines.local_date(at, request_zone))
             for at, label, kind, prov in candidates if at]
    marks += [Mark(local_midnight(day, zone), str(label), kind, prov, day) for day, label, kind, prov in days if day]
    today = Mark(now, str(_("Today")), "today", day=deadlines.local_date(now, request_zone))
    return sorted(marks + [today], key=lambda m: m.at)


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
        "start_text": day_text(marks[0].day),
        "end_text": day_text(marks[-1].day),
        "zone": preservation_request.window_zone,
    }


def _place(mark, x, index):
    label_y = 16 + (index % LABEL_ROWS) * ROW_HEIGHT
    anchor = "start" if x < WIDTH * 0.7 else "end"
    return {
        "x": x, "label_y": label_y, "line_top": label_y + 5, "anchor": anchor,
        "label": mark.label + (" *" if mark.provisional else ""),
        "date": day_text(mark.day),
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
    """Each stored deadline with the sentence that explains it and whether it is provisional:
    deletion moments in the request's zone with UTC beside, clock deadlines as dates."""
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
            "value": instant_utc_text(value, preservation_request.window_zone) if is_instant else day_text(value),
            "explanation": explained.get(code, ""),
            "is_next": code == preservation_request.next_deadline_kind,
        })
    return rows


def next_deadline_text(preservation_request):
    """The page header's next deadline, written exactly as its row in the deadline table."""
    field = dict((code, field) for code, field, _label in _DEADLINE_ROWS).get(preservation_request.next_deadline_kind)
    value = field and getattr(preservation_request, field)
    if value is None or value == "":
        return ""
    return instant_utc_text(value, preservation_request.window_zone) if isinstance(value, datetime) else day_text(value)


def other_explanations(report):
    """The explanations that are not one deadline's (retention rule, warnings, what receipt saved)."""
    if report is None:
        return []
    row_codes = {code for code, _field, _label in _DEADLINE_ROWS} | {"urgency"}
    everything = report.retention.explanations + (report.clock.explanations if report.clock else ())
    return [e.text for e in everything if e.code not in row_codes]


# --- Corrections in the history ------------------------------------------------------------


def correction_lines(event, zone):
    """“Received by Blink on: 20 April 2026 → 21 April 2026” for each fact a correction changed,
    written by the rule for its kind (docs/dates.md)."""
    lines = []
    for name, values in (event.data or {}).items():
        field = PreservationRequest._meta.get_field(name)
        lines.append("%s: %s → %s" % (
            field.verbose_name, _fact_for_people(field, values["from"], zone), _fact_for_people(field, values["to"], zone)))
    return lines


def _fact_for_people(field, text, zone):
    if field.get_internal_type() == "DateTimeField":
        return instant_text(datetime.fromisoformat(text.replace("Z", "+00:00")), zone)
    if field.get_internal_type() == "DateField":
        return day_text(date.fromisoformat(text))
    return str(dict(field.choices).get(text, text)) if field.choices else text
