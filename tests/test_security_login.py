"""Signing in: password, then the second factor, then the banner; lockout; session limits."""
import datetime as dt
import threading

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.db import connections
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from preservation.accounts import services as accounts
from preservation.models import AuditRecord, Role
from tests.conftest import utc
from tests.factories import UserFactory
from tests.helpers import login, verified_device

PASSWORD = "correct horse battery staple"


def code_for(device, at=None):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at
    return "%06d" % totp.token()


def sign_in(client, user, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": user.username, "password": password}, **extra)


@pytest.fixture
def officer(user):
    verified_device(user)
    return user


# --- The three steps ------------------------------------------------------------------------------


def test_password_then_code_then_banner_reaches_the_page_asked_for(client, officer):
    response = client.post(reverse("login") + "?next=/requests/new/",
                           {"username": officer.username, "password": PASSWORD, "next": "/requests/new/"})
    assert response.url == reverse("accounts:otp_verify")
    device = TOTPDevice.objects.get(user=officer)
    response = client.post(reverse("accounts:otp_verify"), {"token": code_for(device)})
    assert response.url == reverse("accounts:banner")
    assert "criminal justice information" in client.get(reverse("accounts:banner")).content.decode()
    response = client.post(reverse("accounts:banner"), {"acknowledge": "on"})
    assert response.url == "/requests/new/"
    assert client.get("/").status_code == 200
    actions = list(AuditRecord.objects.across_agencies().filter(actor=officer).order_by("pk").values_list("action", flat=True))
    assert actions == ["login", "otp_verified", "banner_acknowledged", "view"] or actions[:3] == [
        "login", "otp_verified", "banner_acknowledged"]


@pytest.mark.parametrize("path", ["/", "/requests/new/", "/agency/users/", "/admin/", "/requests/1/"])
def test_a_password_only_session_reaches_nothing_but_the_second_factor(client, officer, path):
    sign_in(client, officer)
    response = client.get(path)
    assert response.status_code == 302
    assert response.url in (reverse("accounts:otp_verify"), "/admin/login/?next=/admin/")


def test_a_user_without_an_authenticator_is_sent_to_set_one_up(client, user):
    sign_in(client, user)
    assert client.get("/").url == reverse("accounts:otp_enrol")
    assert client.get(reverse("accounts:otp_verify")).url == reverse("accounts:otp_enrol")


def test_enrolment_shows_a_qr_code_and_key_and_confirming_gives_backup_codes(client, user):
    sign_in(client, user)
    page = client.get(reverse("accounts:otp_enrol")).content.decode()
    assert "<svg" in page and "<script" not in page.split("<main", 1)[1].split("</main>")[0]
    key = client.session[accounts.PENDING_TOTP_KEY]
    assert not TOTPDevice.objects.filter(user=user).exists()  # nothing stored until confirmed
    pending = TOTPDevice(user=user, key=key)
    assert accounts.totp_secret(pending).replace(" ", "")[:4] in page.replace(" ", "")
    response = client.post(reverse("accounts:otp_enrol"), {"token": code_for(pending)})
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get(reverse("accounts:banner")).status_code == 200  # verified now


def test_a_wrong_enrolment_code_is_refused_and_nothing_is_stored(client, user):
    sign_in(client, user)
    client.get(reverse("accounts:otp_enrol"))
    response = client.post(reverse("accounts:otp_enrol"), {"token": "000000"})
    assert "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_a_password_alone_cannot_replace_an_existing_authenticator(client, officer):
    sign_in(client, officer)
    assert client.get(reverse("accounts:otp_enrol")).url == reverse("accounts:otp_verify")


def test_a_wrong_code_is_refused_and_audited(client, officer):
    sign_in(client, officer)
    response = client.post(reverse("accounts:otp_verify"), {"token": "123456"})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert client.get("/").url == reverse("accounts:otp_verify")
    assert AuditRecord.objects.across_agencies().filter(action="otp_failed", outcome="failure", actor=officer).count() == 1


def test_a_backup_code_works_once(officer):
    codes = accounts.backup_codes_replace(user=officer)
    first = Client()
    sign_in(first, officer)
    assert first.post(reverse("accounts:otp_verify"), {"token": codes[0].upper()}).url == reverse("accounts:banner")
    second = Client()
    sign_in(second, officer)
    assert second.post(reverse("accounts:otp_verify"), {"token": codes[0]}).status_code == 200
    assert StaticToken.objects.filter(device__user=officer).count() == 9


def test_the_same_authenticator_code_cannot_be_replayed(officer):
    device = TOTPDevice.objects.get(user=officer)
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False):
        token = code_for(device)
        first, second = Client(), Client()
        sign_in(first, officer)
        assert first.post(reverse("accounts:otp_verify"), {"token": token}).status_code == 302
        sign_in(second, officer)
        assert second.post(reverse("accounts:otp_verify"), {"token": token}).status_code == 200


def test_the_admin_needs_a_verified_session_too(client, officer):
    officer.is_staff = officer.is_superuser = True
    officer.save()
    client.force_login(officer)  # password only
    assert client.get("/admin/").status_code == 302
    login(client, officer)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/").url.startswith(reverse("login"))


def test_sign_out_ends_the_session_on_the_server(client, officer):
    login(client, officer)
    key = client.session.session_key
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditRecord.objects.across_agencies().filter(action="logout", actor=officer).exists()


def test_a_password_reset_never_signs_in(client, officer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the link is mailed from the queue
        client.post(reverse("password_reset"), {"email": officer.email})
    link = [line for line in mailoutbox[0].body.splitlines() if "/accounts/password/reset/" in line][0].strip()
    path = link.split("://", 1)[-1].split("/", 1)[1]
    form_url = client.get("/" + path).url
    response = client.post(form_url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert response.url == reverse("password_reset_complete")
    assert "_auth_user_id" not in client.session
    sign_in(client, officer, password="a brand new passphrase")
    assert client.get("/").url == reverse("accounts:otp_verify")


# --- Lockout ---------------------------------------------------------------------------------------


def test_five_failures_lock_the_username_for_ten_minutes_from_any_address(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        for n in range(5):
            sign_in(Client(REMOTE_ADDR="10.0.0.%d" % n), officer, password="wrong password %d" % n)
        response = sign_in(Client(REMOTE_ADDR="10.9.9.9"), officer)
        assert response.status_code == 429 and "locked" in response.content.decode()
        assert AuditRecord.objects.filter(action="locked_out", agency=officer.agency).exists()
        clock.shift(dt.timedelta(minutes=9, seconds=59))
        assert sign_in(Client(), officer).status_code == 429
        clock.shift(dt.timedelta(minutes=10, seconds=2))
        assert sign_in(Client(), officer).url == reverse("accounts:otp_verify")


def test_a_lockout_of_one_username_leaves_colleagues_at_the_same_address_alone(officer):
    colleague = UserFactory(agency=officer.agency)
    for n in range(6):
        sign_in(Client(REMOTE_ADDR="10.0.0.1"), officer, password="wrong %d" % n)
    assert sign_in(Client(REMOTE_ADDR="10.0.0.1"), colleague).status_code == 302


def test_an_agency_admin_can_unlock_a_user(client, officer):
    admin = UserFactory(agency=officer.agency, role=Role.AGENCY_ADMIN)
    for n in range(5):
        sign_in(Client(), officer, password="wrong %d" % n)
    assert accounts.user_is_locked(officer)
    login(client, admin)
    assert "Locked after failed sign-ins" in client.get(reverse("accounts:users")).content.decode()
    client.post(reverse("accounts:user_unlock", args=[officer.public_id]))
    assert not accounts.user_is_locked(officer)
    assert sign_in(Client(), officer).status_code == 302
    assert AuditRecord.objects.across_agencies().filter(action="user_unlocked", actor=admin).exists()


@pytest.mark.parametrize("proxy_count, forwarded, expected", [
    (0, "203.0.113.7", "192.0.2.1"),  # not trusted without a configured proxy
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client cannot choose its address
    (2, "198.51.100.1, 203.0.113.7", "198.51.100.1"),
    (1, "not-an-address", None),
])
def test_forwarded_for_is_trusted_only_with_a_proxy_count(settings, officer, proxy_count, forwarded, expected):
    settings.PROXY_COUNT = proxy_count
    sign_in(Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded), officer, password="wrong")
    assert AuditRecord.objects.across_agencies().get(action="login_failed").ip_address == expected


def test_fifty_parallel_wrong_passwords_log_nobody_in_and_lock_the_account(transactional_db, postgres_only):
    target = UserFactory()
    verified_device(target)
    statuses = []
    barrier = threading.Barrier(50)

    def attempt(n):
        try:
            barrier.wait()
            statuses.append(sign_in(Client(REMOTE_ADDR="10.1.%d.%d" % (n // 250, n % 250)), target,
                                    password="wrong guess %d" % n).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logins = statuses.count(302)
    locked_answers = statuses.count(429)
    print("\n50 parallel wrong passwords: %d logins, %d refused as locked, %d as wrong"
          % (logins, locked_answers, statuses.count(200)))
    assert len(statuses) == 50 and logins == 0
    # Locked: even the right password is refused now.
    assert sign_in(Client(), target).status_code == 429
    assert accounts.user_is_locked(target)
    assert AccessAttempt.objects.filter(username=target.username).count() >= 5


# --- Session limits --------------------------------------------------------------------------------


def test_thirty_idle_minutes_end_the_session_on_the_server(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        key = client.session.session_key
        clock.shift(dt.timedelta(minutes=29))
        assert client.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=29))  # 29 minutes since the last request: still fine
        assert client.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=30, seconds=1))
        response = client.get("/")
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
        assert not Session.objects.filter(session_key=key).exists()
        assert AuditRecord.objects.across_agencies().filter(action="session_expired", message="idle timeout").exists()


def test_twelve_hours_after_sign_in_the_session_ends_however_active(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 6), tick=False) as clock:
        login(client, officer)
        for _step in range(35):  # a request every 20 minutes for 11 h 40 min
            clock.shift(dt.timedelta(minutes=20))
            assert client.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=20, seconds=1))
        assert client.get("/").url.startswith(reverse("login"))
        assert AuditRecord.objects.across_agencies().filter(action="session_expired", message="absolute timeout").exists()


def test_stay_signed_in_resets_the_idle_clock(client, officer):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        login(client, officer)
        page = client.get("/").content.decode()
        assert 'data-idle-seconds="1800"' in page and "js/session.js" in page
        clock.shift(dt.timedelta(minutes=28))
        assert client.post(reverse("accounts:session_keepalive")).status_code == 204
        clock.shift(dt.timedelta(minutes=28))
        assert client.get("/").status_code == 200


def test_deactivating_a_user_ends_their_sessions_at_once(client, officer):
    admin = UserFactory(agency=officer.agency, role=Role.AGENCY_ADMIN)
    login(client, officer)
    key = client.session.session_key
    accounts.user_set_active(user=officer, active=False, actor=admin)
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/").url.startswith(reverse("login"))
    assert sign_in(Client(), officer).status_code == 200  # refused with the form's message


def test_the_banner_shows_the_platform_admins_latest_text(client, officer):
    from preservation.models import LoginBanner

    LoginBanner.objects.create(text="Old notice")
    LoginBanner.objects.create(text="Authorised use only: Springfield notice 2026")
    login(client, officer)
    session = client.session
    session.pop("preserve_banner_ack")
    session.save()
    assert client.get("/").url == reverse("accounts:banner")
    page = client.get(reverse("accounts:banner")).content.decode()
    assert "Springfield notice 2026" in page and "Old notice" not in page
    response = client.post(reverse("accounts:banner"), {})
    assert "Tick the box" in response.content.decode()


def test_a_right_code_during_the_pause_after_a_wrong_one_says_how_long_to_wait(client, officer):
    sign_in(client, officer)
    device = TOTPDevice.objects.get(user=officer)
    with time_machine.travel(utc(2026, 5, 1, 9), tick=False):
        right = code_for(device)
        client.post(reverse("accounts:otp_verify"), {"token": "%06d" % ((int(right) + 1) % 1_000_000)})
        response = client.post(reverse("accounts:otp_verify"), {"token": right})
    content = response.content.decode()
    assert "wait 1 second, then type the code your app shows" in content and "not right" not in content


def test_the_sign_in_says_it_has_three_steps(client):
    assert "Step 1 of 3" in client.get(reverse("login")).content.decode()
