"""The OpenAPI schema, the reference page, and schemathesis against the schema: no input may
cause a server error or a response the schema does not describe."""
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api_support import fresh_throttle, token_client  # noqa: F401 (fixture)
from tests.factories import RequestFactory

pytestmark = pytest.mark.django_db


def test_the_schema_describes_every_endpoint_and_the_bearer_token():
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/requests/", "/api/v1/requests/{id}/", "/api/v1/requests/search/",
        "/api/v1/requests/{id}/send/", "/api/v1/requests/{id}/record-receipt/",
        "/api/v1/requests/{id}/send-extension/", "/api/v1/requests/{id}/record-extension-receipt/",
        "/api/v1/requests/{id}/record-legal-process/", "/api/v1/requests/{id}/close/",
        "/api/v1/requests/{id}/withdraw/", "/api/v1/requests/{id}/reminders/",
        "/api/v1/requests/{id}/approve/", "/api/v1/requests/{id}/documents/",
        "/api/v1/documents/{id}/", "/api/v1/documents/{id}/download/",
        "/api/v1/serials/validate/", "/api/v1/deadlines/", "/api/v1/me/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/requests/"]["post"]["responses"]["400"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_reference_page_loads_everything_from_our_own_static_files():
    response = Client().get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources  # no CDN
    assert "<script>" not in html  # the init script is a file too (strict CSP)
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source


# Loaded from the app itself, in-process (the schema view needs no database). The lazy
# fixture loader (schemathesis.pytest.from_fixture) does not work with pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
# The coverage phase (boundary values, wrong types, missing fields) stays; its probing of every
# path with every undocumented method (DRF answers them all alike, 405) would double the time.
schema.config.phases.coverage.unexpected_methods = set()


@pytest.fixture
def keep_test_connection():
    """Requests sent straight to the WSGI app close the database connection when they end
    (Django's test client turns this off; schemathesis' WSGI client does not), which would
    end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(user, keep_test_connection):
    RequestFactory(agency=user.agency, created_by=user)  # something to list
    return token_client(user)._credentials["HTTP_AUTHORIZATION"]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_no_input_breaks_the_api_or_its_schema(case, bearer):
    case.call_and_validate(
        headers={"Authorization": bearer},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance],
    )
