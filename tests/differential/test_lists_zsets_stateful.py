"""Hypothesis state machine over lists, sorted sets and strings (issue 15): random command sequences on five keys
that change type as they go, sent to redis-server 7.0.15 and respd (a memory store, and a SQL store on the test
PostgreSQL), RESP2 and RESP3; every reply must be the same bytes, except:

* ZRANDMEMBER is checked for validity on both servers (members of the sorted set, distinct for a positive count,
  the count's length, scores matching their members), not compared: Redis draws at random;
* ZSCAN over a skiplist: each server is iterated to cursor 0 on its own and the pairs compared as sets (a listpack
  answers whole, compared exactly);
* OBJECT ENCODING of a sorted set on the SQL run is compared with what Redis gives the same contents when it loads
  them (a row is judged by its contents: listpack within 128 members of at most 64 bytes);
* lex ranges run on "lex", whose scores are all 0 (Redis leaves them unspecified otherwise).

An invariant compares the whole keyspace after each step (KEYS, then each key's TYPE, contents, encoding and TTL).
"""
from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule  # noqa: E402

from tests.differential.common import Pair, flush_both  # noqa: E402
from tests.differential.test_collections_stateful import (  # noqa: E402,F401  (fixtures: server_db, sql_respd)
    Err, decode, run_machine, server_db, sql_respd)
from tests.helpers import RawClient  # noqa: E402
from tests.pgserver import pg_server  # noqa: E402,F401  (fixture)

ALL_KEYS = ["l", "z", "w", "x", "lex"]
ANY_KEY = st.sampled_from(ALL_KEYS)
LIST_KEY = st.sampled_from(["l", "l", "l", "z", "x"])
ZSET_KEY = st.sampled_from(["z", "z", "w", "w", "l", "x"])
LONG = "m" * 65  # past zset-max-listpack-value (64): the sorted set becomes a skiplist
MEMBERS = st.sampled_from(["a", "b", "c", "1", "01", "", "ab", "\xff", LONG])
ELEMENTS = st.sampled_from(["a", "b", "c", "1", "", "xyz"])
SCORES = st.sampled_from(["0", "1", "-1", "1.5", "2", "0.1", "inf", "-inf", "+inf", "1e3", "-0", "3", "1e-310",
                          "x", "nan", "", "(1", "1e400", "0x10"])
BOUNDS = st.sampled_from(["-inf", "+inf", "0", "(0", "1", "(1.5", "2", "(2", "x", "(", "nan", "-1", "(-inf", "1e400"])
LEX = st.sampled_from(["-", "+", "[a", "(a", "[", "(", "a", "[c", "+x", "[1", "(01", "[ab"])
INDEXES = st.sampled_from(["0", "1", "2", "-1", "-2", "-3", "5", "-7", "x", "9223372036854775807",
                           "-9223372036854775808"])
COUNTS = st.sampled_from([None, "0", "1", "2", "5", "-1", "x", "9223372036854775807"])
TTLS = st.sampled_from(["1000", "2000", "x"])


def _pairs(reply) -> list:
    """(member, score text) pairs of a WITHSCORES reply (flat bulk strings in RESP2, [member, double] arrays in
    RESP3)."""
    if reply and isinstance(reply[0], list):
        pairs = [tuple(p) for p in reply]
    else:
        pairs = list(zip(reply[0::2], reply[1::2]))
    return [(m, s.encode() if isinstance(s, str) else s) for m, s in pairs]


def _ttl(reply: bytes) -> bytes:
    return b"a TTL" if reply[:1] == b":" and int(reply[1:-2]) > 0 else reply


class ListsZsets(RuleBasedStateMachine):
    """``ports`` = (redis port, respd port); ``respd_db``: the respd database of the store under test."""
    ports: tuple = ()
    respd_db = 0
    proto = 2
    encoding_by_contents = False

    @initialize(z=st.lists(st.tuples(SCORES.filter(lambda s: s in ("0", "1", "2", "-1", "1.5")), MEMBERS),
                           min_size=1, max_size=4),
                lst=st.lists(ELEMENTS, min_size=1, max_size=4))
    def connect(self, z, lst):
        flush_both(*self.ports)
        self.pair = Pair(*self.ports)
        self.side = RawClient(self.ports[0])   # redis-server, database 0: contents and encodings
        self.steps = []
        if self.respd_db:
            assert self.pair.respd.call("SELECT", str(self.respd_db)) == b"+OK\r\n"
        if self.proto == 3:
            self.check("HELLO", "3")
        self.check("ZADD", "z", *[x for p in z for x in p])
        self.check("RPUSH", "l", *lst)
        self.check("SET", "x", "1")

    def teardown(self):
        for name in ("pair", "side"):
            c = getattr(self, name, None)
            if c is not None:
                c.close()

    def fail(self, what, expected, got):
        raise AssertionError("%s after %r\n redis %r\n respd %r" % (what, self.steps, expected, got))

    def check(self, *argv):
        self.steps.append(argv)
        expected, got = self.pair.run(list(argv))
        if argv[0] == "TTL":  # the two servers' clocks run between the calls: 1000 may read 999 on one of them
            expected, got = _ttl(expected), _ttl(got)
        if got != expected:
            self.fail("different replies", expected, got)
        return expected

    # -------------------------------------------------------------------------------------------- lists
    @rule(k=LIST_KEY, es=st.lists(ELEMENTS, min_size=1, max_size=3),
          name=st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]))
    def push(self, k, es, name):
        self.check(name, k, *es)

    @rule(k=LIST_KEY, name=st.sampled_from(["LPOP", "RPOP"]), count=COUNTS)
    def pop(self, k, name, count):
        self.check(name, k, *([count] if count is not None else []))

    @rule(k=LIST_KEY, a=INDEXES, b=INDEXES, name=st.sampled_from(["LRANGE", "LTRIM"]))
    def list_range(self, k, a, b, name):
        self.check(name, k, a, b)

    @rule(k=LIST_KEY, i=INDEXES, e=ELEMENTS, name=st.sampled_from(["LINDEX", "LSET"]))
    def list_index(self, k, i, e, name):
        self.check(name, k, i, *([e] if name == "LSET" else []))

    @rule(k=LIST_KEY, where=st.sampled_from(["BEFORE", "AFTER", "NEAR"]), p=ELEMENTS, e=ELEMENTS)
    def linsert(self, k, where, p, e):
        self.check("LINSERT", k, where, p, e)

    @rule(k=LIST_KEY, n=st.sampled_from(["0", "1", "-1", "2", "x"]), e=ELEMENTS)
    def lrem(self, k, n, e):
        self.check("LREM", k, n, e)

    @rule(k=LIST_KEY, e=ELEMENTS, opts=st.lists(st.sampled_from([["RANK", "1"], ["RANK", "-1"], ["COUNT", "0"],
                                                                 ["COUNT", "2"], ["MAXLEN", "2"], ["RANK", "0"]]),
                                                max_size=2))
    def lpos(self, k, e, opts):
        self.check("LPOS", k, e, *[x for o in opts for x in o])

    @rule(src=LIST_KEY, dst=LIST_KEY, a=st.sampled_from(["LEFT", "RIGHT"]), b=st.sampled_from(["LEFT", "RIGHT"]))
    def lmove(self, src, dst, a, b):
        self.check("LMOVE", src, dst, a, b)

    @rule(ks=st.lists(LIST_KEY, min_size=1, max_size=2), side=st.sampled_from(["LEFT", "RIGHT"]),
          count=st.sampled_from([[], ["COUNT", "2"], ["COUNT", "0"]]))
    def lmpop(self, ks, side, count):
        self.check("LMPOP", str(len(ks)), *ks, side, *count)

    # -------------------------------------------------------------------------------------------- sorted sets
    @rule(k=ZSET_KEY, opts=st.lists(st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"]), max_size=2),
          pairs=st.lists(st.tuples(SCORES, MEMBERS), min_size=1, max_size=3))
    def zadd(self, k, opts, pairs):
        if "INCR" in opts:
            pairs = pairs[:1]
        self.check("ZADD", k, *opts, *[x for p in pairs for x in p])

    @rule(k=ZSET_KEY, by=SCORES, m=MEMBERS)
    def zincrby(self, k, by, m):
        self.check("ZINCRBY", k, by, m)

    @rule(k=ZSET_KEY, n=st.sampled_from([128, 129]))
    def zadd_many(self, k, n):
        """Members up to the listpack limit (128) or one past it (a skiplist, for good)."""
        self.check("ZADD", k, *[x for i in range(n) for x in (str(i % 7), "n%d" % i)])

    @rule(k=ZSET_KEY, ms=st.lists(MEMBERS, min_size=1, max_size=3),
          name=st.sampled_from(["ZREM", "ZMSCORE"]))
    def zmembers(self, k, ms, name):
        self.check(name, k, *ms)

    @rule(k=ZSET_KEY, m=MEMBERS, name=st.sampled_from(["ZSCORE", "ZRANK", "ZREVRANK"]))
    def zmember(self, k, m, name):
        self.check(name, k, m)

    @rule(k=ZSET_KEY, a=BOUNDS, b=BOUNDS, name=st.sampled_from(["ZCOUNT", "ZREMRANGEBYSCORE"]))
    def zscore_range(self, k, a, b, name):
        self.check(name, k, a, b)

    @rule(k=ZSET_KEY, a=INDEXES, b=INDEXES, name=st.sampled_from(["ZRANGE", "ZREVRANGE", "ZREMRANGEBYRANK"]),
          ws=st.booleans())
    def zrank_range(self, k, a, b, name, ws):
        self.check(name, k, a, b, *(["WITHSCORES"] if ws and name != "ZREMRANGEBYRANK" else []))

    @rule(k=ZSET_KEY, a=BOUNDS, b=BOUNDS, opts=st.lists(st.sampled_from(
        [["REV"], ["WITHSCORES"], ["LIMIT", "1", "2"], ["LIMIT", "0", "-1"], ["LIMIT", "-1", "1"], ["BYLEX"]]),
        max_size=2), name=st.sampled_from(["ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]))
    def zrange_byscore(self, k, a, b, opts, name):
        extra = ["BYSCORE"] if name == "ZRANGE" else []
        self.check(name, k, a, b, *extra, *[x for o in opts for x in o])

    @rule(dst=ZSET_KEY, src=ZSET_KEY, a=INDEXES, b=INDEXES, rev=st.booleans())
    def zrangestore(self, dst, src, a, b, rev):
        self.check("ZRANGESTORE", dst, src, a, b, *(["REV"] if rev else []))

    @rule(ms=st.lists(MEMBERS.filter(lambda m: m != LONG), min_size=1, max_size=3))
    def lex_add(self, ms):
        self.check("ZADD", "lex", *[x for m in ms for x in ("0", m)])

    @rule(a=LEX, b=LEX, name=st.sampled_from(["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"]),
          limit=st.sampled_from([[], ["LIMIT", "1", "1"], ["LIMIT", "0", "-1"]]))
    def lex_range(self, a, b, name, limit):
        self.check(name, "lex", a, b, *(limit if "RANGEBY" in name else []))

    @rule(k=ZSET_KEY, name=st.sampled_from(["ZPOPMIN", "ZPOPMAX"]), count=COUNTS)
    def zpop(self, k, name, count):
        self.check(name, k, *([count] if count is not None else []))

    @rule(ks=st.lists(ZSET_KEY, min_size=1, max_size=2), side=st.sampled_from(["MIN", "MAX"]),
          count=st.sampled_from([[], ["COUNT", "2"], ["COUNT", "0"]]))
    def zmpop(self, ks, side, count):
        self.check("ZMPOP", str(len(ks)), *ks, side, *count)

    @rule(ks=st.lists(ZSET_KEY, min_size=1, max_size=3), name=st.sampled_from(
        ["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD"]),
        dst=ZSET_KEY, weights=st.booleans(), agg=st.sampled_from([None, "SUM", "MIN", "MAX"]), ws=st.booleans())
    def zalgebra(self, ks, name, dst, weights, agg, ws):
        argv = [name] + ([dst] if name.endswith("STORE") else []) + [str(len(ks))] + ks
        if weights and name not in ("ZDIFF", "ZDIFFSTORE", "ZINTERCARD"):
            argv += ["WEIGHTS"] + ["2", "-1", "0.5"][:len(ks)]
        if agg and name not in ("ZDIFF", "ZDIFFSTORE", "ZINTERCARD"):
            argv += ["AGGREGATE", agg]
        if ws and not name.endswith("STORE") and name != "ZINTERCARD":
            argv += ["WITHSCORES"]
        self.check(*argv)

    @rule(k=ZSET_KEY, count=st.one_of(st.none(), st.sampled_from(["0", "1", "3", "200", "-2", "-5"])),
          ws=st.booleans())
    def zrandmember(self, k, count, ws):
        argv = ["ZRANDMEMBER", k] + ([count] + (["WITHSCORES"] if ws else []) if count is not None else [])
        self.steps.append(argv)
        expected, got = self.pair.run(argv)
        if expected[:1] in (b"-", b"_") or expected in (b"$-1\r\n", b"*0\r\n"):
            if got != expected:
                self.fail("different replies", expected, got)
            return
        scores = dict(_pairs(decode(self.side.call("ZRANGE", k, "0", "-1", "WITHSCORES"))))
        for raw in (expected, got):
            reply = decode(raw)
            if count is None:
                assert reply in scores, (argv, reply)
                continue
            n = int(count)
            pairs = _pairs(reply) if ws else [(m, None) for m in reply]
            assert all(m in scores and (s is None or s == scores[m]) for m, s in pairs), (argv, reply)
            if n >= 0:
                assert len(pairs) == min(n, len(scores)) and len({m for m, _ in pairs}) == len(pairs), (argv, reply)
            else:
                assert len(pairs) == -n, (argv, reply)

    @rule(k=ZSET_KEY)
    def zscan(self, k):
        replies = []
        for client in (self.pair.redis, self.pair.respd):
            cursor, seen, first = "0", [], None
            while True:
                raw = client.call("ZSCAN", k, cursor, "COUNT", "7")
                reply = decode(raw)
                if first is None:
                    first = raw
                if isinstance(reply, Err):
                    seen = reply
                    break
                cursor = reply[0].decode()
                seen += list(zip(reply[1][0::2], reply[1][1::2]))
                if cursor == "0":
                    break
            replies.append((first, sorted(seen) if isinstance(seen, list) else seen))
        self.steps.append(("ZSCAN", k, "(to cursor 0)"))
        small = self.encoding(k) != "skiplist"
        if replies[0][1] != replies[1][1] or (small and replies[0][0] != replies[1][0]):
            self.fail("different ZSCAN", *replies)

    # -------------------------------------------------------------------------------------------- generic
    @rule(k=ANY_KEY, name=st.sampled_from(["TYPE", "TTL", "PERSIST", "DEL", "EXISTS"]))
    def single(self, k, name):
        self.check(name, k)

    @rule(k=ANY_KEY, t=TTLS)
    def expire(self, k, t):
        self.check("EXPIRE", k, t)

    @rule(src=ANY_KEY, dst=ANY_KEY, name=st.sampled_from(["RENAME", "RENAMENX", "COPY", "COPY REPLACE"]))
    def two_keys(self, src, dst, name):
        words = name.split()
        self.check(words[0], src, dst, *words[1:])

    @rule(t=st.sampled_from(["zset", "list", "string", "ZSET"]))
    def scan_type(self, t):
        self.check("SCAN", "0", "TYPE", t, "COUNT", "1000")

    @rule(cmds=st.lists(st.sampled_from([
        ["ZADD", "z", "1", "a"], ["ZINCRBY", "z", "2", "a"], ["ZPOPMIN", "z"], ["ZREM", "z", "a"], ["ZCARD", "z"],
        ["RPUSH", "l", "a"], ["LPOP", "l"], ["LMOVE", "l", "z", "LEFT", "LEFT"], ["ZMPOP", "1", "l", "MIN"],
        ["DEL", "w"], ["ZUNIONSTORE", "w", "1", "z"], ["SET", "w", "1"]]), max_size=4),
        end=st.sampled_from(["EXEC", "DISCARD"]))
    def transaction(self, cmds, end):
        self.check("MULTI")
        for c in cmds:
            self.check(*c)
        self.check(end)

    # -------------------------------------------------------------------------------------------- invariant
    def encoding(self, key: str):
        got = decode(self.side.call("OBJECT", "ENCODING", key))
        return None if isinstance(got, Err) or got is None else got.decode()

    @invariant()
    def same_keyspace(self):
        if not hasattr(self, "pair"):
            return
        self.check("KEYS", "*")
        for k in ALL_KEYS:
            t = self.check("TYPE", k)
            if t.endswith(b"zset\r\n"):
                self.check("ZRANGE", k, "0", "-1", "WITHSCORES")
                self.check_zset_encoding(k)
            elif t.endswith(b"list\r\n"):
                self.check("LRANGE", k, "0", "-1")
                self.check("OBJECT", "ENCODING", k)
            elif t.endswith(b"string\r\n"):
                self.check("GET", k)
            self.check("TTL", k)

    def check_zset_encoding(self, k: str) -> None:
        if not self.encoding_by_contents:
            self.check("OBJECT", "ENCODING", k)
            return
        members = _pairs(decode(self.side.call("ZRANGE", k, "0", "-1", "WITHSCORES")))
        want = "listpack" if len(members) <= 128 and all(len(m) <= 64 for m, _ in members) else "skiplist"
        got = self.pair.respd.call("OBJECT", "ENCODING", k)
        if decode(got) != want.encode():
            self.fail("encoding by contents", want, got)


# ------------------------------------------------------------------------------------------------ runs
@pytest.mark.parametrize("proto", [2, 3])
def test_memory_store_matches_redis(redis, respd, proto):
    run_machine(redis.port, respd.port, 0, proto, examples=25, machine=ListsZsets)


@pytest.mark.parametrize("proto", [2, 3])
def test_sql_store_matches_redis(redis, sql_respd, proto):
    if not sql_respd.alive():
        pytest.fail("the SQL respd died:\n" + sql_respd.stderr_text())
    run_machine(redis.port, sql_respd.port, 1, proto, examples=12, by_contents=True, machine=ListsZsets)


@pytest.mark.parametrize("how", ["MOVE", "COPY"])
def test_move_and_copy_keep_a_sorted_set_encoding(server_db, how):
    """Redis moves the object itself (MOVE) or duplicates it encoding and all (COPY, zsetDup): a sorted set made a
    skiplist by a long member that was removed later stays a skiplist in the other database."""
    port, db = server_db
    if db == 1:
        pytest.skip("a SQL row is judged by its contents (README)")
    with RawClient(port) as c:
        c.call("FLUSHALL")
        assert c.call("ZADD", "z", "1", "a", "2", "m" * 65) == b":2\r\n"
        assert c.call("ZREM", "z", "m" * 65) == b":1\r\n"
        argv = ["MOVE", "z", "1"] if how == "MOVE" else ["COPY", "z", "z", "DB", "1"]
        assert c.call(*argv) == b":1\r\n"
        assert c.call("SELECT", "1") == b"+OK\r\n"
        assert c.call("OBJECT", "ENCODING", "z") == b"$8\r\nskiplist\r\n"
        assert c.call("ZRANGE", "z", "0", "-1", "WITHSCORES") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        c.call("FLUSHALL")


def test_sorted_sets_move_between_memory_and_sql_stores(sql_respd):
    """COPY/MOVE between respd's memory store (database 0) and its SQL store (database 1) keep members and scores;
    the encoding is judged by the contents where the value lands."""
    with RawClient(sql_respd.port) as c:
        c.call("SELECT", "1")
        c.call("FLUSHDB")
        c.call("SELECT", "0")
        c.call("FLUSHDB")
        big = [x for i in range(200) for x in ("%d.25" % i, "m%03d" % i)]
        assert c.call("ZADD", "small", "1.1", "a", "-inf", "b", "inf", "c") == b":3\r\n"
        assert c.call("ZADD", "big", *big) == b":200\r\n"
        for k in ("small", "big"):
            want = c.call("ZRANGE", k, "0", "-1", "WITHSCORES")
            assert c.call("COPY", k, k, "DB", "1") == b":1\r\n"
            assert c.call("MOVE", k, "1") == b":0\r\n"            # already there
            assert c.call("SELECT", "1") == b"+OK\r\n"
            assert c.call("ZRANGE", k, "0", "-1", "WITHSCORES") == want
            assert c.call("TYPE", k) == b"+zset\r\n"
            enc = b"$8\r\nlistpack\r\n" if k == "small" else b"$8\r\nskiplist\r\n"
            assert c.call("OBJECT", "ENCODING", k) == enc
            first = b"*2\r\n$1\r\nb\r\n$4\r\n-inf\r\n" if k == "small" else b"*2\r\n$4\r\nm000\r\n$4\r\n0.25\r\n"
            assert c.call("ZPOPMIN", k) == first
            assert c.call("RENAME", k, k + "2") == b"+OK\r\n"
            assert c.call("MOVE", k + "2", "0") == b":1\r\n"       # back to the memory store
            assert c.call("SELECT", "0") == b"+OK\r\n"
            assert c.call("OBJECT", "ENCODING", k + "2") == enc
            assert c.call("ZCARD", k + "2") == (b":2\r\n" if k == "small" else b":199\r\n")
