"""``/.well-known/security.txt`` (RFC 9116): whom to tell about a vulnerability
(docs/security.md "Reporting a vulnerability")."""
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

# RFC 9116 asks for an expiry under a year ahead; a fresh date on every answer never goes stale.
EXPIRES_AFTER = timedelta(days=180)


@login_not_required
@require_safe
def security_txt(request):
    expires = (timezone.now() + EXPIRES_AFTER).replace(microsecond=0)
    lines = [
        "Contact: %s" % settings.SECURITY_CONTACT,
        "Expires: %s" % expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Preferred-Languages: en, de, fr, es",
        "Canonical: %s/.well-known/security.txt" % settings.SITE_URL.rstrip("/"),
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "max-age=86400"
    return response
