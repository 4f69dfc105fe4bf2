"""The claim on PostgreSQL: SKIP LOCKED lets concurrent sweeps share the work without waiting
or overlapping, and the claim query reads the (state, due_at) index."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from preservation.core import scoping
from preservation.models import DeliveryState as D
from preservation.models import PreservationRequest, Reminder
from preservation.models import ReminderKind as K
from preservation.reminders import sweep
from tests.factories import AgencyFactory, UserFactory

pytestmark = pytest.mark.postgres


def due_reminders(count):
    agency = AgencyFactory()
    user = UserFactory(agency=agency)
    requests = PreservationRequest.objects.bulk_create(
        [PreservationRequest(agency=agency, created_by=user, state="submitted") for _ in range(count)]
    )
    due = timezone.now() - timedelta(minutes=1)
    return Reminder.objects.bulk_create(
        [Reminder(request=r, kind=K.ACK_MISSING, lead_days=3, day=due.date(), due_at=due) for r in requests]
    )


def claim_in_thread(limit):
    result = {}

    def run():
        try:
            with scoping.all_agencies():
                result["ids"], _lease = sweep._claim(Reminder, {"due_at__lte": timezone.now()}, limit)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return set(result["ids"])


def test_a_sweep_skips_rows_another_sweep_holds_instead_of_waiting_or_taking_them(transactional_db, postgres_only):
    rows = due_reminders(6)
    with transaction.atomic(), scoping.all_agencies():
        held = set(Reminder.objects.select_for_update().filter(pk__in=[r.pk for r in rows[:3]])
                   .values_list("pk", flat=True))
        other = claim_in_thread(10)
    assert other == {r.pk for r in rows[3:]}
    assert held.isdisjoint(other)
    with scoping.all_agencies():
        assert set(Reminder.objects.filter(state=D.SENDING).values_list("pk", flat=True)) == other


def test_the_claim_query_reads_the_state_and_due_index(db, postgres_only):
    due_reminders(3)
    with connection.cursor() as cursor, scoping.all_agencies():
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = [query.values_list("pk", flat=True)[:50].explain()
                 for query in sweep._claimable(Reminder, {"due_at__lte": timezone.now()})]
    assert all("reminder_state_due" in plan for plan in plans)
