"""The low findings (docs/security.md): secrets kept out of access logs and audit ids, nothing
learned about another agency from "already exists", a moved creator's mail, weak repeated
passwords, three inputs that caused a 500, security.txt, and CSV cells after a semicolon."""
import io
import json
import struct
import zlib

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from preservation.accounts.forms import AgencySettingsForm
from preservation.models import AuditRecord, CalendarFeedToken, Role
from tests.api_support import token_client
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login


# --- Secrets out of the access log and the audit log ---------------------------------------------


@pytest.mark.parametrize("path, secret", [
    ("/calendar/Zm9vYmFyc2VjcmV0dG9rZW4.ics", "Zm9vYmFyc2VjcmV0dG9rZW4"),
    ("/accounts/invitation/eyJpIjo0Mn0:1sX:abcdef/", "eyJpIjo0Mn0:1sX:abcdef"),
    ("/accounts/password/reset/MTI/cfg3xh-0123456789abcdef/", "cfg3xh-0123456789abcdef"),
])
def test_the_access_log_never_shows_a_secret_in_a_path(path, secret):
    from config.gunicorn_logging import RedactingLogger, redact_path

    assert secret not in redact_path(path) and "[secret]" in redact_path(path)
    assert redact_path("/requests/42/") == "/requests/42/"

    class Cfg:
        access_log_format, errorlog, loglevel, accesslog = "%(U)s", "-", "info", "-"
        logconfig = logconfig_dict = logconfig_json = syslog = None
        capture_output, disable_redirect_access_to_syslog, user, group = False, False, 0, 0
        statsd_host = dogstatsd_tags = None

    atoms = RedactingLogger.atoms(RedactingLogger.__new__(RedactingLogger), _Resp(), _Req(path),
                                  {"RAW_URI": path, "PATH_INFO": path, "REQUEST_METHOD": "GET",
                                   "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": ""}, _Time())
    assert secret not in json.dumps(atoms, default=str)


class _Resp:
    status, sent, headers = "200 OK", 10, []
    response_length = 10


class _Req:
    def __init__(self, path):
        self.path, self.uri, self.query, self.method = path, path, "", "GET"
        self.version, self.headers = (1, 1), []


class _Time:
    seconds, microseconds = 0, 1000

    def total_seconds(self):
        return 0.001


def test_gunicorn_uses_the_redacting_logger():
    import runpy

    assert runpy.run_path("config/gunicorn.py")["logger_class"] == "config.gunicorn_logging.RedactingLogger"


def test_a_signed_in_feed_read_records_no_secret(client, user):
    feed = CalendarFeedToken.objects.create(user=user)
    login(client, user)
    client.get(reverse("preservation:calendar_feed", args=[feed.token]))
    assert not AuditRecord.objects.across_agencies().filter(object_id__contains=feed.token).exists()
    assert not AuditRecord.objects.across_agencies().filter(message__contains=feed.token).exists()


# --- Nothing learned about another agency ---------------------------------------------------------


def test_inviting_an_address_used_in_another_agency_reveals_nothing(client, agency, django_capture_on_commit_callbacks):
    elsewhere = UserFactory(agency=AgencyFactory())
    login(client, UserFactory(agency=agency, role=Role.AGENCY_ADMIN))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:user_invite"), {"email": elsewhere.email, "role": Role.PARALEGAL})
    assert response.status_code == 302  # the same answer as for a new address


def test_that_invitation_cannot_be_accepted_for_an_address_in_use(agency):
    from preservation.accounts import services as accounts

    elsewhere = UserFactory(agency=AgencyFactory())
    admin = UserFactory(agency=agency, role=Role.AGENCY_ADMIN)
    invitation = accounts.invitation_create(agency=agency, email=elsewhere.email, role=Role.PARALEGAL, invited_by=admin)
    with pytest.raises(ValidationError, match="already has an account"):
        accounts.invitation_accept(invitation=invitation, username="newname", password="a long pass phrase 42")


# --- A creator moved to another agency --------------------------------------------------------------


def test_a_creator_moved_to_another_agency_gets_no_more_mail_about_the_old_agencys_cases(make_request, user):
    from preservation.models import Reminder
    from preservation.reminders.sweep import reminder_recipients

    request = make_request(requester_email=user.email)
    user.agency = AgencyFactory()
    user.save()
    reminder = Reminder(request=request, kind="ack_missing", lead_days=3)
    assert user.email not in [r.email for r in reminder_recipients(reminder)]


# --- Passwords ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abababababab", "123123123123", "xyzxyzxyzxyzxyz"])
def test_repeated_character_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_real_pass_phrase_is_accepted():
    validate_password("correct horse battery staple")


# --- Inputs that caused a 500 ------------------------------------------------------------------------


def _png_with_chunk(kind, data):
    def chunk(name, payload):
        return struct.pack(">I", len(payload)) + name + payload + struct.pack(">I", zlib.crc32(name + payload))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(kind, data)
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


@pytest.mark.parametrize("kind, data", [
    (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * (8 * 1024 * 1024))),
    (b"iTXt", b"Comment\x00\x01\x00\x00\x00" + zlib.compress(b"a" * (8 * 1024 * 1024))),
])
def test_a_png_with_a_huge_text_chunk_is_a_validation_error(kind, data):
    from preservation.documents.forms import AgencyLogoForm

    form = AgencyLogoForm(files={"logo": SimpleUploadedFile("logo.png", _png_with_chunk(kind, data), "image/png")})
    assert not form.is_valid() and "logo" in form.errors


def test_json_nested_5000_deep_is_a_400(user):
    body = "[" * 5000 + "]" * 5000
    response = token_client(user).post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] in ("parse_error", "invalid")


@pytest.mark.parametrize("name", ["Springfield\nPolice", "Springfield\r\nBcc: x@evil.example", "A\x00B"])
def test_an_agency_name_with_a_line_break_is_a_validation_error(agency, name):
    form = AgencySettingsForm(data={"name": name, "time_zone": "UTC"}, instance=agency)
    assert not form.is_valid() and "name" in form.errors
    agency.name = name
    with pytest.raises(ValidationError):
        agency.full_clean()


# --- security.txt ------------------------------------------------------------------------------------


def test_security_txt_names_a_contact_and_an_expiry(db, settings):
    settings.SECURITY_CONTACT = "mailto:security@preserve.example"
    response = Client().get("/.well-known/security.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Contact: mailto:security@preserve.example" in text and "Expires: " in text


# --- CSV cells after a semicolon -------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"),
    ("Burglary;=HYPERLINK(\"http://evil\")", "Burglary;'=HYPERLINK(\"http://evil\")"),
    ("a; +cmd", "a; '+cmd"),
    ("plain; text", "plain; text"),
    ("-", "'-"),
])
def test_csv_cells_are_neutralised_also_after_a_semicolon(value, expected):
    from preservation.core.spreadsheet import safe_cell

    assert safe_cell(value) == expected


def test_the_dashboard_export_neutralises_after_a_semicolon(signed_in, make_request):
    import csv

    make_request(case_number="CR-1;=cmd|' /C calc'!A0")
    content = signed_in.get(reverse("preservation:dashboard_csv")).content.decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert any(";'=cmd" in cell for row in rows for cell in row)


def test_usb_manifest_cells_are_neutralised_after_a_semicolon():
    from preservation.evidence import usb

    assert usb._safe_cell("Front Door;=cmd|' /C calc'!A0") == "Front Door;'=cmd|' /C calc'!A0"
