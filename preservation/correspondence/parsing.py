"""Reading an email written by a stranger, within limits (docs/correspondence.md "Untrusted
mail").

Pure: bytes in, a ``ParsedMessage`` out, no ORM. Nothing here renders HTML or follows a link:
the text shown is the plain-text part, or text taken from the HTML part with scripts, styles and
images dropped. Every limit breached is reported as a problem code; parsing never raises.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import html.parser
import io
import re
import zipfile
from dataclasses import dataclass, field

# Problem codes (labels in correspondence/presentation.py).
UNPARSABLE = "unparsable"
HEADER_DEFECTS = "header_defects"
TOO_DEEP = "too_deep"
TOO_MANY_PARTS = "too_many_parts"
TOO_MANY_ATTACHMENTS = "too_many_attachments"
ARCHIVE_LIMITS = "archive_limits"
ARCHIVE_UNREADABLE = "archive_unreadable"
HEADER_TOO_LONG = "header_too_long"
TEXT_TRUNCATED = "text_truncated"
HTML_ONLY = "html_only"
NO_DATE = "no_date"


@dataclass(frozen=True)
class Limits:
    max_attachments: int = 50
    max_parts: int = 200
    max_depth: int = 5
    max_header_chars: int = 64 * 1024
    max_text_chars: int = 200_000
    max_archive_entries: int = 1000
    max_archive_bytes: int = 200 * 1024 * 1024
    max_archive_ratio: int = 100
    authserv_ids: tuple[str, ...] = ()


@dataclass
class ParsedMessage:
    subject: str = ""
    from_address: str = ""
    sent_date: dt.datetime | None = None
    message_id: str = ""
    thread_ids: list[str] = field(default_factory=list)
    text: str = ""
    attachments: list[dict] = field(default_factory=list)
    authentication: dict = field(default_factory=dict)
    sender_verified: bool = False
    problems: list[str] = field(default_factory=list)

    def problem(self, code):
        if code not in self.problems:
            self.problems.append(code)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,498})>")
_MAX_THREAD_IDS = 50


def clean(value, limit):
    """Text a database and a page can hold: no lone surrogates (8-bit headers), no NUL or
    other control characters but line breaks and tabs, at most ``limit`` characters."""
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub("", text)[:limit]


def sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def parse_message(raw: bytes, limits: Limits = Limits()) -> ParsedMessage:
    result = ParsedMessage()
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        _read_headers(message, result, limits)
        _read_body(message, result, limits)
    except (Exception, RecursionError):  # a stranger's bytes may break the parser anywhere
        result.problem(UNPARSABLE)
    return result


# --- Headers ------------------------------------------------------------------------------------


def _header(message, name, result, limits):
    try:
        value = message.get(name)
    except Exception:
        result.problem(HEADER_DEFECTS)
        return ""
    if value is None:
        return ""
    text = str(value)
    if len(text) > limits.max_header_chars:
        result.problem(HEADER_TOO_LONG)
    return clean(text, limits.max_header_chars)


def _read_headers(message, result, limits):
    if message.defects:
        result.problem(HEADER_DEFECTS)
    result.subject = clean(_header(message, "Subject", result, limits), 500)
    result.from_address = clean(email.utils.parseaddr(_header(message, "From", result, limits))[1], 320)
    result.sent_date = _date(_header(message, "Date", result, limits))
    if result.sent_date is None:
        result.problem(NO_DATE)
    ids = _MESSAGE_ID.findall(_header(message, "Message-ID", result, limits))
    result.message_id = ids[0] if ids else ""
    thread = " ".join(_header(message, name, result, limits) for name in ("In-Reply-To", "References"))
    result.thread_ids = list(dict.fromkeys(_MESSAGE_ID.findall(thread)))[:_MAX_THREAD_IDS]
    result.authentication = _authentication(message, result, limits)
    result.sender_verified = result.authentication.get("dmarc") == "pass"


def _date(value):
    """The Date header as an aware UTC datetime; a date without a zone (-0000) is read as UTC,
    a date the calendar cannot hold is no date."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


_VERDICT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def _authentication(message, result, limits):
    """The verdicts of the receiving server's Authentication-Results header: the topmost one
    (added last, by our side's server), or the first from a listed authserv-id. Lower headers
    may come from the sender and are not read."""
    try:
        headers = [clean(h, limits.max_header_chars) for h in (message.get_all("Authentication-Results") or [])]
    except Exception:
        result.problem(HEADER_DEFECTS)
        return {}
    for header in headers:
        server = header.split(";", 1)[0].strip().split(" ")[0]
        if limits.authserv_ids and server not in limits.authserv_ids:
            continue
        verdicts = {"server": server[:200]}
        for method, verdict in _VERDICT.findall(header):
            verdicts.setdefault(method.lower(), verdict.lower()[:20])
        return verdicts
    return {}


# --- Body ---------------------------------------------------------------------------------------


def _read_body(message, result, limits):
    texts, htmls = [], []
    counter = {"parts": 0}
    _walk(message, 0, result, limits, texts, htmls, counter)
    if texts:
        text = "\n\n".join(texts)
    elif htmls:
        result.problem(HTML_ONLY)
        text = "\n\n".join(html_to_text(h) for h in htmls)
    else:
        text = ""
    if len(text) > limits.max_text_chars:
        result.problem(TEXT_TRUNCATED)
    result.text = clean(text, limits.max_text_chars)


def _walk(part, depth, result, limits, texts, htmls, counter):
    counter["parts"] += 1
    if counter["parts"] > limits.max_parts:
        result.problem(TOO_MANY_PARTS)
        return
    if depth > limits.max_depth:
        result.problem(TOO_DEEP)
        return
    content_type = part.get_content_type()
    if part.is_multipart():
        for child in part.iter_parts() if content_type != "message/rfc822" else part.get_payload():
            _walk(child, depth + 1, result, limits, texts, htmls, counter)
        return
    disposition = part.get_content_disposition()
    if disposition != "attachment" and content_type in ("text/plain", "text/html") and depth <= limits.max_depth:
        (texts if content_type == "text/plain" else htmls).append(_decoded_text(part))
        return
    _attachment(part, content_type, result, limits)


def _decoded_text(part):
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _attachment(part, content_type, result, limits):
    if len(result.attachments) >= limits.max_attachments:
        result.problem(TOO_MANY_ATTACHMENTS)
        return
    payload = part.get_payload(decode=True) or b""
    try:
        filename = part.get_filename() or ""
    except Exception:
        filename = ""
    row = {
        "filename": clean(filename, 255), "content_type": clean(content_type, 100),
        "size": len(payload), "sha256": sha256(payload), "problems": [],
    }
    if content_type in ("application/zip", "application/x-zip-compressed") or row["filename"].lower().endswith(".zip"):
        _inspect_archive(payload, row, result, limits)
    result.attachments.append(row)


def _inspect_archive(payload, row, result, limits):
    """Read a zip archive's directory (never its contents): a zip bomb is named, not opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            entries = archive.infolist()
    # RuntimeError covers zipfile's refusal of an unsupported compression method (raised as its
    # subclass for "not implemented"): a stranger's archive of any kind is only named unreadable.
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
        row["problems"].append(ARCHIVE_UNREADABLE)
        result.problem(ARCHIVE_UNREADABLE)
        return
    unpacked = sum(entry.file_size for entry in entries)
    packed = max(1, sum(entry.compress_size for entry in entries))
    if (len(entries) > limits.max_archive_entries or unpacked > limits.max_archive_bytes
            or unpacked / packed > limits.max_archive_ratio):
        row["problems"].append(ARCHIVE_LIMITS)
        result.problem(ARCHIVE_LIMITS)


# --- HTML to text -------------------------------------------------------------------------------


_SKIPPED = {"script", "style", "head", "title", "noscript", "template", "svg", "math", "iframe", "object"}
_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "hr"}


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(markup):
    """The words of an HTML part, nothing else: no tags, scripts, styles, images or links."""
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except Exception:
        return ""
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
