"""Invitations, roles, agency settings, supervisor approval and the forms' handling of bad input."""
import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from preservation.accounts import services as accounts
from preservation.core import permissions
from preservation.models import AuditRecord, Invitation, RequestEvent, Role, User
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login
from tests.test_security_login import code_for


@pytest.fixture
def admin(agency):
    return UserFactory(agency=agency, role=Role.AGENCY_ADMIN)


@pytest.fixture
def admin_client(client, admin, django_capture_on_commit_callbacks):
    client.capture = django_capture_on_commit_callbacks  # the email goes out after commit
    return login(client, admin)


def _invite(admin_client, email="new.officer@agency.example", role=Role.PARALEGAL):
    with admin_client.capture(execute=True):
        return admin_client.post(reverse("accounts:user_invite"), {"email": email, "role": role})


def _link(mailoutbox):
    return re.search(r"http://testserver(/accounts/invitation/[^/\s]+/)", mailoutbox[-1].body).group(1)


# --- Invitations -------------------------------------------------------------------------------


def test_an_invitation_email_carries_a_link_that_creates_the_account_and_starts_enrolment(
        admin_client, admin, mailoutbox):
    assert _invite(admin_client).url == reverse("accounts:users")
    assert mailoutbox[0].to == ["new.officer@agency.example"]
    link = _link(mailoutbox)
    newcomer = Client()
    assert newcomer.get(link).status_code == 200
    response = newcomer.post(link, {"username": "sam", "first_name": "Sam", "password1": "a long passphrase here",
                                    "password2": "a long passphrase here"})
    assert response.url == reverse("accounts:otp_enrol")
    user = User.objects.get(username="sam")
    assert (user.agency, user.role, user.email) == (admin.agency, Role.PARALEGAL, "new.officer@agency.example")
    assert user.check_password("a long passphrase here")
    assert newcomer.get("/").url == reverse("accounts:otp_enrol")  # no way round the second factor


def test_an_invitation_works_once(admin_client, mailoutbox):
    _invite(admin_client)
    link = _link(mailoutbox)
    data = {"username": "first", "password1": "a long passphrase here", "password2": "a long passphrase here"}
    Client().post(link, data)
    response = Client().post(link, {**data, "username": "second"})
    assert response.status_code == 404 and "does not work" in response.content.decode()
    assert not User.objects.filter(username="second").exists()


def test_an_invitation_expires_after_seven_days(admin_client, mailoutbox):
    with time_machine.travel(utc(2026, 5, 1, 12), tick=False) as clock:
        _invite(admin_client)
        link = _link(mailoutbox)
        clock.shift(dt.timedelta(days=7, seconds=1))
        assert Client().get(link).status_code == 404


def test_a_tampered_or_revoked_invitation_link_does_not_work(admin_client, mailoutbox):
    _invite(admin_client)
    link = _link(mailoutbox)
    assert Client().get(link[:-3] + "xx/").status_code == 404
    invitation = Invitation.objects.across_agencies().get()
    admin_client.post(reverse("accounts:invitation_revoke", args=[invitation.public_id]))
    assert Client().get(link).status_code == 404


@pytest.mark.parametrize("password, message", [
    ("short pass", "at least 12 characters"),
    ("password1234", "too common"),
    ("123456789012", "entirely numeric"),
])
def test_weak_passwords_are_refused_without_composition_rules(admin_client, mailoutbox, password, message):
    _invite(admin_client)
    response = Client().post(_link(mailoutbox), {"username": "kim", "password1": password, "password2": password})
    assert message in response.content.decode()
    assert not User.objects.filter(username="kim").exists()


def test_a_long_lowercase_passphrase_is_enough(admin_client, mailoutbox):
    _invite(admin_client)
    Client().post(_link(mailoutbox), {"username": "kim", "password1": "purple monkey dishwasher",
                                      "password2": "purple monkey dishwasher"})
    assert User.objects.filter(username="kim").exists()


def test_inviting_an_existing_email_says_so(admin_client, user):
    response = _invite(admin_client, email=user.email.upper())
    assert response.status_code == 400 and "already exists" in response.content.decode()


# --- Users and roles ----------------------------------------------------------------------------


def test_an_admin_changes_a_role_and_it_is_audited(admin_client, admin, user):
    admin_client.post(reverse("accounts:user_role", args=[user.public_id]), {"role": Role.SUPERVISOR})
    user.refresh_from_db()
    assert user.role == Role.SUPERVISOR
    record = AuditRecord.objects.across_agencies().get(action="role_changed")
    assert (record.actor, record.object_id, record.message) == (admin, str(user.public_id),
                                                                "%s: requester -> supervisor" % user.username)


def test_the_last_administrator_cannot_step_down_or_be_deactivated(admin):
    with pytest.raises(ValidationError, match="at least one active administrator"):
        accounts.user_set_role(user=admin, role=Role.REQUESTER, actor=admin)
    with pytest.raises(ValidationError, match="at least one active administrator"):
        accounts.user_set_active(user=admin, active=False, actor=admin)
    second = UserFactory(agency=admin.agency, role=Role.AGENCY_ADMIN)
    accounts.user_set_role(user=admin, role=Role.REQUESTER, actor=second)


def test_a_deactivated_user_cannot_sign_in_and_can_be_reactivated(admin_client, user):
    admin_client.post(reverse("accounts:user_active", args=[user.public_id]), {"active": "0"})
    assert Client().post(reverse("login"), {"username": user.username,
                                             "password": "correct horse battery staple"}).status_code == 200
    admin_client.post(reverse("accounts:user_active", args=[user.public_id]), {"active": "1"})
    assert Client().post(reverse("login"), {"username": user.username,
                                             "password": "correct horse battery staple"}).status_code == 302


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.PARALEGAL, Role.SUPERVISOR])
def test_only_agency_admins_manage_users_and_settings(client, agency, role, user):
    login(client, UserFactory(agency=agency, role=role))
    assert client.get(reverse("accounts:users")).status_code == 403
    assert client.post(reverse("accounts:user_role", args=[user.public_id]), {"role": Role.AGENCY_ADMIN}).status_code == 403
    assert client.get(reverse("accounts:agency_settings")).status_code == 403
    user.refresh_from_db()
    assert user.role == Role.REQUESTER


def test_the_agency_settings_page_saves_and_audits_the_approval_rule(admin_client, agency):
    response = admin_client.post(reverse("accounts:agency_settings"), {
        "name": agency.name, "time_zone": "Europe/Berlin", "requires_supervisor_approval": "on",
        "postal_address": "", "phone": "", "legal_basis": ""})
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.requires_supervisor_approval and agency.time_zone == "Europe/Berlin"
    assert "requires_supervisor_approval" in AuditRecord.objects.across_agencies().get(action="agency_updated").message


def test_a_bad_time_zone_is_refused_with_a_message(admin_client, agency):
    response = admin_client.post(reverse("accounts:agency_settings"), {"name": agency.name, "time_zone": "Mars/Base"})
    assert response.status_code == 400 and "not a known IANA time zone" in response.content.decode()


ROLE_TABLE = [
    # role, own request, colleague's request, approve
    (Role.REQUESTER, True, False, False),
    (Role.PARALEGAL, True, True, False),
    (Role.SUPERVISOR, True, True, True),
    (Role.AGENCY_ADMIN, True, True, True),
]


@pytest.mark.parametrize("role, edit_own, edit_colleagues, approve", ROLE_TABLE)
def test_what_each_role_may_do(agency, role, edit_own, edit_colleagues, approve):
    actor = UserFactory(agency=agency, role=role)
    own = RequestFactory(agency=agency, created_by=actor)
    colleagues = RequestFactory(agency=agency)
    foreign = RequestFactory()
    assert permissions.can_view_request(actor, colleagues) and not permissions.can_view_request(actor, foreign)
    assert permissions.can_edit_request(actor, own) is edit_own
    assert permissions.can_edit_request(actor, colleagues) is edit_colleagues
    assert permissions.can_approve_request(actor, own) is approve
    assert not permissions.can_edit_request(actor, foreign) and not permissions.can_approve_request(actor, foreign)


# --- Supervisor approval ------------------------------------------------------------------------


@pytest.fixture
def strict_agency(agency):
    agency.requires_supervisor_approval = True
    agency.save()
    return agency


def test_where_the_agency_requires_it_a_request_is_sent_only_after_approval(strict_agency, user):
    supervisor = UserFactory(agency=strict_agency, role=Role.SUPERVISOR)
    request = RequestFactory(agency=strict_agency, created_by=user)
    with pytest.raises(ValidationError, match="supervisor's approval") as refused:
        services.request_send(preservation_request=request, actor=user)
    assert refused.value.code == "approval_required"
    services.request_approve(preservation_request=request, actor=supervisor)
    assert request.events.get(action=RequestEvent.Action.APPROVED).actor == supervisor
    assert services.request_send(preservation_request=request, actor=user).state == "submitted"


def test_editing_after_approval_needs_a_new_approval(strict_agency, user):
    supervisor = UserFactory(agency=strict_agency, role=Role.SUPERVISOR)
    request = services.request_save_draft(agency=strict_agency, actor=user, fields={"case_number": "A"},
                                          now=utc(2026, 5, 1, 9))
    services.request_approve(preservation_request=request, actor=supervisor, now=utc(2026, 5, 1, 10))
    assert services.request_is_approved(request)
    services.request_save_draft(agency=strict_agency, actor=user, preservation_request=request, fields={"case_number": "B"},
                                now=utc(2026, 5, 1, 11))
    assert not services.request_is_approved(request)


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.PARALEGAL])
def test_only_supervisors_approve(strict_agency, user, role):
    request = RequestFactory(agency=strict_agency, created_by=user)
    with pytest.raises(ValidationError, match="Only a supervisor"):
        services.request_approve(preservation_request=request, actor=UserFactory(agency=strict_agency, role=role))


def test_a_supervisor_of_another_agency_cannot_approve(strict_agency, user):
    request = RequestFactory(agency=strict_agency, created_by=user)
    outsider = UserFactory(agency=AgencyFactory(), role=Role.SUPERVISOR)
    with pytest.raises(ValidationError, match="Only a supervisor"):
        services.request_approve(preservation_request=request, actor=outsider)


# --- Demo ---------------------------------------------------------------------------------------


def test_seed_demo_gives_every_demo_user_a_second_factor_they_can_use(db, capsys):
    from django.core.management import call_command

    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    assert capsys.readouterr().out == first  # the same keys and codes every run
    keys = re.findall(r"authenticator key \(time-based\): ([A-Z2-7]+)", first)
    codes = re.findall(r"backup codes \(each works once\): (.+)", first)
    assert len(keys) == 4 and len(codes) == 4
    officer = User.objects.get(username="officer")
    client = Client()
    client.post(reverse("login"), {"username": "officer", "password": "preserve-demo-2026"})
    device = officer.totpdevice_set.get()
    assert accounts.totp_secret(device) == keys[0]
    assert client.post(reverse("accounts:otp_verify"), {"token": code_for(device)}).url == reverse("accounts:banner")


# --- Bad input: no form answers with a server error ---------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(["", " ", "\x00", "0001-01-01", "9999-12-31", "2024-02-29", "2026-03-29T02:30",
                     "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "\u202e", "%00"]),
)


class TestFormsSurviveAnyInput(HypothesisTestCase):
    """Hypothesis feeds every form of sign-in and administration; nothing may answer 500."""

    def setUp(self):
        self.agency = AgencyFactory()
        self.admin = UserFactory(agency=self.agency, role=Role.AGENCY_ADMIN)
        self.client = login(Client(raise_request_exception=False), self.admin)
        self.anonymous = Client(raise_request_exception=False)
        self.half = Client(raise_request_exception=False)
        self.half.force_login(self.admin)  # password only: the second-factor forms
        invitation = accounts.invitation_create(agency=self.agency, email="x@agency.example",
                                                role=Role.REQUESTER, invited_by=self.admin)
        self.invite_url = reverse("accounts:invitation_accept", args=[accounts.invitation_token(invitation)])

    def _ok(self, response):
        self.assertLess(response.status_code, 500)

    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ODD_TEXT, ODD_TEXT)
    def test_sign_in_and_second_factor(self, a, b):
        self._ok(self.anonymous.post(reverse("login"), {"username": a, "password": b}))
        self._ok(self.half.post(reverse("accounts:otp_verify"), {"token": a}))
        self._ok(self.anonymous.post(reverse("password_reset"), {"email": a}))

    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ODD_TEXT, ODD_TEXT, ODD_TEXT)
    def test_invitation_and_user_management(self, a, b, c):
        self._ok(self.anonymous.post(self.invite_url, {"username": a, "first_name": b, "last_name": c,
                                                       "password1": b, "password2": b}))
        self._ok(self.client.post(reverse("accounts:user_invite"), {"email": a, "role": b}))
        self._ok(self.client.post(reverse("accounts:user_role", args=[self.admin.public_id]), {"role": a}))
        self._ok(self.client.post(reverse("accounts:banner"), {"acknowledge": a}))
        self._ok(self.client.post(reverse("accounts:password_change"),
                                  {"old_password": a, "new_password1": b, "new_password2": c}))

    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ODD_TEXT, ODD_TEXT, ODD_TEXT, ODD_TEXT)
    def test_agency_settings_and_audit_filters(self, a, b, c, d):
        self._ok(self.client.post(reverse("accounts:agency_settings"), {
            "name": a, "time_zone": b, "postal_address": c, "phone": d, "legal_basis": a,
            "requires_supervisor_approval": b}))
        filters = {"action": a, "actor": b, "outcome": c, "object_id": d, "date_from": a, "date_to": b}
        self._ok(self.client.post(reverse("accounts:audit_filter"), filters))
        self._ok(self.client.get(reverse("accounts:audit_log"), {"page": c}))
        self._ok(self.client.get(reverse("accounts:audit_export")))

    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ODD_TEXT)
    def test_the_intake_form(self, a):
        fields = ["requester_name", "requester_email", "requester_phone", "case_number", "window_start",
                  "window_end", "window_zone", "account_email", "account_country", "serials", "notes"]
        self._ok(self.client.post(reverse("preservation:request_new"), {name: a for name in fields}))
