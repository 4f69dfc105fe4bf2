"""API benchmark: requests per second for creating a request through the API, against a trivial
authenticated endpoint (``GET /api/v1/me/``) in the same run.

1. (Re)creates the PostgreSQL database ``preserve_bench_h7`` (``--database-url``), migrates it
   and makes one agency, one user and one API token.
2. Starts gunicorn (``config/gunicorn.py``, 2 workers) on 127.0.0.1 under the production
   settings, with Redis (``--redis-url``) for the shared throttle counters. The per-token rate
   limit is raised for the run so that it counts (one Redis round trip per call, as in
   production) without refusing anything.
3. A Python client with ``--concurrency`` threads, each on its own keep-alive connection, sends
   a fixed number of calls to each endpoint (after a short warm-up): first ``GET /me/``, then
   ``POST /requests/`` with a complete draft (contact, window, two serials), then ``GET /me/``
   again; the two trivial runs are averaged.
4. Stops gunicorn and prints requests per second, p50/p95 latency, errors and the ratio.

    .venv/bin/python bench/api_create.py [--requests 600] [--concurrency 8] [--markdown FILE]
"""
import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _gunicorn as gunicorn
from _report import add_markdown_argument, append_rows

ROOT = Path(__file__).resolve().parent.parent
BENCH = "api_create"
HOST = "127.0.0.1"

DRAFT = {
    "requester_name": "Dana Scully", "requester_email": "dana.scully@agency.example",
    "requester_phone": "+12025550143", "unit": "Burglary", "case_number": "CR-2026-00042",
    "data_types": ["video_clips", "subscriber"], "window_start": "2026-01-20T10:00",
    "window_end": "2026-01-20T12:00", "window_zone": "America/New_York", "account_country": "US",
    "account_email": "owner@example.com",
    "serials": [{"raw": "G8T1-SJ02-3294-01VR"}, {"raw": "g8t1 9412 3135 0jd5"}],
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="calls per endpoint and run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--port", type=int, default=8170)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/preserve_bench_h7")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    add_markdown_argument(parser)
    return parser.parse_args(argv)


def server_environment(args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_", "API_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "API_TOKEN_THROTTLE_RATE": "1000000/minute",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
    })
    return env


def fresh_database(url):
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(args, env):
    """A fresh database with one agency, one user and a token; returns the token."""
    fresh_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from preservation.api.tokens import api_token_create
    from preservation.models import Agency, Role, User

    agency = Agency.objects.create(name="Bench County Sheriff", country="US", time_zone="America/New_York")
    user = User.objects.create_user("bench", password=secrets.token_urlsafe(16), agency=agency,
                                    role=Role.REQUESTER)
    return api_token_create(user=user, name="bench", days=1)[1]


def call(conn, method, path, headers, body=None):
    # Production settings redirect plain HTTP; a TLS-terminating proxy would set this header.
    conn.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **headers})
    response = conn.getresponse()
    return response.status, response.read()


def run(args, token, method, path, body, count):
    """``count`` calls over ``args.concurrency`` connections: (seconds, latencies, errors)."""
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    payload = json.dumps(body).encode() if body is not None else None
    expected = 201 if method == "POST" else 200
    latencies, errors, lock = [], [], threading.Lock()
    remaining = iter(range(count))

    def worker():
        conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
        while True:
            with lock:
                if next(remaining, None) is None:
                    break
            started = time.perf_counter()
            try:
                status, _ = call(conn, method, path, headers, payload)
            except (OSError, http.client.HTTPException) as error:
                status = repr(error)
                conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
            with lock:
                latencies.append(time.perf_counter() - started)
                if status != expected:
                    errors.append(status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors


def summary(elapsed, latencies, errors):
    ordered = sorted(latencies)
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[int(len(ordered) * 0.95) - 1] * 1000,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def measure(args, token):
    me = ("GET", "/api/v1/me/", None)
    create = ("POST", "/api/v1/requests/", DRAFT)
    for method, path, body in (me, create):
        run(args, token, method, path, body, args.warmup)
    first = run(args, token, *me, args.requests)
    created = run(args, token, *create, args.requests)
    second = run(args, token, *me, args.requests)
    trivial = summary(first[0] + second[0], first[1] + second[1], first[2] + second[2])
    return trivial, summary(*created)


def report(args, trivial, created):
    ratio = created["rps"] / trivial["rps"]
    notes = (f"gunicorn 2 workers on {HOST}, production settings, PostgreSQL preserve_bench_h7, Redis "
             f"throttle; {args.requests} calls per endpoint, {args.concurrency} keep-alive connections")
    print(f"GET /api/v1/me/ (trivial):  {trivial['rps']:8.1f} req/s  p50 {trivial['p50']:6.1f} ms  "
          f"p95 {trivial['p95']:6.1f} ms  errors {trivial['errors']}")
    print(f"POST /api/v1/requests/:     {created['rps']:8.1f} req/s  p50 {created['p50']:6.1f} ms  "
          f"p95 {created['p95']:6.1f} ms  errors {created['errors']}")
    print(f"ratio create / trivial:     {ratio:8.3f}")
    for name, figures in (("trivial", trivial), ("create", created)):
        if figures["errors"]:
            print(f"  {name}: first unexpected answer {figures['first_error']}", file=sys.stderr)
    rows = [
        ("create requests per second", round(created["rps"], 1), "req/s", notes),
        ("create p95 latency", round(created["p95"], 1), "ms", notes),
        ("trivial endpoint requests per second", round(trivial["rps"], 1), "req/s", notes + "; GET /me/"),
        ("ratio create / trivial", round(ratio, 3), "", "same run"),
    ]
    for row in rows:
        print("| %s | %s | %s | %s | %s |" % (BENCH, *row))
    append_rows(args.markdown, BENCH, rows)
    return trivial["errors"] + created["errors"] == 0


def main(argv=None):
    args = parse_args(argv)
    env = server_environment(args)
    token = prepare(args, env)
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "gunicorn.log", "w+") as log:
        server = gunicorn.start(port=args.port, workers=2, env=env, log=log)
        try:
            trivial, created = measure(args, token)
        finally:
            gunicorn.stop(server)
            log.seek(0)
            tail = log.read()[-2000:]
            # Tasks the creates queued (reminder scheduling) have no worker here: drop them.
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
    ok = report(args, trivial, created)
    if not ok:
        print(tail, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
