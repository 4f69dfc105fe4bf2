"""An attached USB evidence manifest and its file rows cannot be changed or deleted at the
database either (migration 0004_manifest_immutable, PostgreSQL), while attaching and downloading work as before."""
import hashlib

import pytest
from django.db import connection, transaction
from django.urls import reverse

from preservation.evidence import manifests, usb
from preservation.models import EvidenceFile, EvidenceManifest, ImmutableManifestError, RequestEvent
from tests.conftest import utc
from tests.helpers import login
from tests.test_usb_tree import mp4, put

REFUSED = "stored and cannot be changed or deleted"


@pytest.fixture
def drive(tmp_path):
    root = tmp_path / "drive"
    put(root, "blink/24-05/24-05-01/12-00-00_Front_Door_001.mp4", mp4("a"))
    put(root, "blink/24-05/24-05-01/12-05-00_Front_Door_002.mp4", mp4("b"))
    return root


@pytest.fixture
def case(make_request):
    return make_request(window_start=utc(2024, 5, 1, 12), window_end=utc(2024, 5, 1, 12, 5))


@pytest.fixture(autouse=True)
def quick_pdf(monkeypatch):
    """The PDF's rendering is not what this is about (a child process, seconds each)."""
    monkeypatch.setattr(manifests, "manifest_pdf", lambda manifest, **kwargs: b"%PDF-1.7 test")


def attach(drive, case, user, now=utc(2026, 1, 1, 9)):
    indexed = usb.index_tree(drive, zone="America/New_York", now=now,
                             start=case.window_start, end=case.window_end)
    return manifests.manifest_attach(preservation_request=case, manifest=indexed, actor=user, now=now)


@pytest.fixture
def stored(drive, case, user):
    return attach(drive, case, user)


def snapshot(manifest):
    """Everything stored about the manifest, as the database has it now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT csv_sha256, pdf_sha256, source_path, created_at, indexed_at, csv_content "
                       "FROM preservation_evidencemanifest WHERE id = %s", [manifest.pk])
        row = cursor.fetchone()
        cursor.execute("SELECT path, sha256, size, recorded_at, kind FROM preservation_evidencefile "
                       "WHERE manifest_id = %s ORDER BY position", [manifest.pk])
        return row[:5] + (bytes(row[5]),), cursor.fetchall()


MANIFEST = "preservation_evidencemanifest"
FILE = "preservation_evidencefile"
RAW_CHANGES = [
    "UPDATE %s SET csv_sha256 = repeat('0', 64) WHERE id = %%s" % MANIFEST,
    "UPDATE %s SET pdf_sha256 = '' WHERE id = %%s" % MANIFEST,
    "UPDATE %s SET csv_content = 'forged' WHERE id = %%s" % MANIFEST,
    "UPDATE %s SET source_path = '/elsewhere', indexed_at = now() WHERE id = %%s" % MANIFEST,
    "UPDATE %s SET summary = '{}' WHERE id = %%s" % MANIFEST,
    "DELETE FROM %s WHERE id = %%s" % MANIFEST,
    "UPDATE %s SET sha256 = repeat('0', 64) WHERE manifest_id = %%s" % FILE,
    "UPDATE %s SET size = size + 1 WHERE manifest_id = %%s" % FILE,
    "UPDATE %s SET path = 'blink/other.mp4' WHERE manifest_id = %%s" % FILE,
    "UPDATE %s SET recorded_at = recorded_at + interval '1 hour' WHERE manifest_id = %%s" % FILE,
    "DELETE FROM %s WHERE manifest_id = %%s" % FILE,
]


@pytest.mark.parametrize("sql", RAW_CHANGES, ids=[sql.split(" WHERE")[0] for sql in RAW_CHANGES])
def test_the_database_refuses_any_raw_change_or_deletion(stored, postgres_only, sql):
    before = snapshot(stored)
    with pytest.raises(Exception, match=REFUSED), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [stored.pk])
    assert snapshot(stored) == before


@pytest.mark.parametrize("change", [
    lambda m: EvidenceFile.objects.filter(manifest=m).update(sha256="0" * 64),
    lambda m: EvidenceManifest.objects.for_agency(m.request.agency).filter(pk=m.pk).update(csv_sha256="0" * 64),
    lambda m: EvidenceManifest.objects.for_agency(m.request.agency).filter(pk=m.pk).delete(),
    lambda m: m.files.first().delete(),
    lambda m: m.delete(),
    lambda m: setattr(m, "source_path", "/elsewhere") or m.save(),
    lambda m: EvidenceFile.objects.filter(manifest=m).first().save(),
], ids=["file rows through a queryset", "manifest through a queryset", "manifest with its rows",
        "one file row", "the manifest", "an edited manifest", "a file row saved again"])
def test_orm_paths_are_refused_on_every_database(stored, change):
    # The ORM guard (models/evidence.py) says it first; on PostgreSQL the trigger would too.
    before = snapshot(stored)
    with pytest.raises(ImmutableManifestError, match=REFUSED), transaction.atomic():
        change(stored)
    assert snapshot(stored) == before


def test_attaching_and_downloading_still_work(client, stored, drive, case, user):
    second = attach(drive, case, user, now=utc(2026, 1, 2, 9))
    assert EvidenceFile.objects.filter(manifest=second).count() == 2
    assert second.csv_sha256 == hashlib.sha256(bytes(second.csv_content)).hexdigest()
    login(client, user)
    for fmt in ("csv", "pdf"):
        response = client.get(reverse("preservation:manifest_%s" % fmt, args=[stored.public_id]))
        assert b"".join(response.streaming_content) == bytes(getattr(stored, "%s_content" % fmt))
    assert case.events.filter(action=RequestEvent.Action.DOCUMENT_DOWNLOADED).count() == 2
    page = client.get(reverse("preservation:request_detail", args=[case.public_id])).content.decode()
    assert stored.csv_sha256 in page and second.csv_sha256 in page
