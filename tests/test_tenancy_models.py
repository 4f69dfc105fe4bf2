"""The tenancy guard (preservation/core/scoping.py) on the rows around a case.

Documents, reminders, notifications, approvals and evidence manifests carry case data and are
read through the agency (or one request / one user); API and calendar-feed tokens are
credentials read through their user; the audit log and invitations are read through the
agency. A read that names none of these raises ``UnscopedQueryError``. System code (the
sweeps, the audit chain, token authentication, the platform admin) opts out where it queries,
and is exercised here with the guard on.
"""
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import models, transaction
from django.urls import get_resolver, reverse

from preservation.api.tokens import api_token_create
from preservation.core.audit import audit_record, verify_chain
from preservation.core.scoping import UnscopedQueryError
from preservation.models import (
    ApiToken,
    AuditRecord,
    CalendarFeedToken,
    EvidenceFile,
    EvidenceManifest,
    GeneratedDocument,
    Invitation,
    Notification,
    PreservationRequest,
    Reminder,
    ReminderKind,
    RequestApproval,
    Role,
    User,
)
from preservation.reminders import sweep
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login
from tests.test_security_headers import _production
from tests.test_tenancy import _walk, object_routes, world  # noqa: F401  (world is a fixture)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc)


@dataclass
class Rows:
    """One row of every guarded model, all of one agency."""

    agency: object
    user: object
    request: object
    document: object
    reminder: object
    notification: object
    manifest: object
    evidence_file: object
    api_token: object
    feed: object
    audit: object
    approval: object
    invitation: object


def make_rows(agency):
    user = UserFactory(agency=agency, role=Role.PARALEGAL)
    request = RequestFactory(agency=agency, created_by=user)
    reminder = Reminder.objects.create(
        request=request, kind=ReminderKind.EXTENSION_DUE, lead_days=7, day=dt.date(2026, 3, 22),
        due_at=dt.datetime(2026, 3, 22, 12, tzinfo=dt.timezone.utc), deadline_on=dt.date(2026, 3, 29),
    )
    content = b"a,b\n"
    manifest = EvidenceManifest.objects.create(
        request=request, created_at=NOW, created_by=user, actor_label=user.username, indexed_at=NOW,
        source_path="/media/usb", zone="UTC", csv_content=content, csv_sha256=hashlib.sha256(content).hexdigest(),
    )
    return Rows(
        agency=agency, user=user, request=request, reminder=reminder, manifest=manifest,
        document=GeneratedDocument.objects.create(
            request=request, kind="request", language="en", requested_by=user, requested_at=NOW,
        ),
        notification=Notification.objects.create(user=user, reminder=reminder, created_at=NOW),
        evidence_file=EvidenceFile.objects.create(manifest=manifest, position=0, path="clip.mp4", kind="clip"),
        api_token=api_token_create(user=user, name="RMS", now=NOW)[0],
        feed=CalendarFeedToken.objects.create(user=user),
        audit=audit_record(action="view", actor=user, obj=request, now=NOW),
        approval=RequestApproval.objects.create(request=request, approved_by=user, at=NOW),
        invitation=Invitation.objects.create(
            agency=agency, email="new.%s@agency.example" % user.username, invited_by=user, created_at=NOW,
            expires_at=NOW + dt.timedelta(days=7),
        ),
    )


@pytest.fixture
def ours():
    return make_rows(AgencyFactory())


@pytest.fixture
def theirs():
    return make_rows(AgencyFactory())


# model, a read that forgets the scope, the proper read (through the agency, request or user)
GUARDED = [
    (GeneratedDocument, lambda r: GeneratedDocument.objects.filter(kind="request"),
     lambda r: GeneratedDocument.objects.for_agency(r.agency)),
    (Reminder, lambda r: Reminder.objects.filter(state="scheduled"), lambda r: r.request.reminders.all()),
    (Notification, lambda r: Notification.objects.filter(read_at__isnull=True),
     lambda r: r.user.notifications.all()),
    (EvidenceManifest, lambda r: EvidenceManifest.objects.filter(zone="UTC"),
     lambda r: EvidenceManifest.objects.for_agency(r.agency)),
    (EvidenceFile, lambda r: EvidenceFile.objects.filter(kind="clip"), lambda r: r.manifest.files.all()),
    (AuditRecord, lambda r: AuditRecord.objects.filter(action="view"),
     lambda r: AuditRecord.objects.for_agency(r.agency)),
    (RequestApproval, lambda r: RequestApproval.objects.filter(approved_by=r.user),
     lambda r: r.request.approvals.all()),
    (Invitation, lambda r: Invitation.objects.filter(email=r.invitation.email),
     lambda r: r.agency.invitations.all()),
    # Credentials: looked up by id alone, a colleague's token would be reachable.
    (ApiToken, lambda r: ApiToken.objects.filter(pk=r.api_token.pk), lambda r: r.user.api_tokens.all()),
    (CalendarFeedToken, lambda r: CalendarFeedToken.objects.filter(pk=r.feed.pk),
     lambda r: CalendarFeedToken.objects.filter(user=r.user)),
]
IDS = [model.__name__ for model, _unscoped, _scoped in GUARDED]


def _pks(queryset):
    return set(queryset.values_list("pk", flat=True))


@pytest.mark.parametrize("model, unscoped, scoped", GUARDED, ids=IDS)
def test_an_unscoped_read_of_each_guarded_model_fails_loudly(ours, theirs, model, unscoped, scoped):
    with pytest.raises(UnscopedQueryError) as raised:
        list(unscoped(ours))
    assert model.__name__ in str(raised.value) and "across_agencies()" in str(raised.value)
    for evaluate in (lambda qs: qs.count(), lambda qs: qs.exists(), lambda qs: qs.first()):
        with pytest.raises(UnscopedQueryError):
            evaluate(unscoped(ours))


@pytest.mark.parametrize("model, unscoped, scoped", GUARDED, ids=IDS)
def test_the_scoped_read_of_each_guarded_model_sees_only_its_own_rows(ours, theirs, model, unscoped, scoped):
    mine, other = _pks(scoped(ours)), _pks(scoped(theirs))
    assert mine and other and mine.isdisjoint(other)
    assert _pks(model.objects.across_agencies()) >= mine | other


@pytest.mark.parametrize("query", [
    lambda r: AuditRecord.objects.filter(agency__isnull=False),
    lambda r: PreservationRequest.objects.filter(agency__gt=0),
    lambda r: GeneratedDocument.objects.filter(request__agency__in=type(r.agency).objects.all()),
    lambda r: Reminder.objects.filter(request__in=PreservationRequest.objects.across_agencies()),
    lambda r: PreservationRequest.objects.filter(agency=models.F("created_by__agency")),
    lambda r: Notification.objects.filter(user__in=User.objects.all()),
    lambda r: ApiToken.objects.filter(user__isnull=False),
], ids=["isnull", "greater-than", "in-every-agency", "in-a-subquery", "field-to-field", "every-user",
        "any-user"])
def test_a_lookup_on_the_scope_field_that_does_not_pin_it_does_not_count_as_scoped(ours, theirs, query):
    with pytest.raises(UnscopedQueryError):
        list(query(ours))


def test_a_colleagues_token_and_notification_are_not_found(client, ours):
    colleague = UserFactory(agency=ours.agency, role=Role.PARALEGAL)
    login(client, colleague)
    assert client.post(reverse("preservation:api_token_revoke", args=[ours.api_token.public_id])).status_code == 404
    assert client.post(reverse("preservation:notification_read", args=[ours.notification.public_id])).status_code == 404
    ours.api_token.refresh_from_db()
    ours.notification.refresh_from_db()
    assert ours.api_token.revoked_at is None and ours.notification.read_at is None


# --- System code keeps working with the guard on -----------------------------------------------


def test_api_token_authentication_and_revocation_work_with_the_guard_on(client, ours):
    _token, plain = api_token_create(user=ours.user, name="case system")
    response = client.get(reverse("api:me"), headers={"authorization": "Bearer %s" % plain})
    assert response.status_code == 200
    login(client, ours.user)
    assert client.post(reverse("preservation:api_token_revoke", args=[_token.public_id])).status_code == 302
    _token.refresh_from_db()
    assert _token.revoked_at is not None


def test_the_calendar_feed_is_found_by_its_secret_alone(client, ours):
    response = client.get(reverse("preservation:calendar_feed", args=[ours.feed.token]))
    assert response.status_code == 200 and b"BEGIN:VCALENDAR" in response.content
    assert client.get(reverse("preservation:calendar_feed", args=[secrets.token_urlsafe(32)])).status_code == 404


def test_the_audit_chain_spans_every_agency_and_verifies_with_the_guard_on(ours, theirs, capsys):
    records = AuditRecord.objects.across_agencies().order_by("pk")
    assert {r.agency_id for r in records} >= {ours.agency.pk, theirs.agency.pk}
    assert [r.prev_hash for r in records][1:] == [r.hash for r in records][:-1]
    assert verify_chain().ok
    call_command("verify_audit")


def test_the_reminder_sweep_notifies_across_agencies_with_the_guard_on(ours, theirs):
    newcomers = [UserFactory(agency=rows.agency, role=Role.PARALEGAL) for rows in (ours, theirs)]
    sent = sweep.reminders_send_due(now=dt.datetime(2026, 3, 23, tzinfo=dt.timezone.utc))
    assert sent == 2
    for newcomer, rows in zip(newcomers, (ours, theirs)):
        assert list(newcomer.notifications.values_list("reminder", flat=True)) == [rows.reminder.pk]


@pytest.mark.parametrize("model, query", [("auditrecord", {"action": "view"}), ("invitation", {})])
def test_the_platform_admin_lists_every_agencys_audit_log_and_invitations(client, ours, theirs, model, query):
    admin = User.objects.create_superuser("root", "root@example.com", "a long enough password")
    login(client, admin)
    response = client.get(reverse("admin:preservation_%s_changelist" % model), query)
    assert response.status_code == 200
    assert {r.agency_id for r in response.context["cl"].queryset} == {ours.agency.pk, theirs.agency.pk}


# --- Production: X-Forwarded-Proto is trusted only behind a declared proxy ----------------------


@pytest.mark.parametrize("count, header", [("0", "None"), ("1", "('HTTP_X_FORWARDED_PROTO', 'https')")])
def test_the_forwarded_proto_header_is_trusted_only_with_a_proxy_count(monkeypatch, count, header):
    monkeypatch.setenv("DJANGO_PROXY_COUNT", count)
    result = _production("shell", "-c", "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == header


# --- The cross-agency walk covers every feature's routes; pages without an id leak nothing ----

# Routes other features added that take an object id: the walk in test_tenancy.py must try
# each of them (a route moved to its NOT_OBJECT_ROUTES, or renamed, fails here).
FEATURE_ROUTES = {
    "documents": ["preservation:document_generate", "preservation:document_status",
                  "preservation:document_download",
                  "api:document-detail", "api:document-download", "api:request-documents"],
    "manifests": ["preservation:manifest_csv", "preservation:manifest_pdf"],
    "notifications": ["preservation:notification_read"],
    "calendar": ["preservation:request_ics"],
    "tokens": ["preservation:api_token_revoke"],
    "api": ["api:request-detail", "api:request-send", "api:request-reminders", "api:request-close"],
}


@pytest.mark.parametrize("feature", sorted(FEATURE_ROUTES))
def test_the_cross_agency_walk_covers_the_routes_of(feature):
    walked = {route.name for route in object_routes()}
    assert set(FEATURE_ROUTES[feature]) <= walked


def _markers(world):
    """Strings that only our agency's rows contain: references, CRIM#s, public ids, emails."""
    requests = PreservationRequest.objects.for_agency(world.owner.agency)
    found = {world.owner.email}
    for request in requests:
        found |= {request.reference, request.case_number, str(request.public_id)}
    return found


class _Undo(Exception):
    pass


def _read_as(client, url):
    """GET the URL; a POST-only route (a search) gets an empty JSON POST, undone afterwards."""
    response = client.get(url)
    if response.status_code == 405:
        try:
            with transaction.atomic():
                response = client.post(url, data=b"{}", content_type="application/json")
                raise _Undo
        except _Undo:
            pass
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body.decode("utf-8", "replace")


def test_no_page_or_api_list_without_an_object_id_shows_another_agencys_rows(world):
    markers = _markers(world)
    pages = []
    for route in _walk(get_resolver().url_patterns):
        if (route.kwarg_kinds or route.name.startswith("admin:") or route.name.endswith("<catch-all>")
                or route.name == "logout"):
            continue
        status, text = _read_as(world.stranger_client, reverse(route.name))
        pages.append((route.name, status, sorted(m for m in markers if m in text)))
    print("\nlist pages: %d routes without an id read by another agency, statuses %s" % (
        len(pages), sorted({status for _name, status, _found in pages})))
    assert len(pages) >= 30
    assert [(name, found) for name, _status, found in pages if found] == []
    # The same pages do show them to their own agency: the markers are the right strings.
    dashboard = world.owner_client.get(reverse("preservation:dashboard")).content.decode()
    assert any(marker in dashboard for marker in markers)


def test_searching_for_another_agencys_crim_number_or_serial_finds_nothing(world):
    theirs = PreservationRequest.objects.for_agency(world.owner.agency).exclude(serials=None).first()
    serial = theirs.serials.first().normalized
    found = world.stranger_client.post(reverse("api:request-search"), {"serial": serial},
                                       content_type="application/json")
    assert found.status_code == 200 and theirs.reference not in found.content.decode()
    by_case = world.stranger_client.post(reverse("api:request-search"), {"case_number": theirs.case_number},
                                         content_type="application/json")
    assert by_case.status_code == 200 and theirs.reference not in by_case.content.decode()
    world.stranger_client.post(reverse("preservation:dashboard_search"), {"q": theirs.case_number})
    dashboard = world.stranger_client.get(reverse("preservation:dashboard")).content.decode()
    assert theirs.reference not in dashboard
    # The owner's same searches do find it: the queries above were real ones.
    mine = world.owner_client.post(reverse("api:request-search"), {"serial": serial},
                                   content_type="application/json")
    assert theirs.reference in mine.content.decode()
