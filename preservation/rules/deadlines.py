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

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from preservation.rules import catalogue

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


class Explanation:
    """One sentence explaining a date: ``code`` stable, for code and tests; ``text`` translated,
    for people. The text is formatted when first read, in the language that was active when
    the explanation was made: most reports are computed only to store their dates (every
    recompute), and formatting every sentence was most of the cost of computing one."""

    __slots__ = ("code", "_message", "_values", "_language", "_text")

    def __init__(self, code, text=None, *, message=None, values=None):
        self.code = code
        self._text = None if text is None else str(text)
        self._message, self._values = message, values or {}
        self._language = translation.get_language()

    @property
    def text(self):
        if self._text is None:
            with translation.override(self._language):
                self._text = str(self._message % self._values)
        return self._text

    def __eq__(self, other):
        return isinstance(other, Explanation) and (self.code, self.text) == (other.code, other.text)

    def __hash__(self):
        return hash((self.code, self.text))

    def __repr__(self):
        return "Explanation(code=%r, text=%r)" % (self.code, self.text)

    def as_dict(self):
        return {"code": self.code, "text": self.text}


def _explain(code, message, **values):
    # The lazy message is rendered in the active language when the text is first read.
    return Explanation(code, message=message, values=values)


_AUTO_DELETE_SHORTER = _(
    "The account's own auto-delete setting (%(days)d days) is shorter than "
    "%(region_days)d days, so it applies."
)


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
        message = _AUTO_DELETE_SHORTER
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


_RETENTION_UNKNOWN = _(
    "%(provider)s publishes no retention period, so the shortest known, %(period)s, is assumed."
)
_RETENTION_REGION = _("%(provider)s keeps clips of accounts in %(country)s for %(period)s.")
_RETENTION_UNKNOWN_COUNTRY = _(
    "The account's country is not known, so the shortest of %(provider)s's retention periods, "
    "%(period)s, is assumed."
)
_RETENTION_CUSTOMER = _(
    "The period also depends on the account holder's plan or settings at %(provider)s, which "
    "are not known here."
)


def provider_retention(
    provider: catalogue.Provider, country: str | None, auto_delete_days: int | None = None
) -> tuple[timedelta, list[Explanation]]:
    """How long `provider` keeps a clip of an account in `country`, with the reasons.
    Blink's is ``retention_days``; a fact not published gives the shortest known retention."""
    if provider.code == catalogue.BLINK.code:
        days, explanations = retention_days(country, auto_delete_days)
        return timedelta(days=days), explanations
    if provider.retention is None:
        keep = catalogue.SHORTEST_KNOWN_RETENTION
        return keep, [_explain("retention_unknown", _RETENTION_UNKNOWN, provider=provider.name,
                               period=period_text(keep))]
    keep, explanation = _provider_region_retention(provider, country)
    explanations = [explanation]
    if auto_delete_days is not None and timedelta(days=auto_delete_days) < keep:
        explanations.append(_explain("auto_delete", _AUTO_DELETE_SHORTER, days=auto_delete_days,
                                     region_days=keep.days))
        keep = timedelta(days=auto_delete_days)
    elif provider.customer_configurable:
        explanations.append(_explain("customer_setting", _RETENTION_CUSTOMER, provider=provider.name))
    return keep, explanations


def _provider_region_retention(provider, country):
    code = (country or "").strip().upper()
    if code not in _ISO_COUNTRIES:
        keep = min([provider.retention] + [rule.retention for rule in provider.region_rules])
        return keep, _explain("unknown_country", _RETENTION_UNKNOWN_COUNTRY, provider=provider.name,
                              period=period_text(keep))
    keep = next((rule.retention for rule in provider.region_rules
                 if code in _region_countries(rule.countries)), provider.retention)
    return keep, _explain("retention", _RETENTION_REGION, provider=provider.name, country=code,
                          period=period_text(keep))


def _region_countries(name):
    return SHORT_RETENTION_COUNTRIES if name == catalogue.BLINK_UK_EU else catalogue.REGION_SETS[name]


def period_text(period: timedelta) -> str:
    """ "60 days", "3 hours": a retention period in words, in the active language."""
    if period % timedelta(days=1):
        hours = int(period / timedelta(hours=1))
        return ngettext_lazy("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext_lazy("%(n)d day", "%(n)d days", period.days) % {"n": period.days}


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
    retention: timedelta | None = None  # exact, for retention shorter than a day


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
    retention: tuple[timedelta, list[Explanation]] | None = None,
    provider_name: str = catalogue.BLINK.name,
) -> RetentionAssessment:
    """Urgency before receipt and what receipt preserved. ``retention`` is another provider's
    (``provider_retention``); without it, Blink's rule for ``country`` and ``auto_delete_days``."""
    start, end, now = _utc(start, "start"), _utc(end, "end"), _utc(now, "now")
    if start >= end:
        raise ValueError("start must be before end")
    if retention is None:
        days, explanations = retention_days(country, auto_delete_days)
        keep = timedelta(days=days)
    else:
        keep, explanations = retention[0], list(retention[1])
        days = keep.days
    window = _Window(start, end, keep)
    explanations += _window_explanations(window, legacy=legacy, content=content)
    if received_at is None:
        urgency, explanation = _retention_urgency(window, now, legacy, content, thresholds)
        covered_from, lost_until, after = None, None, [explanation]
    else:
        urgency = None
        received_at = _utc(received_at, "received_at")
        covered_from, lost_until, after = _after_receipt(window, received_at, content, provider_name)
    return RetentionAssessment(
        retention_days=days,
        retention=keep,
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
_FIRST_LOSS = _("Oldest requested clip: recorded %(start)s + %(days)d days = deleted %(at)s.")
_TOTAL_LOSS = _("Newest requested clip: recorded %(end)s + %(days)d days = deleted %(at)s.")
_FIRST_LOSS_PERIOD = _("Oldest requested clip: recorded %(start)s + %(period)s = deleted %(at)s.")
_TOTAL_LOSS_PERIOD = _("Newest requested clip: recorded %(end)s + %(period)s = deleted %(at)s.")
_LOST = _(
    "Lost: every requested clip passed automatic deletion by %(at)s. You can still file: "
    "exported copies or other data types may exist."
)
_LOSING = _(
    "Losing: clips recorded before %(cutoff)s are already deleted; clips from %(cutoff)s to "
    "%(end)s can still be preserved, and more are deleted every hour."
)


def _window_explanations(window, *, legacy, content):
    if window.keep % timedelta(days=1):
        first, total, values = _FIRST_LOSS_PERIOD, _TOTAL_LOSS_PERIOD, {"period": period_text(window.keep)}
    else:
        first, total, values = _FIRST_LOSS, _TOTAL_LOSS, {"days": window.keep.days}
    explanations = [
        _explain("first_loss", first, start=_moment(window.start), at=_moment(window.first_loss_at), **values),
        _explain("total_loss", total, end=_moment(window.end), at=_moment(window.total_loss_at), **values),
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
    "%(provider)s received the request at %(received)s: clips recorded from %(covered_from)s to %(end)s "
    "are preserved."
)
_LOST_PART = _(
    "Clips recorded from %(start)s to %(lost_until)s had already been deleted when %(provider)s "
    "received the request at %(received)s."
)


def _after_receipt(window, received_at, content, provider_name):
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
            "covered", _COVERED, provider=provider_name,
            received=received, covered_from=_moment(covered_from), end=_moment(window.end),
        ))
    if lost_until is not None:
        explanations.append(_explain(
            "lost_part", _LOST_PART, provider=provider_name,
            received=received, start=_moment(window.start), lost_until=_moment(lost_until),
        ))
    return covered_from, lost_until, explanations


# --- Preservation clock (docs/deadlines.md "Preservation clock"; docs/providers.md §4) 


@dataclass(frozen=True)
class NationalOrder:
    """The agency's national preservation order: its days and how often it may be renewed."""

    days: int = catalogue.NATIONAL_ORDER_DEFAULT_DAYS
    renewals: int = catalogue.NATIONAL_ORDER_DEFAULT_RENEWALS


@dataclass(frozen=True)
class ClockTerms:
    days: int
    extensions: int
    extension_days: int
    explanations: tuple[Explanation, ...]


_VOLUNTARY_DAYS_UNKNOWN = _(
    "%(provider)s publishes no preservation period, so the shortest known period, %(days)d "
    "days, is assumed."
)
_VOLUNTARY_EXTENSION_UNKNOWN = _(
    "%(provider)s publishes no extension, so none is assumed."
)
_TERMS = _("%(basis)s: %(days)d days from receipt.")
_VOLUNTARY_TERMS = _("Voluntary request under %(provider)s's own policy: %(days)d days from receipt.")


def clock_terms(
    basis: catalogue.LegalBasis, provider: catalogue.Provider, national: NationalOrder = NationalOrder()
) -> ClockTerms:
    """Days, extensions and extension length of the clock: the legal basis decides them; only a
    voluntary request follows the provider's policy, whose unknown parts never lengthen it."""
    if basis.code == catalogue.NATIONAL_ORDER:
        days, extensions, extension_days = national.days, national.renewals, national.days
    elif basis.code == catalogue.VOLUNTARY:
        return _voluntary_terms(basis, provider)
    else:
        days, extensions, extension_days = basis.preservation_days, basis.extensions, basis.extension_days or 0
    explanations = ()
    if basis.code != catalogue.US_2703F:
        explanations = (_explain("basis", _TERMS, basis=basis.name, days=days),)
    return ClockTerms(days, extensions, extension_days, explanations)


def _voluntary_terms(basis, provider):
    days = provider.preservation_days
    if days is None:
        days = catalogue.SHORTEST_KNOWN_PRESERVATION_DAYS
        explanations = [_explain("preservation_unknown", _VOLUNTARY_DAYS_UNKNOWN,
                                 provider=provider.name, days=days)]
    else:
        explanations = [_explain("basis", _VOLUNTARY_TERMS, provider=provider.name, days=days)]
    extensions, extension_days = provider.extensions or 0, provider.extension_days or 0
    if not (extensions and extension_days):
        extensions, extension_days = 0, 0
        explanations.append(_explain("extension_unknown", _VOLUNTARY_EXTENSION_UNKNOWN,
                                     provider=provider.name))
    return ClockTerms(days, extensions, extension_days, tuple(explanations))


@dataclass(frozen=True)
class PreservationClock:
    received_on: date
    provisional: bool
    expires_on: date
    extension_send_by: date | None  # None when the basis allows no extension
    final_expires_on: date | None  # after the extensions received; None before one, or until production
    explanations: tuple[Explanation, ...]
    basis: str = catalogue.US_2703F
    provider: str = catalogue.BLINK.code
    extensions_received: int = 0
    until_production: bool = False
    production_due_at: datetime | None = None


@dataclass(frozen=True)
class ProductionOrder:
    """A European Production Order the provider received (the EPOC-PR's follow-up)."""

    received_at: datetime
    emergency: bool = False


def preservation_clock(
    *,
    received_on: date | None,
    sent_on: date | None,
    extended: bool = False,
    preservation_days: int = 90,
    lead_days: int = 7,
) -> PreservationClock | None:
    """Blink under § 2703(f), the clock every request had before providers and bases were data."""
    return basis_clock(basis=us_2703f(preservation_days), provider=catalogue.BLINK, received_on=received_on, sent_on=sent_on,
                       extensions_received=int(extended), lead_days=lead_days)


def us_2703f(days: int = 90) -> catalogue.LegalBasis:
    """§ 2703(f) with its period set (90 days in the statute; other periods for "what if")."""
    return replace(catalogue.legal_basis(catalogue.US_2703F), preservation_days=days, extension_days=days)


def basis_clock(
    *,
    basis: catalogue.LegalBasis,
    provider: catalogue.Provider,
    received_on: date | None,
    sent_on: date | None,
    extensions_received: int = 0,
    production_confirmed_on: date | None = None,
    production_order: ProductionOrder | None = None,
    national: NationalOrder = NationalOrder(),
    lead_days: int = 7,
) -> PreservationClock | None:
    """Expiry, extension-by and final dates of one request (docs/providers.md §4)."""
    if received_on is None and sent_on is None:
        return None  # a draft: no clock has started
    if extensions_received < 0:
        raise ValueError("extensions_received must not be negative")
    terms = clock_terms(basis, provider, national)
    provisional = received_on is None
    base = sent_on if provisional else received_on
    expires_on = base + timedelta(days=terms.days)
    counted = min(extensions_received, terms.extensions)
    expiries = [expires_on + timedelta(days=terms.extension_days * n) for n in range(counted + 1)]
    send_by = None
    if terms.extensions:
        # The next extension's send-by date; once all are used, the last one's.
        expiry_before_next = expiries[min(counted, terms.extensions - 1)]
        send_by = expiry_before_next - timedelta(days=lead_days)
    final = expiries[-1] if counted else None
    explanations = [*terms.explanations,
                    *_clock_explanations(basis, provider, base, provisional, terms, expiries, send_by, lead_days)]
    if basis.applies_from and base < basis.applies_from:
        explanations.insert(0, _explain("not_in_force", _NOT_IN_FORCE, basis=basis.short_name,
                                        date=_day(basis.applies_from)))
    if extensions_received > counted:
        explanations.append(_explain("extension_not_counted", _NOT_COUNTED, basis=basis.short_name,
                                     count=extensions_received, allowed=terms.extensions))
    until_production = False
    if basis.until_production and production_confirmed_on is not None:
        until_production, explanation = _until_production(production_confirmed_on, expiries[-1])
        explanations.append(explanation)
        final = None if until_production else final
    due_at = None
    if basis.production_days and production_order is not None:
        due_at, explanation = _production_due(basis, production_order)
        explanations.append(explanation)
    return PreservationClock(
        received_on=base, provisional=provisional, expires_on=expires_on, extension_send_by=send_by,
        final_expires_on=final, explanations=tuple(explanations), basis=basis.code,
        provider=provider.code, extensions_received=counted, until_production=until_production,
        production_due_at=due_at,
    )


_PROVISIONAL = _(
    "%(provider)s's receipt is not recorded yet: every date below counts from the sending date, "
    "%(date)s, and is provisional."
)
_RECEIVED = _("%(provider)s received the request on %(date)s.")
_EXPIRES_PROVISIONAL = _(
    "Preservation expires (provisional): sent %(date)s + %(days)d days = %(result)s."
)
_EXPIRES = _("Preservation expires: received %(date)s + %(days)d days = %(result)s.")
_EXPIRES_UNDER_PROVISIONAL = _(
    "Preservation expires (provisional): %(basis)s sent %(date)s + %(days)d days = %(result)s."
)
_EXPIRES_UNDER = _("Preservation expires: %(basis)s received %(date)s + %(days)d days = %(result)s.")
_SEND_BY = _("Send the extension by: expiry %(date)s - %(days)d days = %(result)s.")
_FINAL = _("Extended preservation expires: expiry %(date)s + %(days)d days = %(result)s.")
_FINAL_RENEWED = _(
    "Preservation expires after %(count)d renewals: expiry %(date)s + %(count)d × %(days)d days "
    "= %(result)s."
)
_NOT_IN_FORCE = _("%(basis)s applies only from %(date)s: check the basis of this request.")
_NO_EXTENSION = _("%(basis)s: no extension is assumed; preservation ends on %(date)s.")
_NOT_COUNTED = _(
    "%(count)d extensions are recorded but %(basis)s allows %(allowed)d: the others do not "
    "lengthen the clock."
)
_UNTIL_PRODUCTION = _(
    "The issuing authority confirmed on %(date)s that a production order was issued: "
    "preservation continues until the data are produced."
)
_CONFIRMED_LATE = _(
    "The production order was confirmed on %(date)s, after preservation ended on %(expiry)s: "
    "the confirmation does not revive it."
)
_PRODUCTION_DUE = _("Production order received %(at)s + %(days)d days = answer due %(due)s.")
_PRODUCTION_DUE_EMERGENCY = _(
    "Emergency production order received %(at)s + %(hours)d hours = answer due %(due)s."
)


def _clock_explanations(basis, provider, base, provisional, terms, expiries, send_by, lead_days):
    expires_on, plain = expiries[0], basis.code == catalogue.US_2703F
    if provisional:
        first = _explain("provisional", _PROVISIONAL, provider=provider.name, date=_day(base))
        expires = _EXPIRES_PROVISIONAL if plain else _EXPIRES_UNDER_PROVISIONAL
    else:
        first = _explain("received", _RECEIVED, provider=provider.name, date=_day(base))
        expires = _EXPIRES if plain else _EXPIRES_UNDER
    expiry = _day(expires_on)
    explanations = [
        first,
        _explain("expires", expires, basis=basis.short_name, date=_day(base), days=terms.days, result=expiry),
    ]
    if send_by is None:
        explanations.append(_explain("no_extension", _NO_EXTENSION, basis=basis.short_name, date=expiry))
    else:
        before = _day(send_by + timedelta(days=lead_days))
        explanations.append(_explain("extension_send_by", _SEND_BY, date=before, days=lead_days,
                                     result=_day(send_by)))
    count = len(expiries) - 1
    if count == 1:
        explanations.append(_explain("final_expires", _FINAL, date=expiry, days=terms.extension_days,
                                     result=_day(expiries[-1])))
    elif count > 1:
        explanations.append(_explain("final_expires", _FINAL_RENEWED, count=count, date=expiry,
                                     days=terms.extension_days, result=_day(expiries[-1])))
    return explanations


def _until_production(confirmed_on, last_expiry):
    if confirmed_on > last_expiry:
        return False, _explain("production_confirmed_late", _CONFIRMED_LATE,
                               date=_day(confirmed_on), expiry=_day(last_expiry))
    return True, _explain("until_production", _UNTIL_PRODUCTION, date=_day(confirmed_on))


def _production_due(basis, order):
    received_at = _utc(order.received_at, "production_order.received_at")
    if order.emergency:
        due = received_at + timedelta(hours=basis.production_emergency_hours)
        return due, _explain("production_due", _PRODUCTION_DUE_EMERGENCY, at=_moment(received_at),
                             hours=basis.production_emergency_hours, due=_moment(due))
    due = received_at + timedelta(days=basis.production_days)
    return due, _explain("production_due", _PRODUCTION_DUE, at=_moment(received_at),
                         days=basis.production_days, due=_moment(due))


def clock_urgency(
    *, deadline: date | None, today: date, thresholds: Thresholds = Thresholds()
) -> Urgency:
    """Urgency of a sent request from its next calendar deadline (a date in the agency zone)."""
    if deadline is None:
        return Urgency.NORMAL
    if deadline < today:
        return Urgency.LOST
    return _level_by_time_left(deadline - today, thresholds)


# Moments at which an urgency changes with time alone (docs/deadlines.md "Urgency refresh"):
# the refresh recomputes a request only then, so each is the first moment the new value holds.
_JUST_AFTER = timedelta(microseconds=1)


def retention_urgency_changes_at(
    *, first_loss_at: datetime, total_loss_at: datetime, now: datetime, content: bool = True,
    thresholds: Thresholds = Thresholds(),
) -> datetime | None:
    """The first moment after ``now`` at which a draft's retention urgency (and its next
    deadline, the oldest or newest clip's deletion) may differ from its value at ``now``: a
    threshold of time left crossed (the level holds from just after ``first_loss_at - N
    days``), the oldest clip deleted (losing), the newest (lost). None: it never changes."""
    if not content:
        return None  # always normal
    days = (thresholds.critical_days, thresholds.high_days, thresholds.elevated_days)
    moments = [first_loss_at - timedelta(days=n) + _JUST_AFTER for n in days] + [first_loss_at, total_loss_at]
    return min((m for m in moments if m > now), default=None)


def clock_urgency_changes_on(
    *, deadline: date | None, today: date, thresholds: Thresholds = Thresholds()
) -> date | None:
    """The first day after ``today`` on which ``clock_urgency`` of ``deadline`` differs: the
    day fewer than N days are left, for each threshold N, and the day after the deadline
    (lost). None: it never changes."""
    if deadline is None:
        return None
    days = (thresholds.critical_days, thresholds.high_days, thresholds.elevated_days)
    changes = [deadline - timedelta(days=n - 1) for n in days] + [deadline + timedelta(days=1)]
    return min((d for d in changes if d > today), default=None)


def start_of_day(day: date, zone: str | ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone`` (UTC), when its "today" begins."""
    return _first_instant_at_or_after(datetime.combine(day, time()), _zone(zone))


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


class SkippedTime(ValueError):
    """A wall-clock time the clocks jump over (docs/dates.md "Clock changes")."""

    def __init__(self, wall, zone, suggestion):
        super().__init__("%s does not exist in %s" % (wall, zone))
        self.wall, self.zone, self.suggestion = wall, zone, suggestion


class AmbiguousTime(ValueError):
    """A wall-clock time that happens twice (clocks going back): ``options`` are the earlier
    and the later instant, both UTC."""

    def __init__(self, wall, zone, options):
        super().__init__("%s happens twice in %s" % (wall, zone))
        self.wall, self.zone, self.options = wall, zone, options


EARLIER, LATER = "earlier", "later"
# Which of the two readings of a repeated local hour (the clock set back) is meant.
CLOCK_CHANGE_OFFSETS = (EARLIER, LATER)


def resolve_wall_time(naive_local: datetime, zone: str | ZoneInfo, offset: str | None = None) -> datetime:
    """The UTC instant of a wall-clock time typed in ``zone``, refusing to guess at a clock
    change: a skipped time raises SkippedTime naming the time it most likely meant (as far
    past the change as the typed time is past the start of the gap, what ``local_to_utc``
    reads); a repeated time raises AmbiguousTime unless ``offset`` (EARLIER or LATER) says
    which of the two is meant."""
    if naive_local.tzinfo is not None:
        raise ValueError("resolve_wall_time expects a naive wall-clock time")
    tz = _zone(zone)
    first, second = naive_local.replace(tzinfo=tz, fold=0), naive_local.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    earlier, later = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    if _wall_time(earlier, tz) != naive_local:
        raise SkippedTime(naive_local, str(zone), first.astimezone(UTC))
    if offset in (EARLIER, LATER):
        return earlier if offset == EARLIER else later
    raise AmbiguousTime(naive_local, str(zone), (earlier, later))


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
    provider: str = catalogue.BLINK.code
    basis: str = catalogue.US_2703F

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

    def as_full_dict(self) -> dict:
        """``as_dict`` plus the provider, the legal basis and what only some bases have."""
        clock = self.clock
        return {
            **self.as_dict(),
            "provider": self.provider,
            "legal_basis": self.basis,
            "retention_hours": int(self.retention.retention / timedelta(hours=1)),
            "extensions_received": clock.extensions_received if clock else None,
            "until_production": clock.until_production if clock else None,
            "production_due_at": _optional(format_instant, clock and clock.production_due_at),
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
    provider: catalogue.Provider = catalogue.BLINK,
    basis: catalogue.LegalBasis | None = None,
    extensions_received: int | None = None,
    production_confirmed_on: date | None = None,
    production_order: ProductionOrder | None = None,
    national: NationalOrder = NationalOrder(),
) -> DeadlineReport:
    """Retention and clock of one request. Without ``basis``, § 2703(f) with
    ``preservation_days``; ``extensions_received`` (or ``extended``, one) counts extensions."""
    tz = _zone(zone)
    if received_at is not None and received_on is None:
        received_on = local_date(received_at, tz)
    assumed = None
    if received_at is None and received_on is not None:
        received_at, assumed = _assumed_receipt(received_on, tz)
    retention = assess_retention(
        start=start, end=end, now=now, country=country, auto_delete_days=auto_delete_days,
        legacy=legacy and provider.code == catalogue.BLINK.code, content=content,
        received_at=received_at, thresholds=thresholds,
        retention=provider_retention(provider, country, auto_delete_days), provider_name=provider.name,
    )
    if assumed is not None:
        retention = _with_assumption(retention, assumed)
    basis = basis or us_2703f(preservation_days)
    clock = basis_clock(
        basis=basis, provider=provider, received_on=received_on, sent_on=sent_on,
        extensions_received=int(extended) if extensions_received is None else extensions_received,
        production_confirmed_on=production_confirmed_on, production_order=production_order,
        national=national, lead_days=lead_days,
    )
    return DeadlineReport(retention=retention, clock=clock, provider=provider.code, basis=basis.code)


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
