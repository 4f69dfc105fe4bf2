"""API throttles count clients by the same proxy rule as the rest of the app (PROXY_COUNT):
a client-supplied X-Forwarded-For never gives a guesser a fresh budget (docs/security.md
"Client addresses")."""
import pytest
from django.core.cache import caches
from django.test import Client


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["api_throttle"].clear()
    yield
    caches["api_throttle"].clear()


def wrong_token(n, **extra):
    return Client().get("/api/v1/requests/", HTTP_AUTHORIZATION="Bearer pv_nothere_x",
                        HTTP_X_FORWARDED_FOR="10.0.%d.%d" % (n // 256, n % 256), REMOTE_ADDR="203.0.113.5", **extra)


def test_a_forged_forwarded_for_does_not_reset_the_failed_token_budget(db, settings):
    settings.PROXY_COUNT = 0
    statuses = [wrong_token(n).status_code for n in range(25)]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}


def test_behind_one_proxy_the_address_it_saw_is_counted(db, settings):
    settings.PROXY_COUNT = 1
    from preservation.api.throttling import FailedTokenThrottle
    from django.test import RequestFactory

    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="198.51.100.1, 192.0.2.7", REMOTE_ADDR="10.0.0.1")
    assert FailedTokenThrottle().get_ident(request) == "192.0.2.7"
