"""/healthz and /readyz: what load balancers and orchestrators see."""
import json

import pytest
from django.db import OperationalError
from django.urls import reverse

from preservation.core import health


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a process that has not yet seen its migrations applied."""
    monkeypatch.setattr(health._AppliedMigrations, "all_applied", False)


def body(response):
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


@pytest.mark.django_db
def test_healthz_answers_without_signing_in_and_without_touching_the_database(
        client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_probes_answer_at_the_paths_a_load_balancer_is_configured_with(name):
    assert reverse(name) == f"/{name}"
    assert reverse(name) in health.PROBE_PATHS


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_probes_refuse_to_change_anything(client, name):
    assert client.post(reverse(name)).status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_when_the_database_answers_and_every_migration_is_applied(
        client, settings):
    settings.REDIS_URL = ""
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert body(response) == {"status": "ready", "checks": {
        "database": "ok", "migrations": "ok", "redis": "not configured"}}


@pytest.mark.django_db
def test_readyz_is_not_ready_while_a_migration_is_unapplied(client, settings, monkeypatch):
    settings.REDIS_URL = ""
    monkeypatch.setattr(health.MigrationExecutor, "migration_plan",
                        lambda self, targets: [("preservation.9999_next", False)])
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert body(response)["checks"]["migrations"] == "pending"
    assert body(response)["status"] == "not ready"


@pytest.mark.django_db
def test_readyz_is_not_ready_when_the_database_does_not_answer(client, settings, monkeypatch):
    settings.REDIS_URL = ""

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" failed: password=hunter2')

    monkeypatch.setattr(health.connection, "cursor", refuse)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert body(response)["checks"] == {
        "database": "unreachable", "migrations": "unknown", "redis": "not configured"}
    assert b"db.internal" not in response.content and b"hunter2" not in response.content


@pytest.mark.django_db
def test_readyz_pings_redis_when_it_is_configured(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert body(response)["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_readyz_is_not_ready_when_redis_does_not_answer_and_never_shows_its_url(
        client, settings):
    # Port 8209 belongs to this suite's range and nothing listens there.
    settings.REDIS_URL = "redis://:s3cret-redis-pass@127.0.0.1:8209/0"
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert body(response)["checks"] == {
        "database": "ok", "migrations": "ok", "redis": "unreachable"}
    assert b"s3cret" not in response.content and b"8209" not in response.content


@pytest.mark.django_db
def test_readyz_reads_the_migration_state_only_until_every_migration_is_applied(
        client, settings, django_assert_num_queries):
    settings.REDIS_URL = ""
    first = client.get(reverse("readyz"))
    with django_assert_num_queries(1):  # SELECT 1: the database is asked on every call
        again = client.get(reverse("readyz"))
    assert first.status_code == again.status_code == 200
    assert body(again)["checks"]["migrations"] == "ok"


@pytest.mark.django_db
def test_readyz_keeps_checking_the_migrations_while_one_is_pending(client, settings, monkeypatch):
    settings.REDIS_URL = ""
    with monkeypatch.context() as patched:
        patched.setattr(health.MigrationExecutor, "migration_plan",
                        lambda self, targets: [("preservation.9999_next", False)])
        assert client.get(reverse("readyz")).status_code == 503
    assert client.get(reverse("readyz")).status_code == 200


@pytest.mark.django_db
def test_readyz_asks_redis_on_every_call_through_one_client(client, settings, redis_url, monkeypatch):
    settings.REDIS_URL = redis_url
    pings = []
    client_for_url = health._redis_client(redis_url)
    monkeypatch.setattr(type(client_for_url), "ping", lambda self: pings.append(self) or True)
    for _ in range(3):
        assert client.get(reverse("readyz")).status_code == 200
    assert pings == [client_for_url] * 3
