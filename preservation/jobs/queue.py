"""Deferred jobs: run one job after the current transaction commits, on Celery when Redis is
configured (or eagerly under tests), otherwise on a small bounded pool of this process.

This module imports nothing of the project: services call ``defer`` by job name, and the jobs
(``preservation.jobs.definitions``) register themselves here when the app is ready, so layers
point one way (services -> queue <- definitions). See docs/architecture.md "Background work".
"""
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

JOBS = {}
_pool = None


def job(function):
    """Register ``function`` as a job under its own name."""
    JOBS[function.__name__] = function
    return function


def uses_celery():
    return bool(settings.REDIS_URL or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def defer(name, *args):
    """Run job ``name`` with ``args`` (ids only) once the current transaction has committed."""
    if name not in JOBS:
        raise KeyError(name)
    transaction.on_commit(lambda: _start(name, args))


def _start(name, args):
    if uses_celery():
        from celery import current_app

        current_app.tasks["preservation.jobs.tasks.%s" % name].delay(*args)
    else:
        _embedded_pool().submit(_run_embedded, name, args)


def _embedded_pool():
    # Bounded: a burst of clicks queues here instead of starting one renderer each.
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.PRESERVE_JOBS["EMBEDDED_WORKERS"],
                                   thread_name_prefix="preserve-job")
    return _pool


def _run_embedded(name, args):
    try:
        JOBS[name](*args)
    except Exception:
        logger.exception("Job %s%r failed", name, args)
    finally:
        connection.close()
