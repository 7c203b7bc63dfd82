"""Fixtures shared by the whole suite.

Servers (real processes on free loopback ports, stopped with SIGTERM then SIGKILL; their stderr is appended to the
report of a failing test):

* ``respd_server`` — one ``python -m respd`` for the session (embedded registry: SELECT 0-15 → memory stores).
  Tests using it get a fresh keyspace (``FLUSHALL`` before each test via ``respd``).
* ``respd`` — ``respd_server`` after a FLUSHALL; the usual fixture for integration tests.
* ``respd_factory`` — start extra respd processes with custom registry files / arguments (stopped after the test).
* ``redis_server`` — a real ``redis-server --save "" --appendonly no`` for the session; skipped when redis-server is
  not installed, but a failure when ``CI=true``. ``redis`` is the same after a FLUSHALL.
* ``registry_dir`` / ``write_yaml`` — write temporary registry YAML files.

In-process (no sockets), for command-semantics unit tests:

* ``store_kind`` — the kind of store the command tests run against: ``"memory"`` here, so nothing under
  tests/unit needs PostgreSQL; ``tests/sql/conftest.py`` overrides it with ``"sql"``, and
  ``tests/sql/test_any_store.py`` / ``test_commands_on_sql.py`` run the same tests and tables on SQL stores.
  ``make_store`` (an async factory, so it may start a connection pool) builds either kind. Tests that are about
  the memory backend itself use ``MemoryStore`` directly instead.
* ``clock`` — a ``FakeClock`` installed as ``backends.base.clock`` (every store reads time through it).
* ``app`` — an ``App`` with 16 databases (SELECT 0-15) of ``store_kind`` stores; ``session`` — a new Session of it.
* ``call`` — ``await call(sess, "SET k v")`` → the encoded reply bytes (in the session's protocol).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.helpers import (FakeClock, RedisProcess, RespdProcess, execute_bytes, require,  # noqa: E402
                           write_registry)

# ------------------------------------------------------------------------------------------------ reporting
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when in ("setup", "call") and rep.failed:
        seen = set()
        for value in getattr(item, "funcargs", {}).values():
            for proc in _processes_in(value):
                if id(proc) in seen:
                    continue
                seen.add(id(proc))
                rep.sections.append(("%s stderr (port %d)" % (proc.name, proc.port), proc.stderr_text()))


def _processes_in(value):
    from tests.helpers import ServerProcess
    if isinstance(value, ServerProcess):
        yield value
    elif isinstance(value, _Factory):
        yield from value.started
    elif hasattr(value, "server") and isinstance(getattr(value, "server"), ServerProcess):
        yield value.server


# ------------------------------------------------------------------------------------------------ processes
@pytest.fixture(scope="session")
def respd_server():
    proc = RespdProcess().start()
    yield proc
    proc.stop()


@pytest.fixture
def respd(respd_server):
    """The session respd, flushed; restarted if an earlier test killed it."""
    if not respd_server.alive():
        pytest.fail("the session respd died:\n" + respd_server.stderr_text())
    with respd_server.client() as c:
        assert c.cmd("FLUSHALL") == b"+OK\r\n"
    return respd_server


class _Factory:
    def __init__(self, cls, tmp_path):
        self.cls = cls
        self.started = []
        self.tmp_path = tmp_path

    def __call__(self, *args, **kwargs):
        proc = self.cls(*args, **kwargs)
        self.started.append(proc)
        return proc.start()

    def stop_all(self):
        for p in self.started:
            p.stop()


@pytest.fixture
def respd_factory(tmp_path):
    """``respd_factory(configs=[path, ...], extra=[...])`` → a started RespdProcess (stopped after the test)."""
    f = _Factory(RespdProcess, tmp_path)
    yield f
    f.stop_all()


@pytest.fixture(scope="session")
def redis_server():
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    proc = RedisProcess().start()
    yield proc
    proc.stop()


@pytest.fixture
def redis(redis_server):
    with redis_server.client() as c:
        assert c.cmd("FLUSHALL") == b"+OK\r\n"
    return redis_server


@pytest.fixture
def registry_dir(tmp_path):
    d = tmp_path / "registry"
    d.mkdir()
    return d


@pytest.fixture
def write_yaml(registry_dir):
    """``write_yaml("name.yaml", doc_or_text)`` → path of a registry file in a temporary directory."""
    def write(name, doc):
        return write_registry(registry_dir, name, doc)
    return write


from tests.pgserver import pg_server  # noqa: E402,F401  (session fixture for SQL stores)


# ------------------------------------------------------------------------------------------------ in-process
@pytest.fixture
def clock(monkeypatch):
    import backends.base
    c = FakeClock()
    monkeypatch.setattr(backends.base, "clock", c)
    return c


@pytest.fixture(params=["memory"])
def store_kind(request):
    """A parameter (not a constant) so test ids name the store kind here and in tests/sql alike."""
    return request.param


@pytest.fixture
def make_store(store_kind, clock, request):
    """``await make_store(store_id, max_size=0)`` → a started, empty store of ``store_kind``.

    ``sql`` stores live in tables of the session's throwaway PostgreSQL (``tests.pgserver``), one table per store
    id, emptied before use; they share one ``PgDatabase`` per test."""
    made = []
    pg = {}

    async def make(store_id: str, max_size: int = 0):
        if store_kind == "memory":
            from backends.memory import MemoryStore
            store = MemoryStore(store_id, max_size=max_size, cleanup_interval=0)
            await store.start()
        else:
            from backends.pg.pool import PgDatabase
            from backends.sql.store import SQLStore
            if "db" not in pg:
                server = request.getfixturevalue("pg_server")
                pg["db"] = PgDatabase("t:pg", server.dsn, pool_min=1, pool_max=4)
            table = "cmd_" + "".join(c if c.isalnum() else "_" for c in store_id)
            store = SQLStore(store_id, pg["db"], table_name=table, max_size=max_size, create_table=True)
            await store.start()
            await store.flush()
        made.append(store)
        return store

    yield make
    # stores are closed by the app fixture's owner test; memory stores need nothing


@pytest.fixture
async def app(make_store):
    from respd.net.threads import Threads
    from respd.security.users import Auth
    from respd.state import App
    stores = {}
    databases = {}
    for i in range(16):
        s = await make_store("t:db%d" % i)
        stores[s.id] = s
        databases[i] = s
    a = App(stores, databases, {"port": 0}, Auth())
    a.threads = Threads(a)  # scripts on SQL stores run in a worker thread, as under respd.server
    yield a
    for s in stores.values():
        await s.aclose()


@pytest.fixture
def session(app):
    return app.new_session("127.0.0.1:50000", "127.0.0.1:6379", 7)


@pytest.fixture
def call():
    return execute_bytes
