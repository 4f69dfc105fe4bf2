"""Index a seized Blink USB drive (or a copy of one) into a hashed, time-filtered manifest.

    manage.py index_usb PATH [--start ISO] [--end ISO] [--tz ZONE] [--camera NAME]
        [--format csv|json|pdf] [--output FILE] [--request ID [--user USERNAME]] [--workers N]

Nothing is ever written under PATH. With --request the manifest is attached to that request
(rows, summary, CSV and PDF with their SHA-256). An operator runs this command, but the
request still belongs to its agency: --user names the agency member on whose behalf it is
attached (checked against the request's agency); without it the history says "command line".
"""
import hashlib
import os
import sys
import uuid
import zoneinfo

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from tqdm import tqdm

from preservation.documents import pdf
from preservation.evidence import manifests, usb
from preservation.management.arguments import instant_argument
from preservation.models import PreservationRequest
from preservation.rules import references

FORMATS = ("csv", "json", "pdf")


def _zone(name):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise CommandError(_("Unknown time zone: %(zone)s (use an IANA name such as Europe/Berlin).")
                           % {"zone": name}) from exc


def find_request(identifier):
    """A request by its reference (PR-7KQ4-M2XD, an old PR-000123 or its number) or public id, across agencies: the
    operator is not an agency member; ownership is checked on --user instead."""
    requests = PreservationRequest.objects.across_agencies().select_related("agency")
    reference = references.canonical(identifier)
    try:
        if reference:
            return requests.get(reference=reference)
        return requests.get(public_id=uuid.UUID(identifier.strip()))
    except (ValueError, PreservationRequest.DoesNotExist) as exc:
        raise CommandError(_("No request %(id)s.") % {"id": identifier}) from exc


def find_actor(username, preservation_request):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(_("No active user %(user)s.") % {"user": username})
    if user.agency_id != preservation_request.agency_id:
        raise CommandError(_("%(user)s is not a member of the agency that owns %(reference)s.")
                           % {"user": username, "reference": preservation_request.reference})
    return user


class Progress:
    """A tqdm bar (files, bytes, time left) on a terminal; nothing otherwise."""

    def __init__(self, stream):
        self.enabled = stream.isatty()
        self.stream, self.bar, self.files, self.done = stream, None, 0, 0

    def walked(self, found):
        self.files = len(found)
        total = sum(f.st.st_size for f in found if f.hashable)
        self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                        file=self.stream, disable=not self.enabled, dynamic_ncols=True)

    def hashed(self, nbytes):
        self.done += 1
        self.bar.set_postfix_str(_("%(done)d/%(total)d files") % {"done": self.done, "total": self.files},
                                 refresh=False)
        self.bar.update(nbytes)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class Command(BaseCommand):
    help = "Index a seized Blink USB drive into a hashed, time-filtered manifest (never writes to it)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the mounted drive or a folder copied from one")
        parser.add_argument("--start", help="window start, ISO 8601 (in --tz unless it has an offset)")
        parser.add_argument("--end", help="window end, ISO 8601; both ends are included")
        parser.add_argument("--tz", help="IANA zone for local times and Home Assistant names "
                                         "(default: the request's agency, else UTC)")
        parser.add_argument("--camera", default="", help="only clips of this camera count as in the window")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--output", help="write the manifest here (never inside PATH); default stdout")
        parser.add_argument("--request", help="attach to this request: its reference (PR-7KQ4-M2XD) or public id")
        parser.add_argument("--user", help="with --request: the agency member attaching it "
                                           "(default: recorded as \"command line\")")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                            help="files hashed in parallel (default: one per core)")

    def handle(self, *args, **options):
        root = os.path.abspath(options["path"])
        if not os.path.isdir(root):
            raise CommandError(_("%(path)s is not a folder.") % {"path": options["path"]})
        request = find_request(options["request"]) if options["request"] else None
        if options["user"] and request is None:
            raise CommandError(_("--user only makes sense with --request."))
        actor = find_actor(options["user"], request) if request else None
        zone = _zone(options["tz"] or (request.agency.time_zone if request else "UTC"))
        start, end = self._window(options, zone, request)
        output = self._check_output(options, root)
        manifest = self._index(root, zone, start, end, options)
        stored = self._attach(request, manifest, actor) if request else None
        if output is not None or options["format"] != "pdf":
            language = manifests.manifest_language(request, actor) if request else translation.get_language()
            self._write(self._content(manifest, options["format"], stored, language), output)
        self._say_summary(manifest, zone_given=bool(options["tz"]))

    def _window(self, options, zone, preservation_request):
        start = instant_argument(options["start"], zone) if options["start"] else None
        end = instant_argument(options["end"], zone) if options["end"] else None
        if start is None and end is None and preservation_request is not None:
            start, end = preservation_request.window_start, preservation_request.window_end
        if start and end and start > end:
            raise CommandError(_("The window must not end before it starts."))
        if options["workers"] < 1:
            raise CommandError(_("--workers must be at least 1."))
        return start, end

    def _check_output(self, options, root):
        output = options["output"]
        if output is None:
            if options["format"] == "pdf" and not options["request"]:
                raise CommandError(_("--format pdf needs --output FILE (or --request to store it)."))
            return None
        if usb.is_inside(output, root):
            raise CommandError(_("Refusing to write %(output)s inside the evidence (%(root)s): "
                                 "choose a folder outside it.") % {"output": output, "root": root})
        if os.path.lexists(output):
            raise CommandError(_("%(output)s already exists: choose another name, nothing is "
                                 "overwritten.") % {"output": output})
        if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
            raise CommandError(_("The folder for %(output)s does not exist.") % {"output": output})
        return output

    def _index(self, root, zone, start, end, options):
        progress = Progress(sys.stderr)
        try:
            return usb.index_tree(
                root, zone=zone, now=timezone.now(), start=start, end=end, camera=options["camera"],
                workers=options["workers"], on_walked=progress.walked, on_hashed=progress.hashed,
            )
        finally:
            progress.close()

    def _content(self, manifest, fmt, stored, language):
        """The manifest in ``fmt``; an attached one's stored bytes, so the hashes match."""
        if fmt == "json":
            return usb.to_json(manifest)
        if stored is not None:
            content = stored.csv_content if fmt == "csv" else stored.pdf_content
            if content is None:
                raise CommandError(_("The PDF could not be generated (%(reason)s); the manifest and its "
                                     "CSV are stored.") % {"reason": stored.pdf_error})
            return bytes(content)
        csv_content = manifests.manifest_csv(manifest, language=language)
        if fmt == "csv":
            return csv_content
        try:
            return manifests.manifest_pdf(
                manifest, preservation_request=None, csv_sha256=hashlib.sha256(csv_content).hexdigest(),
                actor_label=manifests.COMMAND_LINE, language=language, now=timezone.now(),
            )
        except pdf.RenderError as exc:
            raise CommandError(_("The PDF could not be generated (%(reason)s): write the CSV instead.")
                               % {"reason": exc.code}) from exc

    def _write(self, content, output):
        if output is None:  # CSV or JSON, both UTF-8 text
            self.stdout.write(content.decode("utf-8"), ending="")
            return
        with open(output, "xb") as out:
            out.write(content)

    def _attach(self, preservation_request, manifest, actor):
        try:
            stored = manifests.manifest_attach(preservation_request=preservation_request, manifest=manifest, actor=actor,
                                               now=timezone.now())
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stderr.write(_("Attached to %(reference)s. CSV SHA-256 %(csv)s, PDF SHA-256 %(pdf)s.") % {
            "reference": preservation_request.reference, "csv": stored.csv_sha256,
            "pdf": stored.pdf_sha256 or _("none: it could not be generated (%(reason)s)") % {"reason": stored.pdf_error},
        })
        return stored

    def _say_summary(self, manifest, zone_given):
        summary = manifest.summary
        if not zone_given and summary["by_kind"].get(usb.HOMEASSISTANT):
            self.stderr.write(_("Home Assistant names carry the downloading computer's local time; they "
                                "were read in %(zone)s. Give --tz if that computer was set to another zone.")
                              % {"zone": manifest.zone})
        self.stderr.write(_("%(files)d files, %(bytes)d bytes, %(hashed)d hashed.") % summary)
        if summary["in_window"] is not None:
            self.stderr.write(_("%(n)d clips inside the window, %(uncertain)d uncertain.")
                              % {"n": summary["in_window"], "uncertain": summary["uncertain"]})
        for code, n in summary["problems"].items():
            self.stderr.write("  %s: %d" % (code, n))
