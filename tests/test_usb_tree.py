"""Indexing real trees built in a temporary folder: hashing, problems, never changing the evidence."""
import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from preservation.evidence import usb
from tests.conftest import utc

NOW = utc(2026, 1, 10, 12)
OLD_ATIME_NS = 1_600_000_000 * 10**9  # September 2020: any read would move it on relatime


def mp4(tag, size=4096):
    """A small well-formed MP4: an ftyp box and an mdat box filling the rest."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2"
    body = (tag.encode() * (size // max(1, len(tag)) + 1))[: size - 32]
    return ftyp + (len(body) + 8).to_bytes(4, "big") + b"mdat" + body


def put(root, rel, content):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def drive(tmp_path):
    root = tmp_path / "drive"
    put(root, "blink/24-05/24-05-01/12-00-00_Front_Door_001.mp4", mp4("a"))
    put(root, "blink/24-05/24-05-01/12-05-00_Back Yard_002.mp4", mp4("b"))
    put(root, "24-05-02/08-00-00_玄関_003.mp4", mp4("c"))
    put(root, "blink_backup/24-04/30-23-59-59_Front_Door_1234567.mp4", mp4("d"))
    put(root, "blink_backups/24-05/01-00-00-01_Front_Door_1234567.mp4", mp4("e"))
    put(root, "System Volume Information/IndexerVolumeGuid", b"{guid}")
    return root


def index(root, **kwargs):
    kwargs.setdefault("zone", "America/New_York")
    return usb.index_tree(root, now=NOW, **kwargs)


def rows_by_path(manifest):
    return {row.path: row for row in manifest.rows}


def codes(row):
    return [p["code"] for p in row.problems]


def test_every_file_is_listed_hashed_and_recognised(drive):
    manifest = index(drive)
    rows = rows_by_path(manifest)
    assert list(rows) == sorted(rows)
    assert len(rows) == 6
    for path, row in rows.items():
        assert row.sha256 == hashlib.sha256((drive / path).read_bytes()).hexdigest()
        assert row.size == (drive / path).stat().st_size
    backup = rows["blink_backup/24-04/30-23-59-59_Front_Door_1234567.mp4"]
    assert (backup.kind, backup.camera, backup.camera_uid, backup.recorded_at) == (
        "backup", "Front_Door", "1234567", utc(2024, 4, 30, 23, 59, 59))
    other = rows["System Volume Information/IndexerVolumeGuid"]
    assert other.kind == "unrecognized" and other.sha256 and codes(other) == ["not_mp4"]


def test_summary_counts_kinds_cameras_days_span_and_window(drive):
    manifest = index(drive, start=utc(2024, 5, 1, 12), end=utc(2024, 5, 1, 12, 5))
    summary = manifest.summary
    assert summary["files"] == 6 and summary["hashed"] == 6
    assert summary["by_kind"] == {"backup": 2, "local": 3, "unrecognized": 1}
    assert summary["by_camera"] == {"Back Yard": 1, "Front_Door": 3, "玄関": 1}
    # Days in New York time: 2024-05-01 00:00:01 UTC is still 30 April there.
    assert summary["by_day"] == {"2024-04-30": 2, "2024-05-01": 2, "2024-05-02": 1}
    assert (summary["first"], summary["last"]) == ("2024-04-30T23:59:59Z", "2024-05-02T08:00:00Z")
    assert summary["in_window"] == 2  # both edges are clips' exact seconds
    assert summary["bytes"] == sum(r.size for r in manifest.rows)


def test_camera_filter_narrows_the_clips_in_the_window_but_lists_everything(drive):
    manifest = index(drive, start=utc(2024, 4, 1), end=utc(2024, 6, 1), camera="front door")
    assert manifest.summary["in_window"] == 3
    assert len(manifest.rows) == 6
    assert not rows_by_path(manifest)["blink/24-05/24-05-01/12-05-00_Back Yard_002.mp4"].camera_match


@pytest.mark.parametrize("workers", [1, 3])
def test_any_number_of_workers_gives_the_same_manifest(drive, workers):
    assert index(drive, workers=workers).rows == index(drive, workers=2).rows


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty"),
        (b"\x00\x00\x00\x18moov" + b"\x00" * 40, "not_mp4"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "not_mp4"),
        (mp4("t")[:1000], "truncated"),  # the mdat box claims more bytes than remain
        (mp4("t")[:30], "truncated"),  # cut inside the second box's header
    ],
)
def test_content_problems_are_flagged(tmp_path, content, problem):
    put(tmp_path, "blink/24-05/24-05-01/12-00-00_Cam_001.mp4", content)
    (row,) = index(tmp_path).rows
    assert codes(row) == [problem] and row.size == len(content)


def test_an_mdat_running_to_the_end_of_the_file_is_not_truncated(tmp_path):
    ftyp = mp4("x")[:24]
    put(tmp_path, "clip.mp4", ftyp + (0).to_bytes(4, "big") + b"mdat" + b"data" * 100)
    (row,) = index(tmp_path).rows
    assert row.problems == []


def test_duplicate_content_names_the_other_files(tmp_path):
    put(tmp_path, "blink/24-05/24-05-01/12-00-00_Cam_001.mp4", mp4("same"))
    put(tmp_path, "blink_backup/24-05/01-12-00-00_Cam_77.mp4", mp4("same"))
    put(tmp_path, "blink/24-05/24-05-01/12-01-00_Cam_002.mp4", mp4("other"))
    put(tmp_path, "empty1.mp4", b"")
    put(tmp_path, "empty2.mp4", b"")
    rows = rows_by_path(index(tmp_path))
    assert rows["blink/24-05/24-05-01/12-00-00_Cam_001.mp4"].problems[-1] == {
        "code": "duplicate", "others": "blink_backup/24-05/01-12-00-00_Cam_77.mp4"}
    assert rows["blink_backup/24-05/01-12-00-00_Cam_77.mp4"].problems[-1]["others"] == (
        "blink/24-05/24-05-01/12-00-00_Cam_001.mp4")
    assert rows["blink/24-05/24-05-01/12-01-00_Cam_002.mp4"].problems == []
    assert codes(rows["empty1.mp4"]) == ["empty"]  # empty files are flagged as empty, not as copies


def test_symlinks_are_reported_and_never_followed(tmp_path):
    outside = put(tmp_path, "outside/secret.mp4", mp4("secret"))
    root = tmp_path / "drive"
    put(root, "blink/24-05/24-05-01/12-00-00_Cam_001.mp4", mp4("a"))
    (root / "escape.mp4").symlink_to(outside)
    (root / "escape_dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "inside.mp4").symlink_to("blink/24-05/24-05-01/12-00-00_Cam_001.mp4")
    rows = rows_by_path(index(root))
    assert set(rows) == {"blink/24-05/24-05-01/12-00-00_Cam_001.mp4", "escape.mp4", "escape_dir", "inside.mp4"}
    assert rows["escape.mp4"].problems == [{"code": "symlink_outside", "target": str(outside)}]
    assert codes(rows["escape_dir"]) == ["symlink_outside"]
    assert codes(rows["inside.mp4"]) == ["symlink"]
    for name in ("escape.mp4", "escape_dir", "inside.mp4"):
        assert rows[name].sha256 == "" and rows[name].size is None and rows[name].kind == "unrecognized"
    secret = hashlib.sha256(outside.read_bytes()).hexdigest()
    assert all(row.sha256 != secret for row in rows.values())


def test_a_name_that_is_not_utf8_is_reported_and_still_hashed(tmp_path):
    raw = os.fsencode(tmp_path) + b"/blink/24-05/24-05-01/12-00-00_Cam\xff_001.mp4"
    os.makedirs(os.path.dirname(raw))
    with open(raw, "wb") as out:
        out.write(mp4("bad name"))
    (row,) = index(tmp_path).rows
    assert row.path == "blink/24-05/24-05-01/12-00-00_Cam\\xff_001.mp4"
    assert codes(row) == ["non_utf8_name"]
    assert row.sha256 == hashlib.sha256(mp4("bad name")).hexdigest()
    json.dumps(usb.to_dict(index(tmp_path)))  # storable as text


def _refuse(target, error):
    """os.open that fails with ``error`` for paths ending in ``target`` (root reads everything,
    so permission errors cannot be made with chmod when the suite runs as root)."""
    real_open = os.open

    def fake(path, flags, *args, **kwargs):
        if os.fsencode(path).endswith(target):
            raise PermissionError(error, os.strerror(error))
        return real_open(path, flags, *args, **kwargs)

    return fake


def test_an_unreadable_file_is_reported_and_the_rest_is_indexed(drive, monkeypatch):
    monkeypatch.setattr(usb.os, "open", _refuse(b"_Back Yard_002.mp4", errno.EACCES))
    rows = rows_by_path(index(drive))
    locked = rows["blink/24-05/24-05-01/12-05-00_Back Yard_002.mp4"]
    assert locked.problems == [{"code": "unreadable", "error": "Permission denied"}]
    assert locked.sha256 == "" and locked.kind == "local" and locked.camera == "Back Yard"
    assert sum(1 for r in rows.values() if r.sha256) == 5


def test_an_unreadable_folder_is_reported_and_the_rest_is_indexed(drive, monkeypatch):
    monkeypatch.setattr(usb.os, "open", _refuse(b"/blink_backup", errno.EACCES))
    rows = rows_by_path(index(drive))
    assert codes(rows["blink_backup/"]) == ["unreadable"]
    assert sum(1 for r in rows.values() if r.sha256) == 5


def test_without_permission_for_o_noatime_files_are_read_without_it(drive, monkeypatch):
    real_open = os.open

    def no_noatime(path, flags, *args, **kwargs):
        if flags & os.O_NOATIME:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(usb.os, "open", no_noatime)
    manifest = index(drive)
    assert manifest.summary["hashed"] == 6 and "unreadable" not in manifest.summary["problems"]


def test_a_fifo_is_reported_and_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.mp4")  # opening it for reading would block forever
    (row,) = index(tmp_path).rows
    assert row.problems == [{"code": "special_file", "type": "FIFO"}] and row.sha256 == ""


def _entries(root):
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, ""]:
            yield os.path.join(dirpath, name)


def _contents(paths):
    return {path: Path(path).read_bytes() for path in paths if os.path.isfile(path)}


def _metadata(paths):
    """Modification and access times and modes, read without opening or listing anything
    (listing a folder would itself move its access time). A symbolic link's own access time
    is left out: reading where it points (readlink) moves it, as documented in usb.py."""
    return {path: (st.st_mtime_ns, None if stat.S_ISLNK(st.st_mode) else st.st_atime_ns, st.st_mode)
            for path in paths for st in [os.lstat(path)]}


def test_indexing_changes_nothing_on_the_drive(drive):
    put(drive, "empty.mp4", b"")
    put(drive, "truncated.mp4", mp4("t")[:900])
    os.mkfifo(drive / "pipe")
    (drive / "link.mp4").symlink_to("blink/24-05/24-05-01/12-00-00_Front_Door_001.mp4")
    paths = list(_entries(drive))
    contents = _contents(paths)
    # Access times far in the past: a plain read would move them even on a relatime mount.
    for path in paths:
        os.utime(path, ns=(OLD_ATIME_NS, os.lstat(path).st_mtime_ns), follow_symlinks=False)
    metadata = _metadata(paths)
    manifest = index(drive, workers=2)
    assert manifest.summary["hashed"] == 8
    assert _metadata(paths) == metadata
    assert list(_entries(drive)) == paths  # nothing added
    assert _contents(paths) == contents


def test_csv_neutralises_formulas_in_names_and_json_keeps_them_exact(tmp_path):
    put(tmp_path, "blink/24-05/24-05-01/12-00-00_=HYPERLINK(1)_001.mp4", mp4("f"))
    manifest = index(tmp_path)
    lines = usb.to_csv(manifest).decode().splitlines()
    assert lines[0] == ",".join(usb.CSV_COLUMNS)
    cells = lines[1].split(",")
    assert cells[2] == "'=HYPERLINK(1)"
    assert usb.to_dict(manifest)["files"][0]["camera"] == "=HYPERLINK(1)"


def test_csv_marks_a_window_edge_crossed_by_two_readings_as_uncertain(tmp_path):
    put(tmp_path, "ha/20241103_013000_Porch.mp4", mp4("p"))
    manifest = index(tmp_path, start=utc(2024, 11, 3, 6), end=utc(2024, 11, 4))
    record = dict(zip(usb.CSV_COLUMNS, usb.to_csv(manifest).decode().splitlines()[1].split(",")))
    assert record["in_window"] == "uncertain"
    assert (record["time_utc"], record["time_utc_alternative"]) == ("2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z")
    assert record["time_local"] == "2024-11-03T01:30:00-04:00"
    assert manifest.summary["in_window"] == 0 and manifest.summary["uncertain"] == 1
