"""Load test: gunicorn (2 workers) with 100,000 requests, 50 simulated users for 2 minutes.

    .venv/bin/python bench/loadtest.py [--users 50] [--duration 120] [--requests 100000]
                                       [--saturation-duration 30] [--markdown FILE]

What it does, in order (everything on 127.0.0.1; it stops by itself):

1. Creates the PostgreSQL database ``preserve_bench_h10`` when missing (``--database-url``),
   migrates it and loads the demo data (``seed_demo``), then clones the demo requests with
   ``bulk_create`` (serials and history included, computed deadline fields copied from the
   request cloned, so they stay true) until the demo agency holds ``--requests`` of them.
   Kept between runs; ``--fresh`` starts again from an empty database.
2. Signs in one bench user per simulated user without a browser, through Django's test
   session machinery: ``tests.helpers.login`` (``Client.force_login`` plus what the security
   middleware needs: a verified TOTP device in the session and the login banner acknowledged)
   writes a real session row, and its cookie is handed to the simulated user. Each user also
   gets a CSRF secret of its own and a personal API token.
3. Starts gunicorn (``config/gunicorn.py``, ``--workers 2``) on 127.0.0.1 under the production
   settings (DEBUG off, persistent connections, Redis db 10 as broker and throttle cache),
   waits for ``/readyz``.
4. Runs locust headless (``bench/_locustfile.py``): ``--users`` users, all started within
   ten seconds, for ``--duration`` seconds, each waiting ``--wait-min``..``--wait-max`` seconds
   between actions (a person reads a page before the next click), mixing the dashboard (4),
   a request page (4), the intake form, shown and saved (1) and the API create (1). A mix
   member whose URL does not exist in this code is left out with a message.
5. Then, on the same server in the same run, two saturation phases of
   ``--saturation-duration`` seconds with no think time: the same mix, and a trivial
   login-required page (``bench/_urls.py``: every middleware, a view that does nothing; served
   under ``bench/_settings.py``, the production settings plus that one URL). The mix's
   throughput over the trivial page's is the ratio reported (goal: at least 0.2, 0 errors).
6. Stops gunicorn, prints requests per second, p50, p95 and errors (overall and per action),
   and appends them to ``--markdown FILE``. Goal: 0 errors and p95 under 300 ms.
"""
import argparse
import csv
import socket
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import _gunicorn as gunicorn  # noqa: E402
from _report import add_markdown_argument, append_rows  # noqa: E402

BENCH = "loadtest"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/preserve_bench_h10"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
CLONE_BATCH = 5000
PK_PLACEHOLDER = 987654321
# Request pages are addressed by public_id (docs/security.md "Opaque identifiers"); older code by pk.
PUBLIC_ID_PLACEHOLDER = "00000000-0000-0000-0000-000987654321"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--requests", type=int, default=100_000, help="requests in the database")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=0, help="threads per worker (0: config/gunicorn.py's default)")
    parser.add_argument("--saturation-duration", type=int, default=30,
                        help="seconds of each saturation phase (0: none)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--wait-min", type=float, default=1.0)
    parser.add_argument("--wait-max", type=float, default=3.0)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the bench database")
    add_markdown_argument(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500 or not 1 <= args.duration <= 900 or not 0 <= args.saturation_duration <= 900:
        parser.error("--users must be 1..500, --duration 1..900 and --saturation-duration 0..900 seconds")
    if not args.port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    return args


def server_environment(args):
    """The environment of gunicorn and of this process's Django: production settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "_settings",  # production settings + the trivial page
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "bench"), os.environ.get("PYTHONPATH")])),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # locust plays the TLS-terminating proxy: it sends X-Forwarded-Proto and -For.
        "DJANGO_PROXY_COUNT": "1",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "GUNICORN_WORKERS": str(args.workers),
        **({"GUNICORN_THREADS": str(args.threads)} if args.threads else {}),
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
    })
    return env


def ensure_database(url, fresh):
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def manage(env, *command):
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def prepare_data(args, env):
    ensure_database(args.database_url, args.fresh)
    manage(env, "migrate", "--noinput", "-v", "0")
    # seed_demo refuses production settings on purpose; the data it writes is the same.
    manage({**env, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false"},
           "seed_demo")


def setup_django(env):
    os.environ.update(env)
    import django

    django.setup()


def clone_requests(agency, wanted):
    """Bring the agency to ``wanted`` requests by cloning its demo requests with bulk_create."""
    import uuid

    from django.db import connection, transaction

    from preservation.models import DeviceSerial, PreservationRequest, RequestEvent

    have = PreservationRequest.objects.for_agency(agency).count()
    templates = list(PreservationRequest.objects.for_agency(agency)
                     .prefetch_related("serials", "events").order_by("pk")[:50])
    # Each clone draws its own reference (unique); older code has no reference column.
    fields = [f.attname for f in PreservationRequest._meta.concrete_fields
              if not f.primary_key and f.attname != "reference"]
    started = time.monotonic()
    for start in range(have, wanted, CLONE_BATCH):
        batch = range(start, min(start + CLONE_BATCH, wanted))
        sources = [templates[i % len(templates)] for i in batch]
        clones = [PreservationRequest(**{name: getattr(src, name) for name in fields})
                  for src in sources]
        for i, clone in zip(batch, clones):
            clone.public_id = uuid.uuid4()
            clone.case_number = "LT-%06d" % i
        with transaction.atomic():
            PreservationRequest.objects.bulk_create(clones, batch_size=1000)
            DeviceSerial.objects.bulk_create(
                [DeviceSerial(request=clone, position=s.position, raw=s.raw, normalized=s.normalized,
                              generation=s.generation, model=s.model,
                              warnings_acknowledged=s.warnings_acknowledged)
                 for src, clone in zip(sources, clones) for s in src.serials.all()],
                batch_size=2000)
            RequestEvent.objects.bulk_create(
                [RequestEvent(request=clone, at=e.at, actor_id=e.actor_id, action=e.action,
                              from_state=e.from_state, to_state=e.to_state, reason=e.reason,
                              data=e.data)
                 for src, clone in zip(sources, clones) for e in src.events.all()],
                batch_size=2000)
        print(f"  {batch.stop:,} / {wanted:,} requests", flush=True)
    if wanted > have:
        # What autovacuum gives a live system: statistics and a visibility map. Without the map
        # the dashboard's group counts read every row in parallel workers instead of the index
        # alone (bench/_profile_pages.py: about 120 ms instead of 20 at 100,000 requests).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"  cloned {wanted - have:,} requests in {time.monotonic() - started:.0f} s")


def bench_users(agency, count):
    """``count`` requesters of the demo agency, each signed in with a session, a CSRF secret
    and an API token (see the module docstring, step 2)."""
    from django.conf import settings
    from django.middleware.csrf import CSRF_SESSION_KEY
    from django.test import Client
    from django.utils.crypto import get_random_string

    from preservation.api.tokens import api_token_create
    from preservation.models import Role, User
    from tests.helpers import login

    users = []
    for n in range(count):
        user, _created = User.objects.get_or_create(
            username="loadtest-%03d" % n,
            defaults={"agency": agency, "role": Role.REQUESTER, "first_name": "Load",
                      "last_name": "Test %03d" % n, "email": "loadtest-%03d@bench.invalid" % n})
        client = login(Client(), user)
        csrf_secret = get_random_string(32)
        if settings.CSRF_USE_SESSIONS:
            session = client.session
            session[CSRF_SESSION_KEY] = csrf_secret
            session.save()
        _token, plain = api_token_create(user=user, name="load test")
        users.append({
            "cookies": {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
                        **({} if settings.CSRF_USE_SESSIONS else {settings.CSRF_COOKIE_NAME: csrf_secret})},
            "api_token": plain,
        })
    return users


def mix_urls():
    """URL of each mix member, or None (with a message) when this code has no such page."""
    from django.urls import NoReverseMatch, reverse

    wanted = {
        "dashboard": ("preservation:dashboard", {}),
        "request page": ("preservation:request_detail", {"pk": PK_PLACEHOLDER}),
        "intake": ("preservation:request_new", {}),
        "api create": ("api:request-list", {}),
    }
    urls = {}
    for member, (name, kwargs) in wanted.items():
        try:
            try:
                urls[member] = reverse(name, kwargs=kwargs)
            except NoReverseMatch:
                if "pk" not in kwargs:
                    raise
                urls[member] = reverse(name, kwargs={"public_id": PUBLIC_ID_PLACEHOLDER})
        except NoReverseMatch:
            print(f"  skipping '{member}': no URL named {name} in this code", flush=True)
            urls[member] = None
    if urls["request page"]:
        # The public id first: it ends with the digits of the pk placeholder.
        urls["request page"] = (urls["request page"].replace(PUBLIC_ID_PLACEHOLDER, "{pk}")
                                .replace(str(PK_PLACEHOLDER), "{pk}"))
    return urls


def _addressed_by_public_id():
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("preservation:request_detail", kwargs={"public_id": PUBLIC_ID_PLACEHOLDER})
    except NoReverseMatch:
        return False
    return True


def make_config(args, agency):
    from _urls import TRIVIAL_URL

    from preservation.models import PreservationRequest
    from preservation.rules import deadlines

    by_public_id = _addressed_by_public_id()
    pks = [str(pk) for pk in PreservationRequest.objects.for_agency(agency).order_by("?")
           .values_list("public_id" if by_public_id else "pk", flat=True)[:2000]]
    return {
        "users": bench_users(agency, args.users),
        "urls": mix_urls(),
        "trivial_url": TRIVIAL_URL,
        "request_pks": pks,
        "data_types": [code for code, *_rest in deadlines.DATA_TYPES][:2],
        "wait": [args.wait_min, args.wait_max],
    }


def write_config(config):
    handle, path = tempfile.mkstemp(prefix="preserve-loadtest-", suffix=".json")
    with os.fdopen(handle, "w") as out:  # mode 0600: it holds session cookies and API tokens
        json.dump(config, out)
    return path


def run_locust(args, config_path, csv_prefix, user_class="Officer", duration=None):
    duration = duration or args.duration
    command = [str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench/_locustfile.py"),
               "--headless", "--users", str(args.users),
               "--spawn-rate", str(max(1, args.users // 10)), "--run-time", f"{duration}s",
               "--stop-timeout", "5", "--host", f"http://127.0.0.1:{args.port}",
               "--csv", csv_prefix, "--only-summary", "--loglevel", "WARNING"]
    env = {**os.environ, "PRESERVE_LOADTEST_CONFIG": config_path}
    # Bounded twice: locust's own --run-time, and this timeout should it ever hang.
    subprocess.run(command + [user_class], cwd=ROOT, env=env, timeout=duration + 120, check=False)


def read_stats(csv_prefix):
    with open(f"{csv_prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def env_threads():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_config", ROOT / "config/gunicorn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.threads


def saturation_rows(args, saturation):
    if not saturation:
        return []
    mix, trivial = saturation["Officer"]["Aggregated"], saturation["TrivialOfficer"]["Aggregated"]
    notes = f"{args.users} users, no think time, {args.saturation_duration} s, same server and run"
    mix_rate, trivial_rate = float(mix["Requests/s"]), float(trivial["Requests/s"])
    return [
        ("saturation: mix requests per second", f"{mix_rate:.1f}", "req/s", notes),
        ("saturation: mix p50", mix["50%"], "ms", notes),
        ("saturation: mix p95", mix["95%"], "ms", notes),
        ("saturation: mix errors", mix["Failure Count"], "requests", f"of {int(mix['Request Count']):,}; goal 0"),
        ("saturation: trivial page requests per second", f"{trivial_rate:.1f}", "req/s",
         notes + "; login-required page that does nothing"),
        ("saturation: trivial page errors", trivial["Failure Count"], "requests",
         f"of {int(trivial['Request Count']):,}"),
        ("saturation: ratio mix / trivial", f"{mix_rate / trivial_rate:.3f}" if trivial_rate else "0", "",
         "same run; goal >= 0.2"),
    ]


def report(args, stats, load_before, saturation=None):
    total = stats.get("Aggregated")
    if not total or int(total["Request Count"]) == 0:
        raise RuntimeError("locust made no request")
    notes = (f"gunicorn {args.workers} workers x {env_threads()} threads, {args.requests:,} requests in PostgreSQL, "
             f"{args.users} users for {args.duration} s, {args.wait_min:g}-{args.wait_max:g} s "
             f"think time, locust on the same {os.cpu_count()}-core machine "
             f"(load average {load_before:.1f} before the run)")
    rows = [
        ("requests per second", f"{float(total['Requests/s']):.1f}", "req/s", notes),
        ("p50 latency", total["50%"], "ms", "all actions"),
        ("p95 latency", total["95%"], "ms", "all actions; goal < 300"),
        ("errors", total["Failure Count"], "requests",
         f"of {int(total['Request Count']):,}; goal 0"),
    ]
    for name, row in stats.items():
        if name != "Aggregated":
            counts = f"{int(row['Request Count']):,} requests, {row['Failure Count']} errors"
            rows.append((f"{name}: p50", row["50%"], "ms", counts))
            rows.append((f"{name}: p95", row["95%"], "ms", counts))
    rows += saturation_rows(args, saturation)
    width = max(len(r[0]) for r in rows)
    for figure, value, unit, note in rows:
        print(f"{figure:<{width}}  {value:>10} {unit:<8} {note}")
    append_rows(args.markdown, BENCH, rows)


def main(argv=None):
    args = parse_args(argv)
    env = server_environment(args)
    print(f"Preparing {args.database_url.rsplit('/', 1)[1]} ({args.requests:,} requests)...", flush=True)
    prepare_data(args, env)
    setup_django(env)
    from preservation.management.commands.seed_demo import DEMO_AGENCY
    from preservation.models import Agency

    agency = Agency.objects.get(name=DEMO_AGENCY)
    clone_requests(agency, args.requests)
    config = make_config(args, agency)
    config_path = write_config(config)
    saturation_path = write_config({**config, "wait": [0, 0]})
    server, saturation = None, {}
    with tempfile.TemporaryDirectory(prefix="preserve-loadtest-") as folder:
        log_path = Path(folder) / "gunicorn.log"
        try:
            with open(log_path, "w") as log:
                load_before = os.getloadavg()[0]
                server = gunicorn.start(port=args.port, workers=args.workers, env=env, log=log)
                print(f"Load: {args.users} users for {args.duration} s on 127.0.0.1:{args.port}...",
                      flush=True)
                run_locust(args, config_path, f"{folder}/run")
                stats = read_stats(f"{folder}/run")
                if args.saturation_duration:
                    for user_class in ("Officer", "TrivialOfficer"):
                        print(f"Saturation: {user_class}, no think time, {args.saturation_duration} s...", flush=True)
                        run_locust(args, saturation_path, f"{folder}/{user_class}", user_class,
                                   args.saturation_duration)
                        saturation[user_class] = read_stats(f"{folder}/{user_class}")
        finally:
            if server:
                gunicorn.stop(server)
            os.unlink(config_path)
            os.unlink(saturation_path)
            flush_queue(args.redis_url)
        if any(int(run["Aggregated"]["Failure Count"]) for run in [stats, *saturation.values()]):
            print("Server log (last 60 lines):\n" + "\n".join(log_path.read_text().splitlines()[-60:]),
                  file=sys.stderr)
    report(args, stats, load_before, saturation)
    return 0


def flush_queue(redis_url):
    """Tasks the app queued during the run have no worker here; the bench's Redis db is emptied."""
    import redis

    try:
        redis.Redis.from_url(redis_url).flushdb()
    except redis.RedisError as exc:
        print(f"  could not empty {redis_url}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
