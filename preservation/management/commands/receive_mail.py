import signal
import threading

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from preservation.correspondence.listener import MailController


class Command(BaseCommand):
    help = (
        "Listen for mail forwarded by the agency's mail server (SMTP, or LMTP with --lmtp) and "
        "store it in the inbox of the agency whose secret address it was sent to "
        "(docs/correspondence.md). Listens on 127.0.0.1 unless told otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_args: stop.set())
        controller = MailController(hostname=options["host"], port=options["port"], lmtp=options["lmtp"])
        controller.start()
        self.stdout.write(_("Receiving mail on %(host)s port %(port)d.") % {"host": options["host"], "port": options["port"]})
        try:
            stop.wait()
        finally:
            controller.stop()
