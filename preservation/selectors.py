"""Reads for pages and exports. Case data is always read through an agency."""
from .models import PreservationRequest


def requests_for_user(user):
    """The requests a signed-in user may see: their agency's, nobody else's."""
    if not user.is_authenticated or user.agency_id is None:
        return PreservationRequest.objects.none()
    return PreservationRequest.objects.for_agency(user.agency_id)


def dashboard_requests(user):
    return requests_for_user(user).select_related("created_by").order_by(
        "urgency_rank", "next_deadline_on", "-created_at"
    )
