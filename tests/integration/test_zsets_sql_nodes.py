"""Sorted sets on SQL stores, seen from outside respd (issue 15): a sorted set's row is the README's msgpack ext 90
('Z') holding member, score pairs in score order, both ways, and each command is atomic across respd nodes sharing
one PostgreSQL table.

* ZADD writes the row another program can decode; a row written by another program (integer scores, members out
  of order) reads as that sorted set, and a NaN score is reported as corrupt, never served;
* two nodes racing: ZINCRBY on one member adds up exactly (each client sees values of its own), ZADD of distinct
  members counts every one, ZPOPMIN/ZMPOP drain a sorted set popping each member exactly once, a sliding-window
  ZREMRANGEBYSCORE + ZADD + ZCARD transaction admits no more than its limit. The racing scenarios run on
  redis-server too (both "nodes" being that server): the reference.
"""
from __future__ import annotations

import msgpack
import psycopg
import pytest
import redis

from tests.helpers import RespdProcess, sql_registry, write_registry
from tests.integration.test_hashes_sets_sql_nodes import raw  # noqa: F401  (fixture)
from tests.integration.test_hashes_sets_sql_nodes import plant as shared_plant, row as shared_row
from tests.integration.test_scripting_sql_nodes import ports, run_threads  # noqa: F401  (ports: a fixture)
from tests.integration.test_sql_nodes import nodes  # noqa: F401  (fixture: two respd on one table)
from tests.pgserver import pg_server  # noqa: F401  (fixture)

TABLE = "zsets_interop"


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):  # noqa: F811
    """One respd whose database 1 is a SQL store on ``TABLE``."""
    d = tmp_path_factory.mktemp("zsets-sql")
    proc = RespdProcess(configs=[write_registry(d, "reg.yaml", sql_registry(pg_server.dsn, TABLE))]).start(60)
    yield proc
    proc.stop()


@pytest.fixture
def sql(server):
    if not server.alive():
        pytest.fail("respd died:\n" + server.stderr_text())
    c = redis.Redis(port=server.port, db=1, socket_timeout=30)
    c.flushdb()
    yield c
    c.close()


def row(raw, key: str):
    return shared_row(raw, key, TABLE)


def plant(raw, key: str, payload: bytes) -> None:
    shared_plant(raw, key, payload, TABLE)


def zset_payload(items: list) -> bytes:
    return msgpack.packb(msgpack.ExtType(90, msgpack.packb(items, use_bin_type=True)))


def test_zadd_writes_the_documented_row(sql, raw):
    assert sql.zadd("board", {"b": 2.5, "a": 1, "c": float("-inf")}) == 3
    ext = msgpack.unpackb(row(raw, "board"))
    assert ext.code == 90
    assert msgpack.unpackb(ext.data, raw=True) == [b"c", float("-inf"), b"a", 1.0, b"b", 2.5]
    assert sql.type("board") == b"zset" and sql.object("encoding", "board") == b"listpack"


def test_a_foreign_row_reads_as_a_sorted_set(sql, raw):
    plant(raw, "foreign", zset_payload([b"z", 3, b"x", 1.5, b"y", 1.5]))  # int scores, out of order
    assert sql.zrange("foreign", 0, -1, withscores=True) == [(b"x", 1.5), (b"y", 1.5), (b"z", 3.0)]
    assert sql.zadd("foreign", {"w": 0}) == 1
    assert msgpack.unpackb(msgpack.unpackb(row(raw, "foreign")).data, raw=True) == [
        b"w", 0.0, b"x", 1.5, b"y", 1.5, b"z", 3.0]
    plant(raw, "bad", zset_payload([b"m", float("nan")]))
    with pytest.raises(redis.ResponseError) as e:
        sql.zrange("bad", 0, -1)
    assert "NaN" in str(e.value)
    assert sql.type("bad") == b"zset"


def test_racing_zincrby_adds_up(ports):  # noqa: F811  (ports: the fixture)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.delete("scores")
        c.zadd("scores", {"other": 7})
    seen = run_threads(ports, 2, lambda c, who: [c.zincrby("scores", 1, "hits") for _ in range(300)])
    with redis.Redis(port=ports[1], db=ports[2]) as c:
        assert c.zrange("scores", 0, -1, withscores=True) == [(b"other", 7.0), (b"hits", 1200.0)]
    assert sorted(v for part in seen for v in part) == [float(n) for n in range(1, 1201)]


def test_racing_zadd_counts_every_member(ports):  # noqa: F811  (ports: the fixture)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.delete("members")

    def add(c, who):
        return sum(c.zadd("members", {"%s:%d" % (who, i): i, "shared": 1}) for i in range(150))

    added = run_threads(ports, 2, add)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        assert c.zcard("members") == 601
        assert sum(added) == 601  # "shared" was new for exactly one ZADD


def test_racing_pops_take_each_member_once(ports):  # noqa: F811  (ports: the fixture)
    everyone = {"m%03d" % i: i for i in range(400)}
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.delete("queue")
        c.zadd("queue", everyone)

    def drain(c, who):
        got = []
        while True:
            if who.endswith("0"):
                part = [m for m, _ in c.zpopmin("queue", 3)]
            else:
                reply = c.zmpop(1, ["queue"], max=True, count=2)
                part = [m for m, _ in reply[1]] if reply else []
            if not part:
                return got
            got += [m.decode() for m in part]

    popped = [m for part in run_threads(ports, 2, drain) for m in part]
    assert sorted(popped) == sorted(everyone)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        assert c.exists("queue") == 0


def test_racing_sliding_window_admits_its_limit(ports):  # noqa: F811  (ports: the fixture)
    """Each request trims the window, adds itself and counts in one MULTI/EXEC: over both nodes exactly the limit
    of requests sees a count within it."""
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.delete("window")

    def hammer(c, who):
        admitted = 0
        for i in range(60):
            with c.pipeline() as p:
                p.zremrangebyscore("window", 0, -1)
                p.zadd("window", {"%s:%d" % (who, i): 1000})
                p.zcard("window")
                count = p.execute()[2]
            admitted += count <= 25
        return admitted

    assert sum(run_threads(ports, 2, hammer)) == 25
