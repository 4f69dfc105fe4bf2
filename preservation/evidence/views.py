"""Downloads of the USB evidence manifests attached to a request.

A manifest is found through the signed-in user's agency, so another agency's manifest is a
404 like any missing one. The bytes served are the ones stored at attach time, whose SHA-256
the request page shows; ``Repr-Digest`` (RFC 9530) carries the same hash for tools.
"""
import base64
import io

from django.http import FileResponse, Http404
from django.utils import timezone
from django.views.decorators.http import require_GET

from preservation.evidence import manifests
from preservation.models import EvidenceManifest
from preservation.requests.access import case_data

FORMATS = {
    "csv": ("csv_content", "csv_sha256", "text/csv; charset=utf-8"),
    "pdf": ("pdf_content", "pdf_sha256", "application/pdf"),
}


def _manifest_or_404(user, public_id):
    if not user.agency_id:
        raise Http404
    try:
        return EvidenceManifest.objects.for_agency(user.agency_id).select_related("request__agency").get(
            public_id=public_id
        )
    except EvidenceManifest.DoesNotExist:
        raise Http404 from None


@case_data
@require_GET
def manifest_download(request, public_id, fmt):
    manifest = _manifest_or_404(request.user, public_id)
    content_field, hash_field, content_type = FORMATS[fmt]
    if getattr(manifest, content_field) is None:  # a PDF that could not be rendered
        raise Http404
    manifests.manifest_record_download(manifest=manifest, actor=request.user, now=timezone.now(),
                                       fmt=fmt, http_request=request)
    response = FileResponse(
        io.BytesIO(bytes(getattr(manifest, content_field))), as_attachment=True,
        filename="%s.%s" % (manifest.filename_stem, fmt), content_type=content_type,
    )
    digest = bytes.fromhex(getattr(manifest, hash_field))
    response["Repr-Digest"] = "sha-256=:%s:" % base64.b64encode(digest).decode()
    response["X-Content-Type-Options"] = "nosniff"
    return response
