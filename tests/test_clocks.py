"""The clock engine for every legal basis and provider: the worked examples of docs/providers.md,
a table of basis × provider, and properties (no date before receipt; an extension never
shortens; an unknown fact never lengthens)."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preservation.rules import catalogue
from preservation.rules.catalogue import (
    BLINK,
    CYBERTIPLINE,
    EPOC_PR,
    GOOGLE_NEST,
    NATIONAL_ORDER,
    OTHER,
    PROVIDERS,
    RING,
    SIMPLISAFE,
    US_2703F,
    VOLUNTARY,
    legal_basis,
)
from preservation.rules.deadlines import NationalOrder, ProductionOrder, basis_clock, compute_report, preservation_clock, provider_retention

properties = settings(database=None, deadline=None, max_examples=150)
RECEIVED = date(2026, 9, 1)


def clock(basis, provider, **options):
    options.setdefault("received_on", RECEIVED)
    options.setdefault("sent_on", None)
    return basis_clock(basis=legal_basis(basis), provider=provider, **options)


def texts(result):
    return {explanation.code: explanation.text for explanation in result.explanations}


# --- Worked examples (docs/providers.md §5) ----------------------------------------


def test_blink_under_2703f_gives_exactly_the_clock_it_gave_before():
    new = clock(US_2703F, BLINK, extensions_received=1)
    old = preservation_clock(received_on=RECEIVED, sent_on=None, extended=True)
    assert new == old
    assert (new.expires_on, new.extension_send_by, new.final_expires_on) == (
        date(2026, 11, 30), date(2026, 11, 23), date(2027, 2, 28))
    assert [e.code for e in new.explanations] == ["received", "expires", "extension_send_by", "final_expires"]
    assert texts(new)["received"] == "Blink received the request on 2026-09-01."


def test_blink_under_epoc_pr_expires_after_60_days():
    result = clock(EPOC_PR, BLINK)
    assert (result.expires_on, result.extension_send_by, result.final_expires_on) == (
        date(2026, 10, 31), date(2026, 10, 24), None)
    assert "EPOC-PR received 2026-09-01 + 60 days = 2026-10-31" in texts(result)["expires"]


def test_blink_under_epoc_pr_with_the_30_day_extension():
    result = clock(EPOC_PR, BLINK, extensions_received=1)
    assert result.final_expires_on == date(2026, 11, 30)
    assert "2026-10-31 + 30 days = 2026-11-30" in texts(result)["final_expires"]


def test_blink_under_epoc_pr_with_a_confirmed_production_order_runs_until_production():
    order = ProductionOrder(received_at=datetime(2026, 10, 20, 9, tzinfo=UTC))
    result = clock(EPOC_PR, BLINK, extensions_received=1, production_confirmed_on=date(2026, 10, 20),
                   production_order=order)
    assert result.until_production and result.final_expires_on is None
    assert result.production_due_at == datetime(2026, 10, 30, 9, tzinfo=UTC)
    assert "until the data are produced" in texts(result)["until_production"]
    assert "+ 10 days = answer due 2026-10-30 09:00 UTC" in texts(result)["production_due"]


def test_an_emergency_production_order_is_due_in_8_hours():
    order = ProductionOrder(received_at=datetime(2026, 10, 20, 9, tzinfo=UTC), emergency=True)
    result = clock(EPOC_PR, BLINK, production_order=order)
    assert result.production_due_at == datetime(2026, 10, 20, 17, tzinfo=UTC)
    assert not result.until_production  # receiving an order is not the authority's confirmation


def test_a_production_order_confirmed_after_expiry_does_not_revive_preservation():
    result = clock(EPOC_PR, BLINK, production_confirmed_on=date(2026, 11, 1))
    assert not result.until_production
    assert "does not revive it" in texts(result)["production_confirmed_late"]


def test_ring_with_a_mac_and_an_unknown_preservation_period_gets_60_days_and_no_extension():
    result = clock(VOLUNTARY, RING)
    assert (result.expires_on, result.extension_send_by, result.final_expires_on) == (
        date(2026, 10, 31), None, None)
    assert "Ring publishes no preservation period" in texts(result)["preservation_unknown"]
    assert "none is assumed" in texts(result)["extension_unknown"]


def test_ring_under_epoc_pr_follows_the_regulation_not_the_unknown_policy():
    result = clock(EPOC_PR, RING)
    assert result.expires_on == date(2026, 10, 31) and result.extension_send_by == date(2026, 10, 24)


def test_google_nest_with_an_account_email_under_2703f_and_its_3_hour_video_history():
    result = clock(US_2703F, GOOGLE_NEST, extensions_received=1)
    assert (result.expires_on, result.final_expires_on) == (date(2026, 11, 30), date(2027, 2, 28))
    keep, explanations = provider_retention(GOOGLE_NEST, "US")
    assert keep == timedelta(hours=3)
    assert "3 hours" in explanations[0].text


def test_a_national_order_with_two_renewals():
    result = clock(NATIONAL_ORDER, OTHER, national=NationalOrder(days=90, renewals=2), extensions_received=2)
    assert (result.expires_on, result.extension_send_by, result.final_expires_on) == (
        date(2026, 11, 30), date(2027, 2, 21), date(2027, 5, 29))
    assert "2026-11-30 + 2 × 90 days = 2027-05-29" in texts(result)["final_expires"]


def test_a_national_order_counts_no_more_renewals_than_the_agency_allows():
    result = clock(NATIONAL_ORDER, OTHER, extensions_received=2)  # default: 90 days, 1 renewal
    assert result.final_expires_on == date(2027, 2, 28) and result.extensions_received == 1
    assert "not_counted" in "".join(texts(result))


def test_a_cybertipline_report_is_preserved_for_365_days_without_extension():
    result = clock(CYBERTIPLINE, RING)
    assert result.expires_on == date(2027, 9, 1) and result.extension_send_by is None


def test_simplisafe_voluntary_uses_its_90_days_and_assumes_no_extension():
    result = clock(VOLUNTARY, SIMPLISAFE, extensions_received=1)
    assert result.expires_on == date(2026, 11, 30) and result.final_expires_on is None


def test_an_epoc_pr_received_before_18_august_2026_is_flagged():
    result = clock(EPOC_PR, BLINK, received_on=date(2026, 8, 17))
    assert "applies only from 2026-08-18" in texts(result)["not_in_force"]


def test_a_provisional_clock_names_the_provider():
    result = clock(EPOC_PR, RING, received_on=None, sent_on=RECEIVED)
    assert result.provisional
    assert texts(result)["provisional"].startswith("Ring's receipt is not recorded yet")


# --- Basis × provider table ------------------------------------------------------------------------

# (basis, provider, extensions received) -> (expires, send extension by, final)
TABLE = [
    (US_2703F, BLINK, 0, ("2026-11-30", "2026-11-23", None)),
    (US_2703F, BLINK, 1, ("2026-11-30", "2026-11-23", "2027-02-28")),
    (US_2703F, RING, 1, ("2026-11-30", "2026-11-23", "2027-02-28")),
    (US_2703F, GOOGLE_NEST, 0, ("2026-11-30", "2026-11-23", None)),
    (US_2703F, SIMPLISAFE, 0, ("2026-11-30", "2026-11-23", None)),
    (US_2703F, OTHER, 0, ("2026-11-30", "2026-11-23", None)),
    (EPOC_PR, BLINK, 1, ("2026-10-31", "2026-10-24", "2026-11-30")),
    (EPOC_PR, RING, 0, ("2026-10-31", "2026-10-24", None)),
    (EPOC_PR, GOOGLE_NEST, 1, ("2026-10-31", "2026-10-24", "2026-11-30")),
    (EPOC_PR, SIMPLISAFE, 0, ("2026-10-31", "2026-10-24", None)),
    (EPOC_PR, OTHER, 0, ("2026-10-31", "2026-10-24", None)),
    (NATIONAL_ORDER, BLINK, 1, ("2026-11-30", "2026-11-23", "2027-02-28")),
    (NATIONAL_ORDER, RING, 0, ("2026-11-30", "2026-11-23", None)),
    (NATIONAL_ORDER, GOOGLE_NEST, 0, ("2026-11-30", "2026-11-23", None)),
    (NATIONAL_ORDER, SIMPLISAFE, 0, ("2026-11-30", "2026-11-23", None)),
    (NATIONAL_ORDER, OTHER, 0, ("2026-11-30", "2026-11-23", None)),
    (VOLUNTARY, BLINK, 1, ("2026-11-30", "2026-11-23", "2027-02-28")),
    (VOLUNTARY, RING, 0, ("2026-10-31", None, None)),
    (VOLUNTARY, GOOGLE_NEST, 0, ("2026-10-31", None, None)),
    (VOLUNTARY, SIMPLISAFE, 1, ("2026-11-30", None, None)),
    (VOLUNTARY, OTHER, 0, ("2026-10-31", None, None)),
    (CYBERTIPLINE, BLINK, 0, ("2027-09-01", None, None)),
    (CYBERTIPLINE, RING, 0, ("2027-09-01", None, None)),
    (CYBERTIPLINE, GOOGLE_NEST, 0, ("2027-09-01", None, None)),
    (CYBERTIPLINE, SIMPLISAFE, 0, ("2027-09-01", None, None)),
    (CYBERTIPLINE, OTHER, 0, ("2027-09-01", None, None)),
]


@pytest.mark.parametrize(("basis", "provider", "extensions", "expected"), TABLE,
                         ids=[f"{b}-{p.code}-{n}" for b, p, n, _e in TABLE])
def test_each_basis_and_provider_received_on_1_september_2026(basis, provider, extensions, expected):
    result = clock(basis, provider, extensions_received=extensions)
    got = (result.expires_on, result.extension_send_by, result.final_expires_on)
    assert tuple(day and day.isoformat() for day in got) == expected
    assert all(e.text for e in result.explanations)


# (provider, country) -> retention
RETENTION = [
    (BLINK, "US", timedelta(days=60)),
    (BLINK, "DE", timedelta(days=30)),
    (BLINK, None, timedelta(days=30)),
    (RING, "US", timedelta(days=60)),
    (RING, "CH", timedelta(days=30)),
    (RING, "NO", timedelta(days=30)),
    (RING, "UK", timedelta(days=30)),  # not an ISO code: unknown country, the shorter period
    (GOOGLE_NEST, "US", timedelta(hours=3)),
    (GOOGLE_NEST, "DE", timedelta(hours=3)),
    (SIMPLISAFE, "US", timedelta(hours=3)),  # not published: the shortest known
    (OTHER, "FR", timedelta(hours=3)),
]


@pytest.mark.parametrize(("provider", "country", "expected"), RETENTION,
                         ids=[f"{p.code}-{c}" for p, c, _e in RETENTION])
def test_retention_by_provider_and_account_country(provider, country, expected):
    assert provider_retention(provider, country)[0] == expected


def test_a_ring_account_with_a_known_shorter_setting_uses_it():
    keep, explanations = provider_retention(RING, "US", auto_delete_days=14)
    assert keep == timedelta(days=14) and explanations[-1].code == "auto_delete"


def test_urgency_of_a_nest_draft_counts_the_3_hours():
    start = datetime(2026, 9, 1, 10, tzinfo=UTC)
    report = compute_report(start=start, end=start + timedelta(hours=1), now=start + timedelta(hours=2),
                            provider=GOOGLE_NEST, country="US")
    assert report.retention.first_loss_at == start + timedelta(hours=3)
    assert report.retention.urgency.value == "critical"
    assert "+ 3 hours = deleted" in {e.code: e.text for e in report.retention.explanations}["first_loss"]
    assert report.as_full_dict()["retention_hours"] == 3


def test_the_full_report_adds_fields_and_keeps_the_old_ones():
    start = datetime(2026, 8, 25, tzinfo=UTC)
    old = compute_report(start=start, end=start + timedelta(days=1), now=start, country="US",
                         received_on=RECEIVED)
    new = compute_report(start=start, end=start + timedelta(days=1), now=start, country="US",
                         received_on=RECEIVED, provider=BLINK, basis=legal_basis(US_2703F))
    full = new.as_full_dict()
    assert {key: full[key] for key in old.as_dict()} == old.as_dict()
    assert (full["provider"], full["legal_basis"], full["until_production"]) == ("blink", "us_2703f", False)


@pytest.mark.parametrize(("country", "expected"), [
    ("US", US_2703F), ("DE", EPOC_PR), ("FR", EPOC_PR), ("DK", VOLUNTARY), ("GB", VOLUNTARY),
    ("CH", VOLUNTARY), ("", VOLUNTARY),
])
def test_default_basis_by_agency_country(country, expected):
    assert catalogue.default_basis_code(country) == expected


def test_every_known_catalogue_fact_names_a_source_and_a_verified_date():
    facts = ("retention", "region_rules", "customer_max_retention", "preservation_days", "extensions",
             "extension_days")
    for provider in PROVIDERS:
        for fact in facts:
            value = getattr(provider, fact)
            if value not in (None, ()):
                assert provider.source(fact).verified_on, (provider.code, fact)
            else:
                assert provider.source(fact) is catalogue.NOT_PUBLISHED
        assert provider.reference_pattern == ""  # no provider publishes its reference format


# --- Properties ------------------------------------------------------------------------------------

bases = st.sampled_from([basis.code for basis in catalogue.LEGAL_BASES])
providers = st.sampled_from(PROVIDERS)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
nationals = st.builds(NationalOrder, days=st.integers(1, 365), renewals=st.integers(0, 5))
CONFIRMED = st.none() | st.integers(0, 400).map(lambda n: timedelta(days=n))


@properties
@given(bases, providers, days, st.integers(0, 6), nationals, CONFIRMED)
def test_no_date_comes_before_receipt(basis, provider, received, extensions, national, confirmed):
    result = clock(basis, provider, received_on=received, extensions_received=extensions,
                   national=national, production_confirmed_on=None if confirmed is None else received + confirmed)
    dates = [result.expires_on, result.extension_send_by, result.final_expires_on]
    assert all(day >= received for day in dates if day is not None and day != result.extension_send_by)
    assert result.expires_on > received
    if result.final_expires_on is not None:
        assert result.final_expires_on > result.expires_on


@properties
@given(bases, providers, days, st.integers(0, 5), nationals)
def test_an_extension_never_shortens_preservation(basis, provider, received, extensions, national):
    before = clock(basis, provider, received_on=received, extensions_received=extensions, national=national)
    after = clock(basis, provider, received_on=received, extensions_received=extensions + 1, national=national)
    assert (after.final_expires_on or after.expires_on) >= (before.final_expires_on or before.expires_on)


known_days = st.sampled_from(sorted({b.preservation_days for b in catalogue.LEGAL_BASES if b.preservation_days}
                                    | {p.preservation_days for p in PROVIDERS if p.preservation_days}))


@properties
@given(providers, days, known_days, st.integers(0, 2), st.integers(1, 180))
def test_an_unknown_provider_policy_never_lengthens_a_voluntary_clock(provider, received, period, extensions,
                                                                    extension_days):
    known = replace(provider, preservation_days=period, extensions=extensions, extension_days=extension_days)
    unknown = replace(provider, preservation_days=None, extensions=None, extension_days=None)
    for received_extensions in range(3):
        a = clock(VOLUNTARY, known, received_on=received, extensions_received=received_extensions)
        b = clock(VOLUNTARY, unknown, received_on=received, extensions_received=received_extensions)
        assert (b.final_expires_on or b.expires_on) <= (a.final_expires_on or a.expires_on)


known_retention = st.sampled_from(sorted(
    {p.retention for p in PROVIDERS if p.retention} | {r.retention for p in PROVIDERS for r in p.region_rules}))
countries = st.sampled_from(["US", "DE", "GB", "CH", "JP", "DK", "", "XX"])


@properties
@given(providers, countries, known_retention)
def test_an_unknown_retention_or_country_never_lengthens_retention(provider, country, retention):
    known = replace(provider, retention=retention) if provider.code != BLINK.code else provider
    unknown = replace(known, retention=None) if provider.code != BLINK.code else provider
    assert provider_retention(unknown, country)[0] <= provider_retention(known, country)[0]
    assert provider_retention(known, None)[0] <= provider_retention(known, country)[0]
