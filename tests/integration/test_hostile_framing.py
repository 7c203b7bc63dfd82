"""Hostile request framing against a real respd process: RESP3 aggregate headers with huge counts where a request or
an element belongs, nested arrays, a multibulk count of INT_MAX. Memory stays bounded (the server's RSS, generous
margin), another client is served while the hostile connections stay open and after they close, and each hostile
connection gets Redis' replies (compared with redis-server where one is installed, in test_framing_fuzz.py)."""
from __future__ import annotations

import pytest

from tests.helpers import RawClient

PING = b"*1\r\n$4\r\nPING\r\n"
ATTACKERS = 3
RSS_MARGIN = 64 * 1024 * 1024  # respd's RSS may grow by this much at most while the attacks are open

BOMBS = {
    # issue 11 item 1: hiredis preallocated the list of any RESP3 aggregate header
    "push-int-max": PING + b">2147483647\r\n",
    "push-1e8": PING + b">100000000\r\n",
    "set-int-max": PING + b"~2147483647\r\n",
    "set-1e8": PING + b"~100000000\r\n",
    "attribute-int-max": PING + b"|2147483647\r\n",
    "map-element": PING + b"*2\r\n$4\r\nECHO\r\n%2147483647\r\n",
    "push-element": PING + b"*2\r\n$4\r\nECHO\r\n>100000000\r\n",
    # nested arrays (counts under the old screen's 1,048,576) where a bulk belongs
    "nested-arrays": PING + b"*1\r\n" + b"*999999\r\n" * 7,
    # Redis 7.0 accepts counts up to INT_MAX and allocates as arguments arrive
    "count-int-max": PING + b"*2147483647\r\n$4\r\nECHO\r\n",
}


def _rss(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


@pytest.mark.parametrize("bomb", list(BOMBS.values()), ids=list(BOMBS))
def test_hostile_headers_neither_grow_memory_nor_stall_others(respd_factory, bomb):
    server = respd_factory()
    pid = server.proc.pid
    with server.client() as c:
        assert c.call("PING") == b"+PONG\r\n"
    before = _rss(pid)
    attackers = [RawClient(server.port, timeout=30) for _ in range(ATTACKERS)]
    try:
        for a in attackers:
            a.send(bomb)
        for a in attackers:
            assert a.read_reply() == b"+PONG\r\n"  # the request before the hostile header is answered
        with RawClient(server.port, timeout=30) as other:  # hang guard, not a speed bound
            assert other.call("PING") == b"+PONG\r\n"
            assert other.call("SET", "k", "v") == b"+OK\r\n"
        assert _rss(pid) - before < RSS_MARGIN, "RSS grew from %d to %d" % (before, _rss(pid))
    finally:
        for a in attackers:
            a.close()
    with RawClient(server.port, timeout=30) as other:  # closing them frees nothing huge: the server is not frozen
        assert other.call("GET", "k") == b"$1\r\nv\r\n"
    assert _rss(pid) - before < RSS_MARGIN
    assert server.alive()


def test_count_int_max_is_read_as_arguments_arrive(respd_factory):
    """An INT_MAX count (Redis 7.0's limit) waits for its arguments without allocating for them; one above it is
    refused with Redis' error, after the request before it."""
    server = respd_factory()
    with server.client() as c:
        c.send(b"*2147483647\r\n" + b"$1\r\na\r\n" * 50000)
        assert c.nothing_within(0.3)
    with server.client() as c:
        c.send(PING + b"*2147483648\r\n")
        assert c.read_until_closed() == b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"


def test_smuggled_resp3_items_are_not_run(respd):
    """issue 11 item 2: an attribute after a request was read as a request 'ECHO hi'; Redis reads each line as an
    inline command (three unknown commands)."""
    with respd.client() as c:
        c.send(PING + b"|1\r\n+ECHO\r\n+hi\r\n")
        assert c.read_replies(4) == [
            b"+PONG\r\n",
            b"-ERR unknown command '|1', with args beginning with: \r\n",
            b"-ERR unknown command '+ECHO', with args beginning with: \r\n",
            b"-ERR unknown command '+hi', with args beginning with: \r\n"]
        c.send(b"*2\r\n$4\r\nECHO\r\n+hi\r\n")
        assert c.read_until_closed() == b"-ERR Protocol error: expected '$', got '+'\r\n"
