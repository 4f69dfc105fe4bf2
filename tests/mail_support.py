"""Building email messages for the correspondence tests."""
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from django.contrib.auth import get_user_model
from django.core import mail

from preservation.reminders.emails import message_id


def provider_reply(*, subject="Re: Data preservation request", body="We received your request.",
                   date=None, in_reply_to="", sender="lawenforcement@provider.example",
                   to="detectives@agency.example", auth="mx.agency.example; spf=pass; dkim=pass; dmarc=pass"):
    message = EmailMessage()
    if auth:
        message["Authentication-Results"] = auth
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if date is not None:
        message["Date"] = format_datetime(date)
    message["Message-ID"] = "<reply-%s@provider.example>" % abs(hash((subject, body, str(date))))
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message.as_bytes(policy=SMTP)


def reminder_mail(reminder):
    """The emails of one reminder: Message-IDs are opaque, so each recipient's is worked out."""
    keys = ["requester"] + ["u%d" % pk for pk in get_user_model().objects.filter(
        agency_id=reminder.request.agency_id).values_list("pk", flat=True)]
    ids = {message_id("reminder", reminder.pk, key) for key in keys}
    return [m for m in mail.outbox if m.extra_headers["Message-ID"] in ids]
