"""Where the scripting client tests run: a ``target`` fixture over three servers.

* ``redis``: the session's real redis-server (the reference: every scenario must pass there first);
* ``memory``: the session's respd, database 0 (a memory store);
* ``sql``: a respd of this module whose database 1 is a SQL store on the session's throwaway PostgreSQL
  (``tests.pgserver``), database 0 a memory store.

Each test gets the target's database emptied. A test module imports the fixtures it uses::

    from tests.integration.scripting_targets import sql_respd, target  # noqa: F401  (fixtures)
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis
import redis.asyncio

from tests.helpers import RespdProcess, ServerProcess, sql_registry, write_registry
from tests.integration.test_redis_py import ASYNC_PARSERS, SYNC_PARSERS, client_kwargs

KINDS = ["redis", "memory", "sql"]


@dataclass
class Target:
    kind: str              # one of KINDS
    server: ServerProcess  # the conftest's reporting hook shows its stderr when a test fails
    db: int

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return "redis://127.0.0.1:%d/%d" % (self.port, self.db)

    def client(self, **kw) -> redis.Redis:
        """A plain redis-py client on the target's database (bytes replies, RESP2 unless told)."""
        kw.setdefault("socket_timeout", 30)
        return redis.Redis(host="127.0.0.1", port=self.port, db=self.db, **kw)

    def flush(self) -> None:
        with self.client() as c:
            c.flushdb()
            c.script_flush()


@pytest.fixture(scope="module")
def sql_respd(pg_server, tmp_path_factory):
    """One respd per test module with a SQL store as database 1 (a table of its own)."""
    d = tmp_path_factory.mktemp("scripting-sql")
    table = "scripting_%s" % d.name.replace("-", "_")
    config = write_registry(d, "sql.yaml", sql_registry(pg_server.dsn, table, pool_max=8, command_timeout="10s",
                                                        connect_timeout="10s"))
    proc = RespdProcess(configs=[config]).start(timeout=60)
    yield proc
    proc.stop()


@pytest.fixture(params=KINDS)
def target(request) -> Target:
    if request.param == "redis":
        t = Target("redis", request.getfixturevalue("redis"), 0)
    elif request.param == "memory":
        t = Target("memory", request.getfixturevalue("respd"), 0)
    else:
        proc = request.getfixturevalue("sql_respd")
        if not proc.alive():
            pytest.fail("the SQL respd died:\n" + proc.stderr_text())
        t = Target("sql", proc, 1)
    t.flush()
    return t


def sync_client(t, proto, parser):
    """A redis-py client of target ``t`` in RESP ``proto`` with ``parser`` ("hiredis" or "python")."""
    kw = client_kwargs(t.server, proto, parser, parser_class=SYNC_PARSERS[(parser, proto)], db=t.db,
                       socket_timeout=30)
    return redis.Redis(connection_pool=redis.ConnectionPool(**kw))


def async_client(t, proto, parser):
    """The asyncio form of ``sync_client``."""
    kw = client_kwargs(t.server, proto, parser, parser_class=ASYNC_PARSERS[(parser, proto)], db=t.db,
                       socket_timeout=30)
    return redis.asyncio.Redis(connection_pool=redis.asyncio.ConnectionPool(**kw))
