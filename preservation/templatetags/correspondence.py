"""The correspondence panel of the request page (templates/preservation/partials/correspondence_panel.html)."""
from django import template

from preservation import permissions

from ..correspondence import forms
from ..models import CorrespondenceKind

register = template.Library()


@register.inclusion_tag("preservation/partials/correspondence_panel.html", takes_context=True)
def correspondence_panel(context, preservation_request):
    request = context.get("request")
    entries = list(preservation_request.correspondence.without_content()
                   .select_related("actor", "inbound_message").order_by("at", "pk"))
    corrected = {entry.corrects_id for entry in entries if entry.corrects_id}
    return {
        "preservation_request": preservation_request, "entries": entries, "corrected": corrected,
        "zone": preservation_request.agency.time_zone,
        "references": [e for e in entries if e.kind == CorrespondenceKind.REFERENCE],
        "can_add": bool(request and permissions.can_edit_request(request.user, preservation_request)),
        "forms": {"note": forms.NoteForm(), "attachment": forms.AttachmentForm(), "reference": forms.ReferenceForm(),
                  "upload": forms.MessageUploadForm(), "email_letter": forms.EmailLetterForm()},
        "csrf_token": context.get("csrf_token"), "request": request,
    }
