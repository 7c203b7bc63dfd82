"""MONITOR, MEMORY and OBJECT on redis-server 7.0 and respd, reply for reply.

MONITOR lines differ legitimately in their timestamp and in the client's port: both are checked for their form
(``\\d+.\\d{6}``, the client's own address) and then replaced by placeholders before comparing.
"""
from __future__ import annotations

import re

import pytest

from tests.differential.common import Pair, flush_both
from tests.helpers import RawClient, encode_command, split_command
from tests.unit.command_cases import matches
from tests.unit.introspection_cases import CASES


# ------------------------------------------------------------------------------------------------ OBJECT, MEMORY
@pytest.mark.parametrize("name", sorted(CASES))
def test_introspection_table_matches_redis(name, redis):
    with redis.client() as c:
        for n, (cmd, expected) in enumerate(CASES[name]):
            got = c.call(*split_command(cmd))
            assert matches(got, expected), "step %d %r: got %r, expected %r" % (n, cmd, got, expected)


def test_object_idletime_differs_on_purpose(redis, respd):
    """Redis tracks access times and answers seconds; respd does not track them and says so (an error, like
    Redis' own answer for a statistic its policy does not track) rather than inventing a number."""
    with Pair(redis.port, respd.port) as p:
        p.run("SET k v")
        a, b = p.run("OBJECT IDLETIME k")
        assert re.fullmatch(rb":\d+\r\n", a)
        assert b == b"-ERR respd does not track key access times, idle time not tracked.\r\n"
        assert p.run("OBJECT IDLETIME nosuch") == (b"$-1\r\n", b"$-1\r\n")


def _map_keys(reply: bytes) -> list:
    return re.findall(rb"\$\d+\r\n([a-z][a-z0-9.\-]*)\r\n", reply)


def test_memory_stats_has_redis_fields_in_redis_order(redis, respd):
    with Pair(redis.port, respd.port) as p:
        p.run("SET k v")
        a, b = p.run("MEMORY STATS")
        assert _map_keys(a) == _map_keys(b)
        assert a.split(b"\r\n")[0] == b.split(b"\r\n")[0]  # same number of entries
        p.run("HELLO 3")
        a, b = p.run("MEMORY STATS")
        assert a.split(b"\r\n")[0] == b.split(b"\r\n")[0] == b"%28"
        a, b = p.run("MEMORY DOCTOR")
        assert a[:1] == b[:1] == b"="  # verbatim text in RESP3


def test_memory_and_object_key_permissions(redis, respd):
    """MEMORY USAGE and OBJECT read a key: a user without access to it is refused with Redis' text."""
    with Pair(redis.port, respd.port) as p:
        try:
            assert p.run("ACL SETUSER intro on >pw ~allowed:* +@all") == (b"+OK\r\n", b"+OK\r\n")
            assert p.run("AUTH intro pw") == (b"+OK\r\n", b"+OK\r\n")
            for cmd in ("MEMORY USAGE secret", "OBJECT ENCODING secret", "MEMORY USAGE allowed:x"):
                a, b = p.run(cmd)
                assert a == b, cmd
        finally:
            with RawClient(redis.port) as r, RawClient(respd.port) as s:
                r.cmd("ACL DELUSER intro")
                s.cmd("ACL DELUSER intro")


# ------------------------------------------------------------------------------------------------ MONITOR
_LINE = re.compile(rb"\+(\d+)\.(\d{6}) \[(-?\d+) ([^\]]+)\] (.*)")


def _normalize(lines: list, addrs: dict) -> list:
    """Check each line's form and replace its time and client address by placeholders."""
    out = []
    for line in lines:
        m = _LINE.fullmatch(line)
        assert m, line
        addr = m.group(4).decode()
        assert addr in addrs, (addr, addrs)
        out.append(b"+<time> [%s %s] %s" % (m.group(3), addrs[addr].encode(), m.group(5)))
    return out


def _read_lines(c: RawClient, until: bytes) -> list:
    """Status lines from a monitor until one containing ``until``."""
    lines = []
    while True:
        r = c.read_reply()
        assert r[:1] == b"+", r
        lines.append(r[:-2])
        if until in r:
            return lines


def _addr(c: RawClient) -> str:
    host, port = c.sock.getsockname()[:2]
    return "%s:%d" % (host, port)


# Everything a client sends while another monitors: what is shown (after execution, with the db it left
# selected), what is not (admin commands, unknown, wrong arity, refused), redaction, binary quoting, transactions.
SCRIPT = [
    "SET k v",
    ["SET", "a b", b'q"\\\n\r\t\x07\x08\x00\xff\x7f\xc3\xa9'],
    "GET k",
    ["SET", "", ""],
    "AUTH x",
    "AUTH someone secret",
    "AUTH a b c",
    "HELLO 2 AUTH default anything",
    "HELLO 2 SETNAME name1 AUTH nobody secret",
    "HELLO 3 AUTH onlyuser",
    "HELLO 9 AUTH u p",
    "HELLO 2",
    "SELECT 1",
    "GET k",
    "SELECT 0",
    "CONFIG GET save",
    "CONFIG SET save ''",
    "CLIENT LIST",
    "NOSUCH x",
    "GET",
    "MULTI",
    "SET x 1",
    "GET x",
    "EXEC",
    "MULTI",
    "NOSUCH",
    "EXEC",
    "MULTI",
    "DISCARD",
    "INCR k",
    "PING",
    "ECHO hi",
    "CLIENT ID",
    "ACL WHOAMI",
    "ACL SETUSER someone on >secret",
    "ACL DELUSER someone",
    "OBJECT ENCODING k",
    "MEMORY USAGE k",
    "set lower case",
    "MSET m1 1 m2 2",
    "DEL m1 m2 nosuch",
    "EXPIRE k 100",
    "SCAN 0",
    "ECHO end-of-script",
]


def _monitor_script(port: int) -> tuple[list, list]:
    with RawClient(port) as mon, RawClient(port) as cli:
        assert mon.call("MONITOR") == b"+OK\r\n"
        names = {_addr(cli): "client", _addr(mon): "monitor"}
        replies = [cli.call(*split_command(cmd)) for cmd in SCRIPT]
        return _normalize(_read_lines(mon, b"end-of-script"), names), replies


def test_monitor_feed_matches_redis(redis, respd):
    flush_both(redis.port, respd.port)
    expected, _ = _monitor_script(redis.port)
    got, _ = _monitor_script(respd.port)
    assert got == expected
    # the feed shows what ran, after it ran, with secrets redacted
    assert b'+<time> [1 client] "SELECT" "1"' in got
    assert b'+<time> [0 client] "AUTH" "(redacted)" "(redacted)"' in got
    assert not any(b"CONFIG" in line or b"NOSUCH" in line or b"SETUSER" in line for line in got)


def _own_commands(port: int) -> list:
    """What a monitor receives for its own commands (each answered before the next is sent)."""
    out = []
    with RawClient(port) as mon:
        names = {_addr(mon): "monitor"}
        out.append(mon.call("MONITOR"))
        for cmd in ("PING", "GET k", "SET k v", "ECHO hi", "DBSIZE", "OBJECT ENCODING k", "MEMORY USAGE k",
                    "CLIENT GETNAME"):
            mon.send(encode_command(*split_command(cmd)))
            reply = mon.read_reply()
            out.append(reply)
            if reply[:1] not in (b"-",):
                out += _normalize([mon.read_reply()[:-2]], names)  # the line about it follows its reply
        mon.send(encode_command("MONITOR"))  # again: no reply at all
        assert mon.nothing_within(0.3)
        out.append(mon.call("MULTI"))
        out += _normalize([mon.read_reply()[:-2]], names)
        out.append(mon.call("GET", "k"))  # refused, which discards the transaction at EXEC
        out.append(mon.call("PING"))
        out.append(mon.call("EXEC"))  # EXECABORT, and EXEC is shown: it ran
        out += _normalize([mon.read_reply()[:-2]], names)
        out.append(mon.call("RESET"))  # leaves monitor mode: not shown, and keyspace commands work again
        out.append(mon.call("SET", "k", "v"))
        out.append(mon.call("GET", "k"))
        assert mon.nothing_within(0.3)
        out.append(mon.call("MONITOR"))
        mon.send(encode_command("QUIT"))  # +OK and nothing after it, not even the line about the QUIT
        out.append(mon.read_until_closed())
    return out


def test_monitor_own_commands_match_redis(redis, respd):
    flush_both(redis.port, respd.port)
    assert _own_commands(respd.port) == _own_commands(redis.port)


def _pipelined_own_commands(port: int) -> bytes:
    with RawClient(port) as mon:
        mon.send(b"".join(encode_command(*split_command(c)) for c in ("MONITOR", "PING", "ECHO x", "GET k", "PING")))
        data = b"".join(mon.read_replies(8))
        return re.sub(rb"\+\d+\.\d{6} \[0 [^\]]+\]", b"+<line>", data)


def test_monitor_pipelined_own_commands_match_redis(redis, respd):
    assert _pipelined_own_commands(respd.port) == _pipelined_own_commands(redis.port)


def _resp3_monitor(port: int) -> list:
    with RawClient(port) as mon, RawClient(port) as cli:
        mon.call("HELLO", "3")
        names = {_addr(cli): "client"}
        out = [mon.call("MONITOR")]
        cli.call("SET", "k", "v")
        out.append(mon.read_reply()[:1])  # a status line, not a push, in RESP3 too
        cli.call("ECHO", "end")
        return out + _normalize(_read_lines(mon, b"end"), names)


def test_monitor_in_resp3_matches_redis(redis, respd):
    assert _resp3_monitor(respd.port) == _resp3_monitor(redis.port)


def test_monitor_inside_multi_matches_redis(redis, respd):
    with Pair(redis.port, respd.port) as p:
        replies = p.raw(encode_command("MULTI") + encode_command("MONITOR") + encode_command("PING")
                        + encode_command("EXEC"), 4)
        assert replies[0] == replies[1]
        assert replies[1][3] == b"*2\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n+PONG\r\n"
        # the connection is not a monitor afterwards
        assert p.run("SET k v") == (b"+OK\r\n", b"+OK\r\n")


def _monitor_stats(port: int) -> list:
    """INFO commandstats/errorstats lines of MONITOR and EXEC after MULTI, MONITOR, EXEC, with times removed."""
    with RawClient(port) as c:
        c.call("CONFIG", "RESETSTAT")
        c.send(encode_command("MULTI") + encode_command("MONITOR") + encode_command("EXEC"))
        c.read_replies(3)
        text = (c.call("INFO", "commandstats") + c.call("INFO", "errorstats")).decode()
    lines = [line for line in text.split("\r\n") if line.startswith(("cmdstat_monitor", "cmdstat_exec", "errorstat_"))]
    return sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line) for line in lines)


def test_monitor_refused_by_exec_counts_as_redis_counts_it(redis, respd):
    """MONITOR run by EXEC is a call that failed (Redis' monitorCommand refuses a DENY BLOCKING client): it counts
    in its commandstats and in errorstats."""
    assert _monitor_stats(respd.port) == _monitor_stats(redis.port)


def test_monitor_needs_admin_permission(redis, respd):
    with Pair(redis.port, respd.port) as p:
        try:
            assert p.run("ACL SETUSER nomon on >pw ~* +@all -@admin") == (b"+OK\r\n", b"+OK\r\n")
            assert p.run("AUTH nomon pw") == (b"+OK\r\n", b"+OK\r\n")
            a, b = p.run("MONITOR")
            assert a == b == b"-NOPERM this user has no permissions to run the 'monitor' command\r\n"
            assert p.run("SET k v") == (b"+OK\r\n", b"+OK\r\n")  # not a monitor
        finally:
            with RawClient(redis.port) as r, RawClient(respd.port) as s:
                r.cmd("ACL DELUSER nomon")
                s.cmd("ACL DELUSER nomon")


def test_command_info_of_monitor_memory_object_matches_redis(redis, respd):
    """Flags, arity, key positions and ACL categories as Redis declares them (COMMAND INFO)."""
    names = ["monitor", "memory", "object"]
    with Pair(redis.port, respd.port) as p:
        for name in names:
            a, b = p.run(["COMMAND", "INFO", name])
            # tips (request_policy, nondeterministic_output) are Redis-cluster hints respd does not declare
            strip = re.compile(rb"\*\d+\r\n(\+(request_policy|response_policy|nondeterministic_output)[^\r]*\r\n)+")
            assert _shape(strip.sub(b"*0\r\n", a)) == _shape(b), name


def _shape(reply: bytes) -> list:
    """Name, arity, flags, key positions and ACL categories of a COMMAND INFO reply and of its subcommands."""
    return sorted(re.findall(rb"\*10\r\n\$\d+\r\n([a-z|\-]+)\r\n:(-?\d+)\r\n\*\d+\r\n((?:\+[a-z_]+\r\n)*)"
                             rb":(\d+)\r\n:(-?\d+)\r\n:(\d+)\r\n\*\d+\r\n((?:\+@[a-z]+\r\n)*)", reply))
