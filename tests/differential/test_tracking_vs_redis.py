"""Client tracking (client-side caching) against a live redis-server 7.0.15: the same conversations, a tracking
client and a writer (and a redirect target), held with both servers; every reply and every invalidation each
connection receives is compared byte for byte. Client ids differ between the servers: they are replaced by their
role's name before comparing.

Covered: the default mode (reads remembered, one invalidation per key and per read, MSET's keys one message each,
the writer's own invalidation after its reply, nothing for keys not read), NOLOOP, OPTIN / OPTOUT with CLIENT
CACHING (for the next command and for a whole transaction), BCAST with prefixes (one message per prefix, keys
gathered), flushes (null invalidations), REDIRECT to a RESP2 subscriber of __redis__:invalidate and to a RESP3
client, a redirect target that goes away, GETREDIR, TRACKINGINFO, CLIENT LIST's flags, INFO's counts, a script's
reads, MULTI, RESET, and every error of CLIENT TRACKING and CLIENT CACHING.
"""
from __future__ import annotations

import re
import time

import pytest

from tests.helpers import RawClient, encode_command


class Talk:
    """Connections to one server by role; ``say`` sends a command and records its reply, ``hear`` records what
    arrives without a request (within a short wait: a push, or nothing)."""

    def __init__(self, port: int, roles: dict) -> None:
        self.port = port
        self.conns = {}
        self.ids = {}
        self.log: list = []
        for role, proto in roles.items():
            self.open(role, proto)

    def open(self, role: str, proto: int) -> None:
        c = RawClient(self.port)
        if proto == 3:
            c.call("HELLO", "3")
        self.conns[role] = c
        self.ids[role] = int(c.call("CLIENT", "ID")[1:-2])

    def close(self, role: str) -> None:
        self.conns.pop(role).close()

    def _norm(self, data: bytes) -> bytes:
        """Client ids by role (integer replies, id=/redir= fields); CLIENT LIST lines cut to flags and redir."""
        names = {cid: b"<" + role.encode() + b">" for role, cid in self.ids.items()}

        def role(m):
            n = int(m.group(2))
            return m.group(1) + names.get(n, m.group(2)) + m.group(3)
        if b"# Clients" in data:  # INFO clients: its tracking line
            data = b" ".join(re.findall(rb"tracking_clients:\d+", data))
        if b"flags=" in data:
            data = b" ".join(re.findall(rb"(?:flags|redir)=\S+", data))
        return re.sub(rb"(:|redir=)(\d+)(\r\n|\s|$)", role, data)

    def say(self, role: str, *argv, n: int = 1) -> None:
        shown = b" ".join(a if isinstance(a, bytes) else str(a).encode() for a in argv)
        argv = tuple(str(self.ids[a[1:]]) if isinstance(a, str) and a.startswith("@") else a for a in argv)
        c = self.conns[role]
        c.send(encode_command(*argv))
        replies = c.read_replies(n)
        self.log.append((role, shown, [self._norm(r) for r in replies]))

    def hear(self, role: str, wait: float = 0.3) -> None:
        """Whatever arrives for role within ``wait`` seconds (the pushes Redis sent: none is also an answer)."""
        c = self.conns[role]
        c.sock.settimeout(wait)
        got = []
        try:
            while True:
                got.append(c.read_reply())
        except OSError:  # socket.timeout: nothing more
            pass
        finally:
            c.sock.settimeout(c.timeout)
        self.log.append((role, b"(hear)", [self._norm(r) for r in got]))

    def done(self) -> list:
        for c in self.conns.values():
            c.close()
        return self.log


def both(redis_port: int, respd_port: int, script) -> None:
    logs = []
    for port in (redis_port, respd_port):
        RawClient(port).call("FLUSHALL")
        logs.append(script(port))
    expected, got = logs
    for e, g in zip(expected, got):
        assert g == e
    assert len(got) == len(expected)


def default_mode(port):
    t = Talk(port, {"t": 3, "w": 2})
    t.say("t", "CLIENT", "TRACKING", "ON")
    t.say("t", "CLIENT", "GETREDIR")
    t.say("t", "CLIENT", "TRACKINGINFO")
    t.say("t", "GET", "a")
    t.say("t", "MGET", "b", "c")
    t.say("t", "STRLEN", "d")
    t.say("w", "SET", "a", "1")
    t.hear("t")
    t.say("w", "MSET", "b", "1", "c", "1", "d", "1", "e", "1")
    t.hear("t")
    t.say("w", "SET", "a", "2")             # not read again since: nothing
    t.hear("t")
    t.say("t", "GET", "a")
    t.say("t", "SET", "a", "mine")           # its own write: after the reply
    t.say("t", "GET", "a")
    t.say("t", "INCR", "n")                  # a write it never read: nothing
    t.say("t", "PING")
    t.say("w", "CLIENT", "LIST", "ID", "@t")
    t.say("t", "GET", "x")
    t.say("w", "DEL", "x")                   # nothing to delete: no invalidation
    t.say("w", "SET", "x", "1")
    t.hear("t")
    t.say("t", "HGET", "h", "f")
    t.say("w", "HSET", "h", "f", "v")
    t.hear("t")
    t.say("t", "MULTI")
    t.say("t", "GET", "m1")
    t.say("t", "GET", "m2")
    t.say("t", "EXEC")
    t.say("w", "MSET", "m1", "x", "m2", "y")
    t.hear("t")
    t.say("t", "EVAL", "return redis.call('GET', KEYS[1])", "1", "s")
    t.say("w", "SET", "s", "1")
    t.hear("t")
    t.say("t", "GET", "z")
    t.say("w", "EXPIRE", "z", "100")         # missing: nothing
    t.say("w", "SET", "z", "v", "PX", "50")
    t.hear("t")
    t.say("t", "GET", "z")
    time.sleep(0.1)
    t.say("t", "GET", "z")                   # found expired on access: invalidated
    t.hear("t")
    t.say("t", "CLIENT", "TRACKING", "OFF")
    t.say("t", "GET", "q")
    t.say("w", "SET", "q", "1")
    t.hear("t")
    return t.done()


def noloop_optin_optout(port):
    t = Talk(port, {"t": 3, "w": 2})
    t.say("t", "CLIENT", "TRACKING", "ON", "NOLOOP")
    t.say("t", "GET", "a")
    t.say("t", "SET", "a", "1")
    t.say("t", "PING")
    t.say("t", "GET", "a")
    t.say("w", "SET", "a", "2")
    t.hear("t")
    t.say("t", "CLIENT", "TRACKING", "OFF")
    t.say("t", "CLIENT", "TRACKING", "ON", "OPTIN")
    t.say("t", "CLIENT", "TRACKINGINFO")
    t.say("t", "GET", "o1")
    t.say("t", "CLIENT", "CACHING", "YES")
    t.say("t", "CLIENT", "TRACKINGINFO")
    t.say("t", "GET", "o2")
    t.say("t", "GET", "o3")
    t.say("t", "CLIENT", "CACHING", "YES")
    t.say("t", "MULTI")
    t.say("t", "GET", "o4")
    t.say("t", "GET", "o5")
    t.say("t", "EXEC")
    t.say("w", "MSET", "o1", "1", "o2", "1", "o3", "1", "o4", "1", "o5", "1")
    t.hear("t")
    t.say("t", "CLIENT", "TRACKING", "OFF")
    t.say("t", "CLIENT", "TRACKING", "ON", "OPTOUT")
    t.say("t", "GET", "p1")
    t.say("t", "CLIENT", "CACHING", "NO")
    t.say("t", "GET", "p2")
    t.say("t", "GET", "p3")
    t.say("w", "MSET", "p1", "1", "p2", "1", "p3", "1")
    t.hear("t")
    t.say("t", "CLIENT", "TRACKINGINFO")
    return t.done()


def bcast(port):
    t = Talk(port, {"t": 3, "u": 3, "w": 2})
    t.say("t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    t.say("u", "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
    t.say("t", "CLIENT", "TRACKINGINFO")
    t.say("w", "MSET", "user:1", "x", "obj:2", "y", "other", "z", "user:0", "q")
    t.hear("t")
    t.hear("u")
    t.say("u", "SET", "mine", "1")           # NOLOOP: u is not told of its own write
    t.say("w", "SET", "theirs", "1")
    t.hear("u")
    t.say("t", "SET", "user:9", "1")         # BCAST without NOLOOP: told of its own write, after the reply
    t.hear("t")
    t.say("t", "GET", "user:5")              # BCAST remembers no reads
    t.say("w", "INFO", "clients")
    t.say("t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "us")   # overlaps user:
    t.say("t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "new:")
    t.say("t", "CLIENT", "TRACKINGINFO")
    t.say("t", "CLIENT", "TRACKING", "ON")   # leaving BCAST needs OFF first
    t.say("u", "RESET")
    t.say("u", "CLIENT", "TRACKINGINFO")
    return t.done()


def flush_and_redirect(port):
    t = Talk(port, {"t": 2, "r2": 2, "r3": 3, "t3": 3, "w": 2})
    t.say("r2", "SUBSCRIBE", "__redis__:invalidate")
    t.say("t", "CLIENT", "TRACKING", "ON", "REDIRECT", "@r2")
    t.say("t", "CLIENT", "GETREDIR")
    t.say("t3", "CLIENT", "TRACKING", "ON", "REDIRECT", "@r3")
    t.say("t", "GET", "a")
    t.say("t3", "GET", "a")
    t.say("w", "SET", "a", "1")
    t.hear("r2")
    t.hear("r3")
    t.say("t", "GET", "b")
    t.say("w", "FLUSHALL")
    t.hear("r2")
    t.hear("r3")
    t.hear("t")
    t.close("r2")
    t.close("r3")
    time.sleep(0.2)
    t.say("t", "GET", "c")
    t.say("t3", "GET", "c")
    t.say("w", "SET", "c", "1")
    t.hear("t")
    t.hear("t3")
    t.say("t", "CLIENT", "TRACKINGINFO")
    t.say("w", "CLIENT", "LIST", "ID", "@t", "@t3")
    t.say("t", "CLIENT", "TRACKING", "ON")   # on again: the redirection goes
    t.say("t", "CLIENT", "TRACKINGINFO")
    return t.done()


_ERRORS = [
    ("CLIENT", "TRACKING", "ON", "PREFIX", "x"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "OPTOUT"),
    ("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"),
    ("CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
    ("CLIENT", "TRACKING", "ON", "REDIRECT", "x"),
    ("CLIENT", "TRACKING", "ON", "REDIRECT", "@c", "REDIRECT", "@c"),
    ("CLIENT", "TRACKING", "ON", "REDIRECT"),
    ("CLIENT", "TRACKING", "ON", "PREFIX"),
    ("CLIENT", "TRACKING", "MAYBE"),
    ("CLIENT", "TRACKING", "ON", "FOO"),
    ("CLIENT", "TRACKING"),
    ("CLIENT", "CACHING", "YES"),
    ("CLIENT", "CACHING", "NO"),
    ("CLIENT", "CACHING"),
    ("CLIENT", "GETREDIR", "x"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab"),
    ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"),
    ("CLIENT", "TRACKING", "ON", "OPTIN"),
    ("CLIENT", "CACHING", "NO"),
    ("CLIENT", "CACHING", "MAYBE"),
    ("CLIENT", "TRACKING", "ON", "OPTOUT"),
    ("CLIENT", "TRACKING", "ON", "BCAST"),
    ("CLIENT", "TRACKING", "OFF"),
    ("CLIENT", "TRACKING", "ON", "OPTOUT"),
    ("CLIENT", "CACHING", "YES"),
    ("CLIENT", "TRACKING", "OFF", "REDIRECT", "@c"),
    ("CLIENT", "GETREDIR"),
]


def errors(port):
    t = Talk(port, {"c": 3})
    for argv in _ERRORS:
        t.say("c", *argv)
    return t.done()


def introspection(port):
    t = Talk(port, {"t": 3, "b": 3, "w": 2})
    t.say("w", "INFO", "clients")
    t.say("t", "CLIENT", "TRACKING", "ON")
    t.say("b", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "y")
    t.say("t", "MGET", "k1", "k2", "k3")
    t.say("w", "CONFIG", "GET", "tracking-table-max-keys")
    t.say("w", "CONFIG", "SET", "tracking-table-max-keys", "1000")
    t.say("w", "CONFIG", "GET", "tracking-table-max-keys")
    t.say("w", "CONFIG", "SET", "tracking-table-max-keys", "1000000")
    return t.done()


@pytest.mark.parametrize("script", [default_mode, noloop_optin_optout, bcast, flush_and_redirect, errors,
                                    introspection])
def test_tracking(redis, respd, script):
    both(redis.port, respd.port, script)


def _info_tracking(port) -> list:
    with RawClient(port) as c:
        text = c.call("INFO", "everything").decode()
    return sorted(ln for ln in text.split("\r\n") if ln.startswith("tracking_"))


def test_info_counts(redis, respd):
    """INFO's tracking_clients and tracking_total_keys/items/prefixes after the same tracking on both servers."""
    def run(port):
        t = Talk(port, {"t": 3, "u": 3, "b": 3})
        t.say("t", "CLIENT", "TRACKING", "ON")
        t.say("u", "CLIENT", "TRACKING", "ON")
        t.say("b", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p", "PREFIX", "q")
        t.say("t", "MGET", "k1", "k2")
        t.say("u", "GET", "k2")
        info = _info_tracking(port)
        t.done()
        return info
    RawClient(redis.port).call("FLUSHALL")
    RawClient(respd.port).call("FLUSHALL")
    assert run(respd.port) == run(redis.port)
