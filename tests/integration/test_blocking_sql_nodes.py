"""Blocking pops across respd nodes sharing one PostgreSQL table (issue 15): a client blocked on node A is woken by
a push on node B (through LISTEN/NOTIFY), each element reaches exactly one blocked client whatever its node, a
client that hangs up while blocked takes nothing, and a PostgreSQL restart strands no waiter.

The many-producers scenario runs on redis-server too (both "nodes" being that server): the reference.
"""
from __future__ import annotations

import socket
import threading
import time

import msgpack
import psycopg
import pytest
import redis
import yaml

from respd.net.waiting import RECHECK
from tests.helpers import RespdProcess, sql_registry, write_registry
from tests.integration.test_scripting_sql_nodes import ports, run_threads  # noqa: F401  (ports: a fixture)
from tests.integration.test_sql_nodes import nodes  # noqa: F401  (fixture: two respd on one table)
from tests.pgserver import pg_server  # noqa: F401  (fixture)
from tests.sql.test_outage import own_server  # noqa: F401  (fixture: a PostgreSQL of the test's own)

GUARD = 120  # seconds a blocked call may wait before the test gives up on it (a hang guard, not a measurement)


def in_thread(fn):
    """Run fn() in a thread; returns a function that joins it and gives fn's result (or raises its error)."""
    box: dict = {}

    def work():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001  (re-raised in the joining test)
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()

    def join():
        t.join(GUARD)
        assert not t.is_alive(), "the blocked call never returned"
        if "error" in box:
            raise box["error"]
        return box["value"]
    return join


def wait_blocked(client: redis.Redis, n: int) -> None:
    """Until n clients are blocked on that node (INFO blocked_clients): a state to wait for, not a time."""
    for _ in range(2000):
        if client.info("clients")["blocked_clients"] >= n:
            return
        time.sleep(0.01)
    raise AssertionError("clients never blocked")


def test_a_client_blocked_on_one_node_is_woken_by_a_push_on_the_other(nodes):
    a, b, ca, cb, _ = nodes
    with redis.Redis(port=a.port, db=1, socket_timeout=GUARD) as blocked:
        done = in_thread(lambda: blocked.brpop("q", 0))
        wait_blocked(ca, 1)
        assert cb.lpush("q", "x", "y") == 2
        assert done() == (b"q", b"x")
    assert cb.lrange("q", 0, -1) == [b"y"]
    assert ca.info("clients")["blocked_clients"] == 0


def test_blmove_and_blmpop_across_nodes(nodes):
    a, b, ca, cb, _ = nodes
    with redis.Redis(port=a.port, db=1, socket_timeout=GUARD) as c1, \
            redis.Redis(port=b.port, db=1, socket_timeout=GUARD) as c2:
        moved = in_thread(lambda: c1.blmove("src", "dst", 0, "LEFT", "RIGHT"))
        popped = in_thread(lambda: c2.blmpop(0, 2, "l1", "l2", direction="RIGHT", count=5))
        wait_blocked(ca, 1)
        wait_blocked(cb, 1)
        cb.rpush("src", "one", "two")
        ca.rpush("l2", "a", "b", "c")
        assert moved() == b"one"
        assert popped() == [b"l2", [b"c", b"b", b"a"]]
    assert ca.lrange("dst", 0, -1) == [b"one"]
    assert cb.lrange("src", 0, -1) == [b"two"]


def test_bzpopmin_on_one_node_is_woken_by_zadd_on_the_other(nodes):
    a, b, ca, cb, _ = nodes
    with redis.Redis(port=a.port, db=1, socket_timeout=GUARD) as blocked:
        done = in_thread(lambda: blocked.bzpopmin(["delayed", "jobs"], 0))
        wait_blocked(ca, 1)
        assert cb.zadd("jobs", {"j1": 10, "j2": 5}) == 2
        assert done() == (b"jobs", b"j2", 5.0)
    assert ca.zrange("jobs", 0, -1, withscores=True) == [(b"j1", 10.0)]


def test_a_list_written_without_a_notification_is_found_by_the_periodic_look(nodes, pg_server):  # noqa: F811
    """Another program inserts a list row directly (no NOTIFY): the blocked client still gets it, from the look
    every RECHECK seconds (a lost notification strands nobody)."""
    a, b, ca, cb, config = nodes
    table = yaml.safe_load(open(config))["entries"][2]["table_name"]
    with redis.Redis(port=a.port, db=1, socket_timeout=GUARD) as blocked:
        done = in_thread(lambda: blocked.blpop("foreign", 0))
        wait_blocked(ca, 1)
        with psycopg.connect(pg_server.dsn, autocommit=True) as raw:
            raw.execute('INSERT INTO "%s" (key, value) VALUES (%%s, %%s)' % table,
                        ("foreign", msgpack.packb([b"from-outside"], use_bin_type=True)))
        assert done() == (b"foreign", b"from-outside")


def test_a_client_that_hangs_up_while_blocked_takes_nothing(nodes):
    a, b, ca, cb, _ = nodes
    s = socket.create_connection(("127.0.0.1", a.port))
    s.sendall(b"*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
    assert s.recv(5) == b"+OK\r\n"
    wait_blocked(ca, 1)
    s.close()
    for _ in range(2000):
        if ca.info("clients")["blocked_clients"] == 0:
            break
        time.sleep(0.01)
    assert ca.info("clients")["blocked_clients"] == 0
    assert cb.rpush("q", "kept") == 1
    assert ca.lrange("q", 0, -1) == [b"kept"]


def test_client_unblock_on_a_sql_store(nodes):
    a, b, ca, cb, _ = nodes
    with redis.Redis(port=a.port, db=1, socket_timeout=GUARD) as blocked:
        cid = blocked.client_id()
        done = in_thread(lambda: blocked.blpop("nothing-here", 0))
        wait_blocked(ca, 1)
        assert ca.client_unblock(cid) == 1
        assert done() is None
        done = in_thread(lambda: blocked.blpop("nothing-here", 0))
        wait_blocked(ca, 1)
        assert ca.client_unblock(cid, error=True) == 1
        with pytest.raises(redis.ResponseError, match="UNBLOCKED client unblocked via CLIENT UNBLOCK"):
            done()


@pytest.mark.parametrize("ports", ["redis", "respd"], indirect=True)
def test_four_producers_four_consumers_move_10000_elements_once_each(ports):
    """Two consumers blocked in BRPOP on each node, two producers on each node pushing 2,500 distinct elements
    each (in LPUSHes of 10): every element is delivered exactly once, none lost."""
    per_producer, batch = 2500, 10
    total = 4 * per_producer
    port_a, port_b, db = ports
    with redis.Redis(port=port_a, db=db) as c:
        c.delete("jobs")
    taken: list = []
    guard = threading.Lock()

    def consume(c, who):
        mine = []
        while True:
            got = c.brpop("jobs", 0)
            if got[1] == b"stop":
                return mine
            mine.append(got[1])

    def produce(c, who):
        for start in range(0, per_producer, batch):
            c.lpush("jobs", *["%s:%d" % (who, i) for i in range(start, start + batch)])
        return []

    consumers = []
    for port in (port_a, port_b):
        for i in range(2):
            def work(port=port, who="c%d-%d" % (port, i)):
                with redis.Redis(port=port, db=db, socket_timeout=GUARD) as c:
                    got = consume(c, who)
                with guard:
                    taken.extend(got)
            t = threading.Thread(target=work, daemon=True)
            t.start()
            consumers.append(t)
    run_threads(ports, 2, produce)
    with redis.Redis(port=port_a, db=db) as c:
        c.lpush("jobs", *["stop"] * 4)  # one stop for each consumer, after every element (LPUSH, BRPOP: FIFO)
    for t in consumers:
        t.join(GUARD)
        assert not t.is_alive(), "a consumer never finished"
    assert len(taken) == total, "lost or duplicated: %d of %d" % (len(taken), total)
    assert len(set(taken)) == total
    with redis.Redis(port=port_a, db=db) as c:
        assert c.exists("jobs") == 0


# ------------------------------------------------------------------------------------------------ outage
def test_a_postgresql_restart_strands_no_waiter(own_server, tmp_path):
    """A client blocked on a SQL store while PostgreSQL is down and restarts stays blocked (its looks while the
    store is unavailable fail quietly) and is served by a push made after the restart (the listener reconnects and
    the waiter looks again)."""
    config = write_registry(tmp_path, "reg.yaml", sql_registry(own_server.dsn, "blocking_outage", command_timeout="2s",
                                                                 connect_timeout="2s"))
    a = RespdProcess(configs=[config]).start(60)
    b = RespdProcess(configs=[config]).start(60)
    try:
        ca = redis.Redis(port=a.port, db=1, socket_timeout=GUARD)
        with redis.Redis(port=a.port, db=1, socket_timeout=GUARD) as blocked:
            done = in_thread(lambda: blocked.brpop("q", 0))
            wait_blocked(ca, 1)
            own_server.stop()
            time.sleep(RECHECK + 1)  # down long enough for the waiter's periodic look to fail: it stays blocked
            own_server.start()
            with redis.Redis(port=b.port, db=1, socket_timeout=GUARD) as cb:
                for _ in range(200):  # node B's pool reconnects on its own; its first commands may fail meanwhile
                    try:
                        cb.lpush("q", "after-restart")
                        break
                    except redis.ResponseError:
                        time.sleep(0.1)
            assert done() == (b"q", b"after-restart")
        ca.close()
    finally:
        a.stop()
        b.stop()
