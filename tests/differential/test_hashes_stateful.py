"""Hypothesis state machine over hashes: random hash command sequences mixed with the string and keyspace rules of
``test_stateful.Differential`` on the same few keys (so WRONGTYPE both ways, RENAME/COPY/MOVE of hashes, expiry
and transactions meet hashes), sent to redis-server and respd; every reply must be byte-identical. Hashes stay
small (a handful of fields, short values: listpack in Redis, so its field order is insertion order and HGETALL,
HKEYS, HSCAN compare as they are). HRANDFIELD is asked only where its answer is certain (counts reaching the size,
zero, missing keys)."""
from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import rule  # noqa: E402

from tests.differential.test_stateful import FLOATS, INTS, KEYS, VALUES, Differential, run_machine  # noqa: E402

FIELDS = st.sampled_from(["f", "g", "h", "1", ""])
HFLOATS = st.one_of(FLOATS, st.sampled_from(["inf", "nan", "-0.1", "3.0e-2", "1e-3"]))


class HashDifferential(Differential):
    @rule(k=KEYS, pairs=st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=3),
          name=st.sampled_from(["HSET", "HMSET"]), odd=st.booleans())
    def hset(self, k, pairs, name, odd):
        argv = [name, k] + [x for p in pairs for x in p]
        self.check(*(argv[:-1] if odd else argv))

    @rule(k=KEYS, f=FIELDS, v=VALUES)
    def hsetnx(self, k, f, v):
        self.check("HSETNX", k, f, v)

    @rule(k=KEYS, f=FIELDS, name=st.sampled_from(["HGET", "HEXISTS", "HSTRLEN"]))
    def field_read(self, k, f, name):
        self.check(name, k, f)

    @rule(k=KEYS, fs=st.lists(FIELDS, min_size=1, max_size=4), name=st.sampled_from(["HMGET", "HDEL"]))
    def fields(self, k, fs, name):
        self.check(name, k, *fs)

    @rule(k=KEYS, name=st.sampled_from(["HGETALL", "HKEYS", "HVALS", "HLEN"]))
    def whole(self, k, name):
        self.check(name, k)

    @rule(k=KEYS, f=FIELDS, by=INTS)
    def hincrby(self, k, f, by):
        self.check("HINCRBY", k, f, str(by))

    @rule(k=KEYS, f=FIELDS, by=HFLOATS)
    def hincrbyfloat(self, k, f, by):
        self.check("HINCRBYFLOAT", k, f, by)

    @rule(k=KEYS, count=st.sampled_from(["0", "5", "100", "9223372036854775807", "-9223372036854775808", "x"]),
          withvalues=st.sampled_from([[], ["WITHVALUES"], ["withvalues"], ["FOO"]]))
    def hrandfield(self, k, count, withvalues):
        self.check("HRANDFIELD", k, count, *withvalues)

    @rule(k=KEYS, cursor=st.sampled_from(["0", "00", "-1", "x"]),
          opts=st.lists(st.sampled_from([["MATCH", "*"], ["MATCH", "f*"], ["MATCH", "[gh]"], ["COUNT", "1"],
                                         ["COUNT", "0"], ["COUNT", "x"], ["TYPE", "hash"], ["FOO"]]), max_size=2))
    def hscan(self, k, cursor, opts):
        self.check("HSCAN", k, cursor, *[x for o in opts for x in o])

    @rule(cmds=st.lists(st.sampled_from([["HSET", "a", "f", "1"], ["HINCRBY", "a", "f", "2"], ["HGET", "a", "f"],
                                         ["HINCRBY", "a", "f", "x"], ["HDEL", "a", "f"], ["SET", "a", "s"],
                                         ["HGETALL", "a"], ["HSET", "a", "f"]]), max_size=4),
          end=st.sampled_from(["EXEC", "DISCARD"]))
    def hash_transaction(self, cmds, end):
        self.check("MULTI")
        for c in cmds:
            self.check(*c)
        self.check(end)


@pytest.mark.parametrize("proto", [2, 3])
def test_random_hash_sequences_match_redis(redis, respd, proto):
    run_machine(HashDifferential, redis, respd, proto, 60)
