"""Complete audit (docs/security.md "What is audited"): admin changes, denied cross-agency access,
exports, searches (never the term), list and feed reads, each with the client address; repeated
failures from one client are aggregated so nobody can grow the log without bound."""
import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from preservation.models import AuditRecord, CalendarFeedToken, LoginBanner, Role
from tests.api_support import token_client
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login

IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["api_throttle"].clear()
    yield
    caches["api_throttle"].clear()


def records(action, **filters):
    return list(AuditRecord.objects.across_agencies().filter(action=action, **filters).order_by("pk"))


@pytest.fixture
def platform_admin(client, agency):
    login(client, UserFactory(agency=agency, is_staff=True, is_superuser=True))
    return client


def test_an_admin_role_and_superuser_change_is_audited_with_before_and_after(platform_admin, user):
    url = reverse("admin:preservation_user_change", args=[user.pk])
    form = platform_admin.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, (list, tuple))}
    data.update(role=Role.AGENCY_ADMIN, is_superuser="on", is_active="on", agency=user.agency_id,
                date_joined_0=form.initial["date_joined"].strftime("%Y-%m-%d"),
                date_joined_1=form.initial["date_joined"].strftime("%H:%M:%S"), language="en")
    data.pop("last_login", None)
    data.pop("password", None)
    data.pop("date_joined", None)
    response = platform_admin.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302, response.context["adminform"].form.errors
    [record] = records("admin_changed", object_id=str(user.public_id))
    assert "role: requester -> agency_admin" in record.message and "is_superuser: False -> True" in record.message
    assert record.ip_address == IP and record.agency_id == user.agency_id


def test_an_admin_agency_change_and_a_new_banner_are_audited(platform_admin, agency):
    url = reverse("admin:preservation_agency_change", args=[agency.pk])
    form = platform_admin.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update(name="Renamed agency", requires_supervisor_approval="on")
    data = {k: v for k, v in data.items() if v is not False}
    assert platform_admin.post(url, data).status_code == 302
    assert "name:" in records("admin_changed", object_type="agency")[0].message
    platform_admin.post(reverse("admin:preservation_loginbanner_add"), {"text": "New notice"})
    assert LoginBanner.objects.first().text == "New notice"
    assert records("admin_added", object_type="loginbanner")


def test_another_agencys_request_is_a_denied_access_on_record(client, make_request):
    other = make_request()
    stranger = UserFactory(agency=AgencyFactory())
    login(client, stranger)
    assert client.get(reverse("preservation:request_detail", args=[other.public_id]), REMOTE_ADDR=IP).status_code == 404
    [record] = records("access_denied")
    assert (record.actor_id, record.agency_id, record.object_id, record.outcome, record.ip_address) == (
        stranger.pk, stranger.agency_id, str(other.public_id), "denied", IP)


def test_another_agencys_request_through_the_api_is_a_denied_access_on_record(make_request):
    other = make_request()
    stranger = UserFactory(agency=AgencyFactory())
    api = token_client(stranger)
    assert api.get("/api/v1/requests/%s/" % other.public_id, REMOTE_ADDR=IP).status_code == 404
    [record] = records("access_denied")
    assert record.actor_id == stranger.pk and record.ip_address == IP


def test_repeated_denials_from_one_client_are_aggregated(client, make_request):
    other = make_request()
    login(client, UserFactory(agency=AgencyFactory()))
    for _n in range(45):
        client.get(reverse("preservation:request_detail", args=[other.public_id]), REMOTE_ADDR=IP)
    kept = records("access_denied")
    assert len(kept) == 2  # the 1st and the 10th; the 100th would be next
    assert "10 " in kept[-1].message


def test_the_dashboard_csv_export_is_audited(signed_in, make_request):
    make_request()
    signed_in.get(reverse("preservation:dashboard_csv"), REMOTE_ADDR=IP)
    [record] = records("requests_exported")
    assert record.ip_address == IP and "1 request" in record.message


def test_a_search_is_audited_by_category_never_by_term(signed_in):
    term = "dana.scully@springfield.example"
    signed_in.post(reverse("preservation:dashboard_search"), {"q": term}, REMOTE_ADDR=IP)
    [record] = records("search")
    assert "q=email#" in record.message
    assert "scully" not in record.message and "springfield" not in record.message
    assert record.ip_address == IP


def test_an_api_search_is_audited_by_category(user):
    token_client(user).post("/api/v1/requests/search/", {"serial": "G8T1-SJ02-3294-01VR"}, format="json")
    [record] = records("search")
    assert "serial=serial#" in record.message and "01VR" not in record.message


@pytest.mark.parametrize("path", ["/", "/notifications/"])
def test_list_reads_are_audited_with_the_client_address(signed_in, path):
    assert signed_in.get(path, REMOTE_ADDR=IP).status_code == 200
    [record] = records("list_viewed")
    assert record.ip_address == IP


def test_api_list_reads_are_audited(user):
    token_client(user).get("/api/v1/requests/", REMOTE_ADDR=IP)
    assert records("list_viewed")[0].ip_address == IP


def test_a_feed_read_is_audited_without_the_secret(user):
    feed = CalendarFeedToken.objects.create(user=user)
    Client().get(reverse("preservation:calendar_feed", args=[feed.token]), REMOTE_ADDR=IP)
    [record] = records("calendar_feed_read")
    assert record.ip_address == IP and record.actor_id == user.pk
    assert feed.token not in record.object_id + record.message
    assert not AuditRecord.objects.across_agencies().filter(object_id__contains=feed.token).exists()


def test_unknown_api_tokens_cannot_grow_the_audit_log(db):
    for _n in range(300):
        Client().get("/api/v1/requests/", HTTP_AUTHORIZATION="Bearer pv_nothere_x", REMOTE_ADDR=IP)
    assert AuditRecord.objects.across_agencies().count() <= 4
