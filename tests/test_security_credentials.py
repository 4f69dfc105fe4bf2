"""Credentials that outlive a change (docs/security.md "Credential changes"): a password change
or reset, a new authenticator and deactivation revoke the user's API tokens and end their other
sessions; reactivation revives nothing; replacing the authenticator or the backup codes needs
the password and a current code, and the user is told by email."""
import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from preservation.accounts import services as accounts
from preservation.api.tokens import api_token_create
from preservation.models import ApiToken, Role
from tests.factories import UserFactory
from tests.helpers import login, verified_device
from tests.test_security_login import PASSWORD, code_for

NEW_PASSWORD = "a fresh and long pass phrase 42"


def api_works(plain):
    return Client().get("/api/v1/requests/", HTTP_AUTHORIZATION="Bearer " + plain).status_code == 200


@pytest.fixture
def stolen(user):
    """A token made in a stolen session and a second (attacker's) session of the same user."""
    verified_device(user)
    _token, plain = api_token_create(user=user, name="made by the thief")
    thief = login(Client(), user)
    assert api_works(plain)
    return plain, thief


def session_alive(client):
    return Session.objects.filter(session_key=client.session.session_key).exists()


def test_a_password_change_revokes_tokens_and_other_sessions(client, user, stolen):
    plain, thief = stolen
    login(client, user)
    response = client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert not api_works(plain)
    assert not session_alive(thief)
    assert client.get(reverse("preservation:dashboard")).status_code == 200  # this session goes on


def test_a_password_reset_revokes_tokens_and_every_session(client, user, stolen):
    plain, thief = stolen
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    url = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
    form_url = client.get(url).url
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert not api_works(plain) and not session_alive(thief)


def test_deactivation_revokes_tokens_and_reactivation_does_not_revive_them(user, stolen):
    plain, _thief = stolen
    admin = UserFactory(agency=user.agency, role=Role.AGENCY_ADMIN)
    accounts.user_set_active(user=user, active=False, actor=admin)
    assert not api_works(plain)
    accounts.user_set_active(user=user, active=True, actor=admin)
    assert not api_works(plain)
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=False).count() == 1


@pytest.fixture
def replacing(client, user):
    """The user's own verified session, on the page that moves codes to a new phone."""
    old = verified_device(user)
    login(client, user)
    client.get(reverse("accounts:otp_enrol"))
    new = TOTPDevice(user=user, key=client.session[accounts.PENDING_TOTP_KEY])
    return old, new


def test_a_session_alone_cannot_replace_the_authenticator(client, user, replacing):
    old, new = replacing
    response = client.post(reverse("accounts:otp_enrol"), {"token": code_for(new)})
    assert response.status_code == 200
    assert TOTPDevice.objects.get(user=user).pk == old.pk
    response = client.post(reverse("accounts:otp_enrol"), {
        "token": code_for(new), "password": "wrong password here", "current_code": code_for(old)})
    assert TOTPDevice.objects.get(user=user).pk == old.pk and "password" in response.content.decode()


def test_replacing_the_authenticator_needs_password_and_current_code_and_tells_the_user(
        client, user, stolen, replacing, django_capture_on_commit_callbacks):
    plain, thief = stolen
    old, new = replacing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:otp_enrol"), {
            "token": code_for(new), "password": PASSWORD, "current_code": code_for(old)})
    assert response.status_code == 200 and len(response.context["codes"]) == 10
    assert TOTPDevice.objects.get(user=user).key == new.key
    assert not api_works(plain) and not session_alive(thief)
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "authenticator" in mail.outbox[0].body.lower()


def test_new_backup_codes_need_password_and_current_code_and_tell_the_user(
        client, user, django_capture_on_commit_callbacks):
    device = verified_device(user)
    old_codes = accounts.backup_codes_replace(user=user)
    login(client, user)
    mail.outbox.clear()
    client.post(reverse("accounts:backup_codes"))
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == set(old_codes)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:backup_codes"), {"password": PASSWORD,
                                                                   "current_code": code_for(device)})
    assert len(response.context["codes"]) == 10 and not set(response.context["codes"]) & set(old_codes)
    assert [m.to for m in mail.outbox] == [[user.email]]
