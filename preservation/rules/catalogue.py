"""The provider catalogue and the legal bases, as data (docs/providers.md).

Pure data and pure lookups: no ORM. The rows here are the shipped version of the catalogue; the
data migration copies them into the database, where platform staff correct them in the admin
(``models.providers``). Every fact carries its source and the date it was last verified; a fact
nobody has found published is ``None`` and reads "not published", and the clock engine
(``clocks.py``) then takes the conservative choice: the shortest known retention, no extension.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

# --- Identifier types (identifiers.py checks each) ---------------------------------------------

BLINK_SERIAL = "blink_serial"
MAC = "mac"
EMAIL = "email"
PHONE = "phone"
TEXT = "text"
IDENTIFIER_TYPES = (
    (BLINK_SERIAL, _("Blink device serial number")),
    (MAC, _("MAC address")),
    (EMAIL, _("Account email")),
    (PHONE, _("Phone number")),
    (TEXT, _("Other identifier (free text)")),
)
IDENTIFIER_LABELS = dict(IDENTIFIER_TYPES)

# --- Regions -----------------------------------------------------------------------------------

EU_MEMBERS = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
# EU Regulation 2023/1543 does not bind Denmark (recital 96).
EPOC_PR_STATES = EU_MEMBERS - {"DK"}
# Ring's older guidelines: "EU/EEA, Swiss and UK addresses".
EEA_CH_UK = EU_MEMBERS | frozenset("IS LI NO CH GB".split())
# Blink names no countries for its "UK/EU" rule (deadlines.SHORT_RETENTION_COUNTRIES).
BLINK_UK_EU = "blink_uk_eu"
REGION_SETS = {"eea_ch_uk": EEA_CH_UK}


@dataclass(frozen=True)
class Source:
    """Where a fact was read, and the day somebody last checked it there."""

    text: str
    verified_on: date | None  # None: not published anywhere we know of

    def as_dict(self):
        return {"text": self.text, "verified_on": self.verified_on and self.verified_on.isoformat()}


NOT_PUBLISHED = Source("not published", None)
# The day the facts below were last checked against their sources (docs/providers.md §2).
CHECKED = date(2026, 12, 3)

BLINK_PAGE = Source("Blink support: data preservation request page", CHECKED)
BLINK_RETENTION = Source("Blink support: cloud storage and clip retention (60 days; 30 for UK/EU accounts)", CHECKED)
BLINK_AUTO_DELETE = Source("Blink support: auto-delete settings (3, 7, 14, 30 or 60 days)", CHECKED)
RING_GUIDELINES = Source("Ring law-enforcement guidelines, newest version (support article)", CHECKED)
RING_OLD_GUIDELINES = Source("Ring law-enforcement guidelines, earlier versions (support articles)", CHECKED)
NEST_SCHEMA = Source("Google data-portability schema for Nest video history; Google transparency help", CHECKED)
NEST_PORTAL = Source("Google transparency report help: law-enforcement request system", CHECKED)
SIMPLISAFE_2023 = Source("SimpliSafe legal: law-enforcement requests (2023 text)", CHECKED)
SIMPLISAFE_2025 = Source("SimpliSafe legal: law-enforcement requests (2025 text)", CHECKED)


@dataclass(frozen=True)
class RegionRule:
    countries: str  # a key of REGION_SETS, or BLINK_UK_EU
    retention: timedelta


@dataclass(frozen=True)
class Provider:
    """One provider's facts. ``None`` means not published; ``sources`` names one per fact."""

    code: str
    name: str
    web_form_url: str = ""
    portal_url: str = ""
    email: str = ""
    identifier_types: tuple[str, ...] = (TEXT,)
    retention: timedelta | None = None  # default cloud retention
    region_rules: tuple[RegionRule, ...] = ()
    customer_configurable: bool | None = None
    customer_max_retention: timedelta | None = None
    preservation_days: int | None = None
    extensions: int | None = None
    extension_days: int | None = None
    reference_pattern: str = ""  # the provider's acknowledgement reference, when published
    notes: str = ""
    sources: dict = field(default_factory=dict)

    def source(self, fact):
        return self.sources.get(fact, NOT_PUBLISHED)


BLINK = Provider(
    code="blink",
    name="Blink",
    web_form_url="https://support.blinkforhome.com/en_US/data-preservation-request",
    identifier_types=(BLINK_SERIAL, EMAIL),
    retention=timedelta(days=60),
    region_rules=(RegionRule(BLINK_UK_EU, timedelta(days=30)),),
    customer_configurable=True,
    customer_max_retention=timedelta(days=60),
    preservation_days=90,
    extensions=1,
    extension_days=90,
    notes="Legal process is served on Amazon; a legacy device (XT, XT2, Indoor gen 1) shares a "
          "7,200-second video pool.",
    sources={
        "submission": BLINK_PAGE, "identifier_types": BLINK_PAGE, "retention": BLINK_RETENTION,
        "region_rules": BLINK_RETENTION, "customer_configurable": BLINK_AUTO_DELETE,
        "customer_max_retention": BLINK_AUTO_DELETE, "preservation_days": BLINK_PAGE,
        "extensions": BLINK_PAGE, "extension_days": BLINK_PAGE,
    },
)
RING = Provider(
    code="ring",
    name="Ring",
    portal_url="Amazon law-enforcement request portal",
    identifier_types=(MAC, EMAIL, PHONE),
    retention=timedelta(days=60),
    region_rules=(RegionRule("eea_ch_uk", timedelta(days=30)),),
    customer_configurable=True,
    notes="Earlier guidelines: up to 60 days (180 for some legacy users), 30 days for EU/EEA, "
          "Swiss and UK addresses; newest guidelines: the customer sets the retention period. "
          "Earlier requests went by email.",
    sources={
        "submission": RING_GUIDELINES, "identifier_types": RING_GUIDELINES,
        "retention": RING_OLD_GUIDELINES, "region_rules": RING_OLD_GUIDELINES,
        "customer_configurable": RING_GUIDELINES,
    },
)
GOOGLE_NEST = Provider(
    code="google_nest",
    name="Google Nest",
    portal_url="Google law-enforcement request system (per-officer accounts with 2-step verification)",
    identifier_types=(EMAIL,),
    # Without a subscription; with one, 30 or 60 days by plan.
    retention=timedelta(hours=3),
    customer_configurable=True,
    customer_max_retention=timedelta(days=60),
    notes="Video history: 3 hours without a subscription, 30 to 60 days with one. A secondary "
          "guide says 90 + 90 days of preservation; Google publishes no period.",
    sources={
        "submission": NEST_PORTAL, "identifier_types": NEST_PORTAL, "retention": NEST_SCHEMA,
        "customer_configurable": NEST_SCHEMA, "customer_max_retention": NEST_SCHEMA,
    },
)
SIMPLISAFE = Provider(
    code="simplisafe",
    name="SimpliSafe",
    web_form_url="SimpliSafe online law-enforcement request form",
    identifier_types=(EMAIL, PHONE, TEXT),
    preservation_days=90,
    notes="Preserves pending legal process; earlier requests went by email, fax or mail. "
          "Which subscriber details identify an account is not published.",
    sources={
        "submission": SIMPLISAFE_2025, "preservation_days": SIMPLISAFE_2023,
    },
)
OTHER = Provider(
    code="other",
    name=_("Other provider"),
    identifier_types=(TEXT, EMAIL, PHONE, MAC),
    notes="Filled in per request; nothing about its retention or preservation is known.",
)
PROVIDERS = (BLINK, RING, GOOGLE_NEST, SIMPLISAFE, OTHER)
PROVIDERS_BY_CODE = {provider.code: provider for provider in PROVIDERS}

# The conservative stand-ins for a fact that is not published (docs/providers.md §3).
# The shortest retention any catalogued provider publishes: Google Nest without a subscription.
SHORTEST_KNOWN_RETENTION = min(p.retention for p in PROVIDERS if p.retention is not None)
# The shortest preservation period any legal basis or provider publishes: the EPOC-PR's 60 days.
SHORTEST_KNOWN_PRESERVATION_DAYS = 60


# --- Legal bases ---------------------------------------------------------------------------------

US_2703F = "us_2703f"
EPOC_PR = "eu_epoc_pr"
NATIONAL_ORDER = "national_order"
VOLUNTARY = "voluntary"
CYBERTIPLINE = "cybertipline"


@dataclass(frozen=True)
class LegalBasis:
    code: str
    name: str
    short_name: str
    preservation_days: int | None  # None: the provider's own policy (voluntary) or the agency's
    extensions: int
    extension_days: int | None
    until_production: bool = False  # preservation continues once a production order is confirmed
    production_days: int | None = None
    production_emergency_hours: int | None = None
    applies_from: date | None = None
    source: Source = NOT_PUBLISHED


STATUTE = Source("18 U.S.C. § 2703(f)(2), statute text", CHECKED)
REGULATION = Source("Regulation (EU) 2023/1543, CELEX 32023R1543, Art. 10, 11 and Annex II", CHECKED)
BUDAPEST = Source("Convention on Cybercrime (Budapest), art. 16(2)", CHECKED)
REPORT_ACT = Source("REPORT Act, Pub. L. 118-59 (2024), 18 U.S.C. § 2258A(h)", CHECKED)

LEGAL_BASES = (
    LegalBasis(US_2703F, _("United States: 18 U.S.C. § 2703(f)"), _("§ 2703(f)"), 90, 1, 90, source=STATUTE),
    LegalBasis(
        EPOC_PR, _("European Preservation Order (Regulation (EU) 2023/1543)"), _("EPOC-PR"), 60, 1, 30,
        until_production=True, production_days=10, production_emergency_hours=8,
        applies_from=date(2026, 8, 18), source=REGULATION,
    ),
    # Days and renewals are the agency's (Agency.national_order_days / _renewals).
    LegalBasis(NATIONAL_ORDER, _("National preservation order"), _("national order"), None, 1, None, source=BUDAPEST),
    LegalBasis(VOLUNTARY, _("Voluntary request under the provider's own policy"), _("voluntary request"), None, 0, None),
    # "Provider may keep longer": not assumed. One year as 365 days, never 366.
    LegalBasis(CYBERTIPLINE, _("CyberTipline report (REPORT Act)"), _("CyberTipline"), 365, 0, None, source=REPORT_ACT),
)
LEGAL_BASES_BY_CODE = {basis.code: basis for basis in LEGAL_BASES}
NATIONAL_ORDER_DEFAULT_DAYS = 90
NATIONAL_ORDER_DEFAULT_RENEWALS = 1


def default_basis_code(country: str) -> str:
    """An agency's default basis: US agencies § 2703(f), EU agencies (not Denmark) the EPOC-PR,
    everyone else a voluntary request under the provider's policy."""
    country = (country or "").upper()
    if country == "US":
        return US_2703F
    if country in EPOC_PR_STATES:
        return EPOC_PR
    return VOLUNTARY


def provider(code: str) -> Provider:
    try:
        return PROVIDERS_BY_CODE[code]
    except KeyError:
        raise ValueError(f"unknown provider {code!r}") from None


def legal_basis(code: str) -> LegalBasis:
    try:
        return LEGAL_BASES_BY_CODE[code]
    except KeyError:
        raise ValueError(f"unknown legal basis {code!r}") from None
