"""Keyspace iteration on both servers: the glob table of the unit tests re-checked on a live redis-server and on
respd, and SCAN full iterations (compared as sets, since cursors and order legitimately differ)."""
from __future__ import annotations

import hiredis
import pytest

from tests.differential.common import flush_both
from tests.helpers import RawClient, encode_command
from tests.unit.glob_cases import GLOB_CASES, GLOB_KEYS


def decode(reply: bytes):
    r = hiredis.Reader()
    r.feed(reply)
    return r.gets()


def load_keys(port, keys):
    with RawClient(port) as c:
        c.send(b"".join(encode_command("SET", k, "1") for k in keys))
        assert c.read_replies(len(keys)) == [b"+OK\r\n"] * len(keys)


@pytest.mark.parametrize("which", ["redis", "respd"])
def test_glob_table_on_live_server(redis, respd, which):
    server = redis if which == "redis" else respd
    flush_both(redis.port, respd.port)
    load_keys(server.port, GLOB_KEYS)
    with RawClient(server.port) as c:
        for pattern, expected in GLOB_CASES:
            assert sorted(decode(c.call("KEYS", pattern))) == sorted(expected), pattern
            cursor, keys = decode(c.call("SCAN", "0", "MATCH", pattern, "COUNT", "1000"))
            assert cursor == b"0" and sorted(keys) == sorted(expected), pattern


def full_scan(port, *opts):
    seen = []
    with RawClient(port) as c:
        cursor = b"0"
        while True:
            cursor, keys = decode(c.call("SCAN", cursor, *opts))
            seen += keys
            if cursor == b"0":
                return seen


@pytest.mark.parametrize("opts", [(), ("COUNT", "7"), ("MATCH", "user:1*", "COUNT", "50"), ("COUNT", "1000"),
                                  ("TYPE", "string", "COUNT", "3")])
def test_scan_full_iteration_same_set(redis, respd, opts):
    flush_both(redis.port, respd.port)
    keys = ["user:%d" % n for n in range(700)] + ["other:%d" % n for n in range(300)]
    for port in (redis.port, respd.port):
        load_keys(port, keys)
    expected = set(full_scan(redis.port, *opts))
    got = full_scan(respd.port, *opts)
    assert set(got) == expected
