"""The PDF renderer on its own: the locked-down URL fetcher, PDF/A output, and the limits of
the child process. (Documents built from requests are in test_documents*.py.)"""
import base64
import io

import pytest
import weasyprint
from pypdf import PdfReader

from preservation.documents import pdf
from tests.pdf_support import Canary, embedded_files, payloads, pdf_text

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "branding").mkdir(parents=True)
    (settings.MEDIA_ROOT / "branding" / "agency-1-abc.png").write_bytes(PNG_1PX)
    (settings.MEDIA_ROOT / "secret.png").write_bytes(PNG_1PX)
    return settings.MEDIA_ROOT


@pytest.fixture
def fetcher(media):
    return pdf.safe_url_fetcher(media_root=media)


@pytest.mark.parametrize("url, content_type", [
    (pdf.STATIC_PREFIX + "pdf/document.css", "text/css"),
    (pdf.MEDIA_PREFIX + "branding/agency-1-abc.png", "image/png"),
    ("data:image/png;base64," + base64.b64encode(PNG_1PX).decode(), "image/png"),
    ("data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E", "image/svg+xml"),
])
def test_the_fetcher_serves_our_static_files_the_logo_and_small_data_images(fetcher, url, content_type):
    response = fetcher.fetch(url)
    assert response.content_type == content_type
    assert response.read()
    assert fetcher.refused == []


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://127.0.0.1:8150/x",
    "https://example.com/logo.png",
    "ftp://127.0.0.1/x",
    "https://preserve.invalid.example.com/static/pdf/document.css",
    pdf.STATIC_PREFIX + "../../../etc/passwd",
    pdf.STATIC_PREFIX + "%2e%2e/%2e%2e/etc/passwd",
    pdf.STATIC_PREFIX + "pdf/missing.css",
    pdf.STATIC_PREFIX + "/etc/passwd",
    pdf.STATIC_PREFIX + "js/documents.js",  # a static file, but not a type a document may load
    pdf.MEDIA_PREFIX + "secret.png",  # media outside the logo folder
    pdf.MEDIA_PREFIX + "branding/../secret.png",
    pdf.MEDIA_PREFIX + "branding/%2e%2e/secret.png",
    "data:text/html,<script>alert(1)</script>",
    "data:text/css,body{background:url(http://127.0.0.1:8150/)}",
    "data:image/png;base64,not*base64",
    "data:image/png;base64," + "A" * (300 * 1024),
])
def test_the_fetcher_refuses_everything_else(fetcher, url):
    with pytest.raises(pdf.RefusedURL):
        fetcher.fetch(url)
    assert len(fetcher.refused) == 1


def test_a_refused_url_is_logged_without_its_path_or_payload(fetcher):
    with pytest.raises(pdf.RefusedURL):
        fetcher.fetch("http://127.0.0.1:8150/owner@example.com/G8T1SJ0232940 1VR")
    assert fetcher.refused == ["http://127.0.0.1:8150"]


@pytest.fixture
def canary_file(tmp_path):
    path = tmp_path / "canary.txt"
    path.write_text("CANARY-4f1c9e secret contents")
    return path


def _hostile_html(items):
    # No escaping at all: this is what a template bug would let through, to prove the fetcher
    # alone stops every load.
    return "<html><head><title>t</title></head><body>%s</body></html>" % "\n".join(items)


def test_raw_hostile_html_loads_nothing_through_the_safe_fetcher(fetcher, canary_file):
    with Canary() as canary:
        content = pdf.html_to_pdf(_hostile_html(payloads(canary, canary_file, 300 * 1024)), fetcher=fetcher)
        assert canary.hits == []
    assert embedded_files(content) == []
    assert "CANARY-4f1c9e" not in pdf_text(content)
    assert fetcher.refused  # the loads were attempted, and refused


def test_the_canary_test_would_catch_a_permissive_fetcher(canary_file):
    """The control: WeasyPrint's default fetcher does reach the canary and embed the file."""
    with Canary() as canary:
        html = _hostile_html(payloads(canary, canary_file, 10))
        content = weasyprint.HTML(string=html).write_pdf()
        assert canary.hits
    assert embedded_files(content)


def test_output_is_pdf_a_3b_with_title_author_and_subject():
    html = ('<html lang="en"><head><title>Title here</title><meta name="author" content="Agency A">'
            '<meta name="description" content="CRIM# 42"></head><body><p>x</p></body></html>')
    reader = PdfReader(io.BytesIO(pdf.html_to_pdf(html, fetcher=pdf.safe_url_fetcher())))
    assert (reader.metadata.title, reader.metadata.author, reader.metadata.subject) == (
        "Title here", "Agency A", "CRIM# 42")
    xmp = reader.xmp_metadata
    part = xmp.get_nodes_in_namespace("", "http://www.aiim.org/pdfa/ns/id/")
    values = {node.localName: (node.nodeValue or node.firstChild.nodeValue) for node in part}
    assert (values["part"], values["conformance"]) == ("3", "B")


def test_bounded_rendering_reports_progress_and_pages():
    seen = []
    rendered = pdf.render_bounded("<p>one</p><p style='break-before: page'>two</p>", on_progress=seen.append)
    assert rendered.content.startswith(b"%PDF-")
    assert rendered.pages == 2
    assert seen == sorted(seen) and seen[-1] >= 75
    assert rendered.peak_memory_kib > 10 * 1024  # the child's own peak: an interpreter and WeasyPrint


def test_a_render_that_runs_past_the_wall_clock_limit_is_stopped():
    with pytest.raises(pdf.RenderError) as error:
        # Long enough that no warm render server finishes it inside the limit.
        pdf.render_bounded("<p>%s</p>" % ("many words " * 40) * 5000, limits={"WALL_SECONDS": 0.2})
    assert error.value.code == "timeout"


def test_a_render_that_needs_more_memory_than_allowed_fails_cleanly():
    big = "<p>%s</p>" % ("many words " * 40) * 5000  # a few hundred pages
    with pytest.raises(pdf.RenderError) as error:
        pdf.render_bounded(big, limits={"MEMORY_MB": 64})
    assert error.value.code in ("memory", "failed")


@pytest.mark.parametrize("html, expected", [
    ("<td>short words stay as they are</td>", "<td>short words stay as they are</td>"),
    ("<td>" + "A" * 100 + "</td>", "<td>" + "|".join(["A" * 40, "A" * 40, "A" * 20]) + "</td>"),
    # an entity counts as one character and is never cut in half
    ("<p>" + "&amp;" * 41 + "</p>", "<p>" + "&amp;" * 40 + "|&amp;</p>"),
    ('<img src="' + "B" * 100 + '">', '<img src="' + "B" * 100 + '">'),  # attributes untouched
])
def test_long_unbroken_text_gets_break_opportunities_so_layout_stays_linear(html, expected):
    assert pdf.breakable(html).replace(pdf.ZERO_WIDTH_SPACE, "|") == expected


def test_the_print_stylesheet_is_parsed_once_per_process_through_the_locked_down_fetcher(tmp_path, monkeypatch):
    stylesheet = tmp_path / "document.css"
    stylesheet.write_text('@import url("file:///etc/hostname"); @import url("http://127.0.0.1:8230/x.css");\n'
                          "p { color: red }")
    made, make_fetcher = [], pdf.safe_url_fetcher
    monkeypatch.setattr(pdf, "safe_url_fetcher", lambda **kwargs: made.append(make_fetcher(**kwargs)) or made[-1])
    pdf._parsed_stylesheet.cache_clear()
    try:
        where = {"static_files": {pdf.DOCUMENT_STYLESHEET: str(stylesheet)}, "media_root": tmp_path}
        first = pdf.document_stylesheet(**where)
        assert pdf.document_stylesheet(**where) is first
    finally:
        pdf._parsed_stylesheet.cache_clear()
    assert len(made) == 1 and len(made[0].refused) == 2  # both imports refused, nothing read


def _font_names(content):
    return {str(font["/BaseFont"]).split("+")[-1] for page in PdfReader(io.BytesIO(content)).pages
            for font in page["/Resources"]["/Font"].values()}


@pytest.mark.parametrize("document_styles, mono", [(True, True), (False, False)])
def test_document_renders_get_the_print_stylesheet_applied_in_the_child(document_styles, mono):
    rendered = pdf.render_bounded('<p class="mono">G8T1-9412-0000-AB00</p>', document_styles=document_styles)
    assert ("DejaVu-Sans-Mono" in _font_names(rendered.content)) is mono
