"""Addresses by number from before the opaque identifiers (docs/security.md "Opaque identifiers").

Pages of requests, documents, notifications, API tokens, received messages, correspondence
entries, the agency's people and invitations are addressed by ``public_id`` now. Links in emails and bookmarks made before still
name the old number: each such address redirects to the new one (302; a form posted to it is
sent on with 307, so a page open since before still works) only when the user may see the
object. Otherwise the answer is the same 404 as for a number that does not exist, so the
redirect tells no one which numbers exist.

``legacy_patterns`` derives one route from each route with ``<uuid:public_id>``, named after it
with ``_legacy``: ``requests/<int:pk>/send/`` beside ``requests/<uuid:public_id>/send/``.
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.decorators import otp_required

from preservation.models import (
    ApiToken,
    CorrespondenceEntry,
    GeneratedDocument,
    InboundMessage,
    Invitation,
    Notification,
    User,
)
from preservation.requests import selectors

OPAQUE = "<uuid:public_id>"
NUMBERED = "<int:pk>"


def _agency(user, rows):
    return rows.for_agency(user.agency_id) if user.agency_id else rows.none()


# The route's text before the id -> the objects of the user behind it (another agency's are
# not among them), and whether the new route asks for the second factor itself.
SCOPES = {
    "requests/": (lambda user: selectors.requests_for_user(user), False),
    "correspondence/requests/": (lambda user: selectors.requests_for_user(user), False),
    "documents/": (lambda user: _agency(user, GeneratedDocument.objects), False),
    "notifications/": (lambda user: Notification.objects.filter(user=user, agency_id=user.agency_id), False),
    "account/api-tokens/": (lambda user: ApiToken.objects.filter(user=user), True),
    # The agency's people (its administrators' user list); the new route checks the role.
    "agency/users/": (lambda user: User.objects.filter(agency_id=user.agency_id) if user.agency_id
                      else User.objects.none(), True),
    "agency/invitations/": (lambda user: Invitation.objects.filter(agency_id=user.agency_id) if user.agency_id
                            else Invitation.objects.none(), True),
    "mail/": (lambda user: _agency(user, InboundMessage.objects), False),
    "correspondence/": (
        lambda user: CorrespondenceEntry.objects.filter(request__agency=user.agency_id) if user.agency_id
        else CorrespondenceEntry.objects.none(), False),
}


def _view(scope, target):
    def redirect_to_public_id(request, pk, **_defaults):
        public_id = scope(request.user).filter(pk=pk).values_list("public_id", flat=True).first()
        if public_id is None:
            raise Http404
        captured = {k: v for k, v in request.resolver_match.captured_kwargs.items() if k != "pk"}
        address = reverse(target, kwargs={**captured, "public_id": public_id})
        if request.META.get("QUERY_STRING"):
            address += "?" + request.META["QUERY_STRING"]
        response = HttpResponseRedirect(address)
        if request.method == "POST":
            response.status_code = 307  # the browser posts the same form to the new address
        return response

    return redirect_to_public_id


def legacy_patterns(patterns, namespace):
    """A numbered route for each route of ``patterns`` addressed by ``public_id``."""
    found = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if not isinstance(pattern, URLPattern) or OPAQUE not in route:
            continue
        prefix = route[:route.index(OPAQUE)]
        if prefix not in SCOPES:
            continue
        scope, second_factor = SCOPES[prefix]
        view = require_http_methods(["GET", "HEAD", "POST"])(
            _view(scope, "%s:%s" % (namespace, pattern.name)))
        view = login_required(otp_required(view) if second_factor else view)
        found.append(path(route.replace(OPAQUE, NUMBERED), never_cache(view), pattern.default_args,
                          name="%s_legacy" % pattern.name))
    return found
