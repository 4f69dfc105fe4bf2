"""The warm render server behind ``pdf.render_bounded``: every document is still bounded (wall
clock, CPU, memory), a document that fails leaves the server serving, and documents render
side by side. (The fetcher and the PDF itself are in test_pdf.py.)"""
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from preservation.documents import pdf

TWO_PAGES = "<p>one</p><p style='break-before: page'>two</p>"
HUGE = "<p>%s</p>" % ("many words " * 40) * 5000  # a few hundred pages: seconds of CPU, much memory


def _children(pid):
    try:
        return [int(child) for child in Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()]
    except OSError:
        return []


def _render_children():
    """Pids of the render children: the server's children are supervisors, theirs the renders."""
    server = pdf.render_server().process.pid
    return [child for supervisor in _children(server) for child in _children(supervisor)]


def _renders_again():
    rendered = pdf.render_bounded(TWO_PAGES)
    return rendered.content.startswith(b"%PDF-") and rendered.pages == 2


def test_one_server_serves_document_after_document():
    server = pdf.render_server()
    assert _renders_again() and _renders_again()
    assert pdf.render_server() is server and server.process.poll() is None


@pytest.mark.parametrize("limits, code", [
    ({"WALL_SECONDS": 0.05}, "timeout"),
    ({"CPU_SECONDS": 1}, "cpu"),
    ({"MEMORY_MB": 64}, "memory"),
])
def test_a_document_past_a_limit_fails_and_the_server_serves_the_next(limits, code):
    server = pdf.render_server()
    with pytest.raises(pdf.RenderError) as error:
        pdf.render_bounded(HUGE, limits=limits)
    # Starved of memory, the child may die outside Python's reach before it can say so.
    assert error.value.code == code or (code == "memory" and error.value.code == "failed")
    assert _renders_again()
    assert pdf.render_server() is server


def test_a_render_child_that_crashes_is_a_failed_document_and_the_server_serves_the_next():
    crashed = []

    def crash(percent):
        for child in _render_children():
            if not crashed:
                os.kill(child, signal.SIGSEGV)
                crashed.append(child)

    with pytest.raises(pdf.RenderError) as error:
        pdf.render_bounded(TWO_PAGES, on_progress=crash)
    assert crashed and error.value.code == "failed"
    assert _renders_again()


def test_a_dead_server_is_replaced_on_the_next_document():
    server = pdf.render_server()
    server.process.kill()
    server.process.wait()
    assert _renders_again()
    assert pdf.render_server() is not server


def test_documents_render_side_by_side_each_with_its_own_outcome():
    documents = [TWO_PAGES, "<p>x</p>", TWO_PAGES, "<p>x</p>"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        good = [pool.submit(pdf.render_bounded, html) for html in documents]
        bad = pool.submit(pdf.render_bounded, HUGE, limits={"WALL_SECONDS": 0.05})
        pages = [future.result().pages for future in good]
        with pytest.raises(pdf.RenderError):
            bad.result()
    assert pages == [2, 1, 2, 1]


def test_the_render_child_has_the_limits_and_the_server_does_not(monkeypatch):
    server = pdf.render_server()
    seen = {}

    def look(percent):
        for child in _render_children():
            seen.setdefault("child", Path("/proc/%d/limits" % child).read_text())

    pdf.render_bounded(TWO_PAGES, on_progress=look, limits={"MEMORY_MB": 900, "CPU_SECONDS": 7})
    server_limits = Path("/proc/%d/limits" % server.process.pid).read_text()
    assert "943718400" in seen["child"] and "943718400" not in server_limits
    cpu = next(line for line in seen["child"].splitlines() if line.startswith("Max cpu time"))
    assert cpu.split()[3:5] == ["7", "8"]


def test_the_server_exits_when_its_owner_closes_the_control_socket():
    server = pdf.render_server()
    server.stop()
    assert server.process.returncode is not None
    assert _renders_again()
