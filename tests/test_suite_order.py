"""The suite's own order and ids (tests/conftest.py), checked on the session that runs them.

A transactional test empties every table when it ends, the provider catalogue of a data migration
included, so ordinary database tests must come before it on a worker (pytest-django's sort, which
our long-first sort must not undo); and xdist hands out work by id, so two tests with one id means
one of them never runs."""
from types import SimpleNamespace

import pytest

from tests.conftest import _unique_node_ids


def _is_transactional(item):
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool({"transactional_db", "live_server"} & fixtures) or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


def _is_plain_database(item):
    return not _is_transactional(item) and (
        item.get_closest_marker("django_db") is not None or "db" in getattr(item, "fixturenames", ()))


def test_ordinary_database_tests_come_before_every_transactional_one(request):
    items = request.session.items
    transactional = [n for n, item in enumerate(items) if _is_transactional(item)]
    plain = [n for n, item in enumerate(items) if _is_plain_database(item)]
    if not transactional or not plain:
        pytest.skip("this run holds no transactional test or no ordinary database test to order")
    late = [items[n].nodeid for n in plain if n > transactional[0]]
    assert not late, "after the transactional %s: %s" % (items[transactional[0]].nodeid, late[:3])


def test_every_test_of_the_session_has_its_own_id(request):
    ids = [item.nodeid for item in request.session.items]
    assert len(ids) == len(set(ids))


class _Id(str):
    def child(self, name):
        return _Id("%s::%s" % (self, name))


class _Item:
    def __init__(self, parent, nodeid, name):
        self.parent = SimpleNamespace(id=_Id(parent))
        self._id = nodeid
        self.name = name

    @property
    def nodeid(self):
        return self._id


def test_a_case_named_after_its_id_was_fixed_gets_its_name_as_id():
    items = [_Item("tests/test_api_schema.py", "tests/test_api_schema.py::test_api", "test_api[GET /a/]"),
             _Item("tests/test_api_schema.py", "tests/test_api_schema.py::test_api", "test_api[POST /a/]")]
    _unique_node_ids(items)
    assert [item.nodeid for item in items] == ["tests/test_api_schema.py::test_api[GET /a/]",
                                               "tests/test_api_schema.py::test_api[POST /a/]"]


def test_two_tests_left_with_one_id_stop_the_run():
    items = [_Item("tests/test_x.py", "tests/test_x.py::test_a", "test_a"),
             _Item("tests/test_x.py", "tests/test_x.py::test_a", "test_a")]
    with pytest.raises(pytest.UsageError, match="test_x.py::test_a"):
        _unique_node_ids(items)
