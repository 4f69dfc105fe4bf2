"""Personal API tokens: the bearer header, expiry and revocation, hashing, throttling, the
tokens page and the operators' command."""
import datetime as dt
import hashlib
import io

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from preservation.api.tokens import api_token_create, api_token_revoke
from preservation.models import ApiToken, AuditRecord
from tests.api_support import fresh_throttle, token_client  # noqa: F401 (fixture)
from tests.conftest import utc
from tests.factories import UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 2, 17, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def call_me(authorization=None):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/api/v1/me/")


def test_a_token_acts_as_its_user(user):
    token, plain = api_token_create(user=user, name="RMS")

    response = call_me("Bearer " + plain)

    assert response.status_code == 200
    assert response.json() == {
        "username": user.username, "agency": user.agency.name, "role": "requester",
        "token_name": "RMS", "token_expires_at": "2026-05-31T17:00:00Z",
    }


def test_only_a_hash_of_the_secret_is_stored(user):
    token, plain = api_token_create(user=user, name="RMS")

    secret = plain.split("_", 1)[1][9:]
    assert plain.startswith("pv_" + token.prefix + "_")
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk, user=user).values().get())


def test_the_last_use_is_recorded(user, frozen_time):
    token, plain = api_token_create(user=user, name="RMS")

    call_me("Bearer " + plain)

    token.refresh_from_db()
    assert token.last_used_at == NOW


@pytest.mark.parametrize("authorization", [
    "Bearer pv_abcdefgh_not-the-secret",
    "Bearer pv_short",
    "Bearer",
    "Bearer two words",
    "Bearer \u00e9t\u00e9",
])
def test_a_wrong_or_malformed_token_is_refused_with_401(user, authorization):
    api_token_create(user=user, name="RMS")

    response = call_me(authorization)

    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_token", "malformed_token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_no_token_is_401_in_the_error_format():
    response = call_me()

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated" and response.json()["fields"] == {}


def test_a_token_with_the_right_prefix_but_another_secret_is_refused(user):
    token, plain = api_token_create(user=user, name="RMS")

    assert call_me("Bearer " + plain[:-4] + "AAAA").status_code == 401


def test_an_expired_token_is_refused(user, frozen_time):
    _token, plain = api_token_create(user=user, name="RMS", days=30)
    frozen_time.move_to(NOW + dt.timedelta(days=30))

    response = call_me("Bearer " + plain)

    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


def test_a_revoked_token_is_refused_and_the_revocation_audited(user):
    token, plain = api_token_create(user=user, name="RMS")

    api_token_revoke(token=token, actor=user)

    assert call_me("Bearer " + plain).status_code == 401
    assert list(AuditRecord.objects.across_agencies().filter(object_id=str(token.public_id)).values_list("action", flat=True)) == [
        "api_token_rejected", "api_token_revoked", "api_token_created",
    ]


def test_a_refused_token_is_audited_as_a_failed_sign_in_without_its_secret(user):
    token, plain = api_token_create(user=user, name="RMS")
    api_token_revoke(token=token, actor=user)

    call_me("Bearer " + plain)

    record = AuditRecord.objects.across_agencies().get(action="api_token_rejected")
    assert record.outcome == "failure" and record.actor == user and record.ip_address == "127.0.0.1"
    assert record.message == token.display_prefix and plain.rsplit("_", 1)[1] not in record.message


def test_a_deactivated_users_token_is_refused(user):
    _token, plain = api_token_create(user=user, name="RMS")
    user.is_active = False
    user.save()

    assert call_me("Bearer " + plain).status_code == 401


@pytest.fixture
def tight_throttle():
    rates = {"api_token": "2/minute", "api_unauthenticated": "2/minute", "api_failed_token": "2/minute"}
    caches["api_throttle"].clear()
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        yield
    caches["api_throttle"].clear()


def test_each_token_has_its_own_rate_limit(user, tight_throttle):
    busy, other = token_client(user), token_client(user)

    statuses = [busy.get("/api/v1/me/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    throttled = busy.get("/api/v1/me/")
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    assert other.get("/api/v1/me/").status_code == 200


def test_wrong_tokens_are_limited_by_client_address(user, tight_throttle):
    statuses = [call_me("Bearer pv_guessing_%d" % n).status_code for n in range(3)]

    assert statuses == [401, 401, 429]
    # Checked before the token, or a lucky guess would still get through.
    assert token_client(user).get("/api/v1/me/").status_code == 429
    assert token_client(user).get("/api/v1/me/", REMOTE_ADDR="192.0.2.10").status_code == 200


# --- The tokens page ---------------------------------------------------------------------------


PAGE = "/account/api-tokens/"


def test_the_tokens_page_needs_a_signed_in_user(client):
    response = client.get(PAGE)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_password_only_session_cannot_reach_the_tokens_page(client, user):
    client.force_login(user)  # no second factor

    response = client.post(PAGE, {"name": "Case system", "days": "30"})

    assert response.status_code == 302 and PAGE not in response["Location"]
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_token_made_on_the_page_is_shown_once_and_works(client, user):
    login(client, user)

    response = client.post(PAGE, {"name": "Case system", "days": "30"})

    assert response.status_code == 200
    plain = response.context["plain"]
    assert plain.startswith("pv_") and plain in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert call_me("Bearer " + plain).json()["token_name"] == "Case system"
    again = client.get(PAGE).content.decode()
    assert plain not in again and "Case system" in again


@pytest.mark.parametrize("form, field", [
    ({"name": "   ", "days": "30"}, "name"),
    ({"name": "RMS", "days": "3650"}, "days"),
])
def test_the_page_says_what_is_wrong_and_makes_no_token(client, user, form, field):
    login(client, user)

    response = client.post(PAGE, form)

    assert response.status_code == 200 and response.context["form"].errors[field]
    assert not ApiToken.objects.filter(user=user).exists()


def test_revoking_on_the_page(client, user):
    token, plain = api_token_create(user=user, name="RMS")
    login(client, user)

    response = client.post("%s%s/revoke/" % (PAGE, token.public_id))

    assert response.status_code == 302
    assert call_me("Bearer " + plain).status_code == 401


def test_nobody_revokes_someone_elses_token(client, user):
    token, plain = api_token_create(user=UserFactory(agency=user.agency), name="RMS")
    login(client, user)

    assert client.post("%s%s/revoke/" % (PAGE, token.public_id)).status_code == 404
    assert call_me("Bearer " + plain).status_code == 200


def test_revoking_needs_a_post(client, user):
    token, _plain = api_token_create(user=user, name="RMS")
    login(client, user)

    assert client.get("%s%s/revoke/" % (PAGE, token.public_id)).status_code == 405


# --- The command -------------------------------------------------------------------------------


def test_the_command_prints_a_working_token(user):
    out, err = io.StringIO(), io.StringIO()

    call_command("create_api_token", user.username, "--days", "7", stdout=out, stderr=err)

    plain = out.getvalue().strip()
    assert call_me("Bearer " + plain).json()["token_expires_at"] == "2026-03-09T17:00:00Z"
    assert "cannot be shown again" in err.getvalue()


@pytest.mark.parametrize("arguments", [["nobody"], ["{user}", "--days", "0"], ["{user}", "--days", "366"]])
def test_the_command_refuses_what_it_cannot_do(user, arguments):
    with pytest.raises(CommandError):
        call_command("create_api_token", *[a.format(user=user.username) for a in arguments],
                     stdout=io.StringIO(), stderr=io.StringIO())


def test_the_expiry_choices_are_in_the_readers_language(client, user):
    user.language = "de"
    user.save(update_fields=["language"])
    login(client, user)
    page = client.get(reverse("preservation:api_tokens")).content.decode()
    assert ">90 Tage</option>" in page and "90 days" not in page
