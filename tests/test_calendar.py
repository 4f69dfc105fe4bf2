"""Calendar feeds, tested by parsing them with the icalendar package."""
import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from icalendar import Calendar

from preservation.models import AuditRecord, CalendarFeedToken, ReminderPreference
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db
NOW = utc(2026, 1, 6, 15)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def preserving(make_request):
    draft = make_request(window_start=utc(2025, 12, 20), window_end=utc(2025, 12, 21), case_number="CR-9")
    sent = services.request_send(preservation_request=draft, actor=draft.created_by, sent_at=utc(2026, 1, 4, 15), now=NOW)
    return services.request_record_receipt(preservation_request=sent, actor=draft.created_by,
                                           received_on=dt.date(2026, 1, 5), now=NOW)


def feed_url(client, user):
    login(client, user)
    client.post(reverse("preservation:calendar_feed_regenerate"))
    return reverse("preservation:calendar_feed", args=[CalendarFeedToken.objects.get(user=user).token])


def events(content):
    return [c for c in Calendar.from_ical(content).walk("VEVENT")]


def test_the_feed_lists_each_deadline_as_an_all_day_event(client, user, preserving):
    url = feed_url(client, user)
    client.logout()
    response = client.get(url)  # no session: the secret in the URL is the credential
    assert response["Content-Type"].startswith("text/calendar")
    found = {str(e["SUMMARY"]): e for e in events(response.content)}
    send_by = found["Send extension by: %s (CRIM# CR-9)" % preserving.reference]
    expires = found["Preservation expires: %s (CRIM# CR-9)" % preserving.reference]
    assert send_by.decoded("DTSTART") == dt.date(2026, 3, 29)
    assert send_by.decoded("DTEND") == dt.date(2026, 3, 30)
    assert expires.decoded("DTSTART") == dt.date(2026, 4, 5)
    assert str(send_by["UID"]) == "%s-extension_send_by@preserve" % preserving.public_id


def test_alarms_follow_the_users_lead_times(client, user, preserving, settings):
    settings.PRESERVE = {**settings.PRESERVE, "CALENDAR_ALARMS": 5}
    ReminderPreference.objects.create(user=user, lead_days=[14, 1])
    event = events(client.get(feed_url(client, user)).content)[0]
    triggers = sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))
    assert triggers == [dt.timedelta(days=-14, hours=8), dt.timedelta(days=-1, hours=8)]


def test_by_default_each_event_has_one_alarm_the_last_warning(client, user, preserving):
    ReminderPreference.objects.create(user=user, lead_days=[30, 14, 7, 3, 1])
    for event in events(client.get(feed_url(client, user)).content):
        assert [alarm.decoded("TRIGGER") for alarm in event.walk("VALARM")] == [dt.timedelta(days=-1, hours=8)]


def test_the_feed_holds_only_the_users_agency_and_only_open_requests(client, user, preserving):
    other = RequestFactory(agency=AgencyFactory(), case_number="THEIRS")
    services.request_withdraw(preservation_request=preserving, actor=user, reason="done", now=NOW)
    summaries = [str(e["SUMMARY"]) for e in events(client.get(feed_url(client, user)).content)]
    assert not any("THEIRS" in s or other.reference in s for s in summaries)
    assert not any(preserving.reference in s for s in summaries)


def test_a_draft_shows_when_its_clips_are_deleted(client, user, make_request):
    draft = make_request(window_start=utc(2025, 12, 20), window_end=utc(2025, 12, 21))
    summaries = {str(e["SUMMARY"]): e.decoded("DTSTART") for e in events(client.get(feed_url(client, user)).content)}
    assert summaries["Oldest clip deleted: %s (CRIM# %s)" % (draft.reference, draft.case_number)] == dt.date(2026, 2, 17)


def test_regenerating_the_address_revokes_the_old_one_and_is_audited(client, user, preserving):
    old = feed_url(client, user)
    new = feed_url(client, user)
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    actions = list(AuditRecord.objects.across_agencies().filter(actor=user, action__startswith="calendar_feed")
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["calendar_feed_created", "calendar_feed_regenerated", "calendar_feed_read"]


def test_an_unknown_or_deactivated_feed_is_not_found(client, user):
    assert client.get(reverse("preservation:calendar_feed", args=["nope"])).status_code == 404
    url = feed_url(client, user)
    user.is_active = False
    user.save()
    assert client.get(url).status_code == 404


def test_regenerating_needs_a_post(client, user):
    login(client, user)
    assert client.get(reverse("preservation:calendar_feed_regenerate")).status_code == 405


def test_the_feed_is_in_the_users_language(client, user, preserving):
    user.language = "de"
    user.save()
    response = client.get(feed_url(client, user))
    with translation.override("de"):
        expected = gettext("Preservation deadlines")
    assert Calendar.from_ical(response.content)["X-WR-CALNAME"] == expected
    assert "no-store" in response["Cache-Control"]


def test_a_request_ics_download_for_a_signed_in_user_of_its_agency(client, user, preserving):
    login(client, user)
    response = client.get(reverse("preservation:request_ics", args=[preserving.public_id]))
    assert response.status_code == 200
    assert 'filename="%s.ics"' % preserving.reference in response["Content-Disposition"]
    assert len(events(response.content)) == 2


def test_a_request_ics_of_another_agency_is_not_found(client, preserving):
    login(client, UserFactory(agency=AgencyFactory()))
    assert client.get(reverse("preservation:request_ics", args=[preserving.public_id])).status_code == 404
    client.logout()
    assert client.get(reverse("preservation:request_ics", args=[preserving.public_id])).status_code == 302
