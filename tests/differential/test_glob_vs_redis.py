"""Glob patterns fuzzed against a live redis-server 7.0.15: hypothesis generates a handful of keys and patterns
made of ``*``, ``?``, classes (``[...]``, ``[^...]``, ranges, unterminated ones), escapes and bytes on both sides
of 0x80; KEYS and one-page SCAN MATCH replies, and ACL ``~pattern`` decisions, must be the same bytes on both
servers. Runs wherever redis-server is installed; in CI (CI=true) a missing redis-server or hypothesis fails."""
from __future__ import annotations

import pytest

from tests.helpers import IN_CI
from tests.differential.common import Pair, flush_both

try:
    from hypothesis import HealthCheck, given, settings, strategies as st
except ImportError:  # pragma: no cover
    if IN_CI:
        raise
    pytest.skip("hypothesis is not installed", allow_module_level=True)

GLOB_BYTES = [b"a", b"b", b"*", b"?", b"[", b"]", b"^", b"-", b"\\", b"!", b":", b"\x00", b"\x7f", b"\x80", b"\xff"]
RANGE_ENDS = st.sampled_from([b"a", b"b", b"]", b"-", b"\\", b"\x00", b"\x7f", b"\x80", b"\xff"])
CLASS_ITEMS = st.one_of(st.sampled_from(GLOB_BYTES),
                        st.tuples(RANGE_ENDS, RANGE_ENDS).map(lambda t: t[0] + b"-" + t[1]))
CLASSES = st.tuples(st.sampled_from([b"[", b"[^"]), st.lists(CLASS_ITEMS, max_size=3).map(b"".join),
                    st.sampled_from([b"]", b"]", b""])).map(b"".join)  # some left open
#: patterns as runs of tokens: single bytes (stars, ?, escapes, stray brackets...) and whole classes
PATTERNS = st.lists(st.one_of(st.sampled_from(GLOB_BYTES), CLASSES), max_size=6).map(b"".join)
KEY_STRINGS = st.lists(st.sampled_from([b"a", b"b", b"ab", b":", b"]", b"^", b"-", b"\\", b"[", b"*", b"?", b"!",
                                        b"\x00", b"\x7f", b"\x80", b"\xff"]), max_size=5).map(b"".join)
KEYSETS = st.lists(KEY_STRINGS, min_size=1, max_size=6, unique=True)
#: ACL rules are parsed before they reach the matcher: keep to bytes both servers take in a rule
ACL_PATTERNS = st.lists(st.sampled_from([b"a", b"b", b"*", b"?", b"[", b"]", b"^", b"-", b"\\", b"!", b":"]),
                        max_size=7).map(b"".join)



def fuzz_settings(examples: int):
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def load(pair: Pair, keys) -> None:
    for k in keys:
        a, b = pair.run(["SET", k, "1"])
        assert a == b == b"+OK\r\n"


@fuzz_settings(200)
@given(keys=KEYSETS, patterns=st.lists(PATTERNS, min_size=1, max_size=6))
def test_keys_and_scan_match_fuzzed(redis, respd, keys, patterns):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as pair:
        load(pair, keys)
        for pattern in patterns:
            for cmd in (["KEYS", pattern], ["SCAN", "0", "MATCH", pattern, "COUNT", "1000"]):
                expected, got = pair.run(cmd)
                assert got == expected, (keys, cmd)


@fuzz_settings(60)
@given(keys=KEYSETS, pattern=ACL_PATTERNS)
def test_acl_key_patterns_fuzzed(redis, respd, keys, pattern):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as admin, Pair(redis.port, respd.port) as user:
        load(admin, keys)
        a, b = admin.run(["ACL", "SETUSER", "globfuzz", "reset", "on", "nopass", b"~" + pattern, "+@all"])
        assert a == b == b"+OK\r\n"
        try:
            assert user.run(["AUTH", "globfuzz", "x"]) == (b"+OK\r\n", b"+OK\r\n")
            for k in keys + [b"", b"zz"]:
                expected, got = user.run(["GET", k])
                assert got == expected, (pattern, k)
        finally:
            admin.run(["ACL", "DELUSER", "globfuzz"])


EDGES = [b"", b"*", b"**", b"?*", b"[", b"[^", b"[a-\xff]", b"\\"]


@pytest.mark.parametrize("with_empty_key", [True, False])
def test_empty_pattern_and_empty_key(redis, respd, with_empty_key):
    """``SCAN 0 MATCH ""`` matches only the empty key (respd answered every key); ``**`` leaves the empty key out."""
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as pair:
        load(pair, [b"a", b"b"] + ([b""] if with_empty_key else []))
        for pattern in EDGES:
            for cmd in (["KEYS", pattern], ["SCAN", "0", "MATCH", pattern]):
                expected, got = pair.run(cmd)
                assert got == expected, cmd


@pytest.mark.parametrize("rule", [b"~", b"~**", b"%R~", b"~*", b"~[", b"~\\", b"~?*"])
def test_acl_edge_patterns(redis, respd, rule):
    """``~`` admits only the empty key, ``~**`` every key but the empty one, ``~*`` all (Redis' ALLKEYS)."""
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as admin, Pair(redis.port, respd.port) as user:
        load(admin, [b"", b"a", b"\\"])
        assert admin.run(["ACL", "SETUSER", "globedge", "reset", "on", "nopass", rule, "+@all"]) == (b"+OK\r\n",) * 2
        try:
            assert user.run(["AUTH", "globedge", "x"]) == (b"+OK\r\n", b"+OK\r\n")
            for k in (b"", b"a", b"\\", b"*"):
                expected, got = user.run(["GET", k])
                assert got == expected, k
        finally:
            admin.run(["ACL", "DELUSER", "globedge"])

