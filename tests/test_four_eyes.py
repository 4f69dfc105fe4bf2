"""Four eyes: a supervisor never approves a draft they wrote (created, or edited since its last
approval), through the service, the request page and the API."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from preservation.core import permissions
from preservation.models import AuditRecord, RequestApproval, RequestEvent, Role
from preservation.requests import services
from tests.api_support import fresh_throttle, token_client  # noqa: F401 (fixture)
from tests.conftest import utc
from tests.factories import RequestFactory, UserFactory
from tests.helpers import login

NOW = utc(2026, 4, 20, 12, 0)
OWN = "You created this draft or edited it since it was last approved: another supervisor must approve it."


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(agency):
    agency.requires_supervisor_approval = True
    agency.save(update_fields=["requires_supervisor_approval"])
    return {
        "officer": UserFactory(agency=agency, role=Role.REQUESTER, first_name="Olive"),
        "alice": UserFactory(agency=agency, role=Role.SUPERVISOR, first_name="Alice"),
        "bob": UserFactory(agency=agency, role=Role.SUPERVISOR, first_name="Bob"),
        "admin": UserFactory(agency=agency, role=Role.AGENCY_ADMIN, first_name="Ada"),
    }


def play(people, steps, *, start=NOW - dt.timedelta(days=1)):
    """Run ("create" | "edit" | "approve", who) steps an hour apart; returns the draft."""
    draft = None
    for hour, (step, who) in enumerate(steps):
        actor, at = people[who], start + dt.timedelta(hours=hour)
        if step == "approve":
            services.request_approve(preservation_request=draft, actor=actor, now=at)
        else:
            draft = services.request_save_draft(
                agency=actor.agency, actor=actor, preservation_request=draft, now=at,
                fields={"case_number": "CR-1"} if step == "create" else {"notes": "edit %d" % hour},
            )
    return draft


# --- The rule, pure ------------------------------------------------------------------------------


@pytest.mark.parametrize("user_pk, created_by_id, editor_ids, own", [
    (1, 1, set(), True),        # the creator, even with no edit recorded
    (1, 2, {1}, True),          # edited it since the last approval
    (1, 2, {2, 1}, True),       # one of several editors
    (1, 2, {2}, False),         # someone else's work
    (1, 2, set(), False),       # nothing to cover but someone else's creation
    (1, None, set(), False),    # a creator whose account is gone
])
def test_who_approves_their_own_work(user_pk, created_by_id, editor_ids, own):
    user, request = SimpleNamespace(pk=user_pk), SimpleNamespace(created_by_id=created_by_id)
    assert permissions.approves_own_work(user, request, editor_ids=editor_ids) is own


# --- The service ---------------------------------------------------------------------------------


FOUR_EYES_TABLE = [
    # history before the approval, who approves, refusal code (None: approved)
    ([("create", "alice")], "alice", "own_request"),
    ([("create", "admin")], "admin", "own_request"),
    ([("create", "officer")], "alice", None),
    ([("create", "officer")], "admin", None),
    ([("create", "alice")], "bob", None),
    ([("create", "officer"), ("edit", "alice")], "alice", "own_request"),
    ([("create", "officer"), ("edit", "alice")], "bob", None),
    # someone else edited after alice: her edit is still unreviewed
    ([("create", "officer"), ("edit", "alice"), ("edit", "officer")], "alice", "own_request"),
    ([("create", "officer"), ("edit", "alice"), ("edit", "bob")], "alice", "own_request"),
    ([("create", "officer"), ("edit", "alice"), ("edit", "bob")], "admin", None),
    # bob approved alice's edit; only the officer edited since: alice may approve that
    ([("create", "officer"), ("edit", "alice"), ("approve", "bob"), ("edit", "officer")], "alice", None),
    ([("create", "officer"), ("approve", "bob"), ("edit", "alice")], "alice", "own_request"),
    ([("create", "officer"), ("approve", "bob"), ("edit", "alice")], "bob", None),
    # the creator stays an author, however many approvals and edits later
    ([("create", "alice"), ("approve", "bob"), ("edit", "admin")], "alice", "own_request"),
    # approving again what one approved (nobody edited since) is not approving one's own work
    ([("create", "officer"), ("approve", "alice")], "alice", None),
    # the role rule comes first
    ([("create", "officer")], "officer", "not_an_approver"),
]


@pytest.mark.parametrize("steps, approver, code", FOUR_EYES_TABLE)
def test_the_four_eyes_table(people, steps, approver, code):
    draft = play(people, steps)
    approvals = RequestApproval.objects.filter(request=draft).count()
    if code is None:
        services.request_approve(preservation_request=draft, actor=people[approver], now=NOW)
        assert services.request_is_approved(draft)
        assert RequestApproval.objects.filter(request=draft).count() == approvals + 1
        return
    with pytest.raises(ValidationError) as refused:
        services.request_approve(preservation_request=draft, actor=people[approver], now=NOW)
    assert refused.value.code == code
    assert RequestApproval.objects.filter(request=draft).count() == approvals


def test_the_refusal_says_another_supervisor_must_approve_and_records_nothing(people):
    draft = play(people, [("create", "alice")])
    events, records = draft.events.count(), AuditRecord.objects.across_agencies().count()
    with pytest.raises(ValidationError, match="another supervisor must approve it"):
        services.request_approve(preservation_request=draft, actor=people["alice"], now=NOW)
    assert draft.events.count() == events
    assert AuditRecord.objects.across_agencies().count() == records
    assert not draft.events.filter(action=RequestEvent.Action.APPROVED).exists()


def test_a_creator_with_no_recorded_history_is_still_its_author(people):
    draft = RequestFactory(agency=people["alice"].agency, created_by=people["alice"])
    with pytest.raises(ValidationError) as refused:
        services.request_approve(preservation_request=draft, actor=people["alice"], now=NOW)
    assert refused.value.code == "own_request"


def test_a_refused_approval_leaves_sending_blocked_until_another_supervisor_approves(people):
    draft = RequestFactory(agency=people["officer"].agency, created_by=people["officer"])
    services.request_save_draft(agency=draft.agency, actor=people["alice"], preservation_request=draft,
                                fields={"notes": "Porch camera too"}, now=NOW - dt.timedelta(hours=1))
    with pytest.raises(ValidationError):
        services.request_approve(preservation_request=draft, actor=people["alice"], now=NOW)
    with pytest.raises(ValidationError) as blocked:
        services.request_send(preservation_request=draft, actor=people["officer"], now=NOW)
    assert blocked.value.code == "approval_required"
    services.request_approve(preservation_request=draft, actor=people["bob"], now=NOW)
    assert services.request_send(preservation_request=draft, actor=people["officer"], now=NOW).state == "submitted"


@pytest.mark.parametrize("steps, editors", [
    ([("create", "officer")], {"officer"}),
    ([("create", "officer"), ("edit", "alice"), ("edit", "bob")], {"officer", "alice", "bob"}),
    ([("create", "officer"), ("edit", "alice"), ("approve", "bob")], set()),
    ([("create", "officer"), ("edit", "alice"), ("approve", "bob"), ("edit", "admin")], {"admin"}),
])
def test_the_editors_an_approval_would_cover_are_those_since_the_last_approval(people, steps, editors):
    draft = play(people, steps)
    assert services.request_editor_ids(draft) == {people[name].pk for name in editors}


# --- The request page ----------------------------------------------------------------------------


def detail(user, draft):
    return login(Client(), user).get(reverse("preservation:request_detail", args=[draft.public_id]))


def approve_form(content, draft):
    action = re.escape(reverse("preservation:request_approve", args=[draft.public_id]))
    return re.search(r'<form method="post" action="%s"' % action, content)


@pytest.mark.parametrize("steps, viewer", [
    ([("create", "alice")], "alice"),
    ([("create", "officer"), ("edit", "alice")], "alice"),
    ([("create", "officer"), ("edit", "alice"), ("edit", "officer")], "alice"),
    ([("create", "admin")], "admin"),
])
def test_the_page_explains_instead_of_offering_to_approve_ones_own_draft(people, steps, viewer):
    draft = play(people, steps)
    response = detail(people[viewer], draft)
    content = response.content.decode()
    assert response.status_code == 200
    assert not approve_form(content, draft)
    assert '<span data-testid="approval-own">%s</span>' % OWN in content
    assert "Check the request, then approve it" not in content
    assert response.context["send_blocked"]


@pytest.mark.parametrize("steps, viewer", [
    ([("create", "officer")], "alice"),
    ([("create", "alice")], "bob"),
    ([("create", "officer"), ("edit", "alice")], "admin"),
    ([("create", "officer"), ("edit", "alice"), ("approve", "bob"), ("edit", "officer")], "alice"),
])
def test_another_supervisor_is_offered_the_approve_button(people, steps, viewer):
    draft = play(people, steps)
    content = detail(people[viewer], draft).content.decode()
    assert approve_form(content, draft)
    assert "Check the request, then approve it so that it can be sent." in content
    assert 'data-testid="approval-own"' not in content


def test_the_requester_sees_no_four_eyes_notice(people):
    draft = play(people, [("create", "officer")])
    content = detail(people["officer"], draft).content.decode()
    assert 'data-testid="approval-own"' not in content
    assert "becomes available once a supervisor approves this draft" in content


def test_posting_approve_for_ones_own_draft_is_refused_with_the_reason_once(people):
    draft = play(people, [("create", "officer"), ("edit", "alice")])
    response = login(Client(), people["alice"]).post(reverse("preservation:request_approve", args=[draft.public_id]))
    content = response.content.decode()
    assert response.status_code == 400
    assert content.count(OWN) == 1
    assert not approve_form(content, draft)
    assert not RequestApproval.objects.filter(request=draft).exists()


def test_another_supervisor_approves_on_the_page(people):
    draft = play(people, [("create", "alice")])
    response = login(Client(), people["bob"]).post(reverse("preservation:request_approve", args=[draft.public_id]))
    assert response.status_code == 302
    assert RequestApproval.objects.get(request=draft).approved_by == people["bob"]


# --- The API ------------------------------------------------------------------------------------


def api_approve(user, draft):
    return token_client(user).post("/api/v1/requests/%s/approve/" % draft.public_id)


def test_the_api_refuses_to_let_the_creator_approve(people):
    draft = play(people, [("create", "alice")])
    response = api_approve(people["alice"], draft)
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["fields"]["non_field_errors"]] == ["own_request"]
    assert not RequestApproval.objects.filter(request=draft).exists()
    assert api_approve(people["bob"], draft).status_code == 200


def test_the_api_refuses_the_supervisor_who_edited_the_draft_through_it(people):
    draft = play(people, [("create", "officer")])
    alice = token_client(people["alice"])
    edited = alice.patch("/api/v1/requests/%s/" % draft.public_id, {"notes": "Porch camera too"}, format="json")
    assert edited.status_code == 200
    refused = alice.post("/api/v1/requests/%s/approve/" % draft.public_id)
    assert refused.status_code == 400
    assert refused.json()["fields"]["non_field_errors"][0]["code"] == "own_request"
    assert api_approve(people["admin"], draft).status_code == 200


# --- The same rules over rows loaded for a whole page (services.approval_over) ------------------


def _row(at, pk=1, actor_id=None):
    return SimpleNamespace(at=utc(2026, 3, 2, at, 0), pk=pk, actor_id=actor_id)


@pytest.mark.parametrize(("approvals", "edits", "approved_at", "editors"), [
    ([], [], None, set()),
    ([], [_row(9, actor_id=1)], None, {1}),
    ([_row(10)], [_row(9, actor_id=1)], 10, set()),
    ([_row(10)], [_row(9, actor_id=1), _row(11, actor_id=2)], None, {2}),
    ([_row(10)], [_row(10, actor_id=1)], 10, set()),  # an edit at the approval's instant is covered
    ([_row(8, pk=1), _row(12, pk=2)], [_row(9, actor_id=1), _row(11, actor_id=2)], 12, set()),
    ([_row(8)], [_row(9, actor_id=None), _row(11, actor_id=3)], None, {3}),  # system edits name nobody
])
def test_approval_over_loaded_rows(approvals, edits, approved_at, editors):
    valid, editor_ids = services.approval_over(approvals, edits)

    assert (valid.at.hour if valid else None, editor_ids) == (approved_at, editors)
