"""Command sequences sent to redis-server and respd over raw sockets; reply bytes must be identical.

Every sequence runs in RESP2 and in RESP3 (after ``HELLO 3``) on fresh connections after FLUSHALL on both.
"""
from __future__ import annotations

import pytest

from tests.differential.common import Pair, flush_both
from tests.helpers import encode_command

SEQUENCES = {
    "strings": [
        "SET a 1", "GET a", "GET nope", "SET a 2 GET", "SET b x NX", "SET b y NX", "SET b z XX GET", "GETSET b q",
        "SETNX b r", "SETNX c r", "MSET d 1 e 2 d 3", "MGET a b c d e nope", "MSETNX f 1 a 1", "MSETNX f 1 g 2",
        "APPEND a xyz", "STRLEN a", "STRLEN nope", "GETRANGE a 0 1", "GETRANGE a -2 -1", "GETRANGE a 5 1",
        "SETRANGE h 2 ab", "GET h", "SETRANGE h 0 Z", "GETDEL h", "GETDEL h", "GETEX a", "GETEX a PERSIST",
        ["SET", "bin", b"\x00\x01\xff\r\n"], ["GET", "bin"], ["SET", "empty", ""], "GET empty", "STRLEN empty",
        "ECHO hello", ["ECHO", ""], "PING", "PING x",
    ],
    "counters": [
        "INCR n", "INCRBY n 41", "DECR n", "DECRBY n -8", "INCRBY n -100", "GET n", "SET big 9223372036854775806",
        "INCR big", "INCR big", "DECRBY n -9223372036854775808", "SET s abc", "INCR s", "INCRBY n 1.5",
        "INCRBY n 01", "INCRBYFLOAT f 1.5", "INCRBYFLOAT f -0.25", "INCRBYFLOAT f 1e3", "INCRBYFLOAT f 0x10",
        "INCRBYFLOAT s 1", "INCRBYFLOAT f abc", "INCRBYFLOAT f inf", "SET g 10", "INCRBYFLOAT g 0.1",
        "INCRBYFLOAT g -10.1", "GET g",
    ],
    "set-options": [
        "SET k v EX 100", "TTL k", "SET k v PX 100000", "TTL k", "SET k v KEEPTTL", "TTL k", "SET k v", "TTL k",
        "SET k v EX 10 PX 10", "SET k v NX XX", "SET k v EX 0", "SET k v EX -5", "SET k v EX x", "SET k v FOO",
        "SET k v EX", "SET k v EXAT 1", "GET k", "SET k v PXAT 9223372036854775807", "EXISTS k",
        "SET k v EX 9223372036854775807", "SET k v EX 10 EX 20", "TTL k", "SET k v get nx", "SET k2 v NX GET",
        "SETEX k 0 v", "PSETEX k -1 v", "SETEX k 100 v", "TTL k", "GETEX k EX 50", "TTL k", "GETEX k KEEPTTL",
        "GETEX k EX 0", "GETEX k PXAT 1", "EXISTS k",
    ],
    "keyspace": [
        "MSET a 1 b 2 c 3 user:1 x user:2 y", "EXISTS a a b nope", "DEL a a nope", "UNLINK b", "EXISTS a b c",
        "TYPE c", "TYPE nope", "KEYS *", "KEYS user:*", "KEYS user:[12]", "KEYS ?", "DBSIZE", "SCAN 0",
        "SCAN 0 MATCH user:*", "SCAN 0 COUNT 1000 MATCH *:2", "SCAN 0 TYPE string", "SCAN 0 TYPE hash",
        "SCAN abc", "SCAN 0 COUNT 0", "SCAN 0 COUNT x", "SCAN 0 BOGUS 1", "RENAME c d", "RENAME c d", "RENAME d d",
        "RENAMENX d user:1", "RENAMENX d e", "COPY e f", "COPY e f", "COPY e f REPLACE", "COPY e e",
        "COPY e g DB 3", "COPY e g DB 16", "MOVE e 3", "MOVE e 3", "SELECT 3", "KEYS *", "MOVE e 3", "SELECT 0",
        "FLUSHDB", "DBSIZE", "SELECT 3", "DBSIZE", "FLUSHALL", "DBSIZE", "FLUSHALL SYNC", "FLUSHDB BOGUS",
    ],
    "expiry": [
        "SET k v", "TTL k", "PTTL k", "EXPIRE k 100", "TTL k", "PTTL k", "EXPIRE k 100 NX", "EXPIRE k 200 XX",
        "EXPIRE k 50 GT", "EXPIRE k 300 GT", "EXPIRE k 400 LT", "EXPIRE k 10 LT", "TTL k", "EXPIRETIME k",
        "PEXPIRETIME k", "PERSIST k", "PERSIST k", "TTL k", "EXPIRE k 10 NX XX", "EXPIRE k 10 GT LT",
        "EXPIRE k 10 FOO", "EXPIRE nope 10", "TTL nope", "PEXPIRE k 100000", "TTL k", "EXPIREAT k 1", "EXISTS k",
        "SET k v", "EXPIRE k 0", "GET k", "SET k v", "PEXPIRE k -1", "EXISTS k", "SET k v", "EXPIRE k abc",
        "EXPIRE k 9223372036854775807", "PEXPIREAT k 9223372036854775807", "TTL k", "EXPIRE k",
        "SET k v", "PEXPIREAT k 4102444800600", "EXPIRETIME k", "PEXPIRETIME k", "PEXPIREAT k 4102444800499",
        "EXPIRETIME k", "PEXPIREAT k 4102444800500", "EXPIRETIME k",
    ],
    "transactions": [
        "MULTI", "SET a 1", "INCR a", "INCR a x", "GET a", "EXEC", "EXEC", "DISCARD", "MULTI", "MULTI", "DISCARD",
        "MULTI", "SET s abc", "INCR s", "SET a 5", "EXEC", "GET a", "MULTI", "NOPE", "SET a 6", "EXEC", "GET a",
        "WATCH a", "SET a 7", "MULTI", "SET a 8", "EXEC", "GET a", "WATCH a", "UNWATCH", "MULTI", "SET a 9", "EXEC",
        "MULTI", "WATCH a", "EXEC", "MULTI", "EXEC", "MULTI", "SELECT 1", "SET a in1", "EXEC", "GET a", "SELECT 0",
        "EXEC extra", "MULTI", "SET q 1", "EXEC extra", "EXEC", "GET q",
    ],
    "errors": [
        "NOPE", "nope a b c", ["NOPE", "x" * 300], ["NOPE", "a\r\nb"], "GET", "GET a b", "SET", "MGET", "MSET a",
        "MSET a 1 b", "CLIENT", "CLIENT NOPE", "CLIENT SETNAME", "CLIENT SETNAME 'a b'", "CONFIG GET",
        "CONFIG NOPE", "COMMAND NOPE", "SELECT", "SELECT 16", "SELECT -1", "SELECT x", "HELLO 4", "HELLO x",
        "HELLO 3 BOGUS", "HELLO 2 AUTH u", "AUTH x", "AUTH a b c", "PING a b", "ECHO", "DBSIZE 1", "TTL",
        "EXISTS", "DEL", "EXPIRE k", "RENAME a", "INCRBY a", "GETRANGE a 0", "SETRANGE a -1 x", "SETRANGE a x y",
        "CLIENT MAINT_NOTIFICATIONS ON moving-endpoint-type internal-fqdn", "get a", "GeT a",
    ],
    "connection": [
        "CLIENT GETNAME", "CLIENT SETNAME n1", "CLIENT GETNAME", ["CLIENT", "SETNAME", ""], "CLIENT GETNAME",
        "CLIENT ID", "HELLO", "HELLO 2 SETNAME n2", "CLIENT GETNAME", "SELECT 5", "SET x 1", "RESET", "GET x",
        "CLIENT GETNAME", "CONFIG GET maxmemory", "CONFIG GET databases", "CONFIG GET appendonly",
        "CONFIG GET save", "CONFIG GET nosuch", "CONFIG GET maxmemory-policy", "TYPE x",
    ],
}


@pytest.fixture
def pair(redis, respd):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as p:
        yield p


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence(pair, name, proto):
    if proto == 3:
        a, b = pair.run("HELLO 3")
        assert a == b
    for n, cmd in enumerate(SEQUENCES[name]):
        expected, got = pair.run(cmd)
        assert got == expected, "step %d %r:\n redis %r\n respd %r" % (n, cmd, expected, got)


def test_watch_two_connections(redis, respd):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as one, Pair(redis.port, respd.port) as two:
        steps = [(one, "SET a 1"), (one, "WATCH a b"), (two, "SET b 2"), (one, "MULTI"), (one, "INCR a"),
                 (one, "EXEC"), (one, "GET a"), (one, "WATCH a"), (two, "SELECT 1"), (two, "SET a 9"),
                 (one, "MULTI"), (one, "INCR a"), (one, "EXEC"), (one, "WATCH a"), (two, "SELECT 0"),
                 (two, "FLUSHDB"), (one, "MULTI"), (one, "EXEC"), (one, "WATCH nope"), (two, "SET nope 1"),
                 (one, "MULTI"), (one, "EXEC"), (one, "MULTI"), (one, "SET z 1"), (two, "EXISTS z"),
                 (one, "EXEC"), (two, "EXISTS z")]
        for n, (conn, cmd) in enumerate(steps):
            expected, got = conn.run(cmd)
            assert got == expected, "step %d %r:\n redis %r\n respd %r" % (n, cmd, expected, got)


# ------------------------------------------------------------------------------------------------ raw frames
INLINE = [
    (b"PING\r\n", 1),
    (b"SET a 1\r\nGET a\r\n", 2),
    (b"set  a\t2\nget a\n", 2),
    (b"\r\n\r\nPING\r\n", 1),
    (b'ECHO "a b" \'c d\' "\\x41\\n"\r\n', 1),
    (b'ECHO a"b c"\r\n', 1),
    (b'ECHO ""\r\n', 1),
    (b"ECHO 'it\\'s'\r\n", 1),
    (b'SET q "a\\tb"\r\nGET q\r\nSTRLEN q\r\n', 3),
    (encode_command("SET", "m", "1") + b"GET m\r\n" + encode_command("INCR", "m") + b"GET m\r\n", 4),
    (b"*0\r\nPING\r\n", 1),
    (b"*-1\r\nPING\r\n", 1),
    (b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n", 2),
    (b"NOPE x\r\n", 1),
    (b"GET\r\n", 1),
]


@pytest.mark.parametrize("data,replies", INLINE, ids=[repr(d)[:40] for d, _ in INLINE])
def test_inline_and_mixed_requests(pair, data, replies):
    expected, got = pair.raw(data, replies)
    assert got == expected


CLOSING = [
    b"*abc\r\n",
    b"*1\r\nfoo\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$\r\n",
    b"*1\r\n$536870913\r\n",
    b'ECHO "unbalanced\r\n',
    b'ECHO "a"b\r\n',
    b"ECHO 'x\r\n",
    encode_command("SET", "a", "1") + b"PING\r\n" + b"*1\r\nxyz\r\n" + encode_command("GET", "a"),
    b"QUIT\r\nPING\r\n",
    encode_command("PING") + encode_command("QUIT", "bye") + encode_command("PING"),
    b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"Host: example.com\r\n",
]


@pytest.mark.parametrize("data", CLOSING, ids=[repr(d)[:40] for d in CLOSING])
def test_frames_that_close_the_connection(pair, data):
    expected, got = pair.raw_until_closed(data)
    assert got == expected


def test_byte_at_a_time(pair):
    data = encode_command("SET", "slow", "value") + b"GET slow\r\n" + encode_command("STRLEN", "slow")
    for i in range(len(data)):
        pair.redis.send(data[i:i + 1])
        pair.respd.send(data[i:i + 1])
    assert pair.respd.read_replies(3) == pair.redis.read_replies(3)


def test_large_values_and_pipelines(pair):
    big = b"x" * (3 * 1024 * 1024)
    data = encode_command("SET", "big", big) + encode_command("GET", "big") + encode_command("STRLEN", "big")
    data += b"".join(encode_command("INCR", "ctr") for _ in range(5000))
    expected, got = pair.raw(data, 5003)
    assert got == expected


def test_client_reply_modes(pair):
    data = (encode_command("CLIENT", "REPLY", "SKIP") + encode_command("SET", "a", "1") + encode_command("GET", "a")
            + encode_command("CLIENT", "REPLY", "OFF") + encode_command("SET", "b", "2") + encode_command("GET", "b")
            + encode_command("CLIENT", "REPLY", "ON") + encode_command("MGET", "a", "b"))
    expected, got = pair.raw(data, 3)
    assert got == expected
    assert expected[0] == b"$1\r\n1\r\n"


@pytest.mark.parametrize("proto", [2, 3])
def test_text_replies_have_the_same_shape(pair, proto):
    """INFO and CLIENT INFO texts differ in content; their framing (bulk vs verbatim) and key fields must not."""
    if proto == 3:
        pair.run("HELLO 3")
    for cmd in ("INFO", "INFO server", "CLIENT INFO", "CLIENT LIST"):
        expected, got = pair.run(cmd)
        assert got[:1] == expected[:1], cmd
        if proto == 3:
            assert got.split(b"\r\n", 1)[1].startswith(b"txt:"), cmd
    for cmd, field in (("INFO", b"redis_version:"), ("INFO keyspace", b"# Keyspace"), ("CLIENT INFO", b"resp=%d" % proto),
                       ("CLIENT INFO", b"db=0"), ("INFO clients", b"connected_clients:")):
        expected, got = pair.run(cmd)
        assert field in expected and field in got, (cmd, field)
    expected, got = pair.run("INFO nosuchsection")
    assert got == expected
