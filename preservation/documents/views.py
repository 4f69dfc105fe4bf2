"""Pages and endpoints of the documents feature: generate (POST), progress (polled by
static/js/documents.js), download of the stored bytes, and the agency letterhead logo."""
import base64
import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from preservation.core import permissions
from preservation.documents import services as documents
from preservation.documents.forms import AgencyLogoForm
from preservation.documents.panel import with_problem
from preservation.models import DocumentKind, DocumentState, GeneratedDocument
from preservation.requests.access import case_data, request_or_404


def _document_or_404(user, public_id, *, with_content=False):
    """Another agency's document is a 404, like its request."""
    if not (user.is_authenticated and user.agency_id):
        raise Http404
    queryset = GeneratedDocument.objects.for_agency(user.agency_id).select_related("request")
    if not with_content:
        queryset = queryset.without_content()
    return get_object_or_404(queryset, public_id=public_id)


@case_data
@require_POST
def document_generate(request, public_id, kind):
    preservation_request = request_or_404(request.user, public_id)  # another agency's: 404
    if kind not in DocumentKind.values:
        raise Http404
    try:
        documents.document_request(preservation_request=preservation_request, kind=kind, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.info(request, _("%(document)s: being generated. It appears in the list below when it is ready.")
                      % {"document": DocumentKind(kind).label})
    if request.POST.get("next") == "send":  # asked for from the "Send to Blink" page: back there
        return redirect(reverse("preservation:request_send", args=[public_id]) + "#letter")
    if request.POST.get("next") == "extension":  # from the extension's sending page
        return redirect(reverse("preservation:request_extension_page", args=[public_id]) + "#letter")
    return redirect(reverse("preservation:request_detail", args=[public_id]) + "#documents")


@case_data
@require_GET
def document_status(request, public_id):
    """Progress of one document for the page's poller; the row's HTML once it is finished."""
    document = _document_or_404(request.user, public_id)
    row = render_to_string(
        "preservation/partials/document_row.html", {"document": with_problem(document, timezone.now())},
        request=request,
    )
    return JsonResponse({
        "state": document.state, "progress": document.progress,
        "finished": not document.is_pending, "row_html": row,
    })


@case_data
@require_GET
def document_download(request, public_id):
    document = _document_or_404(request.user, public_id, with_content=True)
    if document.state != DocumentState.DONE:
        raise Http404
    documents.document_record_download(document=document, actor=request.user, http_request=request)
    response = FileResponse(
        io.BytesIO(bytes(document.content)), as_attachment=True, filename=document.filename,
        content_type="application/pdf",
    )
    # RFC 9530: lets the receiver check the bytes against the SHA-256 shown on the page.
    response["Repr-Digest"] = "sha-256=:%s:" % base64.b64encode(bytes.fromhex(document.sha256)).decode()
    response["X-Content-Type-Options"] = "nosniff"
    return response


@case_data
@require_http_methods(["GET", "POST"])
def agency_branding(request):
    """The letterhead logo printed on the agency's documents (agency administrators only)."""
    if not permissions.can_manage_agency(request.user):
        raise PermissionDenied
    agency = request.user.agency
    form = AgencyLogoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        documents.agency_logo_save(agency=agency, actor=request.user, image=form.cleaned_data["png"])
        messages.success(request, _("The logo is saved; documents generated from now on carry it."))
        return redirect("preservation:agency_branding")
    branding = getattr(agency, "branding", None)
    status = 400 if form.errors else 200
    return render(request, "preservation/agency_branding.html", {
        "form": form, "branding": branding, "agency": agency,
        "logo_data_url": _data_url(branding.logo) if branding and branding.logo else "",
    }, status=status)


def _data_url(logo):
    # Media files are not served by URL (they belong to one agency); the page embeds the logo.
    with logo.open("rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode()
