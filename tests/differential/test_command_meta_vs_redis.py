"""COMMAND INFO / DOCS / LIST / GETKEYS / GETKEYSANDFLAGS replayed on redis-server 7.0.15 and respd, compared.

Every command and subcommand respd implements is asked about, in RESP2 and RESP3. Replies are compared as typed
RESP trees (a status string differs from a bulk string, a set from an array, a map keeps its order); the only
normalisation is the order of a container's subcommands, which Redis lists in its hash-table order.
"""
from __future__ import annotations

import pytest

from respd.commands.catalog import COMMANDS
from tests.helpers import RawClient, encode_command

#: implemented subcommands that Redis 7.0 does not have (added in 7.2): respd documents them from its own table
NEWER_THAN_7_0 = {"client|setinfo", "client|no-touch"}
#: respd's CLUSTER is one command answering "cluster support disabled" to everything, as Redis does without cluster
#: mode; it declares no subcommands, so the subcommand element is the only part of its COMMAND INFO/DOCS that differs
NO_SUBCOMMANDS = {"cluster"}


def _names() -> list[str]:
    out = []
    for cmd in COMMANDS.values():
        out.append(cmd.name)
        out += [s.name for s in cmd.subcommands.values()]
    return sorted(out)


NAMES = _names()


def parse(buf: bytes, i: int = 0):
    """A RESP2/RESP3 reply as a typed tree: ('+', text), ('-', text), ints, bytes, None, ('*'|'~', [...]),
    ('%', [(k, v)...])."""
    t = buf[i:i + 1]
    j = buf.index(b"\r\n", i)
    line = buf[i + 1:j]
    i = j + 2
    if t in (b"+", b"-"):
        return (t.decode(), line), i
    if t == b":":
        return int(line), i
    if t == b"_":
        return None, i
    if t in (b"$", b"="):
        n = int(line)
        return (None, i) if n < 0 else (buf[i:i + n], i + n + 2)
    if t in (b"*", b"~"):
        n = int(line)
        if n < 0:
            return None, i
        items = []
        for _ in range(n):
            v, i = parse(buf, i)
            items.append(v)
        return (t.decode(), items), i
    if t == b"%":
        items = []
        for _ in range(int(line)):
            k, i = parse(buf, i)
            v, i = parse(buf, i)
            items.append((k, v))
        return ("%", items), i
    raise AssertionError("unexpected reply type %r" % t)


def typed(reply: bytes):
    value, end = parse(reply)
    assert end == len(reply)
    return value


def _both_know(name: bytes) -> bool:
    return name.decode() in NAMES and name.decode() not in NEWER_THAN_7_0


def _sort_info_subcommands(info):
    """A COMMAND INFO entry with its subcommand entries (element 10) sorted by name, keeping those both servers
    implement (Redis lists all of its own; respd lists those it implements, checked in test_command_list...)."""
    kind, items = info
    items = list(items)
    sub_kind, subs = items[9]
    items[9] = (sub_kind, sorted((_sort_info_subcommands(s) for s in subs if _both_know(s[1][0])),
                                 key=lambda s: s[1][0]))
    return kind, items


def pairs(value) -> list:
    """A map's (key, value) pairs: a RESP3 map, or the flat array RESP2 sends instead."""
    kind, items = value
    if kind == "%":
        return items
    assert kind == "*" and len(items) % 2 == 0
    return list(zip(items[::2], items[1::2]))


def _sort_docs_subcommands(docs):
    out = []
    for k, v in pairs(docs):
        if k == b"subcommands":
            v = sorted(((n, _sort_docs_subcommands(d)) for n, d in pairs(v) if _both_know(n)), key=lambda p: p[0])
        out.append((k, v))
    return out


def _clients(redis, respd, proto):
    pair = [RawClient(redis.port), RawClient(respd.port)]
    if proto == 3:
        for c in pair:
            assert c.call("HELLO", "3").startswith(b"%")
    return pair


def _both(pair, *argv):
    return [c.call(*argv) for c in pair]


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request, redis, respd):
    clients = _clients(redis, respd, request.param)
    yield clients
    for c in clients:
        c.close()


def test_command_info_of_every_implemented_command(pair):
    differ = []
    for name in NAMES:
        want, got = _both(pair, "COMMAND", "INFO", name)
        want, got = typed(want), typed(got)
        assert got[0] == "*" and len(got[1]) == 1 and got[1][0] is not None, name
        if want[1][0] is None:
            assert name in NEWER_THAN_7_0, "%s: unknown to redis-server 7.0" % name
            continue
        want, got = want[1][0], got[1][0]
        if name in NO_SUBCOMMANDS:
            want, got = want[1][:9], got[1][:9]
        else:
            want, got = _sort_info_subcommands(want), _sort_info_subcommands(got)
        if want != got:
            differ.append((name, want, got))
    assert not differ, "COMMAND INFO differs for %s\n%r" % ([d[0] for d in differ], differ[0][1:])


def test_command_docs_of_every_implemented_command(pair):
    differ = []
    for name in NAMES:
        want, got = _both(pair, "COMMAND", "DOCS", name)
        want, got = typed(want), typed(got)
        if name in NEWER_THAN_7_0:
            assert not want[1] and len(pairs(got)) == 1, name
            continue
        want, got = pairs(want), pairs(got)
        assert len(got) == len(want) == 1 and got[0][0] == want[0][0] == name.encode()
        want, got = want[0][1], got[0][1]
        if name in NO_SUBCOMMANDS:
            want = ("%", [(k, v) for k, v in pairs(want) if k != b"subcommands"])
        if _sort_docs_subcommands(want) != _sort_docs_subcommands(got):
            differ.append((name, want, got))
    assert not differ, "COMMAND DOCS differs for %s\n%r" % ([d[0] for d in differ], differ[0][1:])


def test_command_info_and_docs_edge_cases(pair):
    for argv in (("COMMAND", "INFO", "nosuch"), ("COMMAND", "INFO", "GET", "nosuch", "client|SETNAME"),
                 ("COMMAND", "INFO", "client|nosuch"), ("COMMAND", "DOCS", "nosuch"), ("COMMAND", "DOCS", "Get", "x"),
                 ("COMMAND", "HELP"), ("COMMAND", "NOSUCH"), ("COMMAND", "COUNT", "x"), ("COMMAND", "GETKEYS")):
        want, got = _both(pair, *argv)
        assert typed(got) == typed(want), argv


@pytest.mark.parametrize("filt", [("ACLCAT", "string"), ("ACLCAT", "connection"), ("ACLCAT", "KEYSPACE"),
                                  ("ACLCAT", "nosuch"), ("PATTERN", "client*"), ("PATTERN", "*GET*"),
                                  ("PATTERN", "c?n*"), ("MODULE", "nosuch")])
def test_command_list_filterby(redis, respd, filt):
    """Redis' answer restricted to the commands respd implements is respd's answer."""
    with RawClient(redis.port) as r, RawClient(respd.port) as p:
        want = {x for x in typed(r.call("COMMAND", "LIST", "FILTERBY", *filt))[1]}
        got = typed(p.call("COMMAND", "LIST", "FILTERBY", *filt))[1]
        assert len(got) == len(set(got))
        assert {n for n in got if n.decode() not in NEWER_THAN_7_0} == {n for n in want if n.decode() in NAMES}, filt


def test_command_list_and_count(redis, respd):
    with RawClient(redis.port) as r, RawClient(respd.port) as p:
        listed = typed(p.call("COMMAND", "LIST"))[1]
        assert sorted(n.decode() for n in listed) == NAMES  # every command and subcommand, as Redis lists them
        assert typed(p.call("COMMAND", "COUNT")) == len(COMMANDS) == len(typed(p.call("COMMAND"))[1])
        for argv in (("COMMAND", "LIST", "FILTERBY"), ("COMMAND", "LIST", "FILTERBY", "PATTERN"),
                     ("COMMAND", "LIST", "FILTERBY", "nosuch", "x"), ("COMMAND", "LIST", "x", "y", "z")):
            assert p.call(*argv) == r.call(*argv), argv


GETKEYS_CASES = [
    "SET k v", "SET k v GET", "SET k v get EX 10", "SET k v NX", "GET k", "GETSET k v", "GETEX k PERSIST", "GETDEL k",
    "MGET a b c", "MSET a 1 b 2 c 3", "MSETNX a 1 b 2", "DEL a b", "UNLINK a", "EXISTS a b a", "TOUCH a",
    "EXPIRE k 10", "TTL k", "TYPE k", "RENAME a b", "RENAMENX a b", "COPY a b", "COPY a b DB 1 REPLACE", "MOVE k 1",
    "LCS a b", "INCR k", "INCRBYFLOAT k 1.5", "APPEND k v", "SETRANGE k 0 v", "GETRANGE k 0 1", "STRLEN k",
    "SUBSTR k 0 1", "PERSIST k", "WATCH a b", "PING", "CLIENT", "CLIENT LIST", "CLIENT nosuch", "nosuch",
    "GET", "GET a b", "MSET a", "MSET a 1 b", "SET k", "EXEC", "EXEC x", "KEYS *", "SCAN 0", "client|list",
]


@pytest.mark.parametrize("sub", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_command_getkeys(pair, sub):
    for case in GETKEYS_CASES:
        want, got = _both(pair, "COMMAND", sub, *case.split())
        assert got == want, (sub, case)


def test_command_getkeys_raw_bytes_resp2(redis, respd):
    """In RESP2 the whole reply is comparable byte for byte (flag sets keep Redis' order)."""
    with RawClient(redis.port) as r, RawClient(respd.port) as p:
        data = b"".join(encode_command("COMMAND", "GETKEYSANDFLAGS", *c.split()) for c in GETKEYS_CASES)
        r.send(data)
        p.send(data)
        assert p.read_replies(len(GETKEYS_CASES)) == r.read_replies(len(GETKEYS_CASES))
