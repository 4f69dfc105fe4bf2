"""Tenancy: the guard on case-data queries, and a walk over every route of the project.

The walker reads ``get_resolver()``, so routes added later (API, documents, ICS feeds,
exports) are covered without touching this file. For each route that takes an object id it
fills in the ids of another agency's objects and tries every HTTP method: the answer must be
the one a nonexistent id gets (404, or 405 for a method the route does not take), so nothing
tells a user that another agency's object exists.
"""
import collections
import hashlib
import itertools
import re
import uuid
from dataclasses import dataclass, field
from unittest import mock

import pytest
from django.apps import apps
from django.db import models, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django.utils import timezone

from preservation.accounts import services as accounts
from preservation.core.scoping import UnscopedQueryError, all_agencies
from preservation.models import (
    Agency,
    AuditRecord,
    PreservationRequest,
    RequestEvent,
    Role,
)
from preservation.requests import services
from preservation.rules import deadlines
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
STATE_CHANGING = ["POST", "PUT", "PATCH", "DELETE"]
INT_KWARGS = {"pk", "id"}
UUID_KWARGS = {"public_id", "uuid", "id"}

# Routes with a URL argument that is not an object id of the case data, and why they are
# outside the cross-agency walk:
NOT_OBJECT_ROUTES = {
    # Bearer capabilities: the secret in the URL is the credential (tested with their features).
    "accounts:invitation_accept",
    "password_reset_confirm",
    "preservation:calendar_feed",
    # The API's catch-all answers 404 in JSON for every unknown path.
    "api:<catch-all>",
}
# What a nonexistent object id is answered with, per converter.
MISSING_INT = 2_000_000_000


# --- The guard --------------------------------------------------------------------------------


def test_an_unscoped_query_of_requests_fails_loudly_and_says_how_to_fix_it(make_request):
    make_request()
    with pytest.raises(UnscopedQueryError) as raised:
        list(PreservationRequest.objects.all())
    message = str(raised.value)
    assert "for_agency(agency)" in message and "requests_for_user(user)" in message
    assert "across_agencies()" in message and "all_agencies()" in message


@pytest.mark.parametrize("evaluate", [
    lambda qs: list(qs), lambda qs: qs.count(), lambda qs: qs.exists(), lambda qs: qs.first(),
    lambda qs: qs.get(pk=1), lambda qs: list(qs.iterator()), lambda qs: qs.update(notes="x"),
    lambda qs: qs.delete(), lambda qs: qs.aggregate(n=models.Count("pk")),
    lambda qs: list(qs.values_list("pk", flat=True)), lambda qs: qs.in_bulk([1]),
], ids=["list", "count", "exists", "first", "get", "iterator", "update", "delete", "aggregate",
        "values_list", "in_bulk"])
def test_every_way_of_reading_an_unscoped_queryset_is_refused(make_request, evaluate):
    make_request()
    with pytest.raises(UnscopedQueryError):
        evaluate(PreservationRequest.objects.filter(state="draft"))


@pytest.mark.parametrize("query", [
    lambda a: PreservationRequest.objects.filter(state="draft") | PreservationRequest.objects.filter(agency=a),
    lambda a: PreservationRequest.objects.exclude(agency=a),
    lambda a: RequestEvent.objects.filter(action="created"),
], ids=["or-branch", "negated", "history-rows"])
def test_a_filter_that_does_not_pin_one_agency_does_not_count_as_scoped(make_request, agency, query):
    make_request()
    with pytest.raises(UnscopedQueryError):
        list(query(agency))


def test_scoped_reads_see_only_their_agency(make_request, agency):
    mine = make_request()
    theirs = RequestFactory()
    assert list(PreservationRequest.objects.for_agency(agency)) == [mine]
    assert list(agency.requests.all()) == [mine]
    assert list(mine.serials.all()) and mine.events.count() == 0
    assert theirs not in PreservationRequest.objects.filter(agency_id=agency.pk)


def test_system_code_opts_out_visibly_for_a_queryset_or_a_block(make_request):
    make_request()
    RequestFactory()
    assert PreservationRequest.objects.across_agencies().count() == 2
    assert PreservationRequest.objects.across_agencies().filter(state="draft").count() == 2
    with all_agencies():
        assert PreservationRequest.objects.count() == 2
    with pytest.raises(UnscopedQueryError):
        PreservationRequest.objects.count()


def test_writes_and_reads_through_a_loaded_object_are_not_guarded(user):
    request = services.request_save_draft(agency=user.agency, actor=user, fields={"case_number": "CR-1"},
                                          serial_rows=[{"raw": "G8T1-SJ02-3294-01VR"}])
    request.refresh_from_db()
    assert RequestEvent.objects.filter(request=request).get().request == request
    assert request.serials.count() == 1


# --- The world the walk runs in ----------------------------------------------------------------


@dataclass
class World:
    owner: object
    stranger: object
    owner_client: Client
    stranger_client: Client
    owned: dict = field(default_factory=dict)  # model -> (int pks, uuid strings) of our agency


def _agency_path(model, depth=0):
    """The lookup from ``model`` to its Agency ("agency", "request__agency", ...), or None."""
    if model is Agency:
        return "pk"
    if depth > 3:
        return None
    for f in model._meta.get_fields():
        if isinstance(f, models.ForeignKey) and f.related_model is Agency:
            return f.name
    for f in model._meta.get_fields():
        if isinstance(f, models.ForeignKey) and f.concrete and f.related_model is not model:
            rest = _agency_path(f.related_model, depth + 1)
            if rest and rest != "pk":
                return "%s__%s" % (f.name, rest)
    return None


def _owned(agency):
    """For every model whose rows belong to an agency: the int pks and UUIDs of ``agency``'s."""
    owned = {}
    for model in apps.get_models():
        path = _agency_path(model)
        if path is None or model is AuditRecord:
            continue
        uuid_fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.UUIDField)]
        rows = list(model._base_manager.filter(**{path: agency.pk}).values("pk", *uuid_fields))
        ints = {r["pk"] for r in rows if isinstance(r["pk"], int)}
        uuids = {str(r[name]) for r in rows for name in uuid_fields}
        if ints or uuids:
            owned[model] = (ints, uuids)
    return owned


def _client_for(user):
    """A verified session plus a personal API token, so web pages and the API both know them."""
    from preservation.api.tokens import api_token_create

    _token, plain = api_token_create(user=user, name="walker")
    return login(Client(headers={"authorization": "Bearer %s" % plain}), user)


def _populate(agency, owner):
    """One of everything an agency owns: requests in several states, history, reminders,
    a notification, a document, an API token, an invitation."""
    now = timezone.now()
    RequestFactory(agency=agency, created_by=owner)
    sent = RequestFactory(agency=agency, created_by=owner)
    services.request_send(preservation_request=sent, actor=owner, now=now)
    services.request_record_receipt(preservation_request=sent, actor=owner, received_on=deadlines.local_date(now, agency.time_zone), now=now)
    accounts.invitation_create(agency=agency, email="new.officer@agency.example", role=Role.REQUESTER,
                               invited_by=owner)
    _optional_rows(sent, owner, now)


def _optional_rows(request, owner, now):
    """Rows of features that other parts of the app add: a stored document (rendering is
    replaced by fixed bytes: the walk is about lookups, not PDFs), a notification, a USB
    evidence manifest."""
    from preservation.documents import services as documents
    from preservation.documents.pdf import RenderedPdf
    from preservation.models import DocumentKind, EvidenceManifest, Notification, Reminder

    pdf = b"%PDF-1.7 walker"
    document = documents.document_request(preservation_request=request, kind=DocumentKind.values[0], actor=owner, now=now)
    with mock.patch.object(documents.pdf, "render_pdf", return_value=RenderedPdf(pdf, 1, 0)):
        documents.document_render(document_id=document.pk, now=now)
    reminder = Reminder.objects.filter(request=request).first()
    Notification.objects.create(user=owner, reminder=reminder, created_at=now)
    EvidenceManifest.objects.create(
        request=request, created_at=now, created_by=owner, actor_label=owner.username, indexed_at=now,
        source_path="/media/usb", zone="UTC", csv_content=b"a,b\n", csv_sha256=hashlib.sha256(b"a,b\n").hexdigest(),
        pdf_content=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    _correspondence_rows(request, owner, now)


def _correspondence_rows(request, owner, now):
    """A file in the correspondence log, and a provider's reply matched to a request that waits
    for its receipt (so the receipt page has something to propose)."""
    from preservation.correspondence import services as correspondence
    from preservation.models import InboundChannel

    correspondence.entry_add_attachment(preservation_request=request, actor=owner, filename="walker.txt", content=b"walker", now=now)
    waiting = RequestFactory(agency=request.agency, created_by=owner)
    services.request_send(preservation_request=waiting, actor=owner, now=now)
    reply = b"Subject: Re: %s\r\nDate: Tue, 21 Apr 2026 02:30:00 +0000\r\n\r\nReceived." % waiting.reference.encode()
    correspondence.message_ingest(agency=request.agency, raw=reply, channel=InboundChannel.UPLOAD, now=now)


@pytest.fixture
def world(db, settings):
    # The walk makes hundreds of API calls in seconds: lift the rate limits for it.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {scope: "100000/minute" for scope in rates}}
    ours, theirs = AgencyFactory(), AgencyFactory()
    owner = UserFactory(agency=ours, role=Role.AGENCY_ADMIN)
    UserFactory(agency=ours, role=Role.REQUESTER)
    # The stranger is an administrator too, so role checks never answer before the lookup.
    stranger = UserFactory(agency=theirs, role=Role.AGENCY_ADMIN)
    _populate(ours, owner)
    world = World(owner=owner, stranger=stranger, owner_client=_client_for(owner),
                  stranger_client=_client_for(stranger))
    world.owned = _owned(ours)
    return world


# --- The walk ---------------------------------------------------------------------------------


@dataclass
class Route:
    name: str
    path: str
    kwarg_kinds: dict  # kwarg -> "int" | "uuid" | "id" | "choice" | "other"


def _kind(name, converter):
    if isinstance(converter, IntConverter):
        return "int"
    if isinstance(converter, UUIDConverter):
        return "uuid"
    if name == "id":
        return "id"  # DRF lookups: int or uuid, depending on the viewset
    if name in UUID_KWARGS:
        return "uuid"
    if name in INT_KWARGS:
        return "int"
    if _choices(name):
        return "choice"
    return "other"


def _choices(name):
    """Values of a model field of that name with choices (e.g. a document ``kind``)."""
    values = []
    for model in apps.get_models():
        try:
            f = model._meta.get_field(name)
        except Exception:
            continue
        values.extend(value for value, _label in (getattr(f, "choices", None) or []))
    return sorted(set(map(str, values)))


def _walk(patterns, namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, ":".join(filter(None, [namespace, p.namespace])) or None)
        elif isinstance(p, URLPattern):
            converters = getattr(p.pattern, "converters", {})
            names = list(p.pattern.regex.groupindex)
            if p.name is None:
                if not names:
                    continue  # e.g. the admin's login redirect
                yield Route("%s:<catch-all>" % namespace, str(p.pattern), {})
                continue
            full = "%s:%s" % (namespace, p.name) if namespace else p.name
            yield Route(full, str(p.pattern), {n: _kind(n, converters.get(n)) for n in names})


def object_routes():
    routes, seen = [], set()
    for route in _walk(get_resolver().url_patterns):
        if (route.name in seen or route.name in NOT_OBJECT_ROUTES or route.name.startswith("admin:")
                or not route.kwarg_kinds):
            continue
        seen.add(route.name)
        routes.append(route)
    return routes


def test_every_route_argument_is_understood_or_listed_as_not_an_object():
    unknown = [(r.name, k) for r in object_routes() for k, kind in r.kwarg_kinds.items() if kind == "other"]
    assert unknown == [], "add these routes' arguments to the walker or to NOT_OBJECT_ROUTES"


def _models_named_by(path, kwarg):
    """Models the URL segment before ``kwarg`` names: "requests/<pk>" -> PreservationRequest,
    "agency/users/<pk>" -> User, "api-tokens/<pk>" -> ApiToken. Empty when nothing matches."""
    found = re.search(r"\(\?P<%s>|<(?:\w+:)?%s>" % (kwarg, kwarg), path)
    parts = [part for part in re.split(r"[/^]", path[:found.start()]) if part]
    words = parts[-1].replace("-", " ").replace("_", " ").lower() if parts else ""
    return [m for m in apps.get_models() if words and (
        str(m._meta.verbose_name_plural).lower().endswith(words) or m._meta.model_name + "s" == words.replace(" ", ""))]


def _values(route, name, kind, world):
    if kind == "choice":
        return _choices(name)
    named = _models_named_by(route.path, name)
    pools = [world.owned[m] for m in named if m in world.owned] or list(world.owned.values())
    ints = sorted({v for pool in pools for v in pool[0]})
    uuids = sorted({v for pool in pools for v in pool[1]})
    return {"int": ints, "uuid": uuids, "id": ints + uuids}[kind]


def _urls(route, world, missing=False):
    options = []
    for name, kind in route.kwarg_kinds.items():
        if missing and kind != "choice":
            values = [str(uuid.UUID(int=1))] if kind == "uuid" else [MISSING_INT]
        else:
            values = _values(route, name, kind, world)
        options.append([(name, v) for v in (values[:1] if missing else values)])
    for combo in itertools.product(*options):
        try:
            yield reverse(route.name, kwargs=dict(combo))
        except Exception:
            continue  # e.g. a uuid offered to an int-only pattern


class _Rollback(Exception):
    pass


def _status(client, method, url, rollback=False):
    """The status code; with ``rollback`` whatever the request wrote is undone."""
    def call():
        return client.generic(method, url, data=b"{}", content_type="application/json").status_code

    if not rollback:
        return call()
    try:
        with transaction.atomic():
            status = call()
            raise _Rollback(status)
    except _Rollback as done:
        return done.args[0]


def _owner_reaches(world, route, url):
    """The owner gets past the lookup (GET, or for POST-only routes a POST that is undone)."""
    status = _status(world.owner_client, "GET", url)
    if status == 405:
        status = _status(world.owner_client, "POST", url, rollback=True)
    return status not in (404, 405)


@dataclass
class Walk:
    routes: int = 0
    tried: int = 0
    n404: int = 0
    n405: int = 0
    leaks: list = field(default_factory=list)
    unreached: list = field(default_factory=list)


def walk(world, routes):
    result = Walk(routes=len(routes))
    for route in routes:
        missing_url = next(_urls(route, world, missing=True))
        expected = {m: _status(world.stranger_client, m, missing_url) for m in METHODS}
        urls = [url for url in _urls(route, world) if _owner_reaches(world, route, url)]
        if not urls:
            result.unreached.append(route.name)
        for url, method in itertools.product(urls, METHODS):
            status = _status(world.stranger_client, method, url)
            result.tried += 1
            result.n404 += status == 404
            result.n405 += status == 405
            if status != expected[method] or status not in (404, 405):
                result.leaks.append((method, url, status, expected[method]))
    return result


def test_another_agencys_objects_answer_as_if_they_did_not_exist_on_every_route_and_method(world):
    result = walk(world, object_routes())
    print("\nisolation walk: %d routes, %d (URL, method) pairs: %d x 404, %d x 405 (a method the route "
          "does not take, as for a missing id), leaks: %s" % (
              result.routes, result.tried, result.n404, result.n405, result.leaks))
    assert result.routes >= 30 and result.tried >= 400
    # Every route was tried on an object its owner can reach, so the 404s mean something.
    assert result.unreached == [], "give the walker's world an object these routes can show"
    assert result.leaks == []


def _leaky_view(request, pk):
    found = get_object_or_404(PreservationRequest.objects.across_agencies(), pk=pk)
    return HttpResponse(found.case_number)


urlpatterns = [
    path("leaky/requests/<int:pk>/", _leaky_view, name="leaky_request"),
    path("", include("config.urls")),
]


def test_the_walk_finds_a_view_that_forgets_the_agency(world, settings):
    settings.ROOT_URLCONF = __name__
    result = walk(world, [r for r in object_routes() if r.name == "leaky_request"])
    assert result.unreached == [] and {leak[0] for leak in result.leaks} == {"GET", "POST", "PUT", "PATCH",
                                                                              "DELETE", "HEAD", "OPTIONS"}


# --- Every route: GET changes nothing, state changes need the CSRF token ------------------------

# Rows that reading a page legitimately writes: the audit trail of the read itself, the
# session (idle clock), API token "last used" bookkeeping and django-axes' access log.
SNAPSHOT_SKIP = {"preservation.AuditRecord", "sessions.Session", "axes.AccessLog", "axes.AccessAttempt",
                 "axes.AccessFailureLog", "axes.AccessAttemptExpiration"}
SNAPSHOT_SKIP_FIELDS = {"preservation.ApiToken": {"last_used_at"}}
# A download is recorded in the request's history, as the audit rules ask.
SNAPSHOT_SKIP_ROWS = {"preservation.RequestEvent": {"action": "document_downloaded"}}


def snapshot():
    state = {}
    for model in apps.get_models():
        label = model._meta.label
        if label in SNAPSHOT_SKIP:
            continue
        skip = SNAPSHOT_SKIP_FIELDS.get(label, set())
        names = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
        rows = model._base_manager.exclude(**SNAPSHOT_SKIP_ROWS.get(label, {})).order_by("pk").values_list(*names)
        state[label] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
    return state


def every_url(world):
    """One URL per route: an object the owner can reach, or placeholder values for routes
    whose argument is a secret token (they answer "invalid link")."""
    for route in _walk(get_resolver().url_patterns):
        if route.name.startswith("admin:") or route.name.endswith("<catch-all>"):
            continue
        if route.name in NOT_OBJECT_ROUTES:
            kwargs = {name: "x" for name in route.kwarg_kinds}
            yield reverse(route.name, kwargs=kwargs)
            continue
        if not route.kwarg_kinds:
            yield reverse(route.name)
            continue
        # The first URL the owner reaches; the walk above tries them all, this needs one.
        reachable = next((url for url in _urls(route, world) if _owner_reaches(world, route, url)), None)
        if reachable is not None:
            yield reachable


def test_a_get_of_every_route_changes_no_row(world):
    urls = list(every_url(world))
    before = snapshot()
    statuses = [world.owner_client.get(url).status_code for url in urls]
    after = snapshot()
    print("\nGET crawl: %d routes, statuses %s" % (len(urls), sorted(set(statuses))))
    assert len(urls) >= 60
    assert 500 not in statuses
    changed = [label for label in before if before[label] != after[label]]
    assert changed == []


def test_every_state_changing_request_without_the_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    login(client, world.owner)
    urls = list(every_url(world))
    before = snapshot()
    statuses = {}
    for url, method in itertools.product(urls, STATE_CHANGING):
        statuses[(method, url)] = _status(client, method, url)
    after = snapshot()
    accepted = {key: status for key, status in statuses.items() if status not in (401, 403, 405)}
    print("\nCSRF: %d (URL, method) pairs without a token: %s" % (
        len(statuses), sorted(collections.Counter(statuses.values()).items())))
    assert accepted == {}
    assert [label for label in before if before[label] != after[label]] == []
    # The same client with its token gets through, so the 403s above are the CSRF check.
    client.get(reverse("preservation:dashboard"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("accounts:session_keepalive"), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 204
