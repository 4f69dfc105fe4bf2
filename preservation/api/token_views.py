"""The API tokens page: create (shown once), list and revoke one's own personal API tokens.

Behind the full web sign-in: password and second factor (``otp_required`` here, on top of the
access-gate middleware that guards every page), so a stolen password alone cannot mint a token.
"""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.decorators import otp_required

from preservation.api.tokens import DAY_CHOICES, DEFAULT_DAYS, api_token_create, api_token_revoke
from preservation.core import presentation
from preservation.models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        help_text=_("What will use it, such as “RMS integration”. Shown in the list below."),
    )
    days = forms.TypedChoiceField(label=_("Expires after"), coerce=int, initial=DEFAULT_DAYS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Here, not in the class: labels in the reader's language, not the one at import.
        self.fields["days"].choices = presentation.day_choices(DAY_CHOICES)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name for the token."), code="required")
        return name


def _page(request, form, created=None, plain=None):
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "preservation/tokens/list.html", {
        "form": form, "tokens": tokens, "created": created, "plain": plain, "now": timezone.now(),
    })


@login_required
@otp_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request):
    if request.method == "GET":
        return _page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    token, plain = api_token_create(
        user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"], request=request,
    )
    # Rendered in this response only (no redirect that would have to carry the secret).
    return _page(request, ApiTokenForm(), created=token, plain=plain)


@login_required
@otp_required
@require_POST
def token_revoke(request, public_id):
    token = get_object_or_404(ApiToken, public_id=public_id, user=request.user)
    api_token_revoke(token=token, actor=request.user, request=request)
    messages.success(request, _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name})
    return redirect("preservation:api_tokens")
