"""The SMTP/LMTP listener that an agency's mail server forwards to (docs/correspondence.md
"Three ways in"): ``manage.py receive_mail``.

A recipient address is <token>@<any domain>; the token (``AgencyMailAddress``) names one agency
and only that agency's inbox receives the message. Unknown addresses are refused at RCPT, so a
stranger learns nothing and stores nothing. The bytes stored are the DATA as received.
"""
from asgiref.sync import sync_to_async
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from django.db import connections
from django.utils import timezone

from preservation.models import AgencyMailAddress, InboundChannel

from preservation.correspondence import services


def agency_for_address(address):
    token = address.rsplit("@", 1)[0].strip().lower()
    mailbox = AgencyMailAddress.objects.select_related("agency").filter(token=token).first() if token else None
    return mailbox.agency if mailbox else None


def _ingest(agencies, raw):
    now = timezone.now()
    try:
        for agency in agencies:
            services.message_ingest(agency=agency, raw=raw, channel=InboundChannel.SMTP, now=now)
    finally:
        connections.close_all()  # this worker thread's connection, not left open between messages


def _agency_for_address(address):
    try:
        return agency_for_address(address)
    finally:
        connections.close_all()


class AgencyMailHandler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        agency = await sync_to_async(_agency_for_address, thread_sensitive=False)(address)
        if agency is None:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        envelope.agencies = {**getattr(envelope, "agencies", {}), agency.pk: agency}
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        agencies = list(getattr(envelope, "agencies", {}).values())
        try:
            await sync_to_async(_ingest, thread_sensitive=False)(agencies, envelope.original_content)
        except services.MessageTooLarge:
            return "552 5.3.4 Message too big"
        return "250 2.0.0 Message stored"


class MailController(Controller):
    """``lmtp=True`` speaks LMTP (LHLO) instead of SMTP; otherwise the same."""

    def __init__(self, *, hostname, port, lmtp=False):
        self.lmtp = lmtp
        super().__init__(AgencyMailHandler(), hostname=hostname, port=port,
                         data_size_limit=services.mail_setting("MAX_MESSAGE_BYTES"))

    def factory(self):
        return (LMTP if self.lmtp else SMTP)(self.handler, **self.SMTP_kwargs)
