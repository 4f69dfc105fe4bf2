"""Password reset (docs/security.md "Password reset"): the page does the same work whether or not
an account uses the address (the mail goes from the queue after the answer), and it is
rate-limited per address and per client."""
import pytest
from django.core import mail
from django.core.cache import caches
from django.urls import reverse

from preservation.jobs import tasks

URL = "/accounts/password/reset/"


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["api_throttle"].clear()
    yield
    caches["api_throttle"].clear()


@pytest.fixture
def queued(monkeypatch):
    from preservation.jobs import queue

    calls = []
    monkeypatch.setattr(queue, "_start", lambda name, args: calls.append(args) if name == "send_password_reset" else None)
    return calls


def test_the_answer_sends_nothing_and_queues_the_same_task_either_way(client, user, queued,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(URL, {"email": user.email})
        unknown = client.post(URL, {"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 302 and known.url == unknown.url
    assert mail.outbox == []  # nothing is sent while the caller waits
    assert queued == [([user.pk],), ([],)]


def test_the_queued_task_sends_the_link(user):
    tasks.send_password_reset([user.pk])  # the Celery task; the embedded pool runs the same job
    [message] = mail.outbox
    assert message.to == [user.email] and "/accounts/password/reset/" in message.body


def test_one_address_gets_at_most_three_links_an_hour(client, user, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _n in range(15):
            assert client.post(URL, {"email": user.email}).status_code == 302
    assert sum(len(ids) for (ids,) in queued) == 3


def test_one_client_may_ask_only_ten_times_an_hour(db, client, queued, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    users = [UserFactory() for _n in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        for person in users:
            client.post(URL, {"email": person.email}, REMOTE_ADDR="203.0.113.9")
    assert sum(len(ids) for (ids,) in queued) == 10
