"""Accessibility of every page a signed-in person uses besides the intake form, the dashboard and
the request page of test_browser_request_flow.py, each in the state named (errors shown, filters
applied, data listed). In English: no serious or critical axe-core violation, with every disclosure
and menu opened (axe also wants a name for every form control), and exactly one <h1>. In German:
the page is translated, says so (<html lang="de">) and passes axe-core's language rules.

One browser and one tab for the whole module. The live server's database is emptied after every
test, so each test makes its own data and session: the session as tests.helpers.login prepares
it (or stopped at the password or the notice), its cookie set on the shared tab.
"""
import datetime as dt
import io
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from PIL import Image

from preservation.accounts import services as accounts
from preservation.api.tokens import api_token_create
from preservation.core.audit import audit_record
from preservation.documents import services as documents
from preservation.evidence import manifests, usb
from preservation.models import (
    AuditOutcome,
    DocumentKind,
    DocumentState,
    GeneratedDocument,
    Notification,
    Reminder,
    ReminderKind,
    Role,
)
from preservation.reminders.views import feed_token_regenerate
from tests.browser.conftest import AXE, serious_accessibility_violations
from tests.browser.test_browser_request_flow import submit
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login, verified_device
from tests.test_security_login import PASSWORD
from tests.test_usb_tree import mp4, put

pytestmark = pytest.mark.browser

# How far into sign-in the prepared session is.
ANONYMOUS, PASSWORD_ONLY, VERIFIED, SIGNED_IN = "anonymous", "password only", "verified", "signed in"


@dataclass(frozen=True)
class PageCheck:
    opens: Callable  # (world, user) -> the address; makes the page's data, once
    then: Callable  # (tab): brings the page to the state to check and checks it is in it
    stage: str
    role: str


PAGES = {}


def covers(name, *, opens, stage=SIGNED_IN, role=Role.AGENCY_ADMIN):
    def register(then):
        PAGES[name] = PageCheck(opens if callable(opens) else lambda world, user: reverse(opens), then, stage, role)
        return then

    return register


class World:
    """One agency and what a page needs, made when a page first asks for it."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.agency = AgencyFactory(name="Springfield PD")
        self.people = {}

    def person(self, role):
        if role not in self.people:
            user = UserFactory(agency=self.agency, role=role, username=role, first_name="Dana",
                               last_name=role.replace("_", " ").title())
            verified_device(user)
            self.people[role] = user
        return self.people[role]

    @cached_property
    def draft(self):
        """A complete draft; its doorbell fills the evidence checklist."""
        return RequestFactory(agency=self.agency, created_by=self.person(Role.REQUESTER), case_number="CR-2026-00042")

    def document(self, kind, state=DocumentState.DONE):
        now, done = timezone.now(), state == DocumentState.DONE
        return GeneratedDocument.objects.create(
            request=self.draft, kind=kind, language="en", requested_by=self.person(Role.REQUESTER),
            requested_at=now, state=state, version=1 if done else None,
            content=b"%PDF-1.7 test" if done else None, sha256="ab" * 32 if done else "",
            generated_at=now if done else None,
        )

    def usb_drive(self):
        root = self.tmp_path / "drive"
        put(root, "blink/24-05/24-05-01/12-00-00_Front_Door_001.mp4", mp4("a"))
        put(root, "blink_backup/24-05/01-12-00-00_Front_Door_1234567.mp4", mp4("a"))
        put(root, "blink/24-05/24-05-03/09-00-00_Garage_003.mp4", b"")
        manifest = usb.index_tree(root, zone=self.agency.time_zone, now=timezone.now(),
                                  start=self.draft.window_start, end=self.draft.window_end)
        return manifests.manifest_attach(preservation_request=self.draft, manifest=manifest,
                                         actor=self.person(Role.REQUESTER), now=timezone.now())

    def notification(self, user):
        today = timezone.now().date()
        reminder = Reminder.objects.create(
            request=self.draft, kind=ReminderKind.EXTENSION_DUE, lead_days=7, day=today,
            due_at=timezone.now(), deadline_on=today + dt.timedelta(days=7),
        )
        return Notification.objects.create(user=user, reminder=reminder, created_at=reminder.due_at)


@pytest.fixture
def world(transactional_db, tmp_path, settings, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"  # the letterhead logo
    # The manifest's PDF is rendered in a child process, seconds each; its page shows only the hash.
    monkeypatch.setattr(manifests, "manifest_pdf", lambda manifest, **kwargs: b"%PDF-1.7 test")
    return World(tmp_path)


@pytest.fixture(scope="module")
def shared_tab(browser, live_server):
    # bypass_csp: axe-core is injected as an inline script, which the app's CSP rightly forbids.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def tab(shared_tab):
    shared_tab.context.clear_cookies()
    yield shared_tab
    shared_tab.goto("about:blank")  # no page script polls the server while its database is emptied


def session_cookie(user, stage):
    client = Client()
    if stage == SIGNED_IN:
        login(client, user)
    else:
        client.force_login(user)  # the password step
        if stage == VERIFIED:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
            session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def start(tab, url, user, stage):
    if stage != ANONYMOUS:
        tab.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user, stage),
                                  "url": url}])


def speak(tab, url, user, language):
    """The profile's language for a signed-in person, the switcher's cookie for anyone else."""
    user.language = language
    user.save(update_fields=["language"])
    tab.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": url}])


def enter(tab, field):
    """Submit the field's form as a keyboard user does, with its first button."""
    tab.press(field, "Enter")
    tab.wait_for_load_state()


def shows(selector, count=None):
    def then(tab):
        if count is None:
            assert tab.locator(selector).first.is_visible(), selector
        else:
            assert tab.locator(selector).count() == count, selector

    return then


# --- Signing in -------------------------------------------------------------------------------


covers("sign-in", opens="login", stage=ANONYMOUS)(shows("#id_username"))
covers("second factor", opens="accounts:otp_verify", stage=PASSWORD_ONLY)(shows("input[name=token]"))
covers("system use notice", opens="accounts:banner", stage=VERIFIED)(shows("input[name=acknowledge]"))
covers("authenticator set-up", opens="accounts:otp_enrol")(shows(".qr-code svg"))


@covers("sign-in after a wrong password", opens="login", stage=ANONYMOUS)
def _sign_in_failed(tab):
    tab.fill("#id_username", Role.AGENCY_ADMIN)
    tab.fill("#id_password", "not the password")
    submit(tab, "#id_username")
    shows("main .alert-danger, main .invalid-feedback")(tab)


def _invitation(world, user):
    invitation = accounts.invitation_create(agency=world.agency, email="new@springfield.example",
                                            role=Role.REQUESTER, invited_by=user)
    return reverse("accounts:invitation_accept", args=[accounts.invitation_token(invitation)])


covers("invitation", opens=_invitation, stage=ANONYMOUS)(shows("#id_password1"))


# --- Account ----------------------------------------------------------------------------------


def _notifications(world, user):
    world.notification(user)
    return reverse("preservation:notifications")


covers("notifications", opens=_notifications)(shows("main .list-group-item", count=1))


def _reminder_preferences(world, user):
    feed_token_regenerate(user=user)
    return reverse("preservation:reminder_preferences")


# A supervisor chooses the morning digest too.
covers("reminder settings with the calendar feed", opens=_reminder_preferences, role=Role.SUPERVISOR)(
    shows("#feed-url, #id_digest_enabled", count=2))


@covers("password change with errors", opens="accounts:password_change")
def _password_change(tab):
    submit(tab, "#id_old_password")
    shows("main .invalid-feedback")(tab)


def _backup_codes(world, user):
    accounts.backup_codes_replace(user=user)
    return reverse("accounts:backup_codes")


covers("backup codes", opens=_backup_codes)(shows("main form [type=submit]"))


# New codes need the password and a current code; a backup code serves (each is used once, so
# every visit uses one of the codes the previous one showed).
_unused_codes = []


def _backup_codes_to_replace(world, user):
    _unused_codes[:] = accounts.backup_codes_replace(user=user)
    return reverse("accounts:backup_codes")


@covers("backup codes just made", opens=_backup_codes_to_replace)
def _backup_codes_new(tab):
    tab.fill("#id_password", PASSWORD)
    tab.fill("#id_current_code", _unused_codes.pop())
    submit(tab, "#id_current_code")
    shows(".backup-codes li", count=10)(tab)
    _unused_codes[:] = tab.locator(".backup-codes li").all_inner_texts()


def _api_tokens(world, user):
    api_token_create(user=user, name="Old integration")
    return reverse("preservation:api_tokens")


@covers("API tokens, one just made", opens=_api_tokens)
def _api_token_made(tab):
    tab.fill("#id_name", "RMS integration")
    submit(tab, "#id_name")
    shows("[data-testid=new-token]")(tab)
    shows("main tbody tr")(tab)


# --- Requests ---------------------------------------------------------------------------------


covers("dashboard of a new agency", opens="preservation:dashboard", role=Role.REQUESTER)(
    shows("[data-testid=empty-state]"))


def _dashboard(world, user):
    world.draft  # with a request, the dashboard shows its filters
    return reverse("preservation:dashboard")


@covers("dashboard with an invalid filter", opens=_dashboard, role=Role.REQUESTER)
def _dashboard_invalid_filter(tab):
    tab.locator("details:has(#id_due_within) summary").click()
    tab.fill("#id_due_within", "-1")
    enter(tab, "#id_due_within")
    shows("#id_due_within.is-invalid")(tab)


@covers("intake form after a failed send", opens="preservation:request_new", role=Role.REQUESTER)
def _intake_failed_send(tab):
    tab.fill("#id_case_number", "CR-2026-00043")
    tab.locator("button[name=action][value=send]").click()
    tab.wait_for_load_state()
    shows("#error-summary")(tab)
    # Each problem links to its field, which must exist for the link to lead anywhere.
    leads = tab.locator("#error-summary a").evaluate_all(
        "links => links.map(a => a.hash.length > 1 && document.getElementById(a.hash.slice(1)) !== null)")
    assert len(leads) >= 3 and all(leads), leads


def _send_page(world, user):
    world.document(DocumentKind.REQUEST)
    return reverse("preservation:request_send", args=[world.draft.public_id])


covers("sending page of a draft with its letter", opens=_send_page, role=Role.REQUESTER)(
    shows("[data-testid=send-letter] tbody tr, #sent-title", count=2))


def _request_with_evidence(world, user):
    world.document(DocumentKind.REQUEST)
    world.document(DocumentKind.CASE_SHEET, state=DocumentState.QUEUED)
    world.usb_drive()
    return reverse("preservation:request_detail", args=[world.draft.public_id])


@covers("request page: documents, evidence checklist, USB drive", opens=_request_with_evidence, role=Role.REQUESTER)
def _request_evidence(tab):
    shows("#evidence [data-check]")(tab)
    shows("#documents tbody tr", count=2)(tab)
    shows("#usb-manifests article", count=1)(tab)


# --- Correspondence and mail ----------------------------------------------------------------------


def _mail_message(world, user):
    """A provider's HTML-only reply to a sent request, unverified: it proposes the receipt date."""
    from preservation.correspondence import services as correspondence
    from preservation.models import InboundChannel
    from preservation.requests import services

    request = RequestFactory(agency=world.agency, created_by=world.person(Role.REQUESTER))
    services.request_send(preservation_request=request, actor=request.created_by)
    raw = (b"From: le@provider.example\r\nSubject: Re: " + request.reference.encode() + b"\r\n"
           b"Content-Type: text/html\r\n\r\n<p>We received your request.</p><script>x()</script>")
    message = correspondence.message_ingest(agency=world.agency, raw=raw, channel=InboundChannel.UPLOAD)
    return reverse("preservation:mail_message", args=[message.public_id])


covers("received message proposing the receipt date", opens=_mail_message, role=Role.REQUESTER)(
    shows("[data-testid=sender], #receipt-title", count=2))


def _mail_inbox(world, user):
    from preservation.correspondence import services as correspondence
    from preservation.models import InboundChannel

    correspondence.message_ingest(agency=world.agency, raw=b"Subject: Hello\r\n\r\nNo reference.",
                                  channel=InboundChannel.UPLOAD)
    return reverse("preservation:mail_inbox")


covers("mail inbox with a message waiting", opens=_mail_inbox, role=Role.PARALEGAL)(shows("main tbody tr", count=1))


# --- Agency administration --------------------------------------------------------------------


def _audit_log(world, user):
    audit_record(action="otp_failed", actor=user, obj=user, outcome=AuditOutcome.FAILURE)
    audit_record(action="api_token_created", actor=user, obj=user)
    audit_record(action="backup_codes_replaced", actor=user, obj=user)
    return reverse("accounts:audit_log")


covers("audit log", opens=_audit_log)(shows("main tbody tr"))


@covers("audit log filtered", opens=_audit_log)
def _audit_log_filtered(tab):
    tab.fill("#id_action", "otp_failed")
    enter(tab, "#id_action")
    shows("main tbody tr", count=1)(tab)
    assert tab.locator("#id_action").input_value() == "otp_failed"


@covers("audit log with an invalid filter", opens="accounts:audit_log")
def _audit_log_invalid_filter(tab):
    tab.fill("#id_date_from", "2026-03-02")
    tab.fill("#id_date_to", "2026-03-01")
    enter(tab, "#id_action")
    shows("#id_date_to.is-invalid")(tab)


def _users(world, user):
    accounts.user_set_active(user=world.person(Role.PARALEGAL), active=False, actor=user)
    accounts.invitation_create(agency=world.agency, email="new@springfield.example", role=Role.REQUESTER,
                               invited_by=user)
    return reverse("accounts:users")


@covers("users and invitations", opens=_users)
def _users_shown(tab):
    shows("main tbody tr", count=2)(tab)
    shows("main .list-group-item", count=1)(tab)


covers("agency settings", opens="accounts:agency_settings")(shows("main form [type=submit]"))


def _letterhead(world, user):
    image = io.BytesIO()
    Image.new("RGB", (120, 40), "navy").save(image, format="PNG")
    documents.agency_logo_save(agency=world.agency, actor=user, image=image.getvalue())
    return reverse("preservation:agency_branding")


covers("letterhead logo", opens=_letterhead)(shows("main img"))


# --- The check, for every page above -------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_accessible_has_one_h1_and_names_its_language(name, tab, world, live_server):
    checked = PAGES[name]
    user = world.person(checked.role)
    start(tab, live_server.url, user, checked.stage)
    address = checked.opens(world, user)

    english = show(tab, live_server.url, checked, address, user, "en")
    open_everything(tab)
    assert serious_accessibility_violations(tab) == []

    # A translation changes the words, not the markup: in German, axe-core's language rules.
    german = show(tab, live_server.url, checked, address, user, "de")
    assert language_violations(tab) == []
    assert german != english  # the page is in German, as its lang says


def show(tab, url, checked, address, user, language):
    """Open the page in ``language``: it says so and has one <h1>. Returns the text of <main>."""
    speak(tab, url, user, language)
    tab.goto(address)
    checked.then(tab)
    assert tab.locator("html").get_attribute("lang") == language
    assert tab.locator("h1").count() == 1
    return tab.locator("main").inner_text()


def language_violations(tab):
    """axe-core's rules about lang attributes: present, valid, and the same in lang and xml:lang."""
    tab.add_script_tag(path=str(AXE))
    return tab.evaluate("""async () => {
        const result = await axe.run(document, {runOnly: {type: "tag", values: ["cat.language"]}});
        return result.violations.map(v => ({id: v.id, targets: v.nodes.map(n => n.target.join(" "))}));
    }""")


def open_everything(tab):
    """axe-core skips what is hidden: open every disclosure and the account menu first."""
    tab.evaluate("""() => {
        document.querySelectorAll("details").forEach(d => { d.open = true; });
        document.querySelectorAll(".dropdown-menu").forEach(m => m.classList.add("show"));
    }""")
