"""Hashes and sets in a SQL store's rows: the payloads respd writes (what another program's msgpack decoder reads),
foreign rows read as Redis types, ``max_value_size``, and each collection write atomic across stores that share the
table (two ``SQLStore`` objects on one table are two nodes). The contract every store kind shares:
tests/unit/any_store_collections.py."""
from __future__ import annotations

import msgpack
import pytest
import trio

from backends.base import WRONG, ValueTooLarge, WrongType
from backends.sql.store import SQLStore
from backends.values import HASH, SET
from respd.errors import store_error
from tests.sql.databases import make_db
from tests.sql.test_sql_store import plant


def _row(raw, table, key):
    return raw.execute('SELECT value, expires_at FROM "%s" WHERE key = %%s' % table, (key,)).fetchone()


def _hset(pairs):
    def fn(h):
        h.update(pairs)
        return True, None
    return fn


async def test_rows_hold_plain_msgpack_a_foreign_reader_understands(store, raw, table):
    await store.update(b"h", HASH, _hset({b"theme": b"dark", b"n": b"14"}))
    await store.update(b"s", SET, lambda m: (m.update([b"a", b"b"]) or True, None))
    assert msgpack.unpackb(bytes(_row(raw, table, "h")[0])) == {b"theme": b"dark", b"n": b"14"}
    ext = msgpack.unpackb(bytes(_row(raw, table, "s")[0]))
    assert type(ext) is msgpack.ExtType and ext.code == 83 and sorted(msgpack.unpackb(ext.data)) == [b"a", b"b"]
    assert await store.type(b"s") == b"set"


async def test_foreign_rows_read_as_hashes_or_wrongtype_with_the_reason(store, raw, table):
    plant(raw, table, "prefs", {"theme": "dark", "fontSize": 14, "ratio": 1.5, "beta": True, 7: "seven"})
    plant(raw, table, "nested", {"a": {"b": 1}})
    plant(raw, table, "with-nil", {"a": None})
    assert await store.read(b"prefs", HASH) == {b"theme": b"dark", b"fontSize": b"14", b"ratio": b"1.5",
                                                b"beta": b"1", b"7": b"seven"}
    for key, what in ((b"nested", "a map as a value"), (b"with-nil", "nil as a value")):
        with pytest.raises(WrongType) as ei:
            await store.read(key, HASH)
        text = store_error(ei.value).text
        text = text.decode() if isinstance(text, bytes) else text
        assert text.startswith("WRONGTYPE Operation against a key holding the wrong kind of value: ") and what in text
        with pytest.raises(WrongType):
            await store.update(key, HASH, _hset({b"x": b"y"}))
    assert msgpack.unpackb(bytes(_row(raw, table, "nested")[0])) == {"a": {"b": 1}}  # left as it was
    assert await store.read_many([b"prefs", b"nested"], SET) == [WRONG, WRONG]
    # a change rewrites the map with bin fields and values
    await store.update(b"prefs", HASH, _hset({b"lang": b"fr"}))
    assert msgpack.unpackb(bytes(_row(raw, table, "prefs")[0]))[b"fontSize"] == b"14"


async def test_max_value_size_refuses_a_write_with_nothing_changed(pg_server, table):
    s = SQLStore("test:sql", make_db(pg_server.dsn), table_name=table, create_table=True, max_value_size=100)
    await s.start()
    try:
        await s.update(b"h", HASH, _hset({b"f": b"v"}))
        with pytest.raises(ValueTooLarge) as ei:
            await s.update(b"h", HASH, _hset({b"big": b"x" * 100}))
        assert ei.value.limit == 100 and ei.value.size > 100
        assert store_error(ei.value).text == (b"ERR the value of key 'h' would take %d bytes, over store 'test:sql' "
                                              b"max_value_size of 100 bytes" % ei.value.size)
        assert await s.read(b"h", HASH) == {b"f": b"v"}
        with pytest.raises(ValueTooLarge):
            await s.update_many([b"d"], [], lambda v: v.put(b"d", type(v.get(b"h", HASH) or {})({b"x" * 200: b""})))
        assert await s.exists([b"d"]) == 0
    finally:
        await s.aclose()


async def test_two_stores_on_one_table_increment_a_field_exactly(pg_server, table):
    """Two SQLStore objects on one table, as two respd nodes: concurrent read-modify-writes of one hash row (and of
    a missing row, which both try to create) lose nothing."""
    a = SQLStore("test:a", make_db(pg_server.dsn), table_name=table, create_table=True)
    b = SQLStore("test:b", make_db(pg_server.dsn), table_name=table)
    await a.start()
    await b.start()

    def incr(h):
        h[b"n"] = b"%d" % (int(h.get(b"n", b"0")) + 1)
        return True, None

    def add(i):
        def fn(m):
            m.add(b"m%d" % i)
            return True, None
        return fn

    async def worker(store, first):
        for i in range(first, first + 60):
            await store.update(b"counter", HASH, incr)
            await store.update(b"members", SET, add(i))

    try:
        async with trio.open_nursery() as n:
            for i, s in enumerate((a, b, a, b)):
                n.start_soon(worker, s, i * 1000)
        assert await a.read(b"counter", HASH) == {b"n": b"240"}
        assert len(await b.read(b"members", SET)) == 240
    finally:
        await a.aclose()
        await b.aclose()
