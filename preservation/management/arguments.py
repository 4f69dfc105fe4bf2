"""Argument parsing shared by the management commands."""
from datetime import UTC, datetime

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
    if parsed.tzinfo is None:
        return deadlines.local_to_utc(parsed, zone)
    return parsed.astimezone(UTC)
