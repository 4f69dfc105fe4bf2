"""Pages of the correspondence log and the agency inbox. Thin: forms read, services record.

Mail is written by strangers: its HTML is never rendered (the page shows the stored text), and
files are only ever downloaded (``Content-Disposition: attachment``, no sniffing), never shown.
Every object is read through the user's agency: another agency's message or entry is a 404.
"""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from preservation.requests import selectors
from preservation.core.audit import audit_record
from preservation.requests.forms import add_service_errors
from preservation.models import CorrespondenceEntry, InboundChannel, InboundMessage, PreservationRequest
from preservation.requests.access import case_data, request_or_404

from preservation.correspondence import forms, presentation, services


def _message_or_404(user, public_id):
    if not user.agency_id:
        raise Http404
    try:
        return (InboundMessage.objects.for_agency(user.agency_id).without_raw()
                .select_related("agency", "request__agency").get(public_id=public_id))
    except InboundMessage.DoesNotExist:
        raise Http404 from None


def _download(content, filename):
    response = HttpResponse(bytes(content), content_type="application/octet-stream")
    response["Content-Disposition"] = 'attachment; filename="%s"' % "".join(
        c if c.isalnum() or c in "._-" else "_" for c in filename)[:120]
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# --- The log of one request ---------------------------------------------------------------------


def _note(form, preservation_request, user, now):
    return services.entry_add_note(preservation_request=preservation_request, actor=user, text=form.cleaned_data["text"], now=now)


def _attachment(form, preservation_request, user, now):
    upload = form.cleaned_data["file"]
    return services.entry_add_attachment(preservation_request=preservation_request, actor=user, filename=upload.name,
                                         content=upload.read(), text=form.cleaned_data["text"], now=now)


def _reference(form, preservation_request, user, now):
    return services.entry_add_reference(preservation_request=preservation_request, actor=user, reference=form.cleaned_data["reference"],
                                        given_on=form.cleaned_data["given_on"], now=now)


def _correct(form, preservation_request, user, now):
    try:
        entry = preservation_request.correspondence.get(public_id=form.cleaned_data["entry"])
    except CorrespondenceEntry.DoesNotExist:
        raise Http404 from None
    return services.entry_correct(entry=entry, actor=user, text=form.cleaned_data["text"], now=now)


def _upload(form, preservation_request, user, now):
    message = services.message_ingest(agency=preservation_request.agency, raw=form.cleaned_data["message"],
                                      channel=InboundChannel.UPLOAD, now=now)
    if message.request_id is None:
        services.message_attach(message=message, preservation_request=preservation_request, actor=user, now=now)
    return message


def _email_letter(form, preservation_request, user, now):
    return services.letter_send_by_email(preservation_request=preservation_request, actor=user, to_address=form.cleaned_data["to_address"],
                                         now=now)


ACTIONS = {
    "note": (forms.NoteForm, _note, _("Note added.")),
    "attachment": (forms.AttachmentForm, _attachment, _("File added.")),
    "reference": (forms.ReferenceForm, _reference, _("Reference added.")),
    "correct": (forms.CorrectionForm, _correct, _("Correction added.")),
    "upload": (forms.MessageUploadForm, _upload, _("Message stored.")),
    "email_letter": (forms.EmailLetterForm, _email_letter, _("Letter sent by email.")),
}


@case_data
@require_POST
def correspondence_add(request, public_id, action):
    preservation_request = request_or_404(request.user, public_id)
    form_class, perform, done = ACTIONS[action]
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            perform(form, preservation_request, request.user, timezone.now())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(reverse("preservation:request_detail", args=[public_id]) + "#correspondence")
    return render(request, "preservation/correspondence/form_page.html",
                  {"form": form, "preservation_request": preservation_request, "action": action}, status=400)


@case_data
@require_GET
def entry_download(request, public_id):
    try:
        entry = CorrespondenceEntry.objects.filter(request__agency=request.user.agency_id).get(public_id=public_id, content__isnull=False)
    except CorrespondenceEntry.DoesNotExist:
        raise Http404 from None
    audit_record(action="correspondence_download", actor=request.user, obj=entry.request, request=request,
                 message="entry %s" % entry.public_id)
    return _download(entry.content, entry.filename)


# --- Received messages and the agency inbox -----------------------------------------------------


@case_data
@require_GET
def inbox(request):
    if not request.user.agency_id:
        raise Http404
    waiting = (InboundMessage.objects.for_agency(request.user.agency_id).without_raw()
               .filter(request__isnull=True).order_by("-received_at", "-pk")[:200])
    address = getattr(request.user.agency, "mail_address", None) if request.user.agency_id else None
    return render(request, "preservation/correspondence/inbox.html", {
        "waiting": waiting, "form": forms.MessageUploadForm(), "mail_address": address,
    })


@case_data
@require_POST
def inbox_upload(request):
    if not request.user.agency_id:
        raise Http404
    form = forms.MessageUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "preservation/correspondence/inbox.html", {"waiting": [], "form": form}, status=400)
    message = services.message_ingest(agency=request.user.agency, raw=form.cleaned_data["message"],
                                      channel=InboundChannel.UPLOAD, now=timezone.now())
    return redirect("preservation:mail_message", public_id=message.public_id)


def _message_context(request, message, confirm_form=None, attach_form=None):
    proposal = services.receipt_proposal(message)
    verified, sender_sentence = presentation.sender_status(message)
    return {
        "message": message, "zone": message.agency.time_zone,
        "problems": presentation.problem_labels(message.parse_problems),
        "sender_verified": verified, "sender_sentence": sender_sentence,
        "proposal": proposal,
        "confirm_form": confirm_form or (proposal and forms.ReceiptConfirmForm(initial=proposal)),
        "attach_form": attach_form or (message.request_id is None and forms.AttachMessageForm()),
    }


@case_data
@require_GET
def message_detail(request, public_id):
    message = _message_or_404(request.user, public_id)
    return render(request, "preservation/correspondence/message.html", _message_context(request, message))


@case_data
@require_GET
def message_raw(request, public_id):
    message = _message_or_404(request.user, public_id)
    raw = InboundMessage.objects.for_agency(message.agency_id).values_list("raw", flat=True).get(pk=message.pk)
    audit_record(action="mail_download", actor=request.user, obj=message, request=request, message=message.sha256)
    return _download(raw, "message-%s.eml" % message.public_id)


@case_data
@require_POST
def message_attach(request, public_id):
    message = _message_or_404(request.user, public_id)
    form = forms.AttachMessageForm(request.POST)
    if form.is_valid():
        try:
            preservation_request = selectors.requests_for_user(request.user).get(reference=form.cleaned_data["reference"])
            services.message_attach(message=message, preservation_request=preservation_request, actor=request.user, now=timezone.now())
        except PreservationRequest.DoesNotExist:
            form.add_error("reference", _("Your agency has no request with this reference."))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Attached to %(ref)s.") % {"ref": preservation_request.reference})
            return redirect("preservation:mail_message", public_id=public_id)
    return render(request, "preservation/correspondence/message.html",
                  _message_context(request, message, attach_form=form), status=400)


@case_data
@require_POST
def message_confirm_receipt(request, public_id):
    message = _message_or_404(request.user, public_id)
    if services.receipt_proposal(message) is None:
        raise Http404
    form = forms.ReceiptConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.message_confirm_receipt(message=message, actor=request.user, now=timezone.now(),
                                             received_on=form.cleaned_data["received_on"],
                                             reference=form.cleaned_data["reference"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Receipt recorded; the deadlines now run from it."))
            return redirect("preservation:request_detail", public_id=message.request.public_id)
    return render(request, "preservation/correspondence/message.html",
                  _message_context(request, message, confirm_form=form), status=400)
