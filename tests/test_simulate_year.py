"""A small simulated year (docs/simulation.md): a seeded population lives through 365 days of
frozen time with the real jobs, real SMTP delivery to a local sink and the scheduled faults
(runner stopped over a weekend, killed mid-sweep, connection dropped, mail refused, two
runners), and an oracle that knows only the rules finds nothing missed, doubled, unexplained
late or at the wrong local hour."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BENCH = Path(__file__).resolve().parent.parent / "bench"

pytestmark = pytest.mark.slow


def load_simulation():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("simulate_year", BENCH / "simulate_year.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REQUESTS = 300


@pytest.mark.postgres
def test_a_seeded_year_misses_nothing_doubles_nothing_and_keeps_the_local_hour(transactional_db, postgres_only):
    simulate_year = load_simulation()
    # The morning digests (a third of the time, and not what the oracle checks) are turned
    # off here; the benchmark sends them.
    sim, figures = simulate_year.simulate(requests=REQUESTS, seed=22, digests=False)
    report = "\n".join(simulate_year.report_lines(sim, figures))
    assert figures["expected"] > 3 * REQUESTS, report  # the year exercised the machinery
    assert figures["sent"] == figures["expected"], report
    assert figures["missed"] == 0, report
    assert figures["duplicated"] == 0, report
    assert figures["unexplained"] == 0, report
    assert figures["unmarked"] == 0, report
    assert figures["wrong_hour"] == 0, report
    assert figures["after_over"] == 0, report
    assert figures["unexpected"] == 0, report
    # Every scheduled fault fired: the weekend outage delayed reminders beyond a day, the mail
    # server refused deliveries, sweeps were killed and lost their connection, two runners ran.
    assert figures["faults_fired"] == figures["faults_scheduled"], report
    assert set(figures["faults_fired"]) == set(simulate_year.FAULT_KINDS), report
    assert figures["longest_h"] > settings.PRESERVE["REMINDER_LATE_HOURS"], report
    assert figures["refused"] > 0 and figures["window"] > 0, report
    # Corrections were fed in and some moved a deadline (the notice is among the expected).
    assert sim.counts["event: correct"] > 0, report
    expected, states = simulate_year.expected_reminders(sim.applied, settings)
    assert any(item.key[0] == "deadline_moved" for item in expected), report
    # Every legal basis was lived through.
    assert {record.basis for record in sim.applied} == set(simulate_year.BASES)

    # The oracle is not blind: the same year with one reminder's message lost, one delivered
    # twice, one arriving three hours after its moment outside any fault, is caught.
    def figures_with(received):
        sim.misses, sim.unexplained, sim.unexpected = [], [], []
        sim.sink.received = received
        return simulate_year.compare(sim, expected, states, settings)

    received = list(sim.sink.received)
    assert figures_with(received)["missed"] == 0
    on_time = _on_time_messages(simulate_year, sim, expected, received)
    lost = on_time[0]
    assert figures_with([m for m in received if m[0] != lost[0]])["missed"] == 1
    assert figures_with(received + [lost])["duplicated"] == 1
    delay = simulate_year.timedelta(hours=3)
    late = [(mid, rcpt, at + delay if mid == lost[0] else at, subject) for mid, rcpt, at, subject in received]
    assert figures_with(late)["unexplained"] == 1
    sim.sink.received = received


@pytest.mark.postgres
def test_the_monthly_analyze_gives_the_planner_statistics(transactional_db, postgres_only):
    """--analyze monthly: what autovacuum (off on these machines) would gather, counted."""
    from django.db import connection

    simulate_year = load_simulation()
    sim = simulate_year.Simulation(requests=1, seed=1, faults=[], analyze="monthly")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE sim_analyzed AS SELECT generate_series(1, 500) AS n")
        try:
            reltuples = "SELECT reltuples FROM pg_class WHERE relname = 'sim_analyzed'"
            cursor.execute(reltuples)
            assert cursor.fetchone()[0] == -1  # never analysed
            sim._analyze()
            cursor.execute(reltuples)
            assert cursor.fetchone()[0] == 500
        finally:
            cursor.execute("DROP TABLE sim_analyzed")
    assert sim.counts["planner statistics gathered (ANALYZE)"] == 1


def _on_time_messages(simulate_year, sim, expected, received):
    """Messages of reminders the oracle expected, sent on time, far from every fault."""
    from preservation.models import Reminder

    due = {(item.request, item.key): item.at for item in expected}
    by_pk = {record.pk: index for index, record in enumerate(sim.applied)}
    rows = {row.pk: row for row in Reminder.objects.across_agencies()}
    known = simulate_year.reminder_pks_by_message_id(rows)
    out = []
    for message in received:
        pk = simulate_year._reminder_pk(message[0], known)
        if pk is None:
            continue  # a digest
        row = rows[pk]
        at = due.get((by_pk[row.request_id], (row.kind, row.lead_days)))
        far = all(abs(message[2] - moment) > simulate_year.timedelta(days=4)
                  for fault in sim.explaining() for moment in (fault.start, fault.end))
        if at == message[2] and far:
            out.append(message)
    assert out
    return out


def test_the_embedded_default_lives_the_same_year_on_sqlite(tmp_path):
    """The benchmark's own command on SQLite (the database with no settings): a fault that drops
    the connection mid-sweep closes SQLite's under Django, which always holds it usable, so the
    runner's next query failed for the rest of the year until the end of a tick found it closed
    (simulate_year._close_old_connections)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, str(BENCH / "simulate_year.py"), "--requests", "60", "--seed", "22", "--no-digests",
         "--database", "sqlite:///%s" % (tmp_path / "year.sqlite3")],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    output = result.stdout[-3000:] + result.stderr[-3000:]

    def figure(name):
        found = re.search(r"^%s (\d+)" % re.escape(name), result.stdout, re.MULTILINE)
        assert found, (name, output)
        return int(found.group(1))

    assert result.returncode == 0, output
    assert figure("missed") == figure("duplicated") == figure("unexpected") == figure("wrong local hour") == 0
    assert figure("fault db_drop fired") == 2
    assert figure("sent") == figure("expected") > 100
