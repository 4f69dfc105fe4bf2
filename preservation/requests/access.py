"""What every page that shows case data shares: sign-in, no caching, and reading one of the
user's agency's requests or answering 404 (never 403: another agency's ids stay unknown)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.cache import never_cache

from preservation.models import PreservationRequest
from preservation.requests import selectors


def case_data(view):
    """Signed-in users only, and never stored by a browser or proxy cache."""
    return login_required(never_cache(view))


def request_or_404(user, public_id):
    try:
        return selectors.request_for_page(user, public_id)
    except PreservationRequest.DoesNotExist:
        raise Http404 from None
