"""Argument parsing shared by the management commands."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from preservation.rules import deadlines


def instant_argument(value, zone):
    """An ISO 8601 date-time as aware UTC; without an offset it is read as wall-clock time in
    ``zone`` (``Z`` and ``+hh:mm`` are honoured)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandError(_("Not an ISO 8601 date-time: %(value)s") % {"value": value}) from exc
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    try:
        return deadlines.resolve_wall_time(parsed, zone)
    except deadlines.SkippedTime as error:
        # The suggestion is written as an argument that can be pasted back (docs/dates.md).
        raise CommandError(_("%(value)s does not exist in %(zone)s: the clocks go forward then. Did you mean "
                             "%(valid)s?") % {"value": value, "zone": zone, "valid": _with_offset(error.suggestion, zone)})
    except deadlines.AmbiguousTime as error:
        earlier, later = (_with_offset(option, zone) for option in error.options)
        raise CommandError(_("%(value)s happens twice in %(zone)s: the clocks go back then. Say which one with "
                             "its offset: %(earlier)s or %(later)s.") % {
                                 "value": value, "zone": zone, "earlier": earlier, "later": later})


def _with_offset(instant, zone):
    """“2026-11-01T01:30-04:00 (EDT)”: an ISO time with its offset, and the zone's abbreviation."""
    local = instant.astimezone(ZoneInfo(zone))
    return "%s (%s)" % (local.isoformat(timespec="minutes"), local.tzname())
