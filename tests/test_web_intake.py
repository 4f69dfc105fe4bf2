"""The intake form: drafts save anything, sending checks everything, nothing typed is lost."""
import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from preservation.models import PreservationRequest, RequestState
from tests.conftest import utc
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login

NOW = utc(2026, 4, 20, 12, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def officer(agency):
    return UserFactory(agency=agency, first_name="Fox", last_name="Mulder", rank_title="Special Agent",
                       badge_number="JTT047101111", unit="Violent Crimes", email="fox@agency.example")


@pytest.fixture
def signed_in(client, officer):
    return login(client, officer)


def saved(officer):
    return PreservationRequest.objects.for_agency(officer.agency).get()


def form_data(**overrides):
    data = {
        "requester_name": "Fox Mulder", "requester_title": "Special Agent", "requester_badge": "47",
        "requester_email": "fox@agency.example", "requester_phone": "", "unit": "Violent Crimes",
        "case_number": "CR-2026-00042", "account_email": "", "account_country": "US",
        "auto_delete_days": "", "data_types": ["video_clips", "subscriber"],
        "window_start": "2026-02-28T19:00", "window_end": "2026-03-01T19:00",
        "window_zone": "America/New_York", "notes": "", "language": "en", "paste": "",
        "serials-TOTAL_FORMS": "0", "serials-INITIAL_FORMS": "0",
        "serials-MIN_NUM_FORMS": "0", "serials-MAX_NUM_FORMS": "1000", "action": "save",
    }
    data.update(overrides)
    return data


def with_serials(data, *rows):
    data["serials-TOTAL_FORMS"] = str(len(rows))
    for index, row in enumerate(rows):
        raw, model, ack = (row + ("", False))[:3] if isinstance(row, tuple) else (row, "", False)
        data["serials-%d-raw" % index] = raw
        data["serials-%d-model" % index] = model
        if ack:
            data["serials-%d-warnings_acknowledged" % index] = "on"
    return data


def test_a_new_form_is_prefilled_from_the_user_and_the_agency(signed_in, officer):
    response = signed_in.get(reverse("preservation:request_new"))
    form = response.context["form"]
    assert form["requester_name"].value() == "Fox Mulder"
    assert form["requester_badge"].value() == "JTT047101111"
    assert form["unit"].value() == "Violent Crimes"
    assert form["window_zone"].value() == officer.agency.time_zone
    assert form["account_country"].value() == "US"


def test_every_data_type_checkbox_carries_its_explanation(signed_in):
    content = signed_in.get(reverse("preservation:request_new")).content.decode()
    assert 'aria-describedby="id_data_types_0_help"' in content
    assert "Motion and doorbell-press clips" in content


def test_an_empty_draft_can_be_saved(signed_in, officer):
    data = form_data(requester_name="", case_number="", data_types=[], window_start="", window_end="")
    response = signed_in.post(reverse("preservation:request_new"), data)
    draft = saved(officer)
    assert response.status_code == 302
    assert response.url == reverse("preservation:request_edit", args=[draft.public_id])
    assert draft.state == RequestState.DRAFT and draft.created_by == officer


def test_the_window_is_typed_in_the_chosen_zone_and_stored_in_utc(signed_in, officer):
    signed_in.post(reverse("preservation:request_new"), form_data(
        window_start="2026-03-01T00:00", window_end="2026-03-02T00:00", window_zone="Asia/Kolkata"))
    draft = saved(officer)
    assert draft.window_start == utc(2026, 2, 28, 18, 30)
    assert draft.window_end == utc(2026, 3, 1, 18, 30)
    assert draft.window_zone == "Asia/Kolkata"


def test_the_edit_page_shows_the_window_in_its_zone_and_in_utc(signed_in, officer):
    signed_in.post(reverse("preservation:request_new"), form_data())
    draft = saved(officer)
    response = signed_in.get(reverse("preservation:request_edit", args=[draft.public_id]))
    assert response.context["form"]["window_start"].value() == dt.datetime(2026, 2, 28, 19, 0)
    assert "1 March 2026, 00:00 UTC" in response.content.decode()


def test_pasted_serials_are_split_and_added_with_their_model_hint(signed_in, officer):
    data = with_serials(form_data(paste="G8T1-SJ02-3294-01VR, 638241420\nG8T1LPFFF4023S6S"), ("120040563", "xt"))
    signed_in.post(reverse("preservation:request_new"), data)
    stored = list(saved(officer).serials.values_list("raw", "model"))
    assert stored == [("120040563", "xt"), ("G8T1-SJ02-3294-01VR", "doorbell"),
                      ("638241420", "xt"), ("G8T1LPFFF4023S6S", "sync_module_2")]


def test_a_removed_serial_row_is_not_stored(signed_in, officer):
    data = with_serials(form_data(), "G8T1-SJ02-3294-01VR", "638241420")
    data["serials-0-DELETE"] = "on"
    signed_in.post(reverse("preservation:request_new"), data)
    assert list(saved(officer).serials.values_list("raw", flat=True)) == ["638241420"]


def test_a_draft_keeps_an_invalid_serial_so_nothing_typed_is_lost(signed_in, officer):
    signed_in.post(reverse("preservation:request_new"), with_serials(form_data(), "12345-67890"))
    assert list(saved(officer).serials.values_list("raw", flat=True)) == ["12345-67890"]


def test_a_badly_formatted_field_keeps_everything_typed_and_says_what_is_wrong(signed_in, officer):
    data = with_serials(form_data(requester_email="fox@", notes="Neighbour saw a van"), "G8T1-SJ02-3294-01VR")
    response = signed_in.post(reverse("preservation:request_new"), data)
    assert response.status_code == 400
    assert not PreservationRequest.objects.for_agency(officer.agency).exists()
    form = response.context["form"]
    assert "requester_email" in form.errors
    assert form["notes"].value() == "Neighbour saw a van"
    assert 'value="G8T1-SJ02-3294-01VR"' in response.content.decode()


def test_a_window_ending_before_it_starts_is_refused_beside_the_end(signed_in):
    response = signed_in.post(reverse("preservation:request_new"), form_data(
        window_start="2026-03-02T00:00", window_end="2026-03-01T00:00"))
    assert response.context["form"].errors["window_end"] == ["The window must end after it starts."]


def test_preparing_to_send_a_complete_draft_opens_the_sending_page(signed_in, officer):
    data = with_serials(form_data(action="send"), "G8T1-SJ02-3294-01VR")
    response = signed_in.post(reverse("preservation:request_new"), data)
    draft = saved(officer)
    assert response.url == reverse("preservation:request_send", args=[draft.public_id])


def test_preparing_to_send_an_incomplete_draft_saves_it_and_shows_each_problem_beside_its_field(signed_in, officer):
    data = form_data(action="send", requester_name="", data_types=[], paste="G8T1-SJ02-3294-01VR, 12345")
    response = signed_in.post(reverse("preservation:request_new"), data)
    draft = saved(officer)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["requester_name"] == ["Enter the requester's name."]
    assert form.errors["data_types"] == ["Choose at least one type of data to preserve."]
    assert any("12345" in e for e in response.context["serial_errors"])
    content = response.content.decode()
    # The form now posts to the saved draft (no duplicate), and the pasted serials are rows.
    assert 'action="%s"' % reverse("preservation:request_edit", args=[draft.public_id]) in content
    assert 'value="12345"' in content and response.context["form"]["paste"].value() == ""


def test_a_serial_with_a_warning_must_be_marked_checked_before_sending(signed_in, officer):
    unchecked = with_serials(form_data(action="send"), "G8T1-SJ02-3294-O1VR")
    response = signed_in.post(reverse("preservation:request_new"), unchecked)
    assert response.status_code == 400
    assert any("Warnings checked" in e for e in response.context["serial_errors"])
    draft = saved(officer)
    checked = with_serials(form_data(action="send"), ("G8T1-SJ02-3294-O1VR", "doorbell", True))
    response = signed_in.post(reverse("preservation:request_edit", args=[draft.public_id]), checked)
    assert response.url == reverse("preservation:request_send", args=[draft.public_id])


def test_a_sent_request_cannot_be_edited(signed_in, make_request, officer):
    preservation_request = make_request(created_by=officer, state=RequestState.SUBMITTED, sent_at=NOW)
    response = signed_in.get(reverse("preservation:request_edit", args=[preservation_request.public_id]))
    assert response.url == reverse("preservation:request_detail", args=[preservation_request.public_id])


def test_another_agencys_draft_is_not_found(signed_in):
    stranger = UserFactory(agency=AgencyFactory())
    draft = PreservationRequest.objects.create(agency=stranger.agency, created_by=stranger)
    for name in ("request_edit", "request_detail", "request_send"):
        assert signed_in.get(reverse("preservation:" + name, args=[draft.public_id])).status_code == 404
    response = signed_in.post(reverse("preservation:request_edit", args=[draft.public_id]), form_data())
    assert response.status_code == 404


def test_pages_with_case_data_are_never_cached(signed_in, make_request, officer):
    preservation_request = make_request(created_by=officer)
    for url in (reverse("preservation:request_new"), reverse("preservation:dashboard"),
                reverse("preservation:request_detail", args=[preservation_request.public_id])):
        assert "no-store" in signed_in.get(url)["Cache-Control"]


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("preservation:request_new"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_paste_of_too_many_serials_is_refused_and_kept(signed_in, officer):
    pasted = "\n".join("%09d" % (600000000 + n) for n in range(101))
    response = signed_in.post(reverse("preservation:request_new"), form_data(paste=pasted))
    assert response.status_code == 400
    assert response.context["form"].errors["paste"] == ["Paste at most 100 serials at once (found 101)."]
    assert response.context["form"]["paste"].value() == pasted


def test_a_window_ending_in_the_future_is_refused_at_the_form_not_only_at_sending(signed_in):
    response = signed_in.post(reverse("preservation:request_new"), form_data(
        window_start="2026-04-20T07:00", window_end="2026-04-20T09:00"))  # 09:00 EDT is 13:00 UTC, after now
    assert response.status_code == 400
    assert "The window cannot end in the future" in response.content.decode()


def test_every_page_names_its_icon(signed_in):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in signed_in.get(
        reverse("preservation:request_new")).content.decode()
