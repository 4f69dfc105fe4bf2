"""What the pages compute to show: urgency sentences, the timeline and the premises checklist."""
import uuid
from datetime import date, timedelta

import pytest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _lazy
from hypothesis import given
from hypothesis import strategies as st

from preservation.core import presentation
from preservation.models import PreservationRequest
from preservation.rules import deadlines
from preservation.rules import premises as evidence
from tests.conftest import utc

NOW = utc(2026, 4, 20, 12, 0)


def retention(start, end, **kwargs):
    return deadlines.assess_retention(start=start, end=end, now=NOW, country="US", **kwargs)


@pytest.mark.parametrize("start, end, expected", [
    (utc(2026, 3, 1), utc(2026, 3, 2),
     "The oldest clip in this window is deleted on 30 April 2026, 00:00 UTC: 9 days left (Elevated)."),
    (utc(2026, 2, 19, 20), utc(2026, 2, 20),
     "The oldest clip in this window is deleted on 20 April 2026, 20:00 UTC: 8 hours left (Critical)."),
    (utc(2026, 1, 1), utc(2026, 1, 2), "Lost: every requested clip passed automatic deletion by 2026-03-03 00:00 UTC."),
])
def test_the_headline_says_when_the_oldest_clip_goes_and_how_long_is_left(start, end, expected):
    assert str(presentation.urgency_headline(retention(start, end), NOW)).startswith(expected)


def test_the_headline_of_a_losing_window_says_what_is_already_gone():
    headline = presentation.urgency_headline(retention(utc(2026, 2, 1), utc(2026, 3, 1)), NOW)
    assert headline.startswith("Losing: clips recorded before 2026-02-19 12:00 UTC are already deleted")


@pytest.mark.parametrize("models, expected", [
    ([], ["sm2_local_storage", "clip_backup", "device_storage", "home_assistant", "live_view_cloud_only"]),
    (["sync_module_2", "doorbell"], ["sm2_local_storage", "clip_backup", "home_assistant", "live_view_cloud_only"]),
    (["mini"], ["find_sync_module_2", "sm2_local_storage", "clip_backup", "home_assistant", "live_view_cloud_only"]),
    (["xt", "xt2"], ["legacy_no_local", "home_assistant", "live_view_cloud_only"]),
    (["floodlight"], ["device_storage", "home_assistant", "live_view_cloud_only"]),
    (["unknown", "xt"], ["sm2_local_storage", "clip_backup", "device_storage", "legacy_no_local",
                         "home_assistant", "live_view_cloud_only"]),
])
def test_the_premises_checklist_follows_the_device_models(models, expected):
    assert [item.code for item in evidence.evidence_checklist(models)] == expected


def test_every_checklist_path_names_utc_or_local_time_where_blink_does():
    items = {item.code: item for item in evidence.evidence_checklist([])}
    assert "blink/YY-MM/YY-MM-DD/HH-MM-SS_<camera>_<NNN>.mp4" in items["sm2_local_storage"].paths
    assert "UTC" in str(items["sm2_local_storage"].detail)
    assert "LOCAL time" in str(items["home_assistant"].detail)


def _request(**fields):
    from preservation.models import Agency

    return PreservationRequest(agency=Agency(name="A", country="US", time_zone="America/New_York"), **fields)


def test_a_request_without_a_window_has_no_timeline():
    assert presentation.build_timeline(_request(), NOW) is None


def test_provisional_dates_are_starred_on_the_timeline():
    preservation_request = _request(
        window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2), sent_at=utc(2026, 4, 1),
        expires_on=(utc(2026, 4, 1) + timedelta(days=90)).date(), deadlines_provisional=True,
    )
    labels = [mark["label"] for mark in presentation.build_timeline(preservation_request, NOW)["marks"]]
    assert labels == ["Window starts", "Window ends", "Sent", "Today", "Expires *"]


def test_the_timeline_places_marks_in_time_order_across_the_width():
    preservation_request = _request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2),
                           first_loss_at=utc(2026, 4, 30), total_loss_at=utc(2026, 5, 1))
    timeline = presentation.build_timeline(preservation_request, NOW)
    today = next(mark for mark in timeline["marks"] if mark["kind"] == "today")
    assert (timeline["marks"][0]["x"], timeline["marks"][-1]["x"]) == (20, 980)
    assert 20 < today["x"] < 980
    assert [bar["kind"] for bar in timeline["bars"]] == ["window", "loss"]


# fill_html: format_html's string without its per-argument machinery (the dashboard's rows).
FILL_TEMPLATE = '<a href="{}" title="{}">{}</a>{}'


@pytest.mark.parametrize("args", [
    ('x"><script>alert(1)</script>', "O'Brien & Sons", "<b>bold</b>", ""),
    (mark_safe("<em>kept</em>"), mark_safe("&amp;"), "&amp;", mark_safe("")),
    (_lazy("Reference"), _lazy("passed"), 42, None),
    (uuid.UUID(int=7), date(2027, 3, 14), 3.5, True),
])
def test_fill_html_gives_what_format_html_gives(args):
    filled = presentation.fill_html(FILL_TEMPLATE, *args)
    assert filled == format_html(FILL_TEMPLATE, *args)
    assert isinstance(filled, SafeString)
    assert "<script>" not in filled


@given(st.lists(st.one_of(st.text(), st.text().map(mark_safe), st.integers(), st.none()),
                min_size=4, max_size=4))
def test_fill_html_escapes_like_format_html_whatever_the_text(args):
    assert presentation.fill_html(FILL_TEMPLATE, *args) == format_html(FILL_TEMPLATE, *args)
