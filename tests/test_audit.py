"""The tamper-evident audit log: what is recorded, the hash chain, verify_audit, browsing."""
import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from preservation.core import audit
from preservation.core.audit import audit_record, mask, verify_chain
from preservation.models import AuditRecord, Role
from preservation.models.audit import GENESIS_HASH, AppendOnlyError
from preservation.requests import services
from tests.conftest import utc
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login


def verify():
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("text, expected", [
    ("sent to dana.scully@agency.example", "sent to d***@agency.example"),
    ("serial G8T1-SJ02-3294-01VR added", "serial ****01VR added"),
    ("serial g8t1sj02329401vr", "serial ****01vr"),
    ("legacy 638241420 and 638-241-420", "legacy ****1420 and ****1420"),
    ("PR-000123 sent", "PR-000123 sent"),  # references are not personal data
    ("2026-05-01 12:00", "2026-05-01 12:00"),
])
def test_emails_and_serials_are_masked(text, expected):
    assert mask(text) == expected


def test_each_record_holds_the_hash_of_the_one_before(user):
    first = audit_record(action="login", actor=user, message="a@b.example")
    second = audit_record(action="logout", actor=user)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.message == "a***@b.example"
    assert (first.agency_id, first.actor_label) == (user.agency_id, user.username)
    assert verify_chain().ok and verify_chain().checked == 2


def test_records_cannot_be_changed_or_deleted_through_the_application(user):
    record = audit_record(action="login", actor=user)
    record.message = "edited"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=record.pk).update(message="x")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()


def test_the_database_refuses_update_and_delete_too(user, postgres_only):
    record = audit_record(action="login", actor=user)
    for sql in ["UPDATE preservation_auditrecord SET message = 'x' WHERE id = %s",
                "DELETE FROM preservation_auditrecord WHERE id = %s"]:
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [record.pk])


def _tamper(sql, params):
    """What someone with database superuser rights could do: bypass the trigger and edit."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.parametrize("sql", [
    "UPDATE preservation_auditrecord SET message = 'nothing happened' WHERE id = %s",
    "UPDATE preservation_auditrecord SET at = at - interval '1 day' WHERE id = %s",
    "UPDATE preservation_auditrecord SET outcome = 'success' WHERE id = %s",
    "DELETE FROM preservation_auditrecord WHERE id = %s",
], ids=["message", "time", "outcome", "deleted"])
def test_verify_audit_names_the_first_record_changed_through_raw_sql(user, sql, postgres_only):
    records = [audit_record(action="login_failed", actor=user, outcome="failure") for _n in range(5)]
    assert "5 records" in verify()
    _tamper(sql, [records[2].pk])
    broken = records[3] if sql.startswith("DELETE") else records[2]
    with pytest.raises(CommandError, match="record %d" % broken.pk):
        verify()


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_record(user, postgres_only):
    records = [audit_record(action="view", actor=user) for _n in range(3)]
    forged = AuditRecord.objects.across_agencies().get(pk=records[1].pk)
    forged.message = "forged"
    _tamper("UPDATE preservation_auditrecord SET message = %s, hash = %s WHERE id = %s",
            ["forged", audit.record_hash(forged), forged.pk])
    report = verify_chain()
    # Without the audit key the forger cannot recompute the record's MAC: caught at the forgery.
    assert (report.broken_id, report.checked) == (records[1].pk, 1) and "MAC" in report.reason


def test_every_request_change_is_audited_with_its_agency(user, make_request):
    request = services.request_save_draft(agency=user.agency, actor=user, fields={"case_number": "CR-9"},
                                          now=utc(2026, 5, 1, 12))
    services.request_withdraw(preservation_request=request, actor=user, reason="no longer needed", now=utc(2026, 5, 1, 13))
    rows = AuditRecord.objects.across_agencies().filter(object_type="preservationrequest", object_id=str(request.public_id)).order_by("pk")
    assert [(r.action, r.agency_id, r.actor_id) for r in rows] == [
        ("request_created", user.agency_id, user.pk),
        ("request_state_changed", user.agency_id, user.pk),
    ]
    assert rows[1].message == "draft -> withdrawn"


def test_a_view_of_a_request_page_is_audited_with_the_client_address(client, user, make_request):
    request = make_request()
    login(client, user)
    client.get(reverse("preservation:request_detail", args=[request.public_id]), REMOTE_ADDR="198.51.100.4")
    record = AuditRecord.objects.across_agencies().get(action="view")
    assert (record.object_type, record.object_id, record.ip_address) == (
        "preservation:request_detail", str(request.public_id), "198.51.100.4")


def test_failed_sign_ins_are_audited_for_the_targets_agency(client, user):
    client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    client.post(reverse("login"), {"username": "nobody@example.org", "password": "wrong"})
    known, unknown = AuditRecord.objects.across_agencies().filter(action="login_failed").order_by("pk")
    assert (known.agency_id, known.outcome) == (user.agency_id, "failure")
    assert unknown.agency_id is None and unknown.message == "username n***@example.org"


@pytest.fixture
def admin_client(client, agency):
    admin = UserFactory(agency=agency, role=Role.AGENCY_ADMIN)
    return login(client, admin)


def test_agency_admins_browse_and_filter_only_their_agencys_log(admin_client, user):
    audit_record(action="role_changed", actor=user, message="secret-of-ours")
    outsider = UserFactory(agency=AgencyFactory())
    audit_record(action="role_changed", actor=outsider, message="secret-of-theirs")
    admin_client.post(reverse("accounts:audit_filter"), {"action": "role"})
    page = admin_client.get(reverse("accounts:audit_log")).content.decode()
    assert "secret-of-ours" in page and "secret-of-theirs" not in page
    admin_client.post(reverse("accounts:audit_filter"), {"outcome": "failure"})
    page = admin_client.get(reverse("accounts:audit_log")).content.decode()
    assert "secret-of-ours" not in page


def test_bad_filters_show_a_message_not_an_error(admin_client):
    response = admin_client.post(reverse("accounts:audit_filter"), {"date_from": "2026-02-30", "date_to": "x"})
    assert response.status_code == 400 and "Enter a valid date" in response.content.decode()


def test_the_csv_export_holds_the_filtered_records_and_defuses_formulas(admin_client, user):
    audit_record(action="role_changed", actor=user, message="=HYPERLINK(\"http://evil\")")
    audit_record(action="logout", actor=user)
    admin_client.post(reverse("accounts:audit_filter"), {"action": "role_changed"})
    response = admin_client.get(reverse("accounts:audit_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "at_utc", "actor"]
    assert [row[6] for row in rows[1:]] == ["role_changed"]
    assert rows[1][9].startswith("'=")
    assert AuditRecord.objects.across_agencies().filter(action="audit_exported").exists()


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.PARALEGAL, Role.SUPERVISOR])
def test_only_agency_admins_see_the_audit_log(client, agency, role):
    login(client, UserFactory(agency=agency, role=role))
    assert client.get(reverse("accounts:audit_log")).status_code == 403
    assert client.get(reverse("accounts:audit_export")).status_code == 403
    assert client.post(reverse("accounts:audit_filter"), {"actor": "x"}).status_code == 403
