"""Fetching an agency's mailbox over IMAP with TLS (docs/correspondence.md "Three ways in").

Each message not yet taken is read with BODY.PEEK (so it stays unread for people), stored and
matched by ``message_ingest``, and only after that is committed marked with the keyword below.
Nothing is ever deleted or expunged: the mailbox stays the agency's own record.
"""
import imaplib
import re
import ssl
from dataclasses import dataclass

from preservation.models import InboundChannel

from preservation.correspondence import services

TAKEN_KEYWORD = "PreserveTaken"
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass
class MailboxLogin:
    host: str
    port: int
    user: str
    password: str = ""
    oauth2_token: str = ""
    folder: str = "INBOX"
    cafile: str | None = None


@dataclass
class FetchReport:
    taken: int = 0
    matched: int = 0
    too_large: int = 0


def xoauth2_response(user, token):
    """The SASL XOAUTH2 initial response (Microsoft 365, Google Workspace)."""
    return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode()


def _connect(login):
    context = ssl.create_default_context(cafile=login.cafile)
    client = imaplib.IMAP4_SSL(login.host, login.port, ssl_context=context, timeout=60)
    if login.oauth2_token:
        client.authenticate("XOAUTH2", lambda challenge: xoauth2_response(login.user, login.oauth2_token))
    else:
        client.login(login.user, login.password)
    return client


def fetch_mailbox(*, agency, login, now_fn):
    """Take every message of the folder not yet taken; returns what was done."""
    report = FetchReport()
    client = _connect(login)
    try:
        client.select(_quoted(login.folder))
        status, data = client.uid("SEARCH", None, "UNKEYWORD", TAKEN_KEYWORD)
        for uid in (data[0] or b"").split():
            _take(client, uid, agency, report, now_fn())
    finally:
        _logout(client)
    return report


def _take(client, uid, agency, report, now):
    status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
    size = _SIZE.search(data[0] if isinstance(data[0], bytes) else data[0][0])
    if size is None or int(size.group(1)) > services.mail_setting("MAX_MESSAGE_BYTES"):
        report.too_large += 1  # left in the mailbox, untouched, for a person to look at
        return
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = next(part[1] for part in data if isinstance(part, tuple))
    message = services.message_ingest(agency=agency, raw=raw, channel=InboundChannel.IMAP, now=now)
    client.uid("STORE", uid, "+FLAGS", "(%s)" % TAKEN_KEYWORD)
    report.taken += 1
    report.matched += message.request_id is not None


def _quoted(folder):
    return '"%s"' % folder.replace("\\", "\\\\").replace('"', '\\"')


def _logout(client):
    try:
        client.logout()
    except (imaplib.IMAP4.error, OSError):
        pass
