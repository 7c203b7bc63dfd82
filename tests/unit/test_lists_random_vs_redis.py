"""Seeded random sequences of list commands (and SET/EXPIRE/TYPE/OBJECT ENCODING around them) run on respd in-process
and on redis-server 7.0.15 side by side: every reply must be the same byte for byte (lists have a fixed order, so
nothing is left to chance but a TTL's last second), and so must every key at the end.

The keys and elements are few, so sequences meet missing keys, keys of another type, lists emptied and deleted,
moves within one list and between lists, duplicates, empty strings, and indexes, ranks and counts on both sides of
every bound (negative, zero, past the end, not integers).
"""
from __future__ import annotations

import random

import pytest

from tests.unit.random_vs_redis import replay

KEYS = ["a", "b", "c", "str"]
ELEMENTS = ["x", "y", "z", "1", "01", ""]
SEQUENCES = 120
STEPS = 50


def _command(rng: random.Random) -> list:
    def key():
        return rng.choice(KEYS + ["nosuch"])

    def elements(n):
        return [rng.choice(ELEMENTS) for _ in range(n)]

    def index():
        return rng.choice(["0", "1", "2", "-1", "-2", "-3", "5", "-7", "x", "1.5", "9223372036854775807"])

    def side():
        return rng.choice(["LEFT", "RIGHT", "left", "UP"])

    c = rng.choice(["LPUSH", "RPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LLEN", "LRANGE", "LINDEX",
                    "LSET", "LINSERT", "LREM", "LTRIM", "LPOS", "LMOVE", "RPOPLPUSH", "LMPOP", "SET", "TYPE",
                    "EXPIRE", "TTL", "OBJECT"])
    if c in ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"):
        return [c, key()] + elements(rng.randint(0, 4))
    if c in ("LPOP", "RPOP"):
        return [c, key()] + rng.choice([[], [], ["0"], ["1"], ["2"], ["100"], ["-1"], ["x"], ["1", "2"]])
    if c in ("LLEN", "TYPE", "TTL"):
        return [c, key()]
    if c == "OBJECT":
        return [c, "ENCODING", key()]
    if c in ("LRANGE", "LTRIM"):
        return [c, key(), index(), index()]
    if c == "LINDEX":
        return [c, key(), index()]
    if c == "LSET":
        return [c, key(), index()] + elements(1)
    if c == "LINSERT":
        return [c, key(), rng.choice(["BEFORE", "AFTER", "after", "NEAR"])] + elements(2)
    if c == "LREM":
        return [c, key(), rng.choice(["0", "1", "2", "-1", "-2", "x"])] + elements(1)
    if c == "LPOS":
        opts = []
        for _ in range(rng.randint(0, 3)):
            opts += rng.choice([["RANK", rng.choice(["1", "2", "-1", "-2", "0", "x"])],
                                ["COUNT", rng.choice(["0", "1", "2", "-1"])],
                                ["MAXLEN", rng.choice(["0", "1", "3", "-1"])], ["FOO"], ["RANK"]])
        return [c, key()] + elements(1) + opts
    if c == "LMOVE":
        return [c, key(), key(), side(), side()]
    if c == "RPOPLPUSH":
        return [c, key(), key()]
    if c == "LMPOP":
        n = rng.randint(-1, 3)
        return ([c, str(n)] + [key() for _ in range(max(n, 0) + rng.choice([0, 0, 0, -1]))] + [side()]
                + rng.choice([[], ["COUNT", "2"], ["COUNT", "0"], ["COUNT"], ["COUNT", "1", "COUNT", "1"]]))
    if c == "SET":
        return [c, rng.choice(KEYS), "v"]
    return ["EXPIRE", key(), "100"]


def _fixed(argv: list, raw: bytes) -> bytes:
    if argv[0] == "TTL" and raw[:1] == b":" and int(raw[1:-2]) > 0:
        return b"a TTL"            # redis-server's clock runs: 100 may read 99 on a slow machine
    return raw


async def _state(run) -> list:
    out = []
    for key in KEYS + ["nosuch"]:
        t = await run(["TYPE", key])
        value = await run(["LRANGE", key, "0", "-1"]) if t == b"+list\r\n" else await run(["GET", key])
        out.append((key, t, value, await run(["OBJECT", "ENCODING", key]),
                    _fixed(["TTL"], await run(["TTL", key]))))
    return out


@pytest.mark.parametrize("seed", range(SEQUENCES))
async def test_random_list_sequences_answer_as_redis(seed, app, call, redis):
    await replay(seed, app, call, redis, STEPS, _command, _fixed, _state)


# ---------------------------------------------------------------------------------------------- long lists
# Lists of hundreds of elements: a memory store keeps them as packed chunks (backends.quicklist) and converts them to
# and from a payload at LIST_PACKED_ENTRIES and half of it; bulk pushes, pops of many, and indexes reaching into the
# middle cross every chunk and buffer boundary.
LONG_KEYS = ["a", "b"]


def _long_command(rng: random.Random) -> list:
    def key():
        return rng.choice(LONG_KEYS)

    def elements(n):
        return ["%s%d" % (rng.choice("xyz"), rng.randrange(40)) if rng.random() < 0.9 else "long" * 600
                for _ in range(n)]

    def index():
        n = rng.choice([5, 70, 140, 400])
        return str(rng.randint(-n, n))

    c = rng.choice(["LPUSH", "RPUSH", "RPUSH", "LPOP", "RPOP", "LRANGE", "LINDEX", "LSET", "LINSERT", "LREM",
                    "LTRIM", "LPOS", "LMOVE", "LLEN"])
    if c in ("LPUSH", "RPUSH"):
        return [c, key()] + elements(rng.choice([1, 3, 60, 150]))
    if c in ("LPOP", "RPOP"):
        return [c, key()] + rng.choice([[], [str(rng.choice([1, 30, 70, 130]))]])
    if c in ("LRANGE", "LTRIM"):
        if c == "LTRIM" and rng.random() < 0.7:  # mostly trims that keep much
            return [c, key(), str(rng.randint(0, 20)), str(-rng.randint(1, 20))]
        return [c, key(), index(), index()]
    if c == "LINDEX":
        return [c, key(), index()]
    if c == "LSET":
        return [c, key(), index()] + elements(1)
    if c == "LINSERT":
        return [c, key(), rng.choice(["BEFORE", "AFTER"])] + elements(2)
    if c == "LREM":
        return [c, key(), rng.choice(["0", "1", "-2"])] + elements(1)
    if c == "LPOS":
        return [c, key()] + elements(1) + rng.choice([[], ["RANK", "-1"], ["COUNT", "0"], ["RANK", "2", "MAXLEN",
                                                                                            "100"]])
    if c == "LMOVE":
        return [c, key(), key(), rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])]
    return [c, key()]


async def _long_state(run) -> list:
    return [(key, await run(["LRANGE", key, "0", "-1"])) for key in LONG_KEYS]


@pytest.mark.parametrize("seed", range(24))
async def test_random_long_list_sequences_answer_as_redis(seed, app, call, redis):
    await replay(seed, app, call, redis, 80, _long_command, lambda argv, raw: raw, _long_state)
