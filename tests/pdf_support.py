"""Helpers for the PDF tests: text and attachments of a PDF, page images, a canary server."""
import http.server
import io
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "pdf-pages"


def pdf_text(content):
    """All the text of a PDF with its whitespace collapsed (line breaks fall anywhere)."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def squash(text):
    return re.sub(r"[\s\u200b]+", "", text)  # also the break opportunities pdf.breakable adds


def embedded_files(content):
    """Names of every file embedded in the PDF: the /EmbeddedFiles name tree, the PDF/A-3 /AF
    array and file-attachment annotations."""
    reader = PdfReader(io.BytesIO(content))
    root = reader.trailer["/Root"]
    found = list(reader.attachments)
    found += [str(f) for f in root.get("/AF", [])]
    for page in reader.pages:
        for annotation in page.get("/Annots", []) or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append("annotation")
    return found


def save_page_images(content, name, last_page=None):
    """Page images for a person to look at (kept by CI as an artifact): artifacts/pdf-pages/."""
    if not shutil.which("pdftoppm"):
        if settings.IN_CI:
            pytest.fail("pdftoppm (poppler-utils) is missing; scripts/setup.sh --test installs it")
        return []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(name + "-*.png"):
        old.unlink()
    pdf_path = ARTIFACTS / (name + ".pdf")
    pdf_path.write_bytes(content)
    pages = ["-l", str(last_page)] if last_page else []
    subprocess.run(["pdftoppm", "-png", "-r", "70", *pages, str(pdf_path), str(ARTIFACTS / name)],
                   check=True, timeout=60)
    return sorted(ARTIFACTS.glob(name + "-*.png"))


class _Counting(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    do_POST = do_HEAD = do_GET

    def log_message(self, *args):
        pass


def _serve(redirect_to=""):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)  # a free port
    server.hits, server.redirect_to = [], redirect_to
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Canary:
    """A loopback server that counts every request, and one that redirects to it."""

    def __enter__(self):
        self.target = _serve()
        self.redirector = _serve("http://127.0.0.1:%d/redirected" % self.target.server_port)
        return self

    def __exit__(self, *exc):
        for server in (self.target, self.redirector):
            server.shutdown()
            server.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.target.server_port

    @property
    def redirect_url(self):
        return "http://127.0.0.1:%d" % self.redirector.server_port

    @property
    def hits(self):
        return self.target.hits + self.redirector.hits


def payloads(canary, canary_file, huge_bytes):
    """Hostile inputs: markup, every way HTML, CSS and SVG can load a resource, file:// paths
    to a canary file, loopback URLs, a redirect to loopback and a huge data: URL."""
    url, redirect, path = canary.url, canary.redirect_url, canary_file
    svg = ('<svg xmlns="http://www.w3.org/2000/svg"><image href="%s/in-data-svg"/></svg>' % url)
    import base64
    svg_b64 = base64.b64encode(svg.encode()).decode()
    huge = "data:image/png;base64," + "A" * huge_bytes
    return [
        "<b>bold</b>",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "</td></tr></table><h1>forged</h1>",
        '<img src="%s/img">' % url,
        '<img src="file://%s">' % path,
        '<img srcset="%s/srcset 2x">' % url,
        '<link rel="attachment" href="file://%s">' % path,
        '<link rel="attachment" href="%s/attach">' % url,
        '<a rel="attachment" href="file://%s">doc</a>' % path,
        '<link rel="stylesheet" href="%s/css">' % url,
        '<style>@import url("%s/import");</style>' % url,
        "@import url(file://%s);" % path,
        "<style>body{background:url(%s/bg)}</style>" % url,
        "<div style=\"background-image:url('%s/inline')\">x</div>" % url,
        "url(%s/bare)" % url,
        '<svg><image href="%s/svg"/></svg>' % url,
        '<svg xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file://%s"/></svg>' % path,
        '<svg><use href="%s/use#x"/></svg>' % url,
        '<iframe src="%s/iframe"></iframe>' % url,
        '<object data="file://%s"></object>' % path,
        '<embed src="%s/embed">' % url,
        '<video poster="%s/poster"></video>' % url,
        '<input type="image" src="%s/input">' % url,
        '<meta http-equiv="refresh" content="0;url=%s/meta">' % url,
        '<base href="%s/"><img src="relative.png">' % url,
        '<img src="%s/redirect">' % redirect,
        '<img src="data:image/svg+xml;base64,%s">' % svg_b64,
        "javascript:alert(document.cookie)",
        "{{ settings.SECRET_KEY }}{% debug %}",
        '<img src="%s">' % huge,
    ]
