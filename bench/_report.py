"""The benchmark row format shared by every script in bench/ (see bench/README.md).

Scripts run as ``python bench/<name>.py``, so this module is importable as ``_report``.
"""
from pathlib import Path

COLUMNS = ("bench", "figure", "value", "unit", "notes")


def add_markdown_argument(parser):
    parser.add_argument("--markdown", metavar="FILE", type=Path,
                        help="append one Markdown table row per figure to FILE")


def cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


def row(bench, figure, value, unit, notes=""):
    return "| " + " | ".join(cell(v) for v in (bench, figure, value, unit, notes)) + " |"


def append_rows(path, bench, rows):
    """Append ``rows`` of (figure, value, unit, notes) for ``bench`` to the Markdown file ``path``.

    A no-op when ``path`` is None, so scripts can call it unconditionally.
    """
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as out:
        for figure, value, unit, notes in rows:
            out.write(row(bench, figure, value, unit, notes) + "\n")
