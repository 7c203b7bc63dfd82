"""The arguments of the blocking pops against a live redis-server 7.0.15: inside MULTI a blocking command answers
at once (Redis' CLIENT_DENY_BLOCKING), so every timeout form and argument error can be compared byte for byte
without waiting. Timeouts are long doubles whose milliseconds are rounded up; what does not fit a 64-bit integer
is "negative" to Redis (hex floats, 1e16, inf...); a tiny negative timeout rounds to 0, which is accepted."""
from __future__ import annotations

import pytest

from tests.differential.common import Pair, flush_both

TIMEOUTS = ["0", "0.0001", "-0", "-0.0001", "-1e-400", "1e-400", "+1", "1.5e3", "0x10", "0x1p3", "1e15", "9.3e15",
            "1e16", "9223372036854775", "9223372036854776", "922337203685477.6", "99999999999999999999", "1e308",
            "inf", "-inf", "nan", "", " 1", "1 ", "0x", "abc", "-1", "1_0", "1e"]

COMMANDS = [
    ["BLPOP", "k", "{t}"], ["BRPOP", "k1", "k2", "{t}"], ["BLMOVE", "k", "d", "LEFT", "RIGHT", "{t}"],
    ["BLMOVE", "k", "d", "UP", "RIGHT", "{t}"], ["BRPOPLPUSH", "k", "d", "{t}"],
    ["BLMPOP", "{t}", "1", "k", "LEFT"], ["BLMPOP", "{t}", "0", "k", "LEFT"], ["BLMPOP", "{t}", "2", "k", "LEFT"],
    ["BLMPOP", "{t}", "1", "k", "LEFT", "COUNT", "0"], ["BLMPOP", "{t}", "1", "k", "MIDDLE"],
    ["BZPOPMIN", "k", "{t}"], ["BZPOPMAX", "k1", "k2", "{t}"], ["BZMPOP", "{t}", "1", "k", "MIN"],
    ["BZMPOP", "{t}", "0", "k", "MAX"], ["BZMPOP", "{t}", "1", "k", "MAX", "COUNT", "-1"],
    ["BZMPOP", "{t}", "1", "k", "LEFT"],
]


@pytest.mark.parametrize("template", COMMANDS, ids=lambda c: "-".join(c[:2]))
def test_blocking_arguments_inside_multi(redis, respd, template):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as pair:
        pair.run(["SET", "str", "x"])
        for t in TIMEOUTS:
            argv = [a.replace("{t}", t) for a in template]
            for cmds in ([["MULTI"], argv, ["EXEC"]], [argv[:1] + ["str"] + argv[2:]] if "k" in argv[1:2] else []):
                for cmd in cmds:
                    expected, got = pair.run(cmd)
                    assert got == expected, (cmd, t)


@pytest.mark.parametrize("proto", ["2", "3"])
def test_blocking_pops_take_at_once_and_check_types_in_order(redis, respd, proto):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as pair:
        pair.run(["HELLO", proto])
        for cmd in (["SET", "s", "v"], ["RPUSH", "l", "a", "b", "c"], ["BLPOP", "missing", "l", "s", "0"],
                    ["BLPOP", "missing", "s", "l", "0"], ["BRPOP", "l", "0"], ["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
                    ["BLMOVE", "s", "l", "LEFT", "LEFT", "0"], ["BLMPOP", "0", "3", "x", "l", "s", "RIGHT", "COUNT", "9"],
                    ["EXISTS", "l"], ["BRPOPLPUSH", "s", "x", "0"], ["RPUSH", "m", "1"], ["BRPOPLPUSH", "m", "m", "0"],
                    ["LRANGE", "m", "0", "-1"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
                    ["BZPOPMIN", "missing", "s", "z", "0"], ["BZPOPMIN", "missing", "z", "s", "0"],
                    ["BZPOPMAX", "z", "0"], ["BZMPOP", "0", "2", "s", "z", "MIN"], ["BZMPOP", "0", "1", "z", "MAX",
                    "COUNT", "5"], ["EXISTS", "z"], ["RPUSH", "l2", "x"], ["ZADD", "z2", "1", "m"],
                    ["BZPOPMIN", "l2", "0"], ["BLPOP", "z2", "0"]):
            expected, got = pair.run(cmd)
            assert got == expected, cmd
