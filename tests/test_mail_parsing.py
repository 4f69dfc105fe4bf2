"""Reading untrusted mail and finding what it names (pure rules, no database)."""
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preservation.correspondence import matching, parsing
from preservation.rules import deadlines

UTC = dt.UTC


@pytest.mark.parametrize("header, expected", [
    ("Tue, 21 Apr 2026 02:30:00 +0000", dt.datetime(2026, 4, 21, 2, 30, tzinfo=UTC)),
    ("Mon, 20 Apr 2026 22:30:00 -0400", dt.datetime(2026, 4, 21, 2, 30, tzinfo=UTC)),
    ("Tue, 21 Apr 2026 04:30:00 +0200", dt.datetime(2026, 4, 21, 2, 30, tzinfo=UTC)),
    ("Tue, 21 Apr 2026 02:30:00 -0000", dt.datetime(2026, 4, 21, 2, 30, tzinfo=UTC)),  # zone unknown: UTC
    ("Sun, 29 Mar 2026 02:30:00 +0100", dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # a Berlin hour that never was
    # Years below 100 are read as 20xx (RFC 5322 obsolete two-digit years), never as year 1.
    ("Mon, 1 Jan 0001 00:00:00 -2359", dt.datetime(2001, 1, 1, 23, 59, tzinfo=UTC)),
    ("Fri, 31 Dec 9999 23:59:59 -1200", None),  # past the end of the calendar in UTC
    ("yesterday", None),
    ("", None),
])
def test_the_date_header_is_read_as_an_instant(header, expected):
    raw = ("Date: %s\r\nSubject: x\r\n\r\nbody" % header).encode()
    assert parsing.parse_message(raw).sent_date == expected


@pytest.mark.parametrize("instant, zone, day", [
    (dt.datetime(2026, 4, 21, 2, 30, tzinfo=UTC), "America/New_York", dt.date(2026, 4, 20)),
    (dt.datetime(2026, 4, 21, 2, 30, tzinfo=UTC), "Europe/Berlin", dt.date(2026, 4, 21)),
    (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Pacific/Kiritimati", dt.date(2027, 1, 1)),
    (dt.datetime(2026, 3, 8, 6, 59, tzinfo=UTC), "America/New_York", dt.date(2026, 3, 8)),  # clock-change night
])
def test_the_proposed_day_is_the_day_in_the_agencys_zone(instant, zone, day):
    assert deadlines.local_date(instant, zone) == day


@pytest.mark.parametrize("headers, verdicts, verified", [
    (["mx.agency.example; spf=pass; dkim=pass; dmarc=pass"], {"spf": "pass", "dkim": "pass", "dmarc": "pass"}, True),
    (["mx.agency.example; spf=pass; dkim=fail; dmarc=fail"], {"spf": "pass", "dkim": "fail", "dmarc": "fail"}, False),
    (["mx.agency.example; spf=softfail"], {"spf": "softfail"}, False),
    (["mx.agency.example; dmarc=fail", "evil; dmarc=pass"], {"dmarc": "fail"}, False),  # the lower one is the sender's
    ([], {}, False),
])
def test_only_the_receiving_servers_verdict_counts(headers, verdicts, verified):
    raw = "".join("Authentication-Results: %s\r\n" % h for h in headers).encode() + b"Subject: x\r\n\r\nbody"
    parsed = parsing.parse_message(raw)
    assert {k: v for k, v in parsed.authentication.items() if k != "server"} == verdicts
    assert parsed.sender_verified is verified


def test_a_listed_authserv_id_is_trusted_and_others_are_not():
    raw = (b"Authentication-Results: relay.example; dmarc=pass\r\n"
           b"Authentication-Results: mx.agency.example; dmarc=fail\r\nSubject: x\r\n\r\nb")
    parsed = parsing.parse_message(raw, parsing.Limits(authserv_ids=("mx.agency.example",)))
    assert parsed.authentication == {"server": "mx.agency.example", "dmarc": "fail"}


@pytest.mark.parametrize("markup, text", [
    ("<p>Hello</p><p>World</p>", "Hello\n\nWorld"),
    ("<script>alert(1)</script>Hi", "Hi"),
    ("<style>p{}</style><img src='https://t.example/x.gif'>Hi", "Hi"),
    ("<a href='javascript:alert(1)'>click</a>", "click"),
    ("&lt;script&gt;", "<script>"),  # text that shows a tag is text; the page escapes it
    ("<p>unclosed <b>bold", "unclosed bold"),
    ("", ""),
])
def test_html_becomes_its_words(markup, text):
    assert parsing.html_to_text(markup) == text


@pytest.mark.parametrize("text, references", [
    ("Re: PR-000042", ["PR-000042"]),
    ("pr-000042 and PR-000007, again PR-000042", ["PR-000042", "PR-000007"]),
    ("APR-000042 or PR-42 or PR-0000421xy", []),
    ("PR-1234567", ["PR-1234567"]),
    ("Re: PR-7KQ4-M2XD and pr-7kq4m2xd", ["PR-7KQ4-M2XD"]),
])
def test_our_references_in_a_text(text, references):
    assert matching.references_in(text) == references


@pytest.mark.parametrize("text, found", [
    ("device G8T1 SJ02 3294 01VR", ["G8T1SJ02329401VR"]),
    ("g8t1-sj02-3294-01vr", ["G8T1SJ02329401VR"]),
    ("legacy 638241420 camera", ["638241420"]),
    ("phone 555 123 4567", []),
])
def test_serials_in_a_text(text, found):
    assert matching.serials_in(text) == found


def test_a_lone_surrogate_or_nul_never_reaches_the_database():
    assert parsing.clean("a\udcff\x00b\tc\n", 100) == "a\ufffdb\tc\n"


_HEADER_LINES = st.lists(st.tuples(st.sampled_from(["Subject", "From", "Date", "References", "Content-Type",
                                                    "Authentication-Results", "X-Odd"]),
                                   st.binary(max_size=200)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(headers=_HEADER_LINES, body=st.binary(max_size=2000))
def test_no_bytes_make_the_parser_raise_or_keep_unsafe_text(headers, body):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body
    parsed = parsing.parse_message(raw)
    for text in (parsed.subject, parsed.from_address, parsed.message_id, parsed.text, *parsed.thread_ids):
        text.encode("utf-8")  # no lone surrogates
        assert "\x00" not in text
    assert parsed.sent_date is None or parsed.sent_date.tzinfo is not None
