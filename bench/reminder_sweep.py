"""Reminder sweep cost: does it follow what is due, or the size of the tables?

    .venv/bin/python bench/reminder_sweep.py [--requests 1000000] [--small 10000] [--due 1000]

Builds two PostgreSQL databases of its own (dropped and recreated): ``preserve_bench_h6`` with
``--requests`` requests and ``preserve_bench_h6_small`` with ``--small``. Each request carries
two reminder rows (one already sent, one scheduled in a month) and ``--due`` requests one more,
due now, addressed to four people. One sweep (``reminders_send_due``) is timed on each database
with Django's dummy email backend (every message is built and rendered, none delivered),
alternating small and large three times so a busy machine slows both alike; medians are
reported with the ratio large / small (goal: at most 1.5). Rows are inserted server-side with
INSERT ... SELECT generate_series.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "preserve_bench_h6"
SMALL_DB_NAME = "preserve_bench_h6_small"
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = "%s/%s" % (SERVER, DB_NAME)
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
os.environ.setdefault("LOG_LEVEL", "WARNING")

from _report import add_markdown_argument, append_rows  # noqa: E402


def use_database(name):
    """Point Django's default connection at database ``name``."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def build(name, requests, due):
    import psycopg
    from django.core.management import call_command

    with psycopg.connect("%s/postgres" % SERVER, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s" % name)
        conn.execute("CREATE DATABASE %s" % name)
    use_database(name)
    call_command("migrate", verbosity=0)
    template = template_request()
    copy_requests(template.pk, requests - 1)
    add_history_and_future_reminders()
    add_due(due)
    reset_due()
    return counts()


def template_request():
    """One real request made by the services; the bulk rows are copies of it."""
    from datetime import timedelta

    from django.utils import timezone

    from preservation.models import Agency, PreservationRequest, Role, User

    agency = Agency.objects.create(name="Bench agency", country="US", time_zone="America/New_York")
    officer = User.objects.create(username="officer", email="officer@bench.example", agency=agency)
    for n, role in enumerate([Role.PARALEGAL, Role.PARALEGAL, Role.SUPERVISOR]):
        User.objects.create(username="staff%d" % n, email="staff%d@bench.example" % n, agency=agency, role=role)
    now = timezone.now()
    return PreservationRequest.objects.create(
        agency=agency, created_by=officer, state="preserving", requester_email=officer.email,
        case_number="BENCH", sent_at=now, received_on=now.date(),
        window_start=now - timedelta(days=400), window_end=now - timedelta(days=399),
    )


def copy_requests(template_pk, count):
    """``count`` copies of the template request (new public_id, case number and reference each)."""
    from django.db import connection

    from preservation.models import PreservationRequest

    fresh = ("id", "public_id", "case_number", "reference")
    fields = [f.column for f in PreservationRequest._meta.concrete_fields if f.column not in fresh]
    # Older code has no reference column (docs/security.md "Opaque identifiers").
    has_reference = any(f.column == "reference" for f in PreservationRequest._meta.concrete_fields)
    columns = ", ".join(fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO preservation_preservationrequest (public_id, case_number, %s%s) "
            "SELECT gen_random_uuid(), 'BENCH-' || n, %s%s FROM preservation_preservationrequest t, "
            "generate_series(1, %%s) n WHERE t.id = %%s" % (
                "reference, " if has_reference else "", columns,
                "'PR-BENCH-' || n, " if has_reference else "", ", ".join("t." + c for c in fields)),
            [count, template_pk],
        )


def add_history_and_future_reminders():
    """Two reminder rows per request: one sent, one scheduled in a month."""
    from django.db import connection

    with connection.cursor() as cursor:
        for kind, state, offset in (("extension_due", "sent", "-30 days"), ("escalation", "scheduled", "30 days")):
            cursor.execute(
                "INSERT INTO preservation_reminder (request_id, kind, lead_days, day, due_at, deadline_on, "
                "state, attempts, last_error, created_at) "
                "SELECT id, %s, 7, (now() + %s::interval)::date, now() + %s::interval, NULL, %s, 0, '', now() "
                "FROM preservation_preservationrequest",
                [kind, offset, offset, state],
            )


def add_due(count):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO preservation_reminder (request_id, kind, lead_days, day, due_at, deadline_on, "
            "state, attempts, last_error, created_at) "
            "SELECT id, 'final_expiry', 3, now()::date, now() - interval '1 minute', now()::date + 3, "
            "'scheduled', 0, '', now() FROM preservation_preservationrequest ORDER BY id LIMIT %s",
            [count],
        )


def reset_due():
    """Put the due rows back to "scheduled" and drop what the last sweep wrote."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM preservation_notification")
        cursor.execute(
            "UPDATE preservation_reminder SET state = 'scheduled', sent_at = NULL, claimed_at = NULL, "
            "attempts = 0 WHERE kind = 'final_expiry'"
        )
        cursor.execute("VACUUM ANALYZE")


def time_sweep(name, due):
    from django.utils import timezone

    from preservation.reminders import sweep

    use_database(name)
    reset_due()
    started = time.perf_counter()
    sent = sweep.reminders_send_due(now=timezone.now())
    elapsed = time.perf_counter() - started
    if sent != due:
        raise SystemExit("expected %d reminders sent, got %d" % (due, sent))
    return elapsed


def counts():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM preservation_preservationrequest), "
                       "(SELECT count(*) FROM preservation_reminder)")
        return cursor.fetchone()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1000)
    add_markdown_argument(parser)
    args = parser.parse_args()

    import django

    django.setup()
    started = time.perf_counter()
    small_counts = build(SMALL_DB_NAME, args.small, args.due)
    large_counts = build(DB_NAME, args.requests, args.due)
    print("built %d + %d requests, %d + %d reminder rows in %.0f s" % (
        small_counts[0], large_counts[0], small_counts[1], large_counts[1], time.perf_counter() - started))
    time_sweep(SMALL_DB_NAME, args.due)  # warm-up: imports, URL resolver, template cache
    timings = {SMALL_DB_NAME: [], DB_NAME: []}
    for _ in range(3):
        for name in timings:
            timings[name].append(time_sweep(name, args.due))
    small, large = (statistics.median(timings[name]) for name in (SMALL_DB_NAME, DB_NAME))
    ratio = large / small
    print("sweep of %d due, %d requests: %.3f s (runs %s)" % (
        args.due, small_counts[0], small, ", ".join("%.2f" % t for t in timings[SMALL_DB_NAME])))
    print("sweep of %d due, %d requests: %.3f s (runs %s)" % (
        args.due, large_counts[0], large, ", ".join("%.2f" % t for t in timings[DB_NAME])))
    print("ratio large / small: %.2f (goal <= 1.5)" % ratio)

    notes = "%d due (4 recipients each), dummy email backend, own PostgreSQL databases, median of 3 alternating runs" % args.due
    append_rows(args.markdown, "reminder_sweep", [
        ("sweep time, %d requests (%d reminder rows)" % small_counts, round(small, 3), "s", notes),
        ("sweep time, %d requests (%d reminder rows)" % large_counts, round(large, 3), "s", notes),
        ("ratio large / small (goal <= 1.5)", round(ratio, 2), "x", notes),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
