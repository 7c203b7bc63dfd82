"""Keyspace notifications against a real redis-server: the same commands on both, the same message streams.

A subscriber on each server holds ``PSUBSCRIBE __key*__:*`` (and a marker channel); after every step the data
connection publishes a marker, so the subscriber reads exactly the messages the step caused (both servers deliver
in order on one connection). The streams are compared byte for byte, with every class on (``KEAnm``), for a respd
memory store and a respd SQL store (database 1, compared with Redis' database 1).
"""
from __future__ import annotations

import time

import pytest

from tests.differential.test_collections_stateful import sql_respd  # noqa: F401  (fixture)
from tests.helpers import RawClient, encode_command, split_command
from tests.pgserver import pg_server  # noqa: F401  (fixture)

MARK = b"zz-notify-marker"

STRINGS = [
    "SET a 1", "SET a 2", "SET a 3 NX", "SET a 4 XX GET", "SET b 1 NX GET", "SET b 2 NX GET", "SET c 1 EX 100",
    "SET c 2 KEEPTTL", "SET c 3 PX 100000 GET", "SETNX a x", "SETNX d x", "SETEX e1 100 v", "PSETEX e2 100000 v",
    "GETSET a 5", "GETSET f 1", "GETDEL f", "GETDEL f", "GETEX c PERSIST", "GETEX c PERSIST", "GETEX c EX 100",
    "GETEX c", "GETEX c PXAT 1", "GETEX nokey EX 10", "MSET m1 1 m2 2 m1 3", "MSETNX m1 1 m3 3", "MSETNX m4 1 m5 2",
    "APPEND ap x", "APPEND ap y", "SETRANGE sr 0 ''", "SETRANGE sr 2 ab", "SETRANGE sr 0 ''", "SETRANGE sr 1 z",
    "INCR i", "DECR i", "INCRBY i 5", "DECRBY i 2", "INCRBYFLOAT fl 1.5", "INCR ap", "LPUSH a x",
]
KEYSPACE = [
    "MSET k1 1 k2 2 k3 3 k4 4", "DEL k1 nokey k1 k2", "UNLINK k3 k3", "EXPIRE k4 100", "EXPIRE k4 200 NX",
    "EXPIRE k4 300 XX", "PERSIST k4", "PERSIST k4", "PEXPIRE k4 -1", "SET k5 v", "EXPIREAT k5 1", "EXPIRE nokey 10",
    "SET r1 v", "RENAME r1 r2", "RENAME r2 r2", "SET r3 x", "RENAME r2 r3", "RENAMENX r3 r4", "SET r5 y",
    "RENAMENX r4 r5", "RENAME nokey r6", "SET mv 1", "MOVE mv {other}", "MOVE mv {other}", "SET cp 1", "COPY cp cp2",
    "COPY cp cp2", "COPY cp cp2 REPLACE", "COPY cp cp3 DB {other}", "SET ex v PX 100000", "PEXPIREAT ex 1",
]
LISTS = [
    "RPUSH l a b c", "LPUSH l z", "LPUSHX nol a", "RPUSHX l d", "LINSERT l BEFORE a x", "LINSERT l BEFORE nope x",
    "LSET l 0 q", "LPOP l", "RPOP l 2", "LPOP l 0", "LPOP nol", "LREM l 0 zz", "LREM l 1 x", "LTRIM l 0 -1",
    "LTRIM nol 0 1", "RPUSH l2 a b", "LMOVE l2 l3 LEFT RIGHT", "RPOPLPUSH l2 l3", "LMOVE l3 l3 LEFT LEFT",
    "LMPOP 2 nol l3 RIGHT COUNT 5", "RPUSH l4 1 2 3", "LTRIM l4 5 10", "RPUSH l5 1", "LREM l5 0 1",
    "RPUSH l6 a b", "BLPOP nol l6 1", "BRPOP l6 1", "RPUSH l7 a", "BLMOVE l7 l8 RIGHT LEFT 1", "BRPOPLPUSH l8 l9 1",
    "BLMPOP 1 2 nol l9 LEFT COUNT 2", "LPOP l 100",
]
HASHES = [
    "HSET h f v", "HSET h f v g w", "HMSET h a 1", "HSETNX h f x", "HSETNX h n x", "HINCRBY h c 2",
    "HINCRBYFLOAT h d 1.5", "HDEL h nope", "HDEL h f g", "HDEL h a n c d", "HINCRBY h2 x 1", "HINCRBY h2 x y",
]
SETS = [
    "SADD s a b c", "SADD s a", "SREM s zz", "SREM s a", "SADD t x", "SMOVE s t b", "SMOVE s t zz", "SADD t c",
    "SMOVE s t c", "SMOVE t t x", "SADD u 1 2", "SMOVE u nu 1", "SPOP u 0", "SPOP u", "SPOP u", "SADD u 5 6",
    "SPOP u 5", "SADD v 1 2 3", "SPOP v 3",
    "SADD s1 a b", "SADD s2 b c", "SINTERSTORE d1 s1 s2", "SINTERSTORE d1 s1 s2", "SINTERSTORE d1 s1 nos",
    "SUNIONSTORE d2 s1 s2", "SDIFFSTORE d3 s1 s2", "SDIFFSTORE d3 s1 s1", "SDIFFSTORE d4 s1 s1",
]
ZSETS = [
    "ZADD z 1 a 2 b", "ZADD z 1 a", "ZADD z 3 a", "ZADD z CH 3 a", "ZADD z NX 5 a", "ZADD z XX 5 nn",
    "ZADD z GT 1 a", "ZADD z LT 1 a", "ZADD z INCR 2 b", "ZADD z NX INCR 2 b", "ZINCRBY z 1 c", "ZINCRBY nz 1 c",
    "ZREM z nope", "ZREM z c", "ZADD r 1 a 2 b 3 c 4 d 0 x 0 y", "ZREMRANGEBYSCORE r 1 1", "ZREMRANGEBYSCORE r 10 20",
    "ZREMRANGEBYRANK r 0 0", "ZREMRANGEBYLEX r [x [y", "ZREMRANGEBYRANK r 0 -1", "ZADD z1 1 a 2 b",
    "ZADD z2 2 b 3 c", "ZUNIONSTORE zu 2 z1 z2", "ZINTERSTORE zi 2 z1 z2", "ZINTERSTORE zi 2 z1 noz",
    "ZDIFFSTORE zd 2 z1 z2", "ZRANGESTORE zr z1 0 -1", "ZRANGESTORE zr z1 5 10", "ZPOPMIN z1", "ZPOPMAX z2 5",
    "ZPOPMIN z2", "ZPOPMIN z1 0", "ZADD p 1 a 2 b 3 c", "ZMPOP 2 noz p MAX COUNT 2", "BZPOPMIN noz p 1",
    "ZADD q 1 a 2 b", "BZPOPMAX q 1", "BZMPOP 1 1 q MIN", "ZADD z3 1 a", "ZADD z3 XX CH 1 a", "ZADD z3 7 a 1 a",
    "ZADD z3 2 b 2 b", "ZADD z3 2 b 2 b",
    "ZADD z3 GT CH 9 a 1 b", "ZADD z3 +inf a", "ZADD z3 inf a", "ZADD z3 nan a",
]
MULTI_AND_SCRIPTS = [
    ("MULTI", "SET ma 1", "INCR ma", "LPUSH ml a", "LPOP ml", "EXEC"),
    "EVAL \"redis.call('SET', KEYS[1], 'x'); redis.call('HSET', KEYS[2], 'f', 'v'); "
    "redis.call('DEL', KEYS[1]); return 1\" 2 es eh",
    "EVAL \"return redis.call('LPUSH', KEYS[1], 'a', 'b')\" 1 el",
    ("MULTI", "RPUSH bl x", "BLPOP bl 0", "EXEC"),
]
READS = [
    "SET s v", "RPUSH l a", "HSET h f v", "SADD set a", "ZADD z 1 a",
    "GET s", "GET nos", "GETRANGE nos 0 1", "STRLEN nos", "SUBSTR s 0 1", "MGET s nos s nos2 nos", "EXISTS s nos nos",
    "TOUCH nos s", "TYPE nos", "TTL nos", "PTTL nos", "EXPIRETIME nos", "PEXPIRETIME s", "LCS s nos",
    "HGET noh f", "HMGET noh a b", "HGETALL noh", "HKEYS h", "HVALS noh", "HLEN noh", "HEXISTS noh f", "HSTRLEN noh f",
    "HRANDFIELD noh", "HSCAN noh 0", "LRANGE nol 0 -1", "LLEN nol", "LINDEX nol 0", "LPOS nol a", "LINDEX l 0",
    "SMEMBERS nos", "SCARD nos", "SISMEMBER nos a", "SMISMEMBER nos a b", "SRANDMEMBER nos", "SSCAN nos 0",
    "SINTER set nos", "SUNION nos set nos", "SDIFF nos", "SINTERCARD 2 set nos", "ZCARD noz", "ZSCORE noz a",
    "ZMSCORE noz a", "ZRANK noz a", "ZREVRANK noz a", "ZRANGE noz 0 -1", "ZRANGEBYSCORE noz 0 1", "ZREVRANGE noz 0 1",
    "ZRANGEBYLEX noz - +", "ZREVRANGEBYLEX noz + -", "ZREVRANGEBYSCORE noz 1 0", "ZCOUNT noz 0 1",
    "ZLEXCOUNT noz - +", "ZRANDMEMBER noz", "ZSCAN noz 0", "ZUNION 2 z noz", "ZINTER 2 noz z", "ZDIFF 2 noz z",
    "ZINTERCARD 2 z noz", "SET s w GET", "SET nos2 w GET", "GETSET nos3 v", "GETDEL nos4", "GETEX nos5",
    "COPY nos6 c", "SINTERSTORE d nos set", "ZUNIONSTORE d2 2 nos z", "ZRANGESTORE d3 nos 0 -1", "OBJECT ENCODING nos",
    "DBSIZE",
]
FAMILIES = {"reads": READS, "strings": STRINGS, "keyspace": KEYSPACE, "lists": LISTS, "hashes": HASHES, "sets": SETS,
            "zsets": ZSETS, "multi-scripts": MULTI_AND_SCRIPTS}


class Side:
    """One server: a subscriber and a data connection on database db."""

    def __init__(self, port: int, db: int, flags: str = "KEAnm"):
        self.data = RawClient(port)
        self.sub = RawClient(port)
        self.db = db
        assert self.data.call("CONFIG", "SET", "notify-keyspace-events", flags) == b"+OK\r\n"
        assert self.data.call("SELECT", str(db)) == b"+OK\r\n"
        for k in (0, 1, 2, 3):
            self.data.call("SELECT", str(k))
            self.data.call("FLUSHDB")
        self.data.call("SELECT", str(db))
        self.sub.call("PSUBSCRIBE", "__key*__:*")
        self.sub.call("SUBSCRIBE", MARK)
        self.step = 0

    def close(self):
        self.data.call("CONFIG", "SET", "notify-keyspace-events", "")
        self.data.close()
        self.sub.close()

    def messages(self) -> list[bytes]:
        """The messages since the last marker: publish a new marker, read up to it."""
        self.step += 1
        tag = b"%d" % self.step
        self.data.call("PUBLISH", MARK, tag)
        out = []
        while True:
            m = self.sub.read_reply()
            if MARK in m and m.endswith(b"\r\n" + tag + b"\r\n"):
                return out
            out.append(m)


def _streams(side: Side, commands: list) -> list:
    """Per step (a command, or a tuple of commands sent together: MULTI ... EXEC), its replies and messages."""
    out = []
    for step in commands:
        texts = step if isinstance(step, tuple) else (step,)
        replies = b"".join(side.data.call(*split_command(t)) for t in texts)
        out.append((step, replies, side.messages()))
    return out


def _compare(redis_side: Side, respd_side: Side, commands: list[str]) -> None:
    a = _streams(redis_side, commands)
    b = _streams(respd_side, commands)
    for (text, ra, ma), (_, rb, mb) in zip(a, b):
        assert (text, rb, mb) == (text, ra, ma)


@pytest.fixture(params=["memory", "sql"])
def respd_db(request):
    """(respd port, database): a memory store (0) or a SQL store (1)."""
    if request.param == "memory":
        return request.getfixturevalue("respd").port, 0
    return request.getfixturevalue("sql_respd").port, 1


@pytest.mark.parametrize("family", list(FAMILIES))
def test_command_events_match_redis(redis, respd_db, family):
    port, db = respd_db
    r, s = Side(redis.port, db), Side(port, db)
    try:
        other = "0" if db else "2"  # another database: a memory store on respd either way
        _compare(r, s, [c if isinstance(c, tuple) else c.format(other=other) for c in FAMILIES[family]])
    finally:
        r.close()
        s.close()


@pytest.mark.parametrize("flags", ["KEA", "Kg", "E$", "El", "Ks", "Ehz", "Kn", "AKE", "Ex", "KEg$lshzn", ""])
def test_class_filters_match_redis(redis, respd, flags):
    """Each class alone and mixed: the same subset of messages on both."""
    r, s = Side(redis.port, 0, flags), Side(respd.port, 0, flags)
    try:
        cmds = ["SET a 1", "EXPIRE a 100", "RPUSH l x", "LPOP l", "SADD s x", "HSET h f v", "ZADD z 1 m",
                "DEL a s h z", "SET t v PX 100000", "PEXPIRE t 0"]
        _compare(r, s, cmds)
    finally:
        r.close()
        s.close()


def _blocked_served(port: int, db: int, block: str, push: list[str]) -> tuple:
    """A client blocks (``block``); pushes on another connection serve it; the stream, the replies."""
    side = Side(port, db)
    waiter = RawClient(port)
    try:
        waiter.call("SELECT", str(db))
        waiter.send(encode_command(*split_command(block)))
        deadline = time.monotonic() + 10
        while b"blocked_clients:1" not in side.data.call("INFO", "clients"):
            assert time.monotonic() < deadline, "the client never blocked"
            time.sleep(0.01)
        out = _streams(side, push)
        reply = waiter.read_reply()
        # on a SQL store the blocked client is served by its own task once PostgreSQL announces the key (after the
        # push's commit): its events follow the push's, possibly after the marker; compare the whole stream
        return [r for _, r, _ in out], [m for _, _, ms in out for m in ms] + side.messages(), reply
    finally:
        waiter.close()
        side.close()


@pytest.mark.parametrize("block,push", [
    ("BLPOP bl 5", ["RPUSH bl a b"]),
    ("BRPOP bl 5", ["RPUSH bl a"]),
    ("BLMOVE bl dst RIGHT LEFT 5", ["RPUSH bl a"]),
    ("BRPOPLPUSH bl dst 5", ["LPUSH bl a b"]),
    ("BLMPOP 5 1 bl LEFT COUNT 3", ["RPUSH bl a b"]),
    ("BZPOPMIN bz 5", ["ZADD bz 1 a 2 b"]),
    ("BZMPOP 5 1 bz MAX COUNT 5", ["ZADD bz 1 a 2 b"]),
    ("BLPOP bl 5", [("MULTI", "RPUSH bl a", "SET x y", "EXEC")]),
])
def test_served_blocked_client_events_match_redis(redis, respd_db, block, push):
    """Serving a blocked client sends its pop's events right after the push's, as Redis'
    serveClientBlockedOnList / genericZpopCommand do."""
    port, db = respd_db
    assert _blocked_served(port, db, block, push) == _blocked_served(redis.port, db, block, push)


def test_expired_event_matches_redis(redis, respd):
    """A key set with PX expires: one ``expired`` event, whether a read or the active cycle finds it first."""
    r, s = Side(redis.port, 0), Side(respd.port, 0)
    try:
        for side in (r, s):
            side.data.call("SET", "gone", "v", "PX", "50")
            side.data.call("SET", "keep", "v")
        time.sleep(0.4)
        steps = ["GET gone", "SET gone again"]
        # found by the active cycle during the sleep or by the GET: before the first step's marker either way
        a, b = _streams(r, steps), _streams(s, steps)
        assert b == a
        assert sum(1 for _, _, ms in b for m in ms if m.endswith(b"$7\r\nexpired\r\n")) == 1
    finally:
        r.close()
        s.close()


def test_set_with_a_past_time_matches_redis(redis, respd):
    """SET ... PXAT <past>: set, expire, and (once Redis looks at the key or samples it) expired."""
    r, s = Side(redis.port, 0), Side(respd.port, 0)
    try:
        steps = ["SET p v PXAT 1", "GET p", "SET p2 v EXAT 1 GET", "EXISTS p2"]
        a, b = _streams(r, steps), _streams(s, steps)
        assert [x[1] for x in b] == [x[1] for x in a]
        assert [m for x in b for m in x[2]] == [m for x in a for m in x[2]]
    finally:
        r.close()
        s.close()


def test_config_get_and_set_match_redis(redis, respd):
    with RawClient(redis.port) as a, RawClient(respd.port) as b:
        try:
            for value in ["KEA", "Elx", "Kn", "g$lshzxetdmKE", "A", "AKEm", "KEAn", "x", "Q", "KEZ", "", "nmE"]:
                ra = a.call("CONFIG", "SET", "notify-keyspace-events", value)
                rb = b.call("CONFIG", "SET", "notify-keyspace-events", value)
                assert rb == ra, value
                assert b.call("CONFIG", "GET", "notify-keyspace-events") == \
                    a.call("CONFIG", "GET", "notify-keyspace-events"), value
        finally:
            a.call("CONFIG", "SET", "notify-keyspace-events", "")
            b.call("CONFIG", "SET", "notify-keyspace-events", "")
