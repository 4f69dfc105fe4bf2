"""Reading dates back from what people read (docs/dates.md), for the date oracle: a date or an
instant written in one of the four languages, parsed into a ``date`` or a UTC ``datetime``."""
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.dates import MONTHS
from django.utils.formats import get_format


def _pattern(format_string):
    """A regular expression for a Django date format (the letters Preserve's formats use)."""
    months = "|".join(sorted((re.escape(str(name)) for name in MONTHS.values()), key=len, reverse=True))
    parts = {"j": r"(?P<day>\d{1,2})", "d": r"(?P<day>\d{2})", "F": r"(?P<month>%s)" % months,
             "Y": r"(?P<year>\d{4})", "H": r"(?P<hour>\d{2})", "i": r"(?P<minute>\d{2})"}
    out, escaped = [], False
    for char in format_string:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(parts.get(char, re.escape(char)))
    return "".join(out)


class DateReader:
    """Finds and reads every date and instant written in ``language``."""

    def __init__(self, language):
        with translation.override(language):
            self.month_numbers = {str(name).lower(): number for number, name in MONTHS.items()}
            instant = _pattern(get_format("DATETIME_FORMAT")) + r" (?P<abbr>(?-i:[A-Z]{2,5})|[+-]\d{2,4})\b"
            self.instant = re.compile(instant, re.I)
            self.day = re.compile(_pattern(get_format("DATE_FORMAT")), re.I)

    def _date(self, match):
        return date(int(match["year"]), self.month_numbers[match["month"].lower()], int(match["day"]))

    def instants(self, text, zone):
        """Every instant written in ``text`` (local with abbreviation) as UTC; one written under
        an abbreviation the zone never uses at that wall time raises ValueError."""
        return [self.read_instant(m, zone) for m in self.instant.finditer(text)]

    def read_instant(self, match, zone):
        wall = datetime.combine(self._date(match), datetime.min.time()).replace(
            hour=int(match["hour"]), minute=int(match["minute"]))
        zone = UTC if match["abbr"] == "UTC" else ZoneInfo(zone)
        for fold in (0, 1):
            candidate = wall.replace(tzinfo=zone, fold=fold)
            back = candidate.astimezone(UTC).astimezone(zone)
            if candidate.tzname() == match["abbr"] and back.replace(tzinfo=None) == wall:
                return candidate.astimezone(UTC)
        raise ValueError("%s is not a %s wall time in %s" % (wall, match["abbr"], zone))

    def dates(self, text):
        """Every date written in ``text`` (instants' dates included: read them first to drop)."""
        return [self._date(m) for m in self.day.finditer(text)]

    def dates_only(self, text):
        """Dates that are not part of an instant."""
        return self.dates(self.instant.sub(" ", text))


def minute(instant):
    """Pages write minutes: the instant as they show it."""
    return instant.replace(second=0, microsecond=0) if instant else instant


def within_minute(read, expected):
    return abs(read - expected) < timedelta(minutes=1)
