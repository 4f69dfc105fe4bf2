"""Another agency learns no counts from our identifiers (docs/security.md "Opaque identifiers").

Requests, documents, notifications and API tokens are numbered by global database sequences:
an officer of agency B who saw the number of B's newest request would learn how many requests
all agencies together have filed. So no address, page, reference, API field, CSV, calendar or
email shows such a number; the references and addresses in letters and emails sent before keep
working (old references still match provider mail, old addresses redirect for those who may
see the object, and answer the same 404 as before to everyone else).
"""
import csv
import importlib
import io
import re
import uuid

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.urls import reverse

from preservation.correspondence import matching
from preservation.models import AuditRecord, GeneratedDocument, Notification, PreservationRequest, Reminder, ReminderKind, Role
from preservation.reminders.emails import message_id, reminder_message
from preservation.reminders.sweep import Recipient
from preservation.rules import references
from tests.api_support import token_client
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db
NOW = utc(2026, 4, 20, 12, 0)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NEW_REFERENCE = re.compile(r"^PR-[%s]{4}-[%s]{4}$" % (CROCKFORD, CROCKFORD))
# An address whose path has a segment that is a number ("/requests/42/", "/documents/7/status/").
NUMBERED_PATH = re.compile(r"^(?:https?://[^/]+)?/(?:[^?#]*/)?\d+(?:[/.?#]|$)")
OUR_REQUEST_ID, OUR_DOCUMENT_ID = 918273, 827364
# People too: the first test of a fresh database gave a person the number 1, and a page's
# "Clear all" button has value="1".
OUR_USER_IDS = (736251, 736252, 736253, 736254)
ADDRESS = re.compile(r'(?:href|action|src|data-[\w-]*url|value)="(/[^"]*|https?://[^"]*)"')


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(client):
    """Agency A has filed many requests and documents; an officer of agency B files one."""
    a = AgencyFactory(name="Agency A")
    a_user = UserFactory(agency=a, id=OUR_USER_IDS[0])
    for _ in range(4):
        theirs = RequestFactory(agency=a, created_by=a_user)
        GeneratedDocument.objects.create(request=theirs, kind="request", language="en", requested_by=a_user,
                                         requested_at=NOW)
    b = AgencyFactory(name="Agency B")
    officer = UserFactory(agency=b, role=Role.SUPERVISOR, id=OUR_USER_IDS[1])
    # Numbers no page shows for another reason (a select of 30, 90 or 365 days, a progress of 100):
    # the sequences would give small ones, and "365 days" once passed for a leaked request number.
    ours = RequestFactory(id=OUR_REQUEST_ID, agency=b, created_by=officer, state="preserving", sent_at=NOW,
                          received_on=NOW.date())
    document = GeneratedDocument.objects.create(id=OUR_DOCUMENT_ID, request=ours, kind="request", language="en",
                                                requested_by=officer, requested_at=NOW)
    reminder = Reminder.objects.create(request=ours, kind=ReminderKind.EXTENSION_DUE, lead_days=13,
                                       day=NOW.date(), due_at=NOW, deadline_on=NOW.date())
    notification = Notification.objects.create(user=officer, reminder=reminder, created_at=NOW)
    return {"a_user": a_user, "officer": officer, "request": ours, "document": document, "reminder": reminder,
            "notification": notification, "client": login(client, officer)}


def numbered_addresses(text):
    return sorted({address for address in ADDRESS.findall(text) if NUMBERED_PATH.match(address)})


def test_a_new_reference_is_random_short_and_unambiguous(world):
    made = [RequestFactory(agency=world["officer"].agency, created_by=world["officer"]) for _ in range(5)]
    found = [r.reference for r in made] + [world["request"].reference]
    assert all(NEW_REFERENCE.match(ref) for ref in found), found
    assert len(set(found)) == len(found)
    assert all(any(c.isalpha() for c in ref[3:]) for ref in found), "an all-digit one reads like an old one"
    stored = PreservationRequest.objects.for_agency(world["officer"].agency).values_list("reference", flat=True)
    assert set(stored) == set(found)


def test_a_request_created_on_the_web_is_addressed_by_no_number(world):
    from tests.test_web_intake import form_data
    client = world["client"]
    response = client.post(reverse("preservation:request_new"), form_data())
    created = PreservationRequest.objects.for_agency(world["officer"].agency).get(case_number="CR-2026-00042")
    assert response.status_code == 302
    assert response.url == reverse("preservation:request_edit", args=[created.public_id])
    assert NEW_REFERENCE.match(created.reference)
    assert created.reference in client.get(response.url).content.decode()
    audited = AuditRecord.objects.for_agency(created.agency).filter(object_type="preservationrequest")
    assert set(audited.values_list("object_id", flat=True)) == {str(created.public_id)}


PAGES = [
    ("dashboard", lambda w: reverse("preservation:dashboard")),
    ("detail", lambda w: reverse("preservation:request_detail", args=[w["request"].public_id])),
    ("extension", lambda w: reverse("preservation:request_extension_page", args=[w["request"].public_id])),
    ("notifications", lambda w: reverse("preservation:notifications")),
    ("tokens", lambda w: reverse("preservation:api_tokens")),
    ("document status", lambda w: reverse("preservation:document_status", args=[w["document"].public_id])),
]


@pytest.mark.parametrize("name, url", PAGES, ids=[p[0] for p in PAGES])
def test_no_page_links_to_a_numbered_address(world, name, url):
    token_client(world["officer"])  # the token list shows one token and its revoke button
    response = world["client"].get(url(world))
    assert response.status_code == 200, name
    page = response.content.decode()
    assert numbered_addresses(page) == []
    for number in (world["request"].pk, world["document"].pk):
        for shown in ('data-request="%d"' % number, 'value="%d"' % number, 'id="document-%d"' % number,
                      'id="select-%d"' % number, "PR-%06d" % number):
            assert shown not in page, (name, shown)


def test_email_links_and_message_ids_carry_no_number(world):
    officer = world["officer"]
    message = reminder_message(world["reminder"], Recipient("u%d" % officer.pk, officer.email, officer.language, officer))
    bodies = [message.body] + [content for content, _type in message.alternatives]
    urls = [u for body in bodies for u in re.findall(r"https?://[^\s\"<>]+", body)]
    assert urls and not [u for u in urls if NUMBERED_PATH.match(u)]
    assert str(world["request"].public_id) in message.body
    assert not re.search(r"[.]u?%d[.@]" % world["reminder"].pk, message.extra_headers["Message-ID"])
    assert not re.search(r"[.]u?%d[.@]" % officer.pk, message.extra_headers["Message-ID"])
    assert message.extra_headers["Message-ID"] == message_id("reminder", world["reminder"].pk, "u%d" % officer.pk)


def test_the_calendar_and_the_csv_carry_no_number(world):
    client, ours = world["client"], world["request"]
    ics = client.get(reverse("preservation:request_ics", args=[ours.public_id])).content.decode()
    assert "/requests/%s/" % ours.public_id in ics.replace("\r\n ", "")
    assert not re.search(r"/requests/\d+/", ics)
    rows = list(csv.reader(io.StringIO(client.get(reverse("preservation:dashboard_csv")).content.decode())))
    assert [row[0] for row in rows[1:]] == [ours.reference]
    assert not [cell for row in rows[1:] for cell in row if cell in (str(ours.pk), "PR-%06d" % ours.pk)]


def _integers(data, path=""):
    """Every (path, key) whose value is an integer id, anywhere in an API answer."""
    if isinstance(data, dict):
        for key, value in data.items():
            if (key == "id" or key.endswith("_id") or key in ("corrects", "received_message")) \
                    and isinstance(value, int) and not isinstance(value, bool):
                yield "%s.%s" % (path, key)
            yield from _integers(value, "%s.%s" % (path, key))
    elif isinstance(data, list):
        for item in data:
            yield from _integers(item, path + "[]")


def test_the_api_gives_an_opaque_id_beside_each_deprecated_integer_one(world):
    api, ours, document = token_client(world["officer"]), world["request"], world["document"]
    detail = api.get("/api/v1/requests/%s/" % ours.public_id).json()
    assert detail["reference"] == ours.reference and list(_integers(detail)) == []
    listed = api.get("/api/v1/requests/%s/documents/" % ours.public_id).json()
    assert listed[0]["public_id"] == str(document.public_id)
    assert set(_integers(listed)) <= {"[].id"}  # deprecated, kept for existing clients
    one = api.get("/api/v1/documents/%s/" % document.public_id)
    assert one.status_code == 200 and one.json()["public_id"] == str(document.public_id)
    assert api.get("/api/v1/documents/%d/" % document.pk).status_code == 200  # the deprecated address
    stranger = token_client(world["a_user"])
    assert stranger.get("/api/v1/documents/%s/" % document.public_id).status_code == 404
    entry = api.post("/api/v1/requests/%s/correspondence/" % ours.public_id, {"kind": "note", "text": "Called."},
                     format="json").json()
    assert uuid.UUID(entry["public_id"]) and set(_integers(entry)) <= {".id"}


def test_an_api_address_with_the_deprecated_integer_id_says_so_in_its_headers(world):
    """RFC 9745: a client still using a document's integer id learns from every answer that it
    is deprecated, since when, and where the replacement is described; the public_id's answers
    carry no such header."""
    api, document = token_client(world["officer"]), world["document"]
    for path in ("/api/v1/documents/%d/", "/api/v1/documents/%d/download/", "/api/v1/documents/%d99/"):
        response = api.get(path % document.pk)
        assert response.status_code in (200, 404), path
        assert response["Deprecation"] == "@1796256000", path  # 2026-12-03 00:00 UTC: public_id arrived
        assert re.fullmatch(r'<http://testserver/api/v1/docs/>; rel="deprecation"; type="text/html"',
                            response["Link"]), (path, response["Link"])
    for path in ("/api/v1/documents/%s/", "/api/v1/documents/%s/download/"):
        response = api.get(path % document.public_id)
        assert response.status_code in (200, 404) and "Deprecation" not in response and "Link" not in response


def test_the_schema_marks_the_integer_ids_deprecated():
    from drf_spectacular.generators import SchemaGenerator
    schema = SchemaGenerator().get_schema(request=None, public=True)
    document = schema["components"]["schemas"]["Document"]["properties"]
    assert document["id"].get("deprecated") is True and document["public_id"]["format"] == "uuid"
    entry = schema["components"]["schemas"]["Entry"]["properties"]
    assert entry["id"].get("deprecated") is True and entry["public_id"]["format"] == "uuid"
    for path in ("/api/v1/documents/{id}/", "/api/v1/documents/{id}/download/"):
        assert "Deprecation" in schema["paths"][path]["get"]["responses"]["200"]["headers"]


LEGACY = [
    ("request page", lambda w: "/requests/%d/" % w["request"].pk,
     lambda w: reverse("preservation:request_detail", args=[w["request"].public_id])),
    ("send page", lambda w: "/requests/%d/extension/send/?from=mail" % w["request"].pk,
     lambda w: reverse("preservation:request_extension_page", args=[w["request"].public_id]) + "?from=mail"),
    ("calendar", lambda w: "/requests/%d/calendar.ics" % w["request"].pk,
     lambda w: reverse("preservation:request_ics", args=[w["request"].public_id])),
    ("document", lambda w: "/documents/%d/download/" % w["document"].pk,
     lambda w: reverse("preservation:document_download", args=[w["document"].public_id])),
]


@pytest.mark.parametrize("name, old, new", LEGACY, ids=[row[0] for row in LEGACY])
def test_an_old_numbered_address_redirects_only_those_who_may_see_it(world, client, name, old, new):
    response = world["client"].get(old(world))
    assert response.status_code == 302 and response.url == new(world)
    client.logout()
    stranger = login(client, world["a_user"])
    refused, missing = stranger.get(old(world)), stranger.get(re.sub(r"/\d+/", "/987654/", old(world)))
    assert refused.status_code == missing.status_code == 404
    assert refused.content == missing.content and "Location" not in refused


def test_an_old_address_asks_a_visitor_to_sign_in_before_anything_else(world, client):
    client.logout()
    response = client.get("/requests/%d/" % world["request"].pk)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert str(world["request"].public_id) not in response.url


@pytest.mark.parametrize("text, found", [
    ("Re: PR-000042", ["PR-000042"]),
    ("Re: our PR-7KQ4-M2XD and pr-000007", ["PR-7KQ4-M2XD", "PR-000007"]),
    ("pr-7kq4-m2xd, PR-7KQ4M2XD, PR-7kq4-m2xd again", ["PR-7KQ4-M2XD"]),
    ("read aloud: PR-7KQ4-M2XO", ["PR-7KQ4-M2X0"]),  # Crockford: O is 0, I and L are 1
    ("APR-7KQ4-M2XD or PR-7KQ4-M2XDE or PR-42", []),
])
def test_mail_quoting_an_old_or_a_new_reference_is_matched(text, found):
    assert matching.references_in(text) == found


def test_a_reply_quoting_either_format_finds_its_request(world):
    ours = world["request"]
    old = RequestFactory(agency=ours.agency, created_by=world["officer"], state="preserving", sent_at=NOW)
    PreservationRequest.objects.across_agencies().filter(pk=old.pk).update(reference="PR-%06d" % old.pk)
    for quoted, wanted in ((ours.reference.lower(), ours), ("PR-%06d" % old.pk, old)):
        found, rule = matching.match_message(agency=ours.agency, subject="Re: " + quoted, text="", thread_ids=[])
        assert (found, rule) == (wanted, "reference")
    # Another agency's reference never matches.
    theirs = PreservationRequest.objects.for_agency(world["a_user"].agency).first()
    assert matching.match_message(agency=ours.agency, subject=theirs.reference, text="", thread_ids=[])[0] is None


@pytest.mark.parametrize("typed", ["full", "lower", "no dash", "first half", "second half"])
def test_the_dashboard_finds_a_request_by_its_new_reference(world, typed):
    ref = world["request"].reference
    text = {"full": ref, "lower": ref.lower(), "no dash": ref.replace("-", "")[2:], "first half": ref[3:7],
            "second half": ref[8:]}[typed]
    response = world["client"].post(reverse("preservation:dashboard_search"), {"q": text})
    page = world["client"].get(response.url)
    assert [r["reference"] for r in page.context["page"].object_list] == [ref]


def test_an_old_reference_is_still_found_by_its_number(world):
    ours = world["request"]
    PreservationRequest.objects.across_agencies().filter(pk=ours.pk).update(reference="PR-%06d" % ours.pk)
    for text in ("PR-%06d" % ours.pk, str(ours.pk)):
        response = world["client"].post(reverse("preservation:dashboard_search"), {"q": text})
        assert [r["reference"] for r in world["client"].get(response.url).context["page"].object_list] == \
            ["PR-%06d" % ours.pk], text


def test_a_colliding_reference_is_drawn_again(world, monkeypatch):
    taken = world["request"].reference
    drawn = iter([taken, taken, "PR-AAAA-BBBB"])
    monkeypatch.setattr(references, "new_reference", lambda: next(drawn))
    made = RequestFactory(agency=world["officer"].agency, created_by=world["officer"])
    assert made.reference == "PR-AAAA-BBBB"


def test_the_migration_keeps_the_references_already_sent(world):
    ours = world["request"]
    PreservationRequest.objects.across_agencies().filter(pk=ours.pk).update(reference="")
    migration = importlib.import_module("preservation.migrations.0161_opaque_ids")
    migration.keep_old_references(django_apps, connection.schema_editor())
    ours.refresh_from_db()
    assert ours.reference == "PR-%06d" % ours.pk


@pytest.mark.parametrize("typed, canonical", [
    ("PR-7KQ4-M2XD", "PR-7KQ4-M2XD"), ("pr 7kq4 m2xd", "PR-7KQ4-M2XD"), ("7KQ4M2XD", "PR-7KQ4-M2XD"),
    ("PR-7KQ4-M2XO", "PR-7KQ4-M2X0"), ("PR-1LI4-M2XD", "PR-1114-M2XD"), ("PR-000123", "PR-000123"),
    ("pr-123", "PR-000123"), ("123", "PR-000123"), ("PR-7KQ4-M2XU", None), ("PR-7KQ4", None), ("", None),
])
def test_a_typed_reference_is_read_as_people_write_it(typed, canonical):
    assert references.canonical(typed) == canonical


def test_mail_and_correspondence_pages_carry_no_number(world):
    from preservation.correspondence import services as correspondence
    from preservation.models import InboundChannel
    from tests.mail_support import provider_reply

    client, ours = world["client"], world["request"]
    message = correspondence.message_ingest(agency=ours.agency, raw=provider_reply(subject="Hello"),
                                            channel=InboundChannel.UPLOAD, now=NOW)
    before = client.get(reverse("preservation:request_detail", args=[ours.public_id])).content.decode()
    entry = correspondence.entry_add_attachment(preservation_request=ours, actor=world["officer"], filename="a.txt",
                                                content=b"a", now=NOW)
    for url in (reverse("preservation:mail_inbox"), reverse("preservation:mail_message", args=[message.public_id]),
                reverse("preservation:request_detail", args=[ours.public_id])):
        response = client.get(url)
        assert response.status_code == 200 and numbered_addresses(response.content.decode()) == [], url
    # Compared with the page before the entry, so a select's "30" or "90" is not taken for its number.
    after = client.get(reverse("preservation:request_detail", args=[ours.public_id])).content.decode()
    assert after.count('value="%d"' % entry.pk) == before.count('value="%d"' % entry.pk)
    moved = client.get("/mail/%d/message.eml" % message.pk)
    assert moved.status_code == 302 and moved.url == reverse("preservation:mail_raw", args=[message.public_id])
    download = client.get(moved.url)
    assert str(message.pk) not in download["Content-Disposition"].replace(str(message.public_id), "")


# --- People: user ids are global too ---------------------------------------------------------


@pytest.fixture
def admin_world(world, client):
    """Agency B's administrator, and a colleague who has a request assigned."""
    officer = world["officer"]
    admin = UserFactory(agency=officer.agency, role=Role.AGENCY_ADMIN, id=OUR_USER_IDS[2])
    colleague = UserFactory(agency=officer.agency, role=Role.REQUESTER, id=OUR_USER_IDS[3])
    theirs = RequestFactory(agency=officer.agency, created_by=colleague, assigned_to=colleague)
    return {**world, "admin": admin, "colleague": colleague, "theirs": theirs}


def _user_numbers(w):
    return [w[name].pk for name in ("officer", "colleague", "admin", "a_user")]


def test_people_are_named_by_their_public_id_in_filters_and_choices(admin_world):
    w = admin_world
    assert w["colleague"].public_id and w["colleague"].public_id != w["officer"].public_id
    pages = [reverse("preservation:dashboard"),
             reverse("preservation:dashboard") + "?owner=%s" % w["colleague"].public_id,
             reverse("preservation:request_detail", args=[w["theirs"].public_id])]
    for url in pages:
        page = w["client"].get(url).content.decode()
        assert str(w["colleague"].public_id) in page, url
        for number in _user_numbers(w):
            for shown in ('value="%d"' % number, "owner=%d" % number, "requester=%d" % number):
                assert shown not in page, (url, shown)


@pytest.mark.parametrize("param", ["owner", "requester"])
def test_a_filter_by_person_reads_the_public_id_and_an_old_number_of_ones_own_agency(admin_world, param):
    w = admin_world
    theirs = w["theirs"].reference
    ours = w["request"].reference
    by_id = w["client"].get(reverse("preservation:dashboard") + "?%s=%s" % (param, w["colleague"].public_id))
    assert theirs in by_id.content.decode() and ours not in by_id.content.decode()
    old = w["client"].get(reverse("preservation:dashboard") + "?%s=%d" % (param, w["colleague"].pk))
    assert old.status_code == 200
    assert theirs in old.content.decode() and ours not in old.content.decode()
    for stranger in ("%d" % w["a_user"].pk, "987654", str(uuid.uuid4()), str(w["a_user"].public_id)):
        ignored = w["client"].get(reverse("preservation:dashboard") + "?%s=%s" % (param, stranger))
        assert ignored.status_code == 200
        assert theirs in ignored.content.decode() and ours in ignored.content.decode(), stranger


def test_the_user_list_and_bulk_assign_carry_no_user_number(admin_world, client):
    w = admin_world
    admin = login(client, w["admin"])
    page = admin.get(reverse("accounts:users")).content.decode()
    assert numbered_addresses(page) == []
    assert reverse("accounts:user_role", args=[w["colleague"].public_id]) in page
    response = admin.post(reverse("preservation:requests_bulk"), {
        "operation": "assign", "assignee": str(w["officer"].public_id), "selected": [str(w["theirs"].public_id)]})
    assert response.status_code == 302
    w["theirs"].refresh_from_db()
    assert w["theirs"].assigned_to_id == w["officer"].pk


def test_an_old_user_address_redirects_only_for_the_same_agency(admin_world, client):
    w = admin_world
    admin = login(client, w["admin"])
    old = "/agency/users/%d/role/" % w["colleague"].pk
    moved = admin.post(old, {"role": Role.PARALEGAL})
    assert moved.status_code == 307
    assert moved.url == reverse("accounts:user_role", args=[w["colleague"].public_id])
    refused = admin.post("/agency/users/%d/role/" % w["a_user"].pk, {"role": Role.PARALEGAL})
    missing = admin.post("/agency/users/987654/role/", {"role": Role.PARALEGAL})
    assert refused.status_code == missing.status_code == 404


def test_audit_records_about_a_person_and_the_audit_csv_carry_no_number(admin_world, client):
    w = admin_world
    admin = login(client, w["admin"])
    admin.post(reverse("accounts:user_role", args=[w["colleague"].public_id]), {"role": Role.PARALEGAL})
    record = AuditRecord.objects.across_agencies().filter(action="role_changed").get()
    assert record.object_id == str(w["colleague"].public_id)
    rows = list(csv.DictReader(io.StringIO(b"".join(admin.get(reverse("accounts:audit_export")).streaming_content).decode())))
    assert rows and "id" in rows[0]
    # The id is the hash's first 12 hexadecimal digits, never the record's number (a hash
    # prefix may be all decimal digits by chance: about one row in 280).
    numbers = {str(pk) for pk in AuditRecord.objects.across_agencies().values_list("pk", flat=True)}
    for row in rows:
        assert row["hash"].startswith(row["id"]) and len(row["id"]) == 12 and row["id"] not in numbers


def test_the_assign_form_takes_a_public_id(admin_world):
    w = admin_world
    address = reverse("preservation:request_assign", args=[w["theirs"].public_id])
    assert w["client"].post(address, {"assign-assignee": str(w["officer"].public_id)}).status_code == 302
    w["theirs"].refresh_from_db()
    assert w["theirs"].assigned_to_id == w["officer"].pk
    w["client"].post(address, {"assign-assignee": str(w["colleague"].pk)})
    w["theirs"].refresh_from_db()
    assert w["theirs"].assigned_to_id == w["officer"].pk, "a number is no choice"


def test_a_pending_invitation_is_revoked_by_no_number(admin_world, client):
    from preservation.accounts import services as accounts
    w = admin_world
    invitation = accounts.invitation_create(agency=w["admin"].agency, email="new@agency.example", role=Role.PARALEGAL,
                                            invited_by=w["admin"])
    admin = login(client, w["admin"])
    page = admin.get(reverse("accounts:users")).content.decode()
    assert numbered_addresses(page) == []
    assert reverse("accounts:invitation_revoke", args=[invitation.public_id]) in page
    moved = admin.post("/agency/invitations/%d/revoke/" % invitation.pk)
    assert moved.status_code == 307 and moved.url == reverse("accounts:invitation_revoke", args=[invitation.public_id])
    other = accounts.invitation_create(agency=w["a_user"].agency, email="x@a.example", role=Role.PARALEGAL,
                                       invited_by=UserFactory(agency=w["a_user"].agency, role=Role.AGENCY_ADMIN))
    assert admin.post("/agency/invitations/%d/revoke/" % other.pk).status_code == 404


def test_an_invitation_link_names_no_number_and_an_old_one_still_works(admin_world):
    from django.core import signing

    from preservation.accounts import services as accounts
    w = admin_world
    invitation = accounts.invitation_create(agency=w["admin"].agency, email="new@agency.example", role=Role.PARALEGAL,
                                            invited_by=w["admin"])
    token = accounts.invitation_token(invitation)
    assert signing.loads(token, salt=accounts._INVITATION_SALT) == {"p": str(invitation.public_id),
                                                                    "n": invitation.nonce}
    assert accounts.invitation_from_token(token, now=NOW) == invitation
    old = signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=accounts._INVITATION_SALT, compress=True)
    assert accounts.invitation_from_token(old, now=NOW) == invitation
    wrong = signing.dumps({"p": "not-a-uuid", "n": invitation.nonce}, salt=accounts._INVITATION_SALT, compress=True)
    assert accounts.invitation_from_token(wrong, now=NOW) is None
