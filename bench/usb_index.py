"""Throughput of `index_usb`'s indexer against `openssl dgst -sha256` on the same files.

    .venv/bin/python bench/usb_index.py [--clips 2000] [--clip-mib 1] [--rounds 3] [--markdown FILE]

Generates a Local Storage + Clip Backup tree of 2,000 clips totalling 2 GB in a temporary
folder under /tmp (real data, not sparse: one random 1 MiB block, each file starting with its
own MP4 header so no two contents are alike), reads every file once so both contenders hash
from the page cache, then in the same run times, in alternating rounds (best of --rounds, 3 by
default, for each, since other processes on a two-core machine can steal a core from any pass):
- `find ... -print0 | xargs -0 openssl dgst -sha256 > /dev/null` (OpenSSL, one core);
- the full index (walk, names, SHA-256, MP4 checks, duplicates, summary) with 1 and 2
  worker threads.
Reports MB/s (10^6 bytes per second) for each and the ratio of the 2-worker index to OpenSSL
(the goal is at least 1.3x on two cores), and the CPU seconds each spends per GB (a figure
other processes on the machine cannot distort). The tree is removed afterwards, whatever happens.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from _report import add_markdown_argument, append_rows  # noqa: E402

from preservation.evidence import usb  # noqa: E402

BENCH = "usb_index"


def mp4_header(index):
    """An ftyp box followed by the header of an mdat box that covers the rest of the file."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + index.to_bytes(4, "big") + b"isomiso2"
    return ftyp + (0).to_bytes(4, "big") + b"mdat"  # size 0: runs to the end of the file


def generate(root, clips, clip_bytes):
    block = os.urandom(clip_bytes)
    start = datetime(2025, 12, 20, tzinfo=UTC)
    for index in range(clips):
        at = start + timedelta(minutes=17 * index)
        if index % 2:
            folder = root / "blink_backup" / at.strftime("%y-%m")
            name = at.strftime("%d-%H-%M-%S") + "_Back Yard_%07d.mp4" % (1234500 + index % 3)
        else:
            folder = root / "blink" / at.strftime("%y-%m") / at.strftime("%y-%m-%d")
            name = at.strftime("%H-%M-%S") + "_Front_Door_%03d.mp4" % (index % 1000)
        folder.mkdir(parents=True, exist_ok=True)
        header = mp4_header(index)
        with open(folder / name, "wb") as out:
            out.write(header + block[len(header):])
    return clips * clip_bytes


def warm(root):
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                while f.read(1 << 22):
                    pass


def _cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measured(run, who):
    """(wall seconds, CPU seconds) of ``run()``; CPU time does not depend on what else the
    machine is doing, so it shows the cost per byte even when a core is stolen."""
    wall, cpu = time.perf_counter(), _cpu_seconds(who)
    run()
    return time.perf_counter() - wall, _cpu_seconds(who) - cpu


def run_openssl(root):
    subprocess.run(
        "find %s -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null" % root,
        shell=True, check=True,
    )


def run_index(root, workers):
    manifest = usb.index_tree(root, zone="UTC", now=datetime.now(UTC), workers=workers)
    if manifest.summary["hashed"] != manifest.summary["files"]:
        raise SystemExit("the index did not hash every file: %r" % manifest.summary)


def one_round(root):
    return (
        measured(lambda: run_openssl(root), resource.RUSAGE_CHILDREN),
        measured(lambda: run_index(root, 1), resource.RUSAGE_SELF),
        measured(lambda: run_index(root, 2), resource.RUSAGE_SELF),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--clip-mib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    add_markdown_argument(parser)
    args = parser.parse_args()
    if not shutil.which("openssl"):
        raise SystemExit("openssl is not installed")
    root = Path(tempfile.mkdtemp(prefix="h8-usb-bench-", dir="/tmp"))
    try:
        total = generate(root, args.clips, int(args.clip_mib * (1 << 20)))
        os.sync()  # the kernel writing 2 GB back to disk must not compete with the timings
        warm(root)
        rounds = [one_round(root) for _round in range(args.rounds)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    (openssl_s, openssl_cpu), (one_s, _cpu), (two_s, two_cpu) = (
        (min(w for w, _c in column), min(c for _w, c in column)) for column in zip(*rounds)
    )
    gb, mb = total / 1e9, total / 1e6
    notes = "%d clips, %.0f MB, page cache warm, best of %d alternating rounds, load average %.1f" % (
        args.clips, mb, args.rounds, os.getloadavg()[0])
    rows = [
        ("openssl dgst -sha256 throughput", round(mb / openssl_s), "MB/s", notes + ", find | xargs"),
        ("index throughput, 1 worker", round(mb / one_s), "MB/s", notes),
        ("index throughput, 2 workers", round(mb / two_s), "MB/s", notes),
        ("index (2 workers) / openssl", round(openssl_s / two_s, 2), "x", notes + ", goal >= 1.3"),
        ("openssl CPU time per GB", round(openssl_cpu / gb, 3), "s", notes),
        ("index (2 workers) CPU time per GB", round(two_cpu / gb, 3), "s",
         notes + "; walk, names, hashes, MP4 checks, summary"),
    ]
    for figure, value, unit, _notes in rows:
        print("%-34s %8s %s" % (figure, value, unit))
    append_rows(args.markdown, BENCH, rows)


if __name__ == "__main__":
    main()
