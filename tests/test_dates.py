"""One rule for writing dates and times (docs/dates.md): instants on the request zone's wall
clock with the abbreviation in force, UTC beside where Blink reads it, deadlines as dates."""
import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from preservation.core import presentation
from preservation.requests import services
from tests.conftest import utc
from tests.helpers import login

NOW = utc(2026, 12, 10, 12)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def page(client, request_obj):
    return client.get(reverse("preservation:request_detail", args=[request_obj.public_id])).content.decode()


INSTANTS = [
    # (instant, zone, language, text)
    (utc(2026, 12, 2, 2), "America/New_York", "en", "1 December 2026, 21:00 EST"),
    (utc(2026, 7, 8, 13), "America/New_York", "en", "8 July 2026, 09:00 EDT"),
    (utc(2026, 12, 2, 2), "Pacific/Auckland", "en", "2 December 2026, 15:00 NZDT"),
    (utc(2026, 6, 2, 2), "Pacific/Auckland", "en", "2 June 2026, 14:00 NZST"),
    (utc(2026, 12, 2, 2), "Asia/Kolkata", "de", "2. Dezember 2026 07:30 IST"),
    (utc(2026, 3, 29, 1), "Europe/Berlin", "fr", "29 mars 2026 03:00 CEST"),
    (utc(2026, 3, 29, 0, 59), "Europe/Berlin", "fr", "29 mars 2026 01:59 CET"),
    (utc(2026, 12, 2, 2), "UTC", "es", "2 de diciembre de 2026 a las 02:00 UTC"),
]


@pytest.mark.parametrize("instant, zone, language, text", INSTANTS)
def test_an_instant_is_written_on_its_zones_clock_with_the_abbreviation_in_force(instant, zone, language, text):
    with translation.override(language):
        assert presentation.instant_text(instant, zone) == text


@pytest.mark.parametrize("zone, text", [
    ("America/New_York", "30 January 2027, 21:00 EST (31 January 2027, 02:00 UTC)"),
    ("UTC", "31 January 2027, 02:00 UTC"),
])
def test_utc_is_written_beside_once_and_only_when_it_differs(zone, text):
    with translation.override("en"):
        assert presentation.instant_utc_text(utc(2027, 1, 31, 2), zone) == text


def test_the_window_is_shown_on_the_clock_of_the_zone_it_names(signed_in, make_request):
    # Entered as 1 December 2026 21:00-23:30 in New York: 2 December 02:00-04:30 UTC.
    request_obj = make_request(window_start=utc(2026, 12, 2, 2), window_end=utc(2026, 12, 2, 4, 30))
    window = re.search(r'data-testid="window">(.*?)</dd>', page(signed_in, request_obj), re.S).group(1)
    assert "1 December 2026, 21:00 EST – 1 December 2026, 23:30 EST (America/New_York)" in window
    assert "2 December 2026, 02:00 UTC – 2 December 2026, 04:30 UTC" in window


def test_the_header_writes_the_next_deadline_exactly_as_the_table_does(signed_in, make_request):
    request_obj = make_request(window_start=utc(2026, 12, 2, 2), window_end=utc(2026, 12, 2, 4, 30))
    content = page(signed_in, request_obj)
    header = re.search(r'data-testid="next-deadline">(.*?)</span>', content).group(1)
    assert header == "30 January 2027, 21:00 EST (31 January 2027, 02:00 UTC)"
    row = re.search(r'data-deadline="first_loss">.*?<td [^>]*data-testid="deadline-date"[^>]*>(.*?)</td>', content, re.S).group(1)
    assert row.strip() == header


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_the_timeline_drawing_never_writes_a_decimal_comma(client, user, make_request, language):
    user.language = language
    user.save(update_fields=["language"])
    login(client, user)
    request_obj = make_request(window_start=utc(2026, 12, 2, 2), window_end=utc(2026, 12, 2, 4, 30))
    svg = re.search(r"<svg.*?</svg>", page(client, request_obj), re.S).group(0)
    numbers = re.findall(r'\b(?:x|x1|x2|y|y1|y2|cx|cy|width|height)="([^"]*)"', svg)
    assert numbers and all(re.fullmatch(r"-?\d+(\.\d+)?", n) for n in numbers), numbers


def test_a_calendar_deadline_is_a_date_without_a_time(signed_in, make_request, user):
    request_obj = make_request(window_start=utc(2026, 12, 2, 2), window_end=utc(2026, 12, 2, 4, 30))
    services.request_send(preservation_request=request_obj, actor=user, sent_at=utc(2026, 12, 3, 3), now=NOW)
    services.request_record_receipt(preservation_request=request_obj, actor=user, received_on=dt.date(2026, 12, 3), now=NOW)
    content = page(signed_in, request_obj)
    assert re.search(r'data-deadline="expires">.*?<td [^>]*data-testid="deadline-date"[^>]*>3 March 2027\s*</td>', content, re.S)
    # Sent at 03:00 UTC on 3 December is 22:00 EST on 2 December: both written out.
    assert "2 December 2026, 22:00 EST (3 December 2026, 03:00 UTC)" in content
