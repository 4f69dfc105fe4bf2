"""One way to run background work: each job is one function; Celery beat and the embedded
runner run the same jobs on the same schedule; deferred jobs go after the commit."""
import pytest

from preservation.jobs import definitions, queue, runner, schedule


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def calls(monkeypatch):
    seen = []
    for periodic in schedule.SCHEDULE:
        monkeypatch.setitem(queue.JOBS, periodic.name,
                            lambda now=None, name=periodic.name: seen.append(name))
    return seen


def test_every_scheduled_job_is_a_registered_job_function():
    assert {p.name for p in schedule.SCHEDULE} <= set(queue.JOBS)
    assert queue.JOBS["render_document"] is definitions.render_document


def test_celery_beat_runs_the_same_jobs_on_the_same_schedule_as_the_embedded_runner():
    from config.celery import app

    beat = {entry["task"].rpartition(".")[2]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert beat == {p.name: p.seconds for p in schedule.SCHEDULE}
    for entry in app.conf.beat_schedule.values():
        assert entry["options"]["expires"] < entry["schedule"]


def test_the_runner_runs_every_job_at_the_first_tick_then_each_when_its_interval_has_passed(calls):
    clock = FakeClock()
    jobs = runner.Runner(clock=clock)
    jobs.tick()
    assert sorted(calls) == sorted(p.name for p in schedule.SCHEDULE)
    calls.clear()
    clock.now = 59
    jobs.tick()
    assert calls == []
    clock.now = 60
    jobs.tick()
    assert sorted(calls) == ["audit_checkpoint", "send_due_reminders"]
    calls.clear()
    clock.now = 15 * 60
    jobs.tick()
    assert sorted(calls) == ["audit_checkpoint", "detect_lapses", "send_digests", "send_due_reminders"]


def test_a_failing_job_neither_stops_the_others_nor_waits_a_whole_interval(calls, monkeypatch):
    def broken(now=None):
        raise ConnectionError("database restarting")

    monkeypatch.setitem(queue.JOBS, "detect_lapses", broken)
    clock = FakeClock()
    jobs = runner.Runner(clock=clock)
    jobs.tick()
    assert "detect_lapses" not in jobs.last_run and "send_due_reminders" in calls
    monkeypatch.setitem(queue.JOBS, "detect_lapses", lambda now=None: calls.append("detect_lapses"))
    clock.now = 1
    jobs.tick()
    assert calls[-1] == "detect_lapses"


def test_deferring_an_unknown_job_fails_at_once():
    with pytest.raises(KeyError):
        queue.defer("no_such_job", 1)


@pytest.mark.django_db
def test_a_deferred_job_runs_only_after_the_transaction_commits(settings, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    settings.REDIS_URL, settings.CELERY_TASK_ALWAYS_EAGER = "", False
    ran = []
    monkeypatch.setitem(queue.JOBS, "render_document", lambda document_id: ran.append(document_id))
    with django_capture_on_commit_callbacks() as callbacks:
        queue.defer("render_document", 7)
    assert ran == [] and len(callbacks) == 1
    callbacks[0]()
    pool, queue._pool = queue._embedded_pool(), None
    pool.shutdown(wait=True)
    assert ran == [7]


def test_the_embedded_pool_is_bounded_by_the_setting(settings):
    settings.PRESERVE_JOBS = {"EMBEDDED_WORKERS": 3}
    queue._pool = None
    try:
        assert queue._embedded_pool()._max_workers == 3
    finally:
        queue._pool.shutdown(wait=True)
        queue._pool = None
