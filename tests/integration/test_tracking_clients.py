"""Client-side caching with real clients (issue 16): redis-py's own client-side cache (``cache_config=
CacheConfig()``, RESP3), unchanged, against respd; and across two nodes on one PostgreSQL, a write through node B
invalidates a key cached through node A.

redis-py enables its cache only for a server that reports version 7.4.0 or later. respd reports 7.0.15 (the Redis
whose behaviour it follows, and whose commands it has) unless the registry's ``redis_version`` says otherwise: a
deployment that wants redis-py's cache sets ``redis_version: "7.4.0"``, accepting that respd lacks what 7.2 and 7.4
added. Waiting is on states, with a generous hang guard, never on durations.
"""
from __future__ import annotations

import socket
import time

import pytest
import redis as redis_py
from redis.cache import CacheConfig

from tests.helpers import RawClient, encode_command, memory_registry, sql_registry, write_registry
from tests.pgserver import pg_server  # noqa: F401  (fixture)

GUARD = 30.0  # seconds: a hang guard, never a measured expectation


def _cached_client(port: int, db: int = 0) -> redis_py.Redis:
    return redis_py.Redis(port=port, db=db, protocol=3, cache_config=CacheConfig())


def _until(fn, what: str):
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(what)


@pytest.fixture
def respd_74(respd_factory, tmp_path):
    path = write_registry(tmp_path, "r.yaml", memory_registry("app", {"cache": {}}, server={"redis_version": "7.4.0"}))
    return respd_factory(configs=[str(path)])


def test_redis_py_cache_needs_a_74_server(respd):
    """Without redis_version, respd says 7.0.15 and redis-py refuses to cache (its own check)."""
    r = _cached_client(respd.port)
    with pytest.raises(redis_py.ConnectionError, match="7.4"):
        r.get("k")
    r.close()
    with redis_py.Redis(port=respd.port, protocol=3) as plain:
        assert plain.execute_command("HELLO", "3")[b"version"] == b"7.0.15"


def test_redis_py_client_side_cache(respd_74):
    r = _cached_client(respd_74.port)
    other = redis_py.Redis(port=respd_74.port)
    try:
        assert r.execute_command("HELLO", "3")[b"version"] == b"7.4.0"
        assert other.info("server")["redis_version"] == "7.4.0"
        other.set("k", "v1")
        other.set("untouched", "u")
        assert r.get("k") == b"v1"
        assert r.get("untouched") == b"u"
        cache = r.get_cache()
        assert cache.size == 2                                 # both replies kept by the client
        # served from the cache: the server sees no GET for them
        calls = other.info("commandstats")["cmdstat_get"]["calls"]
        for _ in range(20):
            assert r.get("k") == b"v1"
        assert other.info("commandstats")["cmdstat_get"]["calls"] == calls
        # another client writes: respd invalidates, and redis-py drops the entry and reads the new value
        other.set("k", "v2")
        assert _until(lambda: r.get("k") == b"v2", "the cached value was never invalidated")
        assert r.get("untouched") == b"u"
        # deletes, expiry and flushes invalidate too
        other.delete("k")
        assert _until(lambda: r.get("k") is None, "DEL did not invalidate")
        other.set("t", "x", px=100)
        assert r.get("t") == b"x"
        _until(lambda: other.get("t") is None, "the key never expired")  # found expired: invalidated
        assert _until(lambda: r.get("t") is None, "expiry did not invalidate")
        other.flushall()
        assert _until(lambda: r.get("untouched") is None, "FLUSHALL did not invalidate")
        info = other.info("clients")
        assert info["tracking_clients"] >= 1
    finally:
        r.close()
        other.close()


def _push_reader(port: int, db: int) -> RawClient:
    c = RawClient(port, timeout=GUARD)
    c.call("HELLO", "3")
    c.call("SELECT", str(db))
    assert c.call("CLIENT", "TRACKING", "ON") == b"+OK\r\n"
    return c


def test_a_write_on_one_node_invalidates_a_key_read_on_the_other(pg_server, respd_factory, tmp_path):
    """Two nodes on one SQL table: a RESP3 client tracking through node A hears of writes made through node B
    (the bus carries the keys written), for SET, DEL, expiry by the cleanup and FLUSHDB; and redis-py's cache on
    node A drops a value changed through node B."""
    doc = sql_registry(pg_server.dsn, "tracking_nodes", pool_max=6)
    doc["server"]["redis_version"] = "7.4.0"
    doc["entries"][2]["cleanup_interval"] = "1s"
    path = write_registry(tmp_path, "n.yaml", doc)
    a = respd_factory(configs=[str(path)])
    b = respd_factory(configs=[str(path)])
    wb = redis_py.Redis(port=b.port, db=1)
    reader = _push_reader(a.port, 1)
    try:
        wb.flushdb()
        reader.read_reply()  # the flush's null invalidation (through the bus)

        def invalidated(key: bytes) -> None:
            """The next pushes until one names key (other keys' may come first: the bus batches)."""
            while True:
                got = reader.read_reply()
                if got.startswith(b">2\r\n$10\r\ninvalidate\r\n") and key in got:
                    return

        def settled(n: int) -> None:
            """Until node B's announcements so far have reached node A: B sends what it wrote before what it
            publishes after, so a message published now arrives after them (an announcement arriving after A's
            client read the key would invalidate that read: harmless, but not what these steps look at)."""
            wb.publish("sync", str(n))
            while True:
                got = reader.read_reply()
                if got.startswith(b">3\r\n$7\r\nmessage\r\n$4\r\nsync\r\n") and got.endswith(b"%d\r\n" % n):
                    return

        assert reader.call("SUBSCRIBE", "sync").startswith(b">3\r\n$9\r\nsubscribe")
        wb.set("k", "1")
        settled(1)
        assert reader.call("GET", "k") == b"$1\r\n1\r\n"
        wb.set("k", "2")
        invalidated(b"k")
        assert reader.call("GET", "k") == b"$1\r\n2\r\n"
        wb.delete("k")
        invalidated(b"k")
        wb.set("e", "x", px=200)
        settled(2)
        assert reader.call("GET", "e") == b"$1\r\nx\r\n"
        invalidated(b"e")  # node B's (or A's) cleanup removed the row: announced
        assert reader.call("GET", "f") == b"_\r\n"
        wb.flushdb()
        got = reader.read_reply()
        assert got == b">2\r\n$10\r\ninvalidate\r\n_\r\n"

        cached = _cached_client(a.port, db=1)
        wb.set("c", "old")
        assert cached.get("c") == b"old"
        assert cached.get("c") == b"old"
        wb.set("c", "new")
        assert _until(lambda: cached.get("c") == b"new", "node B's write never reached node A's client cache")
        cached.close()
    finally:
        reader.close()
        wb.close()
