"""Real processes for the reliability tests: an SMTP sink (aiosmtpd) on 127.0.0.1, Celery
workers and beats on the real Redis, all reading the test database pytest-django created."""
import email
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery
from django.db import connection
from django.utils import timezone

from preservation.core import scoping
from preservation.models import DeliveryState, PreservationRequest, Reminder, ReminderKind, RequestState
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


class Sink:
    """Keeps the Message-ID of every message the SMTP server accepted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.message_ids = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.message_ids.append(message["Message-ID"])
        return "250 Message accepted"

    def counts(self):
        with self.lock:
            return Counter(self.message_ids)


def _start_sink(sink):
    # A port the kernel just handed out as free; if another process takes it first, try again.
    for _attempt in range(10):
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        try:
            controller.start()
        except OSError:
            continue
        sink.port = port
        return controller
    raise RuntimeError("no free port for the SMTP sink")


@pytest.fixture
def smtp_sink():
    sink = Sink()
    controller = _start_sink(sink)
    yield sink
    controller.stop()


@pytest.fixture
def broker(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class Processes:
    """Starts workers and beats with the environment of this test run; stops what is left."""

    def __init__(self, redis_url, sink, tmp_path):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings",
            "DATABASE_URL": "postgres://%s@%s:%s/%s" % (db["USER"], db["HOST"] or "127.0.0.1", db["PORT"] or 5432, db["NAME"]),
            "REDIS_URL": redis_url,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
        }
        self.tmp_path = tmp_path
        self.running = []

    def start(self, *args, **env):
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", *args], cwd=ROOT, env={**self.env, **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.running.append(proc)
        return proc

    def worker(self, *extra, **env):
        return self.start("-A", "config", "worker", "--without-gossip", "--without-mingle",
                          "--without-heartbeat", "-l", "WARNING", *(extra or ("--pool=solo",)), **env)

    def beat(self, name):
        schedule = self.tmp_path / ("beat-%s" % name)
        return self.start("-A", "tests.reliability.beat_app", "beat", "-l", "WARNING",
                          "-s", str(schedule), "--pidfile=")

    def stop_all(self):
        # The test has its answer: no need to wait for a warm shutdown (the broker is flushed).
        for proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def processes(transactional_db, postgres_only, redis_url, broker, smtp_sink, tmp_path):
    procs = Processes(redis_url, smtp_sink, tmp_path)
    yield procs
    procs.stop_all()


@pytest.fixture
def client_app(redis_url):
    """A Celery client on the test broker, to play the beat's part: enqueue a sweep."""
    app = Celery("reliability-client", broker=redis_url)
    app.conf.task_serializer = "json"
    yield app
    app.close()


def enqueue_sweep(app, queue=None):
    """The sweep on the usual queue, or on ``queue`` (declared by the sending, so it waits there
    for a worker that listens to it)."""
    app.send_task("preservation.jobs.tasks.send_due_reminders", **({"queue": queue} if queue else {}))


def make_due_reminders(count=200):
    """``count`` requests, each with one reminder due a minute ago for exactly one recipient."""
    agency = AgencyFactory()
    user = UserFactory(agency=agency)
    requests = PreservationRequest.objects.bulk_create([
        PreservationRequest(agency=agency, created_by=user, state=RequestState.SUBMITTED,
                            requester_email=user.email, case_number="REL-%04d" % n)
        for n in range(count)
    ])
    due = timezone.now() - timedelta(minutes=1)
    return Reminder.objects.bulk_create([
        Reminder(request=r, kind=ReminderKind.ACK_MISSING, lead_days=3, day=due.date(), due_at=due)
        for r in requests
    ])


def finished(count):
    with scoping.all_agencies():
        return Reminder.objects.filter(state=DeliveryState.SENT).count() == count


def wait_until(condition, *, timeout, tick=None, every=0.5):
    """Poll ``condition`` (calling ``tick`` every ``every`` seconds, like a beat) until it holds."""
    deadline = time.monotonic() + timeout
    next_tick = 0.0
    while time.monotonic() < deadline:
        if tick and time.monotonic() >= next_tick:
            tick()
            next_tick = time.monotonic() + every
        if condition():
            return True
        time.sleep(0.1)
    return condition()
