"""Each person reads Preserve in their own language: the profile's language wins over the
browser's once they are signed in, and the switcher on every page updates the profile."""
from django.conf import settings
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language


class UserLanguageMiddleware:
    """Runs after AuthenticationMiddleware (and LocaleMiddleware, whose browser-based choice
    it overrides for signed-in users)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


@require_POST
def set_language(request):
    """Django's set_language (cookie for anonymous visitors), plus the signed-in user's profile."""
    code = request.POST.get("language", "")
    if request.user.is_authenticated and code in dict(settings.LANGUAGES):
        request.user.language = code
        request.user.save(update_fields=["language"])
    return django_set_language(request)
