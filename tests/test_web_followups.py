"""Web follow-ups: supervisor approval on the request page, buttons only for what the user may
do, no inline style or script (CSP), the letter to attach on the sending page, the account menu."""
import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from preservation.models import (
    DocumentKind,
    DocumentState,
    GeneratedDocument,
    RequestApproval,
    RequestEvent,
    RequestState,
    Role,
)
from preservation.requests import services
from tests.conftest import utc
from tests.factories import UserFactory
from tests.helpers import login

NOW = utc(2026, 4, 20, 12, 0)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def strict_agency(agency):
    agency.requires_supervisor_approval = True
    agency.save(update_fields=["requires_supervisor_approval"])
    return agency


@pytest.fixture
def draft(make_request):
    return make_request(window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2), account_country="US")


def member(agency, role):
    return UserFactory(agency=agency, role=role)


def signed_in(user):
    return login(Client(), user)


def page(user, preservation_request, name="preservation:request_detail"):
    return signed_in(user).get(reverse(name, args=[preservation_request.public_id]))


def url(name, preservation_request):
    return reverse(name, args=[preservation_request.public_id])


# --- Supervisor approval ------------------------------------------------------------------------


def test_the_requester_sees_the_draft_waits_for_approval_and_why_send_is_blocked(strict_agency, user, draft):
    response = page(user, draft)
    content = response.content.decode()
    assert response.context["send_blocked"]
    assert "Waiting for a supervisor’s approval" in content
    assert "“Send to Blink” becomes available once a supervisor approves this draft" in content
    assert 'disabled aria-describedby="approval-why"' in content
    assert url("preservation:request_send", draft) not in content
    assert url("preservation:request_approve", draft) not in content


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENCY_ADMIN])
def test_an_approver_gets_an_approve_button_with_a_confirmation_and_csrf(strict_agency, draft, role):
    content = page(member(strict_agency, role), draft).content.decode()
    form = re.search(r'<form method="post" action="%s".*?</form>' % re.escape(url("preservation:request_approve", draft)),
                     content, re.S)
    assert form, "no approve form"
    assert 'data-confirm="Approve this request for sending to Blink?' in form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert "Approve for sending" in form.group(0)


def test_approving_records_it_and_unblocks_sending_for_the_requester(strict_agency, user, draft):
    supervisor = member(strict_agency, Role.SUPERVISOR)
    response = signed_in(supervisor).post(url("preservation:request_approve", draft), follow=True)
    assert response.redirect_chain[-1][0] == url("preservation:request_detail", draft)
    assert "%s is approved for sending." % draft.reference in response.content.decode()
    assert RequestApproval.objects.get(request=draft).approved_by == supervisor
    assert draft.events.get(action=RequestEvent.Action.APPROVED).actor == supervisor

    content = page(user, draft).content.decode()
    assert "Approved for sending" in content and "Approved by Dana %s" % supervisor.last_name in content
    assert url("preservation:request_send", draft) in content
    assert url("preservation:request_approve", draft) not in content


def test_a_requester_posting_approve_is_refused_and_told_why(strict_agency, user, draft):
    response = signed_in(user).post(url("preservation:request_approve", draft))
    assert response.status_code == 400
    assert "Only a supervisor of this agency can approve requests." in response.content.decode()
    assert not RequestApproval.objects.filter(request=draft).exists()


def test_approving_a_request_already_sent_is_refused_once_and_shows_no_panel(strict_agency, user, draft):
    supervisor = member(strict_agency, Role.SUPERVISOR)
    services.request_approve(preservation_request=draft, actor=supervisor, now=NOW)
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    response = signed_in(supervisor).post(url("preservation:request_approve", draft))
    content = response.content.decode()
    assert response.status_code == 400 and response.context["approval"] is None
    assert content.count("Only a draft can be approved; this request has been sent.") == 1
    assert 'data-testid="approval"' not in content


def test_a_supervisor_of_another_agency_gets_a_404(strict_agency, draft):
    outsider = UserFactory(role=Role.SUPERVISOR)
    assert signed_in(outsider).post(url("preservation:request_approve", draft)).status_code == 404
    assert not RequestApproval.objects.filter(request=draft).exists()


def test_approving_needs_a_post_with_a_csrf_token(strict_agency, draft):
    supervisor = member(strict_agency, Role.SUPERVISOR)
    assert signed_in(supervisor).get(url("preservation:request_approve", draft)).status_code == 405
    strict_client = login(Client(enforce_csrf_checks=True), supervisor)
    assert strict_client.post(url("preservation:request_approve", draft)).status_code == 403
    assert not RequestApproval.objects.filter(request=draft).exists()


def test_an_edit_after_approval_is_shown_as_needing_a_new_approval(strict_agency, user, draft):
    supervisor = member(strict_agency, Role.SUPERVISOR)
    services.request_approve(preservation_request=draft, actor=supervisor, now=NOW - dt.timedelta(hours=2))
    services.request_save_draft(agency=strict_agency, actor=user, fields={"notes": "Second camera"},
                                preservation_request=draft, now=NOW - dt.timedelta(hours=1))
    response = page(user, draft)
    assert response.context["approval"]["voided"] and response.context["send_blocked"]
    assert "but the draft was edited afterwards: it needs approving again." in response.content.decode()


def test_without_the_agency_rule_there_is_no_approval_panel(agency, user, draft):
    response = page(user, draft)
    assert response.context["approval"] is None and not response.context["send_blocked"]
    assert 'data-testid="approval"' not in response.content.decode()
    assert url("preservation:request_send", draft) in response.content.decode()


def test_the_sending_page_holds_back_recording_until_approved(strict_agency, user, draft):
    response = page(user, draft, "preservation:request_send")
    content = response.content.decode()
    assert 'data-testid="send-approval"' in content and "Do not submit Blink’s form yet" in content
    assert url("preservation:request_record_sending", draft) not in content
    refused = signed_in(user).post(url("preservation:request_record_sending", draft))
    assert refused.status_code == 400
    assert "requires a supervisor&#x27;s approval" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.state == RequestState.DRAFT


# --- Buttons only for what the user may do ------------------------------------------------------


def test_a_requester_sees_no_buttons_on_a_colleagues_draft(agency, draft):
    colleague = member(agency, Role.REQUESTER)
    response = page(colleague, draft)
    content = response.content.decode()
    assert response.context["actions"] == [] and not response.context["can_send"]
    for name in ("request_edit", "request_send", "request_withdraw"):
        assert url("preservation:" + name, draft) not in content
    assert 'data-testid="read-only"' in content
    assert "Nothing left to do" not in content


def test_a_requester_sees_no_buttons_on_a_colleagues_sent_request(agency, user, draft):
    services.request_send(preservation_request=draft, actor=user, now=NOW)
    content = page(member(agency, Role.REQUESTER), draft).content.decode()
    assert url("preservation:request_record_receipt", draft) not in content
    assert url("preservation:request_record_legal_process", draft) not in content


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.SUPERVISOR, Role.AGENCY_ADMIN])
def test_case_managers_get_the_buttons_on_any_request_of_their_agency(agency, draft, role):
    response = page(member(agency, role), draft)
    assert [a["name"] for a in response.context["actions"]] == ["withdraw"]
    assert url("preservation:request_edit", draft) in response.content.decode()
    assert 'data-testid="read-only"' not in response.content.decode()


def test_the_owner_keeps_the_buttons(user, draft):
    response = page(user, draft)
    assert response.context["can_send"] and [a["name"] for a in response.context["actions"]] == ["withdraw"]


def test_opening_a_colleagues_draft_for_editing_goes_back_to_the_request_page(agency, draft):
    response = signed_in(member(agency, Role.REQUESTER)).get(url("preservation:request_edit", draft), follow=True)
    assert response.redirect_chain == [(url("preservation:request_detail", draft), 302)]
    assert "You can read this request but not change it" in response.content.decode()


def test_the_server_still_refuses_an_action_without_its_button(agency, draft):
    response = signed_in(member(agency, Role.REQUESTER)).post(
        url("preservation:request_withdraw", draft), {"withdraw-reason": "Duplicate"})
    assert response.status_code == 400
    assert "Your role does not allow changing this request" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == RequestState.DRAFT


def test_a_colleague_sees_the_sending_values_but_no_recording_form(agency, draft):
    content = page(member(agency, Role.REQUESTER), draft, "preservation:request_send").content.decode()
    assert 'data-testid="send-values"' in content
    assert url("preservation:request_record_sending", draft) not in content
    assert "You can read this request but not change it" in content


# --- No inline style or script (django-csp: style-src and script-src 'self') ------------------

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# E-mails are read in mail clients (inline styles are how HTML mail is styled) and the PDF
# templates are rendered by the PDF engine: neither is served to a browser under the CSP.
NOT_SERVED = ("preservation/emails/", "preservation/pdf/", "preservation/evidence/manifest_pdf.html")
INLINE = [
    ("style attribute", re.compile(r"\sstyle\s*=", re.I)),
    ("<style> element", re.compile(r"<style[\s>]", re.I)),
    ("inline <script>", re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)),
    ("event handler attribute", re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)),
    ("javascript: URL", re.compile(r"javascript:", re.I)),
]


def served_templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if not name.startswith(NOT_SERVED):
            yield name, path.read_text()


def test_no_served_template_has_inline_style_or_script():
    problems = [(name, what) for name, text in served_templates() for what, pattern in INLINE
                if pattern.search(text)]
    assert problems == []


def test_the_inline_check_catches_what_the_csp_blocks():
    for sample in ('<p style="color:red">', "<style>p{}</style>", "<script>alert(1)</script>",
                   '<button onclick="go()">', '<a href="javascript:go()">'):
        assert any(pattern.search(sample) for _what, pattern in INLINE), sample
    assert not any(pattern.search('<script src="/static/js/a.js" defer></script>') for _w, pattern in INLINE)


@pytest.mark.parametrize("name", [
    "preservation:dashboard", "preservation:request_new", "preservation:reminder_preferences",
    "preservation:notifications", "preservation:api_tokens", "accounts:users", "accounts:agency_settings",
    "accounts:audit_log", "preservation:agency_branding",
])
def test_pages_render_without_inline_style(agency, name):
    response = signed_in(member(agency, Role.AGENCY_ADMIN)).get(reverse(name))
    assert response.status_code == 200
    assert not INLINE[0][1].search(response.content.decode())


def test_request_pages_render_without_inline_style(strict_agency, user, draft):
    for name in ("preservation:request_detail", "preservation:request_send"):
        content = page(member(strict_agency, Role.SUPERVISOR), draft, name).content.decode()
        assert not INLINE[0][1].search(content), name


# --- The letter to attach on the sending page --------------------------------------------------


def letter(preservation_request, actor, *, at, state=DocumentState.DONE, version=1):
    done = state == DocumentState.DONE
    return GeneratedDocument.objects.create(
        request=preservation_request, kind=DocumentKind.REQUEST, language="en", requested_by=actor, requested_at=at,
        state=state, version=version if done else None, content=b"%PDF-1.7 test" if done else None,
        sha256="ab" * 32 if done else "", generated_at=at if done else None,
    )


def letter_block(content):
    return re.search(r'<div class="mt-2" data-testid="send-letter">.*?</div>\s*</li>', content, re.S).group(0)


def test_without_a_letter_the_sending_page_offers_to_generate_it(user, draft):
    block = letter_block(page(user, draft, "preservation:request_send").content.decode())
    assert 'action="%s"' % reverse("preservation:document_generate", args=[draft.public_id, "request"]) in block
    assert '<input type="hidden" name="next" value="send">' in block
    assert "Generate the letter (PDF)" in block and " disabled" not in block


def test_the_sending_page_links_the_latest_letter_for_download(user, draft):
    letter(draft, user, at=NOW - dt.timedelta(hours=3), version=1)
    newest = letter(draft, user, at=NOW - dt.timedelta(hours=1), version=2)
    block = letter_block(page(user, draft, "preservation:request_send").content.decode())
    assert reverse("preservation:document_download", args=[newest.public_id]) in block
    assert "v2" in block and "out of date" not in block
    assert reverse("preservation:document_generate", args=[draft.public_id, "request"]) not in block


def test_a_letter_older_than_the_last_edit_is_flagged_and_a_new_one_offered(user, draft):
    old = letter(draft, user, at=NOW - dt.timedelta(hours=3))
    services.request_save_draft(agency=draft.agency, actor=user, fields={"notes": "Porch camera too"},
                                preservation_request=draft, now=NOW - dt.timedelta(hours=1))
    block = letter_block(page(user, draft, "preservation:request_send").content.decode())
    assert "out of date" in block and reverse("preservation:document_download", args=[old.public_id]) in block
    assert "Generate a new version of the letter" in block


def test_a_letter_being_generated_shows_its_progress_instead_of_a_second_button(user, draft):
    pending = letter(draft, user, at=NOW - dt.timedelta(seconds=10), state=DocumentState.QUEUED)
    block = letter_block(page(user, draft, "preservation:request_send").content.decode())
    assert reverse("preservation:document_status", args=[pending.public_id]) in block and "<progress" in block
    assert reverse("preservation:document_generate", args=[draft.public_id, "request"]) not in block


def test_an_incomplete_draft_says_why_the_letter_cannot_be_generated(make_request, user):
    incomplete = make_request(requester_name="")
    block = letter_block(page(user, incomplete, "preservation:request_send").content.decode())
    assert 'disabled aria-describedby="letter-why"' in block and "Complete the request before printing it" in block


def test_generating_from_the_sending_page_comes_back_to_it(user, draft, django_capture_on_commit_callbacks):
    client = signed_in(user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("preservation:document_generate", args=[draft.public_id, "request"]), {"next": "send"})
    assert response["Location"] == url("preservation:request_send", draft) + "#letter"
    assert GeneratedDocument.objects.filter(request=draft, kind=DocumentKind.REQUEST).count() == 1


def test_any_other_next_value_goes_to_the_documents_section(user, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_in(user).post(reverse("preservation:document_generate", args=[draft.public_id, "request"]),
                                        {"next": "https://evil.example/"})
    assert response["Location"] == url("preservation:request_detail", draft) + "#documents"


# --- Account menu and language switcher --------------------------------------------------------

EVERYONE = ["preservation:notifications", "preservation:reminder_preferences", "preservation:api_tokens"]
ADMINS = ["accounts:users", "accounts:agency_settings", "accounts:audit_log", "preservation:agency_branding"]


def menu(content):
    return re.search(r'<ul class="dropdown-menu dropdown-menu-end">.*?</ul>', content, re.S).group(0)


@pytest.mark.parametrize("role, admin_links", [
    (Role.REQUESTER, False), (Role.PARALEGAL, False), (Role.SUPERVISOR, False), (Role.AGENCY_ADMIN, True),
])
def test_the_account_menu_links_what_the_role_can_open(agency, role, admin_links):
    user = member(agency, role)
    items = menu(signed_in(user).get(reverse("preservation:dashboard")).content.decode())
    for name in EVERYONE:
        assert 'href="%s"' % reverse(name) in items, name
    assert 'href="%s#calendar"' % reverse("preservation:reminder_preferences") in items
    for name in ADMINS:
        assert ('href="%s"' % reverse(name) in items) is admin_links, name


def test_every_admin_link_of_the_menu_opens_for_an_admin(agency):
    client = signed_in(member(agency, Role.AGENCY_ADMIN))
    for name in ADMINS + EVERYONE:
        assert client.get(reverse(name)).status_code == 200, name


def test_the_language_switcher_is_on_signed_in_pages_and_the_sign_in_page(agency, client):
    signed = signed_in(member(agency, Role.REQUESTER)).get(reverse("preservation:dashboard")).content.decode()
    anonymous = client.get(reverse("login")).content.decode()
    for content in (signed, anonymous):
        assert 'action="%s"' % reverse("set_language") in content and 'id="language-switcher"' in content


def test_the_send_page_asks_the_provider_to_quote_our_reference(signed_in, make_request):
    draft = make_request()
    page = signed_in.get(reverse("preservation:request_send", args=[draft.public_id])).content.decode()
    assert "ask the provider to quote our reference %s" % draft.reference in page
