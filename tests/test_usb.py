"""Names and times on a seized Blink drive (docs/blink.md §6): the pure rules of preservation/evidence/usb.py."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preservation.evidence import usb
from tests.conftest import utc

NEW_YORK = ZoneInfo("America/New_York")


def recognise(path, zone=NEW_YORK):
    return usb.recognise(path.split("/"), zone)


@pytest.mark.parametrize(
    "path, kind, camera, number, uid, at",
    [
        # Local Storage with the month level (the seed text's example).
        ("blink/21-05/21-05-02/12-54-30_BlinkMini_001.mp4", "local", "BlinkMini", "001", "", utc(2021, 5, 2, 12, 54, 30)),
        # A real drive: the date folder directly holds the files, name stripped of punctuation.
        ("25-10-15/08-37-43_CornerG8T1K0013255014P_081.mp4", "local", "CornerG8T1K0013255014P", "081", "",
         utc(2025, 10, 15, 8, 37, 43)),
        ("usb/blink/25-10-15/08-37-43_Garage_081.mp4", "local", "Garage", "081", "", utc(2025, 10, 15, 8, 37, 43)),
        # Camera names with underscores, spaces and non-Latin letters: the number is the last part.
        ("blink/24-01/24-01-09/23-59-59_Front_Door_2_007.mp4", "local", "Front_Door_2", "007", "",
         utc(2024, 1, 9, 23, 59, 59)),
        ("blink/24-01/24-01-09/00-00-00_Back Yard_003.mp4", "local", "Back Yard", "003", "", utc(2024, 1, 9)),
        ("blink/24-01/24-01-09/06-10-00_Entrée côté_004.mp4", "local", "Entrée côté", "004", "", utc(2024, 1, 9, 6, 10)),
        ("blink/24-01/24-01-09/06-10-00_Камера_1_005.mp4", "local", "Камера_1", "005", "", utc(2024, 1, 9, 6, 10)),
        ("blink/24-01/24-01-09/06-10-00_玄関カメラ_006.MP4", "local", "玄関カメラ", "006", "", utc(2024, 1, 9, 6, 10)),
        # Clip Backup: month from the folder, day and time from the name; both folder spellings.
        ("blink_backup/20-09/01-20-21-38_Outdoor_1234567.mp4", "backup", "Outdoor", "", "1234567",
         utc(2020, 9, 1, 20, 21, 38)),
        ("blink_backups/20-09/01-20-21-38_Side_Gate_7654321.mp4", "backup", "Side_Gate", "", "7654321",
         utc(2020, 9, 1, 20, 21, 38)),
        # A backup made across a month and a year boundary.
        ("blink_backup/20-12/31-23-59-59_Porch_42.mp4", "backup", "Porch", "", "42", utc(2020, 12, 31, 23, 59, 59)),
        ("blink_backup/21-01/01-00-00-05_Porch_42.mp4", "backup", "Porch", "", "42", utc(2021, 1, 1, 0, 0, 5)),
        # blinkpy's slugified "<camera>-<created_at>" (UTC).
        ("downloads/g8t1-9000-0301-5s9b-2022-02-14t01-18-43-00-00.mp4", "blinkpy", "g8t1-9000-0301-5s9b", "", "",
         utc(2022, 2, 14, 1, 18, 43)),
        # A fraction of a second is dropped: every other name is to the second, and so is the window.
        ("front-door-2022-02-14t01-18-43-250000-00-00.mp4", "blinkpy", "front-door", "", "",
         utc(2022, 2, 14, 1, 18, 43)),
        # Home Assistant: local time of the downloading computer (New York, EDT in July).
        ("ha/20240704_123000_Front Door.mp4", "homeassistant", "Front Door", "", "", utc(2024, 7, 4, 16, 30)),
        ("ha/20240104_123000_front_door.mp4", "homeassistant", "front_door", "", "", utc(2024, 1, 4, 17, 30)),
    ],
)
def test_blink_and_download_names_are_read_into_camera_number_and_utc_time(path, kind, camera, number, uid, at):
    name = recognise(path)
    assert (name.kind, name.camera, name.clip_number, name.camera_uid) == (kind, camera, number, uid)
    assert name.recorded_at == at
    assert name.problems == () and name.recorded_at_alt is None


@pytest.mark.parametrize(
    "path",
    [
        "notes.txt",
        "blink/README.mp4",
        "somewhere/12-54-30_Cam_001.mp4",  # a Local Storage name outside a date folder
        "01-20-21-38_Outdoor_1234567.mp4",  # a Clip Backup name outside a month folder
        "blink/21-05/21-05-02/12-54-30_Cam.mp4",  # no clip number
        "blink/21-05/21-05-02/12-54-30_Cam_001.mov",
    ],
)
def test_other_names_are_unrecognized_not_guessed(path):
    assert recognise(path) == usb.Name()


@pytest.mark.parametrize(
    "path, value",
    [
        ("blink/21-02/21-02-31/12-00-00_Cam_001.mp4", "21-02-31 12-00-00"),
        ("21-13-01/12-00-00_Cam_001.mp4", "21-13-01 12-00-00"),
        ("blink/21-05/21-05-02/25-61-00_Cam_001.mp4", "21-05-02 25-61-00"),
        ("blink_backup/21-02/30-10-00-00_Cam_99.mp4", "21-02 30-10-00-00"),
        ("blink_backup/23-02/29-10-00-00_Cam_99.mp4", "23-02 29-10-00-00"),
        ("ha/20230229_100000_Cam.mp4", "20230229_100000"),
        ("cam-2021-02-31t01-00-00-00-00.mp4", "2021-02-31 01:00:00"),
    ],
)
def test_impossible_dates_keep_the_kind_and_are_flagged_without_a_time(path, value):
    name = recognise(path)
    assert name.kind != usb.UNRECOGNIZED and name.recorded_at is None
    assert name.problems == ({"code": "impossible_date", "value": value},)


def test_leap_day_in_a_leap_year_is_a_real_date():
    assert recognise("blink_backup/24-02/29-10-00-00_Cam_99.mp4").recorded_at == utc(2024, 2, 29, 10)


def test_a_date_folder_in_the_wrong_month_folder_is_flagged_and_the_date_folder_wins():
    name = recognise("blink/21-06/21-05-02/12-54-30_Cam_001.mp4")
    assert name.recorded_at == utc(2021, 5, 2, 12, 54, 30)
    assert name.problems == ({"code": "folder_mismatch", "day": "21-05-02", "month": "21-06"},)


def test_home_assistant_time_on_the_night_clocks_go_back_keeps_both_instants_and_is_flagged():
    # 3 November 2024, New York: 01:30 EDT and then 01:30 EST, an hour apart.
    name = recognise("ha/20241103_013000_Porch.mp4")
    assert (name.recorded_at, name.recorded_at_alt) == (utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30))
    assert [p["code"] for p in name.problems] == ["ambiguous_time"]
    assert "America/New_York" in str(usb.problem_text(name.problems[0]))


def test_home_assistant_time_inside_the_spring_forward_gap_is_flagged_with_both_readings():
    # 10 March 2024, New York: clocks jump from 02:00 to 03:00; 02:30 never showed.
    name = recognise("ha/20240310_023000_Porch.mp4")
    assert (name.recorded_at, name.recorded_at_alt) == (utc(2024, 3, 10, 6, 30), utc(2024, 3, 10, 7, 30))
    assert [p["code"] for p in name.problems] == ["nonexistent_time"]


def test_home_assistant_time_just_after_the_change_is_not_flagged():
    name = recognise("ha/20241103_020000_Porch.mp4")
    assert name.recorded_at == utc(2024, 11, 3, 7) and name.problems == ()


def test_the_zone_given_decides_home_assistant_times():
    name = usb.recognise(["20240704_123000_Cam.mp4"], ZoneInfo("Europe/Berlin"))
    assert name.recorded_at == utc(2024, 7, 4, 10, 30)


def test_blinkpy_offset_whose_sign_was_slugified_away_gives_two_readings():
    name = recognise("cam-2022-02-14t01-18-43-05-00.mp4")
    assert (name.recorded_at, name.recorded_at_alt) == (utc(2022, 2, 13, 20, 18, 43), utc(2022, 2, 14, 6, 18, 43))
    assert [p["code"] for p in name.problems] == ["offset_sign_lost"]


CLIP = utc(2024, 5, 1, 12, 0, 0)


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (CLIP, utc(2024, 5, 2), True),  # starts exactly on the clip's second
        (utc(2024, 4, 30), CLIP, True),  # ends exactly on the clip's second
        (CLIP.replace(microsecond=999999), utc(2024, 5, 2), True),  # compared to the second
        (CLIP + dt.timedelta(seconds=1), utc(2024, 5, 2), False),
        (utc(2024, 4, 30), CLIP - dt.timedelta(seconds=1), False),
        (None, CLIP, True),
        (CLIP + dt.timedelta(seconds=1), None, False),
        (None, None, None),  # no window: no answer
    ],
)
def test_window_includes_both_ends_to_the_second(start, end, expected):
    assert usb.in_window([CLIP], start, end) is expected


def test_window_with_two_readings_on_either_side_of_an_edge_is_uncertain():
    readings = [utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30)]
    assert usb.in_window(readings, utc(2024, 11, 3, 6), utc(2024, 11, 4)) is None
    assert usb.in_window(readings, utc(2024, 11, 3, 5), utc(2024, 11, 4)) is True
    assert usb.in_window(readings, utc(2024, 11, 3, 7), utc(2024, 11, 4)) is False


def test_a_fraction_of_a_second_past_the_end_is_still_the_same_second():
    late = CLIP.replace(microsecond=250000)
    assert usb.in_window([late], utc(2024, 5, 1), CLIP) is True


@pytest.mark.parametrize(
    "typed, on_drive, same",
    [
        ("Front Door", "FrontDoor", True),
        ("front door", "Front_Door", True),
        ("G8T1 9000 0301 5S9B", "g8t1-9000-0301-5s9b", True),
        ("Café", "CAFÉ", True),
        ("Front Door", "Front Door 2", False),
    ],
)
def test_cameras_compare_on_letters_and_digits_only(typed, on_drive, same):
    assert (usb.camera_key(typed) == usb.camera_key(on_drive)) is same


@pytest.mark.parametrize(
    "path, root, inside",
    [
        ("/mnt/usb/manifest.csv", "/mnt/usb", True),
        ("/mnt/usb", "/mnt/usb", True),
        ("/mnt/usb/blink/x/../m.csv", "/mnt/usb", True),
        ("/mnt/usb2/manifest.csv", "/mnt/usb", False),
        ("/tmp/manifest.csv", "/mnt/usb/", False),
    ],
)
def test_output_inside_the_evidence_is_detected(path, root, inside):
    assert usb.is_inside(path, root) is inside


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=40)


@given(camera=names, number=st.integers(0, 99999), at=st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)))
def test_any_camera_name_survives_a_local_storage_name_read_from_the_right(camera, number, at):
    path = [at.strftime("%y-%m"), at.strftime("%y-%m-%d"), "%s_%s_%03d.mp4" % (at.strftime("%H-%M-%S"), camera, number)]
    name = usb.recognise(path, NEW_YORK)
    assert (name.kind, name.camera, name.clip_number) == ("local", camera, "%03d" % number)
    assert name.recorded_at == at.replace(microsecond=0, tzinfo=dt.UTC)


@given(parts=st.lists(names, min_size=1, max_size=4), zone=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"]))
def test_no_name_makes_recognition_fail(parts, zone):
    name = usb.recognise(parts, ZoneInfo(zone))
    assert name.kind in usb.KINDS
    for item in name.problems:
        assert str(usb.problem_text(item))
