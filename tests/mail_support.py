"""Building email messages for the correspondence tests."""
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime


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
