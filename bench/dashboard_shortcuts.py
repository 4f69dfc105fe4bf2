"""What each of the dashboard's speed shortcuts gains, at 100,000 requests.

    .venv/bin/python bench/dashboard_shortcuts.py [--repeat 30] [--rounds 3] [--markdown FILE]

Same data and database as bench/dashboard.py (100,000 requests over 50 agencies; the page of
the 10,000-request agency). The dashboard's first page is timed with every shortcut on, and
with one shortcut switched off at a time, in rounds (A B C A B C ...) so every variant sees
the same machine load; each figure is the median server time, and each gain the difference
from "all on" in the same run. A shortcut stays only where its gain is at least 1 ms a view.

- light_widget: the filter form's inputs rendered by Django's own widget templates instead;
- count cache: the groups' counts (selectors.bucket_counts) counted afresh at every view, as
  they are just after one of the agency's requests changed.

The rows built in Python (requests/dashboard_rows.py) have no template twin left to compare
with, so their cost is shown instead: the time rows() takes for one page.
"""
import argparse
import statistics
import sys
import time
from contextlib import contextmanager

import dashboard as base  # bench/dashboard.py: the data set and the signed-in client
from _report import add_markdown_argument, append_rows

BENCH = "dashboard shortcuts"
GOAL_MS = 1.0


def _reset_templates():
    from django.template import engines

    for loader in engines["django"].engine.template_loaders:
        if hasattr(loader, "reset"):
            loader.reset()


@contextmanager
def all_on():
    yield


@contextmanager
def no_light_widget():
    from preservation.templatetags import preserve_ui

    original = preserve_ui.register.filters["light_widget"]
    preserve_ui.register.filters["light_widget"] = lambda bound_field: bound_field.as_widget()
    _reset_templates()
    try:
        yield
    finally:
        preserve_ui.register.filters["light_widget"] = original
        _reset_templates()


@contextmanager
def no_count_cache(user):
    from preservation.requests import selectors

    original = selectors.bucket_counts

    def counted(user_, today):
        from django.core.cache import cache

        cache.clear()  # as just after a change: nothing cached for this version
        return original(user_, today)

    selectors.bucket_counts = counted
    try:
        yield
    finally:
        selectors.bucket_counts = original


def measure(user, repeat, rounds):
    from django.test import Client
    from django.test.utils import override_settings

    from tests.helpers import login

    variants = {"all on": all_on, "no light_widget": no_light_widget, "no count cache": lambda: no_count_cache(user)}
    runs = {name: [] for name in variants}
    with override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False):
        client = login(Client(), user)
        for _round in range(rounds):
            for name, variant in variants.items():
                with variant():
                    for _ in range(3):  # warm templates and caches for this variant
                        assert client.get("/").status_code == 200
                    runs[name] += [base._timed(client, "/") for _ in range(repeat)]
    return {name: statistics.median(values) * 1000 for name, values in runs.items()}


def rows_cost(user, repeat):
    """Milliseconds rows() takes to build one page of rows, median."""
    from django.utils import timezone

    from preservation.requests import dashboard_rows, selectors
    from preservation.requests.views.dashboard import DASHBOARD_COLUMNS, PAGE_SIZE

    people = list(selectors.agency_members(user))
    today = selectors.agency_today(user)
    page = selectors.with_legacy_flags(
        selectors.with_row_facts(selectors.dashboard_requests(user, {}, today).select_related(None))
        .values(*DASHBOARD_COLUMNS)[:PAGE_SIZE])
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        dashboard_rows.rows(page, user=user, today=today, people=people, now=timezone.now(),
                            csrf_token="x", next_url="/")
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    add_markdown_argument(parser)
    args = parser.parse_args()

    import django

    base.ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    agency = base.fill()
    base.vacuum()
    user = agency.users.order_by("pk").first()
    medians = measure(user, args.repeat, args.rounds)
    baseline = medians["all on"]
    rows = [("dashboard, every shortcut on, median", "%.2f" % baseline, "ms",
             "%d views in %d rounds" % (args.repeat * args.rounds, args.rounds))]
    print("all on: %.2f ms" % baseline)
    for name, value in medians.items():
        if name == "all on":
            continue
        gain = value - baseline
        verdict = "keep" if gain >= GOAL_MS else "drop"
        print("%s: %.2f ms, gain of the shortcut %.2f ms -> %s" % (name, value, gain, verdict))
        rows.append(("gain of the shortcut (%s)" % name, "%.2f" % gain, "ms",
                     "%.2f ms without it; keep when >= %.0f ms" % (value, GOAL_MS)))
    cost = rows_cost(user, args.repeat)
    print("rows built in Python: %.2f ms a page" % cost)
    rows.append(("rows built in Python, cost a page", "%.2f" % cost, "ms", "25 rows, median"))
    append_rows(args.markdown, BENCH, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
