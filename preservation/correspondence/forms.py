"""Forms of the correspondence log and the agency inbox. They read input; the services in
``correspondence.services`` decide and record."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from preservation.requests.forms import DateInput
from preservation.rules import references


class NoteForm(forms.Form):
    text = forms.CharField(label=_("What happened"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("Kept exactly as uploaded; never opened in the browser."))
    text = forms.CharField(label=_("Description"), required=False, max_length=1000)


class ReferenceForm(forms.Form):
    reference = forms.CharField(label=_("Provider's reference"), max_length=200)
    given_on = forms.DateField(label=_("Given on"), widget=DateInput())


class CorrectionForm(forms.Form):
    entry = forms.UUIDField(widget=forms.HiddenInput)
    text = forms.CharField(label=_("What is right"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))


class EmailLetterForm(forms.Form):
    to_address = forms.EmailField(label=_("Provider's email address"),
                                  help_text=_("Only for providers that take requests by email."))


class MessageUploadForm(forms.Form):
    error_messages = {"too_large": _("The message is larger than %(limit)s MB.")}

    message = forms.FileField(label=_("Saved email (.eml)"))

    def clean_message(self):
        upload = self.cleaned_data["message"]
        limit = settings.PRESERVE_MAIL["MAX_MESSAGE_BYTES"]
        if upload.size > limit:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large",
                                        params={"limit": limit // (1024 * 1024)})
        return upload.read()


class ReceiptConfirmForm(forms.Form):
    received_on = forms.DateField(label=_("Received by the provider on"), widget=DateInput())
    reference = forms.CharField(label=_("Provider's reference"), max_length=100, required=False)




class AttachMessageForm(forms.Form):
    error_messages = {"invalid": _("Enter one of our references, for example PR-000123.")}

    reference = forms.CharField(label=_("Our reference"), max_length=20)

    def clean_reference(self):
        reference = references.canonical(self.cleaned_data["reference"])
        if reference is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return reference
