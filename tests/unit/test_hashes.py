"""Hash commands where Redis' answer is not one fixed byte string (the fixed ones are the HASHES command cases in
``hash_command_cases.py``, replayed on redis-server): HRANDFIELD's random picks, HSCAN paging of a hashtable-encoded
hash, the listpack → hashtable conversion OBJECT ENCODING shows, respd's bound on HRANDFIELD repeats, and what the
permissions engine makes of the hash commands' key specs. Through ``dispatch.execute`` on memory stores, as
``test_commands.py`` runs the tables."""
from __future__ import annotations

import types
from collections import Counter

import pytest

from backends.values import HASH
from respd import errors
from respd.commands import hashes
from respd.commands.catalog import COMMANDS
from respd.dispatch import execute
from respd.replies import Err, Map, encode
from respd.security.engine import spec_actions
from tests.helpers import split_command
from tests.unit.acl_cases import NOPERM_KEY, build, policy, session as acl_session, user
from tests.unit.acl_cases import run as acl_run


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
    assert pages > 1  # paged, not answered whole as a listpack hash is
    seen, pages7 = await hscan_all(session, "h", "COUNT", "7")
    assert sorted(seen) == sorted(fields) and pages7 > pages
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


# ---------------------------------------------------------------------------------------------- OBJECT ENCODING
async def test_encoding_turns_to_hashtable_past_512_fields_for_good(session):
    await fill(session, "h", 512)
    assert await run(session, "OBJECT ENCODING h") == b"listpack"
    assert await run(session, "HSET h f512 v512") == 1
    assert await run(session, "OBJECT ENCODING h") == b"hashtable"
    assert await run(session, "HDEL h f512 f511 f510") == 3
    assert await run(session, "OBJECT ENCODING h") == b"hashtable"  # Redis never converts back
    assert await run(session, "HLEN h") == 510


@pytest.mark.parametrize("cmd", [["HSET", "h", "f", "x" * 65], ["HSET", "h", "x" * 65, "v"],
                                 ["HSETNX", "h", "new", "x" * 65], ["HMSET", "h", "a", "1", "b", "x" * 65],
                                 ["HINCRBYFLOAT", "h", "n", "1e70"]])
async def test_encoding_turns_to_hashtable_on_a_65_byte_field_or_value(session, cmd):
    assert await run(session, "HSET h f v n 1") == 2
    assert await run(session, ["HSET", "h", "g", "y" * 64]) == 1
    assert await run(session, "OBJECT ENCODING h") == b"listpack"
    await run(session, cmd)
    assert await run(session, "OBJECT ENCODING h") == b"hashtable"


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


# ---------------------------------------------------------------------------------------------- permissions
#: what each hash command needs on its key: from Redis' key-spec flags (RO/RW + access/insert/update/delete;
#: no access flag = existence and metadata only), written here as an oracle independent of the engine
_NEEDS = {
    "HSET": {"set"}, "HMSET": {"set"}, "HSETNX": {"set"}, "HDEL": {"delete"}, "HGET": {"get"}, "HMGET": {"get"},
    "HGETALL": {"get"}, "HKEYS": {"get"}, "HVALS": {"get"}, "HRANDFIELD": {"get"}, "HSCAN": {"get"},
    "HEXISTS": {"has"}, "HLEN": {"has"}, "HSTRLEN": {"has"}, "HINCRBY": {"get", "set"},
    "HINCRBYFLOAT": {"get", "set"},
}
_ARGS = {"HSET": "f v", "HMSET": "f v", "HSETNX": "g v", "HDEL": "f", "HGET": "f", "HMGET": "f g", "HGETALL": "",
         "HKEYS": "", "HVALS": "", "HRANDFIELD": "2", "HSCAN": "0", "HEXISTS": "f", "HLEN": "", "HSTRLEN": "f",
         "HINCRBY": "n 1", "HINCRBYFLOAT": "n 1.5"}


def test_key_specs_give_the_policy_actions():
    for name, needs in _NEEDS.items():
        cmd = COMMANDS[name.lower().encode()]
        (spec,) = cmd.key_specs(split_command("%s h %s" % (name, _ARGS[name])))
        assert set(spec_actions(spec.flags)) == {"store.key." + a for a in needs}, name


_USERS = {"p_get": {"get"}, "p_has": {"has"}, "p_set": {"set"}, "p_del": {"delete"}, "p_rw": {"get", "set"},
          "p_all": {"get", "set", "delete", "has"}}


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory):
    entries = [user("admin"), policy("admin-all", ["*"], users=["admin"])]
    for name, acts in _USERS.items():
        entries += [user(name), policy(name + "-stores", ["store.get", "store.keys.list"], users=[name]),
                    policy(name + "-keys", sorted("store.key." + a for a in acts), users=[name],
                           conditions=[{"field": "meta.key", "operator": "glob", "value": "ok:*"}])]
    app = build(tmp_path_factory.mktemp("hash-policies"), entries)
    return app, acl_session(app, "admin"), {n: acl_session(app, n) for n in _USERS}


@pytest.mark.parametrize("name", sorted(_NEEDS))
def test_registry_policies_gate_hash_commands(policy_app, name):
    app, admin, sessions = policy_app
    for user_name, acts in _USERS.items():
        for key in ("ok:h", "no:h"):
            acl_run(admin, "FLUSHALL")
            acl_run(admin, "HSET ok:h f 1 n 2")
            acl_run(admin, "HSET no:h f 1 n 2")
            before = [acl_run(admin, "HGETALL", k) for k in ("ok:h", "no:h")]
            got = acl_run(sessions[user_name], *("%s %s %s" % (name, key, _ARGS[name])).split())
            allowed = key == "ok:h" and _NEEDS[name] <= acts
            if allowed:
                assert not got.startswith(b"-"), (user_name, name, got)
            else:
                assert got == NOPERM_KEY, (user_name, name, key, got)
                assert [acl_run(admin, "HGETALL", k) for k in ("ok:h", "no:h")] == before


def test_acl_cat_hash_lists_redis_hash_commands(policy_app):
    """ACL CAT hash names the same commands as redis-server 7.0.15 (its order is its own hash table's)."""
    _, admin, _ = policy_app
    reply = acl_run(admin, "ACL CAT hash")
    names = set(reply.split(b"\r\n")[2::2])
    assert names == {b"hexists", b"hincrbyfloat", b"hlen", b"hdel", b"hincrby", b"hget", b"hvals", b"hkeys",
                     b"hset", b"hstrlen", b"hsetnx", b"hmget", b"hrandfield", b"hmset", b"hgetall", b"hscan"}


async def test_the_compact_flag_follows_redis_conversions(session):
    """What OBJECT ENCODING reports comes from ``Hash.compact`` as the store hands it to commands."""
    store = session.store
    await fill(session, "h", 512)
    assert store.read(b"h", HASH).compact
    await run(session, "HSET h f512 v")
    assert not store.read(b"h", HASH).compact
    await run(session, "HDEL h f512 f511")
    assert not store.read(b"h", HASH).compact  # for good, as Redis
    await run(session, ["HSET", "g", "f", "y" * 64])
    assert store.read(b"g", HASH).compact
    await run(session, ["HINCRBYFLOAT", "g", "n", "1e70"])  # a computed 71-byte value converts too (hashTypeSet)
    assert not store.read(b"g", HASH).compact
