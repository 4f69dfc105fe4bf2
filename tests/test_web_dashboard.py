"""The dashboard: the agency's requests, most urgent first, filters, search, CSV, few queries."""
import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from preservation.models import RequestState
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

NOW = utc(2026, 4, 20, 12, 0)
S = RequestState


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def window_days_ago(start, end):
    return {"window_start": NOW - timedelta(days=start), "window_end": NOW - timedelta(days=end)}


def references(response):
    return [r["reference"] for r in response.context["page"].object_list]


def test_a_new_agency_sees_what_to_do_first(signed_in):
    response = signed_in.get(reverse("preservation:dashboard"))
    assert response.context["total"] == 0
    assert b'data-testid="empty-state"' in response.content
    assert reverse("preservation:request_new").encode() in response.content


def test_requests_come_most_urgent_first_then_by_next_deadline(signed_in, make_request):
    normal = make_request(**window_days_ago(10, 9))
    critical = make_request(**window_days_ago(58, 57))
    losing = make_request(**window_days_ago(61, 50))
    high = make_request(**window_days_ago(55, 54))
    high_later = make_request(**window_days_ago(54, 53))
    response = signed_in.get(reverse("preservation:dashboard"))
    assert references(response) == [r.reference for r in (losing, critical, high, high_later, normal)]


def test_another_agencys_requests_are_never_listed_or_counted(signed_in, make_request):
    mine = make_request()
    RequestFactory(agency=AgencyFactory())
    response = signed_in.get(reverse("preservation:dashboard"))
    assert references(response) == [mine.reference] and response.context["total"] == 1


def test_the_groups_are_counted(signed_in, make_request, user):
    make_request(**window_days_ago(61, 50))  # losing
    make_request(**window_days_ago(58, 57))  # critical, and its first loss is this week
    sent = make_request()
    services.request_send(preservation_request=sent, actor=user, now=NOW)
    services.request_record_receipt(preservation_request=sent, actor=user, received_on=NOW.date(), now=NOW)
    buckets = {b["code"]: b["count"] for b in signed_in.get(reverse("preservation:dashboard")).context["buckets"]}
    assert buckets == {"lost_losing": 1, "critical": 1, "due_week": 1, "preserving": 1, "extended": 0, "closed": 0}


def post_filters(client, **filters):
    return client.post(reverse("preservation:dashboard_search"), filters)


def filtered(client, **filters):
    """The dashboard after applying filters: the search from the session, the rest from the
    address the form redirects to."""
    return client.get(post_filters(client, **filters).url)


@pytest.mark.parametrize("typed", ["g8t1 sj02 3294 01vr", "G8T1SJ02329401VR", "camera.g8t1_sj02_3294_01vr"])
def test_a_serial_is_found_in_any_format(signed_in, make_request, typed):
    wanted = make_request(serials=["G8T1-SJ02-3294-01VR"])
    make_request(serials=["638241420"])
    assert references(filtered(signed_in, q=typed)) == [wanted.reference]


@pytest.mark.parametrize("typed", ["CR-2026-77777", "cr-2026-77777"])
def test_a_case_number_is_found(signed_in, make_request, typed):
    wanted = make_request(case_number="CR-2026-77777")
    make_request()
    assert references(filtered(signed_in, q=typed)) == [wanted.reference]


def test_an_account_email_is_found(signed_in, make_request):
    wanted = make_request(account_email="Owner.Two@example.com")
    make_request()
    assert references(filtered(signed_in, q="owner.two@example.com")) == [wanted.reference]


def test_a_search_never_puts_what_was_typed_in_a_url(signed_in, make_request):
    make_request()
    response = post_filters(signed_in, q="owner@example.com")
    assert response.status_code == 302 and "owner" not in response.url
    page = signed_in.get(reverse("preservation:dashboard"))
    assert b"?q=" not in page.content and b"owner%40" not in page.content


def test_the_search_refuses_get(signed_in):
    assert signed_in.get(reverse("preservation:dashboard_search"), {"q": "x@y.z"}).status_code == 405


@pytest.mark.parametrize("filters, expected", [
    ({"state": "preserving"}, ["received"]),
    ({"urgency": "critical"}, ["critical"]),
    ({"due_within": "3"}, ["critical"]),
    ({"due_within": "400"}, ["critical", "received", "normal"]),
])
def test_filters_narrow_the_list(signed_in, make_request, user, filters, expected):
    made = {"critical": make_request(**window_days_ago(58, 57)), "normal": make_request(**window_days_ago(10, 9))}
    made["received"] = make_request(**window_days_ago(20, 19))
    services.request_send(preservation_request=made["received"], actor=user, now=NOW)
    services.request_record_receipt(preservation_request=made["received"], actor=user, received_on=NOW.date(), now=NOW)
    assert set(references(filtered(signed_in, **filters))) == {made[k].reference for k in expected}


def test_the_requester_filter_lists_only_colleagues(signed_in, make_request, user):
    colleague = UserFactory(agency=user.agency)
    outsider = UserFactory(agency=AgencyFactory())
    theirs = make_request(created_by=colleague)
    make_request()
    form = signed_in.get(reverse("preservation:dashboard")).context["form"]
    assert outsider.pk not in [value for value, _label in form.fields["requester"].choices]
    assert references(filtered(signed_in, requester=str(colleague.public_id))) == [theirs.reference]


def test_a_group_button_keeps_the_search_and_toggles_off(signed_in, make_request):
    wanted = make_request(case_number="CR-1", **window_days_ago(58, 57))
    make_request(case_number="CR-2", **window_days_ago(58, 57))
    page = filtered(signed_in, q="CR-1")
    chip = next(b for b in page.context["buckets"] if b["code"] == "critical")
    page = signed_in.get(reverse("preservation:dashboard") + "?" + chip["query"])
    assert references(page) == [wanted.reference]
    chip = next(b for b in page.context["buckets"] if b["code"] == "critical")
    assert chip["active"] and chip["query"] == ""  # pressed again, the group is off


def test_invalid_filters_are_explained(signed_in, make_request):
    make_request()
    response = post_filters(signed_in, due_within="-4")
    assert response.status_code == 400 and "due_within" in response.context["form"].errors
    # The message is tied to its field for screen readers.
    assert b'aria-describedby="id_due_within_error"' in response.content
    assert b'id="id_due_within_error"' in response.content


def test_clearing_shows_everything_again(signed_in, make_request):
    make_request(), make_request()
    assert references(filtered(signed_in, q="nothing matches this")) == []
    signed_in.post(reverse("preservation:dashboard_search"), {"clear": "1"})
    assert len(references(signed_in.get(reverse("preservation:dashboard")))) == 2


def test_the_csv_is_the_filtered_list_without_personal_data(signed_in, make_request):
    wanted = make_request(case_number="=HYPERLINK(1)", account_email="secret@example.com")
    make_request(case_number="CR-OTHER")
    post_filters(signed_in, q="secret@example.com")
    response = signed_in.get(reverse("preservation:dashboard_csv"))
    assert response["Content-Type"].startswith("text/csv") and "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:2] == ["Reference", "CRIM#"]
    assert [row[0] for row in rows[1:]] == [wanted.reference]
    assert rows[1][1] == "'=HYPERLINK(1)"  # no formula reaches a spreadsheet
    assert "secret@example.com" not in body and "G8T1" not in body


def test_pagination_keeps_the_filters(signed_in, make_request):
    for _ in range(27):
        make_request(case_number="CR-PAGE")
    post_filters(signed_in, q="CR-PAGE")
    second = signed_in.get(reverse("preservation:dashboard"), {"page": "2"})
    assert len(references(second)) == 2


def test_the_first_page_runs_a_constant_number_of_queries(
    client, user, make_request, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, user)
    client.get(reverse("preservation:dashboard"))  # the bell's count, cached from then on
    counted, totals = [], []
    for more in (3, 40):
        with django_capture_on_commit_callbacks(execute=True):  # committed, as in production
            for _ in range(more):
                make_request(created_by=UserFactory(agency=user.agency))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("preservation:dashboard"))
        assert response.status_code == 200
        counted.append(len(queries))
        totals.append(response.context["total"])
    assert totals == [3, 43]  # both pages counted afresh: new requests are never served stale counts
    # 7 for the page (8 before the bell's count was cached), 1 for the audit record of the list
    # read (one statement: lock, chain link and insert in the database; it was five, with the
    # savepoint around them).
    assert counted[0] == counted[1] <= 7 + 1, counted
    # Nothing changed since: the groups' counts come from the cache, one query less.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("preservation:dashboard")).context["total"] == 43
    assert len(queries) == counted[1] - 1


def row_of(response, preservation_request):
    """The table row of one request, as HTML."""
    body = response.content.decode()
    start = body.index('href="%s"' % reverse("preservation:request_detail", args=[preservation_request.public_id]))
    return body[body.rindex("<tr ", 0, start):body.index("</tr>", start)]


def test_a_row_shows_urgency_in_words_and_icon_and_the_next_deadline(signed_in, make_request, user):
    critical = make_request(case_number="CR-ROW-1", **window_days_ago(58, 57))
    row = row_of(signed_in.get(reverse("preservation:dashboard")), critical)
    assert ">%s</a>" % critical.reference in row and "CR-ROW-1" in row
    assert 'data-urgency="critical"' in row and "Critical" in row and "⚠" in row  # never colour alone
    assert "Draft" in row and user.get_full_name() in row
    assert "22 April 2026" in row and "2\xa0days" in row


def test_only_a_row_with_a_legacy_device_gives_that_reason(signed_in, make_request):
    # Read for the page's rows apart from the rows' query (selectors.with_legacy_flags).
    legacy = make_request(serials=["G8T1-SJ02-3294-01VR", "638241420"], **window_days_ago(20, 19))
    xt2 = make_request(serials=["G8T1-SJ02-3294-01VS"], **window_days_ago(20, 19))
    xt2.serials.update(model="xt2")
    current = make_request(**window_days_ago(20, 19))
    response = signed_in.get(reverse("preservation:dashboard"))
    reason = "Critical because a legacy device"
    assert reason in row_of(response, legacy) and reason in row_of(response, xt2)
    assert reason not in row_of(response, current)


def test_a_deadline_gone_by_before_the_next_refresh_says_passed(client, user, make_request):
    critical = make_request(**window_days_ago(58, 57))  # first loss on 22 April
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        row = row_of(login(client, user).get(reverse("preservation:dashboard")), critical)
    cell = row[row.index('data-label="Next deadline"'):]
    cell = cell[:cell.index("</td>")]
    assert "22 April 2026" in cell and "passed" in cell and "day" not in cell


def test_requests_of_someone_who_left_the_agency_still_name_them(signed_in, make_request, user):
    former = UserFactory(agency=user.agency, first_name="Sam", last_name="Former")
    theirs = make_request(created_by=former)
    former.agency = AgencyFactory()
    former.save()
    response = signed_in.get(reverse("preservation:dashboard"))
    assert "Sam Former" in row_of(response, theirs)
    assert former.pk not in [value for value, _label in response.context["form"].fields["requester"].choices]


def test_a_select_keeps_the_chosen_filter(signed_in, make_request):
    make_request()
    body = filtered(signed_in, state="preserving").content.decode()
    assert '<option value="preserving" selected>' in body
    assert '<label class="form-label" for="id_state">' in body and 'id="id_state"' in body
