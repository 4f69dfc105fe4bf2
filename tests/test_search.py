"""Search that finds (docs/workday.md §5): parts of a CRIM#, a serial, the account email,
the requester's name, Blink's reference or the request's own; what was typed never reaches an
address or a log, while the other filters live in the address."""
import logging
import re

import pytest
import time_machine
from django.urls import reverse

from preservation.models import PreservationRequest
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory

pytestmark = pytest.mark.django_db
NOW = utc(2026, 4, 20, 12, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def search(client, text, **filters):
    response = client.post(reverse("preservation:dashboard_search"), {"q": text, **filters})
    assert response.status_code == 302, response.content[:500]
    return client.get(response.url)


def found(response):
    return {r["reference"] for r in response.context["page"].object_list}


@pytest.fixture
def wanted(make_request):
    make_request(case_number="CR-2026-1000", serials=["638241420"], account_email="someone@else.example",
                 requester_name="Fox Mulder", blink_reference="BLK-555")
    return make_request(case_number="CR-2026-4471", serials=["G8T1-SJ02-3294-01VR"],
                        account_email="jane.owner@example.com", requester_name="Dana Scully",
                        blink_reference="BLK-90210")


@pytest.mark.parametrize("typed", [
    "4471", "2026-447", "cr-2026-4471",                    # part of the CRIM#
    "3294", "sj02 3294", "sj02-3294-01", "329401vr",       # part of a serial, any formatting
    "jane.owner", "OWNER@EXAMPLE", "jane",                 # part of the account email
    "scully", "Dana Sc",                                   # the requester's name
    "90210", "blk-902",                                    # Blink's reference
])
def test_a_part_finds_the_request(signed_in, wanted, typed):
    assert found(search(signed_in, typed)) == {wanted.reference}


def test_the_requests_own_reference_finds_it_in_any_form(signed_in, wanted):
    ref = wanted.reference
    for typed in (ref, ref.lower(), ref.replace("-", " "), ref[3:].replace("-", ""), ref[3:7], ref[8:]):
        assert ref in found(search(signed_in, typed)), typed


def test_an_old_reference_is_still_found_by_its_number(signed_in, wanted):
    old = "PR-%06d" % wanted.pk
    PreservationRequest.objects.across_agencies().filter(pk=wanted.pk).update(reference=old)
    for typed in (old, old.lower(), str(wanted.pk), "PR%d" % wanted.pk):
        assert old in found(search(signed_in, typed)), typed


@pytest.mark.parametrize("typed", ["G8T", "32"])
def test_too_short_a_part_of_a_serial_matches_nothing_by_serial(signed_in, wanted, typed):
    assert found(search(signed_in, typed)) == set()


def test_another_agencys_request_is_never_found(signed_in, wanted):
    RequestFactory(agency=AgencyFactory(), case_number="CR-2026-4471-X")
    assert found(search(signed_in, "4471")) == {wanted.reference}


def test_the_search_and_the_filters_combine(signed_in, wanted, make_request):
    make_request(case_number="CR-2026-4471-B", state="closed")
    assert found(search(signed_in, "4471", state="draft")) == {wanted.reference}


TYPED = "jane.owner@example.com"


def _addresses(html):
    return re.findall(r'(?:href|action|value)="([^"]*)"', html)


def test_a_typed_term_never_reaches_an_address_or_the_log(signed_in, wanted, caplog, make_request):
    for _ in range(26):  # two pages, so the page links are there too
        make_request(account_email=TYPED)
    caplog.set_level(logging.DEBUG)
    posted = signed_in.post(reverse("preservation:dashboard_search"), {"q": TYPED, "state": "draft"})
    assert posted.status_code == 302 and posted.url == "/?state=draft"
    first = signed_in.get(posted.url)
    second = signed_in.get(posted.url + "&page=2")
    csv = signed_in.get(reverse("preservation:dashboard_csv") + "?state=draft")
    assert len(first.context["page"].object_list) == 25 and len(second.context["page"].object_list) == 2
    bodies = [first.content.decode(), second.content.decode()]
    for term in (TYPED, "jane.owner", "jane.owner%40example.com"):
        for html in bodies:
            assert not any(term in address for address in _addresses(html) if address != TYPED), term
        assert term not in csv.content.decode()
        assert not any(term in record.getMessage() for record in caplog.records), term
    # The search box shows what is searched (its value), and the page says a search is on.
    assert 'value="%s"' % TYPED in bodies[0] and "a search" in bodies[0]


def test_the_filters_are_the_address_and_can_be_bookmarked(client, user, make_request):
    from tests.helpers import login

    wanted = make_request(state="draft")
    make_request(state="closed")
    login(client, user)
    page = client.get(reverse("preservation:dashboard") + "?state=draft&owner=me")
    assert found(page) == {wanted.reference}
    shown = page.context["active_filters"]
    assert shown == ["State: Draft", "Assigned to: Assigned to me"]
    assert "Clear" in page.content.decode()


def test_a_wrong_filter_in_the_address_is_left_out(signed_in, make_request):
    make_request(), make_request()
    assert len(found(signed_in.get(reverse("preservation:dashboard") + "?state=nonsense&due_within=x"))) == 2
