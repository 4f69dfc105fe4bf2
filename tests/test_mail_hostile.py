"""Mail is written by strangers: hostile messages, uploaded through the inbox page and shown on
the message page, cause no server error, never reach another agency's request, and are all
kept byte for byte (docs/correspondence.md "Untrusted mail")."""
import base64
import functools
import io
import zipfile

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from preservation.requests import services
from preservation.correspondence import parsing
from preservation.models import InboundMessage
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

NOW = utc(2026, 4, 21, 12)
pytestmark = pytest.mark.django_db


@functools.cache
def _zip_bomb():
    """A small zip whose one member unpacks to 300 MB of zeros (written in chunks)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(300):
                member.write(chunk)
    return buffer.getvalue()


def _nested(depth, innermost):
    message = innermost
    for level in range(depth):
        message = (b"From: layer%d@example.com\r\nSubject: layer %d\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: message/rfc822\r\n\r\n" % (level, level)) + message
    return message


def _multipart(parts, boundary=b"BOUNDARY"):
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return (b"From: x@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n" + body + b"--" + boundary + b"--\r\n")


def hostile_messages(other):
    """(name, raw bytes); ``other`` is another agency's request, named by the forgeries."""
    ref, crim = other.reference.encode(), other.case_number.encode()
    serial = other.serials.first().raw.encode()
    bomb = base64.encodebytes(_zip_bomb())
    html = (b"<html><head><script>alert(document.cookie)</script><style>body{}</style></head><body>"
            b"<img src=\"https://tracker.example/pixel.gif\"><p onclick=\"steal()\">Hello"
            b"<iframe src=\"https://evil.example\"></iframe><a href=\"javascript:alert(1)\">click</a></p></body></html>")
    return [
        ("blank lines only", b"\r\n\r\n\r\n"),
        ("nul bytes", b"\x00" * 100),
        ("binary garbage", bytes(range(256)) * 20),
        ("no headers", b"just a body with no header at all\r\n"),
        ("header without colon", b"This is not a header\r\nSubject hello\r\n\r\nbody"),
        ("8-bit subject", b"From: a@example.com\r\nSubject: Caf\xe9 \xff\xfe r\xc3\xa9ponse\r\n\r\nbody \xe9"),
        ("8-bit from", b"From: \xe9\xe8 <\xff@exa\xe9mple.com>\r\nSubject: x\r\n\r\nbody"),
        ("bad encoded word", b"From: a@example.com\r\nSubject: =?utf-8?B?!!!not-base64?= =?bogus?Q?x?=\r\n\r\nb"),
        ("unknown charset", b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla"),
        ("bad base64 body", b"From: a@example.com\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\n@@@@!!!"),
        ("huge header", b"From: a@example.com\r\nSubject: " + b"A" * 2_000_000 + b"\r\n\r\nbody"),
        ("ten thousand headers", b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\nbody"),
        ("folded header forever", b"Subject: x\r\n" + b"\t y\r\n" * 50_000 + b"\r\nbody"),
        ("nested rfc822 20 deep", _nested(20, b"From: core@example.com\r\nSubject: core\r\n\r\nthe core")),
        ("nested rfc822 200 deep", _nested(200, b"Subject: core\r\n\r\ncore")),
        ("multipart missing end", b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi"),
        ("multipart no boundary", b"Content-Type: multipart/mixed\r\n\r\n--B\r\n\r\nhi\r\n--B--"),
        ("thousand parts", _multipart([b"Content-Type: text/plain\r\n\r\npart"] * 1000)),
        ("hundred attachments", _multipart([b"Content-Type: application/octet-stream\r\n"
                                            b"Content-Disposition: attachment; filename=\"f.bin\"\r\n\r\nxx"] * 100)),
        ("zip bomb", _multipart([b"Content-Type: text/plain\r\n\r\nsee attached",
                                 b"Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
                                 b"Content-Disposition: attachment; filename=\"invoice.zip\"\r\n\r\n" + bomb])),
        ("broken zip", _multipart([b"Content-Type: application/zip\r\nContent-Disposition: attachment; "
                                   b"filename=\"a.zip\"\r\n\r\nPK\x03\x04garbage"])),
        ("html script and remote images", b"From: a@example.com\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n" + html),
        ("html in alternative", _multipart([b"Content-Type: text/html\r\n\r\n" + html], boundary=b"ALT")),
        ("filename traversal", _multipart([b"Content-Type: application/octet-stream\r\nContent-Disposition: "
                                           b"attachment; filename=\"../../etc/passwd\"\r\n\r\nroot"])),
        ("forged sender naming another agency's reference",
         b"From: lawenforcement@blink.example\r\nSubject: Re: " + ref + b"\r\nAuthentication-Results: mx.evil; "
         b"dmarc=pass\r\n\r\nWe received " + ref + b" for case " + crim + b", device " + serial),
        ("another agency's thread id", b"From: a@example.com\r\nSubject: Re\r\nIn-Reply-To: <" + b"x" * 600 + b">\r\n"
         b"References: " + b" ".join(b"<id%d@example.com>" % i for i in range(5000)) + b"\r\n\r\n" + crim),
        ("date out of range", b"From: a@example.com\r\nDate: Mon, 1 Jan 0001 00:00:00 -2359\r\nSubject: x\r\n\r\nb"),
        ("date far future", b"From: a@example.com\r\nDate: Fri, 31 Dec 9999 23:59:59 -1200\r\nSubject: x\r\n\r\nb"),
        ("date nonsense", b"From: a@example.com\r\nDate: yesterday-ish\r\nSubject: x\r\n\r\nb"),
        ("bidi and control characters", "From: a@example.com\r\nSubject: \u202eevil\u0007\u0000\r\n\r\n\u202e\x1b[31mred".encode()),
        ("lone surrogate escape", b"Subject: \xed\xa0\x80\r\n\r\n\xed\xa0\x80"),
        ("message-id injection", b"Message-ID: <a@b>\r\nSubject: x\r\nTo: \"<script>\"@example.com\r\n\r\n<script>alert(1)</script>"),
    ]


@pytest.fixture
def agencies():
    mine = AgencyFactory()
    user = UserFactory(agency=mine)
    own = RequestFactory(agency=mine, created_by=user, window_start=utc(2026, 4, 10), window_end=utc(2026, 4, 11))
    other = RequestFactory(agency=AgencyFactory(), window_start=utc(2026, 4, 10), window_end=utc(2026, 4, 11))
    with time_machine.travel(NOW, tick=False):
        other = services.request_send(preservation_request=other, actor=other.created_by, sent_at=utc(2026, 4, 19), now=NOW)
    return mine, user, own, other


def test_hostile_messages_cause_no_server_error_no_cross_agency_match_and_are_all_kept(agencies):
    mine, user, own, other = agencies
    client = login(Client(raise_request_exception=False), user)
    messages = hostile_messages(other)
    assert len(messages) >= 25
    statuses = {}
    with time_machine.travel(NOW, tick=False):
        for name, raw in messages:
            upload = SimpleUploadedFile("m.eml", raw, content_type="message/rfc822")
            response = client.post(reverse("preservation:mail_upload"), {"message": upload})
            statuses[name] = [response.status_code]
            if response.status_code == 302:
                statuses[name].append(client.get(response.url).status_code)
    stored = list(InboundMessage.objects.for_agency(mine).order_by("pk"))
    server_errors = {name: codes for name, codes in statuses.items() if any(code >= 500 for code in codes)}
    cross_agency = [m.pk for m in stored if m.request_id is not None and m.request.agency_id != mine.pk]
    print("hostile messages: %d, server errors: %d, cross-agency matches: %d, stored: %d, unparsable: %d, "
          "matched: %d" % (len(messages), len(server_errors), len(cross_agency), len(stored),
                           sum(not m.parsed for m in stored), sum(m.request_id is not None for m in stored)))
    assert server_errors == {}
    assert cross_agency == [] and not other.correspondence.exists()
    assert [bytes(m.raw) for m in stored] == [raw for _, raw in messages]
    assert all(m.sha256 == parsing.sha256(bytes(m.raw)) for m in stored)


def test_html_mail_is_shown_as_words_only(agencies):
    mine, user, own, other = agencies
    client = login(Client(), user)
    raw = dict(hostile_messages(other))["html script and remote images"]
    with time_machine.travel(NOW, tick=False):
        response = client.post(reverse("preservation:mail_upload"), {"message": SimpleUploadedFile("m.eml", raw)})
        page = client.get(response.url).content.decode()
    text = page.split('data-testid="message-text">', 1)[1].split("</pre>", 1)[0]
    assert "Hello" in text and "click" in text
    for unsafe in ("alert", "tracker.example", "evil.example", "javascript:", "onclick", "<"):
        assert unsafe not in text


@pytest.mark.parametrize("name, problem", [
    ("zip bomb", parsing.ARCHIVE_LIMITS),
    ("broken zip", parsing.ARCHIVE_UNREADABLE),
    ("nested rfc822 20 deep", parsing.TOO_DEEP),
    ("thousand parts", parsing.TOO_MANY_PARTS),
    ("hundred attachments", parsing.TOO_MANY_ATTACHMENTS),
    ("huge header", parsing.HEADER_TOO_LONG),
    ("html script and remote images", parsing.HTML_ONLY),
])
def test_each_limit_is_named(agencies, name, problem):
    raw = dict(hostile_messages(agencies[3]))[name]
    assert problem in parsing.parse_message(raw).problems


def test_a_forged_authentication_header_below_the_receiving_servers_is_not_read():
    raw = (b"Authentication-Results: mx.agency.example; spf=fail; dmarc=fail\r\n"
           b"Authentication-Results: mx.evil; dmarc=pass\r\nSubject: x\r\n\r\nbody")
    parsed = parsing.parse_message(raw)
    assert parsed.authentication["dmarc"] == "fail" and not parsed.sender_verified
