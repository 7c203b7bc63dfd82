"""SQLStore against a real PostgreSQL 15: every method's semantics, expiry, atomicity across two "nodes",
schemas, keys, foreign rows, transactions, SCAN, outages and cleanup."""
from __future__ import annotations

import random
from contextlib import asynccontextmanager

import msgpack
import pytest
import trio

from backends.base import KEEP, CorruptValue, InvalidKey, NoSuchKey, StoreFull, StoreUnavailable, WrongType
from backends.sql.errors import SchemaError
from backends.sql.schema import schema_ddl
from backends.sql.store import SQLStore
from tests.sql.databases import make_db

pytestmark = pytest.mark.trio


def incr(old):
    n = int(old or b"0") + 1
    return b"%d" % n, n


def rows(raw, table):
    return raw.execute('SELECT key, value, expires_at FROM "%s" ORDER BY key' % table).fetchall()


def plant(raw, table, key, obj, expires_at=None, packed=None):
    payload = packed if packed is not None else msgpack.packb(obj)
    raw.execute('INSERT INTO "%s" (key, value, expires_at) VALUES (%%s, %%s, %%s)' % table, (key, payload, expires_at))


class Watcher:
    dirty = False


# --------------------------------------------------------------------------------------------- SET / GET
async def test_set_get_roundtrip_binary_value(store, raw, table):
    value = bytes(range(256)) * 300
    assert await store.set(b"k", value) == (True, None)
    assert await store.get(b"k") == value
    assert await store.get(b"missing") is None
    # stored as msgpack bin, no TTL
    ((key, payload, exp),) = rows(raw, table)
    assert key == "k" and msgpack.unpackb(payload) == value and exp is None


async def test_set_nx_xx(store):
    assert await store.set(b"k", b"1", cond="XX") == (False, None)
    assert await store.get(b"k") is None
    assert await store.set(b"k", b"1", cond="NX") == (True, None)
    assert await store.set(b"k", b"2", cond="NX") == (False, None)
    assert await store.get(b"k") == b"1"
    assert await store.set(b"k", b"3", cond="XX") == (True, None)
    assert await store.get(b"k") == b"3"


async def test_set_get_flag(store, raw, table):
    assert await store.set(b"k", b"1", get=True) == (True, None)
    assert await store.set(b"k", b"2", get=True) == (True, b"1")
    assert await store.set(b"k", b"3", cond="NX", get=True) == (False, b"2")
    assert await store.set(b"n", b"3", cond="XX", get=True) == (False, None)
    plant(raw, table, "h", {"f": 1})
    with pytest.raises(WrongType):
        await store.set(b"h", b"x", get=True)
    assert msgpack.unpackb(rows(raw, table)[0][1]) == {"f": 1}  # nothing written
    assert await store.set(b"h", b"x") == (True, None)  # without GET any type is overwritten
    assert await store.get(b"h") == b"x"


async def test_set_expire_keep_and_clear(store, clock):
    at = clock.ms + 10_000
    await store.set(b"k", b"1", expire=at)
    assert await store.expire_time(b"k") == at
    await store.set(b"k", b"2", expire=KEEP)
    assert await store.expire_time(b"k") == at
    await store.set(b"k", b"3", cond="XX", expire=KEEP)
    assert await store.expire_time(b"k") == at
    await store.set(b"k", b"4", get=True, expire=KEEP)
    assert await store.expire_time(b"k") == at
    await store.set(b"k", b"5")
    assert await store.expire_time(b"k") == -1
    await store.set(b"new", b"1", expire=KEEP)
    assert await store.expire_time(b"new") == -1
    await store.set(b"nx", b"1", cond="NX", expire=KEEP)
    assert await store.expire_time(b"nx") == -1


async def test_set_past_expire_deletes(store, clock, raw, table):
    past = clock.ms - 1
    await store.set(b"k", b"1")
    assert await store.set(b"k", b"2", expire=past) == (True, None)
    assert await store.get(b"k") is None
    assert rows(raw, table) == []
    assert await store.set(b"a", b"1", cond="NX", expire=past) == (True, None)
    assert await store.exists([b"a"]) == 0
    await store.set(b"b", b"1")
    assert await store.set(b"b", b"2", cond="NX", expire=past) == (False, None)
    assert await store.get(b"b") == b"1"
    assert await store.set(b"b", b"2", cond="XX", expire=past) == (True, None)
    assert await store.get(b"b") is None
    assert await store.set(b"b", b"2", cond="XX", expire=past) == (False, None)
    await store.set(b"c", b"old")
    assert await store.set(b"c", b"2", get=True, expire=past) == (True, b"old")
    assert await store.get(b"c") is None


# --------------------------------------------------------------------------------------------- expiry
async def test_expired_rows_are_invisible(store, clock, raw, table):
    at = clock.ms + 1000
    for k in (b"e", b"f", b"g", b"h"):
        await store.set(k, b"5", expire=at)
    await store.set(b"live", b"1")
    clock.advance(1.0)  # exactly at the deadline: expired (expires_at <= now)
    assert await store.get(b"e") is None
    assert await store.mget([b"e", b"live"]) == [None, b"1"]
    assert await store.exists([b"e", b"live"]) == 1
    assert await store.expire_time(b"e") == -2
    assert await store.type(b"e") == b"none"
    assert await store.dump(b"e") is None
    assert await store.keys(b"*") == [b"live"]
    assert (await store.scan(0, None, 100, None))[1] == [b"live"]
    assert await store.dbsize() == 1
    assert await store.stats() == (1, 0)
    assert await store.randomkey() == b"live"
    assert await store.persist(b"e") == 0
    assert await store.expire(b"e", clock.ms + 5000) == 0
    assert await store.getdel(b"e") is None
    assert await store.getex(b"e", None) is None
    assert await store.copy(b"e", b"e2") is False
    assert await store.delete([b"e"]) == 0
    with pytest.raises(NoSuchKey):
        await store.rename(b"f", b"f2")
    # writes treat them as absent
    assert await store.set(b"f", b"1", cond="XX") == (False, None)
    assert await store.set(b"f", b"new", cond="NX") == (True, None)
    assert await store.get(b"f") == b"new" and await store.expire_time(b"f") == -1
    assert await store.modify(b"g", incr) == 1  # INCR restarts at 0, without the dead TTL
    assert await store.expire_time(b"g") == -1
    assert await store.set(b"h", b"x", get=True) == (True, None)
    assert await store.mset([(b"e", b"m")], nx=True) is True
    assert len(rows(raw, table)) == 5  # the rows were reused, not duplicated


async def test_expire_conditions(store, clock):
    now = clock.ms
    await store.set(b"p", b"1")  # persistent: TTL counts as infinite
    assert await store.expire(b"p", now + 5000, "XX") == 0
    assert await store.expire(b"p", now + 5000, "GT") == 0
    assert await store.expire(b"p", now + 5000, "LT") == 1
    assert await store.expire_time(b"p") == now + 5000
    assert await store.expire(b"p", now + 9000, "NX") == 0
    assert await store.expire(b"p", now + 4000, "GT") == 0
    assert await store.expire(b"p", now + 9000, "GT") == 1
    assert await store.expire(b"p", now + 9500, "LT") == 0
    assert await store.expire(b"p", now + 3000, "LT") == 1
    assert await store.expire(b"p", now + 7000, "XX") == 1
    assert await store.expire(b"p", now + 8000) == 1
    assert await store.expire_time(b"p") == now + 8000
    assert await store.expire(b"missing", now + 8000) == 0
    # a time at or before now deletes, under the same conditions
    assert await store.expire(b"p", now, "NX") == 0
    assert await store.get(b"p") == b"1"
    assert await store.expire(b"p", now, "XX") == 1
    assert await store.get(b"p") is None
    await store.set(b"q", b"1")
    assert await store.expire(b"q", now - 1000) == 1
    assert await store.exists([b"q"]) == 0


async def test_persist_and_expire_time(store, clock):
    assert await store.expire_time(b"k") == -2
    await store.set(b"k", b"1")
    assert await store.expire_time(b"k") == -1
    assert await store.persist(b"k") == 0
    await store.expire(b"k", clock.ms + 1000)
    assert await store.persist(b"k") == 1
    assert await store.expire_time(b"k") == -1


# --------------------------------------------------------------------------------------------- multi-key
async def test_mset_mget_exists_delete(store, clock):
    await store.set(b"a", b"old", expire=clock.ms + 10_000)
    assert await store.mset([(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]) is True
    assert await store.mget([b"a", b"b", b"c", b"a"]) == [b"3", b"2", None, b"3"]
    assert await store.expire_time(b"a") == -1  # MSET clears TTLs
    assert await store.exists([b"a", b"a", b"c", b"b"]) == 3
    assert await store.exists([b"a"]) == 1 and await store.exists([b"a", b"a"]) == 2
    assert await store.delete([b"a", b"a", b"c"]) == 1
    assert await store.delete([b"b"]) == 1
    assert await store.delete([b"b"]) == 0
    assert await store.mget([]) == [] and await store.exists([]) == 0 and await store.delete([]) == 0


async def test_msetnx(store, raw, table):
    assert await store.mset([(b"a", b"1"), (b"b", b"2")], nx=True) is True
    assert await store.mset([(b"c", b"3"), (b"a", b"x")], nx=True) is False
    assert await store.get(b"c") is None and await store.get(b"a") == b"1"
    assert len(rows(raw, table)) == 2


async def test_mget_non_string_is_none(store, raw, table):
    plant(raw, table, "h", {"a": 1})
    await store.set(b"s", b"v")
    assert await store.mget([b"h", b"s"]) == [None, b"v"]
    assert await store.mget([b"h"]) == [None]


# --------------------------------------------------------------------------------------------- modify
async def test_modify_keeps_ttl_and_returns_result(store, clock):
    at = clock.ms + 60_000
    await store.set(b"n", b"41", expire=at)
    assert await store.modify(b"n", incr) == 42
    assert await store.get(b"n") == b"42"
    assert await store.expire_time(b"n") == at
    assert await store.modify(b"fresh", incr) == 1
    assert await store.expire_time(b"fresh") == -1


async def test_modify_write_nothing_and_errors(store, raw, table):
    assert await store.modify(b"k", lambda old: (None, "r")) == "r"
    assert await store.exists([b"k"]) == 0

    class Boom(Exception):
        pass

    def boom(old):
        raise Boom()

    await store.set(b"k", b"1")
    with pytest.raises(Boom):
        await store.modify(b"k", boom)
    assert await store.get(b"k") == b"1"
    plant(raw, table, "h", [1, 2])
    called = []
    with pytest.raises(WrongType):
        await store.modify(b"h", lambda old: called.append(old) or (b"x", None))
    assert called == []
    assert msgpack.unpackb(rows(raw, table)[0][1]) == [1, 2]


# --------------------------------------------------------------------------------------------- getdel / getex
async def test_getdel(store, raw, table):
    await store.set(b"k", b"v")
    assert await store.getdel(b"k") == b"v"
    assert await store.getdel(b"k") is None
    plant(raw, table, "h", {"a": 1})
    with pytest.raises(WrongType):
        await store.getdel(b"h")
    assert len(rows(raw, table)) == 1  # not deleted


async def test_getex(store, clock, raw, table):
    await store.set(b"k", b"v")
    assert await store.getex(b"k", KEEP) == b"v"
    assert await store.expire_time(b"k") == -1
    at = clock.ms + 5000
    assert await store.getex(b"k", at) == b"v"
    assert await store.expire_time(b"k") == at
    assert await store.getex(b"k", None) == b"v"
    assert await store.expire_time(b"k") == -1
    assert await store.getex(b"k", clock.ms) == b"v"  # past: returns the value and deletes
    assert await store.get(b"k") is None
    assert await store.getex(b"missing", at) is None
    plant(raw, table, "h", True)
    with pytest.raises(WrongType):
        await store.getex(b"h", at)
    assert rows(raw, table)[0][2] is None


# --------------------------------------------------------------------------------------------- keyspace
async def test_type_and_foreign_rows(store, raw, table):
    plant(raw, table, "str", "héllo")
    plant(raw, table, "int", 42)
    plant(raw, table, "neg", -7)
    plant(raw, table, "float", 1.5)
    plant(raw, table, "float3", 3.0)
    plant(raw, table, "big", 1e20)
    plant(raw, table, "map", {"a": 1, 2: "b"})
    plant(raw, table, "arr", [1, 2])
    plant(raw, table, "nil", None)
    plant(raw, table, "garbage", None, packed=b"\xc1\x00")
    plant(raw, table, "trailing", None, packed=msgpack.packb(b"x") + b"y")
    plant(raw, table, "truncated", None, packed=b"\xc4\x05ab")
    plant(raw, table, "legacy", None, packed=msgpack.packb(b"\xff\xfeab", use_bin_type=False))
    assert await store.get(b"str") == "héllo".encode()
    assert await store.get(b"int") == b"42" and await store.get(b"neg") == b"-7"
    assert await store.get(b"float") == b"1.5" and await store.get(b"float3") == b"3"
    assert await store.get(b"big") == b"100000000000000000000"
    assert await store.get(b"legacy") == b"\xff\xfeab"
    assert await store.modify(b"int", incr) == 43  # INCR works on a foreign integer
    assert await store.get(b"int") == b"43"
    for k in (b"map", b"arr", b"nil"):
        with pytest.raises(WrongType):
            await store.get(k)
    for k in (b"garbage", b"trailing", b"truncated"):
        with pytest.raises(CorruptValue) as ei:
            await store.get(k)
        assert ei.value.store_id == "test:sql" and ei.value.key == k and ei.value.reason
    assert await store.type(b"str") == b"string" and await store.type(b"float") == b"string"
    assert await store.type(b"map") == b"hash" and await store.type(b"arr") == b"list"
    assert await store.type(b"missing") == b"none"
    assert await store.mget([b"map", b"str"]) == [None, "héllo".encode()]
    assert await store.dump(b"map") == (msgpack.packb({"a": 1, 2: "b"}), None)  # COPY/MOVE carry any payload
    assert await store.read(b"map", b"hash") == {b"a": b"1", b"2": b"b"}  # a foreign map of scalars is a hash


async def test_keys_patterns(store):
    names = [b"user:1", b"user:2", b"user:10", b"u%er", b"u_er", b"usr", b"a\\b", b"h\xc3\xa9llo", b"x*y"]
    for k in names:
        await store.set(k, b"1")
    assert sorted(await store.keys(b"*")) == sorted(names)
    assert sorted(await store.keys(b"user:*")) == [b"user:1", b"user:10", b"user:2"]
    assert sorted(await store.keys(b"user:?")) == [b"user:1", b"user:2"]
    assert sorted(await store.keys(b"user:[0-1]*")) == [b"user:1", b"user:10"]
    assert await store.keys(b"u%er") == [b"u%er"]  # LIKE wildcards in the prefix are escaped
    assert await store.keys(b"u_er") == [b"u_er"]
    assert sorted(await store.keys(b"u?er")) == [b"u%er", b"u_er"]
    assert await store.keys(b"a\\\\b") == [b"a\\b"]
    assert await store.keys(b"x\\*y") == [b"x*y"]
    assert await store.keys(b"h\xc3\xa9*") == [b"h\xc3\xa9llo"]
    assert await store.keys(b"h\xc3*") == [b"h\xc3\xa9llo"]  # a character cut by the glob: prefix trimmed
    assert await store.keys(b"h??llo") == [b"h\xc3\xa9llo"]  # ? is one byte, as in Redis
    assert await store.keys(b"\xff*") == []
    assert await store.keys(b"nomatch*") == []


async def test_scan_full_iteration_with_inserts(store):
    present = {b"k%03d" % i for i in range(250)}
    await store.mset([(k, b"v") for k in present])
    seen: list[bytes] = []
    cursor, added = 0, 0
    while True:
        cursor, page = await store.scan(cursor, None, 17, None)
        assert len(page) <= 17
        seen.extend(page)
        # writes during the iteration: new keys before and after the position, deletes of extra keys
        await store.set(b"a-new-%d" % added, b"v")
        await store.set(b"z-new-%d" % added, b"v")
        added += 1
        if cursor == 0:
            break
    assert present <= set(seen)
    assert len([k for k in seen if k in present]) == len(present)  # each exactly once
    assert added > 10


async def test_scan_match_type_and_cursors(store, raw, table):
    for i in range(30):
        await store.set(b"s:%02d" % i, b"v")
    plant(raw, table, "h:1", {"a": 1})
    cursor, out = 0, []
    while True:
        cursor, page = await store.scan(cursor, b"s:1*", 7, None)
        out += page
        if cursor == 0:
            break
    assert sorted(out) == [b"s:1%d" % i for i in range(10)]
    cursor, out = 0, []
    while True:
        cursor, page = await store.scan(cursor, None, 1000, b"HASH")
        out += page
        if cursor == 0:
            break
    assert out == [b"h:1"]
    assert (await store.scan(0, None, 1000, b"nosuchtype"))[1] == []
    # small keyspace: one page, cursor 0
    c, page = await store.scan(0, None, 1000, None)
    assert c == 0 and len(page) == 31
    # an unknown cursor restarts the iteration (documented)
    c, page = await store.scan(123456789, None, 1000, None)
    assert c == 0 and len(page) == 31


async def test_randomkey_dbsize_stats(store, clock):
    assert await store.randomkey() is None
    assert await store.dbsize() == 0 and await store.stats() == (0, 0)
    await store.mset([(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])
    await store.expire(b"a", clock.ms + 10_000)
    assert await store.dbsize() == 3 and await store.stats() == (3, 1)
    seen = {await store.randomkey() for _ in range(40)}
    assert seen <= {b"a", b"b", b"c"} and len(seen) >= 2


async def test_dump_restore(store, clock):
    at = clock.ms + 10_000
    await store.set(b"k", b"v", expire=at)
    assert await store.dump(b"k") == (msgpack.packb(b"v"), at)  # the payload: COPY/MOVE carry any type
    assert await store.dump(b"missing") is None
    assert await store.restore(b"k2", msgpack.packb(b"v2"), at, False) is True
    assert await store.restore(b"k2", msgpack.packb(b"v3"), None, False) is False
    assert await store.get(b"k2") == b"v2" and await store.expire_time(b"k2") == at
    assert await store.restore(b"k2", msgpack.packb(b"v3"), None, True) is True
    assert await store.get(b"k2") == b"v3" and await store.expire_time(b"k2") == -1


async def test_rename(store, clock, raw, table):
    at = clock.ms + 10_000
    await store.set(b"a", b"1", expire=at)
    await store.set(b"b", b"2")
    assert await store.rename(b"a", b"b") is True
    assert await store.get(b"b") == b"1" and await store.expire_time(b"b") == at
    assert await store.get(b"a") is None
    with pytest.raises(NoSuchKey):
        await store.rename(b"a", b"c")
    with pytest.raises(NoSuchKey):
        await store.rename(b"a", b"a")
    assert await store.rename(b"b", b"b") is True
    assert await store.rename(b"b", b"b", nx=True) is False
    await store.set(b"c", b"3")
    assert await store.rename(b"b", b"c", nx=True) is False
    assert await store.get(b"b") == b"1" and await store.get(b"c") == b"3"
    assert await store.rename(b"b", b"d", nx=True) is True
    assert await store.get(b"d") == b"1" and await store.expire_time(b"d") == at
    plant(raw, table, "h", {"x": 1})
    assert await store.rename(b"h", b"h2") is True  # any type moves
    assert await store.type(b"h2") == b"hash"
    # RENAME holds dst's place with an expired row while it works: none is left behind by a failed RENAME
    # (own transaction, or inside a user transaction), whichever side of src dst sorts on
    for src, dst in ((b"m", b"0"), (b"m", b"z")):
        with pytest.raises(NoSuchKey):
            await store.rename(src, dst)
        async with store.transaction():
            with pytest.raises(NoSuchKey):
                await store.rename(src, dst)
            await store.set(b"other", b"1")
        assert await store.rename(b"d", src, nx=True) is True  # src exists now, dst is absent
        assert await store.rename(src, dst, nx=True) is True
        assert await store.get(dst) == b"1" and await store.expire_time(dst) == at
        assert await store.rename(dst, b"d") is True
    assert raw.execute('SELECT key FROM "%s" WHERE key IN (\'m\', \'0\', \'z\')' % table).fetchall() == []


async def test_copy(store, clock):
    at = clock.ms + 10_000
    await store.set(b"a", b"1", expire=at)
    assert await store.copy(b"a", b"b") is True
    assert await store.get(b"b") == b"1" and await store.expire_time(b"b") == at
    await store.set(b"c", b"3")
    assert await store.copy(b"a", b"c") is False
    assert await store.get(b"c") == b"3"
    assert await store.copy(b"a", b"c", replace=True) is True
    assert await store.get(b"c") == b"1"
    assert await store.copy(b"missing", b"x") is False
    assert await store.copy(b"a", b"a") is False


async def test_flush_only_this_table(store, pg_server, clock, table):
    other = SQLStore("test:other", make_db(pg_server.dsn), table_name=table + "_o", create_table=True)
    await other.start()
    try:
        await store.mset([(b"a", b"1"), (b"b", b"2")])
        await other.set(b"a", b"x")
        w = Watcher()
        store.watches.add(b"zzz", w)
        await store.flush()
        assert w.dirty
        assert await store.dbsize() == 0
        assert await other.get(b"a") == b"x"
    finally:
        await other.aclose()


async def test_watches_touched_on_changes_only(store, clock):
    w = Watcher()
    store.watches.add(b"k", w)
    await store.set(b"k", b"1", cond="XX")
    assert not w.dirty
    await store.set(b"k", b"1")
    assert w.dirty
    for op in (lambda: store.modify(b"k", incr), lambda: store.expire(b"k", clock.ms + 1000),
               lambda: store.persist(b"k"), lambda: store.delete([b"k"]), lambda: store.mset([(b"k", b"2")]),
               lambda: store.getdel(b"k")):
        w.dirty = False
        await op()
        assert w.dirty
    w.dirty = False
    await store.set(b"k", b"1", cond="XX")
    await store.delete([b"k"])
    await store.persist(b"k")
    assert not w.dirty


# --------------------------------------------------------------------------------------------- transactions
async def test_transaction_commit_and_isolation(store):
    seen_inside = []
    go, done = trio.Event(), trio.Event()

    async def other_client():  # started outside the transaction: its context has no transaction
        await go.wait()
        seen_inside.append(await store.get(b"a"))
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other_client)
        async with store.transaction():
            await store.set(b"a", b"1")
            assert await store.modify(b"n", incr) == 1
            await store.mset([(b"b", b"2")], nx=True)
            go.set()
            await done.wait()  # the other client does not see uncommitted writes
            assert await store.get(b"a") == b"1"
    assert seen_inside == [None]
    assert await store.mget([b"a", b"n", b"b"]) == [b"1", b"1", b"2"]


async def test_transaction_rollback(store):
    await store.set(b"a", b"orig")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.transaction():
            await store.set(b"a", b"changed")
            await store.set(b"b", b"new")
            assert await store.get(b"a") == b"changed"
            raise Boom()
    assert await store.get(b"a") == b"orig" and await store.get(b"b") is None
    # errors of single operations inside do not abort the transaction (EXEC semantics)
    async with store.transaction():
        await store.set(b"c", b"1")
        with pytest.raises(WrongType):
            await store.modify(b"a", lambda old: (_ for _ in ()).throw(WrongType()))
        assert await store.mset([(b"c", b"x"), (b"d", b"y")], nx=True) is False
        with pytest.raises(NoSuchKey):
            await store.rename(b"zz", b"yy")
        assert await store.rename(b"a", b"c", nx=True) is False
    assert await store.mget([b"c", b"d", b"a"]) == [b"1", None, b"orig"]


# --------------------------------------------------------------------------------------------- two nodes
@asynccontextmanager
async def two_nodes(pg_server, table):
    """Two started stores on one table, each with its own database pool: two respd nodes."""
    stores = [SQLStore("test:sql", make_db(pg_server.dsn, pool_max=4), table_name=table, create_table=True)
              for _ in range(2)]
    for s in stores:
        await s.start()
    try:
        yield stores
    finally:
        for s in stores:
            await s.aclose()


async def test_two_nodes_racing_incr_adds_up(pg_server, clock, table):
    async with two_nodes(pg_server, table) as stores:
        async def worker(s, n):
            for _ in range(n):
                await s.modify(b"ctr", incr)

        async with trio.open_nursery() as nursery:
            for s in stores:
                for _ in range(8):
                    nursery.start_soon(worker, s, 15)
        assert await stores[0].get(b"ctr") == b"240"


async def test_two_nodes_racing_set_nx_one_winner(pg_server, clock, table):
    async with two_nodes(pg_server, table) as stores:
        for round_ in range(5):
            key = b"lock:%d" % round_
            if round_ % 2:  # over an expired row
                await stores[0].set(key, b"dead", expire=clock.ms + 1)
                clock.advance(0.01)
            wins = []

            async def contender(s, i):
                ok, _ = await s.set(key, b"%d" % i, cond="NX", expire=clock.ms + 60_000)
                if ok:
                    wins.append(i)

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(contender, stores[i % 2], i)
            assert len(wins) == 1
            assert await stores[1].get(key) == b"%d" % wins[0]
        # MSETNX racing on overlapping keys: exactly one writer wins
        results = []

        async def msetnx(s, i):
            results.append((i, await s.mset([(b"m1", b"%d" % i), (b"m2", b"%d" % i)], nx=True)))

        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(msetnx, stores[i % 2], i)
        winners = [i for i, ok in results if ok]
        assert len(winners) == 1
        assert await stores[0].mget([b"m1", b"m2"]) == [b"%d" % winners[0]] * 2


async def test_concurrent_clients_are_batched(store):
    results = {}

    async def client(i):
        for j in range(10):
            await store.set(b"c%d" % i, b"%d" % j)
            results[i] = await store.get(b"c%d" % i)

    async with trio.open_nursery() as nursery:
        for i in range(40):
            nursery.start_soon(client, i)
    assert results == {i: b"9" for i in range(40)}
    st = store.db.stats
    assert st["batches"] < st["ops"]  # some statements shared a round trip


async def test_cancelled_callers_do_not_break_others(store):
    await store.set(b"k", b"v")
    ok = []

    async def reader():
        for _ in range(20):
            assert await store.get(b"k") == b"v"
        ok.append(1)

    async def impatient():
        for i in range(20):
            with trio.move_on_after(0.0005 * (i % 4)):
                await store.set(b"x%d" % i, b"v")

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(reader)
            nursery.start_soon(impatient)
    assert len(ok) == 5
    assert await store.get(b"k") == b"v"


# --------------------------------------------------------------------------------------------- schemas
async def test_custom_names_and_schema_qualified_table(pg_server, clock, raw):
    raw.execute("CREATE SCHEMA IF NOT EXISTS app")
    raw.execute("DROP TABLE IF EXISTS app.cache")
    raw.execute("CREATE TABLE app.cache (id VARCHAR(64) PRIMARY KEY, payload BYTEA NOT NULL, ttl BIGINT, extra INT)")
    s = SQLStore("test:custom", make_db(pg_server.dsn), table_name="app.cache", id_column_name="id",
                 payload_column_name="payload", expire_column_name="ttl")
    await s.start()
    try:
        assert s.key_column.type == "varchar" and s.key_column.max == 64
        await s.set(b"k", b"v", expire=clock.ms + 1000)
        assert await s.get(b"k") == b"v"
        assert raw.execute("SELECT id, ttl IS NOT NULL FROM app.cache").fetchall() == [("k", True)]
        with pytest.raises(InvalidKey):
            await s.set(b"x" * 65, b"v")
        assert "app" in schema_ddl(s) and '"payload" BYTEA NOT NULL' in schema_ddl(s)
    finally:
        await s.aclose()


@pytest.mark.parametrize("field", ["table_name", "id_column_name", "payload_column_name", "expire_column_name"])
@pytest.mark.parametrize("bad", ["1abc", "a-b", "x;drop", "", "a" * 64, 'we"ird', "a.b.c", "a b"])
async def test_invalid_identifier_rejected(field, bad):
    with pytest.raises(ValueError, match="invalid identifier"):
        SQLStore("s", make_db("host=127.0.0.1"), **dict({"table_name": "kv"}, **{field: bad}))


async def test_missing_table_and_column_errors(pg_server, clock, raw, table):
    s = SQLStore("app:persistent", make_db(pg_server.dsn), table_name=table)
    with pytest.raises(SchemaError) as ei:
        await s.start()
    assert str(ei.value).startswith('store app:persistent: table "%s" does not exist' % table)
    raw.execute('CREATE TABLE "%s" (key VARCHAR(255) PRIMARY KEY, value BYTEA NOT NULL)' % table)
    with pytest.raises(SchemaError) as ei:
        await s.start()
    assert str(ei.value) == 'store app:persistent: table "%s" has no column "expires_at"' % table
    raw.execute('ALTER TABLE "%s" ADD COLUMN expires_at TEXT' % table)
    with pytest.raises(SchemaError, match="must be BIGINT"):
        await s.start()
    raw.execute('DROP TABLE "%s"' % table)
    raw.execute('CREATE TABLE "%s" (key TEXT, value BYTEA NOT NULL, expires_at BIGINT)' % table)
    with pytest.raises(SchemaError, match="PRIMARY KEY or UNIQUE"):
        await s.start()
    raw.execute('ALTER TABLE "%s" ADD PRIMARY KEY (key)' % table)
    await s.start()
    try:
        assert s.key_column.type == "text" and s.key_column.max is None
        await s.set(b"x" * 1000, b"v")  # TEXT: no length limit
        assert await s.get(b"x" * 1000) == b"v"
    finally:
        await s.aclose()


async def test_create_table_makes_index(store, raw, table):
    idx = raw.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,)).fetchall()
    defs = " ".join(d for (d,) in idx)
    assert "(expires_at) WHERE (expires_at IS NOT NULL)" in defs


# --------------------------------------------------------------------------------------------- keys
async def test_invalid_keys_rejected_before_sql(store, raw, table):
    bad = [b"\xff\xfe", b"a\x00b", b"x" * 256, "é".encode() * 256, b"\xed\xa0\x80"]  # last: a UTF-16 surrogate
    for key in bad:
        for op in (lambda k: store.set(k, b"v"), lambda k: store.get(k), lambda k: store.modify(k, incr),
                   lambda k: store.mset([(b"ok", b"1"), (k, b"v")]), lambda k: store.delete([k]),
                   lambda k: store.rename(b"ok", k), lambda k: store.exists([k])):
            with pytest.raises(InvalidKey) as ei:
                await op(key)
            assert ei.value.store_id == "test:sql" and ei.value.reason
    assert rows(raw, table) == []
    emoji = "😀".encode() * 255  # 255 characters, 1020 bytes: fits VARCHAR(255)
    await store.set(emoji, b"v")
    assert await store.get(emoji) == b"v"
    assert await store.keys(b"*") == [emoji]


async def test_bytea_key_column(pg_server, clock, raw, table):
    raw.execute('CREATE TABLE "%s" (key BYTEA PRIMARY KEY, value BYTEA NOT NULL, expires_at BIGINT)' % table)
    s = SQLStore("test:bin", make_db(pg_server.dsn), table_name=table)
    await s.start()
    try:
        assert s.key_column.type == "bytea"
        keys = [b"\xff\xfe", b"a\x00b", b"x" * 1000, b"p%_\\", b"p%_\\x"]
        for k in keys:
            await s.set(k, k)
        for k in keys:
            assert await s.get(k) == k
        assert sorted(await s.keys(b"*")) == sorted(keys)
        assert sorted(await s.keys(b"p%_\\\\*")) == [b"p%_\\", b"p%_\\x"]
        assert await s.keys(b"\xff*") == [b"\xff\xfe"]
        assert await s.mget([b"\xff\xfe", b"nope"]) == [b"\xff\xfe", None]
        assert await s.exists(keys + keys[:1]) == 6
        c, page = await s.scan(0, None, 100, None)
        assert sorted(page) == sorted(keys)
        assert await s.modify(b"\x00n", incr) == 1
        assert await s.rename(b"\x00n", b"\x01n") is True
        assert await s.delete(keys) == 5
    finally:
        await s.aclose()


@pytest.mark.parametrize("key_type", ["varchar", "bytea"])
async def test_many_key_statements_probe_the_index_without_statistics(pg_server, clock, raw, table, key_type):
    """A table autovacuum has not analyzed yet (a new store's first minute): the planner guessed it small and
    ran "key = ANY(array)" as a sequential scan of every row. Each multi-key statement must probe the primary
    key instead, however the table was estimated (with 16 keys, as in a batch of GETs from 16 clients)."""
    kt = "VARCHAR(255)" if key_type == "varchar" else "BYTEA"
    raw.execute('CREATE TABLE "%s" (key %s PRIMARY KEY, value BYTEA NOT NULL, expires_at BIGINT) '
                "WITH (autovacuum_enabled = false)" % (table, kt))
    key = "'k:' || lpad(i::text, 8, '0')"
    if key_type == "bytea":
        key = "convert_to(%s, 'UTF8')" % key
    raw.execute('INSERT INTO "%s" SELECT %s, %s, NULL FROM generate_series(1, 6000) i'
                % (table, key, "'\\xc40176'::bytea"))
    assert raw.execute("SELECT reltuples FROM pg_class WHERE relname = %s", (table,)).fetchone()[0] == -1
    s = SQLStore("test:plans", make_db(pg_server.dsn), table_name=table)
    await s.start()
    try:
        assert s.key_column.type == key_type
        ks = [s.key_column.param(b"k:%08d" % i) for i in (5, 50, 500, 5000, 7000, *range(1, 12))]
        now = clock.ms
        statements = {
            "mget": (s.q.mget, (ks, now)), "merge_get": (s.q.merge_get.multi, (ks, now)),
            "merge_exp": (s.q.merge_exp.multi, (ks, now)), "merge_exists": (s.q.merge_exists.multi, (ks, now)),
            "existsn": (s.q.existsn, (ks, now)), "countn": (s.q.countn, (ks, now)),
            "lockn": (s.q.lockn, (ks,)), "deln": (s.q.deln, (ks, now)),
        }
        for name, (q, params) in statements.items():
            plan = "\n".join(r[0] for r in raw.execute(b"EXPLAIN " + q, params).fetchall())
            assert "Seq Scan" not in plan and ("Index Scan" in plan or "Tid Scan" in plan), (name, plan)
        # and they still answer right (keys 5..5000 exist, 7000 does not)
        assert await s.mget([b"k:%08d" % i for i in (5, 7000, 50)]) == [b"v", None, b"v"]
        assert await s.exists([b"k:%08d" % i for i in (5, 7000, 5000)]) == 2
        assert await s.rename(b"k:00000005", b"k:00000006") is True
        assert await s.get(b"k:00000006") == b"v" and await s.get(b"k:00000005") is None
        assert await s.delete([b"k:%08d" % i for i in (6, 50, 7000)]) == 2
        assert await s.mget([b"k:00000006", b"k:00000050", b"k:00000500"]) == [None, None, b"v"]
    finally:
        await s.aclose()


async def test_multi_key_writers_on_two_nodes_never_deadlock(pg_server, clock, table):
    """MSET, DEL of several keys and RENAME from two databases (two respd nodes) on the same few rows: all lock
    rows in ascending key order, so none may fail with a deadlock. DEL used to lock rows in the order its scan met
    them; RENAME inserted a dst that did not exist after locking src, out of order when dst sorts first."""
    keys = [b"k%d" % i for i in range(8)]
    errors: list = []

    async def worker(store, seed):
        rng = random.Random(seed)
        for _ in range(40):
            picked = rng.sample(keys, rng.randint(2, 6))
            op = rng.random()
            try:
                if op < 0.35:
                    await store.mset([(k, b"v") for k in picked])
                elif op < 0.7:
                    await store.delete(picked)
                else:
                    await store.rename(picked[0], picked[1])
            except NoSuchKey:
                pass
            except StoreUnavailable as e:
                errors.append(e)

    async with two_nodes(pg_server, table) as stores:
        async with trio.open_nursery() as nursery:
            for i in range(6):
                nursery.start_soon(worker, stores[i % 2], i)
    assert not errors


# --------------------------------------------------------------------------------------------- max_size
async def test_max_size(pg_server, clock, table):
    s = SQLStore("test:small", make_db(pg_server.dsn), table_name=table, create_table=True, max_size=3)
    await s.start()
    try:
        await s.mset([(b"a", b"1"), (b"b", b"2")])
        with pytest.raises(StoreFull) as ei:
            await s.mset([(b"c", b"3"), (b"d", b"4")])
        assert ei.value.limit == 3 and ei.value.store_id == "test:small"
        assert await s.dbsize() == 2
        await s.set(b"c", b"3")
        with pytest.raises(StoreFull):
            await s.set(b"d", b"4")
        with pytest.raises(StoreFull):
            await s.modify(b"d", incr)
        with pytest.raises(StoreFull):
            await s.copy(b"a", b"d")
        with pytest.raises(StoreFull):
            await s.mset([(b"d", b"1")], nx=True)
        assert await s.get(b"d") is None
        # updates of existing keys pass
        assert await s.set(b"a", b"x") == (True, None)
        assert await s.modify(b"b", incr) == 3
        await s.mset([(b"a", b"y"), (b"c", b"z")])
        assert await s.copy(b"a", b"c", replace=True) is True
        # an expired key frees its slot
        await s.expire(b"c", clock.ms + 10)
        clock.advance(1)
        assert await s.set(b"d", b"4") == (True, None)
        assert await s.dbsize() == 3
    finally:
        await s.aclose()


# --------------------------------------------------------------------------------------------- cleanup
async def test_cleanup_deletes_expired_rows(store, clock, raw, table):
    await store.mset([(b"k%d" % i, b"v") for i in range(2500)])
    for i in range(2300):
        await store.expire(b"k%d" % i, clock.ms + 1000)
    await store.set(b"later", b"v", expire=clock.ms + 100_000)
    clock.advance(2)
    assert await store.cleanup_once(batch=1000) == 2300
    n = raw.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0]
    assert n == 201 and await store.dbsize() == 201
    assert await store.get(b"later") == b"v"


async def test_cleanup_reports_each_expired_key_once(store, clock):
    """With ``on_expired`` set (expired-key notifications), the cleanup names every row it deletes, once, keys
    binary-safe as the column gives them back; without it, it only counts."""
    heard = []
    store.on_expired = heard.append
    try:
        await store.mset([(b"e%d" % i, b"v") for i in range(25)] + [(b"stay", b"v")])
        for i in range(25):
            await store.expire(b"e%d" % i, clock.ms + 1000)
        clock.advance(2)
        assert await store.cleanup_once(batch=10) == 25
        assert sorted(heard) == sorted(b"e%d" % i for i in range(25))
        assert await store.cleanup_once() == 0 and len(heard) == 25
    finally:
        store.on_expired = None
    await store.set(b"x", b"v", expire=clock.ms + 1000)
    clock.advance(2)
    assert await store.cleanup_once() == 1 and len(heard) == 25


async def test_run_cleanup_loop(pg_server, clock, table, raw):
    s = SQLStore("test:clean", make_db(pg_server.dsn), table_name=table, create_table=True, cleanup_interval=0.05)
    await s.start()
    try:
        await s.set(b"a", b"1", expire=clock.ms + 10)
        await s.set(b"b", b"1")
        clock.advance(1)
        with trio.move_on_after(1.0):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(s.run_cleanup)
                while raw.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0] != 1:
                    await trio.sleep(0.02)
                nursery.cancel_scope.cancel()
        assert raw.execute('SELECT key FROM "%s"' % table).fetchall() == [("b",)]
    finally:
        await s.aclose()
    # interval 0: returns at once
    s0 = SQLStore("test:noclean", make_db(pg_server.dsn), table_name=table)
    with trio.fail_after(1):
        await s0.run_cleanup()


async def test_schema_ddl_text():
    s = SQLStore("s", make_db("host=127.0.0.1"), table_name="public.kv", id_column_name="k",
                 payload_column_name="v", expire_column_name="exp")
    assert schema_ddl(s) == (
        'CREATE TABLE IF NOT EXISTS "public"."kv" (\n'
        '    "k" VARCHAR(255) PRIMARY KEY,\n'
        '    "v" BYTEA NOT NULL,\n'
        '    "exp" BIGINT\n'
        ');\n'
        'CREATE INDEX IF NOT EXISTS "kv_exp_idx" ON "public"."kv" ("exp") WHERE "exp" IS NOT NULL;\n')


async def test_stores_sharing_a_database(pg_server, clock, table):
    db = make_db(pg_server.dsn)
    a = SQLStore("test:a", db, table_name=table + "_a", create_table=True)
    b = SQLStore("test:b", db, table_name=table + "_b", create_table=True)
    await a.start()
    await b.start()
    await a.start()  # idempotent
    await a.set(b"k", b"a")
    await b.set(b"k", b"b")
    await a.aclose()
    await a.aclose()  # idempotent: does not release b's use of the pool
    assert await b.get(b"k") == b"b"  # the pool stays open while b uses it
    await b.aclose()
    with pytest.raises(StoreUnavailable):
        await b.get(b"k")


async def test_concurrent_reads_merged_per_batch(store, clock, raw, table):
    await store.mset([(b"p%d" % i, b"v%d" % i) for i in range(0, 30, 2)])  # even keys present
    await store.expire(b"p4", clock.ms + 10)
    await store.expire(b"p6", clock.ms + 60_000)
    plant(raw, table, "hash", {"a": 1})
    clock.advance(1)  # p4 expired
    got = {}

    async def reader(i):
        k = b"p%d" % (i % 30)
        got[("get", i)] = await store.get(k)
        got[("exists", i)] = await store.exists([k])
        got[("ttl", i)] = await store.expire_time(k)
        got[("type", i)] = await store.type(k)

    async def hash_reader():
        with pytest.raises(WrongType):
            await store.get(b"hash")
        got["hash"] = await store.type(b"hash")

    store.db.stats.update(ops=0, batches=0)
    async with trio.open_nursery() as nursery:
        for i in range(60):
            nursery.start_soon(reader, i)
        nursery.start_soon(hash_reader)
    for i in range(60):
        n = i % 30
        live = n % 2 == 0 and n != 4
        assert got[("get", i)] == (b"v%d" % n if live else None)
        assert got[("exists", i)] == (1 if live else 0)
        assert got[("ttl", i)] == ((clock.ms - 1000 + 60_000) if n == 6 else -1 if live else -2)
        assert got[("type", i)] == (b"string" if live else b"none")
    assert got["hash"] == b"hash"
    assert store.db.stats["batches"] < store.db.stats["ops"]


async def test_concurrent_sets_merged_per_batch(store, clock):
    at = clock.ms + 50_000

    async def writer(i):
        k = b"w%d" % (i % 25)
        await store.set(k, b"%d" % i, expire=at if i % 3 == 0 else None)

    async def nx_writer(i):  # other writes in the same batches: those batches are not merged
        await store.set(b"nx%d" % i, b"x", cond="NX")

    store.db.stats.update(ops=0, batches=0)
    async with trio.open_nursery() as nursery:
        for i in range(25):  # one write per key: every outcome is known
            nursery.start_soon(writer, i)
    for i in range(25):
        assert await store.get(b"w%d" % i) == b"%d" % i
        assert await store.expire_time(b"w%d" % i) == (at if i % 3 == 0 else -1)
    assert store.db.stats["batches"] < store.db.stats["ops"]
    async with trio.open_nursery() as nursery:
        for i in range(25, 100):  # several writes per key: one of them wins, with its own TTL
            nursery.start_soon(writer, i)
            nursery.start_soon(nx_writer, i % 10)
    for i in range(25):
        v = int(await store.get(b"w%d" % i))
        assert v % 25 == i
        assert await store.expire_time(b"w%d" % i) == (at if v % 3 == 0 else -1)
    assert await store.mget([b"nx%d" % i for i in range(10)]) == [b"x"] * 10
