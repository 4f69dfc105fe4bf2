"""The audit log's filters travel by POST and live in the session, as the dashboard's do: a
username typed into them never reaches a URL (browser history, server logs), the page and the
CSV export both follow them, and another agency's records never show."""
import csv
import io
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from preservation.core.audit import audit_record
from preservation.models import AuditOutcome, AuditRecord, Role
from tests.conftest import utc
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login

NOW = utc(2026, 5, 10, 12, 0)
TYPED = "scully"  # what the admin types into the "User" filter
LOG, FILTER, EXPORT = "accounts:audit_log", "accounts:audit_filter", "accounts:audit_export"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin(agency):
    return UserFactory(agency=agency, role=Role.AGENCY_ADMIN, username="ada.admin")


@pytest.fixture
def client(admin):
    return login(Client(), admin)


@pytest.fixture
def dana(agency):
    return UserFactory(agency=agency, username="dana.scully")


@pytest.fixture
def fox(agency):
    return UserFactory(agency=agency, username="fox.mulder")


def record(actor, action, at, **kwargs):
    return audit_record(action=action, actor=actor, now=at, **kwargs)


def urls_in(content):
    """Every address the page links to or submits to."""
    return re.findall(r'(?:href|action|src)="([^"]*)"', content)


def exported(client):
    response = client.get(reverse(EXPORT))
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def log_messages(client, **query):
    response = client.get(reverse(LOG), query)
    assert response.status_code == 200
    # The last of a row's seven cells: the record's message.
    return re.findall(r"<tr>\s*(?:<td[^>]*>(.*?)</td>\s*){7}</tr>", response.content.decode(), re.S)


# --- Nothing typed reaches a URL ---------------------------------------------------------------


def test_the_typed_username_is_in_no_url_of_the_redirect_the_pages_or_the_export(client, dana):
    for n in range(120):
        record(dana, "role_changed", utc(2026, 5, 1, 9, n % 60))
    response = client.post(reverse(FILTER), {"actor": TYPED, "action": "role_changed"})
    assert response.status_code == 302 and response["Location"] == reverse(LOG)

    first = client.get(response["Location"]).content.decode()
    second = client.get(reverse(LOG), {"page": 2}).content.decode()
    assert "?page=2" in urls_in(first) and "?page=1" in urls_in(second)
    assert reverse(EXPORT) in urls_in(first)
    for url in urls_in(first) + urls_in(second):
        assert TYPED not in url and "actor=" not in url, url
    assert "Page 2 of 3" in second


def test_the_export_is_audited_with_the_filters_names_not_their_values(client, dana):
    client.post(reverse(FILTER), {"actor": TYPED, "date_from": "2026-05-01"})
    exported(client)
    message = AuditRecord.objects.across_agencies().get(action="audit_exported").message
    assert message == "filters: actor, date_from"
    assert TYPED not in message


def test_an_unfiltered_export_says_so(client):
    exported(client)
    assert AuditRecord.objects.across_agencies().get(action="audit_exported").message == "filters: none"


def test_filters_in_a_query_string_are_ignored(client, dana, fox):
    record(dana, "role_changed", utc(2026, 5, 1, 9), message="by-dana")
    record(fox, "role_changed", utc(2026, 5, 1, 9), message="by-fox")
    messages = log_messages(client, actor=TYPED)
    assert "by-dana" in messages and "by-fox" in messages


# --- Filtering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("filters, expected", [
    ({}, {"dana-login", "dana-role", "fox-role", "fox-denied"}),
    ({"actor": TYPED}, {"dana-login", "dana-role"}),
    ({"actor": "SCULLY"}, {"dana-login", "dana-role"}),  # case does not matter
    ({"action": "role"}, {"dana-role", "fox-role"}),
    ({"actor": TYPED, "action": "role_changed"}, {"dana-role"}),
    ({"outcome": AuditOutcome.DENIED}, {"fox-denied"}),
    ({"object_id": "77"}, {"fox-role"}),
    ({"date_from": "2026-05-02"}, {"dana-role", "fox-role", "fox-denied"}),
    ({"date_to": "2026-05-02"}, {"dana-login", "dana-role"}),
    ({"date_from": "2026-05-02", "date_to": "2026-05-02"}, {"dana-role"}),
    ({"actor": "nobody"}, set()),
])
def test_the_filters_narrow_the_page_and_the_export_alike(client, dana, fox, filters, expected):
    record(dana, "login", utc(2026, 5, 1, 23, 59), message="dana-login")
    record(dana, "role_changed", utc(2026, 5, 2, 0, 0), message="dana-role")
    record(fox, "role_changed", utc(2026, 5, 3), message="fox-role", object_type="user", object_id="77")
    record(fox, "locked_out", utc(2026, 5, 4), message="fox-denied", outcome=AuditOutcome.DENIED)
    client.post(reverse(FILTER), filters)
    ours = {"dana-login", "dana-role", "fox-role", "fox-denied"}
    assert set(log_messages(client)) & ours == expected
    assert {row[9] for row in exported(client)} & ours == expected


def test_the_form_shows_the_filters_in_force(client):
    client.post(reverse(FILTER), {"actor": TYPED, "date_from": "2026-05-02"})
    content = client.get(reverse(LOG)).content.decode()
    assert 'value="%s"' % TYPED in content and 'value="2026-05-02"' in content


def test_clear_removes_every_filter(client, dana, fox):
    record(dana, "role_changed", utc(2026, 5, 1, 9), message="by-dana")
    record(fox, "role_changed", utc(2026, 5, 1, 9), message="by-fox")
    client.post(reverse(FILTER), {"actor": TYPED})
    assert "by-fox" not in log_messages(client)
    response = client.post(reverse(FILTER), {"actor": "ignored", "clear": "1"})
    assert response.status_code == 302 and response["Location"] == reverse(LOG)
    assert {"by-dana", "by-fox"} <= set(log_messages(client))
    assert 'value="ignored"' not in client.get(reverse(LOG)).content.decode()


def test_pagination_keeps_the_filters(client, dana, fox):
    for n in range(60):
        record(dana, "role_changed", utc(2026, 5, 1, 9, n), message="dana-%02d" % n)
        record(fox, "role_changed", utc(2026, 5, 1, 9, n), message="fox-%02d" % n)
    client.post(reverse(FILTER), {"actor": TYPED})
    pages = log_messages(client, page=1) + log_messages(client, page=2)
    assert sorted(pages) == ["dana-%02d" % n for n in range(60)]


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("filters, error", [
    ({"date_from": "2026-02-30"}, "Enter a valid date."),
    ({"date_to": "yesterday"}, "Enter a valid date."),
    ({"date_from": "2026-05-03", "date_to": "2026-05-02"}, "The end date is before the start date."),
    ({"outcome": "maybe"}, "Select a valid choice."),
    ({"actor": "x" * 151}, "Ensure this value has at most 150 characters"),
])
def test_bad_input_is_answered_400_with_the_reason_and_what_was_typed(client, dana, fox, filters, error):
    record(dana, "role_changed", utc(2026, 5, 1, 9), message="by-dana")
    record(fox, "role_changed", utc(2026, 5, 1, 9), message="by-fox")
    client.post(reverse(FILTER), {"actor": TYPED})
    response = client.post(reverse(FILTER), {"action": "kept-typing", **filters})
    content = response.content.decode()
    assert response.status_code == 400
    assert error in content
    assert 'value="kept-typing"' in content
    assert "data-errors" in content
    # The filters in force are still the last good ones, on this page and the next.
    assert "by-dana" in content and "by-fox" not in content
    assert "by-fox" not in log_messages(client)


# --- Tenancy and access -------------------------------------------------------------------------


def test_another_agencys_records_never_appear_even_when_the_filter_matches_them(client, dana):
    outsider = UserFactory(agency=AgencyFactory(), username="walter.scully")
    record(dana, "role_changed", utc(2026, 5, 1, 9), message="ours")
    record(outsider, "role_changed", utc(2026, 5, 1, 9), message="theirs")
    for filters in ({}, {"actor": TYPED}, {"actor": "walter"}):
        client.post(reverse(FILTER), filters)
        assert "theirs" not in log_messages(client)
        assert "theirs" not in {row[9] for row in exported(client)}
    assert "walter.scully" not in client.get(reverse(LOG)).content.decode()


def test_filtering_needs_a_post_with_a_csrf_token(admin):
    assert login(Client(), admin).get(reverse(FILTER), {"actor": TYPED}).status_code == 405
    strict = login(Client(enforce_csrf_checks=True), admin)
    assert strict.post(reverse(FILTER), {"actor": TYPED}).status_code == 403
    assert "accounts:audit_filters" not in strict.session


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.PARALEGAL, Role.SUPERVISOR])
def test_only_agency_admins_may_filter(agency, role):
    client = login(Client(), UserFactory(agency=agency, role=role))
    assert client.post(reverse(FILTER), {"actor": TYPED}).status_code == 403
    assert "accounts:audit_filters" not in client.session
