"""A small simulated year (docs/simulation.md): a seeded population lives through 365 days of
frozen time with the real jobs, real SMTP delivery to a local sink and the scheduled faults
(runner stopped over a weekend, killed mid-sweep, connection dropped, mail refused, two
runners), and an oracle that knows only the rules finds nothing missed, doubled, unexplained
late or at the wrong local hour."""
import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings

BENCH = Path(__file__).resolve().parent.parent / "bench"

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def load_simulation():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("simulate_year", BENCH / "simulate_year.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_seeded_year_misses_nothing_doubles_nothing_and_keeps_the_local_hour(transactional_db, postgres_only):
    simulate_year = load_simulation()
    sim, figures = simulate_year.simulate(requests=100, seed=22)
    report = "\n".join(simulate_year.report_lines(sim, figures))
    assert figures["expected"] > 150, report  # the year exercised the machinery
    assert figures["sent"] == figures["expected"], report
    assert figures["missed"] == 0, report
    assert figures["duplicated"] == 0, report
    assert figures["unexplained"] == 0, report
    assert figures["unmarked"] == 0, report
    assert figures["wrong_hour"] == 0, report
    assert figures["after_over"] == 0, report
    assert figures["unexpected"] == 0, report
    # The scheduled faults happened: the weekend outage delayed reminders beyond a day, and the
    # mail server refused deliveries.
    assert figures["longest_h"] > settings.PRESERVE["REMINDER_LATE_HOURS"], report
    assert figures["refused"] > 0, report
