"""Keyspace notifications with real clients: a Spring-Session-style expiry listener (redis-py PubSub on
``__keyevent@<db>__:expired``) hears of keys set with PX that nobody reads (the memory store's active expiry; the
SQL store's cleanup, run every second while the x class is on), a listener started from the registry's
``notify_keyspace_events``, and redis-py's ``keyspace`` pattern subscriptions with CONFIG SET from the client.

Across nodes: a SQL store's events reach subscribers on every node sharing its database (the bus), expired ones
from whichever node's cleanup removed the row; a memory store's stay on their node.

Waiting is on messages with a generous hang guard, never on durations.
"""
from __future__ import annotations

import time

import pytest
import redis as redis_py

from tests.helpers import memory_registry, write_registry
from tests.integration.scripting_targets import sql_respd  # noqa: F401  (fixture)
from tests.integration.test_pubsub_nodes import connected
from tests.integration.test_sql_nodes import nodes  # noqa: F401  (fixture: two respd on one table)
from tests.pgserver import pg_server  # noqa: F401  (fixture)

GUARD = 20.0  # seconds: a hang guard, never a measured expectation


def _messages(p, n: int) -> list:
    out = []
    deadline = time.monotonic() + GUARD
    while len(out) < n:
        assert time.monotonic() < deadline, "got only %r" % out
        m = p.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if m is not None:
            out.append(m)
    return out


def _expiry_listener(port: int, db: int, keys: int):
    r = redis_py.Redis(port=port, db=db)
    try:
        r.config_set("notify-keyspace-events", "Ex")
        p = r.pubsub()
        p.subscribe("__keyevent@%d__:expired" % db)
        _messages_confirmed(p)
        for i in range(keys):
            r.set("session:%d" % i, "data", px=50 + i * 10)
        r.set("session:forever", "data")
        got = _messages(p, keys)
        assert sorted(m["data"] for m in got) == sorted(b"session:%d" % i for i in range(keys))
        assert {m["channel"] for m in got} == {b"__keyevent@%d__:expired" % db}
        assert r.get("session:forever") == b"data"
        assert p.get_message(ignore_subscribe_messages=True, timeout=0.3) is None  # nothing else expired
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")
        r.close()


def _messages_confirmed(p) -> None:
    deadline = time.monotonic() + GUARD
    while True:
        m = p.get_message(timeout=1.0)
        if m is not None and m["type"] in ("subscribe", "psubscribe"):
            return
        assert time.monotonic() < deadline


def test_expiry_listener_on_a_memory_store(respd):
    """Keys set with PX, never read: active expiry sends ``expired`` for each."""
    _expiry_listener(respd.port, 0, 5)


def test_expiry_listener_on_a_sql_store(sql_respd):
    """On a SQL store the cleanup (DELETE ... RETURNING the keys) finds them, once a second while x is on."""
    _expiry_listener(sql_respd.port, 1, 3)


def test_registry_setting_and_keyspace_patterns(respd_factory, tmp_path):
    path = write_registry(tmp_path, "n.yaml", memory_registry("app", {"cache": {}, "sessions": {}},
                                                               server={"notify_keyspace_events": "KEA"}))
    proc = respd_factory(configs=[path])
    r = redis_py.Redis(port=proc.port)
    try:
        assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
        p = r.pubsub()
        p.psubscribe("__keyspace@1__:*")
        _messages_confirmed(p)
        r.set("in-db0", "x")  # another database: not heard
        r1 = redis_py.Redis(port=proc.port, db=1)
        r1.hset("user:1", mapping={"name": "a"})
        r1.expire("user:1", 100)
        r1.delete("user:1")
        got = [(m["channel"], m["data"]) for m in _messages(p, 3)]
        assert got == [(b"__keyspace@1__:user:1", b"hset"), (b"__keyspace@1__:user:1", b"expire"),
                       (b"__keyspace@1__:user:1", b"del")]
        r1.close()
        p.close()
    finally:
        r.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_protocols_get_the_same_events(respd, protocol):
    r = redis_py.Redis(port=respd.port, protocol=protocol)
    try:
        r.config_set("notify-keyspace-events", "E$")
        p = r.pubsub()
        p.subscribe("__keyevent@0__:set")
        _messages_confirmed(p)
        r.set("a", "1")
        r.incr("a")  # incrby: not subscribed
        r.set("b", "2")
        assert [m["data"] for m in _messages(p, 2)] == [b"a", b"b"]
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")
        r.close()


def test_sql_store_events_reach_the_other_node(nodes):
    a, b, ca, cb, _ = nodes
    for c in (ca, cb):
        c.config_set("notify-keyspace-events", "KEA")
    try:
        sub = cb.pubsub()
        sub.subscribe("probe")
        sub.psubscribe("__keyevent@*__:*")
        while sub.get_message(timeout=1) is not None:
            pass
        connected(ca, sub)
        ca0 = redis_py.Redis(port=a.port, db=0)  # node A's memory store: its events stay on node A
        ca0.set("local", "x")
        ca0.close()
        ca.set("k", "v")
        ca.delete("k")
        ca.set("e", "v", px=100)  # removed by one node's cleanup, announced to both
        got = [(m["channel"], m["data"]) for m in _messages(sub, 5)]
        assert got == [(b"__keyevent@1__:set", b"k"), (b"__keyevent@1__:del", b"k"), (b"__keyevent@1__:set", b"e"),
                       (b"__keyevent@1__:expire", b"e"), (b"__keyevent@1__:expired", b"e")]
        assert sub.get_message(ignore_subscribe_messages=True, timeout=1.5) is None  # expired once, nothing local
        sub.close()
    finally:
        for c in (ca, cb):
            c.config_set("notify-keyspace-events", "")
