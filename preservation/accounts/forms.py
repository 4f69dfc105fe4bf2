"""Forms of sign-in, second factor, invitations, user management and the audit log."""
import datetime as dt
import re

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from preservation.models import Agency, AuditOutcome, Role


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("That username and password do not match. After 5 failed attempts the "
                           "account is locked for 10 minutes."),
        "inactive": _("This account is deactivated. Ask your agency administrator."),
    }

    def clean_username(self):
        # AuthenticationForm does not enforce the length it advertises; a longer name cannot
        # exist, and must not reach django-axes' 255-character columns.
        username = self.cleaned_data["username"]
        if len(username) > get_user_model()._meta.get_field("username").max_length:
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        return username


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"), max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
    )

    def clean_token(self):
        # People paste codes with spaces ("123 456"); backup codes keep their hyphens.
        return re.sub(r"\s+", "", self.cleaned_data["token"]).lower()


class EnrolForm(TokenForm):
    token = forms.CharField(
        label=_("Code from your app"), max_length=6, min_length=6, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text=_("Type the 6-digit code your authenticator app shows for Preserve."),
        error_messages={"min_length": _("The code has 6 digits.")},
    )


class ReauthForm(forms.Form):
    """The password and a current code, asked again before a credential is replaced
    (docs/security.md "Credential changes"): a stolen session alone cannot replace them."""

    password = forms.CharField(label=_("Your password"), strip=False, max_length=4096,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    current_code = forms.CharField(
        label=_("Code from your current app, or a backup code"), max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_code(self):
        return re.sub(r"\s+", "", self.cleaned_data["current_code"]).lower()

    def clean(self):
        from preservation.accounts import services as accounts

        data = super().clean()
        if not self.errors and not accounts.reauthenticated(
                user=self.user, password=data.get("password"), code=data.get("current_code")):
            raise forms.ValidationError(
                _("The password or the current code is not right. Type your password and the code "
                  "your current app shows now (or an unused backup code)."), code="reauth_failed")
        return data


class ReplaceAuthenticatorForm(ReauthForm, EnrolForm):
    field_order = ["token", "password", "current_code"]


class BannerForm(forms.Form):
    acknowledge = forms.BooleanField(
        label=_("I have read and accept this notice."),
        error_messages={"required": _("Tick the box to confirm you accept the notice.")},
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.REQUESTER)


class AcceptInvitationForm(forms.Form):
    error_messages = {"password_mismatch": _("The two passwords differ. Type the same password twice.")}

    username = forms.RegexField(
        label=_("Username"), max_length=150, regex=r"^[\w.@+-]+\Z",
        help_text=_("Letters, digits and @ . + - _ only."),
        error_messages={"invalid": _("Use only letters, digits and @ . + - _ in the username.")},
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. A passphrase of several words is easiest to remember."),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email="", **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", forms.ValidationError(self.error_messages["password_mismatch"],
                                                              code="password_mismatch"))
        elif password1:
            from preservation.models import User

            candidate = User(username=cleaned.get("username") or "", email=self.email,
                             first_name=cleaned.get("first_name") or "", last_name=cleaned.get("last_name") or "")
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class AgencySettingsForm(forms.ModelForm):
    class Meta:
        model = Agency
        fields = ["name", "postal_address", "phone", "time_zone", "legal_basis", "requires_supervisor_approval",
                  "default_legal_basis", "national_order_days", "national_order_renewals",
                  "allows_emergency_send"]


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), max_length=50, required=False)
    actor = forms.CharField(label=_("User"), max_length=150, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", _("Any"))] + list(AuditOutcome.choices))
    object_id = forms.CharField(label=_("Object id"), max_length=64, required=False)
    date_from = forms.DateField(label=_("From (UTC date)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (UTC date)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", forms.ValidationError(_("The end date is before the start date."),
                                                            code="end_before_start"))
        return cleaned

    def session_value(self):
        """The filters to keep in the session (JSON: dates as ISO text); bound again to filter."""
        return {name: value.isoformat() if isinstance(value, dt.date) else value
                for name, value in self.cleaned_data.items() if value not in ("", None)}

    def filter(self, queryset):
        data = self.cleaned_data
        if data.get("action"):
            queryset = queryset.filter(action__icontains=data["action"])
        if data.get("actor"):
            queryset = queryset.filter(actor_label__icontains=data["actor"])
        if data.get("outcome"):
            queryset = queryset.filter(outcome=data["outcome"])
        if data.get("object_id"):
            queryset = queryset.filter(object_id=data["object_id"])
        if data.get("date_from"):
            queryset = queryset.filter(at__date__gte=data["date_from"])
        if data.get("date_to"):
            queryset = queryset.filter(at__date__lte=data["date_to"])
        return queryset
