"""The bell, the notification list, mark as read, and reminder preferences."""
import datetime as dt

import pytest
from django.test import RequestFactory as HttpRequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preservation.models import Notification, Reminder, ReminderPreference, Role
from preservation.models import ReminderKind as K
from preservation.reminders.views import unread_notifications
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def notification(make_request, user):
    request = make_request(case_number="CR-77")
    reminder = Reminder.objects.create(
        request=request, kind=K.EXTENSION_DUE, lead_days=7, day=dt.date(2026, 3, 22),
        due_at=dt.datetime(2026, 3, 22, 12, tzinfo=dt.timezone.utc), deadline_on=dt.date(2026, 3, 29),
    )
    return Notification.objects.create(user=user, reminder=reminder, created_at=reminder.due_at)


def test_the_bell_shows_the_unread_count(client, user, notification):
    login(client, user)
    page = client.get(reverse("preservation:notifications")).content.decode()
    assert reverse("preservation:notifications") in page
    assert '1<span class="visually-hidden"> unread</span>' in page


def test_the_unread_count_costs_one_query_and_none_when_not_shown(user, notification, django_assert_num_queries):
    request = HttpRequestFactory().get("/")
    request.user = user
    with django_assert_num_queries(0):
        count = unread_notifications(request)["unread_notifications"]
    with django_assert_num_queries(1):
        assert count() == 1


def _bell(client):
    """The unread count the bell shows on a page (0: no badge)."""
    import re
    found = re.search(r'(\d+)<span class="visually-hidden"> unread</span>', client.get(reverse("preservation:dashboard")).content.decode())
    return int(found.group(1)) if found else 0


def test_the_count_is_read_once_then_from_the_cache_until_a_notification_changes(
        client, user, notification, django_assert_num_queries, django_capture_on_commit_callbacks):
    from preservation.reminders.views import unread_count

    with django_assert_num_queries(1):
        assert unread_count(user) == 1
    with django_assert_num_queries(0):  # was: a COUNT on every page that shows the bell
        assert unread_count(user) == 1
    with django_capture_on_commit_callbacks(execute=True):
        notification.read_at = notification.created_at
        notification.save(update_fields=["read_at"])
    user.refresh_from_db()  # the next request reads the user with its new version
    with django_assert_num_queries(1):
        assert unread_count(user) == 0


def _reminder(request, day):
    return Reminder.objects.create(
        request=request, kind=K.EXTENSION_DUE, lead_days=day, day=dt.date(2026, 3, day),
        due_at=dt.datetime(2026, 3, day, 12, tzinfo=dt.timezone.utc), deadline_on=dt.date(2026, 3, 29))


@pytest.mark.parametrize("change, expected", [
    ("created", 2), ("bulk created (the sweep)", 2), ("inbox notify (an approval asked)", 2),
    ("opened", 0), ("all marked read", 0), ("updated in bulk", 0), ("bulk updated", 0),
    ("deleted", 0), ("deleted with its reminder", 0), ("deleted with its request", 0),
])
def test_the_bell_always_shows_the_count_as_it_stands(change, expected, client, user, notification,
                                                       django_capture_on_commit_callbacks):
    """Each way a notification is written moves the user's version on after its commit: the
    bell, cached in between, shows the fresh count on the next page (the table of write paths:
    save and delete through signals, cascades included, and the queryset's bulk paths)."""
    from preservation.models import NotificationKind
    from preservation.reminders import inbox

    login(client, user)
    assert _bell(client) == 1
    mine = Notification.objects.filter(user=user)
    request = notification.reminder.request
    with django_capture_on_commit_callbacks(execute=True):
        if change == "created":
            Notification.objects.create(user=user, reminder=_reminder(request, 20), created_at=notification.created_at)
        elif change == "bulk created (the sweep)":
            Notification.objects.bulk_create([Notification(user=user, reminder=_reminder(request, 21),
                                                           agency_id=user.agency_id, created_at=notification.created_at)])
        elif change == "inbox notify (an approval asked)":
            inbox.notify(users=[user], preservation_request=request, kind=NotificationKind.APPROVAL_REQUESTED,
                         actor=user, now=notification.created_at)
        elif change == "opened":
            client.post(reverse("preservation:notification_read", args=[notification.public_id]))
        elif change == "all marked read":
            client.post(reverse("preservation:notification_read_all"))
        elif change == "updated in bulk":
            mine.update(read_at=notification.created_at)
        elif change == "bulk updated":
            notification.read_at = notification.created_at
            Notification.objects.across_agencies().bulk_update([notification], ["read_at"])
        elif change == "deleted":
            mine.get().delete()
        elif change == "deleted with its reminder":
            Reminder.objects.across_agencies().filter(pk=notification.reminder_id).delete()
        else:
            from preservation.models import PreservationRequest
            PreservationRequest.objects.across_agencies().filter(pk=request.pk).delete()
    assert mine.filter(read_at__isnull=True).count() == expected
    assert _bell(client) == expected


def test_another_users_change_leaves_my_cached_count_alone(client, user, notification, django_assert_num_queries,
                                                           django_capture_on_commit_callbacks):
    from preservation.reminders.views import unread_count

    colleague = UserFactory(agency=user.agency)
    assert unread_count(user) == 1
    with django_capture_on_commit_callbacks(execute=True):
        Notification.objects.create(user=colleague, reminder=_reminder(notification.reminder.request, 23),
                                    created_at=notification.created_at)
    user.refresh_from_db()
    with django_assert_num_queries(0):
        assert unread_count(user) == 1


def test_the_list_names_the_request_and_its_deadline(client, user, notification):
    login(client, user)
    page = client.get(reverse("preservation:notifications")).content.decode()
    assert notification.reminder.request.reference in page
    assert "CR-77" in page and "29 March 2026" in page
    assert "Unread" in page


def test_an_empty_list_says_what_will_appear(client, user):
    login(client, user)
    assert "No notifications yet" in client.get(reverse("preservation:notifications")).content.decode()


def test_marking_as_read_needs_a_post(client, user, notification):
    login(client, user)
    url = reverse("preservation:notification_read", args=[notification.public_id])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_a_notification_marks_it_read_and_goes_to_the_request(client, user, notification):
    login(client, user)
    response = client.post(reverse("preservation:notification_read", args=[notification.public_id]), {"open": "1"})
    assert response.url == reverse("preservation:request_detail", args=[notification.reminder.request.public_id])


def test_mark_all_as_read(client, user, notification):
    login(client, user)
    client.post(reverse("preservation:notification_read_all"))
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()


def test_someone_elses_notification_is_not_found(client, notification):
    stranger = UserFactory(agency=AgencyFactory())
    login(client, stranger)
    assert client.post(reverse("preservation:notification_read", args=[notification.public_id])).status_code == 404
    colleague = UserFactory(agency=notification.user.agency)
    login(client, colleague)
    assert client.post(reverse("preservation:notification_read", args=[notification.public_id])).status_code == 404


def test_notifications_about_another_agencys_cases_are_hidden_after_a_move(client, user, notification):
    user.agency = AgencyFactory()
    user.save()
    login(client, user)
    assert notification.reminder.request.reference not in client.get(reverse("preservation:notifications")).content.decode()


def test_the_pages_need_a_signed_in_user(client, notification):
    assert client.get(reverse("preservation:notifications")).status_code == 302
    assert client.get(reverse("preservation:reminder_preferences")).status_code == 302


# --- Preferences ----------------------------------------------------------------------------


def test_preferences_save_lead_times_digest_and_language(client, agency):
    paralegal = UserFactory(agency=agency, role=Role.PARALEGAL)
    login(client, paralegal)
    response = client.post(reverse("preservation:reminder_preferences"),
                           {"lead_days": ["7", "1"], "language": "de"})
    assert response.status_code == 302
    preference = ReminderPreference.objects.get(user=paralegal)
    assert (preference.lead_days, preference.digest_enabled) == ([7, 1], False)
    paralegal.refresh_from_db()
    assert paralegal.language == "de"


def test_preferences_refuse_no_lead_time_and_keep_the_other_choices(client, user):
    login(client, user)
    response = client.post(reverse("preservation:reminder_preferences"), {"language": "fr", "digest_enabled": "on"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Keep at least one reminder before each deadline." in page
    assert '<option value="fr" selected>' in page
    assert not ReminderPreference.objects.filter(user=user).exists()


def test_preferences_refuse_a_lead_time_that_is_not_offered(client, user):
    login(client, user)
    response = client.post(reverse("preservation:reminder_preferences"), {"lead_days": ["5"], "language": "en"})
    assert response.status_code == 200
    assert not ReminderPreference.objects.filter(user=user).exists()


def test_the_preferences_page_offers_the_configured_lead_times(client, user):
    login(client, user)
    page = client.get(reverse("preservation:reminder_preferences")).content.decode()
    for n in (30, 14, 7, 3, 1):
        assert 'value="%d"' % n in page
    assert ">1 day</label>" in page and "1 days" not in page and ">30 days</label>" in page


def test_the_request_page_lists_its_reminders_in_the_agency_zone(client, user, notification):
    request = notification.reminder.request
    login(client, user)
    page = client.get(reverse("preservation:request_detail", args=[request.public_id])).content.decode()
    assert "Extension due" in page
    assert "22 March 2026, 08:00 EDT" in page  # 12:00 UTC is 08:00 in New York (EDT)
    assert reverse("preservation:request_ics", args=[request.public_id]) in page


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leads=st.lists(st.text(max_size=12), max_size=6), language=st.text(max_size=12),
       digest=st.sampled_from(["", "on", "yes", "\u0000"]))
def test_any_preferences_input_is_answered_without_a_server_error(client, user, leads, language, digest):
    login(client, user)
    response = client.post(reverse("preservation:reminder_preferences"),
                           {"lead_days": leads, "language": language, "digest_enabled": digest})
    assert response.status_code in (200, 302)
