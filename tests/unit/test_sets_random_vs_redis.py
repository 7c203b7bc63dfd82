"""Seeded random sequences of set commands (and SET/EXPIRE/TYPE/OBJECT ENCODING around them) run on respd in-process
and on redis-server 7.0.15 side by side: every reply must be the same, and so must every key at the end.

Replies Redis leaves to chance are compared by what is fixed about them: SMEMBERS and SINTER as multisets (their
intset order is pinned by the command cases), SUNION, SDIFF and SPOP with a count exactly when their result can be an
intset (ascending) and as multisets otherwise, SRANDMEMBER by its shape (a bulk, or an array of the same length), an
SSCAN page by being a page (tests/unit/test_sets.py checks what those hold). A single SPOP runs only on sets of one member, so both servers keep
the same contents. The keys and members are few, so sequences meet every type and encoding transition, missing keys,
duplicates, empty strings and non-canonical integers.
"""
from __future__ import annotations

import random

import pytest

from backends.values import SET_MAX_INTSET_ENTRIES, is_int64
from tests.unit.random_vs_redis import replay
from tests.unit.test_sets import Agg, one

KEYS = ["a", "b", "c", "str"]
MEMBERS = ["1", "2", "3", "10", "-1", "x", "y", "01", ""]
SEQUENCES = 150
STEPS = 40


def _command(rng: random.Random) -> list:
    def key():
        return rng.choice(KEYS + ["nosuch"])

    def members(n):
        return [rng.choice(MEMBERS) for _ in range(n)]

    c = rng.choice(["SADD", "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SPOP", "SRANDMEMBER",
                    "SMOVE", "SINTER", "SINTERCARD", "SINTERSTORE", "SUNION", "SUNIONSTORE", "SDIFF", "SDIFFSTORE",
                    "SSCAN", "SET", "TYPE", "EXPIRE", "TTL", "OBJECT"])
    if c == "SADD":
        return [c, key()] + members(rng.randint(0, 4))
    if c == "SREM":
        return [c, key()] + members(rng.randint(0, 3))
    if c in ("SMEMBERS", "SCARD", "TYPE", "TTL"):
        return [c, key()]
    if c == "OBJECT":
        return [c, "ENCODING", key()]
    if c == "SISMEMBER":
        return [c, key()] + members(1)
    if c == "SMISMEMBER":
        return [c, key()] + members(rng.randint(0, 3))
    if c == "SPOP":
        return [c, key()] + rng.choice([[], ["0"], ["100"], ["-1"], ["x"], ["1", "2"]])
    if c == "SRANDMEMBER":
        return [c, key()] + rng.choice([[], ["0"], ["100"], ["-3"], ["2"], ["x"]])
    if c == "SMOVE":
        return [c, key(), key()] + members(1)
    if c in ("SINTER", "SUNION", "SDIFF"):
        return [c] + [key() for _ in range(rng.randint(0, 3))]
    if c in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        return [c] + [key() for _ in range(rng.randint(1, 4))]
    if c == "SINTERCARD":
        return ([c, str(rng.randint(-1, 3))] + [key() for _ in range(rng.randint(0, 3))]
                + rng.choice([[], ["LIMIT", "1"], ["LIMIT"], ["LIMIT", "-1"], ["X"]]))
    if c == "SSCAN":
        return ([c, key(), rng.choice(["0", "x", ""])]
                + rng.choice([[], ["COUNT", "1"], ["MATCH", "1*"], ["COUNT", "0"], ["FOO"]]))
    if c == "SET":
        return [c, rng.choice(KEYS), "v"]
    return ["EXPIRE", key(), "100"]


def _fixed_part(argv: list, raw: bytes):
    """What of a reply Redis fixes (see the module's docstring)."""
    v = one(raw)
    c = argv[0].upper()
    if c == "TTL" and isinstance(v, int) and v > 0:
        return "a TTL"             # redis-server's clock runs: 100 may read 99 on a slow machine
    if not isinstance(v, (Agg, bytes)) or not v and isinstance(v, Agg):
        return raw
    if c == "SRANDMEMBER":
        return ("count", v.kind, len(v)) if isinstance(v, Agg) else "a member"
    if c == "SPOP" and len(argv) == 2:
        return raw
    if c == "SSCAN":
        return "a page"
    if c in ("SUNION", "SDIFF", "SPOP") and len(v) <= SET_MAX_INTSET_ENTRIES and all(map(is_int64, v)):
        return raw                 # built as a new set: an intset, ascending
    if c in ("SMEMBERS", "SINTER", "SUNION", "SDIFF", "SPOP"):
        return v.kind, sorted(v)   # a hashtable's order is its own (SMEMBERS/SINTER of an intset: the cases check it)
    return raw


async def _state(run) -> list:
    out = []
    for key in KEYS + ["nosuch"]:
        t = await run(["TYPE", key])
        members = sorted(one(await run(["SMEMBERS", key]))) if t == b"+set\r\n" else await run(["GET", key])
        ttl = _fixed_part(["TTL"], await run(["TTL", key]))
        out.append((key, t, members, await run(["OBJECT", "ENCODING", key]), ttl))
    return out


async def _spop_at_random(argv, theirs) -> bool:
    """The member SPOP takes is Redis' choice: both servers take the same only from one member."""
    return argv[0] == "SPOP" and len(argv) == 2 and one(await theirs(["SCARD", argv[1]])) not in (0, 1)


@pytest.mark.parametrize("seed", range(SEQUENCES))
async def test_random_set_sequences_answer_as_redis(seed, app, call, redis):
    await replay(seed, app, call, redis, STEPS, _command, _fixed_part, _state, _spop_at_random)
