"""Blocking pops on one node, beside redis-server (issue 15): what the recorded corpus cannot show with its two
connections -- CLIENT UNBLOCK, INFO blocked_clients and CLIENT LIST's ``b`` flag, requests pipelined behind a
blocked command, BLMOVE served onto a destination of another type, a BLMOVE chain waking the next client, and
thousands of idle blocked clients costing no CPU.

Every scenario runs on redis-server and on respd (memory stores) with the same assertions.
"""
from __future__ import annotations

import os
import socket
import time

import pytest
import redis

from tests.integration.test_blocking_sql_nodes import GUARD, in_thread, wait_blocked


@pytest.fixture(params=["redis", "respd"])
def server(request):
    """redis-server or respd (memory stores), flushed."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def r(server):
    c = redis.Redis(port=server.port, socket_timeout=GUARD)
    c.flushall()
    yield c
    c.close()


def blocked_client(server) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=GUARD)


def test_client_unblock_timeout_error_and_not_blocked(server, r):
    with blocked_client(server) as b:
        cid = b.client_id()
        assert r.client_unblock(cid) == 0  # not blocked
        done = in_thread(lambda: b.brpop(["x", "y"], 0))
        wait_blocked(r, 1)
        line = [c for c in r.client_list() if int(c["id"]) == cid][0]
        assert "b" in line["flags"]
        assert r.info("clients")["clients_in_timeout_table"] == 0
        assert r.client_unblock(cid, error=False) == 1
        assert done() is None
        done = in_thread(lambda: b.blmove("x", "y", 100, "LEFT", "LEFT"))
        wait_blocked(r, 1)
        assert r.info("clients")["clients_in_timeout_table"] == 1
        assert r.client_unblock(cid, error=True) == 1
        with pytest.raises(redis.ResponseError, match="^UNBLOCKED client unblocked via CLIENT UNBLOCK$"):
            done()
        assert r.info("clients")["blocked_clients"] == 0
        assert b.ping()
    with pytest.raises(redis.ResponseError, match="CLIENT UNBLOCK reason should be TIMEOUT or ERROR"):
        r.execute_command("CLIENT", "UNBLOCK", "1", "LATER")


def test_requests_pipelined_behind_a_blocked_command_run_after_it(server, r):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.settimeout(GUARD)
    s.sendall(b"SET before 1\r\nBLPOP q 0\r\nGET before\r\nLLEN q\r\n")
    assert s.recv(5) == b"+OK\r\n"  # the reply before the blocked command is not held back
    wait_blocked(r, 1)
    assert r.rpush("q", "a", "b") == 2
    want = b"*2\r\n$1\r\nq\r\n$1\r\na\r\n$1\r\n1\r\n:1\r\n"
    got = b""
    while len(got) < len(want):
        got += s.recv(100)
    assert got == want
    s.close()


def test_blmove_served_onto_a_destination_of_another_type_answers_wrongtype(server, r):
    with blocked_client(server) as b:
        done = in_thread(lambda: b.blmove("src", "dst", 0, "RIGHT", "LEFT"))
        wait_blocked(r, 1)
        r.set("dst", "a string")
        r.rpush("src", "e1")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            done()
    assert r.lrange("src", 0, -1) == [b"e1"]  # nothing was taken
    assert r.get("dst") == b"a string"


def test_a_blmove_chain_wakes_the_client_blocked_on_its_destination(server, r):
    with blocked_client(server) as b1, blocked_client(server) as b2:
        first = in_thread(lambda: b1.blmove("a", "b", 0, "LEFT", "LEFT"))
        wait_blocked(r, 1)
        second = in_thread(lambda: b2.blpop("b", 0))
        wait_blocked(r, 2)
        r.rpush("a", "x")
        assert first() == b"x"
        assert second() == (b"b", b"x")
    assert r.exists("a", "b") == 0


def test_a_timed_out_client_leaves_the_queue(server, r):
    with blocked_client(server) as b1, blocked_client(server) as b2:
        early = in_thread(lambda: b1.blpop("q", 0.05))
        assert early() is None
        later = in_thread(lambda: b2.blpop("q", 0))
        wait_blocked(r, 1)
        r.rpush("q", "v")
        assert later() == (b"q", b"v")


def _cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_two_thousand_idle_blocked_clients_cost_no_cpu(respd):
    """2,000 clients blocked with no timeout: while nothing happens the server uses (almost) no CPU. CPU time, not
    wall time, is measured: a loaded machine does not change it."""
    r = redis.Redis(port=respd.port, socket_timeout=GUARD)
    socks = []
    try:
        for i in range(2000):
            s = socket.create_connection(("127.0.0.1", respd.port))
            s.sendall(b"BLPOP idle:%d 0\r\n" % (i % 10))
            socks.append(s)
        wait_blocked(r, 2000)
        before = _cpu_seconds(respd.proc.pid)
        time.sleep(2)
        spent = _cpu_seconds(respd.proc.pid) - before
        assert spent < 0.2, "%.2f s of CPU in 2 s with every client idle" % spent
        r.rpush("idle:3", *range(200))
        for s in socks[3::10]:
            s.settimeout(GUARD)
            assert s.recv(100).startswith(b"*2\r\n$6\r\nidle:3\r\n")
    finally:
        for s in socks:
            s.close()
    for _ in range(2000):
        if r.info("clients")["blocked_clients"] == 0:
            break
        time.sleep(0.01)
    assert r.info("clients")["blocked_clients"] == 0
    r.close()


def test_blocked_clients_in_threads_are_served_in_order(server, r):
    """FIFO with more clients than the corpus has connections: five clients blocked in turn get a..e in turn."""
    clients = [blocked_client(server) for _ in range(5)]
    waits = []
    try:
        for i, c in enumerate(clients):
            waits.append(in_thread(lambda c=c: c.brpop("fifo", 0)))
            wait_blocked(r, i + 1)
        r.lpush("fifo", "a", "b", "c", "d", "e")  # BRPOP takes from the tail: a first
        assert [w()[1] for w in waits] == [b"a", b"b", b"c", b"d", b"e"]
    finally:
        for c in clients:
            c.close()



def test_bzpopmin_bzpopmax_bzmpop_served_by_zadd(server, r):
    with blocked_client(server) as b1, blocked_client(server) as b2, blocked_client(server) as b3:
        low = in_thread(lambda: b1.bzpopmin("board", 0))
        wait_blocked(r, 1)
        high = in_thread(lambda: b2.bzpopmax(["other", "board"], 0))
        wait_blocked(r, 2)
        many = in_thread(lambda: b3.bzmpop(0, 1, ["board"], min=True, count=10))
        wait_blocked(r, 3)
        r.zadd("board", {"a": 1, "b": 2.5, "c": 3, "d": 4})
        assert low() == (b"board", b"a", 1.0)
        assert high() == (b"board", b"d", 4.0)
        assert many() == [b"board", [[b"b", b"2.5"], [b"c", b"3"]]]
    assert r.exists("board") == 0


def test_a_key_created_with_another_type_leaves_the_client_blocked(server, r):
    """Redis 7.0: a list waiter stays blocked when its key appears as a sorted set (and the other way round), and is
    served once the key is a list."""
    with blocked_client(server) as b1, blocked_client(server) as b2:
        lst = in_thread(lambda: b1.blpop("k", 0))
        wait_blocked(r, 1)
        zs = in_thread(lambda: b2.bzpopmin("k", 0))
        wait_blocked(r, 2)
        r.zadd("k", {"m": 7})
        assert zs() == (b"k", b"m", 7.0)
        r.rpush("k", "e")
        assert lst() == (b"k", b"e")
