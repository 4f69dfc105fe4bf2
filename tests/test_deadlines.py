"""The deadline rules of docs/deadlines.md: worked examples, every boundary, zones, and properties."""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preservation.rules.deadlines import (
    AUTO_DELETE_CHOICES,
    CONTENT_DATA_TYPES,
    DATA_TYPES,
    SHORT_RETENTION_COUNTRIES,
    Thresholds,
    Urgency,
    assess_retention,
    clock_urgency,
    compute_report,
    data_type_explanation,
    data_type_label,
    format_instant,
    local_date,
    local_to_utc,
    preservation_clock,
    reminder_moment,
    retention_days,
)

# No example database on disk: the suite must not leave files in the tree.
properties = settings(database=None, deadline=None, max_examples=150)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# The window of worked examples 1 and 2. US: first loss 2026-04-30, total loss 2026-05-01.
START, END = utc(2026, 3, 1), utc(2026, 3, 2)
FIRST_LOSS, TOTAL_LOSS = utc(2026, 4, 30), utc(2026, 5, 1)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def assess(now=utc(2026, 4, 20, 12), **options):
    options = {"country": "US", **options}
    return assess_retention(start=START, end=END, now=now, **options)


def codes(explanations):
    return [explanation.code for explanation in explanations]


# --- The worked examples of docs/deadlines.md ----------------------------------------------------------


def test_example_1_us_account_drafted_9_5_days_before_the_first_loss_is_elevated():
    assessment = assess(now=utc(2026, 4, 20, 12), country="US")

    assert assessment.retention_days == 60
    assert assessment.first_loss_at == utc(2026, 4, 30)
    assert assessment.urgency is Urgency.ELEVATED
    urgency_text = dict(zip(codes(assessment.explanations), assessment.explanations))["urgency"]
    assert "9.5 days" in urgency_text.text and "2026-04-30 00:00 UTC" in urgency_text.text


def test_example_2_the_same_window_on_a_german_account_is_lost_on_20_april():
    assessment = assess(now=utc(2026, 4, 20, 12), country="DE")

    assert assessment.retention_days == 30
    assert assessment.first_loss_at == utc(2026, 3, 31)
    assert assessment.total_loss_at == utc(2026, 4, 1)
    assert assessment.urgency is Urgency.LOST
    assert "You can still file" in assessment.explanations[-1].text


def test_example_3_received_5_january_expires_5_april_and_extended_4_july():
    clock = preservation_clock(received_on=date(2026, 1, 5), sent_on=None, extended=True)

    assert clock.expires_on == date(2026, 4, 5)
    assert clock.extension_send_by == date(2026, 3, 29)
    assert clock.final_expires_on == date(2026, 7, 4)
    assert clock.provisional is False
    texts = {explanation.code: explanation.text for explanation in clock.explanations}
    assert "received 2026-01-05 + 90 days = 2026-04-05" in texts["expires"]
    assert "2026-04-05 - 7 days = 2026-03-29" in texts["extension_send_by"]
    assert "2026-04-05 + 90 days = 2026-07-04" in texts["final_expires"]


def test_example_4_received_1_december_2027_expires_on_29_february_2028():
    clock = preservation_clock(received_on=date(2027, 12, 1), sent_on=None)

    assert clock.expires_on == date(2028, 2, 29)


# --- Retention urgency boundaries: at the moment, and one second either side ----------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(TOTAL_LOSS - SECOND, Urgency.LOSING, id="a second before total loss: losing"),
        pytest.param(TOTAL_LOSS, Urgency.LOST, id="at total loss: lost"),
        pytest.param(TOTAL_LOSS + SECOND, Urgency.LOST, id="a second after total loss: lost"),
        pytest.param(
            FIRST_LOSS - SECOND, Urgency.CRITICAL, id="a second before first loss: critical"
        ),
        pytest.param(FIRST_LOSS, Urgency.LOSING, id="at first loss: losing"),
        pytest.param(FIRST_LOSS + SECOND, Urgency.LOSING, id="a second after first loss: losing"),
        pytest.param(
            FIRST_LOSS - 3 * DAY - SECOND, Urgency.HIGH, id="3 days and a second left: high"
        ),
        pytest.param(FIRST_LOSS - 3 * DAY, Urgency.HIGH, id="exactly 3 days left: high"),
        pytest.param(FIRST_LOSS - 3 * DAY + SECOND, Urgency.CRITICAL, id="under 3 days: critical"),
        pytest.param(
            FIRST_LOSS - 7 * DAY - SECOND, Urgency.ELEVATED, id="7 days and a second left: elevated"
        ),
        pytest.param(FIRST_LOSS - 7 * DAY, Urgency.ELEVATED, id="exactly 7 days left: elevated"),
        pytest.param(FIRST_LOSS - 7 * DAY + SECOND, Urgency.HIGH, id="under 7 days: high"),
        pytest.param(
            FIRST_LOSS - 14 * DAY - SECOND, Urgency.NORMAL, id="14 days and a second left: normal"
        ),
        pytest.param(FIRST_LOSS - 14 * DAY, Urgency.NORMAL, id="exactly 14 days left: normal"),
        pytest.param(
            FIRST_LOSS - 14 * DAY + SECOND, Urgency.ELEVATED, id="under 14 days: elevated"
        ),
    ],
)
def test_retention_urgency_changes_exactly_at_each_boundary(now, expected):
    assert assess(now=now).urgency is expected


def test_thresholds_are_settings_and_move_the_boundaries():
    thresholds = Thresholds(critical_days=5, high_days=10, elevated_days=20)

    assert assess(now=FIRST_LOSS - 4 * DAY, thresholds=thresholds).urgency is Urgency.CRITICAL
    assert assess(now=FIRST_LOSS - 9 * DAY, thresholds=thresholds).urgency is Urgency.HIGH
    assert assess(now=FIRST_LOSS - 19 * DAY, thresholds=thresholds).urgency is Urgency.ELEVATED
    assert assess(now=FIRST_LOSS - 20 * DAY, thresholds=thresholds).urgency is Urgency.NORMAL


def test_losing_says_which_part_is_gone_and_which_can_still_be_preserved():
    assessment = assess(now=utc(2026, 4, 30, 6))

    text = assessment.explanations[-1].text
    assert assessment.urgency is Urgency.LOSING
    assert "before 2026-03-01 06:00 UTC are already deleted" in text
    assert "from 2026-03-01 06:00 UTC to 2026-03-02 00:00 UTC can still be preserved" in text


def test_a_window_ending_after_now_is_accepted_and_normal():
    assessment = assess_retention(
        start=utc(2026, 5, 1), end=utc(2026, 5, 2), now=utc(2026, 4, 20), country="US"
    )

    assert assessment.urgency is Urgency.NORMAL


# --- Retention days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "auto_delete", "expected"),
    [
        ("US", None, 60),
        ("us ", None, 60),
        ("DE", None, 30),
        ("FR", None, 30),
        ("GB", None, 30),
        ("CH", None, 30),
        ("NO", None, 30),
        ("VA", None, 30),
        ("US", 3, 3),
        ("US", 7, 7),
        ("US", 14, 14),
        ("US", 30, 30),
        ("US", 60, 60),
        ("DE", 14, 14),
        ("DE", 60, 30),
        ("GB", 30, 30),
    ],
)
def test_retention_days_by_country_and_auto_delete_setting(country, auto_delete, expected):
    days, explanations = retention_days(country, auto_delete)

    assert days == expected
    assert "unknown_country" not in codes(explanations)


@pytest.mark.parametrize("country", [None, "", "  ", "UK", "ZZ", "Germany"])
def test_unknown_or_blank_country_assumes_30_days_and_says_so(country):
    days, explanations = retention_days(country, None)

    assert days == 30
    assert codes(explanations) == ["unknown_country"]


def test_unknown_country_with_a_shorter_auto_delete_takes_the_shorter():
    assert retention_days(None, 7)[0] == 7


def test_a_shorter_auto_delete_setting_is_explained():
    _, explanations = retention_days("US", 14)

    assert codes(explanations) == ["retention", "auto_delete"]
    assert "14 days" in explanations[1].text


@pytest.mark.parametrize("auto_delete", [0, 5, 90])
def test_an_auto_delete_setting_blink_does_not_offer_is_refused(auto_delete):
    with pytest.raises(ValueError):
        retention_days("US", auto_delete)


def test_the_short_retention_set_is_the_eu_27_and_the_other_european_countries():
    eu_27 = set(
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
    )

    others = {"GB", "IS", "LI", "NO", "CH", "MC", "AD", "SM", "VA"}
    territories = {"AX", "GP", "MQ", "GF", "RE", "YT", "MF", "JE", "GG", "IM", "GI"}

    assert SHORT_RETENTION_COUNTRIES == eu_27 | others | territories
    assert AUTO_DELETE_CHOICES == (3, 7, 14, 30, 60)


# --- Legacy devices and non-content requests ------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            FIRST_LOSS - 40 * DAY, Urgency.CRITICAL, id="weeks before first loss: critical"
        ),
        pytest.param(FIRST_LOSS, Urgency.LOSING, id="after first loss: still losing"),
        pytest.param(TOTAL_LOSS, Urgency.LOST, id="after total loss: still lost"),
    ],
)
def test_a_legacy_device_makes_a_content_request_critical_from_the_start(now, expected):
    assessment = assess(now=now, legacy=True)

    assert assessment.urgency is expected
    assert "legacy_pool" in codes(assessment.explanations)


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("now", [FIRST_LOSS - DAY, FIRST_LOSS, TOTAL_LOSS + 30 * DAY])
def test_a_request_for_non_content_types_only_is_normal(now, legacy):
    assessment = assess(now=now, legacy=legacy, content=False)

    assert assessment.urgency is Urgency.NORMAL
    assert "non_content" in codes(assessment.explanations)


# --- What receipt preserved -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_at", "covered_from", "lost_until"),
    [
        pytest.param(utc(2026, 4, 29), START, None, id="received before first loss: fully covered"),
        pytest.param(FIRST_LOSS, START, None, id="received at first loss: fully covered"),
        pytest.param(
            utc(2026, 4, 30, 12), utc(2026, 3, 1, 12), utc(2026, 3, 1, 12),
            id="received midway: partly lost",
        ),
        pytest.param(TOTAL_LOSS, None, END, id="received at total loss: fully lost"),
        pytest.param(utc(2026, 6, 1), None, END, id="received long after: fully lost"),
    ],
)
def test_receipt_shows_the_covered_and_the_lost_part_of_the_window(
    received_at, covered_from, lost_until
):
    assessment = assess(received_at=received_at)

    assert assessment.urgency is None
    assert (assessment.covered_from, assessment.lost_until) == (covered_from, lost_until)
    assert ("covered" in codes(assessment.explanations)) == (covered_from is not None)
    assert ("lost_part" in codes(assessment.explanations)) == (lost_until is not None)


def test_receipt_of_a_non_content_request_claims_no_covered_or_lost_clips():
    assessment = assess(received_at=utc(2026, 6, 1), content=False)

    assert assessment.urgency is None
    assert (assessment.covered_from, assessment.lost_until) == (None, None)


# --- Input checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["start", "end", "now", "received_at"])
def test_naive_datetimes_are_refused(field):
    values = {"start": START, "end": END, "now": utc(2026, 4, 20), "received_at": utc(2026, 4, 21)}
    values[field] = values[field].replace(tzinfo=None)

    with pytest.raises(ValueError):
        assess_retention(**values)


@pytest.mark.parametrize("end", [START, START - SECOND], ids=["empty window", "reversed window"])
def test_a_window_must_start_before_it_ends(end):
    with pytest.raises(ValueError):
        assess_retention(start=START, end=end, now=utc(2026, 4, 20))


# --- Preservation clock ---------------------------------------------------------------------------


def test_dates_count_from_the_sending_date_and_are_provisional_until_receipt():
    clock = preservation_clock(received_on=None, sent_on=date(2026, 1, 5))

    assert clock.provisional is True
    assert clock.received_on == date(2026, 1, 5)
    assert clock.expires_on == date(2026, 4, 5)
    assert "provisional" in codes(clock.explanations)


def test_the_receipt_date_wins_over_the_sending_date():
    clock = preservation_clock(received_on=date(2026, 1, 7), sent_on=date(2026, 1, 5))

    assert (clock.provisional, clock.expires_on) == (False, date(2026, 4, 7))


def test_a_draft_has_no_preservation_clock():
    assert preservation_clock(received_on=None, sent_on=None) is None


def test_no_final_expiry_until_extended():
    assert preservation_clock(received_on=date(2026, 1, 5), sent_on=None).final_expires_on is None


def test_preservation_period_and_lead_time_are_settings():
    clock = preservation_clock(
        received_on=date(2026, 1, 5),
        sent_on=None,
        extended=True,
        preservation_days=60,
        lead_days=10,
    )

    assert clock.expires_on == date(2026, 3, 6)
    assert clock.extension_send_by == date(2026, 2, 24)
    assert clock.final_expires_on == date(2026, 5, 5)


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        pytest.param(None, Urgency.NORMAL, id="no deadline: normal"),
        pytest.param(date(2026, 4, 19), Urgency.LOST, id="yesterday: lost"),
        pytest.param(date(2026, 4, 20), Urgency.CRITICAL, id="today: critical"),
        pytest.param(date(2026, 4, 22), Urgency.CRITICAL, id="in 2 days: critical"),
        pytest.param(date(2026, 4, 23), Urgency.HIGH, id="in 3 days: high"),
        pytest.param(date(2026, 4, 26), Urgency.HIGH, id="in 6 days: high"),
        pytest.param(date(2026, 4, 27), Urgency.ELEVATED, id="in 7 days: elevated"),
        pytest.param(date(2026, 5, 3), Urgency.ELEVATED, id="in 13 days: elevated"),
        pytest.param(date(2026, 5, 4), Urgency.NORMAL, id="in 14 days: normal"),
    ],
)
def test_clock_urgency_from_the_next_deadline(deadline, expected):
    assert clock_urgency(deadline=deadline, today=date(2026, 4, 20)) is expected


# --- Time zones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        (utc(2026, 4, 20, 3), "America/New_York", date(2026, 4, 19)),
        (utc(2026, 3, 8, 4, 59, 59), "America/New_York", date(2026, 3, 7)),
        (utc(2026, 3, 8, 5), "America/New_York", date(2026, 3, 8)),
        (utc(2026, 11, 1, 3, 59, 59), "America/New_York", date(2026, 10, 31)),
        (utc(2026, 11, 1, 4), "America/New_York", date(2026, 11, 1)),
        (utc(2026, 3, 28, 23, 59, 59), "Europe/London", date(2026, 3, 28)),
        (utc(2026, 3, 29), "Europe/London", date(2026, 3, 29)),
        (utc(2026, 10, 24, 22, 59, 59), "Europe/London", date(2026, 10, 24)),
        (utc(2026, 10, 24, 23), "Europe/London", date(2026, 10, 25)),
        (utc(2026, 4, 4, 10, 59, 59), "Pacific/Auckland", date(2026, 4, 4)),
        (utc(2026, 4, 4, 11), "Pacific/Auckland", date(2026, 4, 5)),
        (utc(2028, 2, 29, 10, 59, 59), "Pacific/Auckland", date(2028, 2, 29)),
        (utc(2028, 2, 29, 11), "Pacific/Auckland", date(2028, 3, 1)),
        (utc(2026, 4, 20, 9, 59, 59), "Pacific/Honolulu", date(2026, 4, 19)),
        (utc(2026, 4, 20, 10), "Pacific/Honolulu", date(2026, 4, 20)),
        (utc(2026, 1, 1, 18, 29, 59), "Asia/Kolkata", date(2026, 1, 1)),
        (utc(2026, 1, 1, 18, 30), ZoneInfo("Asia/Kolkata"), date(2026, 1, 2)),
    ],
)
def test_today_is_the_date_in_the_agency_zone_not_in_utc(instant, zone, expected):
    assert local_date(instant, zone) == expected


@pytest.mark.parametrize(
    ("day", "zone", "expected"),
    [
        pytest.param(
            date(2026, 3, 7), "America/New_York", utc(2026, 3, 7, 13),
            id="New York, day before spring",
        ),
        pytest.param(
            date(2026, 3, 8), "America/New_York", utc(2026, 3, 8, 12), id="New York, spring forward"
        ),
        pytest.param(
            date(2026, 11, 1), "America/New_York", utc(2026, 11, 1, 13), id="New York, fall back"
        ),
        pytest.param(
            date(2028, 2, 29), "America/New_York", utc(2028, 2, 29, 13), id="New York, 29 February"
        ),
        pytest.param(
            date(2026, 3, 29), "Europe/London", utc(2026, 3, 29, 7), id="London, spring forward"
        ),
        pytest.param(
            date(2026, 10, 25), "Europe/London", utc(2026, 10, 25, 8), id="London, fall back"
        ),
        pytest.param(
            date(2026, 4, 5), "Pacific/Auckland", utc(2026, 4, 4, 20), id="Auckland, DST ends"
        ),
        pytest.param(
            date(2026, 9, 27), "Pacific/Auckland", utc(2026, 9, 26, 19), id="Auckland, DST starts"
        ),
        pytest.param(date(2026, 3, 8), "Pacific/Honolulu", utc(2026, 3, 8, 18), id="Honolulu"),
        pytest.param(
            date(2026, 3, 8), "Asia/Kolkata", utc(2026, 3, 8, 2, 30), id="Kolkata, half hour"
        ),
    ],
)
def test_reminders_fire_at_8_local_on_their_day(day, zone, expected):
    assert reminder_moment(day, zone) == expected


@pytest.mark.parametrize(
    ("day", "zone", "hour", "expected"),
    [
        pytest.param(
            date(2026, 3, 8), "America/New_York", 2, utc(2026, 3, 8, 7),
            id="02:00 skipped: fires at 03:00 EDT",
        ),
        pytest.param(
            date(2011, 12, 30), "Pacific/Apia", 8, utc(2011, 12, 30, 10),
            id="Samoa skipped the day: next midnight",
        ),
        pytest.param(
            date(2026, 11, 1), "America/New_York", 1, utc(2026, 11, 1, 5),
            id="01:00 repeated: the first one",
        ),
    ],
)
def test_a_skipped_or_repeated_reminder_hour_fires_at_its_first_valid_instant(
    day, zone, hour, expected
):
    assert reminder_moment(day, zone, hour=hour) == expected


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        pytest.param(
            datetime(2026, 3, 8, 2, 30), "America/New_York", utc(2026, 3, 8, 7, 30),
            id="New York gap: 03:30 EDT",
        ),
        pytest.param(
            datetime(2026, 3, 29, 1, 30), "Europe/London", utc(2026, 3, 29, 1, 30),
            id="London gap: 02:30 BST",
        ),
        pytest.param(
            datetime(2026, 11, 1, 1, 30), "America/New_York", utc(2026, 11, 1, 5, 30),
            id="New York fold: EDT",
        ),
        pytest.param(
            datetime(2026, 10, 25, 1, 30), "Europe/London", utc(2026, 10, 25, 0, 30),
            id="London fold: BST",
        ),
        pytest.param(
            datetime(2026, 3, 1), "Asia/Kolkata", utc(2026, 2, 28, 18, 30), id="Kolkata half hour"
        ),
    ],
)
def test_a_local_time_is_converted_to_utc_taking_the_earlier_reading(wall, zone, expected):
    assert local_to_utc(wall, zone) == expected


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda: local_to_utc(utc(2026, 3, 1), "UTC"), id="local_to_utc given an aware time"
        ),
        pytest.param(
            lambda: local_date(datetime(2026, 3, 1), "UTC"), id="local_date given a naive time"
        ),
        pytest.param(
            lambda: format_instant(datetime(2026, 3, 1)), id="format_instant given a naive time"
        ),
    ],
)
def test_time_zone_helpers_refuse_the_wrong_kind_of_datetime(call):
    with pytest.raises(ValueError):
        call()


# --- The report -----------------------------------------------------------------------------------

REPORT_KEYS = {
    "retention_days",
    "first_loss_at",
    "total_loss_at",
    "urgency",
    "covered_from",
    "lost_until",
    "expires_on",
    "extension_send_by",
    "final_expires_on",
    "provisional",
    "explanations",
}


def test_the_report_of_example_1_as_stored():
    report = compute_report(start=START, end=END, now=utc(2026, 4, 20, 12), country="US")

    data = report.as_dict()
    assert set(data) == REPORT_KEYS
    assert {key: value for key, value in data.items() if key != "explanations"} == {
        "retention_days": 60,
        "first_loss_at": "2026-04-30T00:00:00Z",
        "total_loss_at": "2026-05-01T00:00:00Z",
        "urgency": "elevated",
        "covered_from": None,
        "lost_until": None,
        "expires_on": None,
        "extension_send_by": None,
        "final_expires_on": None,
        "provisional": None,
    }
    assert all(set(item) == {"code", "text"} for item in data["explanations"])


def test_the_report_after_an_extension_is_json_serialisable_with_z_instants():
    report = compute_report(
        start=START,
        end=END,
        now=utc(2026, 5, 10),
        country="US",
        received_at=utc(2026, 4, 30, 12),
        extended=True,
    )

    data = json.loads(json.dumps(report.as_dict()))
    assert set(data) == REPORT_KEYS
    assert data["urgency"] is None
    assert data["covered_from"] == data["lost_until"] == "2026-03-01T12:00:00Z"
    assert (data["expires_on"], data["extension_send_by"], data["final_expires_on"]) == (
        "2026-07-29",
        "2026-07-22",
        "2026-10-27",
    )
    assert data["provisional"] is False
    assert {"first_loss", "covered", "lost_part", "expires", "final_expires"} <= {
        item["code"] for item in data["explanations"]
    }


def test_the_receipt_date_is_the_local_date_of_the_receipt_instant():
    # 01:30 UTC on 6 January is still 5 January in New York.
    report = compute_report(
        start=START,
        end=END,
        now=utc(2026, 1, 6),
        received_at=utc(2026, 1, 6, 1, 30),
        zone="America/New_York",
    )

    assert report.clock.received_on == date(2026, 1, 5)
    assert report.clock.expires_on == date(2026, 4, 5)


@pytest.mark.parametrize(
    ("received_on", "zone", "covered_from", "lost_until"),
    [
        pytest.param(
            date(2026, 4, 29), "UTC", START, None, id="UTC: end of 29 April is the first loss"
        ),
        pytest.param(
            date(2026, 4, 30), "UTC", None, END, id="UTC: end of 30 April is the total loss"
        ),
        pytest.param(
            date(2026, 4, 29), "America/New_York", utc(2026, 3, 1, 4), utc(2026, 3, 1, 4),
            id="New York",
        ),
    ],
)
def test_a_receipt_date_without_a_time_assumes_the_end_of_that_local_day(
    received_on, zone, covered_from, lost_until
):
    report = compute_report(
        start=START, end=END, now=utc(2026, 5, 10), country="US", received_on=received_on, zone=zone
    )

    retention = report.retention
    assert (retention.covered_from, retention.lost_until) == (covered_from, lost_until)
    assert "received_time_unknown" in codes(report.retention.explanations)


def test_a_sent_request_without_receipt_keeps_its_retention_urgency_and_a_provisional_clock():
    report = compute_report(
        start=START, end=END, now=utc(2026, 4, 20, 12), country="US", sent_on=date(2026, 4, 20)
    )

    data = report.as_dict()
    assert data["urgency"] == "elevated"
    assert (data["provisional"], data["expires_on"]) == (True, "2026-07-19")


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 4, 30), "2026-04-30T00:00:00Z"),
        (datetime(2026, 4, 30, 2, tzinfo=ZoneInfo("Europe/Berlin")), "2026-04-30T00:00:00Z"),
        (utc(2026, 4, 30, 8, 5, 9), "2026-04-30T08:05:09Z"),
    ],
)
def test_instants_are_formatted_in_utc_with_z(instant, expected):
    assert format_instant(instant) == expected


# --- Data types and urgency labels ----------------------------------------------------------------


def test_data_types_are_the_nine_blink_types_in_form_order_with_labels_and_explanations():
    assert [code for code, _, _ in DATA_TYPES] == [
        "subscriber",
        "sign_ins",
        "device_records",
        "video_clips",
        "live_view",
        "thumbnails",
        "event_metadata",
        "activity_logs",
        "local_storage_manifests",
    ]
    assert CONTENT_DATA_TYPES == {"video_clips", "live_view", "thumbnails", "event_metadata"}
    assert data_type_label("video_clips") == "Video clips"
    assert all(data_type_explanation(code) for code, _, _ in DATA_TYPES)


def test_an_unknown_data_type_code_is_an_error():
    with pytest.raises(ValueError):
        data_type_label("clips")


def test_sorting_by_rank_puts_losing_first_and_lost_after_critical():
    assert sorted(Urgency, key=lambda urgency: urgency.rank) == [
        Urgency.LOSING,
        Urgency.CRITICAL,
        Urgency.LOST,
        Urgency.HIGH,
        Urgency.ELEVATED,
        Urgency.NORMAL,
    ]
    assert str(Urgency.CRITICAL.label) == "Critical"


# --- Properties -----------------------------------------------------------------------------------

# Least to most severe: the order the property test checks, independent of the dashboard rank.
SEVERITY = [
    Urgency.NORMAL,
    Urgency.ELEVATED,
    Urgency.HIGH,
    Urgency.CRITICAL,
    Urgency.LOSING,
    Urgency.LOST,
]

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=SECOND, max_value=timedelta(days=400))
countries = st.sampled_from(["US", "DE", "GB", None, "ZZ"])
auto_deletes = st.sampled_from((None, *AUTO_DELETE_CHOICES))


@properties
@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_expiry_is_exactly_90_and_180_days_after_receipt(day):
    clock = preservation_clock(received_on=day, sent_on=None, extended=True)

    assert clock.expires_on - day == timedelta(days=90)
    assert clock.final_expires_on - day == timedelta(days=180)


@properties
@given(start=instants, length=durations, country=countries, auto_delete=auto_deletes)
def test_the_first_loss_never_comes_after_the_total_loss(start, length, country, auto_delete):
    assessment = assess_retention(
        start=start, end=start + length, now=start, country=country, auto_delete_days=auto_delete
    )

    assert assessment.first_loss_at <= assessment.total_loss_at


@properties
@given(
    start=instants,
    length=durations,
    since_start=st.timedeltas(min_value=-timedelta(days=30), max_value=timedelta(days=500)),
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100)),
    country=countries,
    auto_delete=auto_deletes,
    legacy=st.booleans(),
    content=st.booleans(),
)
def test_time_passing_never_makes_retention_urgency_less_severe(
    start, length, since_start, later, country, auto_delete, legacy, content
):
    def severity(now):
        urgency = assess_retention(
            start=start,
            end=start + length,
            now=now,
            country=country,
            auto_delete_days=auto_delete,
            legacy=legacy,
            content=content,
        ).urgency
        return SEVERITY.index(urgency)

    now = start + since_start
    assert severity(now) <= severity(now + later)


def test_explanations_are_formatted_only_when_read_and_in_the_language_they_were_made_in():
    # A recompute only stores the dates: formatting every sentence was most of its cost.
    from django.utils import translation

    def report():
        return compute_report(start=START, end=END, now=utc(2026, 4, 20, 12), country="DE",
                              received_on=date(2026, 4, 21), sent_on=date(2026, 4, 20))

    with translation.override("de"):
        german = report()
        assert all(e._text is None for e in german.retention.explanations + german.clock.explanations)
        read_at_once = [e.text for e in report().retention.explanations]
    with translation.override("en"):
        assert [e.text for e in german.retention.explanations] == read_at_once  # still German
        english = [e.text for e in report().retention.explanations]
    assert english != read_at_once
    assert german.retention.explanations[0].as_dict() == {"code": german.retention.explanations[0].code,
                                                          "text": read_at_once[0]}
