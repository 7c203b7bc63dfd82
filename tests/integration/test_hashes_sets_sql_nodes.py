"""Hashes and sets on SQL stores, seen from outside respd (issue 14): Lua tables and Redis hashes are two views
of one stored value, rows are msgpack a program can read and write, and each command is atomic across respd nodes
sharing one PostgreSQL table.

* a Lua table written by an EVAL script through the ``store`` module (``{theme="dark", fontSize=14}``) is a hash
  for HGETALL, and a hash written with HSET is a Lua table for ``obj:get`` (memory and SQL stores);
* a hash written with HSET is, in the table's row, a msgpack map a plain ``msgpack.unpackb`` reads;
* a row written by another program with psycopg: a map of scalars reads as a hash (and stays a map when respd
  changes it); a map holding a map or an array answers WRONGTYPE, never a crash; a set's row is the README's ext
  83 holding its members, both ways;
* two nodes racing: HINCRBY on one field adds up exactly, SADD of distinct members counts every one (SCARD
  exact), SMOVE between two sets loses or duplicates no member, SPOP pops each member once. The racing scenarios
  run on redis-server too (both "nodes" being that server): the reference.
"""
from __future__ import annotations

import random

import msgpack
import psycopg
import pytest
import redis

from tests.helpers import RespdProcess, sql_registry, write_registry
from tests.integration.test_scripting_sql_nodes import ports, run_threads  # noqa: F401  (ports: a fixture)
from tests.integration.test_sql_nodes import nodes  # noqa: F401  (fixture: two respd on one table)
from tests.pgserver import pg_server  # noqa: F401  (fixture)

TABLE = "hashes_sets_interop"


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):  # noqa: F811
    """One respd: database 0 the memory store ``app:cache``, database 1 the SQL store ``app:persistent`` on
    ``TABLE``."""
    d = tmp_path_factory.mktemp("hashes-sets-sql")
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


@pytest.fixture
def raw(pg_server):  # noqa: F811
    """A plain psycopg connection (autocommit) to the store's table."""
    conn = psycopg.connect(pg_server.dsn, autocommit=True)
    yield conn
    conn.close()


def row(raw, key: str, table: str = TABLE):
    got = raw.execute('SELECT value FROM "%s" WHERE key = %%s' % table, (key,)).fetchone()
    return None if got is None else bytes(got[0])


def plant(raw, key: str, payload: bytes, table: str = TABLE) -> None:
    raw.execute('INSERT INTO "%s" (key, value) VALUES (%%s, %%s)' % table, (key, payload))


# ------------------------------------------------------------------------------------------------ Lua tables
WRITE_TABLE = """
local s = store.get(KEYS[1])
local ok, err = s:set(ARGV[1], {theme = "dark", fontSize = 14})
s:release()
if not ok then return redis.error_reply(err) end
return 1
"""

READ_TABLE = """
local s = store.get(KEYS[1])
local t = s:get(ARGV[1])
s:release()
return {type(t), t.theme, t.lang, tostring(t.fontSize)}
"""


@pytest.mark.parametrize("db,sid", [(0, "app:cache"), (1, "app:persistent")])
def test_a_lua_table_is_a_hash_and_a_hash_is_a_lua_table(server, db, sid):
    with redis.Redis(port=server.port, db=db, socket_timeout=30, decode_responses=True) as c:
        c.flushdb()
        assert c.eval(WRITE_TABLE, 1, sid, "prefs:1") == 1
        assert c.type("prefs:1") == "hash"
        assert c.hgetall("prefs:1") == {"theme": "dark", "fontSize": "14"}
        assert c.hget("prefs:1", "fontSize") == "14" and c.hlen("prefs:1") == 2
        assert c.hincrby("prefs:1", "fontSize", 2) == 16  # a msgpack integer is a hash value HINCRBY takes
        assert c.hset("prefs:1", "lang", "en") == 1
        assert c.eval(READ_TABLE, 1, sid, "prefs:1") == ["table", "dark", "en", "16"]

        assert c.hset("prefs:2", mapping={"theme": "light", "lang": "fr", "fontSize": "12"}) == 3
        assert c.eval(READ_TABLE, 1, sid, "prefs:2") == ["table", "light", "fr", "12"]


# ------------------------------------------------------------------------------------------------ rows
def test_hset_writes_a_msgpack_map(sql, raw):
    assert sql.hset("user:1", mapping={"name": "Ada", "age": 36, "bin": b"\x00\xff"}) == 3
    assert msgpack.unpackb(row(raw, "user:1"), raw=True) == {b"name": b"Ada", b"age": b"36", b"bin": b"\x00\xff"}
    sql.hdel("user:1", "bin")
    sql.hincrby("user:1", "age", 1)
    assert msgpack.unpackb(row(raw, "user:1"), raw=True) == {b"name": b"Ada", b"age": b"37"}
    assert sql.hdel("user:1", "name", "age") == 2  # the last fields: the key is gone
    assert sql.exists("user:1") == 0 and sql.type("user:1") == b"none"


def test_a_set_row_is_neither_a_hash_nor_a_string(sql, raw):
    """A set's row is a msgpack ext value another program can decode, which no hash or string can be mistaken
    for."""
    assert sql.sadd("tags", "a", "1", "") == 3
    ext = msgpack.unpackb(row(raw, "tags"))  # README: ext type 83 ('S') holding an array of bin members
    assert isinstance(ext, msgpack.ExtType) and ext.code == 83
    assert sorted(msgpack.unpackb(ext.data)) == [b"", b"1", b"a"]
    assert sql.type("tags") == b"set" and sql.smembers("tags") == {b"a", b"1", b""}
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        sql.hgetall("tags")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        sql.get("tags")
    plant(raw, "planted", msgpack.packb(msgpack.ExtType(83, msgpack.packb([b"x", b"y"]))))  # another program's set
    assert sql.type("planted") == b"set" and sql.smembers("planted") == {b"x", b"y"}
    assert sql.sinter("planted", "tags") == set() and sql.sadd("planted", "a") == 1
    assert sql.sinter("planted", "tags") == {b"a"}


def test_a_foreign_map_of_scalars_reads_as_a_hash(sql, raw):
    plant(raw, "doc:1", msgpack.packb({"name": "José", "visits": 42, "ratio": 1.5, "raw": b"\x01\x02"}))
    assert sql.type("doc:1") == b"hash"
    assert sql.hgetall("doc:1") == {b"name": "José".encode(), b"visits": b"42", b"ratio": b"1.5",
                                    b"raw": b"\x01\x02"}
    assert sql.hget("doc:1", "name") == "José".encode() and sql.hlen("doc:1") == 4
    assert sql.hincrby("doc:1", "visits", 1) == 43
    assert sql.hset("doc:1", "new", "x") == 1
    back = msgpack.unpackb(row(raw, "doc:1"), raw=True)  # still a map another program can read
    assert back[b"visits"] in (43, b"43") and back[b"new"] == b"x" and back[b"name"] == "José".encode()


@pytest.mark.parametrize("value", [{"profile": {"name": "x"}}, {"tags": ["a", "b"]}, {"ok": "1", "deep": [{}]}],
                         ids=["nested-map", "array", "nested-array"])
def test_a_foreign_nested_map_is_wrongtype(sql, raw, value):
    plant(raw, "nested", msgpack.packb(value))
    for call in (lambda: sql.hgetall("nested"), lambda: sql.hget("nested", "ok"), lambda: sql.hset("nested", "f", 1),
                 lambda: sql.hincrby("nested", "n", 1), lambda: sql.smembers("nested"), lambda: sql.get("nested")):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            call()
    assert row(raw, "nested") == msgpack.packb(value)  # nothing written over it
    assert sql.ping() and sql.exists("nested") == 1
    assert sql.delete("nested") == 1  # it can still be removed


# ------------------------------------------------------------------------------------------------ two nodes
def test_racing_hincrby_adds_up(ports):  # noqa: F811  (ports: the fixture)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.hset("stats", mapping={"hits": 0, "other": "kept"})
    seen = run_threads(ports, 2, lambda c, who: [c.hincrby("stats", "hits", 1) for _ in range(500)])
    with redis.Redis(port=ports[1], db=ports[2]) as c:
        assert c.hgetall("stats") == {b"hits": b"2000", b"other": b"kept"}
    assert sorted(v for part in seen for v in part) == list(range(1, 2001))  # each saw a value of its own


def test_racing_sadd_counts_every_member(ports):  # noqa: F811  (ports: the fixture)
    def add(c, who):
        return sum(c.sadd("members", "%s:%d" % (who, i), "shared") for i in range(250))

    added = run_threads(ports, 2, add)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        assert c.scard("members") == 1001
        assert sum(added) == 1001  # "shared" was new for exactly one SADD
        assert c.sismember("members", "0-1:249") and c.sismember("members", "1-0:0")


def test_racing_smove_loses_and_duplicates_nothing(ports):  # noqa: F811  (ports: the fixture)
    everyone = {"m%d" % i for i in range(200)}
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.sadd("left", *sorted(everyone)[:100])
        c.sadd("right", *sorted(everyone)[100:])

    def shuffle(c, who):
        rnd = random.Random(who)
        moved = 0
        for _ in range(150):
            m = "m%d" % rnd.randrange(200)
            src, dst = ("left", "right") if rnd.random() < 0.5 else ("right", "left")
            moved += c.smove(src, dst, m)
        return moved

    moves = run_threads(ports, 2, shuffle)
    with redis.Redis(port=ports[1], db=ports[2]) as c:
        left = {m.decode() for m in c.smembers("left")}
        right = {m.decode() for m in c.smembers("right")}
    assert left | right == everyone and not left & right
    assert sum(moves) > 0


def test_racing_spop_pops_each_member_once(ports):  # noqa: F811  (ports: the fixture)
    """Clients on both nodes pop a 400-member set empty (SPOP, and SPOP with a count): every member comes out
    exactly once."""
    everyone = {"m%d" % i for i in range(400)}
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.sadd("queue", *sorted(everyone))

    def drain(c, who):
        got = []
        while True:
            if who.endswith("0"):
                one = c.spop("queue")
                if one is None:
                    return got
                got.append(one.decode())
            else:
                some = c.spop("queue", 7)
                if not some:
                    return got
                got += [m.decode() for m in some]

    popped = [m for part in run_threads(ports, 2, drain) for m in part]
    assert sorted(popped) == sorted(everyone)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        assert c.exists("queue") == 0
