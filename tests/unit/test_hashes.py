"""Hash facts that hold on memory stores: the listpack → hashtable conversion OBJECT ENCODING shows (for good, as in
Redis: a SQL store judges a value by its contents each time it decodes it) and what the permissions engine makes of
the hash commands' key specs. Through ``dispatch.execute``, as ``test_commands.py`` runs the tables; the tests that
hold on every store kind are in ``test_hashes_any_store.py``."""
from __future__ import annotations

import pytest

from backends.values import HASH
from respd.commands.catalog import COMMANDS
from respd.security.engine import spec_actions
from tests.helpers import split_command
from tests.unit.acl_cases import NOPERM_KEY, build, policy, session as acl_session, user
from tests.unit.acl_cases import run as acl_run
from tests.unit.test_hashes_any_store import fill, run


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


#: Redis ACL rule users and the hash commands each may run on ok:h, as redis-server 7.0.15 answered (the rest
#: answer NOPERM there): %R grants what reads or only looks (get, has), %W what writes or only looks (set, delete,
#: has), so HINCRBY (read and write) needs both
_RULE_USERS = {"r_read": "%R~ok:*", "r_write": "%W~ok:*", "r_all": "~ok:*"}
_REDIS_ALLOWS = {
    "r_read": {"HEXISTS", "HGET", "HGETALL", "HKEYS", "HLEN", "HMGET", "HRANDFIELD", "HSCAN", "HSTRLEN", "HVALS"},
    "r_write": {"HDEL", "HEXISTS", "HLEN", "HMSET", "HSET", "HSETNX", "HSTRLEN"},
    "r_all": set(_NEEDS),
}


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory):
    entries = [user("admin"), policy("admin-all", ["*"], users=["admin"])]
    for name, acts in _USERS.items():
        entries += [user(name), policy(name + "-stores", ["store.get", "store.keys.list"], users=[name]),
                    policy(name + "-keys", sorted("store.key." + a for a in acts), users=[name],
                           conditions=[{"field": "meta.key", "operator": "glob", "value": "ok:*"}])]
    app = build(tmp_path_factory.mktemp("hash-policies"), entries)
    admin = acl_session(app, "admin")
    for name, rule in _RULE_USERS.items():
        assert acl_run(admin, "ACL", "SETUSER", name, "on", ">pw", "+@all", rule) == b"+OK\r\n"
    return app, admin, {n: acl_session(app, n) for n in list(_USERS) + list(_RULE_USERS)}


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


@pytest.mark.parametrize("user_name", sorted(_RULE_USERS))
def test_redis_rules_gate_hash_commands_as_redis(policy_app, user_name):
    app, admin, sessions = policy_app
    allowed = set()
    for name in _NEEDS:
        acl_run(admin, "FLUSHALL")
        acl_run(admin, "HSET ok:h f 1 n 2")
        acl_run(admin, "HSET no:h f 1 n 2")
        if not acl_run(sessions[user_name], *("%s ok:h %s" % (name, _ARGS[name])).split()).startswith(b"-NOPERM"):
            allowed.add(name)
        assert acl_run(sessions[user_name], *("%s no:h %s" % (name, _ARGS[name])).split()) == NOPERM_KEY
    assert allowed == _REDIS_ALLOWS[user_name]
