"""Fixtures for the SQL store tests: a real PostgreSQL (tests.pgserver) and fresh tables (the fake clock is
``clock`` of tests/conftest.py), and ``store_kind`` = ``"sql"``, so ``app``, ``session`` and ``make_store`` of
tests/conftest.py give SQL stores here (tests/unit runs the same tests on memory stores).

Every test gets its own table (``store`` creates it), so tests never see each other's rows. Async tests and
fixtures run under trio (``trio_mode = true`` in pyproject.toml; the marker below keeps this directory
self-sufficient when run with another configuration).
"""
from __future__ import annotations

import inspect
import itertools
import os

import psycopg
import pytest

from backends.sql.store import SQLStore
from tests.pgserver import pg_server  # noqa: F401  (session fixture)
from tests.sql.databases import make_db

_tables = itertools.count()


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        fn = getattr(item, "function", None)
        if (str(item.fspath).startswith(here) and inspect.iscoroutinefunction(fn)
                and item.get_closest_marker("trio") is None):
            item.add_marker(pytest.mark.trio)


@pytest.fixture(params=["sql"])
def store_kind(request):
    return request.param


@pytest.fixture
def table():
    """A table name unused so far in this session."""
    return "t_%d_%d" % (os.getpid(), next(_tables))


@pytest.fixture
def raw(pg_server):
    """A plain (blocking) psycopg connection in autocommit, to look at and plant rows behind the store."""
    conn = psycopg.connect(pg_server.dsn, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
async def store(pg_server, clock, table):
    """A started SQLStore on a fresh VARCHAR(255) table."""
    s = SQLStore("test:sql", make_db(pg_server.dsn), table_name=table, create_table=True)
    await s.start()
    yield s
    await s.aclose()
