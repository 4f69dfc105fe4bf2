"""The workday (docs/workday.md): the approval inbox, emergency sends, owners, bulk actions,
the next step on the request page, and reminders that never go only to people who left."""
import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from preservation.reminders import sweep as reminders
from preservation.requests import services
from preservation.models import (
    AuditRecord,
    Notification,
    PreservationRequest,
    Reminder,
    ReminderKind,
    RequestEvent,
    RequestState,
    Role,
)
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db
NOW = utc(2026, 4, 20, 12, 0)
S = RequestState


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def strict_agency():
    return AgencyFactory(requires_supervisor_approval=True)


def person(agency, role=Role.REQUESTER, **extra):
    return UserFactory(agency=agency, role=role, **extra)


def draft_of(author):
    return RequestFactory(agency=author.agency, created_by=author,
                          window_start=NOW - timedelta(days=12), window_end=NOW - timedelta(days=11))


# --- Approval inbox --------------------------------------------------------------------------------


def test_asking_for_approval_notifies_each_supervisor_by_bell_and_email(strict_agency,
                                                                         django_capture_on_commit_callbacks):
    officer = person(strict_agency)
    first, second = person(strict_agency, Role.SUPERVISOR), person(strict_agency, Role.SUPERVISOR)
    person(strict_agency, Role.PARALEGAL)
    draft = draft_of(officer)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_ask_approval(preservation_request=draft, actor=officer, now=NOW)
    notified = Notification.objects.across_agencies().filter(request=draft, kind="approval_requested")
    assert {n.user for n in notified} == {first, second}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, second.email])
    assert draft.reference in mail.outbox[0].subject and officer.get_full_name() in mail.outbox[0].body
    assert draft.events.filter(action="approval_requested").exists()


def test_a_single_supervisors_own_draft_goes_to_the_agency_admin(strict_agency,
                                                                 django_capture_on_commit_callbacks):
    boss = person(strict_agency, Role.SUPERVISOR)
    admin = person(strict_agency, Role.AGENCY_ADMIN)
    draft = draft_of(boss)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_ask_approval(preservation_request=draft, actor=boss, now=NOW)
    assert [n.user for n in Notification.objects.across_agencies().filter(request=draft)] == [admin]
    services.request_approve(preservation_request=draft, actor=admin, now=NOW)
    draft.refresh_from_db()
    assert services.request_is_approved(draft) and draft.approval_requested_at is None


def test_nobody_to_ask_is_said_plainly(strict_agency):
    boss = person(strict_agency, Role.SUPERVISOR)
    with pytest.raises(ValidationError) as refused:
        services.request_ask_approval(preservation_request=draft_of(boss), actor=boss, now=NOW)
    assert refused.value.code == "no_approver"


def test_the_inbox_shows_drafts_awaiting_my_approval_and_approves_from_the_list(client, strict_agency):
    officer, boss = person(strict_agency), person(strict_agency, Role.SUPERVISOR)
    waiting, other = draft_of(officer), draft_of(officer)
    services.request_ask_approval(preservation_request=waiting, actor=officer, now=NOW)
    login(client, boss)
    page = client.get(reverse("preservation:dashboard") + "?inbox=approval")
    assert [r["pk"] for r in page.context["page"].object_list] == [waiting.pk]
    assert {c["code"]: c["count"] for c in page.context["inbox"]}["approval"] == 1
    row = next(r for r in page.context["rows"] if 'data-request="%s"' % waiting.public_id in r)
    assert 'data-next-step="await_approval"' in row and ">Approve</button>" in row
    back = client.post(reverse("preservation:request_approve", args=[waiting.public_id]),
                       {"next": "/?inbox=approval"})
    assert back.status_code == 302 and back.url == "/?inbox=approval"
    assert services.request_is_approved(waiting) and not services.request_is_approved(other)


def test_approve_from_the_list_never_returns_to_another_site(client, strict_agency):
    officer, boss = person(strict_agency), person(strict_agency, Role.SUPERVISOR)
    draft = draft_of(officer)
    login(client, boss)
    back = client.post(reverse("preservation:request_approve", args=[draft.public_id]), {"next": "//evil.example/"})
    assert back.url == reverse("preservation:request_detail", args=[draft.public_id])


# --- Emergency send --------------------------------------------------------------------------------


@pytest.mark.parametrize("allowed, reason, code", [
    (False, "Suspect deleting the account tonight", "approval_required"),
    (True, "   ", "required"),
])
def test_an_emergency_send_needs_the_agency_setting_and_a_reason(strict_agency, allowed, reason, code):
    strict_agency.allows_emergency_send = allowed
    strict_agency.save()
    officer = person(strict_agency)
    person(strict_agency, Role.SUPERVISOR)
    with pytest.raises(ValidationError) as refused:
        services.request_send(preservation_request=draft_of(officer), actor=officer, emergency_reason=reason, now=NOW)
    codes = ([e.code for errors in refused.value.error_dict.values() for e in errors]
             if hasattr(refused.value, "error_dict") else [refused.value.code])
    assert codes == [code]


def test_an_emergency_send_is_marked_audited_and_put_before_the_supervisors(
        client, strict_agency, django_capture_on_commit_callbacks):
    strict_agency.allows_emergency_send = True
    strict_agency.save()
    officer, boss = person(strict_agency), person(strict_agency, Role.SUPERVISOR)
    draft = draft_of(officer)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_send(preservation_request=draft, actor=officer, emergency_reason="Owner moving out today", now=NOW)
    draft.refresh_from_db()
    assert draft.state == S.SUBMITTED and draft.emergency_reason == "Owner moving out today"
    assert AuditRecord.objects.for_agency(strict_agency).filter(action="request_emergency_sent").exists()
    assert Notification.objects.across_agencies().get(request=draft).user == boss
    login(client, boss)
    listed = client.get(reverse("preservation:dashboard") + "?inbox=review")
    assert [r["pk"] for r in listed.context["page"].object_list] == [draft.pk]
    detail = client.get(reverse("preservation:request_detail", args=[draft.public_id])).content.decode()
    assert "Owner moving out today" in detail and "Mark as reviewed" in detail
    client.post(reverse("preservation:request_review_emergency", args=[draft.public_id]))
    assert list(client.get(reverse("preservation:dashboard") + "?inbox=review").context["page"].object_list) == []


# --- Owners ------------------------------------------------------------------------------------------


def test_a_new_request_is_assigned_to_its_creator_and_can_be_reassigned(agency):
    officer, colleague = person(agency), person(agency)
    request = services.request_save_draft(agency=agency, actor=officer, fields={"case_number": "CR-1"}, now=NOW)
    assert request.assigned_to == officer
    services.request_assign(preservation_request=request, actor=officer, assignee=colleague, now=NOW)
    request.refresh_from_db()
    assert request.assigned_to == colleague
    event = request.events.get(action="assigned")
    assert event.data == {"from": officer.pk, "to": colleague.pk}
    assert AuditRecord.objects.for_agency(agency).filter(action="request_assigned").exists()


@pytest.mark.parametrize("whom", ["deactivated", "other agency"])
def test_a_request_goes_only_to_an_active_member_of_the_agency(agency, whom):
    officer = person(agency)
    target = person(agency, is_active=False) if whom == "deactivated" else UserFactory()
    with pytest.raises(ValidationError):
        services.request_assign(preservation_request=draft_of(officer), actor=officer, assignee=target, now=NOW)


def test_assigned_to_me_lists_only_mine(client, agency):
    me, colleague = person(agency), person(agency)
    mine = draft_of(colleague)
    services.request_assign(preservation_request=mine, actor=colleague, assignee=me, now=NOW)
    draft_of(colleague)
    login(client, me)
    page = client.get(reverse("preservation:dashboard") + "?owner=me")
    assert [r["pk"] for r in page.context["page"].object_list] == [mine.pk]


def test_deactivating_someone_lists_their_open_requests_for_handing_over(client, agency):
    admin, leaver = person(agency, Role.AGENCY_ADMIN), person(agency)
    open_one = draft_of(leaver)
    closed = draft_of(leaver)
    PreservationRequest.objects.for_agency(agency).filter(pk=closed.pk).update(state=S.WITHDRAWN)
    login(client, admin)
    response = client.post(reverse("accounts:user_active", args=[leaver.public_id]), {"active": "0"})
    assert response.status_code == 302 and "owner=%s" % leaver.public_id in response.url
    listed = client.get(response.url)
    assert [r["pk"] for r in listed.context["page"].object_list] == [open_one.pk]
    assert "(deactivated)" in listed.content.decode()


def test_no_reminder_goes_only_to_people_who_were_deactivated(agency):
    leaver = person(agency, email="leaver@agency.example")
    boss = person(agency, Role.SUPERVISOR)
    request = RequestFactory(agency=agency, created_by=leaver, requester_email="leaver@agency.example")
    leaver.is_active = False
    leaver.save()
    reminder = Reminder(request=request, kind=ReminderKind.ACK_MISSING, lead_days=3, day=NOW.date(), due_at=NOW)
    recipients = reminders.reminder_recipients(reminder)
    assert [r.user for r in recipients] == [boss]


def test_the_assignee_gets_the_reminders_too(agency):
    officer, paralegal = person(agency), person(agency, Role.PARALEGAL)
    request = draft_of(officer)
    services.request_assign(preservation_request=request, actor=officer, assignee=paralegal, now=NOW)
    request.refresh_from_db()
    reminder = Reminder(request=request, kind=ReminderKind.ACK_MISSING, lead_days=3, day=NOW.date(), due_at=NOW)
    assert {r.user for r in reminders.reminder_recipients(reminder) if r.user} == {officer, paralegal}


# --- Bulk actions ------------------------------------------------------------------------------------


def sent(author, days_ago=2):
    request = draft_of(author)
    services.request_send(preservation_request=request, actor=author, now=NOW - timedelta(days=days_ago))
    return request


def test_three_receipts_in_one_action_each_checked_and_audited(client, agency):
    paralegal = person(agency, Role.PARALEGAL)
    officer = person(agency)
    three = [sent(officer) for _ in range(3)]
    draft = draft_of(officer)  # not sent: refused, the others still recorded
    login(client, paralegal)
    response = client.post(reverse("preservation:requests_bulk"), {
        "operation": "record_receipt", "received_on": "2026-04-19", "blink_reference": "BL-1",
        "selected": [str(r.public_id) for r in three] + [str(draft.public_id)], "next": "/?group=waiting",
    }, follow=True)
    for request in three:
        request.refresh_from_db()
        assert (request.state, request.received_on.isoformat(), request.blink_reference) == (
            S.PRESERVING, "2026-04-19", "BL-1")
    assert AuditRecord.objects.for_agency(agency).filter(action="request_state_changed", actor=paralegal).count() == 3
    text = response.content.decode()
    assert "Done for 3 requests" in text and draft.reference in text
    assert response.redirect_chain[-1][0] == "/?group=waiting"


def test_a_receipt_date_before_sending_is_refused_for_that_request_only(client, agency):
    officer = person(agency, Role.PARALEGAL)
    early, late = sent(officer, days_ago=5), sent(officer, days_ago=1)
    login(client, officer)
    client.post(reverse("preservation:requests_bulk"), {
        "operation": "record_receipt", "received_on": (NOW - timedelta(days=3)).date().isoformat(),
        "selected": [early.public_id, late.public_id]})
    early.refresh_from_db(), late.refresh_from_db()
    assert (early.state, late.state) == (S.PRESERVING, S.SUBMITTED)


def test_bulk_needs_a_selection_and_the_actions_values(client, agency):
    login(client, person(agency, Role.PARALEGAL))
    page = client.post(reverse("preservation:requests_bulk"), {"operation": "record_receipt"}, follow=True)
    assert "Select at least one request." in page.content.decode()


def test_bulk_never_touches_another_agencys_request(client, agency):
    stranger = sent(person(AgencyFactory()))
    login(client, person(agency, Role.PARALEGAL))
    client.post(reverse("preservation:requests_bulk"), {
        "operation": "record_receipt", "received_on": "2026-04-19", "selected": [stranger.public_id]})
    stranger.refresh_from_db()
    assert stranger.state == S.SUBMITTED


def test_bulk_assign_and_csv_of_the_selection(client, agency):
    paralegal, officer = person(agency, Role.PARALEGAL), person(agency)
    first, second, third = draft_of(officer), draft_of(officer), draft_of(officer)
    login(client, paralegal)
    client.post(reverse("preservation:requests_bulk"), {
        "operation": "assign", "assignee": str(paralegal.public_id), "selected": [first.public_id, second.public_id]})
    assert set(PreservationRequest.objects.for_agency(agency).filter(assigned_to=paralegal)
               .values_list("pk", flat=True)) == {first.pk, second.pk}
    assert RequestEvent.objects.across_agencies().filter(action="assigned").count() == 2
    response = client.post(reverse("preservation:requests_bulk"), {
        "operation": "csv", "selected": [second.public_id, third.public_id]})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert sorted(row[0] for row in rows[1:]) == sorted([second.reference, third.reference])


def test_csv_times_are_whole_seconds(client, agency):
    officer = person(agency)
    with time_machine.travel(NOW + timedelta(microseconds=123456), tick=False):
        request = sent(officer, days_ago=0)
    login(client, officer)
    rows = list(csv.reader(io.StringIO(client.get(reverse("preservation:dashboard_csv")).content.decode())))
    sent_column = rows[0].index("Sent (UTC)")
    assert [row[sent_column] for row in rows[1:] if row[0] == request.reference] == ["2026-04-20T12:00:00Z"]


# --- The request page ------------------------------------------------------------------------------


def test_the_request_page_shows_the_next_step_first_with_its_button(client, agency):
    officer = person(agency)
    request = sent(officer, days_ago=5)
    login(client, officer)
    body = client.get(reverse("preservation:request_detail", args=[request.public_id])).content.decode()
    assert body.index('data-testid="next-step"') < body.index('id="deadlines"')
    assert 'data-next-step="chase_receipt"' in body and "Blink has not acknowledged" in body
    assert 'href="#action-record_receipt"' in body


def test_cancelled_reminders_are_folded_away(client, agency):
    officer = person(agency)
    request = draft_of(officer)
    Reminder.objects.create(request=request, kind=ReminderKind.RETENTION, lead_days=40, day=NOW.date(),
                            due_at=NOW, state="cancelled")
    login(client, officer)
    body = client.get(reverse("preservation:request_detail", args=[request.public_id])).content.decode()
    assert 'data-testid="cancelled-reminders"' in body and "1 cancelled reminder<" in body
