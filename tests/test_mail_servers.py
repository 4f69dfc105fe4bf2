"""Mail in through real servers: a Dovecot IMAP server started here (password and OAuth2
bearer logins), and the SMTP/LMTP listener of ``receive_mail`` fed by Python's smtplib."""
import datetime as dt
import imaplib
import os
import pwd
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from preservation.requests import services
from preservation.correspondence import imap
from preservation.correspondence import services as correspondence
from preservation.correspondence.listener import MailController
from preservation.models import AgencyMailAddress, InboundMessage, MatchRule, RequestState
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory
from tests.mail_support import provider_reply

NOW = utc(2026, 4, 21, 12)
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DOVECOT_CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = root
default_internal_group = root
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
auth_mechanisms = plain xoauth2
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


@pytest.fixture
def dovecot():
    """A Dovecot IMAP server on a free port with a self-signed certificate made here. Users:
    "agency" (password) and "oauth" (whose XOAUTH2 bearer token Dovecot checks as its password)."""
    if not os.path.exists(DOVECOT):
        pytest.skip("needs Dovecot: apt-get install dovecot-imapd (scripts/setup.sh --test)")
    # Outside pytest's private tmp directory: Dovecot's unprivileged processes must reach it.
    root = Path(tempfile.mkdtemp(prefix="preserve-dovecot-"))
    root.chmod(0o755)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", root / "key.pem", "-out", root / "cert.pem"], check=True, capture_output=True)
    (root / "passwd").write_text("agency:{PLAIN}s3cret-pass\noauth:{PLAIN}bearer-token-1\n")
    (root / "mail").mkdir()
    account = pwd.getpwnam("dovecot")
    os.chown(root / "mail", account.pw_uid, account.pw_gid)
    port = free_port()
    (root / "dovecot.conf").write_text(DOVECOT_CONF.format(root=root, port=port))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("Dovecot did not start: %s" % (root / "dovecot.log").read_text(errors="replace"))
            time.sleep(0.1)
    yield {"port": port, "cafile": str(root / "cert.pem")}
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def deliver(server, user, password, raw):
    """Put a message into the user's INBOX, as the provider's mail would arrive."""
    context = ssl.create_default_context(cafile=server["cafile"])
    client = imaplib.IMAP4_SSL("127.0.0.1", server["port"], ssl_context=context)
    client.login(user, password)
    client.append("INBOX", None, None, raw)
    client.logout()


def mailbox_flags(server, user, password):
    context = ssl.create_default_context(cafile=server["cafile"])
    client = imaplib.IMAP4_SSL("127.0.0.1", server["port"], ssl_context=context)
    client.login(user, password)
    client.select("INBOX")
    status, data = client.fetch("1:*", "(FLAGS)")
    client.logout()
    return [line for line in data if line]


def sent_request(zone):
    agency = AgencyFactory(time_zone=zone)
    request = RequestFactory(agency=agency, window_start=utc(2026, 4, 10), window_end=utc(2026, 4, 11))
    return services.request_send(preservation_request=request, actor=request.created_by, sent_at=utc(2026, 4, 19, 15), now=NOW)


@pytest.mark.django_db
@pytest.mark.parametrize("zone, day", [
    ("America/New_York", dt.date(2026, 4, 20)),  # 02:30 UTC on the 21st: 22:30 the evening before
    ("Europe/Berlin", dt.date(2026, 4, 21)),     # 04:30 the same morning
])
def test_a_reply_fetched_over_imap_is_matched_proposes_its_date_and_one_confirmation_records_it(dovecot, zone, day):
    request = sent_request(zone)
    deliver(dovecot, "agency", "s3cret-pass",
            provider_reply(subject="Re: %s" % request.reference, date=utc(2026, 4, 21, 2, 30)))
    login = imap.MailboxLogin(host="127.0.0.1", port=dovecot["port"], user="agency",
                              password="s3cret-pass", cafile=dovecot["cafile"])
    with time_machine.travel(NOW, tick=False):
        report = imap.fetch_mailbox(agency=request.agency, login=login, now_fn=lambda: NOW)
        assert (report.taken, report.matched) == (1, 1)
        message = InboundMessage.objects.for_agency(request.agency).get()
        assert (message.request, message.match_rule) == (request, MatchRule.REFERENCE)
        proposal = correspondence.receipt_proposal(message)
        assert proposal["received_on"] == day and proposal["reference"] == ""
        reminders_before = set(request.reminders.values_list("kind", "deadline_on", "state"))
        confirmed = correspondence.message_confirm_receipt(
            message=message, actor=request.created_by, received_on=proposal["received_on"], now=NOW)
    assert confirmed.state == RequestState.PRESERVING and confirmed.received_on == day
    assert confirmed.expires_on == day + dt.timedelta(days=90)
    assert set(confirmed.reminders.values_list("kind", "deadline_on", "state")) != reminders_before
    assert confirmed.reminders.filter(state="scheduled", deadline_on=confirmed.extension_send_by).exists()
    # Taken messages are marked, never deleted; a second run takes nothing.
    flags = mailbox_flags(dovecot, "agency", "s3cret-pass")
    assert len(flags) == 1 and imap.TAKEN_KEYWORD.encode() in flags[0] and b"\\Deleted" not in flags[0]
    assert imap.fetch_mailbox(agency=request.agency, login=login, now_fn=lambda: NOW).taken == 0


@pytest.mark.django_db
def test_fetch_mail_logs_in_with_an_oauth2_bearer_token(dovecot, monkeypatch, capsys):
    request = sent_request("America/New_York")
    deliver(dovecot, "oauth", "bearer-token-1", provider_reply(subject="Case %s" % request.case_number, date=NOW))
    monkeypatch.setenv("MAIL_IMAP_OAUTH2_TOKEN", "bearer-token-1")
    monkeypatch.setenv("SSL_CERT_FILE", dovecot["cafile"])
    call_command("fetch_mail", agency=request.agency.pk, host="127.0.0.1", port=dovecot["port"], user="oauth",
                 cafile=dovecot["cafile"])
    assert "1 taken, 1 matched" in capsys.readouterr().out
    assert InboundMessage.objects.for_agency(request.agency).get().match_rule == MatchRule.CASE_NUMBER


# --- The SMTP/LMTP listener -----------------------------------------------------------------------


@pytest.fixture
def listener(request):
    lmtp = getattr(request, "param", False)
    controller = MailController(hostname="127.0.0.1", port=free_port(), lmtp=lmtp)
    controller.start()
    yield controller
    controller.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("listener", [False, True], ids=["smtp", "lmtp"], indirect=True)
def test_the_listener_stores_mail_for_the_agency_whose_address_it_was_sent_to(listener):
    request = sent_request("Europe/Berlin")
    address = AgencyMailAddress.objects.create(agency=request.agency)
    other = AgencyMailAddress.objects.create(agency=AgencyFactory())
    raw = provider_reply(subject="Re: %s" % request.reference, date=utc(2026, 4, 21, 2, 30))
    client_class = smtplib.LMTP if listener.lmtp else smtplib.SMTP
    with client_class("127.0.0.1", listener.port) as client:
        client.sendmail("le@provider.example", ["%s@preserve.agency.example" % address.token], raw)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("le@provider.example", ["nobody@preserve.agency.example"], raw)
    message = InboundMessage.objects.for_agency(request.agency).get()
    assert bytes(message.raw) == raw and message.request == request
    assert correspondence.receipt_proposal(message)["received_on"] == dt.date(2026, 4, 21)
    assert not InboundMessage.objects.for_agency(other.agency).exists()


@pytest.mark.django_db(transaction=True)
def test_the_listener_refuses_a_message_above_the_size_limit(listener, settings):
    AgencyMailAddress.objects.create(agency=AgencyFactory(), token="a" * 32)
    limit = settings.PRESERVE_MAIL["MAX_MESSAGE_BYTES"]
    with smtplib.SMTP("127.0.0.1", listener.port) as client:
        with pytest.raises(smtplib.SMTPException):
            client.sendmail("x@example.com", ["a" * 32 + "@example.org"], b"Subject: big\r\n\r\n" + b"x" * (limit + 10))
