"""Render our PDF templates to bytes: locked-down resources, bounded time and memory.

``render_pdf(template, context, language=..., zone=...)`` renders the Django template in the
document's language and time zone, then lets WeasyPrint turn the HTML into a PDF/A-3b in a
child process under CPU, memory and wall-clock limits, so a hostile input cannot hang or
exhaust a worker. The child is forked per document from a warm render server (one per
process, started on first use), so a document does not pay for an interpreter and WeasyPrint
start. ``html_to_pdf`` is the in-process step the child runs (and the benchmark measures).
Nothing here touches the database or stores anything.

Resources: every ``HTML`` and ``CSS`` gets ``SafeURLFetcher``, which serves only our own static
files under ``pdf/`` (found through the staticfiles finders, in the parent: the child sets up
no Django), the agency logo under MEDIA_ROOT/branding/, and small ``data:`` images. It opens no network connection and no other file, so redirects,
timeouts and ``file://`` paths cannot arise. User text only ever enters the templates
autoescaped; the fetcher is the second wall if that ever fails.
"""
import atexit
import base64
import binascii
import functools
import json
import logging
import os
import re
import resource
import signal
import subprocess
import sys
import socket
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from django.conf import settings
from django.utils.safestring import mark_safe

logger = logging.getLogger(__name__)

# Relative URLs in our templates resolve against this origin; ".invalid" never resolves
# (RFC 2606), so even a bug elsewhere could not turn one into a network request.
BASE_URL = "https://preserve.invalid/"
STATIC_PREFIX = BASE_URL + "static/"
MEDIA_PREFIX = BASE_URL + "media/"
# Empty spans the print stylesheet fills with counter(page) and counter(pages): documents put
# them in their "Page x of y" sentence, whose word order each language chooses.
PAGE_MARKERS = {
    "page_marker": mark_safe('<span class="page-number"></span>'),
    "pages_marker": mark_safe('<span class="page-count"></span>'),
}
STATIC_DIR = "pdf/"  # the only static files a document may load
LOGO_DIR = "branding/"
ALLOWED_FILE_TYPES = {
    ".css": "text/css", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
ALLOWED_DATA_TYPES = {"image/png", "image/jpeg", "image/gif", "image/svg+xml"}
MAX_FILE_BYTES = 2 * 1024 * 1024

# WeasyPrint reports its steps as "Step N - ..." on this logger; 7 steps to a finished PDF.
_STEP = re.compile(r"Step (\d)")
RENDER_STEPS = 7


def _limits():
    return settings.PRESERVE_PDF


class RenderError(Exception):
    """Rendering did not finish. ``code``: timeout, memory, cpu or failed."""

    def __init__(self, code, detail=""):
        super().__init__("%s: %s" % (code, detail) if detail else code)
        self.code = code


class RefusedURL(ValueError):
    """A resource outside what documents may load (WeasyPrint logs it and carries on)."""


# --- The URL fetcher ----------------------------------------------------------------------------


def _weasyprint():
    # Imported late: the web process only needs WeasyPrint in the child and the benchmark.
    import weasyprint
    return weasyprint


def _make_fetcher_class():
    weasyprint = _weasyprint()

    class SafeURLFetcher(weasyprint.URLFetcher):
        """Static files, the agency logo and small data: images; nothing else, ever."""

        def __init__(self, *, static_files, media_root, data_url_max_bytes):
            # fetch() is replaced below; the parent's options matter only as documentation of
            # intent and for WeasyPrint's own checks (errors warn, never stop the rendering).
            super().__init__(allow_redirects=False, fail_on_errors=False)
            self.static_files = static_files
            self.media_root = Path(media_root)
            self.data_url_max_bytes = data_url_max_bytes
            self.refused = []

        def fetch(self, url, headers=None):
            try:
                body, content_type = self._resolve(url)
            except RefusedURL as refusal:
                self.refused.append(_redact(url))
                raise refusal
            return weasyprint.urls.URLFetcherResponse(
                url, body, headers={"Content-Type": content_type}
            )

        def _resolve(self, url):
            if url.startswith("data:"):
                return _decode_data_url(url, self.data_url_max_bytes)
            if url.startswith(STATIC_PREFIX):
                return _read_file(_find_static(self.static_files, url[len(STATIC_PREFIX):]))
            if url.startswith(MEDIA_PREFIX):
                return _read_file(_find_logo(self.media_root, url[len(MEDIA_PREFIX):]))
            raise RefusedURL("not an allowed resource")

    return SafeURLFetcher


def safe_url_fetcher(*, static_files=None, media_root=None, data_url_max_bytes=None):
    return _make_fetcher_class()(
        static_files=document_static_files() if static_files is None else static_files,
        media_root=media_root or settings.MEDIA_ROOT,
        data_url_max_bytes=data_url_max_bytes or _limits()["DATA_URL_MAX_BYTES"],
    )


@functools.lru_cache(maxsize=1)
def document_static_files():
    """{relative path: absolute path} of every static file under pdf/, as the staticfiles
    finders resolve them (the first finder that has a path wins, as for collectstatic)."""
    from django.contrib.staticfiles import finders

    found = {}
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            path = path.replace(os.sep, "/")
            if path.startswith(STATIC_DIR) and path not in found:
                found[path] = storage.path(path)
    return found


def _redact(url):
    # Enough to see what was refused without copying a huge or personal URL into logs.
    parts = urlsplit(url[:200])
    return "%s://%s" % (parts.scheme, parts.netloc) if parts.netloc else url[:16]


def _relative_path(path):
    """A clean relative path, or refused: no "..", no absolute paths, no odd characters."""
    path = unquote(path.split("?", 1)[0].split("#", 1)[0])
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or "\\" in path or "\x00" in path or ".." in parts:
        raise RefusedURL("bad path")
    return str(PurePosixPath(*parts))


def _find_static(static_files, path):
    found = static_files.get(_relative_path(path))
    if not found:
        raise RefusedURL("not a static file of the documents")
    return Path(found)


def _find_logo(media_root, path):
    path = _relative_path(path)
    if not path.startswith(LOGO_DIR):
        raise RefusedURL("only the agency logo is served from media")
    root = media_root.resolve()
    full = (root / path).resolve()
    if root not in full.parents:
        raise RefusedURL("outside the media folder")
    return full


def _read_file(path):
    content_type = ALLOWED_FILE_TYPES.get(path.suffix.lower())
    if content_type is None or not path.is_file():
        raise RefusedURL("file type not allowed")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RefusedURL("file too large")
    return path.read_bytes(), content_type


def _decode_data_url(url, max_bytes):
    if len(url) > max_bytes:
        raise RefusedURL("data: URL too large")
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise RefusedURL("malformed data: URL")
    media_type, *params = header.split(";")
    media_type = media_type.strip().lower() or "text/plain"
    if media_type not in ALLOWED_DATA_TYPES:
        raise RefusedURL("data: type not allowed")
    if "base64" in params:
        try:
            return base64.b64decode(payload, validate=True), media_type
        except (binascii.Error, ValueError):
            raise RefusedURL("bad base64") from None
    return unquote_to_bytes(payload), media_type


# --- In-process rendering -----------------------------------------------------------------------


PDF_OPTIONS = {"pdf_variant": "pdf/a-3b", "presentational_hints": False}
DOCUMENT_STYLESHEET = STATIC_DIR + "document.css"  # the print stylesheet of our document templates


def document_stylesheet(*, static_files=None, media_root=None):
    """The documents' print stylesheet, parsed once per process and reused by every render
    (parsing it on each render was ~15% of a request PDF's rendering time). It is ours and
    trusted; it is still parsed through the locked-down fetcher, which serves it and nothing else."""
    static_files = document_static_files() if static_files is None else static_files
    return _parsed_stylesheet(static_files[DOCUMENT_STYLESHEET], str(media_root or settings.MEDIA_ROOT))


@functools.lru_cache(maxsize=2)
def _parsed_stylesheet(path, media_root):
    fetcher = safe_url_fetcher(static_files={DOCUMENT_STYLESHEET: path}, media_root=media_root,
                               data_url_max_bytes=1)
    return _weasyprint().CSS(url=STATIC_PREFIX + DOCUMENT_STYLESHEET, url_fetcher=fetcher)


IMAGE_CACHE_ENTRIES = 32  # images kept decoded between documents (the logo, mostly)


@functools.lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration
    return FontConfiguration()


_image_cache = {}


def _shared_image_cache():
    # One cache for every document of the process (in a render child: the server's copy).
    # Bounded: data: images are keyed by their whole URL.
    if len(_image_cache) > IMAGE_CACHE_ENTRIES:
        _image_cache.clear()
    return _image_cache


def layout(html, *, fetcher=None, stylesheets=()):
    """HTML string → laid-out WeasyPrint document, in this process. Metadata comes from the
    HTML head: <title>, <meta name=author> and <meta name=description> (the PDF's Subject).
    ``stylesheets``: parsed ``CSS`` objects applied after the HTML's own (document_stylesheet).
    One font configuration and one image cache serve every document (WeasyPrint's advice)."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(
        string=html, base_url=BASE_URL, url_fetcher=fetcher or safe_url_fetcher()
    )
    return document.render(stylesheets=list(stylesheets), font_config=_font_config(),
                           cache=_shared_image_cache(), **PDF_OPTIONS)


def html_to_pdf(html, *, fetcher=None, stylesheets=()):
    """HTML string → PDF/A-3b bytes, in this process (the child's work; the benchmark's too)."""
    return layout(html, fetcher=fetcher, stylesheets=stylesheets).write_pdf(**PDF_OPTIONS)


# --- Bounded rendering: a warm fork server ------------------------------------------------------


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    pages: int
    refused_urls: int
    peak_memory_kib: int = 0  # the render child's own peak resident memory (VmHWM; 0 where unknown)


def render_html(template_name, context, *, language, zone):
    """The document's HTML in its own language and time zone."""
    # Imported here: the render server imports this module and needs none of the template layer.
    from django.template.loader import render_to_string
    from django.utils import timezone, translation

    with translation.override(language), timezone.override(zone):
        return breakable(render_to_string(template_name, context))


_TEXT = re.compile(r">([^<]+)<")
_LONG_RUN = re.compile(r"(?:&#?\w+;|[^\s&])" r"{%d,}" % 41)
_ATOM = re.compile(r"&#?\w+;|[^&]")
BREAK_EVERY = 40
ZERO_WIDTH_SPACE = "\u200b"


def breakable(html):
    """Give every run of more than 40 non-space characters in the text a break opportunity
    (a zero-width space) every 40 characters. WeasyPrint's line breaking is quadratic in the
    length of an unbroken word: a pasted 64 KB string would take minutes; this keeps it linear.
    Only text between tags is touched, and entities (``&amp;``) are never split."""
    def split_run(run):
        atoms = _ATOM.findall(run.group(0))
        return ZERO_WIDTH_SPACE.join(
            "".join(atoms[i:i + BREAK_EVERY]) for i in range(0, len(atoms), BREAK_EVERY)
        )

    return _TEXT.sub(lambda text: ">%s<" % _LONG_RUN.sub(split_run, text.group(1)), html)


def render_pdf(template_name, context, *, language, zone, on_progress=None):
    """One of our document templates (templates/preservation/pdf/, which leave the print
    stylesheet to ``document_stylesheet``) as a bounded PDF."""
    html = render_html(template_name, context, language=language, zone=zone)
    return render_bounded(html, on_progress=on_progress, document_styles=True)


def render_bounded(html, *, on_progress=None, limits=None, document_styles=False):
    """Run ``layout`` + ``write_pdf`` in a child process under the PRESERVE_PDF limits.
    ``document_styles``: apply ``document_stylesheet`` (HTML that links no stylesheet itself).

    The child is forked from this process's render server (``RenderServer``), which has
    imported WeasyPrint, started fontconfig and parsed the stylesheet once, so a document pays
    for its own layout only. ``on_progress(percent)`` is called from this thread as WeasyPrint
    reports its steps. Raises RenderError when the child runs out of time, CPU or memory, or
    fails; the server stays up for the next document.
    """
    limits = {**_limits(), **(limits or {})}
    job = {
        "html": html, "media_root": str(settings.MEDIA_ROOT), "static_files": document_static_files(),
        "memory_mb": limits["MEMORY_MB"], "cpu_seconds": limits["CPU_SECONDS"],
        "wall_seconds": limits["WALL_SECONDS"], "data_url_max_bytes": limits["DATA_URL_MAX_BYTES"],
        "document_styles": document_styles,
    }
    return render_server().render(job, on_progress)


def _failure_code(exit_report, report):
    if exit_report.get("timeout"):
        return "timeout"
    if report.get("error") == "memory":
        return "memory"
    if exit_report.get("status") in (-signal.SIGXCPU, -signal.SIGKILL):  # soft, then hard CPU limit
        return "cpu"
    return "failed"


_server = None
_server_lock = threading.Lock()


def render_server():
    """This process's render server, started on first use and again if it died (and in a
    process forked from one that had it: a Celery prefork child gets its own)."""
    global _server
    with _server_lock:
        if _server is None or not _server.serves(os.getpid()):
            if _server is not None:
                _server.control.close()  # a dead server's, or the forking parent's copy
            else:
                atexit.register(_stop_server)
            _server = RenderServer()
        return _server


def _stop_server():
    if _server is not None and _server.serves(os.getpid()):
        _server.stop()


class RenderServer:
    """A fresh interpreter (not a fork of this process: web and Celery workers are threaded
    or daemonic) that sets up no Django and warms WeasyPrint once. Per document it forks a
    supervisor, which forks the render child: the child applies the CPU and memory limits and
    renders; the supervisor holds the wall-clock limit and reports how the child ended. The
    server itself never renders an untrusted document, so no document can take it down.

    Documents travel over a socket pair per render whose far end is handed to the server over
    a private control socket (SCM_RIGHTS): nothing listens on a path or a port."""

    def __init__(self):
        self.owner = os.getpid()
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.send_lock = threading.Lock()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "preservation.documents.pdf", str(theirs.fileno())],
                cwd=settings.BASE_DIR, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
            )
        self.process.stdin.write(json.dumps({
            "static_files": document_static_files(), "media_root": str(settings.MEDIA_ROOT),
        }).encode())
        self.process.stdin.close()
        self.control.settimeout(_limits()["WALL_SECONDS"])
        ready = self._receive_ready()
        self.control.settimeout(None)
        if ready != b"READY":
            self.stop()
            raise RenderError("failed", "the render server did not start")

    def _receive_ready(self):
        try:
            return self.control.recv(16)
        except OSError:
            return b""

    def serves(self, pid):
        return pid == self.owner and self.process.poll() is None

    def stop(self):
        self.control.close()  # the server sees the end of its control socket and exits
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def render(self, job, on_progress):
        ours, theirs = socket.socketpair()
        with ours:
            with theirs, self.send_lock:
                try:
                    socket.send_fds(self.control, [b"J"], [theirs.fileno()])
                except OSError:
                    raise RenderError("failed", "the render server is gone") from None
            body = json.dumps(job).encode()
            ours.sendall(b"%d\n" % len(body) + body)
            # The supervisor ends the child at the wall-clock limit; this only guards against
            # a server that stopped answering altogether.
            ours.settimeout(job["wall_seconds"] + 10)
            with ours.makefile("rb") as stream:
                return _read_result(stream, on_progress)


def _read_result(stream, on_progress):
    """Relay the child's progress; its report and PDF, then the supervisor's word on how it
    ended. A stream that ends early (a crash of the server) is a failure too."""
    report, content, reported = {}, b"", 0
    try:
        for line in stream:  # "PROGRESS <percent>"..., "REPORT <json>" + PDF, "EXIT <json>"
            kind, _, value = line.decode().strip().partition(" ")
            if kind == "PROGRESS" and on_progress and int(value) > reported:
                # Steps can come out of order (stylesheets parse early); never go backwards.
                reported = int(value)
                on_progress(reported)
            elif kind == "REPORT":
                report = json.loads(value)
                content = stream.read(report.get("size", 0))
            elif kind == "EXIT":
                return _result(json.loads(value), report, content)
    except (OSError, ValueError):
        pass
    raise RenderError("failed", "the render server stopped answering")


def _result(exit_report, report, content):
    if exit_report.get("status") != 0 or "pages" not in report or len(content) != report["size"]:
        raise RenderError(_failure_code(exit_report, report))
    return RenderedPdf(content, report["pages"], report["refused"], report["peak_kib"])


# --- The server, its supervisors and render children (run as ``python -m``) ---------------------


def _serve(control_fd):
    config = json.loads(sys.stdin.buffer.read())
    control = socket.socket(fileno=control_fd)
    _quiet_logs()
    # Fontconfig, Pango and HarfBuzz start up here, on trusted input, before any limit applies:
    # starved of memory, fontconfig fails to read its configuration and writes an empty font
    # cache for the whole machine. Every child inherits them, the font configuration and the
    # parsed stylesheet, ready (WeasyPrint's own advice: one font configuration, one image cache).
    html_to_pdf("<p>.</p>", fetcher=safe_url_fetcher(static_files={}, media_root=config["media_root"],
                                                      data_url_max_bytes=1),
                stylesheets=[document_stylesheet(**config)])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    control.send(b"READY")
    while True:
        message, fds, _, _ = socket.recv_fds(control, 16, 1)
        if not message:
            return 0  # the owning process has gone
        for fd in fds:
            _fork_supervisor(control, socket.socket(fileno=fd))


def _fork_supervisor(control, conn):
    if os.fork() == 0:
        code = 1
        try:
            control.close()
            code = _supervise(conn)
        finally:
            os._exit(code)
    conn.close()


def _supervise(conn):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    stream = conn.makefile("rb")
    job = json.loads(stream.read(int(stream.readline())))
    child = os.fork()
    if child == 0:
        code = 1
        try:
            code = _render_child(conn, job)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    timed_out = threading.Event()

    def stop(*_):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            return  # the child was reaped just as the limit came: it finished in time
        timed_out.set()

    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, job["wall_seconds"])
    _, status = os.waitpid(child, 0)  # retried after the alarm's handler has run
    signal.setitimer(signal.ITIMER_REAL, 0)
    _send(conn, "EXIT", json.dumps({"status": os.waitstatus_to_exitcode(status),
                                    "timeout": timed_out.is_set()}))
    return 0


def _render_child(conn, job):
    memory = job["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (job["cpu_seconds"], job["cpu_seconds"] + 1))
    _report_progress(conn)
    try:
        fetcher = safe_url_fetcher(
            static_files=job["static_files"], media_root=job["media_root"],
            data_url_max_bytes=job["data_url_max_bytes"],
        )
        stylesheets = [document_stylesheet(static_files=job["static_files"], media_root=job["media_root"])
                       ] if job["document_styles"] else []
        document = layout(job["html"], fetcher=fetcher, stylesheets=stylesheets)
        content = document.write_pdf(**PDF_OPTIONS)
    except MemoryError:
        _send(conn, "REPORT", json.dumps({"error": "memory"}))
        return 3
    _send(conn, "REPORT", json.dumps({"pages": len(document.pages), "refused": len(fetcher.refused),
                                      "peak_kib": _peak_memory_kib(), "size": len(content)}))
    conn.sendall(content)
    return 0


def _peak_memory_kib():
    # Not getrusage: ru_maxrss survives exec and fork, so it would report the server's size.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def _send(conn, kind, text):
    conn.sendall(("%s %s\n" % (kind, text)).encode())


def _report_progress(conn):
    class ProgressHandler(logging.Handler):
        def emit(self, record):
            match = _STEP.match(record.getMessage())
            if match:
                _send(conn, "PROGRESS", min(99, round(100 * int(match.group(1)) / (RENDER_STEPS + 1))))

    progress = logging.getLogger("weasyprint.progress")
    progress.handlers = [ProgressHandler()]
    progress.propagate = False
    progress.setLevel(logging.INFO)


def _quiet_logs():
    # Refused resources are expected with hostile input; their URLs are not for the logs.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    logging.getLogger("weasyprint.progress").propagate = False


if __name__ == "__main__":
    sys.exit(_serve(int(sys.argv[1])))
