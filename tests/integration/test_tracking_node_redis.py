"""Client-side caching with real clients, on redis-server, a respd memory store and a respd SQL store (the
``target`` fixture of tests/integration/scripting_targets.py):

* node-redis' client-side cache (``createClient({RESP: 3, clientSideCache})``, tests/integration/js/csc.js),
  unchanged: it turns tracking on, answers repeated reads from its own memory, and drops entries when the
  server's invalidation pushes arrive (a key written by another connection, a flush);
* redis-py's low-level API: a RESP3 connection reading the ``invalidate`` push, and a RESP2 ``PubSub``
  subscribed to ``__redis__:invalidate`` as the REDIRECT target of another connection.

node-redis' cache has no version gate, so it works against respd as it reports itself (7.0.15). redis-py's own
cache needs a server reporting 7.4.0 (respd's ``redis_version`` setting): tests/integration/test_tracking_clients.py.
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.helpers import node_package
from tests.integration.scripting_targets import sql_respd, target  # noqa: F401  (fixtures)



@pytest.fixture(scope="module")
def node_redis():
    """The directory holding node-redis (installed with npm ci when it is not there yet)."""
    return node_package("redis")


def _until(test, what: str):
    """Wait for a condition with a hang guard (never a timing assertion)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("gave up waiting for " + what)


def test_node_redis_client_side_cache(node_redis, target):
    cp = subprocess.run(["node", "csc.js", str(target.port), str(target.db)], cwd=node_redis, capture_output=True,
                        text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert json.loads(cp.stdout) == {
        "first": "v1", "again": "v1", "hash": {"f": "1"}, "hashAgain": {"f": "1"},
        "afterReads": {"hits": 2, "misses": 2, "size": 2},  # the second reads came from node-redis' memory
        "trackingFlags": 1,
        "afterWrite": "v2", "hashAfterWrite": {"f": "2"},   # invalidated: read from the server again
        "afterFlush": None, "end": {"hits": 2, "misses": 5}}


def test_redis_py_resp3_invalidation_push(target):
    with target.client(protocol=3) as r, target.client() as other:
        conn = r.connection_pool.get_connection()
        pushes = []

        def heard(push):  # redis-py's hook for invalidation pushes (what its own cache installs)
            pushes.append(push)
            return push
        conn._parser.set_invalidation_push_handler(heard)
        try:
            conn.send_command("CLIENT", "TRACKING", "ON")
            assert conn.read_response() in (b"OK", "OK")
            conn.send_command("GET", "k")
            assert conn.read_response() is None
            other.set("k", "v")
            assert conn.read_response(push_request=True) == [b"invalidate", [b"k"]]
            conn.send_command("SET", "k", "mine")  # its own write: the reply first, then the push
            assert conn.read_response() in (b"OK", "OK")
            assert not conn.can_read(timeout=0.2)  # k was forgotten at the first invalidation
            conn.send_command("GET", "k")
            assert conn.read_response() == b"mine"
            conn.send_command("SET", "k", "again")
            assert conn.read_response() in (b"OK", "OK")
            assert conn.read_response(push_request=True) == [b"invalidate", [b"k"]]
            assert len(pushes) == 2
        finally:
            r.connection_pool.release(conn)


def test_redis_py_resp2_redirect_to_pubsub(target):
    # (redis-py 8 speaks RESP3 unless told: RESP2 is asked for explicitly)
    with target.client(protocol=2) as r, target.client() as other:
        p = r.pubsub()
        try:
            p.subscribe("__redis__:invalidate")
            assert _until(lambda: p.get_message(timeout=0.1), "the subscribe confirmation")["type"] == "subscribe"
            # the PubSub connection is in subscribed mode: its id from the server's list
            ids = [c["id"] for c in other.client_list() if c.get("cmd") == "subscribe"]
            assert len(ids) == 1
            tracker = target.client(protocol=2, single_connection_client=True)
            try:
                tracker.client_tracking_on(clientid=int(ids[0]))
                assert tracker.get("rk") is None
                other.set("rk", "v")
                msg = _until(lambda: p.get_message(timeout=0.1), "the invalidation message")
                assert (msg["type"], msg["channel"], msg["data"]) == ("message", b"__redis__:invalidate", [b"rk"])
                other.flushdb()
                msg = _until(lambda: p.get_message(timeout=0.1), "the flush message")
                assert (msg["type"], msg["data"]) == ("message", None)
            finally:
                tracker.close()
        finally:
            p.close()


def test_optin_transaction_is_tracked(target):
    """CLIENT CACHING YES covers the whole next transaction, also on a SQL store (where EXEC's queue runs after
    EXEC's own command has returned)."""
    with target.client(protocol=3) as r, target.client() as other:
        conn = r.connection_pool.get_connection()
        pushes = []

        def heard(push):
            pushes.append(push)
            return push
        conn._parser.set_invalidation_push_handler(heard)
        try:
            for argv in (("CLIENT", "TRACKING", "ON", "OPTIN"), ("CLIENT", "CACHING", "YES"), ("MULTI",),
                         ("GET", "ta"), ("GET", "tb"), ("EXEC",), ("GET", "tc")):
                conn.send_command(*argv)
                conn.read_response()
            other.mset({"ta": "1", "tb": "2", "tc": "3"})
            assert conn.read_response(push_request=True) == [b"invalidate", [b"ta"]]
            assert conn.read_response(push_request=True) == [b"invalidate", [b"tb"]]
            assert not conn.can_read(timeout=0.2)  # tc was read after the transaction: not tracked
        finally:
            r.connection_pool.release(conn)
