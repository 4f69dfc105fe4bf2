import collections
import datetime as dt

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import AgencyFactory, RequestFactory, UserFactory
from tests.helpers import login

UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty caches (the suite's are all in this process's memory): counts
    cached by one test (keyed by an agency pk and version a rolled-back test may reuse) never reach
    another, nor do the per-address failure counters of the throttle cache, which would leave a
    later test's failed sign-in counted but not recorded."""
    from django.core.cache import caches

    for cache in caches.all(initialized_only=False):
        cache.clear()
    yield
    for cache in caches.all(initialized_only=True):
        cache.clear()


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings, tmp_path):
    """Audit checkpoints of one test (written by sweeps and commands) never reach another's."""
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")


@pytest.fixture(autouse=True)
def _default_language():
    """A page served in a user's language leaves that language active in the thread (as in a
    server, where the next request sets its own): every test starts in the default language."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def postgres_only():
    """Skip (or fail under CI=true) when the suite is not running on PostgreSQL."""
    if connection.vendor != "postgresql":
        if settings.IN_CI:
            pytest.fail("CI=true but the suite is not running on PostgreSQL.")
        pytest.skip("needs PostgreSQL: none answered on 127.0.0.1:5432 and DATABASE_URL is unset")


@pytest.fixture
def redis_url():
    if not settings.TEST_REDIS_URL:
        pytest.skip("needs Redis: none answered on 127.0.0.1:6379 and TEST_REDIS_URL is unset")
    return settings.TEST_REDIS_URL


@pytest.fixture
def agency(db):
    return AgencyFactory()


@pytest.fixture
def user(agency):
    return UserFactory(agency=agency)


@pytest.fixture
def signed_in(client, user):
    """The test client, signed in as ``user`` with a fully verified session."""
    return login(client, user)


@pytest.fixture
def make_request(user):
    def make(**kwargs):
        kwargs.setdefault("created_by", user)
        kwargs.setdefault("agency", kwargs["created_by"].agency)
        return RequestFactory(**kwargs)

    return make


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def _flush_past_the_audit_truncate_trigger():
    """Transactional tests end by emptying every table, which the audit table's triggers refuse
    (as they should). The suite connects as a superuser, so its flush runs with triggers off,
    exactly the privilege the application's own role lacks (docs/security.md)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    if getattr(original, "_audit_trigger_off", False):
        return

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables:
            return []
        if reset_sequences:
            statements = original(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        else:
            # DELETE, not TRUNCATE: a test leaves a handful of rows, and emptying 40 nearly empty
            # tables row by row takes a fifth of the time TRUNCATE spends making new files for
            # each. With the replica role no foreign-key trigger fires, so the order is free.
            statements = ["DELETE FROM %s;" % self.quote_name(table) for table in tables]
        return ["SET LOCAL session_replication_role = replica;", *statements,
                "SET LOCAL session_replication_role = origin;"]

    sql_flush._audit_trigger_off = True
    DatabaseOperations.sql_flush = sql_flush


_flush_past_the_audit_truncate_trigger()
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "client", "admin_client", "live_server"}
SLOW_MODULES = {"test_translations", "test_deploy_bench", "test_api_schema"}
# The modules whose tests take longest (`pytest --durations`), longest first. They run first among
# their kind (pytest-django then puts database tests before transactional ones before the rest),
# so under xdist the last minutes are not one worker finishing a long test while the other idles.
# ("browser": every module of tests/browser, 5-20 s a test.)
LONG_FIRST = ["test_simulate_year", "reliability", "test_tenancy", "browser", "test_date_oracle",
              "test_api_contract", "test_documents_injection", "test_mail_hostile", "test_pdf_server", "test_pdf"]


# Tests that must share one xdist worker, by path: the reliability tests hold the real Celery
# workers and the broker's Redis database, which each of them empties.
XDIST_GROUPS = {"tests/reliability/": "reliability"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup`, with the groups read from XDIST_GROUPS. (xdist groups by a suffix it
    appends to the test's id, which pytest 9 no longer lets it change: its `xdist_group` marker
    groups nothing, and two reliability tests ran at once on one broker.)

    Work goes out in the order pytest-django sorts it (database tests, transactional tests, the
    rest), never largest group first: the reliability tests are transactional, and the flush at the
    end of each would empty the provider catalogue (a data migration) before that worker's
    ordinary database tests."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class PathGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid):
            for prefix, group in XDIST_GROUPS.items():
                if nodeid.startswith(prefix):
                    return group
            return super()._split_scope(nodeid)

    config.option.loadscopereorder = False
    return PathGroupScheduling(config, log)


def _unique_node_ids(items):
    """Each test under its own id. schemathesis names its cases after the API operation
    ("...[GET /api/v1/requests/]") only after pytest 9 has fixed the id, so its 27 cases shared
    one id, and xdist, which hands out work by id, ran one of them and dropped the other 26 without
    a word. The id is made from the name again; a duplicate left after that stops the run."""
    for item in items:
        if item.nodeid.rsplit("::", 1)[-1] != item.name and item.parent is not None:
            item._id = item.parent.id.child(item.name)
    seen = collections.Counter(item.nodeid for item in items)
    duplicates = sorted(nodeid for nodeid, count in seen.items() if count > 1)
    if duplicates:
        raise pytest.UsageError("tests sharing one id (xdist would run only one of each): %s" % duplicates[:5])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Markers by place, so `make test-fast` (rules and unit tests) needs no list of files:
    tests/browser are `browser`, tests/reliability are `reliability` and `slow`, and a test that
    touches the database is `database`.

    First of all hooks: before pytest-django's sort (stable) and xdist's worker reading
    `xdist_group` in their own hooks of this name."""
    _unique_node_ids(items)
    for item in items:
        parts = item.path.parts
        if "browser" in parts:
            item.add_marker(pytest.mark.browser)
        if "reliability" in parts:
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.slow)
            # One worker holds the real Celery workers and their broker database at a time
            # (XDIST_GROUPS does the grouping under pytest 9; the marker says it where xdist looks).
            item.add_marker(pytest.mark.xdist_group("reliability"))
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)
    first = {name: n for n, name in enumerate(LONG_FIRST)}

    def rank(item):
        parts = item.path.parts
        name = "browser" if "browser" in parts else "reliability" if "reliability" in parts else item.path.stem
        return first.get(name, len(first))

    items.sort(key=rank)  # stable: within a rank, and for the rest, the order stays as collected
