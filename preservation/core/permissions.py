"""Who may do what inside an agency. Views, the API and services call these;
tenancy (another agency's object is a 404) is the selectors' job and is assumed here.

- requester (officer, detective): creates requests, edits and moves on their own, views the agency's;
- paralegal: every request of the agency and its deadlines;
- supervisor: as paralegal, plus approving drafts for sending (drafts someone else wrote) and escalations;
- agency admin: as supervisor, plus the agency's users, settings and audit log.
"""
from preservation.models import Role

CASE_MANAGERS = frozenset({Role.PARALEGAL, Role.SUPERVISOR, Role.AGENCY_ADMIN})
APPROVERS = frozenset({Role.SUPERVISOR, Role.AGENCY_ADMIN})


def _member(user, agency_id):
    return bool(user.is_authenticated and user.is_active and user.agency_id and user.agency_id == agency_id)


def can_view_request(user, preservation_request):
    return _member(user, preservation_request.agency_id)


def can_create_request(user):
    return bool(user.is_authenticated and user.is_active and user.agency_id)


def can_edit_request(user, preservation_request):
    """Edit a draft or move a request through its states."""
    if not _member(user, preservation_request.agency_id):
        return False
    return user.role in CASE_MANAGERS or preservation_request.created_by_id == user.pk


def can_correct_request(user, preservation_request):
    """Correct a fact recorded on a request (a mistyped date, docs/corrections.md): its
    requester, a supervisor or an agency admin; not a paralegal, whose entries a supervisor
    checks."""
    if not _member(user, preservation_request.agency_id):
        return False
    return user.role in APPROVERS or preservation_request.created_by_id == user.pk


def can_approve_request(user, preservation_request):
    """The role rule; ``approves_own_work`` is the four-eyes rule on top of it."""
    return _member(user, preservation_request.agency_id) and user.role in APPROVERS


def approves_own_work(user, preservation_request, *, editor_ids):
    """Four eyes: nobody approves what they wrote. ``editor_ids`` are the people whose edits
    the approval would cover (services.request_editor_ids); the creator is always one."""
    return user.pk == preservation_request.created_by_id or user.pk in editor_ids


def can_manage_agency(user, agency=None):
    """Users, roles, agency settings and the audit log of ``agency`` (default: their own)."""
    agency_id = agency.pk if agency is not None else user.agency_id
    return _member(user, agency_id) and user.role == Role.AGENCY_ADMIN
