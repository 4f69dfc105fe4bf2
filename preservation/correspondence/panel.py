"""What the request page shows of a request's correspondence
(templates/preservation/partials/correspondence_panel.html)."""
from django.db.models import F
from django.urls import reverse

from preservation.core import permissions
from preservation.correspondence import forms
from preservation.correspondence.services import receipt_proposal
from preservation.models import CorrespondenceKind


def _receipt_proposed(entries):
    """The newest received message that proposes the provider's receipt, with its proposal."""
    for entry in reversed(entries):
        if entry.kind == CorrespondenceKind.RECEIVED and entry.inbound_message is not None:
            proposal = receipt_proposal(entry.inbound_message)
            if proposal:
                return {"message": entry.inbound_message, **proposal}
    return None


def correspondence_panel(preservation_request, *, user):
    # A message's subject and sender, never the message as received (its raw bytes).
    entries = list(preservation_request.correspondence.without_content()
                   .select_related("actor", "inbound_message").defer("inbound_message__raw")
                   .annotate(corrects_public_id=F("corrects__public_id")).order_by("at", "pk"))
    for entry in entries:
        message = entry.inbound_message
        if message is not None and message.request_id == preservation_request.pk:
            message.request = preservation_request  # the proposal asks for it: no query per message
    forms_shown = permissions.can_edit_request(user, preservation_request)
    return {
        "receipt": _receipt_proposed(entries),
        "entries": entries,
        "corrected": {entry.corrects_id for entry in entries if entry.corrects_id},
        "zone": preservation_request.agency.time_zone,
        "references": [entry for entry in entries if entry.kind == CorrespondenceKind.REFERENCE],
        "can_add": forms_shown,
        # Built only for someone who may add (the page shows them to nobody else).
        "forms": [(action, form(), reverse("preservation:correspondence_%s" % action, args=[preservation_request.public_id]))
                  for action, form in (("note", forms.NoteForm), ("attachment", forms.AttachmentForm),
                                       ("reference", forms.ReferenceForm), ("upload", forms.MessageUploadForm),
                                       ("email_letter", forms.EmailLetterForm))] if forms_shown else [],
        "correct_url": reverse("preservation:correspondence_correct", args=[preservation_request.public_id]),
    }
