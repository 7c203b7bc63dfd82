"""CONFIG GET on redis-server 7.0.15 and respd: the same parameter names for exact names, aliases and patterns, and
the same values except where respd reports its own setting (RESPD_OWN)."""
from __future__ import annotations

import hiredis
import pytest

from tests.helpers import RawClient

#: parameters whose value is respd's own (or the running server's) rather than Redis' default
RESPD_OWN = {"dir", "port", "bind", "latency-tracking", "tls-auth-clients", "maxclients"}


def config_get(port: int, *args: str) -> dict:
    with RawClient(port) as c:
        reply = c.call("CONFIG", "GET", *args)
    r = hiredis.Reader()
    r.feed(reply)
    flat = r.gets()
    assert isinstance(flat, list) and len(flat) % 2 == 0, reply[:200]
    out = dict(zip(flat[::2], flat[1::2]))
    assert len(out) == len(flat) // 2  # no name twice
    return out


def _compare(want: dict, got: dict) -> None:
    assert sorted(got) == sorted(want)
    differ = {k: (want[k], got[k]) for k in want if k.decode() not in RESPD_OWN and want[k] != got[k]}
    assert not differ


def test_every_redis_parameter_by_exact_name(redis, respd):
    names = sorted(config_get(redis.port, "*"))
    assert len(names) > 150
    for name in names:
        _compare(config_get(redis.port, name.decode()), config_get(respd.port, name.decode()))


@pytest.mark.parametrize("args", [("*",), ("*max-*-entries*",), ("hash-max-*",), ("maxmemory*",), ("*port*",),
                                  ("tls-*",), ("latency*",), ("slave*",), ("[ab]*",), ("?ave",), ("MAXMEMORY*",),
                                  ("*ziplist*", "*listpack*"), ("maxmemory", "save", "appendonly", "databases"),
                                  ("hash-max-listpack-entries", "hash-max-ziplist-value", "zset-*"),
                                  ("MAXMEMORY",), ("maxmemory", "maxmemory"), ("maxmemory", "MAXMEMORY"),
                                  ("Hash-Max-Listpack-Entries",), ("maxmemory", "maxmemory*"),
                                  ("nosuch",), ("nosuch*",), ("watchdog-period",), ("watchdog*",),
                                  ("appendonly", "appendfsync", "aof-*", "no-appendfsync-on-rewrite")])
def test_config_get_names_and_values(redis, respd, args):
    _compare(config_get(redis.port, *args), config_get(respd.port, *args))


def test_values_clients_read(respd):
    got = config_get(respd.port, "maxmemory-policy", "save", "appendonly", "databases", "hash-max-listpack-entries",
                     "hash-max-listpack-value", "maxmemory", "latency-tracking", "cluster-enabled")
    assert got == {b"maxmemory-policy": b"noeviction", b"save": b"", b"appendonly": b"no", b"databases": b"16",
                   b"hash-max-listpack-entries": b"512", b"hash-max-listpack-value": b"64", b"maxmemory": b"0",
                   b"latency-tracking": b"no", b"cluster-enabled": b"no"}
