"""Where the load test's pages spend their time (a helper, not run by run_all.py).

    .venv/bin/python bench/_profile_pages.py [--repeat 15] [--profile 10] [--top 20]
        [--only dashboard ...] [--sql] [--database-url URL] [--redis-url URL]

Builds the load test's data once (bench/loadtest.py's own steps: seed_demo, then the demo
requests cloned until the agency holds ``--requests``) in a PostgreSQL database of its own,
``preserve_perf_bench`` by default, kept between runs. Then, in this one process under the
load test's production settings (bench/_settings.py: DEBUG off, every middleware, CSRF checks
enforced, Redis as the throttle cache), with Django's test Client signed in as one requester,
it takes each page of the load test's mix and the trivial login-required page, interleaved,
``--repeat`` times and prints per page: the median server time, the SQL queries of one view,
and the top entries of a cProfile of ``--profile`` more views (the project's and the template
engine's functions by cumulative time, then everything by own time). ``--sql`` also prints each
query of one view with its time.

Figures depend on the machine's load: compare pages within one run, and say the load average
printed at the end.
"""
import argparse
import cProfile
import io
import itertools
import os
import pstats
import random
import re
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import loadtest  # noqa: E402
from _forms import FormFields  # noqa: E402

SERIALS = ["G8T1-SJ02-3294-01VR", "G8T1-9412-3135-0JD5", "G8T1LPFFF4023S6S", "638241420"]
HOST = "127.0.0.1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--profile", type=int, default=10, help="views profiled per page (0: none)")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/preserve_perf_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    return parser.parse_args()


def setup(args):
    env = loadtest.server_environment(SimpleNamespace(database_url=args.database_url, redis_url=args.redis_url,
                                                      workers=2, threads=0))
    env["DJANGO_ALLOWED_HOSTS"] = HOST
    loadtest.prepare_data(SimpleNamespace(database_url=args.database_url, fresh=False), env)
    loadtest.setup_django(env)
    from preservation.management.commands.seed_demo import DEMO_AGENCY
    from preservation.models import Agency

    agency = Agency.objects.get(name=DEMO_AGENCY)
    loadtest.clone_requests(agency, args.requests)
    return agency


class Pages:
    """Each member of the mix as a call that makes one view and checks its status."""

    def __init__(self, agency):
        from django.test import Client

        from preservation.api.tokens import api_token_create
        from preservation.models import PreservationRequest, Role, User
        from preservation.rules import deadlines
        from tests.helpers import login

        user, _created = User.objects.get_or_create(
            username="profile-pages", defaults={"agency": agency, "role": Role.REQUESTER, "first_name": "Profile",
                                                "last_name": "Pages", "email": "profile-pages@bench.invalid"})
        headers = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": HOST, "HTTP_HOST": HOST}
        self.client = login(Client(enforce_csrf_checks=True, **headers), user)
        self.api = Client(**headers, HTTP_AUTHORIZATION="Bearer " + api_token_create(user=user, name="profile")[1])
        self.urls = loadtest.mix_urls()
        # The same requests in the same order on every run, so that runs compare.
        pks = list(PreservationRequest.objects.for_agency(agency).order_by("pk").values_list("public_id", flat=True)[:100_000])
        self.pks = itertools.cycle(random.Random(7).sample(pks, min(len(pks), 2000)))
        self.serial = itertools.count(int(time.time()) % 1_000_000)
        self.data_types = [code for code, *_rest in deadlines.DATA_TYPES][:2]
        self.origin = "https://" + HOST
        self.pages = {
            "trivial": self.trivial, "dashboard": self.dashboard, "request page": self.request_page,
            "intake: form": self.intake_form, "intake: save": self.intake_save, "api create": self.api_create,
        }
        self._form = None

    def _get(self, url):
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.get("Location"))
        return response

    def trivial(self):
        from _urls import TRIVIAL_URL

        return self._get(TRIVIAL_URL)

    def dashboard(self):
        return self._get(self.urls["dashboard"])

    def request_page(self):
        return self._get(self.urls["request page"].format(pk=next(self.pks)))

    def intake_form(self):
        return self._get(self.urls["intake"])

    def intake_save(self):
        if self._form is None:  # the form's fields, read once (outside the timings that follow)
            parser = FormFields(self.urls["intake"])
            parser.feed(self.intake_form().content.decode())
            self._form = parser.fields
        data = dict(self._form, case_number="PP-WEB-%06d" % next(self.serial), paste=random.choice(SERIALS))
        data.pop("action", None)
        response = self.client.post(self.urls["intake"], data, HTTP_REFERER=self.origin + self.urls["intake"],
                                    HTTP_ORIGIN=self.origin)
        assert response.status_code == 302, (response.status_code, response.content[:300])
        return response

    def api_create(self):
        payload = {"case_number": "PP-API-%06d" % next(self.serial), "data_types": self.data_types,
                   "window_start": "2026-11-01T18:00:00", "window_end": "2026-11-01T20:00:00",
                   "window_zone": "America/New_York", "serials": [{"raw": random.choice(SERIALS)}]}
        response = self.api.post(self.urls["api create"], payload, content_type="application/json")
        assert response.status_code == 201, (response.status_code, response.content[:300])
        return response


def _timed(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main():
    args = parse_args()
    started = time.perf_counter()
    agency = setup(args)
    print("data ready in %.0f s (%s)" % (time.perf_counter() - started, args.database_url.rsplit("/", 1)[1]))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pages = Pages(agency)
    names = [n for n in pages.pages if args.only is None or n in args.only or n == "trivial"]
    for name in names:
        for _ in range(3):  # warm connections, templates, caches
            pages.pages[name]()
    timings = {name: [] for name in names}
    for _ in range(args.repeat):  # interleaved: every page sees the same load at the same moments
        for name in names:
            timings[name].append(_timed(pages.pages[name]))
    queries = {}
    for name in names:
        with CaptureQueriesContext(connection) as captured:
            pages.pages[name]()
        queries[name] = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    trivial = statistics.median(timings["trivial"])
    print("\n%-14s %9s %9s %8s %8s" % ("page", "median ms", "min ms", "/trivial", "queries"))
    for name in names:
        median = statistics.median(timings[name])
        print("%-14s %9.1f %9.1f %8.1f %8d" % (name, median, min(timings[name]), median / trivial, len(queries[name])))
    if args.sql:
        for name in names:
            print("\n--- %s: %d queries" % (name, len(queries[name])))
            for ms, sql in queries[name]:
                print("  %6.1f ms  %s" % (ms, sql if len(sql) < 300 else sql[:300] + " ..."))
    if args.profile:
        for name in names:
            if name == "trivial":
                continue
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.profile):
                pages.pages[name]()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            # The project's own functions, the template engine's and DRF's, inside the middleware chain.
            stats.print_stats(r"/(preservation|config)/|django/template/|rest_framework/", args.top)
            stats.sort_stats("tottime").print_stats(args.top // 2)
            print("\n--- %s: cProfile of %d views, by cumulative time" % (name, args.profile))
            text = out.getvalue().replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
            text = re.sub(r"\S*/site-packages/", "", text)
            print("\n".join(line for line in text.splitlines()
                            if line.strip() and not line.lstrip().startswith(("List reduced", "Ordered by", "ncalls"))
                            and "function calls" not in line))
    print("\nload average %.2f %.2f %.2f; %d views per page, interleaved" % (*os.getloadavg(), args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
