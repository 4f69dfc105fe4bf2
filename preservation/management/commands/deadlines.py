import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from preservation.management.arguments import instant_argument
from preservation.requests import services
from preservation.rules import catalogue, deadlines


def _date(value):
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("Not an ISO 8601 date (YYYY-MM-DD): %(value)s") % {"value": value}) from exc


class Command(BaseCommand):
    help = "What-if calculator: retention urgency and the preservation clock for a window."

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="window start, ISO 8601 (local to --tz unless it has an offset)")
        parser.add_argument("--end", required=True, help="window end, ISO 8601")
        parser.add_argument("--tz", default="UTC", help="IANA zone of the window and of calendar dates")
        parser.add_argument("--country", help="account country, ISO 3166 alpha-2 (decides 30 or 60 days)")
        parser.add_argument("--auto-delete-days", type=int, choices=deadlines.AUTO_DELETE_CHOICES)
        parser.add_argument("--legacy", action="store_true", help="a legacy device (XT, XT2, Indoor gen 1) is listed")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--content-types", action="store_true", help="content is requested (default)")
        kind.add_argument("--non-content-only", action="store_true", help="only account/device records")
        parser.add_argument("--received", help="date Blink received the request (YYYY-MM-DD)")
        parser.add_argument("--extended", action="store_true", help="the one extension was received")
        parser.add_argument("--now", help="judge urgency at this instant (default: now)")
        parser.add_argument("--provider", choices=[p.code for p in catalogue.PROVIDERS],
                            help="the provider (default: blink); adds provider and basis fields to the output")
        parser.add_argument("--basis", choices=[b.code for b in catalogue.LEGAL_BASES],
                            help="the legal basis (default: us_2703f)")
        parser.add_argument("--extensions", type=int, help="extensions or renewals received (instead of --extended)")
        parser.add_argument("--national-days", type=int, default=catalogue.NATIONAL_ORDER_DEFAULT_DAYS)
        parser.add_argument("--national-renewals", type=int, default=catalogue.NATIONAL_ORDER_DEFAULT_RENEWALS)
        parser.add_argument("--production-confirmed", help="EPOC-PR: date the production order was confirmed")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        zone = options["tz"]
        try:
            deadlines.local_date(timezone.now(), zone)
        except Exception as exc:
            raise CommandError(_("Unknown time zone: %(zone)s") % {"zone": zone}) from exc
        start, end = instant_argument(options["start"], zone), instant_argument(options["end"], zone)
        if start >= end:
            raise CommandError(_("The window must end after it starts."))
        now = instant_argument(options["now"], zone) if options["now"] else timezone.now()
        if (options["extended"] or options["extensions"]) and not options["received"]:
            raise CommandError(_("--extended needs --received."))
        chosen = options["provider"] or options["basis"]
        provider = catalogue.provider(options["provider"] or catalogue.BLINK.code)
        report = deadlines.compute_report(
            start=start, end=end, now=now, country=options["country"],
            auto_delete_days=options["auto_delete_days"], legacy=options["legacy"],
            content=not options["non_content_only"],
            received_on=_date(options["received"]) if options["received"] else None,
            extended=options["extended"], zone=zone, thresholds=services.thresholds(),
            provider=provider, basis=options["basis"] and catalogue.legal_basis(options["basis"]),
            extensions_received=options["extensions"],
            national=deadlines.NationalOrder(options["national_days"], options["national_renewals"]),
            production_confirmed_on=_date(options["production_confirmed"]) if options["production_confirmed"] else None,
        )
        # Without --provider or --basis, exactly the output of before providers were data.
        data = report.as_full_dict() if chosen else report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for key, value in data.items():
            if key != "explanations":
                self.stdout.write("%-18s %s" % (key, "-" if value is None else value))
        for explanation in data["explanations"]:
            self.stdout.write("  - %s" % explanation["text"])
