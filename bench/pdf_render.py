"""PDF rendering: the request PDF of a request with 25 serials.

    .venv/bin/python bench/pdf_render.py [--repeat 15] [--markdown FILE]

Measures, in this process, the median time WeasyPrint takes to turn the request's HTML into a
PDF/A-3b (through the locked-down URL fetcher, with the print stylesheet parsed once per process
as the application does), the median for a minimal one-page document (no stylesheet) with the
same options, and their ratio (goal: at most 2x). Both wall-clock and CPU time (this process's
CPU time: steadier when other processes load the machine). The request's time is also split
into WeasyPrint's phases (HTML parsing, style cascade, box tree, layout, PDF writing). Then the
bounded path the application uses (the warm render server forks a child with CPU, memory and
wall-clock limits per document) against the in-process render of the same HTML, interleaved in
the same run, and their ratio (goal: at most 1.3x); the first bounded document, which starts the
server, is timed on its own. And the peak memory of the render child (its own VmHWM).
Prints only its figures: WeasyPrint's log lines are silenced. Data: an in-memory SQLite
database of its own.
"""
import argparse
import logging
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = "sqlite://:memory:"

from _report import add_markdown_argument, append_rows  # noqa: E402


def setup_request():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)
    from tests.factories import AgencyFactory, RequestFactory, UserFactory

    agency = AgencyFactory(name="Springfield Police Department", postal_address="100 Main Street\nSpringfield")
    user = UserFactory(agency=agency)
    serials = ["G8T1-9412-%04d-AB%02d" % (i, i) for i in range(25)]
    return RequestFactory(agency=agency, created_by=user, serials=serials)


def timed(function, repeat, clock=time.perf_counter):
    times = []
    for _ in range(repeat):
        started = clock()
        function()
        times.append(clock() - started)
    return statistics.median(times)


def phases(html, stylesheets, fetcher, repeat):
    """Median CPU milliseconds of each of WeasyPrint's phases for ``html``."""
    import weasyprint
    from weasyprint import document as wp_document

    from preservation.documents import pdf

    spent = {}

    def clocked(name, function):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0) + time.process_time() - started
        return wrapper

    originals = {name: getattr(wp_document, name)
                 for name in ("get_all_computed_styles", "build_formatting_structure")}
    runs = []
    try:
        wp_document.get_all_computed_styles = clocked("styles", originals["get_all_computed_styles"])
        wp_document.build_formatting_structure = clocked("boxes", originals["build_formatting_structure"])
        for _ in range(repeat):
            spent.clear()
            started = time.process_time()
            parsed = weasyprint.HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=fetcher)
            spent["parse"] = time.process_time() - started
            rendered = clocked("render", parsed.render)(stylesheets=stylesheets, **pdf.PDF_OPTIONS)
            clocked("write", rendered.write_pdf)(**pdf.PDF_OPTIONS)
            spent["layout"] = spent.pop("render") - spent["styles"] - spent["boxes"]
            runs.append(dict(spent))
    finally:
        for name, function in originals.items():
            setattr(wp_document, name, function)
    return {name: 1000 * statistics.median(run[name] for run in runs) for name in runs[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    add_markdown_argument(parser)
    args = parser.parse_args()
    # Only our figures on standard output: WeasyPrint logs every step and every refused resource.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    logging.getLogger("weasyprint").propagate = False

    request = setup_request()
    from django.utils import timezone, translation

    from preservation.documents import pdf
    from preservation.documents import services as documents
    from preservation.models import DocumentKind

    now = timezone.now()
    with translation.override(request.language):
        context = documents.document_context(request, DocumentKind.REQUEST, now=now)
    html = pdf.render_html(documents.TEMPLATES[DocumentKind.REQUEST], context,
                           language=request.language, zone=request.agency.time_zone)
    minimal = "<html lang=\"en\"><head><title>Minimal</title></head><body><p>One page.</p></body></html>"
    styles = [pdf.document_stylesheet()]
    pdf.html_to_pdf(html, stylesheets=styles), pdf.html_to_pdf(minimal)  # warm up fonts and caches

    # Interleaved, so that load from other processes weighs on both alike.
    pairs, cpu_pairs = [], []
    for _ in range(args.repeat):
        pairs.append((timed(lambda: pdf.html_to_pdf(html, stylesheets=styles), 1),
                      timed(lambda: pdf.html_to_pdf(minimal), 1)))
        cpu_pairs.append((timed(lambda: pdf.html_to_pdf(html, stylesheets=styles), 1, time.process_time),
                          timed(lambda: pdf.html_to_pdf(minimal), 1, time.process_time)))
    request_s = statistics.median(r for r, _ in pairs)
    minimal_s = statistics.median(m for _, m in pairs)
    request_cpu_s = statistics.median(r for r, _ in cpu_pairs)
    minimal_cpu_s = statistics.median(m for _, m in cpu_pairs)
    cpu_ratio = statistics.median(r / m for r, m in cpu_pairs)
    split = phases(html, styles, pdf.safe_url_fetcher(), args.repeat)
    pages = len(pdf.layout(html, stylesheets=styles).pages)
    child_peaks = []

    def bounded():
        child_peaks.append(pdf.render_bounded(html, document_styles=True).peak_memory_kib)

    first_bounded_s = timed(bounded, 1)  # starts this process's render server
    bounded_runs = max(3, args.repeat // 3)
    bounded_pairs = [(timed(bounded, 1), timed(lambda: pdf.html_to_pdf(html, stylesheets=styles), 1))
                     for _ in range(bounded_runs)]
    bounded_s = statistics.median(b for b, _ in bounded_pairs)
    in_process_s = statistics.median(i for _, i in bounded_pairs)
    bounded_ratio = statistics.median(b / i for b, i in bounded_pairs)
    child_peak_mib = max(child_peaks) / 1024
    self_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = statistics.median(r / m for r, m in pairs)

    print("request PDF, 25 serials (%d pages): median %.1f ms over %d runs" % (pages, request_s * 1000, args.repeat))
    print("minimal one-page PDF:            median %.1f ms" % (minimal_s * 1000))
    print("ratio: %.2fx (goal <= 2x)" % ratio)
    print("CPU time: request %.1f ms, minimal %.1f ms, ratio %.2fx" % (
        request_cpu_s * 1000, minimal_cpu_s * 1000, cpu_ratio))
    print("request CPU by phase (ms): " + ", ".join("%s %.1f" % item for item in split.items()))
    print("bounded path (warm server, forked child with limits): median %.0f ms, in-process %.0f ms, "
          "ratio %.2fx over %d pairs (goal <= 1.3x); first document incl. server start %.0f ms" % (
              bounded_s * 1000, in_process_s * 1000, bounded_ratio, bounded_runs, first_bounded_s * 1000))
    print("peak memory: child process %.0f MiB, this process %.0f MiB (max RSS)" % (child_peak_mib, self_peak_mib))
    notes = "25 serials, %d pages, in-process WeasyPrint, PDF/A-3b, median of %d" % (pages, args.repeat)
    append_rows(args.markdown, "pdf_render", [
        ("request PDF render", "%.1f" % (request_s * 1000), "ms", notes),
        ("minimal one-page render", "%.1f" % (minimal_s * 1000), "ms", "same options, median of %d" % args.repeat),
        ("ratio request / minimal", "%.2f" % ratio, "x", "median of interleaved pairs; goal <= 2"),
        ("request PDF render, CPU", "%.1f" % (request_cpu_s * 1000), "ms", "process CPU time, median of %d" % args.repeat),
        ("minimal one-page render, CPU", "%.1f" % (minimal_cpu_s * 1000), "ms", "process CPU time, median of %d" % args.repeat),
        ("ratio request / minimal, CPU", "%.2f" % cpu_ratio, "x", "median of interleaved pairs; goal <= 2"),
        ("bounded render end to end", "%.0f" % (bounded_s * 1000), "ms",
         "warm render server, forked child with rlimits, median of %d" % bounded_runs),
        ("in-process render, paired with bounded", "%.0f" % (in_process_s * 1000), "ms",
         "same HTML, interleaved with the bounded runs, median of %d" % bounded_runs),
        ("ratio bounded / in-process", "%.2f" % bounded_ratio, "x",
         "median of interleaved pairs, same run; goal <= 1.3"),
        ("first bounded render incl. server start", "%.0f" % (first_bounded_s * 1000), "ms",
         "once per process"),
        ("peak memory (child)", "%.0f" % child_peak_mib, "MiB", "peak RSS (VmHWM) of the render child processes"),
        ("peak memory (in-process)", "%.0f" % self_peak_mib, "MiB", "max RSS of this process after %d renders" % (2 * args.repeat)),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
