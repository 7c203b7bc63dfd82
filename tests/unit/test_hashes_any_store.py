"""Hash commands where Redis' answer is not one fixed byte string, on every store kind: HRANDFIELD's random picks,
HSCAN over a hashtable-encoded hash, respd's bound on HRANDFIELD repeats, failed increments changing nothing.
Collected here on memory stores and by ``tests/sql/test_any_store.py`` on SQL stores (a star import, as the
``any_store_*`` suites); the fixed answers are the HASHES command cases in ``hash_command_cases.py``, replayed on
redis-server, and the memory-only facts (encodings, permissions) are in ``test_hashes.py``."""
from __future__ import annotations

import types
from collections import Counter

import pytest

from respd import errors
from respd.commands import hashes
from respd.security.users import Auth
from respd.state import App
from respd.dispatch import execute
from respd.replies import OK, Err, Map, encode
from tests.helpers import split_command


async def run(sess, cmd):
    """The reply value of one command (awaited when the store is async)."""
    reply = execute(sess, split_command(cmd))
    if type(reply) is types.CoroutineType:
        reply = await reply
    return reply


async def fill(sess, key: str, n: int, start: int = 0) -> dict:
    """HSET key with fields f<i> = v<i> for i in [start, start + n), in batches; returns them as a dict."""
    fields = {b"f%d" % i: b"v%d" % i for i in range(start, start + n)}
    items = list(fields.items())
    for at in range(0, len(items), 100):
        argv = ["HSET", key] + [x for kv in items[at:at + 100] for x in kv]
        assert await run(sess, argv) == len(items[at:at + 100])
    return fields


async def hscan_all(sess, key: str, *options: str) -> tuple[list[bytes], int]:
    """Every field an HSCAN iteration returns (with repeats), checking each value, and how many pages it took."""
    cursor, seen, pages = b"0", [], 0
    while True:
        nxt, flat = await run(sess, ["HSCAN", key, cursor, *options])
        pages += 1
        assert len(flat) % 2 == 0
        for f, v in zip(flat[::2], flat[1::2]):
            assert v == b"v" + f[1:]
            seen.append(f)
        cursor = nxt
        if cursor == b"0":
            return seen, pages
        assert pages < 10_000


# ---------------------------------------------------------------------------------------------- HSCAN paging
async def test_hscan_pages_a_hashtable_hash_returning_every_field_once(session):
    fields = await fill(session, "h", 600)
    seen, pages = await hscan_all(session, "h")
    assert sorted(seen) == sorted(fields) and len(seen) == len(set(seen)) == 600
    seen, pages7 = await hscan_all(session, "h", "COUNT", "7")
    assert sorted(seen) == sorted(fields)
    if session.store.is_async:  # a SQL store decodes the whole row per call: one page (hashes.hscan)
        assert pages == pages7 == 1
    else:
        assert 1 < pages < pages7  # paged, not answered whole as a listpack hash is
    seen, _ = await hscan_all(session, "h", "COUNT", "1000")
    assert sorted(seen) == sorted(fields)


async def test_hscan_match_over_pages(session):
    fields = await fill(session, "h", 600)
    seen, _ = await hscan_all(session, "h", "MATCH", "f1*", "COUNT", "13")
    assert sorted(seen) == sorted(f for f in fields if f.startswith(b"f1"))


async def test_hscan_returns_fields_present_throughout_while_the_hash_changes(session):
    """Fields added or removed during an iteration may or may not appear; those present all along appear."""
    await fill(session, "h", 600)
    cursor, seen, step = b"0", Counter(), 0
    while True:
        nxt, flat = await run(session, ["HSCAN", "h", cursor, "COUNT", "20"])
        seen.update(flat[::2])
        step += 1
        await run(session, ["HDEL", "h", "f%d" % (599 - step)])      # remove some of the last fields
        await run(session, ["HSET", "h", "new%d" % step, "v"])       # and add new ones
        cursor = nxt
        if cursor == b"0":
            break
    kept = [b"f%d" % i for i in range(600 - step - 1)]
    assert all(seen[f] >= 1 for f in kept)


async def test_hscan_of_a_listpack_hash_answers_everything_with_cursor_0(session):
    fields = await fill(session, "h", 512)
    nxt, flat = await run(session, "HSCAN h 0 COUNT 1")
    assert nxt == b"0" and flat[::2] == list(fields)


# ---------------------------------------------------------------------------------------------- HRANDFIELD
async def test_hrandfield_single_picks_every_field_in_time(session):
    fields = await fill(session, "h", 5)
    got = Counter()
    for _ in range(1000):  # each call misses a given field with probability 4/5: (4/5)^1000 ~ 1e-97
        got[await run(session, "HRANDFIELD h")] += 1
    assert set(got) == set(fields)


@pytest.mark.parametrize("size", [5, 600])  # listpack and hashtable
async def test_hrandfield_positive_count_gives_distinct_fields(session, size):
    fields = await fill(session, "h", size)
    for count in (1, 2, size // 3, size // 2, size - 1):
        got = await run(session, "HRANDFIELD h %d" % count)
        assert len(got) == count == len(set(got)) and set(got) <= set(fields)
        flat = await run(session, "HRANDFIELD h %d WITHVALUES" % count)
        assert len(flat) == 2 * count and len(set(flat[::2])) == count
        assert all(fields[f] == v for f, v in zip(flat[::2], flat[1::2]))
    assert sorted(await run(session, "HRANDFIELD h %d" % (size + 1))) == sorted(fields)


async def test_hrandfield_negative_count_repeats(session):
    fields = await fill(session, "h", 3)
    got = await run(session, "HRANDFIELD h -300")
    assert len(got) == 300 and set(got) == set(fields)  # all three: each missing has probability (2/3)^300
    flat = await run(session, "HRANDFIELD h -50 WITHVALUES")
    assert len(flat) == 100 and all(fields[f] == v for f, v in zip(flat[::2], flat[1::2]))


async def test_hrandfield_withvalues_resp3_pairs(session):
    fields = await fill(session, "h", 10)
    await run(session, "HELLO 3")
    for cmd in ("HRANDFIELD h 4 WITHVALUES", "HRANDFIELD h -4 WITHVALUES"):
        got = await run(session, cmd)
        assert len(got) == 4 and all(len(p) == 2 and fields[p[0]] == p[1] for p in got)
        assert encode(got, 3).startswith(b"*4\r\n*2\r\n$")
    assert encode(await run(session, "HRANDFIELD h -2"), 3).startswith(b"*2\r\n$2\r\nf")  # no pairs without values


async def test_hrandfield_negative_count_bound(session, monkeypatch):
    """Redis streams a reply of |count| picks for a negative count (only WITHVALUES is range-checked): respd builds
    replies whole, so past HRANDFIELD_MAX_REPEATS it answers an error and changes nothing."""
    monkeypatch.setattr(hashes, "HRANDFIELD_MAX_REPEATS", 10)
    await fill(session, "h", 2)
    assert len(await run(session, "HRANDFIELD h -10")) == 10
    too_many = Err(errors.HRANDFIELD_TOO_MANY % 10)
    assert await run(session, "HRANDFIELD h -11") == too_many
    assert len(await run(session, "HRANDFIELD h -10 WITHVALUES")) == 20  # the bound counts picks, not elements
    assert await run(session, "HRANDFIELD h -9223372036854775807") == too_many
    assert await run(session, "HRANDFIELD h -4611686018427387903 WITHVALUES") == too_many
    assert await run(session, "HRANDFIELD h 9223372036854775807") == [b"f0", b"f1"]  # positive: the whole hash
    assert await run(session, "HRANDFIELD missing -9223372036854775807") == []
    assert await run(session, "HLEN h") == 2


async def test_hrandfield_default_bound_allows_large_replies(session):
    assert hashes.HRANDFIELD_MAX_REPEATS == 100_000
    await fill(session, "h", 3)
    assert len(await run(session, "HRANDFIELD h -100000")) == 100000
    assert await run(session, "HRANDFIELD h -100001") == Err(errors.HRANDFIELD_TOO_MANY % 100_000)


# ---------------------------------------------------------------------------------------------- replies
async def test_hgetall_is_a_map(session):
    await run(session, "HSET h a 1 b 2")
    got = await run(session, "HGETALL h")
    assert type(got) is Map and got.items == [(b"a", b"1"), (b"b", b"2")]
    assert encode(got, 2) == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert encode(got, 3) == b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"


async def test_failed_increments_change_nothing(session):
    await run(session, "HSET h n 9223372036854775807 s abc")
    await run(session, "EXPIRE h 100")
    for cmd in ("HINCRBY h n 1", "HINCRBY h s 1", "HINCRBYFLOAT h s 1", "HINCRBY h n x", "HINCRBYFLOAT h n inf",
                "HINCRBYFLOAT h n nan"):
        assert isinstance(await run(session, cmd), Err), cmd
    assert (await run(session, "HGETALL h")).items == [(b"n", b"9223372036854775807"), (b"s", b"abc")]
    assert await run(session, "TTL h") == 100
    assert await run(session, "HINCRBY fresh f x") == Err(errors.NOT_INTEGER)
    assert await run(session, "EXISTS fresh") == 0


async def test_an_expired_hash_is_gone_for_every_hash_command(session, clock):
    for key in ("a", "b", "c", "d"):
        assert await run(session, "HSET %s f 5 g x" % key) == 2
        assert await run(session, "PEXPIRE %s 100" % key) == 1
    clock.advance_ms(99)
    assert await run(session, "HGET a f") == b"5"
    clock.advance_ms(1)
    assert await run(session, "HGET a f") is None
    assert (await run(session, "HGETALL a")).items == []
    assert await run(session, "HLEN a") == 0
    assert await run(session, "HSCAN a 0") == [b"0", []]
    assert await run(session, "HRANDFIELD a") is None
    assert await run(session, "HINCRBY b f 1") == 1  # from 0: the old value is gone
    assert (await run(session, "HGETALL b")).items == [(b"f", b"1")]
    assert await run(session, "TTL b") == -1
    assert await run(session, "HSETNX c f new") == 1
    assert await run(session, "HGET c f") == b"new"
    assert await run(session, "HDEL d f g") == 0
    assert await run(session, "EXISTS a d") == 0


# ---------------------------------------------------------------------------------------------- max_size, maxmemory
@pytest.fixture
async def small(make_store):
    """A session on a store of at most 2 keys."""
    db0 = await make_store("t:small", max_size=2)
    return App({db0.id: db0}, {0: db0}, {"port": 0}, Auth()).new_session()


def is_oom(reply) -> bool:
    return type(reply) is Err and reply.text.startswith(b"OOM ")


@pytest.mark.parametrize("cmd", ["HSET c f v", "HMSET c f v", "HSETNX c f v", "HINCRBY c f 1",
                                 "HINCRBYFLOAT c f 1.5"])
async def test_max_size_counts_keys_not_fields(small, cmd):
    assert await run(small, "HSET a f v") == 1
    assert await run(small, "SET b v") is OK
    assert is_oom(await run(small, cmd)), cmd   # a third key
    assert await run(small, "EXISTS c") == 0
    assert await run(small, ["HSET", "a"] + [x for i in range(50) for x in (b"g%d" % i, b"v")]) == 50
    assert await run(small, "HINCRBY a n 1") == 1   # fields of an existing key: no new key
    assert await run(small, "HDEL a f") == 1
    assert await run(small, "DEL b") == 1
    assert not is_oom(await run(small, cmd))         # room again


async def test_maxmemory_refuses_hash_writes_that_may_grow(session):
    await run(session, "HSET h f v n 1")
    session.app.maxmemory = 1  # below any process' RSS
    for cmd in ("HSET h g v", "HMSET h g v", "HSETNX h g v", "HINCRBY h n 1", "HINCRBYFLOAT h n 1"):
        assert await run(session, cmd) == Err(errors.OOM), cmd
    assert await run(session, "HGET h f") == b"v"         # reads and
    assert await run(session, "HDEL h f") == 1            # removals still run, as in Redis
    assert await run(session, "HLEN h") == 1
