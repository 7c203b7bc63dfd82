"""Client tracking against a live redis-server 7.0.15: the same conversations (a tracking client, a writer, a
redirect target) are held with both servers, and every reply and every invalidation each connection receives is
compared byte for byte: modes and their errors, GETREDIR, TRACKINGINFO (RESP2 and RESP3 shapes), invalidation
pushes, RESP2 redirection to ``__redis__:invalidate``, flush nulls, NOLOOP, OPTIN/OPTOUT, BCAST prefixes, MULTI,
scripts, a broken redirect, CLIENT INFO's flags and redir, INFO's counters and the table limit.

The conversations run twice on respd: on a memory store and on a SQL store (database 0 of a respd on the session's
throwaway PostgreSQL), where writes and EXEC's queues are awaited.

Client ids differ between the servers: they are replaced by the connection's name. Where Redis' choice is random
(which key the table limit evicts) the key is compared as "one of them".
"""
from __future__ import annotations

import re

import pytest

from tests.helpers import RawClient, RespdProcess, encode_command, sql_registry, write_registry
from tests.pgserver import pg_server  # noqa: F401  (fixture)


class Conversation:
    def __init__(self, port: int, n: int = 3) -> None:
        self.port = port
        self.conns = [RawClient(port) for _ in range(n)]
        self.ids = {}
        for i, c in enumerate(self.conns):
            self.ids[i] = int(c.call("CLIENT", "ID")[1:-2])
        self.log: list = []

    def close(self) -> None:
        for c in self.conns:
            c.close()

    def _name(self, m) -> bytes:
        cid = int(m.group(2))
        for i, known in self.ids.items():
            if known == cid:
                return m.group(1) + b"<c%d>" % i
        return m.group(0)

    def _norm(self, data: bytes, getredir: bool = False) -> bytes:
        """Client ids where they appear: HELLO's id, TRACKINGINFO's redirect, tracking-redir-broken, GETREDIR,
        CLIENT INFO/LIST's id= and redir=."""
        data = re.sub(rb"((?:\$2\r\nid|redirect|tracking-redir-broken)\r\n:)(\d+)", self._name, data)
        data = re.sub(rb"((?:^| )(?:id|redir)=)(\d+)", self._name, data)
        if getredir:
            data = re.sub(rb"^(:)(\d+)", self._name, data)
        return data

    def say(self, i: int, *argv, n: int = 1) -> list:
        c = self.conns[i]
        c.send(encode_command(*[self._sub(a) for a in argv]))
        getredir = len(argv) == 2 and argv[1] == "GETREDIR"
        replies = [self._norm(r, getredir) for r in c.read_replies(n)]
        self.log.append((i, argv, replies))
        return replies

    def _sub(self, a):
        if isinstance(a, str):
            for j, cid in self.ids.items():
                a = a.replace("{c%d}" % j, str(cid))
        return a

    def hear(self, i: int, n: int = 1) -> list:
        replies = [self._norm(r) for r in self.conns[i].read_replies(n)]
        self.log.append((i, "(hear)", replies))
        return replies

    def quiet(self, i: int) -> None:
        self.log.append((i, "(quiet)", self.conns[i].nothing_within(0.15)))

    def note(self, what) -> None:
        self.log.append(("note", what))


def _fields(cv, line: bytes, names=(b"flags", b"redir")) -> list:
    return [cv._norm(f) for f in line.split() if f.split(b"=")[0] in names]


def _info(cv: Conversation, i: int) -> list:
    text = cv.conns[i].call("INFO", "everything")
    return sorted(ln for ln in text.split(b"\r\n") if ln.startswith(b"tracking_"))


def resp3_conversation(port: int) -> list:
    cv = Conversation(port, 4)
    t, w, r, o = 0, 1, 2, 3
    try:
        cv.say(t, "HELLO", "3")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "CLIENT", "TRACKING", "ON")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "GET", "k")
        cv.say(w, "SET", "k", "v")
        cv.hear(t)
        cv.say(w, "SET", "k", "v2")
        cv.quiet(t)
        cv.say(t, "GET", "k")
        cv.say(t, "SET", "k", "mine", n=2)      # its own write: the reply, then the invalidation
        cv.say(t, "MGET", "a", "b", "c")
        cv.say(w, "MSET", "a", "1", "b", "2")
        cv.hear(t, 2)
        cv.say(t, "HGET", "h", "f")
        cv.say(t, "LRANGE", "l", "0", "-1")
        cv.say(w, "HSET", "h", "f", "v")
        cv.hear(t)
        cv.say(w, "RPUSH", "l", "x")
        cv.hear(t)
        cv.say(t, "GET", "h")                    # WRONGTYPE: remembered all the same
        cv.say(w, "DEL", "h")
        cv.hear(t)
        # MULTI: the reads remember when EXEC runs them; its own writes are told after EXEC's reply
        cv.say(t, "MULTI")
        cv.say(t, "GET", "m1")
        cv.say(t, "GET", "m2")
        cv.say(t, "EXEC")
        cv.say(t, "MULTI")
        cv.say(t, "SET", "m1", "x")
        cv.say(t, "SET", "m2", "y")
        cv.say(t, "EXEC", n=3)
        # a script's reads remember the keys it declares
        cv.say(t, "EVAL", "return redis.call('GET', KEYS[1])", "1", "sk")
        cv.say(w, "SET", "sk", "v")
        cv.hear(t)
        # another db, same key name
        cv.say(t, "GET", "dbk")
        cv.say(w, "SELECT", "1")
        cv.say(w, "SET", "dbk", "v")
        cv.hear(t)
        cv.say(w, "SELECT", "0")
        # NOLOOP
        cv.say(t, "CLIENT", "TRACKING", "ON", "NOLOOP")
        cv.say(t, "GET", "n")
        cv.say(t, "SET", "n", "1")
        cv.quiet(t)
        cv.say(t, "GET", "n")
        cv.say(w, "SET", "n", "2")
        cv.hear(t)
        cv.say(t, "CLIENT", "TRACKINGINFO")
        # flush: a null for the tracking client, after the flusher's own reply
        cv.say(t, "GET", "f")
        cv.say(w, "FLUSHALL")
        cv.hear(t)
        cv.say(t, "FLUSHDB", n=2)
        cv.note(_info(cv, o))
        cv.say(t, "CLIENT", "TRACKING", "OFF")
        cv.note(_info(cv, o))
        # OPTIN / OPTOUT
        cv.say(t, "CLIENT", "TRACKING", "ON", "OPTIN")
        cv.say(t, "GET", "i1")
        cv.say(t, "CLIENT", "CACHING", "YES")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "GET", "i2")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "MSET", "i1", "1", "i2", "2", n=2)
        cv.say(t, "CLIENT", "TRACKING", "ON", "OPTOUT")
        # a refused command ends CLIENT CACHING's effect (one naming CLIENT does not)
        cv.say(t, "CLIENT", "CACHING", "YES")
        cv.say(t, "GET")
        cv.say(t, "GET", "i3")
        cv.say(t, "CLIENT", "CACHING", "YES")
        cv.say(t, "NOSUCH")
        cv.say(t, "GET", "i4")
        cv.say(t, "CLIENT", "CACHING", "YES")
        cv.say(t, "CLIENT", "CACHING")
        cv.say(t, "GET", "i5")
        cv.say(w, "MSET", "i3", "1", "i4", "2", "i5", "3")
        cv.hear(t)
        cv.quiet(t)
        cv.say(t, "CLIENT", "TRACKING", "OFF")
        cv.say(t, "CLIENT", "TRACKING", "ON", "OPTOUT")
        cv.say(t, "CLIENT", "CACHING", "NO")
        cv.say(t, "GET", "o1")
        cv.say(t, "GET", "o2")
        cv.say(w, "MSET", "o1", "1", "o2", "2")
        cv.hear(t)
        cv.quiet(t)
        cv.say(t, "CLIENT", "TRACKING", "OFF")
        # redirect to a RESP3 client that neither tracks nor subscribes
        cv.say(r, "HELLO", "3")
        cv.say(t, "CLIENT", "TRACKING", "ON", "REDIRECT", "{c2}")
        cv.say(t, "CLIENT", "GETREDIR")
        cv.say(t, "GET", "rk")
        cv.say(w, "SET", "rk", "v")
        cv.hear(r)
        cv.quiet(t)
        cv.note(_fields(cv, cv.conns[t].call("CLIENT", "INFO")))
        # the redirect target goes away: tracking-redir-broken to the RESP3 tracking client
        cv.say(t, "GET", "rk")
        cv.conns[r].close()
        cv.say(o, "PING")  # (the close reaches the server before the write below)
        cv.conns[o].nothing_within(0.1)
        cv.say(w, "SET", "rk", "w")
        cv.hear(t)
        cv.note(_fields(cv, cv.conns[t].call("CLIENT", "INFO")))
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "RESET")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.note(_info(cv, o))
        return cv.log
    finally:
        cv.close()


def resp2_conversation(port: int) -> list:
    cv = Conversation(port, 4)
    t, w, r, o = 0, 1, 2, 3
    try:
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(r, "SUBSCRIBE", "__redis__:invalidate")
        cv.say(t, "CLIENT", "TRACKING", "ON", "REDIRECT", "{c2}")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "GET", "k")
        cv.say(w, "SET", "k", "v")
        cv.hear(r)
        cv.quiet(t)
        cv.say(t, "GET", "k")
        cv.say(t, "SET", "k", "x")                # its own write: the message goes to the target
        cv.hear(r)
        cv.say(t, "GET", "k")
        cv.say(w, "FLUSHALL")
        cv.hear(r)                                # the RESP2 null in a message
        cv.note(_fields(cv, cv.conns[o].call("CLIENT", "LIST", "ID", "{}".format(cv.ids[t]))))
        # without a redirect a RESP2 client hears nothing
        cv.say(o, "CLIENT", "TRACKING", "ON")
        cv.say(o, "GET", "q")
        cv.say(w, "SET", "q", "1")
        cv.quiet(o)
        cv.note(_info(cv, w))
        cv.say(o, "CLIENT", "TRACKING", "OFF")
        cv.say(t, "CLIENT", "TRACKING", "OFF")
        # BCAST with prefixes, redirected: one batch per event loop iteration, keys in byte order
        cv.say(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x:", "PREFIX", "y:", "REDIRECT", "{c2}")
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x:a")
        cv.say(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "z:")  # no REDIRECT: the redirect is dropped
        cv.say(t, "CLIENT", "TRACKINGINFO")
        cv.say(t, "CLIENT", "TRACKING", "ON", "BCAST", "REDIRECT", "{c2}")
        cv.say(w, "MSET", "x:b", "1", "x:a", "2", "q", "3", "y:1", "4")
        cv.hear(r, 3)                             # one message per prefix, in byte order: "" (every key), x:, y:
        cv.say(w, "SET", "q", "4")
        cv.quiet(r)
        cv.note(_info(cv, w))
        cv.note(_fields(cv, cv.conns[o].call("CLIENT", "LIST", "ID", "{}".format(cv.ids[t]))))
        cv.say(t, "CLIENT", "TRACKING", "ON")
        cv.say(t, "CLIENT", "TRACKING", "OFF")
        cv.note(_info(cv, w))
        return cv.log
    finally:
        cv.close()


def noloop_bcast_conversation(port: int) -> list:
    cv = Conversation(port, 2)
    t, w = 0, 1
    try:
        cv.say(t, "HELLO", "3")
        cv.say(t, "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP", "PREFIX", "p")
        cv.say(t, "SET", "p1", "mine")
        cv.say(t, "PING")
        cv.quiet(t)
        cv.say(w, "SET", "p2", "theirs")
        cv.hear(t)
        cv.say(t, "CLIENT", "TRACKING", "OFF")
        cv.say(t, "CLIENT", "TRACKING", "ON", "BCAST")   # no prefix: every key
        cv.say(t, "SET", "any", "1", n=2)               # not NOLOOP: its own write, after the reply
        cv.say(w, "FLUSHDB")
        cv.hear(t)
        return cv.log
    finally:
        cv.close()


def limit_conversation(port: int) -> list:
    cv = Conversation(port, 2)
    t, admin = 0, 1
    try:
        cv.say(t, "HELLO", "3")
        cv.say(admin, "CONFIG", "GET", "tracking-table-max-keys")
        cv.say(admin, "CONFIG", "SET", "tracking-table-max-keys", "x")
        cv.say(admin, "CONFIG", "SET", "tracking-table-max-keys", "1")
        cv.say(t, "CLIENT", "TRACKING", "ON")
        cv.say(t, "GET", "a")
        cv.say(t, "GET", "b")
        # Redis forgets a random key of the two before the next command runs: one invalidation, then PING's reply
        got = cv.conns[t]
        got.send(encode_command("PING"))
        first, second = got.read_replies(2)
        cv.log.append((t, "(evicted)", re.sub(rb"\$1\r\n[ab]\r\n$", b"$1\r\n<a|b>\r\n", first), second))
        cv.note(_info(cv, admin))
        # over the limit again, then another client's command: the tracking client hears of one key all the same
        cv.say(t, "GET", "c")
        cv.say(admin, "PING")
        heard = cv.conns[t].read_reply()
        cv.log.append((t, "(evicted)", re.sub(rb"\$1\r\n[abc]\r\n$", b"$1\r\n<one>\r\n", heard)))
        cv.note(_info(cv, admin))
        return cv.log
    finally:
        cv.conns[1].call("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        cv.close()


@pytest.mark.parametrize("conversation", [resp3_conversation, resp2_conversation, noloop_bcast_conversation,
                                          limit_conversation])
def test_tracking_conversation_matches_redis(redis, respd, conversation):
    expected = conversation(redis.port)
    got = conversation(respd.port)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert g == e


@pytest.fixture(scope="module")
def sql_first_respd(pg_server, tmp_path_factory):
    """A respd whose database 0 is a SQL store (database 1 a memory store): the conversations on a SQL store."""
    d = tmp_path_factory.mktemp("tracking-sql")
    doc = sql_registry(pg_server.dsn, "tracking_%s" % d.name.replace("-", "_"), pool_max=8, command_timeout="10s",
                       connect_timeout="10s")
    doc["server"]["databases"] = {0: "app:persistent", 1: "app:cache"}
    proc = RespdProcess(configs=[write_registry(d, "sql.yaml", doc)]).start(timeout=60)
    yield proc
    proc.stop()


@pytest.mark.parametrize("conversation", [resp3_conversation, resp2_conversation, noloop_bcast_conversation,
                                          limit_conversation])
def test_tracking_conversation_on_a_sql_store_matches_redis(redis, sql_first_respd, conversation):
    with sql_first_respd.client() as c:
        assert c.cmd("FLUSHALL") == b"+OK\r\n"
    expected = conversation(redis.port)
    got = conversation(sql_first_respd.port)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert g == e
