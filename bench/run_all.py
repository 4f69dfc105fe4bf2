"""Run every benchmark in bench/ and write one Markdown table of their figures.

    .venv/bin/python bench/run_all.py [--out bench/results.md] [--timeout 1800] [--only NAME ...]

Each script gets ``--markdown <its own temporary file>`` (the convention in bench/README.md).
A script that fails, times out or reports nothing still gets a ``failed`` row and the run goes
on, so one broken benchmark never hides the others' figures.
"""
import argparse
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import COLUMNS, row

BENCH_DIR = Path(__file__).resolve().parent
SELF = Path(__file__).name


def discover(only=()):
    scripts = sorted(p for p in BENCH_DIR.glob("*.py")
                     if not p.name.startswith("_") and p.name != SELF)
    if only:
        scripts = [p for p in scripts if p.stem in only]
    return scripts


def run_script(script, timeout):
    """Run one script; return (its rows, failure message or None)."""
    with tempfile.NamedTemporaryFile("r", suffix=".md", prefix=f"bench-{script.stem}-") as rows_file:
        # A new session lets a timeout stop the script together with any server it started.
        proc = subprocess.Popen([sys.executable, str(script), "--markdown", rows_file.name],
                                cwd=BENCH_DIR.parent, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            return read_rows(rows_file.name), f"timed out after {timeout} s"
        rows = read_rows(rows_file.name)
    if proc.returncode != 0:
        sys.stderr.write(stderr)  # only a failure's error output: the rest is progress noise
        return rows, f"exit status {proc.returncode}: {last_line(stderr)}"
    if not rows:
        return rows, "wrote no row (does it accept --markdown FILE?)"
    return rows, None


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.startswith("|")]


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no error output"


def machine():
    return (f"{platform.node()} · {platform.platform()} · {os.cpu_count()} CPUs · "
            f"Python {platform.python_version()}")


def write_table(out, results):
    lines = [
        "# Benchmark figures",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for script, rows, failure, seconds in results:
        lines.extend(rows)
        if failure:
            lines.append(row(script.stem, "failed", "", "", failure))
        lines.append(row(script.stem, "wall time", f"{seconds:.1f}", "s", "whole script"))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.md")
    parser.add_argument("--timeout", type=int, default=1800,
                        help="seconds per script (the simulated year alone takes 12-15 minutes on a quiet 2-core machine)")
    parser.add_argument("--only", nargs="*", default=(), metavar="NAME",
                        help="run only these scripts (names without .py)")
    args = parser.parse_args(argv)
    results = []
    for script in discover(args.only):
        print(f"== {script.name}", flush=True)
        started = time.monotonic()
        rows, failure = run_script(script, args.timeout)
        results.append((script, rows, failure, time.monotonic() - started))
        print(f"   {len(rows)} figures" + (f"; FAILED: {failure}" if failure else ""), flush=True)
    write_table(args.out, results)
    print(f"Wrote {args.out}")
    return 1 if any(failure for _, _, failure, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
