"""The guided sending pages: the values for the provider's form, the letter, and recording the
sending; the same for the extension."""
from datetime import UTC

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from preservation.core import permissions
from preservation.models import DocumentKind, RequestState
from preservation.requests import selectors
from preservation.requests.access import case_data, request_or_404
from preservation.requests.forms import (
    ACTION_FORMS,
    SendForm,
)
from preservation.requests.page_context import NOT_YOURS, letter, send_context



@case_data
@require_GET
def request_send(request, public_id):
    preservation_request = request_or_404(request.user, public_id)
    form = SendForm(preservation_request=preservation_request, prefix="send")
    return render(request, "preservation/request_send.html", send_context(request, preservation_request, form))



# --- Sending the extension ------------------------------------------------------------------


def _extension_context(request, preservation_request, form):
    """What Blink's form needs to extend the preservation (the same request, identified by
    Blink's reference and the original receipt), the extension letter, and when it must arrive."""
    agency = preservation_request.agency
    serial_list = list(preservation_request.serials.all())
    fields = [
        ("blink_reference", _("Blink's reference"), preservation_request.blink_reference),
        ("received_on", _("Original request received by Blink on"),
         preservation_request.received_on and preservation_request.received_on.isoformat()),
        ("requester_name", _("Requester name"), preservation_request.requester_name),
        ("requester_email", _("Requester email"), preservation_request.requester_email),
        ("agency", _("Agency (affiliation)"), agency.name),
        ("case_number", _("CRIM#"), preservation_request.case_number),
        ("window_start", _("Start date and time (UTC)"),
         preservation_request.window_start and preservation_request.window_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("window_end", _("End date and time (UTC)"),
         preservation_request.window_end and preservation_request.window_end.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("serials", _("Device serial numbers (DSN)"), "\n".join(s.display for s in serial_list)),
        ("account_email", _("Account email"), preservation_request.account_email),
    ]
    now = timezone.now()
    can_edit = permissions.can_edit_request(request.user, preservation_request)
    clock = selectors.request_clock(preservation_request, extensions_received=1)
    extended_until = clock and clock.final_expires_on
    return {
        "preservation_request": preservation_request, "zone": agency.time_zone, "form": form,
        "fields": [{"code": code, "label": label, "value": value or ""} for code, label, value in fields],
        "can_send": can_edit and preservation_request.state == RequestState.PRESERVING,
        "read_only": NOT_YOURS, "can_edit": can_edit, "extended_until": extended_until,
        "letter": letter(preservation_request, now, DocumentKind.EXTENSION),
        "blink_form_url": settings.PRESERVE["BLINK_FORM_URL"],
    }


@case_data
@require_GET
def request_extension_page(request, public_id):
    preservation_request = request_or_404(request.user, public_id)
    form = ACTION_FORMS["send_extension"](preservation_request=preservation_request, prefix="send_extension")
    return render(request, "preservation/request_extension.html", _extension_context(request, preservation_request, form))
