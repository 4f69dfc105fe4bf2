"""Dashboard first page vs a bare login-required view.

    .venv/bin/python bench/dashboard.py [--repeat 40] [--markdown FILE]

Data: 100,000 requests over 50 agencies, one of them holding 10,000, made with bulk_create in
a PostgreSQL database of its own (DATABASE_URL, default ``preserve_bench_h3`` on
127.0.0.1:5432, created and migrated when missing, filled once and reused). States, urgencies
and deadlines are spread over every value the dashboard sorts and groups on.

Measures, in one process with Django's test Client signed in as a user of the 10,000-request
agency: the median server time of the dashboard's first page and of a bare login-required view
that returns "ok" (same middleware, session and authentication), their ratio (goal: at most
3x), and the number of SQL queries of the dashboard page (goal: at most 12).

The groups' counts are cached per block of request ids until a request of the block changes
(selectors.bucket_counts), so the page is measured both ways, interleaved with the bare view:
"dashboard" when nothing changed since the previous view (the usual case), and "dashboard after
a change" with the versions moved on just before each view (outside the timing) as a save of the
agency's newest request moves them (its block: the one new requests land in), which makes the
page count that block again.
"""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/preserve_bench_h3")

from _report import add_markdown_argument, append_rows  # noqa: E402

TOTAL, AGENCIES, BIG_AGENCY = 100_000, 50, 10_000
BENCH = "dashboard"


def ensure_database():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("bench/dashboard.py needs PostgreSQL (DATABASE_URL)")
    params = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "dbname": "postgres"}
    with psycopg.connect(**params, password=db["PASSWORD"] or None, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute('CREATE DATABASE "%s"' % db["NAME"].replace('"', ""))


def fill():
    """Make the 100,000 requests unless a previous run left them."""
    from django.utils import timezone

    from preservation.core.scoping import all_agencies
    from preservation.models import Agency, DeviceSerial, PreservationRequest, RequestState, User

    with all_agencies():
        if PreservationRequest.objects.count() == TOTAL:
            return Agency.objects.get(name="Bench agency 00")
        PreservationRequest.objects.all().delete()
    rng, now = random.Random(3), timezone.now()
    sizes = [BIG_AGENCY] + _spread(TOTAL - BIG_AGENCY, AGENCIES - 1)
    big = None
    for index, size in enumerate(sizes):
        agency = Agency.objects.create(name="Bench agency %02d" % index, country="US", time_zone="America/New_York")
        users = [User.objects.create(username="bench-%02d-%d" % (index, n), agency=agency,
                                     first_name="Officer", last_name=str(n)) for n in range(5)]
        rows = [_request(PreservationRequest, agency, rng.choice(users), rng, now, RequestState)
                for _ in range(size)]
        PreservationRequest.objects.bulk_create(rows, batch_size=2000)
        DeviceSerial.objects.bulk_create(
            [DeviceSerial(request=r, raw="G8T1SJ02%08d" % r.pk, normalized="G8T1SJ02%08d" % r.pk,
                          generation="amazon", model="doorbell") for r in rows[::3]], batch_size=2000)
        big = big or agency
    return big


def vacuum():
    """What autovacuum gives a live system: planner statistics and a visibility map (so the
    group counts can be answered from the index alone), for every table, not only the requests'.
    Without statistics for the serials (autovacuum may be off, as on the 2-core machines),
    PostgreSQL scanned all 33,000 of them for the page's legacy flags: 3 ms of the page."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the whole database, as bench/loadtest.py does


def _spread(total, parts):
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _request(model, agency, user, rng, now, states):
    from preservation.rules.deadlines import URGENCY_RANK, Urgency

    state = rng.choice(list(states))
    urgency = rng.choice(list(Urgency)) if state not in ("closed", "withdrawn", "lapsed") else None
    start = now - timedelta(days=rng.randint(1, 80), hours=rng.randint(0, 23))
    return model(
        agency=agency, created_by=user, state=state, case_number="CR-%06d" % rng.randint(0, 999_999),
        requester_name="Officer", data_types=["video_clips"], window_start=start,
        window_end=start + timedelta(hours=6), account_email="owner%d@example.com" % rng.randint(0, 99_999),
        account_country="US", urgency=urgency.value if urgency else "",
        urgency_rank=URGENCY_RANK[urgency] if urgency else 99,
        next_deadline_on=(now + timedelta(days=rng.randint(-5, 120))).date() if urgency else None,
        next_deadline_kind="expires" if urgency else "",
    )


def measure(user, repeat):
    from django.contrib.auth.decorators import login_required
    from django.db import connection
    from django.http import HttpResponse
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import include, path

    from preservation.models import PreservationRequest, bump_requests_version, count_block
    from tests.helpers import login

    bare = login_required(lambda request: HttpResponse("ok"))
    urlconf = type(sys)("bench_urls")
    urlconf.urlpatterns = [path("bench/bare/", bare), path("", include("config.urls"))]
    sys.modules["bench_urls"] = urlconf
    with override_settings(ROOT_URLCONF="bench_urls", ALLOWED_HOSTS=["testserver"], DEBUG=False):
        client = login(Client(), user)
        newest = PreservationRequest.objects.for_agency(user.agency_id).order_by("-pk").values_list("pk", flat=True)[0]
        changed_blocks = [count_block(newest)]
        urls = {"bare": "/bench/bare/", "dashboard": "/", "changed": "/"}
        for url in urls.values():
            for _ in range(3):  # warm caches, connections and templates
                assert client.get(url).status_code == 200
        # Interleaved, so all three see the same machine load at the same moments.
        runs = {name: [] for name in urls}
        for _ in range(repeat):
            for name, url in urls.items():
                if name == "changed":
                    bump_requests_version(user.agency_id, changed_blocks)
                runs[name].append(_timed(client, url))
        timings = {name: statistics.median(values) for name, values in runs.items()}
        timings.update({name + "_min": min(values) for name, values in runs.items()})
        queries = {}
        for name in ("dashboard", "changed"):
            if name == "changed":
                bump_requests_version(user.agency_id, changed_blocks)
            with CaptureQueriesContext(connection) as captured:
                client.get("/")
            queries[name] = len(captured.captured_queries)
    return timings, queries


def _timed(client, url):
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    add_markdown_argument(parser)
    args = parser.parse_args()

    import django
    from django.conf import settings

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    agency = fill()
    vacuum()
    print("data ready in %.1f s (%s)" % (time.perf_counter() - started, settings.DATABASES["default"]["NAME"]))
    user = agency.users.order_by("pk").first()
    timings, queries = measure(user, args.repeat)
    bare_ms, dashboard_ms, changed_ms = (timings[name] * 1000 for name in ("bare", "dashboard", "changed"))
    ratio, changed_ratio = dashboard_ms / bare_ms, changed_ms / bare_ms
    min_ratio = timings["dashboard_min"] / timings["bare_min"]
    load = os.getloadavg()[0]
    notes = "median of %d, Django test Client, %s requests over %s agencies, page of the %s-request agency" % (
        args.repeat, f"{TOTAL:,}", AGENCIES, f"{BIG_AGENCY:,}")
    print("bare login-required view:  %.2f ms" % bare_ms)
    print("dashboard first page:      %.2f ms  (%d SQL queries)" % (dashboard_ms, queries["dashboard"]))
    print("  just after a change:     %.2f ms  (%d SQL queries: the changed block counted again)" % (
        changed_ms, queries["changed"]))
    print("ratio: %.2fx (goal <= 3x); just after a change %.2fx; queries goal <= 12" % (ratio, changed_ratio))
    print("fastest runs: dashboard %.2f ms, bare %.2f ms, ratio %.2fx; load average %.1f" % (
        timings["dashboard_min"] * 1000, timings["bare_min"] * 1000, min_ratio, load))
    print("| dashboard | %.2f ms | bare %.2f ms | %.2fx | %d queries |" % (dashboard_ms, bare_ms, ratio, queries["dashboard"]))
    append_rows(args.markdown, BENCH, [
        ("dashboard first page, median", "%.2f" % dashboard_ms, "ms", notes),
        ("bare login-required view, median", "%.2f" % bare_ms, "ms", notes),
        ("dashboard / bare ratio", "%.2f" % ratio, "x", "goal <= 3; load average %.1f" % load),
        ("dashboard / bare ratio, fastest runs", "%.2f" % min_ratio, "x", "min of each, less sensitive to load"),
        ("dashboard just after a change, median", "%.2f" % changed_ms, "ms",
         "the newest block's version moved on before each view, as a save there moves it: that block counted again"),
        ("dashboard just after a change / bare ratio", "%.2f" % changed_ratio, "x", "same run"),
        ("dashboard SQL queries", queries["dashboard"], "queries", "goal <= 12"),
        ("dashboard SQL queries just after a change", queries["changed"], "queries", "goal <= 12"),
    ])
    return 0 if max(queries.values()) <= 12 else 1


if __name__ == "__main__":
    sys.exit(main())
