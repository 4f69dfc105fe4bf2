import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from preservation.rules import catalogue, identifiers


class Command(BaseCommand):
    help = "Normalise and check account and device identifiers of one type (docs/providers.md)."

    def add_arguments(self, parser):
        parser.add_argument("--type", required=True, dest="kind",
                            choices=[code for code, _label in catalogue.IDENTIFIER_TYPES])
        parser.add_argument("value", nargs="+", help="identifiers as typed, e.g. 00-1a-2b-3c-4d-5e")
        parser.add_argument("--json", action="store_true", help="print a JSON list of results")

    def handle(self, *args, **options):
        results = [identifiers.check_identifier(options["kind"], raw) for raw in options["value"]]
        if options["json"]:
            self.stdout.write(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
        else:
            for result in results:
                self.stdout.write(self._line(result))
        if not all(r.valid for r in results):
            raise SystemExit(1)

    def _line(self, result):
        if not result.valid:
            return _("%(input)s: invalid: %(error)s") % {"input": result.input, "error": result.error}
        line = _("%(input)s: valid %(kind)s %(display)s") % {
            "input": result.input, "kind": catalogue.IDENTIFIER_LABELS[result.kind], "display": result.display}
        warnings = [_("warning: %(message)s") % {"message": w["message"]} for w in result.warnings]
        return "; ".join([line, *warnings])
