"""The collection operations every store kind shares (``Store.read``, ``read_many``, ``update``, ``update_many``,
``dump``/``restore`` of any type): the contract the hash and set commands stand on, checked at the store's level.
The commands themselves: tests/unit/hash_command_cases.py and set_command_cases.py.

A suite for every store kind: collected by tests/unit/test_any_store.py (memory) and tests/sql/test_any_store.py.
"""
from __future__ import annotations

import pytest

from backends.base import WRONG, StoreFull, WrongType
from backends import codec
from backends.values import HASH, SET, Hash, Members
from respd.commands.table import is_pending


async def _do(r):
    return (await r) if is_pending(r) else r


def _hset(pairs):
    def fn(h):
        h.update(pairs)
        return True, len(pairs)
    return fn


def _sadd(*members):
    def fn(s):
        s.update(members)
        return True, len(members)
    return fn


async def test_update_creates_reads_and_types_collections(make_store):
    s = await make_store("t:coll")
    assert await _do(s.update(b"h", HASH, _hset({b"f": b"v", b"n": b"1"}))) == 2
    assert await _do(s.update(b"s", SET, _sadd(b"3", b"1", b"2"))) == 3
    h = await _do(s.read(b"h", HASH))
    assert type(h) is Hash and h == {b"f": b"v", b"n": b"1"} and h.compact
    m = await _do(s.read(b"s", SET))
    assert type(m) is Members and m == {b"1", b"2", b"3"} and m.intset and m.ordered() == [b"1", b"2", b"3"]
    assert await _do(s.type(b"h")) == b"hash" and await _do(s.type(b"s")) == b"set"
    assert await _do(s.read(b"missing", HASH)) is None
    for key, kind in ((b"h", SET), (b"s", HASH)):
        with pytest.raises(WrongType):
            await _do(s.read(key, kind))
    with pytest.raises(WrongType):
        await _do(s.get(b"h"))
    await _do(s.set(b"str", b"x"))
    with pytest.raises(WrongType):
        await _do(s.update(b"str", HASH, _hset({b"a": b"b"})))
    assert await _do(s.get(b"str")) == b"x"
    assert await _do(s.read_many([b"s", b"h", b"nope", b"str"], SET)) == [m, WRONG, None, WRONG]
    assert (await _do(s.scan(0, None, 100, b"hash")))[1] == [b"h"]
    assert (await _do(s.scan(0, None, 100, b"set")))[1] == [b"s"]


async def test_unchanged_writes_nothing_and_emptied_collections_disappear(make_store):
    s = await make_store("t:coll")
    assert await _do(s.update(b"h", HASH, lambda h: (False, "no"))) == "no"
    assert await _do(s.exists([b"h"])) == 0
    await _do(s.update(b"h", HASH, _hset({b"f": b"v"})))

    def drop(h):
        h.clear()
        return True, "gone"
    assert await _do(s.update(b"h", HASH, drop)) == "gone"
    assert await _do(s.exists([b"h"])) == 0 and await _do(s.type(b"h")) == b"none"


async def test_update_keeps_the_ttl_and_put_clears_it(make_store, clock):
    s = await make_store("t:coll")
    await _do(s.update(b"s", SET, _sadd(b"a")))
    await _do(s.update(b"d", SET, _sadd(b"z")))
    at = clock.ms + 100_000
    assert await _do(s.expire(b"s", at)) == 1 and await _do(s.expire(b"d", at)) == 1
    await _do(s.update(b"s", SET, _sadd(b"b")))
    assert await _do(s.expire_time(b"s")) == at

    def move(v):  # SMOVE's shape: create/put the destination, then change the source in place
        src, dst = v.get(b"s", SET), v.get(b"d", SET)
        dst.add(b"a")
        v.changed(b"d")
        src.discard(b"a")
        v.changed(b"s")
        v.put(b"new", Members([b"q"]))
        return "moved"
    assert await _do(s.update_many([b"s", b"d", b"new"], [], move)) == "moved"
    assert await _do(s.read(b"s", SET)) == {b"b"} and await _do(s.read(b"d", SET)) == {b"z", b"a"}
    assert await _do(s.expire_time(b"s")) == at and await _do(s.expire_time(b"d")) == at
    assert await _do(s.read(b"new", SET)) == {b"q"} and await _do(s.expire_time(b"new")) == -1

    def store_over(v):  # SINTERSTORE's shape: read sources, replace the destination whatever it held
        a = v.get(b"s", SET)
        v.put(b"d", Members(a))
        return len(a)
    assert await _do(s.update_many([b"d"], [b"s"], store_over)) == 1
    assert await _do(s.read(b"d", SET)) == {b"b"} and await _do(s.expire_time(b"d")) == -1

    def empty_out(v):
        v.put(b"d", Members())
        return 0
    await _do(s.update_many([b"d"], [], empty_out))
    assert await _do(s.exists([b"d"])) == 0


async def test_a_new_collection_past_max_size_is_refused_with_nothing_written(make_store):
    s = await make_store("t:coll", max_size=1)
    await _do(s.set(b"a", b"1"))
    with pytest.raises(StoreFull):
        await _do(s.update(b"h", HASH, _hset({b"f": b"v"})))
    assert await _do(s.exists([b"h"])) == 0
    with pytest.raises(StoreFull):
        await _do(s.update_many([b"x"], [], lambda v: v.put(b"x", Members([b"m"]))))
    assert await _do(s.exists([b"x"])) == 0 and await _do(s.dbsize()) == 1


async def test_encodings_follow_redis_thresholds(make_store):
    s = await make_store("t:coll")
    await _do(s.update(b"h", HASH, _hset({b"f": b"x" * 64})))
    assert (await _do(s.read(b"h", HASH))).compact
    await _do(s.update(b"h", HASH, _hset({b"g": b"x" * 65})))
    assert not (await _do(s.read(b"h", HASH))).compact
    await _do(s.update(b"big", HASH, _hset({b"f%d" % i: b"v" for i in range(513)})))
    assert not (await _do(s.read(b"big", HASH))).compact
    await _do(s.update(b"s", SET, _sadd(*[b"%d" % i for i in range(512)])))
    assert (await _do(s.read(b"s", SET))).intset
    await _do(s.update(b"s", SET, _sadd(b"-7")))
    assert not (await _do(s.read(b"s", SET))).intset
    await _do(s.update(b"t", SET, _sadd(b"1", b"01")))
    assert not (await _do(s.read(b"t", SET))).intset


async def test_copies_and_dumps_are_independent_values(make_store):
    s = await make_store("t:coll")
    await _do(s.update(b"big", HASH, _hset({b"f%d" % i: b"v" for i in range(600)})))
    await _do(s.update(b"s", SET, _sadd(b"a")))
    assert await _do(s.copy(b"big", b"big2")) and await _do(s.copy(b"s", b"s2"))
    await _do(s.update(b"big2", HASH, _hset({b"extra": b"1"})))
    await _do(s.update(b"s2", SET, _sadd(b"b")))
    assert len(await _do(s.read(b"big", HASH))) == 600 and await _do(s.read(b"s", SET)) == {b"a"}
    other = await make_store("t:other")
    for key in (b"big", b"s"):
        payload, exp = await _do(s.dump(key))
        assert await _do(other.restore(key, payload, exp, False))
    assert await _do(other.read(b"big", HASH)) == await _do(s.read(b"big", HASH))
    assert await _do(other.read(b"s", SET)) == {b"a"} and await _do(other.type(b"s")) == b"set"


async def test_object_and_type_commands_see_collections(session, call):
    """OBJECT's subcommands read any type (they read the key as a string before: a hash or set answered
    WRONGTYPE); names and thresholds as redis-server 7.0.15 reports them."""
    s = session.store
    await _do(s.update(b"h", HASH, _hset({b"f": b"v"})))
    await _do(s.update(b"big", HASH, _hset({b"f": b"v" * 65})))
    await _do(s.update(b"ints", SET, _sadd(b"1", b"2")))
    await _do(s.update(b"words", SET, _sadd(b"a")))
    for key, enc, typ in ((b"h", b"listpack", b"hash"), (b"big", b"hashtable", b"hash"),
                          (b"ints", b"intset", b"set"), (b"words", b"hashtable", b"set")):
        assert await call(session, [b"OBJECT", b"ENCODING", key]) == b"$%d\r\n%s\r\n" % (len(enc), enc)
        assert await call(session, [b"TYPE", key]) == b"+%s\r\n" % typ
        assert await call(session, [b"OBJECT", b"REFCOUNT", key]) == b":1\r\n"
    assert await call(session, [b"OBJECT", b"ENCODING", b"nope"]) == b"$-1\r\n"
    assert await call(session, [b"GET", b"h"]) == b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    assert (await call(session, [b"INCR", b"ints"])).startswith(b"-WRONGTYPE")
    assert await call(session, [b"COPY", b"ints", b"ints2"]) == b":1\r\n"
    assert await call(session, [b"RENAME", b"h", b"h2"]) == b"+OK\r\n"
    assert await call(session, [b"TYPE", b"h2"]) == b"+hash\r\n" and await call(session, [b"TYPE", b"ints2"]) == b"+set\r\n"
    assert await call(session, [b"MOVE", b"words", b"1"]) == b":1\r\n"
    assert await call(session, [b"SELECT", b"1"]) == b"+OK\r\n"
    assert await call(session, [b"OBJECT", b"ENCODING", b"words"]) == b"$9\r\nhashtable\r\n"


async def test_lists_are_deques_kept_in_arrays(make_store):
    """The list kind (issue 15's commands stand on it): a deque changed in place, TYPE list, Redis 7.0's quicklist
    encoding, an array payload (what a Lua array table written by the store module is), emptied lists removed."""
    from backends.values import LIST, ListValue  # lazy: the list kind is tested here alone
    s = await make_store("t:coll")

    def push(lst):
        lst.extendleft([b"a", b"b"])
        lst.append(b"c")
        return True, len(lst)
    assert await _do(s.update(b"l", LIST, push)) == 3
    got = await _do(s.read(b"l", LIST))
    assert type(got) is ListValue and list(got) == [b"b", b"a", b"c"] and await _do(s.type(b"l")) == b"list"
    payload, _ = await _do(s.dump(b"l"))
    assert payload == codec.pack([b"b", b"a", b"c"])
    with pytest.raises(WrongType):
        await _do(s.read(b"l", HASH))
    await _do(s.store(b"lua", [b"x", 7, 1.5]))  # a Lua array table, as the store module writes it
    assert list(await _do(s.read(b"lua", LIST))) == [b"x", b"7", b"1.5"]
    await _do(s.store(b"nested", [b"x", [1]]))
    with pytest.raises(WrongType) as ei:
        await _do(s.read(b"nested", LIST))
    assert "array" in ei.value.detail and "list" in ei.value.detail

    def drain(lst):
        lst.clear()
        return True, None
    await _do(s.update(b"l", LIST, drain))
    assert await _do(s.exists([b"l"])) == 0
    other = await make_store("t:other")
    assert await _do(other.restore(b"l2", payload, None, False))
    assert list(await _do(other.read(b"l2", LIST))) == [b"b", b"a", b"c"]
