"""Deadline and urgency rules for Blink preservation requests.

Pure rules (docs/deadlines.md, docs/blink.md §3-§5): no ORM and no clock of their own, `now` is always
passed in. Instants are aware and handled in UTC; calendar deadlines are dates, moved by whole
days (`timedelta`), never by months. Every result carries translated explanations
("received 2026-01-05 + 90 days = 2026-04-05") so the user can check each date.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

# --- Data types (docs/blink.md §5); the codes are stored in the database. ---------------------------

DATA_TYPES = (
    (
        "subscriber",
        _("Subscriber / account records"),
        _(
            "Account id, email, phone used for verification, creation date, region, "
            "subscription history, linked Amazon account."
        ),
    ),
    (
        "sign_ins",
        _("Authorised clients and sign-ins"),
        _("Phones and apps signed in, sign-in and verification events, IP addresses."),
    ),
    (
        "device_records",
        _("Device records"),
        _(
            "For each DSN: model, firmware, MAC and IP addresses, date added, heartbeats, "
            "online/offline history."
        ),
    ),
    (
        "video_clips",
        _("Video clips"),
        _("Motion and doorbell-press clips, including the legacy 7,200-second pool."),
    ),
    (
        "live_view",
        _("Saved Live View recordings"),
        _("Live View sessions saved to the cloud (subscription only, never on USB)."),
    ),
    ("thumbnails", _("Thumbnails and snapshots"), _("Still images taken by the cameras.")),
    (
        "event_metadata",
        _("Event / media metadata"),
        _("Clip ids, creation times, camera, source, deleted flags."),
    ),
    (
        "activity_logs",
        _("Command and activity logs"),
        _("Arm/disarm, Live View starts, settings changes, and who issued them."),
    ),
    (
        "local_storage_manifests",
        _("Local-storage manifests"),
        _("The Sync Module's list of the clips on the customer's own drive."),
    ),
)
CONTENT_DATA_TYPES = frozenset({"video_clips", "live_view", "thumbnails", "event_metadata"})
_DATA_TYPES_BY_CODE = {code: (label, text) for code, label, text in DATA_TYPES}


def data_type_label(code: str) -> str:
    return str(_data_type(code)[0])


def data_type_explanation(code: str) -> str:
    return str(_data_type(code)[1])


def _data_type(code):
    try:
        return _DATA_TYPES_BY_CODE[code]
    except KeyError:
        raise ValueError(f"unknown data type {code!r}") from None


# --- Retention (docs/blink.md §3) --------------------------------------------------------------------

STANDARD_RETENTION_DAYS = 60
SHORT_RETENTION_DAYS = 30
# Blink names no countries for its 30-day "UK/EU" rule, so the whole European set is 30 days.
SHORT_RETENTION_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "  # EU-27
    "GB IS LI NO CH MC AD SM VA "
    # Conservative additions: territories with their own ISO codes that sit inside the EU
    # (Åland, the outermost regions) or in the UK's orbit (Crown Dependencies, Gibraltar).
    # An account there may well be served as UK/EU, and 30 days is the safe assumption.
    "AX GP MQ GF RE YT MF JE GG IM GI".split()
)
# Every assigned ISO 3166-1 alpha-2 code. A value outside it ("UK", "EL", a typo) is treated as
# an unknown country, which gets the conservative 30 days instead of a wrong 60.
_ISO_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
# 60 is Blink's default; 3, 7, 14 and 30 are the shorter settings an owner can choose.
AUTO_DELETE_CHOICES = (3, 7, 14, 30, 60)


@dataclass(frozen=True)
class Explanation:
    code: str  # stable, for code and tests
    text: str  # translated sentence, for people

    def as_dict(self):
        return {"code": self.code, "text": str(self.text)}


def _explain(code, message, **values):
    # Formatting a lazy message renders it in the active language, once, here.
    return Explanation(code, str(message % values))


def retention_days(
    country: str | None, auto_delete_days: int | None
) -> tuple[int, list[Explanation]]:
    """Days a clip stays in Blink's cloud, with the reasons."""
    days, explanation = _region_retention(country)
    if auto_delete_days is None:
        return days, [explanation]
    if auto_delete_days not in AUTO_DELETE_CHOICES:
        raise ValueError(f"auto_delete_days must be one of {AUTO_DELETE_CHOICES}")
    if auto_delete_days < days:
        message = _(
            "The account's own auto-delete setting (%(days)d days) is shorter than "
            "%(region_days)d days, so it applies."
        )
    else:
        message = _(
            "The account's auto-delete setting (%(days)d days) cannot keep clips longer "
            "than %(region_days)d days."
        )
    auto_delete = _explain("auto_delete", message, days=auto_delete_days, region_days=days)
    return min(days, auto_delete_days), [explanation, auto_delete]


def _region_retention(country):
    code = (country or "").strip().upper()
    if code not in _ISO_COUNTRIES:
        message = _(
            "The account's country is not known, so the shorter %(days)d-day UK/EU "
            "retention is assumed."
        )
        days = SHORT_RETENTION_DAYS
        return days, _explain("unknown_country", message, days=days)
    if code in SHORT_RETENTION_COUNTRIES:
        message = _(
            "Accounts in %(country)s follow the UK/EU rule: clips are deleted %(days)d days "
            "after they are recorded."
        )
        days = SHORT_RETENTION_DAYS
    else:
        message = _(
            "Accounts in %(country)s follow the standard rule: clips are deleted %(days)d days "
            "after they are recorded."
        )
        days = STANDARD_RETENTION_DAYS
    return days, _explain("retention", message, country=code, days=days)


# --- Urgency ------------------------------------------------------------------------------------


class Urgency(str, Enum):
    LOST = "lost"
    LOSING = "losing"
    CRITICAL = "critical"
    HIGH = "high"
    ELEVATED = "elevated"
    NORMAL = "normal"

    @property
    def label(self):
        return _URGENCY_LABELS[self]

    @property
    def rank(self):
        return URGENCY_RANK[self]


_URGENCY_LABELS = {
    Urgency.LOST: _("Lost"),
    Urgency.LOSING: _("Losing"),
    Urgency.CRITICAL: _("Critical"),
    Urgency.HIGH: _("High"),
    Urgency.ELEVATED: _("Elevated"),
    Urgency.NORMAL: _("Normal"),
}
# Dashboard order, most urgent first. "lost" comes after "critical": nothing more can be saved
# by hurrying, while a critical request can still be saved.
URGENCY_RANK = {
    Urgency.LOSING: 0,
    Urgency.CRITICAL: 1,
    Urgency.LOST: 2,
    Urgency.HIGH: 3,
    Urgency.ELEVATED: 4,
    Urgency.NORMAL: 5,
}


@dataclass(frozen=True)
class Thresholds:
    critical_days: int = 3
    high_days: int = 7
    elevated_days: int = 14


def _level_by_time_left(left, thresholds):
    limits = (
        (thresholds.critical_days, Urgency.CRITICAL),
        (thresholds.high_days, Urgency.HIGH),
        (thresholds.elevated_days, Urgency.ELEVATED),
    )
    for days, level in limits:
        if left < timedelta(days=days):
            return level
    return Urgency.NORMAL


# --- Retention assessment (docs/deadlines.md "Retention urgency") ------------------------------------


@dataclass(frozen=True)
class RetentionAssessment:
    retention_days: int
    first_loss_at: datetime
    total_loss_at: datetime
    urgency: Urgency | None
    covered_from: datetime | None
    lost_until: datetime | None
    explanations: tuple[Explanation, ...]


def assess_retention(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    country: str | None = None,
    auto_delete_days: int | None = None,
    legacy: bool = False,
    content: bool = True,
    received_at: datetime | None = None,
    thresholds: Thresholds = Thresholds(),
) -> RetentionAssessment:
    start, end, now = _utc(start, "start"), _utc(end, "end"), _utc(now, "now")
    if start >= end:
        raise ValueError("start must be before end")
    days, explanations = retention_days(country, auto_delete_days)
    keep = timedelta(days=days)
    window = _Window(start, end, keep)
    explanations += _window_explanations(window, legacy=legacy, content=content)
    if received_at is None:
        urgency, explanation = _retention_urgency(window, now, legacy, content, thresholds)
        covered_from, lost_until, after = None, None, [explanation]
    else:
        urgency = None
        received_at = _utc(received_at, "received_at")
        covered_from, lost_until, after = _after_receipt(window, received_at, content)
    return RetentionAssessment(
        retention_days=days,
        first_loss_at=window.first_loss_at,
        total_loss_at=window.total_loss_at,
        urgency=urgency,
        covered_from=covered_from,
        lost_until=lost_until,
        explanations=tuple(explanations + after),
    )


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    keep: timedelta

    @property
    def first_loss_at(self):
        return self.start + self.keep

    @property
    def total_loss_at(self):
        return self.end + self.keep


_NON_CONTENT = _(
    "Only non-content records are requested: automatic clip deletion and the legacy video pool "
    "do not apply to them."
)
_LEGACY_POOL = _(
    "A legacy device (XT, XT2 or Indoor gen 1) is named: its clips share a rolling "
    "7,200-second pool and can be gone within days."
)
_LOST = _(
    "Lost: every requested clip passed automatic deletion by %(at)s. You can still file: "
    "exported copies or other data types may exist."
)
_LOSING = _(
    "Losing: clips recorded before %(cutoff)s are already deleted; clips from %(cutoff)s to "
    "%(end)s can still be preserved, and more are deleted every hour."
)


def _window_explanations(window, *, legacy, content):
    days = window.keep.days
    explanations = [
        _explain(
            "first_loss",
            _("Oldest requested clip: recorded %(start)s + %(days)d days = deleted %(at)s."),
            start=_moment(window.start),
            days=days,
            at=_moment(window.first_loss_at),
        ),
        _explain(
            "total_loss",
            _("Newest requested clip: recorded %(end)s + %(days)d days = deleted %(at)s."),
            end=_moment(window.end),
            days=days,
            at=_moment(window.total_loss_at),
        ),
    ]
    if not content:
        explanations.append(_explain("non_content", _NON_CONTENT))
    elif legacy:
        explanations.append(_explain("legacy_pool", _LEGACY_POOL))
    return explanations


_LEGACY_CRITICAL = _("Critical: a legacy device is named, so its clips can roll off at any time.")
_TIME_LEFT = _(
    "%(level)s: %(days_left).1f days left before the oldest requested clip is deleted at %(at)s."
)


def _retention_urgency(window, now, legacy, content, thresholds):
    # The clip rule and the legacy pool concern content only (docs/deadlines.md: "the urgency applies
    # to the content types"). The legacy pool holds video, not account or device records, so a
    # non-content request naming a legacy device stays normal: calling it critical would be a
    # false alarm that teaches people to ignore "critical".
    if not content:
        return Urgency.NORMAL, _explain("urgency", _("Normal: nothing requested expires by age."))
    if now >= window.total_loss_at:
        return Urgency.LOST, _explain("urgency", _LOST, at=_moment(window.total_loss_at))
    if now >= window.first_loss_at:
        cutoff = _moment(now - window.keep)
        return Urgency.LOSING, _explain("urgency", _LOSING, cutoff=cutoff, end=_moment(window.end))
    left = window.first_loss_at - now
    level = _level_by_time_left(left, thresholds)
    if legacy and level is not Urgency.CRITICAL:
        return Urgency.CRITICAL, _explain("urgency", _LEGACY_CRITICAL)
    days_left = left / timedelta(days=1)
    at = _moment(window.first_loss_at)
    return level, _explain("urgency", _TIME_LEFT, level=level.label, days_left=days_left, at=at)


_COVERED = _(
    "Blink received the request at %(received)s: clips recorded from %(covered_from)s to %(end)s "
    "are preserved."
)
_LOST_PART = _(
    "Clips recorded from %(start)s to %(lost_until)s had already been deleted when Blink received "
    "the request at %(received)s."
)


def _after_receipt(window, received_at, content):
    """What receipt preserved: covered [max(S, cutoff), E], lost [S, min(E, cutoff))."""
    if not content:
        return None, None, []  # no clips were asked for; "non_content" already says so
    cutoff = received_at - window.keep
    lost_until = min(window.end, cutoff) if window.start < cutoff else None
    # A clip recorded at E is deleted at E + R, the moment "lost" begins, so a receipt at that
    # moment (cutoff == E) preserved nothing: say so rather than claim a zero-length part.
    covered_from = max(window.start, cutoff) if cutoff < window.end else None
    received, explanations = _moment(received_at), []
    if covered_from is not None:
        explanations.append(_explain(
            "covered", _COVERED,
            received=received, covered_from=_moment(covered_from), end=_moment(window.end),
        ))
    if lost_until is not None:
        explanations.append(_explain(
            "lost_part", _LOST_PART,
            received=received, start=_moment(window.start), lost_until=_moment(lost_until),
        ))
    return covered_from, lost_until, explanations


# --- Preservation clock (docs/deadlines.md "Preservation clock") -------------------------------------


@dataclass(frozen=True)
class PreservationClock:
    received_on: date
    provisional: bool
    expires_on: date
    extension_send_by: date
    final_expires_on: date | None
    explanations: tuple[Explanation, ...]


def preservation_clock(
    *,
    received_on: date | None,
    sent_on: date | None,
    extended: bool = False,
    preservation_days: int = 90,
    lead_days: int = 7,
) -> PreservationClock | None:
    if received_on is None and sent_on is None:
        return None  # a draft: no clock has started
    provisional = received_on is None
    base = sent_on if provisional else received_on
    period = timedelta(days=preservation_days)
    expires_on = base + period
    send_by = expires_on - timedelta(days=lead_days)
    final = expires_on + period if extended else None
    return PreservationClock(
        received_on=base,
        provisional=provisional,
        expires_on=expires_on,
        extension_send_by=send_by,
        final_expires_on=final,
        explanations=_clock_explanations(base, provisional, expires_on, send_by, final),
    )


_PROVISIONAL = _(
    "Blink's receipt is not recorded yet: every date below counts from the sending date, "
    "%(date)s, and is provisional."
)
_EXPIRES_PROVISIONAL = _(
    "Preservation expires (provisional): sent %(date)s + %(days)d days = %(result)s."
)
_EXPIRES = _("Preservation expires: received %(date)s + %(days)d days = %(result)s.")
_SEND_BY = _("Send the extension by: expiry %(date)s - %(days)d days = %(result)s.")
_FINAL = _("Extended preservation expires: expiry %(date)s + %(days)d days = %(result)s.")


def _clock_explanations(base, provisional, expires_on, send_by, final):
    if provisional:
        first = _explain("provisional", _PROVISIONAL, date=_day(base))
    else:
        first = _explain("received", _("Blink received the request on %(date)s."), date=_day(base))
    period, lead = (expires_on - base).days, (expires_on - send_by).days
    expires = _EXPIRES_PROVISIONAL if provisional else _EXPIRES
    expiry = _day(expires_on)
    explanations = [
        first,
        _explain("expires", expires, date=_day(base), days=period, result=expiry),
        _explain("extension_send_by", _SEND_BY, date=expiry, days=lead, result=_day(send_by)),
    ]
    if final is not None:
        explanations.append(
            _explain("final_expires", _FINAL, date=expiry, days=period, result=_day(final))
        )
    return tuple(explanations)


def clock_urgency(
    *, deadline: date | None, today: date, thresholds: Thresholds = Thresholds()
) -> Urgency:
    """Urgency of a sent request from its next calendar deadline (a date in the agency zone)."""
    if deadline is None:
        return Urgency.NORMAL
    if deadline < today:
        return Urgency.LOST
    return _level_by_time_left(deadline - today, thresholds)


# --- Time zones ---------------------------------------------------------------------------------


def local_date(instant: datetime, zone: str | ZoneInfo) -> date:
    """The calendar date of `instant` in `zone`: "today" for the agency, not the UTC date."""
    return _utc(instant, "instant").astimezone(_zone(zone)).date()


def local_to_utc(naive_local: datetime, zone: str | ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time typed in `zone`.

    fold=0 (PEP 495) decides the two impossible cases. A repeated time (clocks going back)
    takes the earlier instant, so every deadline derived from it comes earlier, never later.
    A skipped time (clocks going forward) is read with the offset in force before the change,
    which lands as far past the change as the typed time is past the start of the gap: the
    person most likely read a clock that had not been changed yet.
    """
    if naive_local.tzinfo is not None:
        raise ValueError("local_to_utc expects a naive wall-clock time")
    return naive_local.replace(tzinfo=_zone(zone), fold=0).astimezone(UTC)


def reminder_moment(day: date, zone: str | ZoneInfo, hour: int = 8) -> datetime:
    """`hour`:00 local on `day` as a UTC instant; if that wall time is skipped, the first
    instant after it (the end of the gap), so a reminder never fires later than needed."""
    return _first_instant_at_or_after(datetime.combine(day, time(hour)), _zone(zone))


def _first_instant_at_or_after(wall, tz):
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall_time(instant, tz) == wall:
        return instant
    # zoneinfo does not expose its transitions, so bisect between the two readings of the
    # skipped time: the later offset gives an instant before the change, the earlier one after.
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    while instant - before > timedelta(microseconds=1):
        middle = before + (instant - before) // 2
        if _wall_time(middle, tz) < wall:
            before = middle
        else:
            instant = middle
    return instant


def _wall_time(instant, tz):
    return instant.astimezone(tz).replace(tzinfo=None)


def _zone(zone):
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def _utc(value, name):
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


# --- Report (the what-if calculator, and what the app stores on each request) -------------------


@dataclass(frozen=True)
class DeadlineReport:
    retention: RetentionAssessment
    clock: PreservationClock | None

    def as_dict(self) -> dict:
        retention, clock = self.retention, self.clock
        explanations = retention.explanations + (clock.explanations if clock else ())
        return {
            "retention_days": retention.retention_days,
            "first_loss_at": format_instant(retention.first_loss_at),
            "total_loss_at": format_instant(retention.total_loss_at),
            "urgency": retention.urgency.value if retention.urgency else None,
            "covered_from": _optional(format_instant, retention.covered_from),
            "lost_until": _optional(format_instant, retention.lost_until),
            "expires_on": _optional(_day, clock and clock.expires_on),
            "extension_send_by": _optional(_day, clock and clock.extension_send_by),
            "final_expires_on": _optional(_day, clock and clock.final_expires_on),
            "provisional": clock.provisional if clock else None,
            "explanations": [explanation.as_dict() for explanation in explanations],
        }


def _optional(render, value):
    return None if value is None else render(value)


def compute_report(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    country: str | None = None,
    auto_delete_days: int | None = None,
    legacy: bool = False,
    content: bool = True,
    received_at: datetime | None = None,
    received_on: date | None = None,
    sent_on: date | None = None,
    extended: bool = False,
    zone: str | ZoneInfo = "UTC",
    thresholds: Thresholds = Thresholds(),
    preservation_days: int = 90,
    lead_days: int = 7,
) -> DeadlineReport:
    tz = _zone(zone)
    if received_at is not None and received_on is None:
        received_on = local_date(received_at, tz)
    assumed = None
    if received_at is None and received_on is not None:
        received_at, assumed = _assumed_receipt(received_on, tz)
    retention = assess_retention(
        start=start, end=end, now=now, country=country, auto_delete_days=auto_delete_days,
        legacy=legacy, content=content, received_at=received_at, thresholds=thresholds,
    )
    if assumed is not None:
        retention = _with_assumption(retention, assumed)
    clock = preservation_clock(
        received_on=received_on, sent_on=sent_on, extended=extended,
        preservation_days=preservation_days, lead_days=lead_days,
    )
    return DeadlineReport(retention=retention, clock=clock)


def _assumed_receipt(received_on, tz):
    # Only the date is known. The later Blink received it, the less was still stored, so take
    # the end of that local day (the start of the next): the preserved part is never overstated.
    # (The start of the day would claim up to a day of clips that may already have been gone.)
    next_midnight = datetime.combine(received_on + timedelta(days=1), time())
    instant = _first_instant_at_or_after(next_midnight, tz)
    explanation = _explain("received_time_unknown", _(
        "The time of receipt is not recorded: the end of %(date)s (%(zone)s) is assumed, so "
        "the preserved part is not overstated."
    ), date=_day(received_on), zone=str(tz))
    return instant, explanation


def _with_assumption(retention, assumed):
    # State the assumption just before the sentences that rely on it.
    explanations = list(retention.explanations)
    codes = [explanation.code for explanation in explanations]
    relying = [codes.index(code) for code in ("covered", "lost_part") if code in codes]
    explanations.insert(min(relying, default=len(explanations)), assumed)
    return replace(retention, explanations=tuple(explanations))


# --- Formatting ---------------------------------------------------------------------------------


def format_instant(dt: datetime) -> str:
    """ISO 8601 in UTC with "Z", e.g. "2026-04-30T00:00:00Z" (microseconds only if present)."""
    return _utc(dt, "dt").replace(tzinfo=None).isoformat() + "Z"


def _day(day):
    return day.isoformat()


def _moment(instant):
    # For sentences: minutes are enough unless the instant has seconds of its own.
    pattern = "%Y-%m-%d %H:%M:%S UTC" if instant.second else "%Y-%m-%d %H:%M UTC"
    return instant.astimezone(UTC).strftime(pattern)
