"""The provider catalogue in the database, requests with a provider and a legal basis, the
production order of an EPOC-PR, the admin's audited edits and the data migration
(docs/providers.md)."""
import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps as live_apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from preservation.rules import catalogue
from preservation.requests import services
from preservation.models import (
    Agency, AuditRecord, DeadlineKind, LegalBasis, PreservationRequest, Provider, RequestState, Role, User,
)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db
NOW = utc(2026, 11, 2, 12)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_migration_loads_every_shipped_provider_and_basis_with_its_sources():
    for policy in catalogue.PROVIDERS:
        row = Provider.objects.get(code=policy.code)
        assert row.as_policy().retention == policy.retention
        assert row.as_policy().source("preservation_days") == policy.source("preservation_days")
        assert row.reference_pattern == ""
    assert LegalBasis.objects.get(code=catalogue.EPOC_PR).as_policy().preservation_days == 60
    assert LegalBasis.objects.get(code=catalogue.US_2703F).verified_on == catalogue.CHECKED


def test_the_data_migration_gives_existing_requests_blink_and_keeps_sent_clocks():
    module = importlib.import_module("preservation.migrations.0131_providers_catalogue_data")
    us = RequestFactory(agency=AgencyFactory(country="US"))
    german_agency = AgencyFactory(country="DE", time_zone="Europe/Berlin")
    german_sent = RequestFactory(agency=german_agency, account_country="DE")
    german_sent.state = RequestState.PRESERVING
    german_sent.save()
    german_draft = RequestFactory(agency=german_agency)
    PreservationRequest.objects.across_agencies().update(provider="", legal_basis="")
    module.load(live_apps, None)
    rows = {r.pk: (r.provider, r.legal_basis) for r in PreservationRequest.objects.across_agencies()}
    assert rows[us.pk] == ("blink", catalogue.US_2703F)
    assert rows[german_sent.pk] == ("blink", catalogue.VOLUNTARY)  # Blink's 90 + 90: no date moves
    assert rows[german_draft.pk] == ("blink", catalogue.EPOC_PR)


@pytest.mark.parametrize(("country", "expected"), [("US", catalogue.US_2703F), ("DE", catalogue.EPOC_PR),
                                                   ("DK", catalogue.VOLUNTARY)])
def test_a_new_draft_takes_its_agency_default_basis(country, expected):
    user = UserFactory(agency=AgencyFactory(country=country))
    draft = services.request_save_draft(agency=user.agency, actor=user, fields={"requester_name": "A"})
    assert draft.legal_basis == expected


def test_an_agency_chosen_default_basis_wins_over_its_country():
    agency = AgencyFactory(country="DE", default_legal_basis=catalogue.NATIONAL_ORDER)
    assert agency.default_basis_code == catalogue.NATIONAL_ORDER


def ring_epoc_request(**options):
    agency = AgencyFactory(country="DE", time_zone="Europe/Berlin")
    request = RequestFactory(agency=agency, account_country="DE", serials=[], provider="ring",
                             legal_basis=catalogue.EPOC_PR, **options)
    services._replace_serials(request, [{"kind": catalogue.MAC, "raw": "00-1a-2b-3c-4d-5e"}])
    return request


def send_and_receive(request, received_on=dt.date(2026, 9, 1)):
    actor = request.created_by
    request = services.request_send(preservation_request=request, actor=actor, sent_at=utc(2026, 9, 1, 8), now=NOW)
    return services.request_record_receipt(preservation_request=request, actor=actor, received_on=received_on,
                                           blink_reference="", now=NOW)


def test_a_ring_request_under_epoc_pr_expires_after_60_days():
    request = send_and_receive(ring_epoc_request())
    assert request.serials.get().normalized == "001A2B3C4D5E"
    assert (request.expires_on, request.extension_send_by, request.retention_days) == (
        dt.date(2026, 10, 31), dt.date(2026, 10, 24), 30)
    report = services.request_report(request, now=NOW)
    assert "EPOC-PR received 2026-09-01 + 60 days = 2026-10-31" in [e.text for e in report.clock.explanations][2]


def test_ring_refuses_a_blink_serial():
    request = ring_epoc_request()
    services._replace_serials(request, [{"raw": "G8T1-SJ02-3294-01VR"}])
    with pytest.raises(ValidationError) as exc:
        services.request_send(preservation_request=request, actor=request.created_by, sent_at=NOW, now=NOW)
    assert "identifier_not_accepted" in str(exc.value.error_dict["serials"][0].code)


def test_other_provider_needs_its_name():
    request = RequestFactory(provider="other", legal_basis=catalogue.VOLUNTARY)
    with pytest.raises(ValidationError) as exc:
        services.request_send(preservation_request=request, actor=request.created_by, sent_at=NOW, now=NOW)
    assert "provider_other_name" in exc.value.error_dict


def test_a_confirmed_production_order_keeps_an_epoc_pr_until_production_and_never_lapses():
    request = send_and_receive(ring_epoc_request())
    request = services.request_record_production_order(
        preservation_request=request, actor=request.created_by, confirmed_on=dt.date(2026, 10, 20),
        received_at=utc(2026, 10, 20, 9), now=NOW)
    assert request.preserved_until_production and request.final_expires_on is None
    assert (request.next_deadline_on, request.next_deadline_kind) == (dt.date(2026, 10, 30), DeadlineKind.PRODUCTION_DUE)
    assert services.requests_lapse_due(now=utc(2026, 12, 1)) == []


def test_a_production_order_is_refused_under_2703f():
    request = send_and_receive(RequestFactory())
    with pytest.raises(ValidationError) as exc:
        services.request_record_production_order(preservation_request=request, actor=request.created_by,
                                                 confirmed_on=dt.date(2026, 10, 1), now=NOW)
    assert exc.value.code == "production_not_allowed"


def test_an_agency_national_order_uses_its_own_days():
    agency = AgencyFactory(national_order_days=30, national_order_renewals=2)
    request = send_and_receive(RequestFactory(agency=agency, legal_basis=catalogue.NATIONAL_ORDER))
    assert request.expires_on == dt.date(2026, 10, 1)


def test_a_fact_corrected_in_the_database_moves_the_clock():
    Provider.objects.filter(code="simplisafe").update(preservation_days=120)
    request = send_and_receive(RequestFactory(provider="simplisafe", legal_basis=catalogue.VOLUNTARY,
                                              serials=[]))
    assert request.expires_on == dt.date(2026, 12, 30)


def test_platform_staff_edit_the_catalogue_in_the_admin_and_it_is_audited(client):
    root = User.objects.create_superuser("root", "root@example.com", "a long enough password")
    login(client, root)
    ring = Provider.objects.get(code="ring")
    url = reverse("admin:preservation_provider_change", args=[ring.pk])
    assert client.get(url).status_code == 200
    data = {field: value for field, value in Provider.fields_from_policy(ring.as_policy()).items()}
    data.update(preservation_days=45, reference_pattern="", identifier_types='["mac", "email"]',
                region_rules='[{"countries": "eea_ch_uk", "hours": 720}]', customer_configurable="true",
                sources='{"preservation_days": {"text": "Ring guidelines 2027", "verified_on": "2027-01-05"}}',
                customer_max_retention_hours="", retention_hours=1440, extensions="", extension_days="")
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert Provider.objects.get(code="ring").preservation_days == 45
    record = AuditRecord.objects.across_agencies().filter(action="catalogue_changed").get()
    assert "preservation_days" in record.message and record.object_id == str(ring.pk)


@pytest.mark.parametrize(("pattern", "sources"), [("(unclosed", "{}"),
                                                 ("", '{"retention": {"verified_on": "2026-01-01"}}'),
                                                 ("", '{"retention": {"text": "x", "verified_on": "soon"}}')])
def test_the_admin_refuses_a_bad_pattern_or_a_fact_without_source(client, pattern, sources):
    root = User.objects.create_superuser("root", "root@example.com", "a long enough password")
    login(client, root)
    ring = Provider.objects.get(code="ring")
    data = Provider.fields_from_policy(ring.as_policy())
    data.update(reference_pattern=pattern, sources=sources, identifier_types='["mac"]', region_rules="[]",
                customer_configurable="unknown", customer_max_retention_hours="", extensions="",
                extension_days="", preservation_days="", retention_hours=1440)
    response = client.post(reverse("admin:preservation_provider_change", args=[ring.pk]), data)
    assert response.status_code == 200  # the form again, with the error
    assert not AuditRecord.objects.across_agencies().filter(action="catalogue_changed").exists()


def test_agency_admins_set_the_default_basis_and_national_order(client):
    admin = UserFactory(role=Role.AGENCY_ADMIN, agency=AgencyFactory(country="FR"))
    login(client, admin)
    agency = admin.agency
    response = client.post(reverse("accounts:agency_settings"), {
        "name": agency.name, "postal_address": agency.postal_address, "phone": "", "time_zone": "Europe/Paris",
        "legal_basis": "", "default_legal_basis": catalogue.NATIONAL_ORDER, "national_order_days": 60,
        "national_order_renewals": 3,
    })
    assert response.status_code == 302
    agency = Agency.objects.get(pk=agency.pk)
    assert (agency.default_basis_code, agency.national_order_days, agency.national_order_renewals) == (
        catalogue.NATIONAL_ORDER, 60, 3)
