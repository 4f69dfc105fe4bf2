"""bench/run_all.py (`make bench`): one table from every script, whatever happens to each."""
import sys
import textwrap

import pytest
from django.conf import settings

sys.path.insert(0, str(settings.BASE_DIR / "bench"))

import _report  # noqa: E402
import run_all  # noqa: E402

SCRIPTS = {
    "good.py": """
        import argparse
        from _report import add_markdown_argument, append_rows
        parser = argparse.ArgumentParser()
        add_markdown_argument(parser)
        args = parser.parse_args()
        print("speed 42 ms")
        append_rows(args.markdown, "good", [("speed", 42, "ms", "10 runs | median")])
    """,
    "broken.py": """
        import sys
        print("starting", file=sys.stderr)
        sys.exit("database preserve_bench does not exist")
    """,
    "silent.py": "print('measured something but wrote no row')",
    "slow.py": "import time; time.sleep(30)",
    "_helper.py": "raise SystemExit('a helper is never run')",
}


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    for name, body in SCRIPTS.items():
        (tmp_path / name).write_text(textwrap.dedent(body))
    (tmp_path / "_report.py").write_text((settings.BASE_DIR / "bench/_report.py").read_text())
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    return tmp_path


def table_rows(path):
    return [line for line in path.read_text().splitlines() if line.startswith("| ")]


def test_every_script_but_helpers_is_run_in_alphabetical_order(bench_dir):
    assert [p.name for p in run_all.discover()] == ["broken.py", "good.py", "silent.py", "slow.py"]
    assert [p.name for p in run_all.discover(["good", "slow"])] == ["good.py", "slow.py"]


def test_one_table_keeps_every_figure_and_records_each_failure_without_stopping(bench_dir, tmp_path):
    out = tmp_path / "results.md"
    status = run_all.main(["--out", str(out), "--timeout", "3"])
    rows = table_rows(out)
    assert status == 1
    assert rows[0] == "| bench | figure | value | unit | notes |"
    assert "| good | speed | 42 | ms | 10 runs \\| median |" in rows
    failures = {row.split(" | ")[0][2:]: row for row in rows if " | failed | " in row}
    assert set(failures) == {"broken", "silent", "slow"}
    assert "exit status 1: database preserve_bench does not exist" in failures["broken"]
    assert "wrote no row" in failures["silent"]
    assert "timed out after 3 s" in failures["slow"]
    assert not any(row.startswith("| _helper") for row in rows)


def test_a_run_where_every_script_succeeds_exits_zero(bench_dir, tmp_path):
    out = tmp_path / "results.md"
    assert run_all.main(["--out", str(out), "--only", "good"]) == 0
    assert [r.split(" | ")[1] for r in table_rows(out)[1:]] == ["speed", "wall time"]


@pytest.mark.parametrize("value, cell", [
    ("a|b", "a\\|b"), ("two\nlines", "two lines"), (" 3.5 ", "3.5"), (0, "0"),
])
def test_cells_never_break_the_table(value, cell):
    assert _report.cell(value) == cell


def test_rows_are_appended_only_when_a_file_is_given(tmp_path):
    _report.append_rows(None, "x", [("f", 1, "s", "")])
    path = tmp_path / "rows.md"
    _report.append_rows(path, "x", [("f", 1, "s", "")])
    _report.append_rows(path, "x", [("g", 2, "s", "n")])
    assert path.read_text() == "| x | f | 1 | s |  |\n| x | g | 2 | s | n |\n"
