"""Sorted set facts beyond the command cases: large sorted sets (skiplist-sized: ranks, ranges, pops, removals by
range, ZSCAN's pages) answered as redis-server 7.0.15 answers them, ZRANDMEMBER's shapes (Redis draws at random), a
full store refusing new sorted set keys with nothing changed, the value model (ZSet's order, encoding flag, codec
round trip) and what Redis ACL rules and ACL CAT make of the sorted set commands (recorded from redis-server 7.0.15).
"""
from __future__ import annotations

import math

import msgpack
import pytest

from backends import codec
from backends.base import CorruptValue, WrongType
from backends.zsets import ZSET, ZSet, order_key
from respd.commands.catalog import COMMANDS
from respd.commands.zsets import bzpop_reply, d2string, parse_score, parse_zmpop, pop_extreme, score_text, zmpop_reply
from respd.errors import CommandError
from respd.replies import encode
from respd.security.users import Auth
from respd.state import App
from tests.unit.acl_cases import NOPERM_KEY, build, session as acl_session, user, policy
from tests.unit.acl_cases import run as acl_run
from tests.unit.test_sets import server  # noqa: F401  (the fixture: each test body on respd and on redis-server)

N = 1000
#: member m<n> scored n // 2 (pairs of ties broken by member bytes) for n in 0..N-1
PAIRS = [x for n in range(N) for x in ("%d" % (n // 2), "m%04d" % n)]
ORDER = [b"m%04d" % n for n in range(N)]


async def test_large_sorted_set_ranks_and_ranges(server):  # noqa: F811
    assert await server("ZADD", "z", *PAIRS) == N
    assert await server("OBJECT ENCODING z") == b"skiplist"
    assert await server("ZCARD z") == N
    assert await server("ZRANGE z 0 -1") == ORDER
    assert await server("ZRANGE z 500 504 WITHSCORES") == [b"m0500", b"250", b"m0501", b"250", b"m0502", b"251",
                                                           b"m0503", b"251", b"m0504", b"252"]
    assert await server("ZREVRANGE z 0 2") == [b"m0999", b"m0998", b"m0997"]
    for n in (0, 1, 499, 500, 998, 999):
        assert await server("ZRANK z m%04d" % n) == n
        assert await server("ZREVRANK z m%04d" % n) == N - 1 - n
    assert await server("ZCOUNT z 100 (200") == 200
    assert await server("ZRANGE z (100 200 BYSCORE LIMIT 3 4") == ORDER[205:209]
    assert await server("ZRANGE z 200 (100 BYSCORE REV LIMIT 3 4") == ORDER[398:394:-1]
    assert await server("ZRANGEBYSCORE z -inf 2 LIMIT -1 3") == []
    assert await server("ZADD z GT CH 1000 m0000 1 m0999") == 1
    assert await server("ZRANGE z -2 -1") == [b"m0999", b"m0000"]     # GT left m0999 alone
    assert await server("ZREMRANGEBYRANK z 10 19") == 10
    assert await server("ZREMRANGEBYSCORE z (300 400") == 200
    assert await server("ZPOPMIN z 3") == [b"m0001", b"0", b"m0002", b"1", b"m0003", b"1"]
    assert await server("ZPOPMAX z") == [b"m0000", b"1000"]
    assert await server("ZCARD z") == N - 10 - 200 - 4
    assert await server("OBJECT ENCODING z") == b"skiplist"  # never back to a listpack


async def test_large_lex_ranges(server):  # noqa: F811
    assert await server("ZADD", "z", *[x for m in ORDER for x in ("0", m)]) == N
    assert await server("ZLEXCOUNT z [m0100 (m0200") == 100
    assert await server("ZRANGEBYLEX z (m0500 + LIMIT 0 3") == ORDER[501:504]
    assert await server("ZREVRANGEBYLEX z [m0500 - LIMIT 1 2") == [b"m0499", b"m0498"]
    assert await server("ZREMRANGEBYLEX z - (m0900") == 900
    assert await server("ZRANGE z 0 0") == [b"m0900"]


async def test_zscan_of_a_skiplist_returns_every_member_once(server):  # noqa: F811
    assert await server("ZADD", "z", *PAIRS) == N
    cursor, seen = b"0", []
    while True:
        cursor, page = await server("ZSCAN", "z", cursor, "COUNT", "50")
        seen += list(zip(page[0::2], page[1::2]))
        if cursor == b"0":
            break
    assert sorted(seen) == sorted((b"m%04d" % n, b"%d" % (n // 2)) for n in range(N))


async def test_zrandmember_shapes(server):  # noqa: F811
    assert await server("ZADD z 1 a 2 b 3 c") == 3
    assert await server("ZRANDMEMBER z") in (b"a", b"b", b"c")
    picked = await server("ZRANDMEMBER z 2")
    assert len(picked) == 2 and len(set(picked)) == 2 and set(picked) <= {b"a", b"b", b"c"}
    assert await server("ZRANDMEMBER z 5") == [b"c", b"b", b"a"]      # Redis walks from the top
    many = await server("ZRANDMEMBER z -20 WITHSCORES")
    assert len(many) == 40
    assert all({b"a": b"1", b"b": b"2", b"c": b"3"}[m] == s for m, s in zip(many[0::2], many[1::2]))
    assert await server("ZADD", "big", *PAIRS) == N
    picked = await server("ZRANDMEMBER big 10")
    assert len(set(picked)) == 10 and set(picked) <= set(ORDER)
    picked = await server("ZRANDMEMBER big 600 WITHSCORES")
    assert len(picked) == 1200 and len(set(picked[0::2])) == 600
    assert all(s == b"%d" % (int(m[1:]) // 2) for m, s in zip(picked[0::2], picked[1::2]))


# ------------------------------------------------------------------------------------------------ max_size
@pytest.mark.parametrize("cmd", ["ZADD new 1 x", "ZINCRBY new 1 x", "ZUNIONSTORE new 1 z", "ZRANGESTORE new z 0 -1",
                                 "ZDIFFSTORE new 1 z"])
async def test_a_full_store_refuses_new_sorted_set_keys_with_nothing_changed(make_store, call, cmd):
    store = await make_store("t:small", max_size=2)
    sess = App({store.id: store}, {0: store}, {"port": 0}, Auth()).new_session()
    assert await call(sess, "ZADD z 1 a 2 b") == b":2\r\n"
    assert await call(sess, "ZADD one 1 q") == b":1\r\n"
    got = await call(sess, cmd)
    assert got.startswith(b"-OOM command not allowed when store 't:small' is full"), got
    assert await call(sess, "DBSIZE") == b":2\r\n"
    assert await call(sess, "ZRANGE z 0 -1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    # writes to existing sorted sets pass; a popped key frees its room
    assert await call(sess, "ZADD z 3 c") == b":1\r\n"
    assert await call(sess, "ZPOPMIN one") == b"*2\r\n$1\r\nq\r\n$1\r\n1\r\n"
    assert await call(sess, "ZADD new 1 x") == b":1\r\n"


# ------------------------------------------------------------------------------------------------ the value model
def test_zset_orders_by_score_then_member_bytes():
    z = ZSet()
    for m, s in [(b"b", 1.0), (b"a", 1.0), (b"", 1.0), (b"\xff", 0.0), (b"ab", 1.0), (b"x", -math.inf)]:
        z.put(m, s)
    assert z.members_ordered() == [b"x", b"\xff", b"", b"a", b"ab", b"b"]
    assert z.rank(b"ab") == 4 and z.rank(b"nope") is None
    z.put(b"x", 5.0)
    assert z.at(-1) == (b"x", 5.0) and len(z.order) == len(z) == 6
    assert z.pop_extreme(False, 2) == [(b"\xff", 0.0), (b"", 1.0)]
    assert z.score_span(1.0, True, math.inf, False) == (3, 4)
    assert z.score_span(1.0, False, 1.0, False) == (0, 3)
    assert z.remove_span(0, 2) == 2
    assert sorted(z) == [b"b", b"x"] and z.pairs() == [(b"b", 1.0), (b"x", 5.0)]


def test_zset_encoding_flag_converts_once():
    z = ZSet()
    for n in range(128):
        z.put(b"%d" % n, float(n))
    assert z.compact
    z.put(b"128", 1.0)
    assert not z.compact
    z.pop_extreme(True, 100)
    assert not z.compact                                   # one way while in a store...
    back = codec.as_kind("s", b"k", codec.pack_value(z), ZSET)
    assert back.compact and back.pairs() == z.pairs()      # ...judged by its contents when decoded
    z = ZSet()
    z.put(b"x" * 65, 1.0)
    assert not z.compact


def test_order_keys_sort_as_scores_then_members():
    scores = [-math.inf, -1e308, -1.5, -5e-324, -0.0, 0.0, 5e-324, 1e-300, 1.0, 1.5, 2.0, 1e308, math.inf]
    keys = [order_key(s, b"m") for s in scores]
    assert keys == sorted(keys) and order_key(-0.0, b"") == order_key(0.0, b"")
    assert order_key(1.0, b"a") < order_key(1.0, b"a\x00") < order_key(1.0, b"b") < order_key(1.5, b"")


def test_compact_zset_keeps_zero_for_negative_zero():
    z = ZSet()
    z.put(b"a", -0.0)
    assert math.copysign(1.0, z[b"a"]) == 1.0             # the listpack's "-0" reads back as 0
    big = ZSet([(b"x" * 70, 1.0)])
    big.put(b"a", -0.0)
    assert math.copysign(1.0, big[b"a"]) == -1.0


def test_codec_rejects_bad_sorted_set_payloads():
    def payload(items):
        return msgpack.packb(msgpack.ExtType(90, msgpack.packb(items, use_bin_type=True)))

    z = codec.as_kind("s", b"k", payload([b"a", 2, b"b", 1.5]), ZSET)  # foreign int scores read as floats
    assert z.pairs() == [(b"b", 1.5), (b"a", 2.0)]
    assert codec.type_name("s", b"k", payload([b"a", 1.0])) == b"zset"
    for bad in ([b"a"], [b"a", b"1"], [1, 1.0], [b"a", float("nan")]):
        with pytest.raises(CorruptValue):
            codec.as_kind("s", b"k", payload(bad), ZSET)
    with pytest.raises(WrongType):
        codec.as_kind("s", b"k", codec.pack_value(ZSet([(b"a", 1.0)])), b"set")


def test_score_parsing_and_printing_follow_redis():
    assert parse_score(b"0x10") == 16.0 and parse_score(b"-inf") == -math.inf and parse_score(b"1e-310") > 0
    for bad in (b"", b" 1", b"1 ", b"nan", b"1e400", b"1e-400", b"1_0", b"0x", b"inf1", b"\xd9\xa1"):
        with pytest.raises(CommandError):
            parse_score(bad)
    assert score_text(1.1) == b"1.1000000000000001" and score_text(1e20) == b"1e+20" and score_text(-0.0) == b"-0"
    assert d2string(1e18) == b"1000000000000000000" and score_text(1e18) == b"1e+18" and d2string(0.5) == b"0.5"


# ------------------------------------------------------------------------------------------------ ACL
_ARGS = {"ZADD": "1 a", "ZINCRBY": "1 a", "ZREM": "a", "ZCARD": "", "ZSCORE": "a", "ZMSCORE": "a", "ZRANK": "a",
         "ZCOUNT": "0 1", "ZRANGE": "0 -1", "ZREMRANGEBYRANK": "0 0", "ZPOPMIN": "", "ZRANDMEMBER": "",
         "ZSCAN": "0", "ZRANGESTORE": "%s %s 0 -1", "ZMPOP": "MIN", "ZUNIONSTORE": "%s 1 %s"}

#: what redis-server 7.0.15 lets these users run on the sorted set ok:z (a STORE form writes ok:d): %R grants
#: reading, %W writing; popping reads and writes, so neither alone may pop
_RULE_USERS = {"r_read": "%R~ok:*", "r_write": "%W~ok:*"}
_REDIS_ALLOWS = {"r_read": {"ZCARD", "ZSCORE", "ZMSCORE", "ZRANK", "ZCOUNT", "ZRANGE", "ZRANDMEMBER", "ZSCAN"},
                 "r_write": {"ZADD", "ZREM", "ZCARD", "ZREMRANGEBYRANK"}}


def _argv(name: str, key: str) -> list:
    if name == "ZMPOP":
        return ["ZMPOP", "1", key, "MIN"]
    args = _ARGS[name]
    if "%s" in args:
        dst = key[:-1] + "d"
        return [name] + (args % (dst, key)).split()
    return [name, key] + args.split()


@pytest.fixture(scope="module")
def rule_app(tmp_path_factory):
    app = build(tmp_path_factory.mktemp("zset-rules"), [user("admin"), policy("admin-all", ["*"], users=["admin"])])
    admin = acl_session(app, "admin")
    for name, rule in _RULE_USERS.items():
        assert acl_run(admin, "ACL", "SETUSER", name, "on", ">pw", "+@all", rule) == b"+OK\r\n"
    return admin, {n: acl_session(app, n) for n in _RULE_USERS}


@pytest.mark.parametrize("user_name", sorted(_RULE_USERS))
def test_redis_rules_gate_sorted_set_commands_as_redis(rule_app, user_name):
    admin, sessions = rule_app
    allowed = set()
    for name in _ARGS:
        for key in ("ok:z", "no:z"):
            acl_run(admin, "FLUSHALL")
            acl_run(admin, "ZADD", key, "1", "a", "2", "b")
            got = acl_run(sessions[user_name], *_argv(name, key))
            if key == "no:z":
                assert got == NOPERM_KEY, (name, got)
                assert acl_run(admin, "ZRANGE", key, "0", "-1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
            elif not got.startswith(b"-NOPERM"):
                allowed.add(name)
    assert allowed == _REDIS_ALLOWS[user_name]


#: ACL CAT sortedset on redis-server 7.0.15
_REDIS_ZSET_CATEGORY = {"bzmpop", "bzpopmax", "bzpopmin", "zadd", "zcard", "zcount", "zdiff", "zdiffstore",
                        "zincrby", "zinter", "zintercard", "zinterstore", "zlexcount", "zmpop", "zmscore", "zpopmax",
                        "zpopmin", "zrandmember", "zrange", "zrangebylex", "zrangebyscore", "zrangestore", "zrank",
                        "zrem", "zremrangebylex", "zremrangebyrank", "zremrangebyscore", "zrevrange",
                        "zrevrangebylex", "zrevrangebyscore", "zrevrank", "zscan", "zscore", "zunion", "zunionstore"}


def test_acl_cat_sortedset_names_redis_sorted_set_commands(rule_app):
    admin, _ = rule_app
    names = {n.decode() for n in acl_run(admin, "ACL CAT sortedset").split(b"\r\n")[2::2]}
    assert names == {n for n in _REDIS_ZSET_CATEGORY if n.encode() in COMMANDS}
    assert len(names) == 35


# ------------------------------------------------------------------------------------------ for the blocking pops
def test_pop_helpers_build_the_blocking_replies_redis_sends():
    """pop_extreme, bzpop_reply and zmpop_reply, the pieces BZPOPMIN/BZPOPMAX/BZMPOP build on, give the bytes
    redis-server 7.0.15 sends (cases-types.json: zsets/bzpop-nonblocking-when-data, bzpopmax-served-resp3,
    bzmpop-served)."""
    z = ZSet([(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)])
    assert encode(bzpop_reply(2, b"z", pop_extreme(z, False, 1)), 2) == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert encode(bzpop_reply(3, b"z", [(b"b", 2.5)]), 3) == b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n,2.5\r\n"
    assert encode(zmpop_reply(2, b"z2", pop_extreme(z, True, 5)), 2) == (
        b"*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")
    assert not z
    assert parse_zmpop([b"BZMPOP", b"0", b"2", b"z1", b"z2", b"MAX", b"COUNT", b"2"], 2) == ([b"z1", b"z2"], True, 2)
    with pytest.raises(CommandError, match="numkeys should be greater than 0"):
        parse_zmpop([b"BZMPOP", b"0", b"0", b"z", b"MIN"], 2)


async def test_index_is_built_on_first_use_and_kept_by_a_memory_store(make_store, call, store_kind):
    """A sorted set decoded from a payload builds its index only when a command needs the order (ZSCORE never
    does); one that a memory store keeps as an object (past the listpack limits) keeps its index from then on, so
    no later range pays for building it."""
    z = codec.as_kind("s", b"k", codec.pack_value(ZSet([(b"a", 1.0), (b"b", 2.0)])), ZSET)
    assert z._order is None and z[b"b"] == 2.0
    assert z.rank(b"b") == 1 and z._order is not None
    if store_kind != "memory":
        return
    store = await make_store("t:index")
    sess = App({store.id: store}, {0: store}, {"port": 0}, Auth()).new_session()
    assert await call(sess, "ZADD z 1 a") == b":1\r\n"
    for n in range(200):
        await call(sess, "ZADD z %d m%d" % (n, n))
    kept = store._data[b"z"]
    assert type(kept) is ZSet and not kept.compact and kept._order is not None and len(kept._order) == 201
