"""The request page, its actions and the "Send to Blink" page."""
import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from preservation.models import PreservationRequest, RequestState
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory
from tests.helpers import login

NOW = utc(2026, 4, 20, 12, 0)
S = RequestState


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def draft(make_request):
    return make_request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2), account_country="US")


def detail(client, preservation_request):
    return client.get(reverse("preservation:request_detail", args=[preservation_request.public_id]))


def reloaded(preservation_request):
    return PreservationRequest.objects.for_agency(preservation_request.agency).get(pk=preservation_request.pk)


def test_the_page_puts_the_request_in_the_context_for_other_features(signed_in, draft):
    assert detail(signed_in, draft).context["preservation_request"] == draft


def test_a_draft_shows_the_urgency_in_words_and_with_an_icon(signed_in, draft):
    content = detail(signed_in, draft).content.decode()
    # In the request's zone with the abbreviation for that instant, UTC beside (docs/dates.md).
    assert "29 April 2026, 20:00 EDT (30 April 2026, 00:00 UTC): 9 days left (Elevated)" in content
    assert 'data-urgency="elevated"' in content
    assert '<span aria-hidden="true">●</span> Elevated</span>' in content


def test_each_deadline_comes_with_how_it_was_computed(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    services.request_record_receipt(preservation_request=draft, actor=user, received_on=dt.date(2026, 4, 20), now=NOW)
    rows = {row["code"]: row for row in detail(signed_in, draft).context["deadline_rows"]}
    assert rows["expires"]["value"] == "19 July 2026"
    assert rows["expires"]["explanation"] == "Preservation expires: received 2026-04-20 + 90 days = 2026-07-19."
    assert not rows["expires"]["provisional"]


def test_dates_counted_from_the_sending_day_are_marked_provisional(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    response = detail(signed_in, draft)
    rows = {row["code"]: row for row in response.context["deadline_rows"]}
    assert rows["expires"]["provisional"] and rows["extension_send_by"]["provisional"]
    assert "provisional" in response.content.decode()


def test_the_timeline_marks_the_window_its_deletion_and_today(signed_in, draft):
    timeline = detail(signed_in, draft).context["timeline"]
    labels = [mark["label"] for mark in timeline["marks"]]
    assert labels == ["Window starts", "Window ends", "Today", "Oldest clip deleted", "Newest clip deleted"]
    xs = [mark["x"] for mark in timeline["marks"]]
    assert xs == sorted(xs) and xs[0] == 20 and xs[-1] == 980


def test_the_timeline_is_inline_svg_with_a_text_alternative(signed_in, draft):
    content = detail(signed_in, draft).content.decode()
    assert '<svg class="timeline-svg"' in content and 'role="img"' in content
    assert "Oldest clip deleted: 29 April 2026" in content  # 20:00 EDT on 29 April


def test_a_sent_request_shows_only_its_allowed_actions(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    names = [action["name"] for action in detail(signed_in, draft).context["actions"]]
    # Correcting what was recorded (the sending time) is offered from the first recorded fact.
    assert names == ["record_receipt", "record_legal_process", "withdraw", "correct"]


def test_every_action_asks_for_confirmation(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    content = detail(signed_in, draft).content.decode()
    assert content.count("data-confirm=") == 4


def test_recording_receipt_starts_the_clock_and_shows_the_expiry(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    response = signed_in.post(reverse("preservation:request_record_receipt", args=[draft.public_id]), {
        "record_receipt-received_on": "2026-04-20", "record_receipt-blink_reference": "LE-991"})
    assert response.status_code == 302
    stored = reloaded(draft)
    assert (stored.state, stored.expires_on, stored.blink_reference) == (S.PRESERVING, dt.date(2026, 7, 19), "LE-991")
    assert "19 July 2026" in signed_in.get(response.url).content.decode()


def test_a_refused_action_shows_the_services_message_beside_its_field(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    response = signed_in.post(reverse("preservation:request_record_receipt", args=[draft.public_id]),
                              {"record_receipt-received_on": "2026-05-01"})
    assert response.status_code == 400
    form = next(a["form"] for a in response.context["actions"] if a["name"] == "record_receipt")
    assert form.errors["received_on"] == ["This date is in the future."]
    assert response.context["open_action"] == "record_receipt"
    assert reloaded(draft).state == S.SUBMITTED


def test_withdrawing_needs_a_reason(signed_in, draft):
    response = signed_in.post(reverse("preservation:request_withdraw", args=[draft.public_id]), {"withdraw-reason": " "})
    assert response.status_code == 400 and reloaded(draft).state == S.DRAFT


def test_an_action_the_state_does_not_allow_is_refused_with_a_message(signed_in, draft):
    response = signed_in.post(reverse("preservation:request_record_extension_receipt", args=[draft.public_id]),
                              {"record_extension_receipt-received_on": "2026-04-20"})
    assert response.status_code == 400
    assert "not possible while the request is" in response.content.decode()


def test_a_second_extension_is_refused_clearly(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    services.request_record_receipt(preservation_request=draft, actor=user, received_on=dt.date(2026, 4, 20), now=NOW)
    services.request_send_extension(preservation_request=draft, actor=user, now=NOW)
    response = signed_in.post(reverse("preservation:request_send_extension", args=[draft.public_id]), {})
    assert "only one extension" in response.content.decode()


def test_actions_refuse_get_and_other_agencies(signed_in, user):
    theirs = RequestFactory(agency=AgencyFactory())
    assert signed_in.get(reverse("preservation:request_withdraw", args=[theirs.public_id])).status_code == 405
    response = signed_in.post(reverse("preservation:request_withdraw", args=[theirs.public_id]), {"withdraw-reason": "x"})
    assert response.status_code == 404


def test_the_history_lists_each_change(signed_in, draft, user):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    content = detail(signed_in, draft).content.decode()
    assert "Draft → Sent to Blink" in content


@pytest.mark.parametrize("serial, present, absent", [
    ("G8T1LPFFF4023S6S", ["sm2_local_storage", "clip_backup"], ["legacy_no_local", "find_sync_module_2"]),
    ("G8T1-SJ02-3294-01VR", ["find_sync_module_2", "sm2_local_storage"], ["legacy_no_local"]),
    ("638241420", ["legacy_no_local"], ["sm2_local_storage"]),
])
def test_the_evidence_checklist_follows_the_devices(signed_in, make_request, serial, present, absent):
    preservation_request = make_request(serials=[serial])
    codes = [item.code for item in detail(signed_in, preservation_request).context["checklist"]]
    assert set(present) <= set(codes) and not set(absent) & set(codes)
    assert {"home_assistant", "live_view_cloud_only"} <= set(codes)


def test_the_send_page_lists_values_in_blinks_order_with_utc_times(signed_in, draft):
    response = signed_in.get(reverse("preservation:request_send", args=[draft.public_id]))
    fields = {f["code"]: f["value"] for f in response.context["fields"]}
    codes = [f["code"] for f in response.context["fields"]]
    assert codes.index("requester_name") < codes.index("agency") < codes.index("case_number") \
        < codes.index("data_types") < codes.index("window_start") < codes.index("serials")
    assert fields["window_start"] == "2026-03-01 00:00"
    assert fields["serials"] == "G8T1-SJ02-3294-01VR"
    assert response.content.decode().count("data-copy-target=") >= 10


def test_recording_the_sending_in_one_click(signed_in, draft):
    response = signed_in.post(reverse("preservation:request_record_sending", args=[draft.public_id]), {"send-sent_at": ""})
    assert response.url == reverse("preservation:request_detail", args=[draft.public_id])
    assert reloaded(draft).sent_at == NOW


def test_a_sending_time_is_typed_in_agency_time(signed_in, draft):
    signed_in.post(reverse("preservation:request_record_sending", args=[draft.public_id]), {"send-sent_at": "2026-04-20T07:30"})
    assert reloaded(draft).sent_at == utc(2026, 4, 20, 11, 30)  # New York is UTC-4 in April


def test_sending_an_incomplete_request_shows_why_on_the_send_page(signed_in, user):
    incomplete = PreservationRequest.objects.create(agency=user.agency, created_by=user)
    response = signed_in.post(reverse("preservation:request_record_sending", args=[incomplete.public_id]), {})
    assert response.status_code == 400
    assert "Enter the requester" in response.content.decode()


def test_the_send_page_lists_what_is_missing_before_anyone_goes_to_blink(signed_in, user):
    incomplete = PreservationRequest.objects.create(agency=user.agency, created_by=user)
    response = signed_in.get(reverse("preservation:request_send", args=[incomplete.public_id]))
    assert "Choose at least one type of data to preserve." in response.context["problems"]
    assert b'data-testid="send-problems"' in response.content


def test_a_history_entry_made_by_the_system_shows_as_such(client, user, make_request):
    """A lapse has no actor: the page must say who did it, not fail (found by the load test)."""
    request = make_request(window_start=utc(2026, 1, 1), window_end=utc(2026, 1, 2))
    now = utc(2026, 6, 1, 12)
    request = services.request_send(preservation_request=request, actor=user, sent_at=utc(2026, 1, 4, 15), now=now)
    request = services.request_record_receipt(preservation_request=request, actor=user, received_on=dt.date(2026, 1, 5), now=now)
    services.request_lapse(preservation_request=request, now=now)
    login(client, user)
    response = client.get(reverse("preservation:request_detail", args=[request.public_id]))
    assert response.status_code == 200
    assert "the system" in response.content.decode()


# Dates in the reader's language: its own order and words (config/formats for English), one
# style per language on every page (docs/dates.md).
DATES = [
    ("en", "20 April 2026", "12 July 2026"),
    ("de", "20. April 2026", "12. Juli 2026"),
    ("fr", "20 avril 2026", "12 juillet 2026"),
    ("es", "20 de abril de 2026", "12 de julio de 2026"),
]


@pytest.mark.parametrize("language, long, due", DATES, ids=[d[0] for d in DATES])
def test_dates_are_written_as_the_readers_language_writes_them(client, user, draft, language, long, due):
    services.request_send(preservation_request=draft, actor=user, sent_at=NOW, now=NOW)
    services.request_record_receipt(preservation_request=draft, actor=user, received_on=dt.date(2026, 4, 20), now=NOW)
    user.language = language
    user.save(update_fields=["language"])
    login(client, user)
    assert long in detail(client, draft).content.decode()  # the receipt date on the request page
    assert reloaded(draft).next_deadline_on == dt.date(2026, 7, 12)
    dashboard = client.get(reverse("preservation:dashboard")).content.decode()
    assert "<strong>%s</strong>" % due in dashboard  # the same style as the request page


def test_the_page_reads_the_provider_and_legal_basis_with_the_request_however_often_it_asks(
        signed_in, draft, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.request_send(preservation_request=draft, actor=user, now=NOW)
    services.request_record_receipt(preservation_request=draft, actor=user, received_on=dt.date(2026, 4, 20), now=NOW)
    with CaptureQueriesContext(connection) as queries:
        assert detail(signed_in, draft).status_code == 200  # deadlines and the extension letter's check
    read = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert sum('FROM "preservation_provider"' in sql or 'FROM "preservation_legalbasis"' in sql for sql in read) == 0
    (joined,) = [sql for sql in read if 'JOIN "preservation_provider"' in sql]
    assert 'JOIN "preservation_legalbasis"' in joined and 'FROM "preservation_preservationrequest"' in joined


def test_a_request_whose_basis_changes_reads_the_new_basis(draft):
    from preservation.requests import selectors

    assert selectors.request_policies(draft)[1].code == draft.legal_basis == "us_2703f"
    draft.legal_basis = "voluntary"
    assert selectors.request_policies(draft)[1].code == "voluntary"


def test_a_drafts_page_does_not_ask_the_database_whether_its_assignee_exists(signed_in, draft, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preservation.rules.validation import sending_errors

    assert draft.assigned_to_id == user.pk
    with CaptureQueriesContext(connection) as queries:
        assert detail(signed_in, draft).status_code == 200  # its letter's check: sending_errors
    assert not [q["sql"] for q in queries if q["sql"].startswith('SELECT 1 AS "a" FROM "preservation_user"')]
    with CaptureQueriesContext(connection) as queries:
        problems = sending_errors(draft, now=NOW, raw_serials=["G8T1-SJ02-3294-01VR"], other_identifiers=[])
    assert len(queries) == 0
    assert "assigned_to" not in problems
