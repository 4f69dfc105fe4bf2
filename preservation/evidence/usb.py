"""Index a seized Blink USB drive or a copy of one (docs/blink.md §6) into a hashed manifest.

Pure: no ORM and no clock of its own (``now`` is passed in). It recognises the names Blink,
Home Assistant and blinkpy give to clips, walks the tree without changing it, hashes every
regular file (in parallel threads: hashlib releases the GIL on large buffers, so two threads
use both cores), flags problems and summarises.

Never changing the evidence means: every file and folder is opened read-only with
``O_NOATIME`` (falling back without it where the kernel refuses it to a non-owner),
``O_NOFOLLOW`` everywhere, symbolic links are reported and never followed, special files
(FIFOs, devices) are never opened, and nothing is written here at all. Reading a link's
target may still update the link's own access time on a filesystem mounted with atime
updates: forensic practice mounts seized media read-only anyway.
"""

import csv
import errno
import hashlib
import io
import json
import os
import re
import stat
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from preservation.core.spreadsheet import safe_cell

LOCAL, BACKUP, HOMEASSISTANT, BLINKPY, UNRECOGNIZED = (
    "local", "backup", "homeassistant", "blinkpy", "unrecognized",
)
KINDS = {
    LOCAL: _("Sync Module local storage"),
    BACKUP: _("Clip backup"),
    HOMEASSISTANT: _("Home Assistant download (local time)"),
    BLINKPY: _("blinkpy download"),
    UNRECOGNIZED: _("Not recognised"),
}
BACKUP_FOLDERS = {"blink_backup", "blink_backups"}

# Problem codes (stored in the database) and how they read; the parameters come from the row.
PROBLEMS = {
    "empty": _("Empty file (0 bytes)."),
    "not_mp4": _("Not an MP4: no “ftyp” box at offset 4."),
    "truncated": _("Truncated: an MP4 box runs past the end of the file (%(box)s at byte %(offset)d)."),
    "impossible_date": _("Impossible date or time in the name: %(value)s."),
    "folder_mismatch": _("The date folder %(day)s is not inside its month folder %(month)s."),
    "ambiguous_time": _(
        "Local time %(value)s happened twice in %(zone)s (clocks went back): it is either "
        "%(first)s or %(second)s."
    ),
    "nonexistent_time": _(
        "Local time %(value)s never happened in %(zone)s (clocks went forward): read with the "
        "offset before or after the change it is %(first)s or %(second)s."
    ),
    "offset_sign_lost": _(
        "The name's UTC offset %(value)s lost its sign: the clip is from %(first)s or %(second)s."
    ),
    "duplicate": _("Same content as %(others)s."),
    "unreadable": _("Could not be read: %(error)s. Skipped."),
    "non_utf8_name": _("The name is not valid UTF-8; undecodable bytes are shown as \\xNN."),
    "symlink": _("Symbolic link to %(target)s, not followed (its target is indexed on its own)."),
    "symlink_outside": _("Symbolic link to %(target)s, outside the drive: not followed."),
    "special_file": _("Not a regular file (%(type)s): not opened."),
    "changed": _("The file changed while it was being indexed: hash it again from a stable copy."),
}
# Short names of the problems, for counts.
PROBLEM_LABELS = {
    "empty": _("empty"),
    "not_mp4": _("not an MP4"),
    "truncated": _("truncated"),
    "impossible_date": _("impossible date"),
    "folder_mismatch": _("date folder in the wrong month"),
    "ambiguous_time": _("local time happened twice"),
    "nonexistent_time": _("local time never happened"),
    "offset_sign_lost": _("UTC offset without sign"),
    "duplicate": _("duplicate content"),
    "unreadable": _("unreadable"),
    "non_utf8_name": _("name not UTF-8"),
    "symlink": _("symbolic link"),
    "symlink_outside": _("symbolic link out of the drive"),
    "special_file": _("not a regular file"),
    "changed": _("changed while indexing"),
}

# Small enough to stay in a core's L2 cache between the kernel's copy and the hash.
CHUNK = 256 << 10
MAX_TOP_LEVEL_BOXES = 100_000
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NOATIME = getattr(os, "O_NOATIME", 0)

# Blink writes ASCII digits; camera names may hold anything a file name can, line breaks too.
_NAME_FLAGS = re.IGNORECASE | re.DOTALL | re.ASCII
_DATE_DIR = re.compile(r"(\d{2})-(\d{2})-(\d{2})", re.ASCII)
_MONTH_DIR = re.compile(r"(\d{2})-(\d{2})", re.ASCII)
_LOCAL_FILE = re.compile(r"(\d{2})-(\d{2})-(\d{2})_(.+)_(\d+)\.mp4", _NAME_FLAGS)
_BACKUP_FILE = re.compile(r"(\d{2})-(\d{2})-(\d{2})-(\d{2})_(.+)_([^\W_]+)\.mp4", _NAME_FLAGS)
_HA_FILE = re.compile(r"(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})_(.+)\.mp4", _NAME_FLAGS)
# blinkpy slugifies "<camera>-<created_at>": "+00:00" becomes "-00-00", fractions "-123".
_BLINKPY_FILE = re.compile(
    r"(.+)-(\d{4})-(\d{2})-(\d{2})t(\d{2})-(\d{2})-(\d{2})(?:-(\d{1,6}))?-(\d{2})-(\d{2})\.mp4",
    _NAME_FLAGS,
)


def problem(code, **params):
    return {"code": code, **params}


def problem_text(item):
    return PROBLEMS[item["code"]] % item


# --- Names -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """What a file's place and name say about the clip."""

    kind: str = UNRECOGNIZED
    camera: str = ""
    clip_number: str = ""
    camera_uid: str = ""
    # The UTC instant; when the name allows two readings, the earlier one, and the later in alt.
    recorded_at: datetime | None = None
    recorded_at_alt: datetime | None = None
    problems: tuple = ()


def _utc(year, month, day, hour, minute, second):
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _ints(match, *groups):
    return [int(match.group(g)) for g in groups]


def _dated(kind, parts, text, **fields):
    """A Name for a UTC date-time, or the impossible-date problem when it does not exist."""
    instant = _utc(*parts)
    problems = () if instant else (problem("impossible_date", value=text),)
    return Name(kind=kind, recorded_at=instant, problems=problems, **fields)


def _local(parts, match):
    date_dir = _DATE_DIR.fullmatch(parts[-2]) if len(parts) >= 2 else None
    if not date_dir:
        return None
    yy, mm, dd = _ints(date_dir, 1, 2, 3)
    hh, mi, ss = _ints(match, 1, 2, 3)
    name = _dated(
        LOCAL, (2000 + yy, mm, dd, hh, mi, ss), "%s %s" % (parts[-2], match.group(0)[:8]),
        camera=match.group(4), clip_number=match.group(5),
    )
    month_dir = _MONTH_DIR.fullmatch(parts[-3]) if len(parts) >= 3 else None
    if month_dir and month_dir.group(0) != parts[-2][:5]:
        extra = problem("folder_mismatch", day=parts[-2], month=parts[-3])
        name = replace(name, problems=name.problems + (extra,))
    return name


def _backup(parts, match):
    month_dir = _MONTH_DIR.fullmatch(parts[-2]) if len(parts) >= 2 else None
    if not month_dir:
        return None
    yy, mm = _ints(month_dir, 1, 2)
    dd, hh, mi, ss = _ints(match, 1, 2, 3, 4)
    return _dated(
        BACKUP, (2000 + yy, mm, dd, hh, mi, ss), "%s %s" % (parts[-2], match.group(0)[:11]),
        camera=match.group(5), camera_uid=match.group(6),
    )


def local_readings(wall, zone):
    """Every UTC instant at which a clock in ``zone`` showed ``wall`` (naive): one normally,
    two on the night clocks go back. A time inside the spring-forward gap was never shown;
    its two readings (offset before, offset after the change) come back with ``False``."""
    readings = sorted({wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    existed = all(r.astimezone(zone).replace(tzinfo=None) == wall for r in readings)
    return readings, existed


def _homeassistant(match, zone):
    """Home Assistant names carry the downloading computer's local time; on a clock-change
    night it may stand for two instants. Both are kept and the row is flagged: guessing one
    could put a clip on the wrong side of a window edge."""
    parts = _ints(match, 1, 2, 3, 4, 5, 6)
    fields = {"kind": HOMEASSISTANT, "camera": match.group(7)}
    text = "%s_%s" % (match.group(0)[:8], match.group(0)[9:15])
    try:
        wall = datetime(*parts)
    except ValueError:
        return Name(problems=(problem("impossible_date", value=text),), **fields)
    readings, existed = local_readings(wall, zone)
    if len(readings) == 1:
        return Name(recorded_at=readings[0], **fields)
    code = "ambiguous_time" if existed else "nonexistent_time"
    flagged = problem(code, value=wall.isoformat(sep=" "), zone=str(zone.key),
                      first=_iso(readings[0]), second=_iso(readings[1]))
    return Name(recorded_at=readings[0], recorded_at_alt=readings[1], problems=(flagged,), **fields)


def _blinkpy(match):
    parts = _ints(match, 2, 3, 4, 5, 6, 7)
    fields = {"kind": BLINKPY, "camera": match.group(1)}
    instant = _utc(*parts)
    if instant is None:
        text = "%04d-%02d-%02d %02d:%02d:%02d" % tuple(parts)
        return Name(problems=(problem("impossible_date", value=text),), **fields)
    offset = timedelta(hours=int(match.group(9)), minutes=int(match.group(10)))
    if not offset:
        return Name(recorded_at=instant, **fields)
    first, second = instant - offset, instant + offset
    flagged = problem("offset_sign_lost", value="%s:%s" % (match.group(9), match.group(10)),
                      first=_iso(first), second=_iso(second))
    return Name(recorded_at=first, recorded_at_alt=second, problems=(flagged,), **fields)


def recognise(parts, zone):
    """The Name of a file from its path components (str, relative to the drive's root)."""
    filename = parts[-1]
    match = _LOCAL_FILE.fullmatch(filename)
    if match and (name := _local(parts, match)):
        return name
    match = _BACKUP_FILE.fullmatch(filename)
    if match and (name := _backup(parts, match)):
        return name
    if match := _HA_FILE.fullmatch(filename):
        return _homeassistant(match, zone)
    if match := _BLINKPY_FILE.fullmatch(filename):
        return _blinkpy(match)
    return Name()


def camera_key(name):
    """Cameras compare on letters and digits only, case-folded: a real drive strips
    everything else ("Front Door" is saved as "FrontDoor") and blinkpy slugifies."""
    return "".join(ch for ch in name if ch.isalnum()).casefold()


# --- Walking ---------------------------------------------------------------------------------


@dataclass
class Found:
    """One entry met while walking: its path relative to the root (bytes) and lstat."""

    rel: bytes
    st: os.stat_result | None
    problems: list = field(default_factory=list)

    @property
    def hashable(self):
        return self.st is not None and stat.S_ISREG(self.st.st_mode) and not self.problems


def _open_read(path, flags):
    """os.open with O_NOATIME, falling back without it when the kernel answers EPERM (only
    the file's owner or CAP_FOWNER may use it)."""
    try:
        return os.open(path, flags | _NOATIME)
    except PermissionError as exc:
        if not _NOATIME or exc.errno != errno.EPERM:
            raise
    return os.open(path, flags)


def _special_type(mode):
    for test, label in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                        (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return label
    return "unknown"


def _symlink_problem(root, dir_path, name, dir_fd):
    target = os.fsencode(os.readlink(name, dir_fd=dir_fd))
    resolved = os.path.realpath(os.path.join(dir_path, target))
    inside = resolved == root or resolved.startswith(root.rstrip(b"/") + b"/")
    shown = display(target)
    return problem("symlink" if inside else "symlink_outside", target=shown)


def _error_text(exc):
    return os.strerror(exc.errno) if exc.errno else str(exc)


def walk(root):
    """Every entry under ``root`` (bytes, absolute), sorted by path; nothing followed."""
    found, pending = [], [b""]
    while pending:
        rel_dir = pending.pop()
        dir_path = os.path.join(root, rel_dir) if rel_dir else root
        try:
            dir_fd = _open_read(dir_path, _OPEN_FLAGS | os.O_DIRECTORY)
        except OSError as exc:
            found.append(Found(rel_dir + b"/", None, [problem("unreadable", error=_error_text(exc))]))
            continue
        try:
            with os.scandir(dir_fd) as entries:
                for entry in entries:
                    name = os.fsencode(entry.name)
                    rel = os.path.join(rel_dir, name) if rel_dir else name
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(rel)
                    else:
                        found.append(_found(root, dir_path, dir_fd, entry, rel))
        except OSError as exc:
            found.append(Found(rel_dir + b"/", None, [problem("unreadable", error=_error_text(exc))]))
        finally:
            os.close(dir_fd)
    return sorted(found, key=lambda f: f.rel)


def _found(root, dir_path, dir_fd, entry, rel):
    try:
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            return Found(rel, st, [_symlink_problem(root, dir_path, entry.name, dir_fd)])
    except OSError as exc:
        return Found(rel, None, [problem("unreadable", error=_error_text(exc))])
    if not stat.S_ISREG(st.st_mode):
        return Found(rel, st, [problem("special_file", type=_special_type(st.st_mode))])
    return Found(rel, st)


def display(raw):
    """A path or name as text: UTF-8, with undecodable bytes shown as \\xNN."""
    return raw.decode("utf-8", "backslashreplace")


# --- Hashing and content checks ---------------------------------------------------------------


@dataclass
class Hashed:
    size: int | None = None
    sha256: str = ""
    problems: list = field(default_factory=list)


def hash_file(path, expected):
    """SHA-256 and size of a regular file, plus its MP4 problems; errors become problems."""
    try:
        fd = _open_read(path, _OPEN_FLAGS)
    except OSError as exc:
        return Hashed(problems=[problem("unreadable", error=_error_text(exc))])
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (expected.st_dev, expected.st_ino) or not stat.S_ISREG(st.st_mode):
            return Hashed(problems=[problem("changed")])
        return _hash_open(fd, st)
    except OSError as exc:
        return Hashed(problems=[problem("unreadable", error=_error_text(exc))])
    finally:
        os.close(fd)


def _hash_open(fd, st):
    digest, buffer = hashlib.sha256(), bytearray(CHUNK)
    view, size, head = memoryview(buffer), 0, b""
    while n := os.readv(fd, [buffer]):
        if not size:
            head = bytes(view[:8])
        digest.update(view[:n])
        size += n
    problems = mp4_problems(fd, size, head)
    if size != st.st_size or os.fstat(fd).st_mtime_ns != st.st_mtime_ns:
        problems.append(problem("changed"))
    return Hashed(size=size, sha256=digest.hexdigest(), problems=problems)


def mp4_problems(fd, size, head):
    if size == 0:
        return [problem("empty")]
    if head[4:8] != b"ftyp":
        return [problem("not_mp4")]
    return _box_problems(fd, size)


def _box_problems(fd, size):
    """Walk the top-level boxes (ISO/IEC 14496-12 §4.2): a box that claims more bytes than
    the file has left means the file was cut short (an interrupted copy or upload)."""
    offset = 0
    for _ignored in range(MAX_TOP_LEVEL_BOXES):
        if offset >= size:
            return []
        header = os.pread(fd, 16, offset)
        box_size = int.from_bytes(header[:4], "big") if len(header) >= 8 else -1
        if box_size == 1:
            box_size = int.from_bytes(header[8:16], "big") if len(header) == 16 else -1
        if box_size == 0:  # "extends to the end of the file"
            return []
        box_type = header[4:8].decode("latin-1") if len(header) >= 8 else "?"
        if box_size < 8 or offset + box_size > size:
            return [problem("truncated", box=box_type, offset=offset)]
        offset += box_size
    return []


# --- The manifest ------------------------------------------------------------------------------


@dataclass
class Row:
    path: str
    kind: str
    camera: str
    clip_number: str
    camera_uid: str
    recorded_at: datetime | None
    recorded_at_alt: datetime | None
    size: int | None
    sha256: str
    in_window: bool | None
    camera_match: bool
    problems: list

    @property
    def problem_codes(self):
        return [p["code"] for p in self.problems]


@dataclass
class Manifest:
    root: str
    zone: str
    window_start: datetime | None
    window_end: datetime | None
    camera: str
    indexed_at: datetime
    rows: list
    summary: dict


def in_window(readings, start, end):
    """True, False, or None when there is no window, no time, or the readings disagree.
    Inclusive at both ends, to the second (names carry whole seconds)."""
    readings = [r for r in readings if r is not None]
    if not readings or (start is None and end is None):
        return None
    start, end = (t.replace(microsecond=0) if t else None for t in (start, end))

    def inside(instant):
        instant = instant.replace(microsecond=0)
        return (start is None or instant >= start) and (end is None or instant <= end)

    answers = {inside(r) for r in readings}
    return answers.pop() if len(answers) == 1 else None


def index_tree(root, *, zone, now, start=None, end=None, camera="", workers=2,
               on_walked=None, on_hashed=None):
    """The Manifest of everything under ``root``. ``on_walked(entries)`` is called once the
    tree is listed, ``on_hashed(nbytes)`` after each entry is hashed (or skipped)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    root_bytes = os.path.realpath(os.fsencode(root))
    found = walk(root_bytes)
    if on_walked:
        on_walked(found)
    hashed = _hash_all(root_bytes, found, workers, on_hashed)
    rows = [_row(item, result, zone, start, end, camera) for item, result in zip(found, hashed)]
    mark_duplicates(rows)
    return Manifest(
        root=display(root_bytes), zone=zone.key, window_start=start, window_end=end,
        camera=camera, indexed_at=now, rows=rows, summary=summarise(rows, zone, start, end),
    )


def _hash_all(root, found, workers, on_hashed):
    def one(item):
        return hash_file(os.path.join(root, item.rel), item.st) if item.hashable else Hashed()

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = []
        for result in pool.map(one, found):
            results.append(result)
            if on_hashed:
                on_hashed(result.size or 0)
    return results


def _row(item, hashed, zone, start, end, camera):
    parts = [display(part) for part in item.rel.rstrip(b"/").split(b"/")]
    regular = item.st is not None and stat.S_ISREG(item.st.st_mode)
    name = recognise(parts, zone) if regular else Name()
    problems = list(item.problems) + list(name.problems) + hashed.problems
    try:
        item.rel.decode("utf-8")
    except UnicodeDecodeError:
        problems.insert(0, problem("non_utf8_name"))
    return Row(
        path=display(item.rel), kind=name.kind, camera=name.camera, clip_number=name.clip_number,
        camera_uid=name.camera_uid, recorded_at=name.recorded_at, recorded_at_alt=name.recorded_at_alt,
        size=hashed.size, sha256=hashed.sha256,
        in_window=in_window([name.recorded_at, name.recorded_at_alt], start, end),
        camera_match=not camera or camera_key(camera) == camera_key(name.camera),
        problems=problems,
    )


def mark_duplicates(rows):
    """Flag every non-empty file whose content another file repeats, naming the others."""
    by_hash = {}
    for row in rows:
        if row.sha256 and row.size:
            by_hash.setdefault(row.sha256, []).append(row)
    for group in by_hash.values():
        for row in group if len(group) > 1 else ():
            others = [other.path for other in group if other is not row]
            row.problems.append(problem("duplicate", others=", ".join(others)))


def summarise(rows, zone, start, end):
    dated = [r for r in rows if r.recorded_at]
    days = Counter(r.recorded_at.astimezone(zone).date().isoformat() for r in dated)
    problems = Counter(code for r in rows for code in set(r.problem_codes))
    has_window = start is not None or end is not None
    return {
        "files": len(rows),
        "bytes": sum(r.size or 0 for r in rows),
        "hashed": sum(1 for r in rows if r.sha256),
        "by_kind": dict(sorted(Counter(r.kind for r in rows).items())),
        "by_camera": dict(sorted(Counter(r.camera for r in rows if r.kind != UNRECOGNIZED).items())),
        "by_day": dict(sorted(days.items())),
        "first": _iso(min(r.recorded_at for r in dated)) if dated else None,
        "last": _iso(max(r.recorded_at_alt or r.recorded_at for r in dated)) if dated else None,
        "in_window": sum(1 for r in rows if r.in_window and r.camera_match) if has_window else None,
        "uncertain": sum(1 for r in dated if r.in_window is None and r.camera_match) if has_window else None,
        "problems": dict(sorted(problems.items())),
    }


# --- Output ----------------------------------------------------------------------------------

CSV_COLUMNS = [
    "path", "kind", "camera", "clip_number", "camera_uid", "time_utc", "time_utc_alternative",
    "time_local", "size", "sha256", "in_window", "camera_match", "problems",
]


def _iso(instant):
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z").replace("+0000", "Z") if instant else ""


def _local_iso(instant, zone):
    return instant.astimezone(zone).isoformat() if instant else ""


def _yes_no(value):
    return {True: "yes", False: "no", None: ""}[value]


WINDOW_LABELS = {"yes": _("yes"), "no": _("no"), "uncertain": _("uncertain"), "": "—"}


def window_cell(row):
    if row.in_window is None and row.recorded_at and row.recorded_at_alt:
        return "uncertain"
    return _yes_no(row.in_window)


def _safe_cell(text):
    """Spreadsheets run cells starting with = + - @ as formulas, also after a ";" in
    semicolon-splitting spreadsheets: a hostile camera or file name must not
    (preservation/spreadsheet.py). JSON keeps exact text. Manifests store their CSV once, so
    this changes only manifests made from now on."""
    return safe_cell(text)


def row_record(row, zone):
    return {
        "path": row.path, "kind": row.kind, "camera": row.camera,
        "clip_number": row.clip_number, "camera_uid": row.camera_uid,
        "time_utc": _iso(row.recorded_at), "time_utc_alternative": _iso(row.recorded_at_alt),
        "time_local": _local_iso(row.recorded_at, zone), "size": row.size, "sha256": row.sha256,
        "in_window": window_cell(row), "camera_match": _yes_no(row.camera_match),
        "problems": row.problems,
    }


def to_csv(manifest):
    zone = ZoneInfo(manifest.zone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in manifest.rows:
        record = row_record(row, zone)
        record["problems"] = " ".join(str(problem_text(p)) for p in row.problems)
        record["size"] = "" if row.size is None else row.size
        writer.writerow([_safe_cell(str(record[c])) for c in CSV_COLUMNS])
    return out.getvalue().encode("utf-8")


def to_dict(manifest):
    zone = ZoneInfo(manifest.zone)
    return {
        "root": manifest.root, "zone": manifest.zone, "camera": manifest.camera,
        "window_start": _iso(manifest.window_start) or None,
        "window_end": _iso(manifest.window_end) or None,
        "indexed_at": _iso(manifest.indexed_at), "summary": manifest.summary,
        "files": [row_record(row, zone) for row in manifest.rows],
    }


def to_json(manifest):
    return json.dumps(to_dict(manifest), indent=2, ensure_ascii=False).encode("utf-8")


def is_inside(path, root):
    """Whether ``path`` (existing or not) would land inside ``root`` once links are resolved."""
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
