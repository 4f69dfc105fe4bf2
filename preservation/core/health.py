"""Probes for load balancers and orchestrators.

``/healthz`` (liveness): the process answers. No database, no cache, no session: a busy or
broken database must never make an orchestrator restart healthy web processes.

``/readyz`` (readiness): this process can serve real traffic: the database answers, every
migration this code ships is applied, and Redis answers when ``REDIS_URL`` is set. 503 otherwise.

Both are unauthenticated and answer with a small JSON body that names each check and its
outcome, never a host name, a URL or an exception message (those go to the log). They are
exempt from the HTTPS redirect (``SECURE_REDIRECT_EXEMPT``) and from sign-in
(``login_not_required``; ``PROBE_PATHS`` for any middleware keeping its own exemption list).

A probe comes every few seconds from every load balancer, so ``/readyz`` keeps what cannot
change while the process runs: once every migration of this code is applied it stays applied
(the code cannot change under a running process; an upgrade starts new ones), so the migration
files and the applied-migrations table are read only until then; the Redis client (a
connection pool) is made once per URL. The database and Redis are still asked on every call.
"""
import functools
import logging

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

PROBE_PATHS = ("/healthz", "/readyz")
REDIS_TIMEOUT_SECONDS = 2


def probe(view):
    return login_not_required(never_cache(require_safe(view)))


@probe
def healthz(request):
    return JsonResponse({"status": "ok"})


@probe
def readyz(request):
    checks = {"database": _database()}
    checks["migrations"] = _migrations() if checks["database"] == "ok" else "unknown"
    checks["redis"] = _redis() if settings.REDIS_URL else "not configured"
    ready = all(v in ("ok", "not configured") for v in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status=200 if ready else 503)


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "not ready"; the details go to the log only
        logger.warning("readyz: database unreachable", exc_info=True)
        return "unreachable"
    return "ok"


class _AppliedMigrations:
    """Whether this process has seen every migration of its code applied."""

    all_applied = False


def _migrations():
    if _AppliedMigrations.all_applied:
        return "ok"
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        logger.warning("readyz: could not read the migration state", exc_info=True)
        return "unknown"
    if plan:
        logger.warning("readyz: %d migrations not applied", len(plan))
        return "pending"
    _AppliedMigrations.all_applied = True
    return "ok"


@functools.cache
def _redis_client(url):
    # redis-py's pool notices a fork and opens new connections in the child.
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS)


def _redis():
    try:
        _redis_client(settings.REDIS_URL).ping()
    except redis.RedisError:
        logger.warning("readyz: Redis unreachable", exc_info=True)
        return "unreachable"
    return "ok"
