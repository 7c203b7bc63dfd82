"""The ``store`` module inside scripts, on memory stores: registry policies and Redis key rules (``store.get``,
``store.key.get|set|delete|has``, ``store.flush`` for ``clear``), hostile values (cycles, depth, size, functions),
limits (proto-max-bulk-len, maxmemory), failures of the store call itself (never a Python exception in Lua), and
payloads a script cannot hold. What every store kind must do alike: any_store_script_store.py.
"""
from __future__ import annotations

import msgpack
import pytest

from backends import codec
from backends.base import StoreUnavailable, WrongType
from backends.codec import Packed
from backends.memory import MemoryStore
from respd.replies import Err
from respd.scripting.runtime import ScriptRuntime
from respd.scripting.storelib import ScriptStores
from tests.unit.acl_cases import build, policy, run, session, user
from tests.unit.any_store_script_store import PRELUDE, script


def _keys():
    return [{"field": "meta.key", "operator": "glob", "value": "ok:*"}]


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory):
    entries = [
        user("admin"), policy("admin-all", ["*"], users=["admin"]),
        user("reader"), policy("reader-store", ["store.get"], resources=["t:db0"], users=["reader"]),
        policy("reader-keys", ["store.key.get", "store.key.has"], users=["reader"], conditions=_keys()),
        user("writer"), policy("writer-store", ["store.get", "store.flush"], resources=["t:db0"], users=["writer"]),
        policy("writer-keys", ["store.key.set", "store.key.delete", "store.key.has"], users=["writer"],
               conditions=_keys()),
        policy("writer-no-secret", ["*"], effect="deny", users=["writer"],
               conditions=[{"field": "meta.key", "operator": "glob", "value": "ok:secret*"}]),
    ]
    app = build(tmp_path_factory.mktemp("store-module"), entries)
    admin = session(app, "admin")
    assert run(admin, "ACL", "SETUSER", "rr", "on", ">pw", "+@all", "%R~ok:*") == b"+OK\r\n"
    assert run(admin, "ACL", "SETUSER", "noflush", "on", ">pw", "+@all", "-flushdb", "~*") == b"+OK\r\n"
    assert run(admin, "ACL", "SETUSER", "ro", "on", ">pw", "+@read", "+@scripting", "~*") == b"+OK\r\n"
    return app


@pytest.fixture
def sessions(policy_app):
    admin = session(policy_app, "admin")
    run(admin, "FLUSHALL")
    run(admin, "MSET", "ok:1", "one", "no:1", "uno", "ok:secret", "s")
    return admin, {name: session(policy_app, name) for name in ("reader", "writer", "rr", "noflush", "ro")}


DENIED_KEY = "nil \"NOPERM this user has no permissions to access the '%s' key\""


async def test_reader_policy(sessions):
    admin, users = sessions
    before = policy_app_state(admin)
    got = await script(users["reader"], b"""
local r = {show(store.get('t:db1'))}
local s = store.get('t:db0')
for _, step in ipairs({{'get', 'ok:1'}, {'get', 'no:1'}, {'has', 'ok:1'}, {'exists', 'no:1'}, {'set', 'ok:1'},
                       {'delete', 'ok:1'}, {'clear'}}) do
  r[#r + 1] = show(s[step[1]](s, step[2], 'new'))
end
return table.concat(r, ' / ')
""")
    assert got.split(" / ") == [
        "nil \"NOPERM this user has no permissions to use the 't:db1' store\"",
        '"one" nil', DENIED_KEY % "no:1", "true nil", DENIED_KEY % "no:1", DENIED_KEY % "ok:1",
        DENIED_KEY % "ok:1", "nil \"NOPERM this user has no permissions to clear the 't:db0' store\""]
    assert policy_app_state(admin) == before


async def test_writer_policy(sessions):
    admin, users = sessions
    app = users["writer"].app
    denied = app.stat_denied_key
    got = await script(users["writer"], b"""
local s = store.get('t:db0')
local r = {}
for _, step in ipairs({{'set', 'ok:2'}, {'set', 'no:2'}, {'get', 'ok:2'}, {'set', 'ok:secret'},
                       {'delete', 'ok:1'}, {'delete', 'no:1'}, {'has', 'ok:1'}}) do
  r[#r + 1] = show(s[step[1]](s, step[2], 'new'))
end
return table.concat(r, ' / ')
""")
    assert got.split(" / ") == ["true nil", DENIED_KEY % "no:2", DENIED_KEY % "ok:2", DENIED_KEY % "ok:secret",
                                "true nil", DENIED_KEY % "no:1", "false nil"]
    assert app.stat_denied_key == denied + 4
    log = run(admin, "ACL", "LOG", "1")
    assert b"no:1" in log and b"writer" in log
    assert run(admin, "GET", "ok:2") == b"$3\r\nnew\r\n"
    assert run(admin, "GET", "no:1") == b"$3\r\nuno\r\n"
    assert run(admin, "EXISTS", "no:2") == b":0\r\n"
    assert await script(users["writer"], b"return show(store.get('t:db0'):clear())") == "true nil"
    assert run(admin, "DBSIZE") == b":0\r\n"


async def test_redis_key_rules(sessions):
    """A user defined by Redis rules: every store, keys as its %R~ pattern allows (get/has only)."""
    _, users = sessions
    got = await script(users["rr"], b"""
local s = store.get('t:db0')
local o = store.get('t:other')
return table.concat({show(o ~= nil), show(s:get('ok:1')), show(s:get('no:1')), show(s:set('ok:1', 'x')),
                     show(s:clear())}, ' / ')
""")
    assert got.split(" / ") == ["true", '"one" nil', DENIED_KEY % "no:1", DENIED_KEY % "ok:1", "true nil"]


async def test_clear_needs_what_flushdb_needs(sessions):
    """A user whose Redis rules refuse FLUSHDB cannot clear a store from a script either."""
    admin, users = sessions
    got = await script(users["noflush"], b"""
local s = store.get('t:db0')
return table.concat({show(s:clear()), show(s:set('x', 1)), show(s:delete('x'))}, ' / ')
""")
    assert got.split(" / ") == ["nil \"NOPERM this user has no permissions to clear the 't:db0' store\"",
                                "true nil", "true nil"]
    assert run(admin, "DBSIZE") == b":3\r\n"


def policy_app_state(admin) -> list:
    return [run(admin, "GET", k) for k in ("ok:1", "no:1", "ok:secret")] + [run(admin, "DBSIZE")]


# ------------------------------------------------------------------------------------------------ hostile values
async def test_cycles_depth_and_odd_values(session):
    got = await script(session, b"""
local s = store.get('t:db0')
local function nest(n) local t = {} local top = t for i = 2, n do t[1] = {} t = t[1] end return top end
local cyc = {} cyc.self = cyc
local a = {} a.b = {c = {a}}
local shared = {1}
local r = {}
for _, v in ipairs({cyc, a, nest(65), coroutine.create(function() end), {[{}] = 1}, {x = {tostring}}}) do
  r[#r + 1] = show(s:set('k', v))
end
r[#r + 1] = show(s:has('k'))
r[#r + 1] = show(s:set('deep', nest(64)))
r[#r + 1] = show(s:set('shared', {shared, shared, x = shared}))
r[#r + 1] = show(s:get('shared'))
r[#r + 1] = show(s:set('odd', {[1/0] = 'inf', [-1.5] = 'neg', [true] = 't', [0] = 'zero', [2] = 'two'}))
r[#r + 1] = show(s:get('odd'))
local d = s:get('deep')
local depth = 0
while d do depth = depth + 1 d = d[1] end
r[#r + 1] = show(depth)
return table.concat(r, ' / ')
""")
    assert got.split(" / ") == [
        'nil "cannot store a table that contains itself"',
        'nil "cannot store a table that contains itself"',
        'nil "cannot store tables nested more than 64 levels deep"',
        'nil "cannot store a thread"',
        'nil "table keys must be strings, numbers or booleans"',
        'nil "cannot store a function"',
        "false nil",
        "true nil",
        "true nil",
        '{1={1=1},2={1=1},"x"={1=1}} nil',
        "true nil",
        '{true="t",-1.5="neg",0="zero",2="two",inf="inf"} nil',
        "64"]


async def test_values_are_bounded_like_client_arguments(session):
    session.app.proto_max_bulk_len = 1000
    got = await script(session, b"""
local s = store.get('t:db0')
local many = {}
for i = 1, 100 do many[i] = '0123456789' end
return table.concat({show(s:set('big', string.rep('x', 1001))), show(s:set('ok', string.rep('x', 1000))),
                     show(s:set('many', many)), show(s:set('few', {'0123456789'})), show(s:has('big')),
                     show(s:has('many'))}, ' / ')
""")
    too_big = 'nil "value exceeds the maximum allowed size (proto-max-bulk-len)"'
    assert got.split(" / ") == [too_big, "true nil", too_big, "true nil", "false nil", "false nil"]


async def test_maxmemory_refuses_writes_only(session, monkeypatch):
    session.app.maxmemory = 1
    monkeypatch.setattr(type(session.app), "over_maxmemory", lambda self: True)
    session.store._data[b"k"] = b"v"
    got = await script(session, b"""
local s = store.get('t:db0')
return table.concat({show(s:set('n', 1)), show(s:get('k')), show(s:delete('k'))}, ' / ')
""")
    assert got.split(" / ") == ["nil \"OOM command not allowed when used memory > 'maxmemory'.\"", '"v" nil',
                                "true nil"]


# ------------------------------------------------------------------------------------------------ failures
@pytest.mark.parametrize("failure,message", [
    (RuntimeError("boom"), "internal error: boom"),
    (StoreUnavailable("t:db0", "connection refused"), "store 't:db0' is unavailable: connection refused"),
    (MemoryError(), "not enough memory"),
    (KeyError("x"), "internal error: 'x'"),
])
async def test_a_failing_store_call_is_a_message(session, failure, message):
    def resolve(result):
        raise failure

    rt = ScriptRuntime()
    sha = rt.load(PRELUDE + b"""
local s = store.get('t:db0')
return table.concat({show(s:get('k')), show(s:set('k', {1})), show(s:has('k')), show(s:clear()),
                     'still running'}, ' / ')
""")
    reply = rt.run(sha, [], [], lambda argv: None, stores=ScriptStores(session, resolve))
    assert type(reply) is not Err
    bulk = reply.data.split(b"\r\n", 1)[1][:-2].decode()
    assert bulk.split(" / ") == ['nil "%s"' % message] * 4 + ["still running"]


async def test_payloads_a_script_cannot_hold(session):
    data = session.store._data
    data[b"corrupt"] = Packed(b"\xc1")
    data[b"ext"] = Packed(msgpack.packb(msgpack.ExtType(5, b"x")))
    data[b"ext-inside"] = Packed(msgpack.packb([1, msgpack.ExtType(7, b"")]))
    data[b"huge-int"] = Packed(msgpack.packb(2 ** 64 - 1))
    data[b"str"] = Packed(msgpack.packb({"k": "v", "n": None, "l": [1, None, 3]}))
    got = await script(session, b"""
local s = store.get('t:db0')
local r = {}
for _, k in ipairs({'corrupt', 'ext', 'ext-inside', 'huge-int', 'str'}) do r[#r + 1] = show(s:get(k)) end
return table.concat(r, ' / ')
""")
    assert got.split(" / ") == [
        "nil \"undecodable value for key 'corrupt' in store 't:db0': undecodable msgpack payload: "
        "FormatError\"",
        'nil "the stored value has a msgpack type Lua cannot hold (ext 5)"',
        'nil "the stored value has a msgpack type Lua cannot hold (ext 7)"',
        "1.844674407371e+19 nil",
        '{"k"="v","l"={1=1,3=3}} nil']


# ------------------------------------------------------------------------------------------------ memory store
def test_memory_typed_values_answer_string_commands_as_sql_rows_do(clock):
    s = MemoryStore("t:m", max_size=0, cleanup_interval=0)
    s.store(b"plain", b"bytes")
    assert "get" not in s.__dict__  # strings only: GET is the plain method (the hot path)
    s.store(b"map", {b"a": 1})
    assert "get" in s.__dict__
    s.store(b"int", 42, 10**13 + clock.ms)
    assert s.load(b"map") == {b"a": 1} and s.load(b"int") == 42 and s.load(b"none") is None
    assert s.get(b"int") == b"42" and s.type(b"map") == b"hash" and s.type(b"int") == b"string"
    assert s.mget([b"int", b"map", b"none"]) == [b"42", None, None]
    assert s.dump(b"int") == (codec.pack(42), 10**13 + clock.ms)  # COPY/MOVE carry the payload, any type
    assert s.getex(b"int", None) == b"42" and s.expire_time(b"int") == -1
    assert s.getdel(b"int") == b"42" and s.load(b"int") is None
    assert s.scan(0, None, 10, b"hash") == (0, [b"map"]) and s.scan(0, None, 10, b"string") == (0, [b"plain"])
    assert s.memory_usage(b"map") > len(codec.pack({b"a": 1}))
    s.store(b"gone", 1, clock.ms)  # a time already past: the key disappears, as SET with one
    assert s.load(b"gone") is None
    assert codec.pack(b"x") == codec.encode(b"x") and codec.unpack("s", b"k", codec.pack([b"a", 1.5])) == [b"a", 1.5]


async def test_a_value_too_big_for_the_lua_memory_cap_is_a_message(session):
    """lupa converts a callback's result outside any protected call: an allocation failing there would hang the
    process, so the bridge refuses what does not fit (a table, a string) and the script goes on."""
    session.store.store(b"big", list(range(300_000)))
    session.store.store(b"long", b"x" * 6_000_000)
    session.store.store(b"fits", list(range(1000)))
    rt = ScriptRuntime(max_memory=4 * 1024 * 1024)
    sha = rt.load(PRELUDE + b"""
local s = store.get('t:db0')
local r = {}
for _, k in ipairs({'big', 'long'}) do local v, e = s:get(k) r[#r + 1] = show(v, e) end
r[#r + 1] = show(#s:get('fits'))
return table.concat(r, ' / ')
""")
    reply = rt.run(sha, [], [], lambda argv: None, stores=ScriptStores(session, lambda r: r))
    assert reply.data.split(b"\r\n")[1] == b'nil "not enough memory" / nil "not enough memory" / 1000'


async def test_read_only_runs_and_the_write_hook(session):
    writes = []
    rt = ScriptRuntime()
    sha = rt.load(PRELUDE + b"""
local s = store.get('t:db0')
return table.concat({show(s:get('k')), show(s:set('k', 'v')), show(s:delete('k')), show(s:clear()),
                     show(s:has('k'))}, ' / ')
""")
    session.store.set(b"k", b"old")
    ro = ScriptStores(session, lambda r: r, read_only=True, on_write=lambda: writes.append(1))
    reply = rt.run(sha, [], [], lambda argv: None, stores=ro)
    refused = 'nil "Write commands are not allowed from read-only scripts."'
    assert reply.data.split(b"\r\n")[1].decode().split(" / ") == ['"old" nil', refused, refused, refused,
                                                                   "true nil"]
    assert writes == [] and session.store.get(b"k") == b"old"
    rw = ScriptStores(session, lambda r: r, on_write=lambda: writes.append(1))
    reply = rt.run(sha, [], [], lambda argv: None, stores=rw)
    assert reply.data.split(b"\r\n")[1].decode().split(" / ") == ['"old" nil', "true nil", "true nil", "true nil",
                                                                   "false nil"]
    assert writes == [1, 1, 1]


async def test_on_loop_runs_every_store_operation(session):
    ran = []

    def on_loop(op):
        ran.append(op)
        return op()

    rt = ScriptRuntime()
    sha = rt.load(b"local s = store.get('t:db0') s:set('k', 1) s:get('k') s:has('k') s:delete('k') s:clear() "
                  b"return 1")
    rt.run(sha, [], [], lambda argv: None, stores=ScriptStores(session, lambda r: 1 / 0, on_loop=on_loop))
    assert len(ran) == 5


async def test_redis_command_rules_gate_the_methods(sessions):
    """A user whose Redis rules allow only reads (+@read +@scripting ~*): it may read through the module, not
    write, exactly as with redis.call."""
    admin, users = sessions
    got = await script(users["ro"], b"""
local s = store.get('t:db0')
return table.concat({show(s:get('ok:1')), show(s:has('no:1')), show(s:set('ok:1', 'x')), show(s:delete('ok:1')),
                     show(s:clear())}, ' / ')
""")
    assert got.split(" / ") == ['"one" nil', "true nil", DENIED_KEY % "ok:1", DENIED_KEY % "ok:1",
                                "nil \"NOPERM this user has no permissions to clear the 't:db0' store\""]
    assert policy_app_state(admin) == [b"$3\r\none\r\n", b"$3\r\nuno\r\n", b"$1\r\ns\r\n", b":3\r\n"]


def test_memory_get_is_the_plain_method_again_after_a_flush():
    """A store that held a hash or a typed value checks GETs for them; once FLUSHDB emptied it, GET is the plain
    method again (the hot path pays nothing), and a new hash turns the check back on."""
    from backends.values import HASH  # lazy: only this test reaches the value model directly
    s = MemoryStore("t:m", max_size=0, cleanup_interval=0)
    s.update(b"h", HASH, lambda h: (h.update({b"f": b"v"}) or True, 1))
    assert "get" in s.__dict__
    s.flush()
    assert "get" not in s.__dict__ and s.get(b"h") is None
    s.update(b"h", HASH, lambda h: (h.update({b"f": b"v"}) or True, 1))
    with pytest.raises(WrongType):
        s.get(b"h")
