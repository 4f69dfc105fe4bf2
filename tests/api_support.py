"""What the API tests share: a client that sends a personal API token."""
import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from preservation.api.tokens import api_token_create


def token_client(user, **kwargs):
    _token, plain = api_token_create(user=user, name="tests", **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + plain)
    return client


@pytest.fixture
def api(user):
    return token_client(user)


@pytest.fixture(autouse=True)
def fresh_throttle():
    """Rate-limit counters outlive a test's database rollback: start each test with none."""
    caches["api_throttle"].clear()
