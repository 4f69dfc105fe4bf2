import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from preservation.correspondence import imap
from preservation.models import Agency

PASSWORD_ENV = "MAIL_IMAP_PASSWORD"
TOKEN_ENV = "MAIL_IMAP_OAUTH2_TOKEN"


class Command(BaseCommand):
    help = (
        "Take new messages from an agency's mailbox over IMAP with TLS, store and match them "
        "(docs/correspondence.md). Marks what it took with the keyword PreserveTaken and never "
        "deletes. The secret comes from the environment: MAIL_IMAP_PASSWORD, or "
        "MAIL_IMAP_OAUTH2_TOKEN for an OAuth2 bearer token (Microsoft 365, Google Workspace)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", type=int, required=True, help="the agency's id")
        parser.add_argument("--host", required=True)
        parser.add_argument("--port", type=int, default=993)
        parser.add_argument("--user", required=True)
        parser.add_argument("--folder", default="INBOX")
        parser.add_argument("--cafile", help="CA certificates to trust instead of the system's")

    def handle(self, *args, **options):
        try:
            agency = Agency.objects.get(pk=options["agency"])
        except Agency.DoesNotExist:
            raise CommandError(_("No agency has the id %(id)s.") % {"id": options["agency"]}) from None
        password, token = os.environ.get(PASSWORD_ENV, ""), os.environ.get(TOKEN_ENV, "")
        if not (password or token):
            raise CommandError(_("Set MAIL_IMAP_PASSWORD or MAIL_IMAP_OAUTH2_TOKEN in the environment."))
        login = imap.MailboxLogin(
            host=options["host"], port=options["port"], user=options["user"], password=password,
            oauth2_token=token, folder=options["folder"], cafile=options["cafile"],
        )
        try:
            report = imap.fetch_mailbox(agency=agency, login=login, now_fn=timezone.now)
        except (OSError, imap.imaplib.IMAP4.error) as error:
            raise CommandError(_("The mailbox could not be read: %(error)s") % {"error": error}) from None
        self.stdout.write(_("%(taken)d taken, %(matched)d matched, %(large)d too large (left in the mailbox).")
                          % {"taken": report.taken, "matched": report.matched, "large": report.too_large})
