"""The dashboard benchmarks measure the page the app builds today: their own pieces run on a
few requests of the test database (the 100,000-request runs are `make bench`'s)."""
import importlib
import os

import pytest
from django.conf import settings


@pytest.fixture
def shortcuts(monkeypatch):
    before = os.environ.get("DATABASE_URL")
    monkeypatch.syspath_prepend(str(settings.BASE_DIR / "bench"))
    module = importlib.import_module("dashboard_shortcuts")
    # bench/dashboard.py gives DATABASE_URL a default for its own runs: not for the processes
    # other tests start from this one.
    if before is None:
        os.environ.pop("DATABASE_URL", None)
    return module


def test_the_rows_cost_is_measured_on_rows_as_the_dashboard_reads_them(shortcuts, user, make_request):
    # It read the rows without their legacy-device flag once that left the rows' query, and
    # stopped with a KeyError; the flag is now added as the view adds it.
    for _ in range(3):
        make_request()
    assert shortcuts.rows_cost(user, 2) > 0
