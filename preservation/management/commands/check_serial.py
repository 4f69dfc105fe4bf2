import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from preservation.rules import serials


class Command(BaseCommand):
    help = "Normalise and validate Blink device serial numbers (DSNs)."

    def add_arguments(self, parser):
        parser.add_argument("serial", nargs="+", help="serials in any form, e.g. g8t1-sj02-3294-01vr")
        parser.add_argument("--json", action="store_true", help="print a JSON list of results")

    def handle(self, *args, **options):
        results = [serials.parse_serial(raw) for raw in options["serial"]]
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
        parts = [
            _("%(input)s: valid %(generation)s serial %(display)s")
            % {"input": result.input, "generation": result.generation, "display": result.display}
        ]
        if result.model_hint:
            parts.append(_("likely %(model)s") % {"model": result.model_hint_label})
        parts.extend(_("warning: %(message)s") % {"message": w.message} for w in result.warnings)
        return "; ".join(str(p) for p in parts)
