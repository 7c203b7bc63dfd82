"""Typed values on a SQL store (``Store.load``/``Store.store``, what the ``store`` module of scripts uses), seen in
the table's rows: a string is the same ``bin`` payload SET writes, anything else its plain msgpack object; rows
written by other programs (str keys and values, foreign ints) load as the Lua-ready objects. The behaviour every
store kind shares (GET/TYPE/INCR on typed values, the module's methods): tests/unit/any_store_script_store.py.
"""
from __future__ import annotations

import msgpack
import pytest

from backends.base import StoreFull
from backends.sql.store import SQLStore
from tests.sql.databases import make_db


def _rows(raw, table):
    return raw.execute('SELECT key, value, expires_at FROM "%s" ORDER BY key' % table).fetchall()


async def test_store_writes_the_payloads_set_writes(store, raw, table, clock):
    await store.set(b"s1", b"bin\x00ary")
    await store.store(b"s2", b"bin\x00ary")
    await store.store(b"n", 42, clock.ms + 5000)
    await store.store(b"t", {b"name": b"x", b"list": [1, 2.5, True]})
    rows = {k: (bytes(v), e) for k, v, e in _rows(raw, table)}
    assert rows["s1"] == rows["s2"] == (msgpack.packb(b"bin\x00ary"), None)
    assert rows["n"] == (msgpack.packb(42), clock.ms + 5000)
    assert msgpack.unpackb(rows["t"][0], raw=True) == {b"name": b"x", b"list": [1, 2.5, True]}
    assert await store.get(b"n") == b"42" and await store.type(b"t") == b"hash"
    assert await store.load(b"s1") == b"bin\x00ary" and await store.load(b"t") == {b"name": b"x", b"list": [1, 2.5, True]}


async def test_foreign_rows_load_as_objects(store, raw, table):
    raw.execute('INSERT INTO "%s" (key, value) VALUES (%%s, %%s), (%%s, %%s), (%%s, %%s)' % table,
                ("doc", msgpack.packb({"name": "José", "tags": ["a", "b"]}), "big", msgpack.packb(2 ** 64 - 1),
                 "legacy", msgpack.packb("text")))
    assert await store.load(b"doc") == {b"name": "José".encode(), b"tags": [b"a", b"b"]}
    assert await store.load(b"big") == 2 ** 64 - 1
    assert await store.load(b"legacy") == b"text"
    assert await store.load(b"missing") is None


async def test_store_keeps_max_size_and_past_times(pg_server, clock, table):
    s = SQLStore("test:small", make_db(pg_server.dsn), table_name=table, create_table=True, max_size=1)
    await s.start()
    try:
        await s.store(b"a", [1])
        await s.store(b"a", {b"x": 1})  # an existing key: fine
        with pytest.raises(StoreFull):
            await s.store(b"b", 2)
        await s.store(b"a", 1, clock.ms)  # a time already past: the key disappears
        assert await s.load(b"a") is None
    finally:
        await s.aclose()
