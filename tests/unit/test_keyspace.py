"""Keyspace behaviour beyond single-command tables that is not the same for every store kind: glob matching, the
memory store's cleanup sweep, and how dispatch maps store errors. KEYS, SCAN and max_size through commands are
in ``any_store_keyspace.py`` (run on memory and SQL stores)."""
from __future__ import annotations

import pytest

from backends.base import CorruptValue, InvalidKey, NoSuchKey, StoreFull, StoreUnavailable, WrongType
from backends.glob import glob_match
from backends.memory import MemoryStore
from respd.errors import store_error
from respd.security.users import Auth
from respd.state import App
from tests.unit.command_cases import OK, QUEUED, arr
from tests.unit.glob_cases import GLOB_CASES, GLOB_KEYS


# ------------------------------------------------------------------------------------------------ glob
@pytest.mark.parametrize("pattern,expected", GLOB_CASES, ids=[repr(p) for p, _ in GLOB_CASES])
def test_glob_matches_redis(pattern, expected):
    assert sorted(k for k in GLOB_KEYS if glob_match(pattern, k)) == sorted(expected)


# ------------------------------------------------------------------------------------------------ cleanup sweep
async def test_cleanup_sweep_removes_expired_keys(clock):
    store = MemoryStore("t:sweep", max_size=0, cleanup_interval=0)
    for n in range(5000):
        store.set(b"e%d" % n, b"v", expire=clock.ms + 10)
    for n in range(100):
        store.set(b"p%d" % n, b"v")
        store.set(b"l%d" % n, b"v", expire=clock.ms + 10_000)
    assert store.dbsize() == 5200
    assert await store.sweep() == 0
    clock.advance_ms(10)
    assert store.dbsize() == 5200                      # lazily expired only
    assert await store.sweep() == 5000
    assert store.dbsize() == 200
    assert store.stats() == (200, 100)
    assert store.expired_keys == 5000
    clock.advance_ms(10_000)
    assert await store.sweep() == 100
    assert sorted(store.keys(b"*")) == sorted(b"p%d" % n for n in range(100))


async def test_cleanup_task_runs_at_its_interval(clock):
    import trio
    import trio.testing

    store = MemoryStore("t:task", max_size=0, cleanup_interval=60)
    store.set(b"a", b"v", expire=clock.ms + 10)
    store.set(b"b", b"v")
    clock.advance_ms(10)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run_cleanup)
        await trio.testing.wait_all_tasks_blocked()
        assert store.dbsize() == 2                      # not before the interval
        nursery.cancel_scope.cancel()
    assert store.dbsize() == 2


async def test_cleanup_task_sweeps_after_interval(clock, autojump_clock):
    import trio

    store = MemoryStore("t:task", max_size=0, cleanup_interval=60)
    store.set(b"a", b"v", expire=clock.ms + 10)
    store.set(b"b", b"v")
    clock.advance_ms(10)
    with trio.move_on_after(61):
        await store.run_cleanup()
    assert store.dbsize() == 1


# ------------------------------------------------------------------------------------------------ error mapping
@pytest.mark.parametrize("exc,text", [
    (WrongType(), b"WRONGTYPE Operation against a key holding the wrong kind of value"),
    (StoreFull("app:c", 10), b"OOM command not allowed when store 'app:c' is full (max_size 10)"),
    (NoSuchKey(), b"ERR no such key"),
    (InvalidKey("app:c", "not UTF-8"), b"ERR invalid key for store 'app:c': not UTF-8"),
    (CorruptValue("app:c", b"k\r\n", "bad msgpack"),
     b"ERR undecodable value for key 'k  ' in store 'app:c': bad msgpack"),
    (StoreUnavailable("app:c", "timeout"), b"ERR store 'app:c' is unavailable: timeout"),
])
def test_store_errors_map_to_resp_errors(exc, text):
    assert store_error(exc).text == text


class _ForeignTypes(MemoryStore):
    """A memory store where keys starting with ``list:`` hold a non-string (as foreign SQL rows may)."""

    def _foreign(self, key):
        return key.startswith(b"list:") and key in self._data

    def get(self, key):
        if self._foreign(key):
            raise WrongType()
        return super().get(key)

    def mget(self, keys):
        return [None if self._foreign(k) else super().get(k) for k in keys]

    def modify(self, key, fn):
        if self._foreign(key):
            raise WrongType()
        return super().modify(key, fn)

    def set(self, key, value, cond=None, get=False, expire=None):
        if get and self._foreign(key):
            raise WrongType()
        return super().set(key, value, cond, get, expire)

    def type(self, key):
        return b"list" if self._foreign(key) else super().type(key)


async def test_wrongtype_from_a_store_reaches_the_client(call, clock):
    store = _ForeignTypes("t:foreign", max_size=0, cleanup_interval=0)
    app = App({store.id: store}, {0: store}, {"port": 0}, Auth())
    sess = app.new_session()
    store._data[b"list:l"] = b"payload"
    wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    for cmd in ("GET list:l", "INCR list:l", "APPEND list:l x", "SET list:l v GET", "GETSET list:l v",
                "STRLEN list:l", "GETRANGE list:l 0 1", "SETRANGE list:l 0 x", "INCRBYFLOAT list:l 1"):
        assert await call(sess, cmd) == wrongtype, cmd
    assert await call(sess, "MGET list:l") == arr(b"$-1\r\n")
    assert await call(sess, "TYPE list:l") == b"+list\r\n"
    assert await call(sess, "MULTI") == OK
    assert await call(sess, "GET list:l") == QUEUED
    assert await call(sess, "EXEC") == arr(wrongtype)
    assert await call(sess, "SET list:l v") == OK            # plain SET overwrites any type
