"""Set commands where Redis fixes no order, or answers at random: every test body runs on respd (in-process, memory
stores) and on redis-server 7.0.15, so what it expects is Redis' behaviour (the exact-order cases are the command
cases of ``set_command_cases.py``).

Checked here: replies of hashtable-encoded sets compared as multisets, SPOP/SRANDMEMBER by their properties
(membership, distinctness, counts, what is left; no statistics that could fail by chance), SSCAN paging of large
sets, OBJECT ENCODING's intset -> hashtable transitions, and respd's bound on SRANDMEMBER's negative counts.
"""
from __future__ import annotations

import pytest

from respd.commands import sets
from respd.security.users import Auth
from respd.state import App
from tests.helpers import split_command

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


# ------------------------------------------------------------------------------------------------ replies
class Agg(list):
    """An array ('*') or set ('~') reply."""

    kind = "*"


class Error(str):
    """An error reply's text."""


def parse(buf: bytes, i: int = 0):
    """A RESP2/RESP3 reply as Python values: bytes, int, None, Error, Agg; returns (value, end)."""
    t = buf[i:i + 1]
    j = buf.index(b"\r\n", i)
    line, i = buf[i + 1:j], j + 2
    if t == b"+":
        return line, i
    if t == b"-":
        return Error(line.decode()), i
    if t == b":":
        return int(line), i
    if t == b"_":
        return None, i
    if t == b"$":
        n = int(line)
        return (None, i) if n < 0 else (buf[i:i + n], i + n + 2)
    if t in (b"*", b"~", b"%"):
        n = int(line) * (2 if t == b"%" else 1)
        if n < 0:
            return None, i
        out = Agg()
        out.kind = t.decode()
        for _ in range(n):
            v, i = parse(buf, i)
            out.append(v)
        return out, i
    raise AssertionError("unexpected reply %r" % buf[i - 1:i + 40])


def one(buf: bytes):
    value, end = parse(buf)
    assert end == len(buf), buf
    return value


def bag(reply) -> list:
    """A reply's elements in a canonical order (a multiset)."""
    assert isinstance(reply, Agg), reply
    return sorted(reply)


def members(*names) -> list:
    """Members as a bag() of them reads (sorted bytes)."""
    return sorted(n.encode() if isinstance(n, str) else b"%d" % n for n in names)


def ints(*numbers) -> list:
    """Integer members in the order given (an intset's order when ascending)."""
    return [b"%d" % n for n in numbers]


# ------------------------------------------------------------------------------------------------ both servers
class Server:
    """``await server("SADD s a")`` → the parsed reply, from respd in-process or from redis-server."""

    def __init__(self, kind: str, run):
        self.kind = kind
        self._run = run

    async def __call__(self, *cmd):
        argv = split_command(cmd[0]) if len(cmd) == 1 and isinstance(cmd[0], str) else split_command(cmd)
        return one(await self._run(argv))


@pytest.fixture(params=["respd", "redis"])
async def server(request, app, call):
    if request.param == "respd":
        sess = app.new_session("127.0.0.1:40001", "127.0.0.1:6379", 1)

        async def run(argv):
            return await call(sess, argv)

        yield Server("respd", run)
        return
    proc = request.getfixturevalue("redis")
    client = proc.client()

    async def run_redis(argv):
        return client.call(*argv)

    yield Server("redis", run_redis)
    client.close()


# ------------------------------------------------------------------------------------------------ unordered replies
async def test_hashtable_replies_as_multisets(server):
    assert await server("SADD h x y z 1 2") == 5
    assert await server("OBJECT ENCODING h") == b"hashtable"
    assert bag(await server("SMEMBERS h")) == members("x", "y", "z", 1, 2)
    assert bag(await server("SRANDMEMBER h 5")) == members("x", "y", "z", 1, 2)
    assert bag(await server("SRANDMEMBER h 50")) == members("x", "y", "z", 1, 2)
    assert bag(await server("SUNION h nosuch")) == members("x", "y", "z", 1, 2)
    assert bag(await server("SDIFF h nosuch")) == members("x", "y", "z", 1, 2)
    assert bag(await server("SINTER h")) == members("x", "y", "z", 1, 2)
    assert await server("SADD k y z 9 10 11 12") == 6
    assert bag(await server("SINTER h k")) == members("y", "z")
    assert bag(await server("SINTER k h")) == members("y", "z")
    assert bag(await server("SDIFF h k")) == members("x", 1, 2)
    assert bag(await server("SDIFF k h")) == members(9, 10, 11, 12)   # an intset answer: ascending
    assert await server("SDIFF k h") == ints(9, 10, 11, 12)
    assert bag(await server("SUNION h k")) == members("x", "y", "z", 1, 2, 9, 10, 11, 12)
    assert await server("SINTERSTORE d h k") == 2
    assert bag(await server("SMEMBERS d")) == members("y", "z")
    assert await server("SUNIONSTORE d h k") == 9
    assert await server("SCARD d") == 9
    assert await server("SDIFFSTORE d h k") == 3
    assert bag(await server("SMEMBERS d")) == members("x", 1, 2)
    assert await server("SINTERCARD 2 h k") == 2
    assert await server("SINTERCARD 2 h k LIMIT 1") == 1


async def test_sinter_walks_a_hashtable_of_integers(server):
    """The smallest set is a hashtable holding only integers: Redis answers in its hash order, not sorted."""
    assert await server("SADD h 3 1 2 x") == 4
    assert await server("SREM h x") == 1
    assert await server("OBJECT ENCODING h") == b"hashtable"
    assert await server("SADD i 1 2 3 4 5 6") == 6
    assert bag(await server("SINTER h i")) == members(1, 2, 3)
    # a set Redis builds anew is an intset again: ascending
    assert await server("SUNION h") == members(1, 2, 3)
    assert await server("SDIFF h nosuch") == members(1, 2, 3)
    assert await server("SINTERSTORE d h i") == 3
    assert await server("OBJECT ENCODING d") == b"intset"
    assert await server("SMEMBERS d") == members(1, 2, 3)


async def test_resp3_set_replies_of_hashtables(server):
    assert (await server("HELLO 3"))[0] == b"server"
    assert await server("SADD h a b c") == 3
    for cmd in ("SMEMBERS h", "SUNION h", "SDIFF h", "SINTER h h"):
        reply = await server(cmd)
        assert reply.kind == "~" and bag(reply) == members("a", "b", "c"), cmd
    reply = await server("SPOP h 3")
    assert reply.kind == "~" and bag(reply) == members("a", "b", "c")
    assert await server("SADD h a b c") == 3
    reply = await server("SRANDMEMBER h 2")
    assert reply.kind == "*" and len(set(reply)) == 2


# ------------------------------------------------------------------------------------------------ SPOP
async def test_spop_count_takes_distinct_members_and_leaves_the_rest(server):
    names = ["m%d" % n for n in range(100)]
    assert await server("SADD", "s", *names) == 100
    popped = await server("SPOP s 10")
    assert popped.kind == "*" and len(popped) == 10 and len(set(popped)) == 10
    assert set(popped) <= set(members(*names))
    assert await server("SCARD s") == 90
    assert await server("SMISMEMBER", "s", *popped) == [0] * 10
    rest = bag(await server("SMEMBERS s"))
    assert sorted(rest + list(popped)) == members(*names)
    # most of the set (Redis draws the members that stay): still distinct, still removed
    popped = await server("SPOP s 85")
    assert len(popped) == 85 and len(set(popped)) == 85 and set(popped) <= set(rest)
    assert await server("SCARD s") == 5
    assert bag(await server("SPOP s 5")) == sorted(set(rest) - set(popped))
    assert await server("EXISTS s") == 0


async def test_spop_one_at_a_time_empties_the_set(server):
    assert await server("SADD s a b c d 1 2") == 6
    seen = [await server("SPOP s") for _ in range(6)]
    assert sorted(seen) == members("a", "b", "c", "d", 1, 2)
    assert await server("EXISTS s") == 0
    assert await server("SPOP s") is None


async def test_spop_of_a_large_set_pops_each_member_once(server):
    """Past SPOP_WALK_MAX respd pops in the set's own table order (O(1)) rather than by a random walk (O(N))."""
    n = sets.SPOP_WALK_MAX + 300
    names = ["m%d" % i for i in range(n)]
    assert await server("SADD", "s", *names) == n
    popped = [await server("SPOP s") for _ in range(n)]
    assert sorted(popped) == sorted(x.encode() for x in names)
    assert await server("EXISTS s") == 0


async def test_spop_most_of_an_intset_answers_in_ascending_order(server):
    """count close to the size: Redis keeps random members and answers the others in intset order."""
    assert await server("SADD", "s", *range(20)) == 20
    popped = await server("SPOP s 18")
    assert len(popped) == 18 and popped == sorted(popped, key=int)
    assert await server("SCARD s") == 2
    assert await server("OBJECT ENCODING s") == b"intset"


async def test_spop_keeps_the_ttl(server):
    assert await server("SADD s a b c") == 3
    assert await server("EXPIRE s 100") == 1
    assert len(await server("SPOP s 2")) == 2
    assert 0 < await server("TTL s") <= 100


# ------------------------------------------------------------------------------------------------ SRANDMEMBER
async def test_srandmember_positive_count_is_distinct(server):
    names = ["m%d" % n for n in range(50)]
    assert await server("SADD", "s", *names) == 50
    for count in (1, 2, 10, 17, 49):
        got = await server("SRANDMEMBER s %d" % count)
        assert len(got) == count and len(set(got)) == count and set(got) <= set(members(*names))
    assert bag(await server("SRANDMEMBER s 50")) == members(*names)
    assert await server("SCARD s") == 50


async def test_srandmember_negative_count_may_repeat(server):
    assert await server("SADD s a b c") == 3
    got = await server("SRANDMEMBER s -300")
    assert got.kind == "*" and len(got) == 300 and set(got) <= {b"a", b"b", b"c"}
    # 300 independent draws from 3 members: each is missed with probability 3 * (2/3)^300 < 1e-50
    assert set(got) == {b"a", b"b", b"c"}
    assert await server("SADD n 1 2 3 4 5 6 7 8 9 10") == 10
    got = await server("SRANDMEMBER n -20")
    assert len(got) == 20 and set(got) <= set(members(*range(1, 11)))
    assert await server("SCARD s") == 3


async def test_srandmember_huge_negative_count_is_refused_by_respd(app, call, monkeypatch):
    """respd builds a reply before sending it: one is bounded (Redis would stream ~10^18 members)."""
    sess = app.new_session("127.0.0.1:40001", "127.0.0.1:6379", 1)
    assert await call(sess, "SADD s a") == b":1\r\n"
    monkeypatch.setattr(sets, "RANDOM_REPLY_MAX", 10)
    assert await call(sess, "SRANDMEMBER s -10") == b"*10\r\n" + b"$1\r\na\r\n" * 10
    assert await call(sess, "SRANDMEMBER s -11") == (
        b"-ERR SRANDMEMBER count too large for respd (at most 10 members with repeats)\r\n")
    assert await call(sess, "SRANDMEMBER s 11") == b"*1\r\n$1\r\na\r\n"   # positive: at most the set
    assert await call(sess, "SRANDMEMBER nosuch -11") == b"*0\r\n"
    assert await call(sess, "SRANDMEMBER s -9223372036854775807") == (
        b"-ERR SRANDMEMBER count too large for respd (at most 10 members with repeats)\r\n")


# ------------------------------------------------------------------------------------------------ SSCAN
async def _scan_all(server, key, *opts, change=None) -> list:
    found, cursor, rounds = [], b"0", 0
    while True:
        cursor, page = await server("SSCAN", key, cursor, *opts)
        found += page
        rounds += 1
        if change is not None:
            await change(rounds)
        if cursor == b"0":
            return found
        assert rounds < 5000


async def test_sscan_pages_a_large_set(server):
    names = ["member:%d" % n for n in range(1000)]
    assert await server("SADD", "s", *names) == 1000
    found = await _scan_all(server, "s", "COUNT", "7")
    if server.kind == "respd":
        assert sorted(found) == members(*names)         # each member exactly once
    else:
        assert set(found) == set(members(*names))        # Redis may repeat one while it rehashes
    matched = await _scan_all(server, "s", "MATCH", "member:1?", "COUNT", "50")
    assert set(matched) == set(members(*("member:1%d" % n for n in range(10))))
    first = await server("SSCAN s 0 COUNT 5")
    assert first[0] != b"0" and 1 <= len(first[1]) <= 50


async def test_sscan_of_a_large_integer_set(server):
    assert await server("SADD", "n", *range(1000)) == 1000
    assert await server("OBJECT ENCODING n") == b"hashtable"
    found = await _scan_all(server, "n")
    assert set(found) == set(members(*range(1000)))
    if server.kind == "respd":
        assert len(found) == 1000


async def test_sscan_returns_members_present_throughout_while_the_set_changes(server):
    names = ["k%d" % n for n in range(600)]
    assert await server("SADD", "s", *names) == 600

    async def change(rounds):
        await server("SREM", "s", "k%d" % (rounds % 50))            # some members go (k0..k49)
        await server("SADD", "s", "new%d" % rounds)                 # others arrive

    found = await _scan_all(server, "s", "COUNT", "20", change=change)
    assert set(members(*names[50:])) <= set(found)


async def test_sscan_of_a_missing_or_wrong_key(server):
    assert await server("SSCAN nosuch 0 COUNT 5") == [b"0", []]
    assert await server("SET str v") == b"OK"
    assert await server("SSCAN str 0") == Error(WRONGTYPE)


# ------------------------------------------------------------------------------------------------ encodings
async def test_intset_becomes_hashtable_for_good(server):
    assert await server("SADD", "n", *range(1, 513)) == 512
    assert await server("OBJECT ENCODING n") == b"intset"
    assert await server("SADD n 513") == 1
    assert await server("OBJECT ENCODING n") == b"hashtable"
    assert await server("SREM n 513 512") == 2                    # back to 511 integers: still a hashtable
    assert await server("OBJECT ENCODING n") == b"hashtable"
    assert await server("SADD m 1 2 x") == 3
    assert await server("SREM m x") == 1
    assert await server("OBJECT ENCODING m") == b"hashtable"
    assert await server("SADD i 1 2") == 2
    assert await server("SMOVE m i 1") == 1                        # an integer keeps the intset
    assert await server("OBJECT ENCODING i") == b"intset"


async def test_stored_results_are_judged_by_their_members(server):
    assert await server("SADD", "a", *range(0, 300)) == 300
    assert await server("SADD", "b", *range(300, 600)) == 300
    assert await server("SUNIONSTORE u a b") == 600
    assert await server("OBJECT ENCODING u") == b"hashtable"
    assert await server("SDIFFSTORE d u b") == 300
    assert await server("OBJECT ENCODING d") == b"intset"
    assert await server("SMEMBERS d") == ints(*range(300))
    assert await server("SINTERSTORE i u a") == 300
    assert await server("OBJECT ENCODING i") == b"intset"
    assert await server("SADD", "big", *range(0, 600)) == 600
    assert await server("SINTERSTORE j big u") == 600
    assert await server("OBJECT ENCODING j") == b"hashtable"
    assert await server("SADD x a") == 1
    assert await server("SUNIONSTORE y x a") == 301
    assert await server("OBJECT ENCODING y") == b"hashtable"


# ------------------------------------------------------------------------------------------------ max_size
@pytest.mark.parametrize("cmd", ["SADD new x", "SMOVE s new a", "SINTERSTORE new s", "SUNIONSTORE new s",
                                 "SDIFFSTORE new s"])
async def test_a_full_store_refuses_new_set_keys_with_nothing_changed(make_store, call, cmd):
    store = await make_store("t:small", max_size=2)
    sess = App({store.id: store}, {0: store}, {"port": 0}, Auth()).new_session()
    assert await call(sess, "SADD s a b") == b":2\r\n"
    assert await call(sess, "SET str v") == b"+OK\r\n"
    got = await call(sess, cmd)
    assert got.startswith(b"-OOM command not allowed when store 't:small' is full"), got
    assert await call(sess, "DBSIZE") == b":2\r\n"
    assert await call(sess, "SCARD s") == b":2\r\n"
    # writes to existing keys pass: a member moved to a set that exists, a result stored over a key of another type
    assert await call(sess, "SADD s c") == b":1\r\n"
    assert await call(sess, "SUNIONSTORE str s") == b":3\r\n"
    assert await call(sess, "SMOVE s str a") == b":1\r\n"   # already in str: only leaves s
    assert await call(sess, "SCARD s") == b":2\r\n"
    assert await call(sess, "SREM s b c") == b":2\r\n"      # s is gone: room for one key
    assert await call(sess, "SADD new x") == b":1\r\n"


async def test_spop_of_most_of_a_hashtable_leaves_a_new_set(server):
    """Taking most members, Redis builds the rest as a new set: 100 integers left of 600 are an intset again."""
    assert await server("SADD", "big", *range(1, 601)) == 600
    assert await server("OBJECT ENCODING big") == b"hashtable"
    popped = await server("SPOP big 500")                     # 100 stay: 100 * 5 <= 500
    assert len(set(popped)) == 500 and await server("SCARD big") == 100
    assert await server("OBJECT ENCODING big") == b"intset"
    assert await server("SADD", "other", *range(1, 601)) == 600
    assert len(await server("SPOP other 499")) == 499          # 101 stay: members taken one by one
    assert await server("OBJECT ENCODING other") == b"hashtable"
    assert await server("SADD mixed x 1 2 3 4 5") == 6
    assert len(await server("SPOP mixed 6")) == 6 and await server("EXISTS mixed") == 0
