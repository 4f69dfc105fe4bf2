"""The approval panel of the request page (templates/preservation/partials/approval.html)."""
from django import template

from .. import permissions, services

register = template.Library()


@register.simple_tag(takes_context=True)
def own_draft_notice(context, preservation_request):
    """Why the signed-in approver may not approve this draft (four eyes: they wrote part of it),
    or "". The page hides the Approve button then; services.request_approve refuses it anyway."""
    editor_ids = services.request_editor_ids(preservation_request)
    if permissions.approves_own_work(context["request"].user, preservation_request, editor_ids=editor_ids):
        return services.OWN_REQUEST
    return ""
