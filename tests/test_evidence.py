"""`manage.py index_usb` with a request: the stored manifest, its CSV and PDF, the request page
and the downloads (agency-scoped)."""
import base64
import csv
import hashlib
import io
import json
import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template.loader import render_to_string
from django.urls import reverse

from preservation.documents import pdf
from preservation.evidence import manifests, usb
from preservation.models import (
    AuditRecord,
    EvidenceFile,
    EvidenceManifest,
    ImmutableManifestError,
    RequestEvent,
)
from tests.conftest import utc
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login
from tests.pdf_support import pdf_text, squash
from tests.test_usb_tree import mp4, put


@pytest.fixture
def drive(tmp_path):
    root = tmp_path / "drive"
    put(root, "blink/24-05/24-05-01/12-00-00_Front_Door_001.mp4", mp4("a"))
    put(root, "blink/24-05/24-05-01/12-05-00_Front_Door_002.mp4", mp4("b"))
    put(root, "blink_backup/24-05/01-12-00-00_Front_Door_1234567.mp4", mp4("a"))
    put(root, "blink/24-05/24-05-03/09-00-00_Garage_003.mp4", b"")
    return root


@pytest.fixture
def case(make_request):
    return make_request(window_start=utc(2024, 5, 1, 12), window_end=utc(2024, 5, 1, 12, 5))


@pytest.fixture
def quick_pdf(monkeypatch):
    """Tests about something else skip the real rendering (a child process, seconds each)."""
    monkeypatch.setattr(manifests, "manifest_pdf", lambda manifest, **kwargs: b"%PDF-1.7 test")


def index_usb(*args):
    out, err = StringIO(), StringIO()
    call_command("index_usb", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_attaching_stores_rows_summary_and_hashed_csv_and_pdf(drive, case, user):
    out, err = index_usb(drive, "--request", case.reference, "--user", user.username)
    manifest = EvidenceManifest.objects.for_agency(case.agency).get()
    assert manifest.request == case and manifest.created_by == user and manifest.actor_label == user.username
    assert manifest.zone == "America/New_York"  # the agency's zone when --tz is not given
    assert (manifest.window_start, manifest.window_end) == (case.window_start, case.window_end)
    assert manifest.summary["files"] == 4 and manifest.summary["in_window"] == 3
    assert manifest.summary["problems"] == {"duplicate": 2, "empty": 1}

    csv_content, pdf_content = bytes(manifest.csv_content), bytes(manifest.pdf_content)
    assert manifest.csv_sha256 == hashlib.sha256(csv_content).hexdigest()
    assert manifest.pdf_sha256 == hashlib.sha256(pdf_content).hexdigest()
    assert out.encode() == csv_content  # what was printed is what was stored
    assert manifest.csv_sha256 in err and manifest.pdf_sha256 in err
    text = squash(pdf_text(pdf_content))
    assert pdf_content.startswith(b"%PDF")
    for expected in (manifest.csv_sha256, case.reference, "12-05-00_Front_Door_002.mp4",
                     hashlib.sha256(mp4("b")).hexdigest()):
        assert squash(expected) in text

    files = list(manifest.files.all())
    assert [f.path for f in files] == sorted(f.path for f in files)
    first = files[0]
    assert (first.kind, first.camera, first.clip_number, first.recorded_at, first.in_window) == (
        "local", "Front_Door", "001", utc(2024, 5, 1, 12), True)
    rows = list(csv.DictReader(io.StringIO(csv_content.decode())))
    assert [r["sha256"] for r in rows] == [f.sha256 for f in files]

    event = case.events.get(action=RequestEvent.Action.DOCUMENT_GENERATED)
    assert event.actor == user and event.data["pdf_sha256"] == manifest.pdf_sha256
    assert AuditRecord.objects.across_agencies().filter(action="manifest_attached", object_id=str(manifest.public_id)).exists()


def test_without_user_the_operator_is_recorded_as_the_command_line(drive, case, quick_pdf):
    index_usb(drive, "--request", str(case.public_id))
    manifest = EvidenceManifest.objects.for_agency(case.agency).get()
    assert manifest.created_by is None and manifest.actor_label == "command line"
    event = case.events.get(action=RequestEvent.Action.DOCUMENT_GENERATED)
    assert event.actor is None and "attached at the command line" in event.reason


def test_the_request_can_be_named_by_public_id(drive, case, quick_pdf):
    index_usb(drive, "--request", case.public_id, "--format", "json")
    assert EvidenceManifest.objects.for_agency(case.agency).count() == 1


def test_a_user_of_another_agency_cannot_attach_and_nothing_is_stored(drive, case):
    stranger = UserFactory(agency=AgencyFactory())
    with pytest.raises(CommandError, match="not a member of the agency"):
        index_usb(drive, "--request", case.reference, "--user", stranger.username)
    assert not EvidenceManifest.objects.for_agency(case.agency).exists()


def test_the_attach_service_refuses_an_actor_of_another_agency(drive, case):
    stranger = UserFactory(agency=AgencyFactory())
    manifest = usb.index_tree(drive, zone="UTC", now=utc(2026, 1, 1))
    with pytest.raises(ValidationError, match="only active members of its agency"):
        manifests.manifest_attach(preservation_request=case, manifest=manifest, actor=stranger, now=utc(2026, 1, 1))
    assert not EvidenceManifest.objects.for_agency(case.agency).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--request", "PR-999999"], "No request PR-999999"),
        (["--request", "not-a-number"], "No request"),
        (["--user", "someone"], "--user only makes sense with --request"),
        (["--tz", "Mars/Olympus"], "Unknown time zone"),
        (["--start", "yesterday"], "Not an ISO 8601 date-time"),
        (["--start", "2024-05-02", "--end", "2024-05-01"], "must not end before it starts"),
        (["--workers", "0"], "at least 1"),
        (["--format", "pdf"], "needs --output"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(drive, db, args, message):
    with pytest.raises(CommandError, match=message):
        index_usb(drive, *args)


def test_a_path_that_is_not_a_folder_is_refused(tmp_path, db):
    with pytest.raises(CommandError, match="is not a folder"):
        index_usb(tmp_path / "missing")


def test_output_inside_the_evidence_is_refused_before_anything_is_written(drive, db):
    before = sorted(p for p in drive.rglob("*"))
    with pytest.raises(CommandError, match="inside the evidence"):
        index_usb(drive, "--output", drive / "blink" / "manifest.csv")
    assert sorted(p for p in drive.rglob("*")) == before


def test_an_existing_output_file_is_never_overwritten(drive, tmp_path, db):
    existing = tmp_path / "manifest.csv"
    existing.write_text("earlier manifest")
    with pytest.raises(CommandError, match="already exists"):
        index_usb(drive, "--output", existing)
    assert existing.read_text() == "earlier manifest"


def test_json_output_with_a_window_in_the_given_zone(drive, tmp_path, db):
    output = tmp_path / "manifest.json"
    # 08:00 to 08:05 in New York (EDT) is 12:00 to 12:05 UTC: both edges are clips' seconds.
    out, err = index_usb(drive, "--tz", "America/New_York", "--start", "2024-05-01T08:00:00",
                         "--end", "2024-05-01T08:05:00", "--format", "json", "--output", output)
    data = json.loads(output.read_text(encoding="utf-8"))
    assert out == "" and "3 clips inside the window" in err
    assert data["window_start"] == "2024-05-01T12:00:00Z" and data["summary"]["in_window"] == 3
    assert data["files"][0]["time_local"] == "2024-05-01T08:00:00-04:00"


def test_camera_filter_counts_only_that_camera(drive, db):
    out, err = index_usb(drive, "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-04T00:00:00Z",
                         "--camera", "garage")
    assert "1 clips inside the window" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["camera_match"] for r in rows if "Garage" in r["path"]] == ["yes"]
    assert {r["camera_match"] for r in rows if "Front_Door" in r["path"]} == {"no"}


def test_a_pdf_manifest_without_a_request_is_written_to_the_output(drive, tmp_path, db):
    output = tmp_path / "manifest.pdf"
    index_usb(drive, "--format", "pdf", "--output", output)
    text = squash(pdf_text(output.read_bytes()))
    assert "Notattachedtoarequest" in text and "09-00-00_Garage_003.mp4" in text


# --- The request page and the downloads ------------------------------------------------------------


@pytest.fixture
def stored(drive, case, user, quick_pdf):
    manifest = usb.index_tree(drive, zone="America/New_York", now=utc(2026, 1, 1),
                              start=case.window_start, end=case.window_end)
    return manifests.manifest_attach(preservation_request=case, manifest=manifest, actor=user, now=utc(2026, 1, 1, 9))


def test_the_request_page_shows_the_summary_and_both_downloads_with_their_hashes(client, stored, case, user):
    page = login(client, user).get(reverse("preservation:request_detail", args=[case.public_id])).content.decode()
    assert "Seized USB drives" in page
    assert stored.csv_sha256 in page and stored.pdf_sha256 in page
    assert reverse("preservation:manifest_csv", args=[stored.public_id]) in page
    assert reverse("preservation:manifest_pdf", args=[stored.public_id]) in page
    assert "duplicate content: 2" in page and "Front_Door: 3" in page
    assert page.index("Front_Door: 3") < page.index("Garage: 1")  # sorted, whatever jsonb's key order


def test_the_manifests_panel_says_how_to_attach_a_drive_when_there_is_none(case):
    panel = render_to_string("preservation/partials/manifests.html", {"preservation_request": case})
    assert "No USB drive has been indexed for this request" in panel
    assert "--request %s" % case.reference in panel


def test_the_manifests_panel_lists_the_newest_first_with_window_and_uncertain_clips(case, stored, drive, user):
    put(drive, "ha/20241103_013000_Porch.mp4", mp4("p"))
    manifest = usb.index_tree(drive, zone="America/New_York", now=utc(2026, 1, 2),
                              start=utc(2024, 11, 3, 6), end=utc(2024, 11, 4))
    newer = manifests.manifest_attach(preservation_request=case, manifest=manifest, actor=user, now=utc(2026, 1, 2, 9))
    panel = render_to_string("preservation/partials/manifests.html", {"preservation_request": case})
    assert panel.index(newer.csv_sha256) < panel.index(stored.csv_sha256)
    assert "1 uncertain (local time on a clock-change night)" in panel
    assert "2024-11-03 06:00:00 – 2024-11-04 00:00:00 UTC" in panel


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_downloads_serve_the_stored_bytes_and_are_recorded(client, stored, user, fmt):
    response = login(client, user).get(reverse("preservation:manifest_%s" % fmt, args=[stored.public_id]))
    body = b"".join(response.streaming_content)
    assert body == bytes(getattr(stored, "%s_content" % fmt))
    digest = bytes.fromhex(getattr(stored, "%s_sha256" % fmt))
    assert response["Repr-Digest"] == "sha-256=:%s:" % base64.b64encode(digest).decode()
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    event = stored.request.events.get(action=RequestEvent.Action.DOCUMENT_DOWNLOADED)
    assert event.actor == user and event.data["format"] == fmt
    assert AuditRecord.objects.across_agencies().filter(action="manifest_downloaded", object_id=str(stored.public_id)).exists()


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_another_agency_gets_404_for_the_downloads(client, stored, fmt):
    stranger = UserFactory(agency=AgencyFactory())
    response = login(client, stranger).get(reverse("preservation:manifest_%s" % fmt, args=[stored.public_id]))
    assert response.status_code == 404
    assert not stored.request.events.filter(action=RequestEvent.Action.DOCUMENT_DOWNLOADED).exists()


def test_signed_out_visitors_are_sent_to_sign_in(client, stored):
    response = client.get(reverse("preservation:manifest_csv", args=[stored.public_id]))
    assert response.status_code == 302


def test_a_stored_manifest_cannot_be_changed_or_deleted(stored):
    with pytest.raises(ImmutableManifestError):
        stored.save()
    with pytest.raises(ImmutableManifestError):
        stored.delete()
    assert EvidenceFile.objects.filter(manifest=stored).count() == 4


def test_home_assistant_names_read_without_a_zone_come_with_a_warning(tmp_path, db):
    put(tmp_path, "ha/20240704_123000_Porch.mp4", mp4("p"))
    out, err = index_usb(tmp_path)
    assert "were read in UTC. Give --tz" in err
    out, err = index_usb(tmp_path, "--tz", "Europe/Berlin")
    assert "Give --tz" not in err and "2024-07-04T10:30:00Z" in out


def test_a_pdf_that_cannot_be_rendered_never_costs_the_manifest(drive, case, user, client, monkeypatch):
    def too_big(manifest, **kwargs):
        raise pdf.RenderError("memory")

    monkeypatch.setattr(manifests, "manifest_pdf", too_big)
    out, err = index_usb(drive, "--request", case.reference, "--user", user.username)
    stored = EvidenceManifest.objects.for_agency(case.agency).get()
    assert stored.files.count() == 4 and stored.csv_sha256 and out.encode() == bytes(stored.csv_content)
    assert (stored.pdf_content, stored.pdf_sha256, stored.pdf_error) == (None, "", "memory")
    assert "could not be generated (memory)" in err
    panel = render_to_string("preservation/partials/manifests.html", {"preservation_request": case})
    assert "The PDF could not be generated (memory" in panel
    assert reverse("preservation:manifest_pdf", args=[stored.public_id]) not in panel
    response = login(client, user).get(reverse("preservation:manifest_pdf", args=[stored.public_id]))
    assert response.status_code == 404


def test_pdf_limits_grow_with_the_number_of_files_up_to_a_ceiling(settings):
    small, large, huge = (manifests.pdf_limits(n) for n in (10, 2000, 10**6))
    assert small["CPU_SECONDS"] == settings.PRESERVE_PDF["CPU_SECONDS"]
    assert large["CPU_SECONDS"] > small["CPU_SECONDS"] and large["MEMORY_MB"] > small["MEMORY_MB"]
    assert huge["MEMORY_MB"] == manifests.PDF_MAX_MEMORY_MB


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_files_bytes_and_time_left_on_a_terminal(drive):
    from preservation.management.commands.index_usb import Progress

    screen = Terminal()
    progress = Progress(screen)
    usb.index_tree(drive, zone="UTC", now=utc(2026, 1, 1), on_walked=progress.walked, on_hashed=progress.hashed)
    progress.close()
    shown = screen.getvalue()
    assert "4/4 files" in shown and "12.0k/12.0k" in shown
    # The time-left field: "<00:00" once a rate is known, "<?" if the run was too quick to measure.
    assert re.search(r"<(\d\d:\d\d|\?)", shown)


def test_progress_is_quiet_when_not_on_a_terminal(drive, db, capsys):
    index_usb(drive, "--output", drive.parent / "quiet.csv")
    assert "files" not in capsys.readouterr().err
