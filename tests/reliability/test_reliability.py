"""Never missed, never doubled, with a real Redis, real Celery workers and real SIGKILLs.

200 reminders are due. A worker is killed (SIGKILL, by the kill switch in its own logging)
at one of four points of the sweep; a fresh worker and a beat-like tick every second finish
the job. Every reminder must arrive, and the only duplicate allowed is the one a crash between
sending and marking makes, with the same Message-ID.
"""
import signal

import pytest

from tests.reliability.conftest import enqueue_sweep, finished, make_due_reminders, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
COUNT = 200

# point: (logged event, the occurrence to die at in runs 1, 2, 3, duplicates allowed)
KILL_POINTS = {
    "before claim": ("sweep_start", (1, 1, 1), 0),
    "after claim": ("claimed", (1, 2, 4), 0),
    "after sending": ("sent", (1, 77, 200), 1),
    "after marking": ("marked", (1, 77, 200), 0),
}
CASES = [(point, run) for point in KILL_POINTS for run in range(3)]


@pytest.mark.parametrize("point,run", CASES, ids=["%s, run %d" % (p, r + 1) for p, r in CASES])
def test_a_worker_killed_mid_sweep_loses_nothing_and_doubles_at_most_the_message_in_flight(
    processes, client_app, smtp_sink, point, run
):
    event, occurrences, allowed = KILL_POINTS[point]
    # Both workers start (seconds each) while the reminders are made. The doomed one alone takes
    # the first sweep, from a queue of its own; the fresh one waits on the usual queue, which
    # nothing reaches until the doomed worker is dead.
    doomed = processes.worker("--pool=solo", "--queues=doomed",
                              RELIABILITY_KILL_AT=event, RELIABILITY_KILL_COUNT=str(occurrences[run]))
    processes.worker()
    make_due_reminders(COUNT)
    enqueue_sweep(client_app, queue="doomed")
    assert doomed.wait(timeout=60) == -signal.SIGKILL

    assert wait_until(lambda: finished(COUNT), timeout=60, tick=lambda: enqueue_sweep(client_app))

    counts = smtp_sink.counts()
    assert len(counts) == COUNT  # every reminder delivered
    duplicates = {message_id: n for message_id, n in counts.items() if n > 1}
    assert sum(n - 1 for n in duplicates.values()) == allowed
    assert all(n == 2 for n in duplicates.values())  # the same Message-ID, twice at most


def test_wiping_redis_while_sweeps_are_queued_still_sends_every_reminder_exactly_once(
    processes, client_app, smtp_sink, broker
):
    make_due_reminders(COUNT)
    for _ in range(5):
        enqueue_sweep(client_app)
    broker.flushdb()  # the queued sweeps are gone
    assert broker.dbsize() == 0
    processes.worker()
    half_way = lambda: len(smtp_sink.counts()) >= COUNT // 4  # noqa: E731
    assert wait_until(half_way, timeout=60, tick=lambda: enqueue_sweep(client_app))
    broker.flushdb()  # and again while the worker is busy
    assert wait_until(lambda: finished(COUNT), timeout=60, tick=lambda: enqueue_sweep(client_app))
    counts = smtp_sink.counts()
    assert len(counts) == COUNT and set(counts.values()) == {1}


def test_two_beats_at_once_send_no_reminder_twice(processes, smtp_sink):
    make_due_reminders(COUNT)
    processes.beat("one")
    processes.beat("two")
    # The production stuck delay: two sweeps run at once here, and neither may be taken for dead.
    processes.worker("--pool=prefork", "--concurrency=2", RELIABILITY_STUCK_SECONDS="600")
    assert wait_until(lambda: finished(COUNT), timeout=90)
    counts = smtp_sink.counts()
    assert len(counts) == COUNT and set(counts.values()) == {1}
