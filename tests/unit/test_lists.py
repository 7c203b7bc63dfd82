"""List facts beyond the command cases: long lists (ranges and indexes walked from either end) answered as
redis-server 7.0.15 answers them, a full store refusing new list keys with nothing changed (LMOVE and RPOPLPUSH make
their destination before they touch the source), and what Redis ACL rules and ACL CAT make of the list commands'
key specs and categories (recorded from redis-server 7.0.15)."""
from __future__ import annotations

import pytest

from respd.commands.catalog import COMMANDS
from respd.security.users import Auth
from respd.state import App
from tests.unit.acl_cases import NOPERM_KEY, build, session as acl_session, user, policy
from tests.unit.acl_cases import run as acl_run
from tests.unit.test_sets import server  # noqa: F401  (the fixture: each test body on respd and on redis-server)

N = 1000
MODEL = [b"%d" % n for n in range(N)]


def _bounds(start: int, stop: int) -> list:
    """What LRANGE answers on MODEL, from Python's slicing (Redis clamps the same way)."""
    if start < 0:
        start = max(start + N, 0)
    if stop < 0:
        stop += N
    return MODEL[start:stop + 1] if start <= stop else []


async def test_long_list_ranges_and_indexes(server):  # noqa: F811
    assert await server("RPUSH", "l", *MODEL) == N
    for start, stop in [(0, 9), (990, 999), (-10, -1), (400, 600), (700, 710), (-300, -290), (5, 2000),
                        (-2000, 3), (999, 999), (998, -1), (-1, 0), (500, 499), (-501, 500)]:
        assert await server("LRANGE", "l", start, stop) == _bounds(start, stop), (start, stop)
    for i in (0, 1, 499, 500, 998, 999, 1000, -1, -2, -500, -1000, -1001):
        want = MODEL[i] if -N <= i < N else None
        assert await server("LINDEX", "l", i) == want, i
    assert await server("LSET", "l", 750, "x") == b"OK"
    assert await server("LSET", "l", -750, "y") == b"OK"
    assert await server("LPOS", "l", "x") == 750
    assert await server("LPOS", "l", "y", "RANK", -1) == 250
    assert await server("LINSERT", "l", "AFTER", "y", "z") == N + 1
    assert await server("LRANGE", "l", 249, 252) == [b"249", b"y", b"z", b"251"]
    assert await server("LTRIM", "l", 100, -101) == b"OK"
    assert await server("LLEN", "l") == N + 1 - 200
    assert await server("LINDEX", "l", 0) == b"100"
    assert await server("LINDEX", "l", -1) == b"899"
    assert await server("RPOP", "l", 3) == [b"899", b"898", b"897"]
    assert await server("LMPOP", 1, "l", "LEFT", "COUNT", 2) == [b"l", [b"100", b"101"]]


async def test_lrem_keeps_the_order_of_what_stays(server):  # noqa: F811
    assert await server("RPUSH", "l", *[b"a" if n % 3 == 0 else b"%d" % n for n in range(300)]) == 300
    assert await server("LREM", "l", -10, "a") == 10
    assert await server("LREM", "l", 5, "a") == 5
    rest = await server("LRANGE", "l", 0, -1)
    assert len(rest) == 285
    assert [i for i, e in enumerate(rest) if e == b"a"] == [3 * n - 5 for n in range(5, 90)]
    assert await server("LREM", "l", 0, "a") == 85
    assert await server("LRANGE", "l", 0, -1) == [b"%d" % n for n in range(300) if n % 3]


# ------------------------------------------------------------------------------------------------ max_size
@pytest.mark.parametrize("cmd", ["LPUSH new x", "RPUSH new x", "LMOVE s new LEFT RIGHT", "RPOPLPUSH s new",
                                 "LMOVE one new RIGHT LEFT"])
async def test_a_full_store_refuses_new_list_keys_with_nothing_changed(make_store, call, cmd):
    store = await make_store("t:small", max_size=2)
    sess = App({store.id: store}, {0: store}, {"port": 0}, Auth()).new_session()
    assert await call(sess, "RPUSH s a b") == b":2\r\n"
    assert await call(sess, "RPUSH one z") == b":1\r\n"
    got = await call(sess, cmd)
    assert got.startswith(b"-OOM command not allowed when store 't:small' is full"), got
    assert await call(sess, "DBSIZE") == b":2\r\n"
    assert await call(sess, "LRANGE s 0 -1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert await call(sess, "LRANGE one 0 -1") == b"*1\r\n$1\r\nz\r\n"   # its last element stayed
    # writes to existing lists pass, and a move that empties its source frees the room it takes
    assert await call(sess, "LMOVE s one LEFT LEFT") == b"$1\r\na\r\n"
    assert await call(sess, "LPUSHX new x") == b":0\r\n"
    assert await call(sess, "LPOP s") == b"$1\r\nb\r\n"
    assert await call(sess, "RPOPLPUSH one new") == b"$1\r\nz\r\n"
    assert await call(sess, "LRANGE new 0 -1") == b"*1\r\n$1\r\nz\r\n"


# ------------------------------------------------------------------------------------------------ ACL
_ARGS = {"LPUSH": "a", "RPUSH": "a", "LPUSHX": "a", "RPUSHX": "a", "LPOP": "", "RPOP": "1", "LLEN": "",
         "LRANGE": "0 -1", "LINDEX": "0", "LSET": "0 v", "LINSERT": "BEFORE a x", "LREM": "0 a", "LTRIM": "0 -1",
         "LPOS": "a", "LMOVE": "%s LEFT LEFT", "RPOPLPUSH": "%s", "LMPOP": "LEFT"}

#: what redis-server 7.0.15 lets these users run on the list ok:l (LMOVE/RPOPLPUSH to ok:m, LMPOP 1 ok:l LEFT): %R
#: grants reading, %W writing; popping reads and writes, so neither alone may pop
_RULE_USERS = {"r_read": "%R~ok:*", "r_write": "%W~ok:*"}
_REDIS_ALLOWS = {"r_read": {"LLEN", "LPOS", "LINDEX", "LRANGE"},
                 "r_write": {"LLEN", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LINSERT", "LTRIM", "LREM", "LSET"}}


def _argv(name: str, key: str) -> list:
    if name == "LMPOP":
        return ["LMPOP", "1", key, "LEFT"]
    args = _ARGS[name]
    if "%s" in args:
        args = args % (key[:-1] + "m")
    return [name, key] + args.split()


@pytest.fixture(scope="module")
def rule_app(tmp_path_factory):
    app = build(tmp_path_factory.mktemp("list-rules"), [user("admin"), policy("admin-all", ["*"], users=["admin"])])
    admin = acl_session(app, "admin")
    for name, rule in _RULE_USERS.items():
        assert acl_run(admin, "ACL", "SETUSER", name, "on", ">pw", "+@all", rule) == b"+OK\r\n"
    return admin, {n: acl_session(app, n) for n in _RULE_USERS}


@pytest.mark.parametrize("user_name", sorted(_RULE_USERS))
def test_redis_rules_gate_list_commands_as_redis(rule_app, user_name):
    admin, sessions = rule_app
    allowed = set()
    for name in _ARGS:
        for key in ("ok:l", "no:l"):
            acl_run(admin, "FLUSHALL")
            acl_run(admin, "RPUSH", key, "a", "b")
            got = acl_run(sessions[user_name], *_argv(name, key))
            if key == "no:l":
                assert got == NOPERM_KEY, (name, got)
                assert acl_run(admin, "LRANGE", key, "0", "-1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
            elif not got.startswith(b"-NOPERM"):
                allowed.add(name)
    assert allowed == _REDIS_ALLOWS[user_name]


#: ACL CAT list on redis-server 7.0.15 (respd has no SORT)
_REDIS_LIST_CATEGORY = {"blmove", "blmpop", "blpop", "brpop", "brpoplpush", "lindex", "linsert", "llen", "lmove",
                        "lmpop", "lpop", "lpos", "lpush", "lpushx", "lrange", "lrem", "lset", "ltrim", "rpop",
                        "rpoplpush", "rpush", "rpushx", "sort", "sort_ro"}


def test_acl_cat_list_names_redis_list_commands(rule_app):
    admin, _ = rule_app
    names = {n.decode() for n in acl_run(admin, "ACL CAT list").split(b"\r\n")[2::2]}
    assert names == {n for n in _REDIS_LIST_CATEGORY if n.encode() in COMMANDS}
    assert len(names) == 22
