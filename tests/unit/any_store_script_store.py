"""The ``store`` module inside scripts (respd/scripting/storelib.py) on every store kind: collected by
tests/unit/test_any_store.py (memory stores) and tests/sql/test_any_store.py (SQL stores), so both kinds must give
the same answers: every method, errors as ``nil, message``, release, TTL, typed values and how Redis' string
commands (through ``redis.call``, i.e. ``dispatch.execute``) read them, and the other way round.

Scripts run as the EVAL handler runs them: ``ScriptRuntime.run(..., stores=ScriptStores(sess, resolve))``; on SQL
stores in a worker thread with ``resolve`` awaiting each store call's coroutine on the trio thread, on memory
stores on the trio thread with results as they are. Policies, hostile values and limits: test_scripting_store_module.py.
"""
from __future__ import annotations

import inspect

import pytest
import trio

from respd.dispatch import execute
from respd.replies import Err, Raw, encode
from respd.scripting.runtime import ScriptRuntime
from respd.scripting.storelib import ScriptStores

#: Lua helpers every test script starts with: ``show(...)`` → one string naming each value (tables with sorted
#: keys), so a test compares one bulk string
PRELUDE = rb"""
local function dump(v)
  local t = type(v)
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      if type(a) == type(b) and type(a) ~= 'boolean' then return a < b end
      return type(a) < type(b)
    end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = dump(k) .. '=' .. dump(v[k]) end
    return '{' .. table.concat(parts, ',') .. '}'
  elseif t == 'string' then return '"' .. v .. '"'
  else return tostring(v) end
end
local function show(...)
  local out = {}
  for i = 1, select('#', ...) do out[i] = dump((select(i, ...))) end
  return table.concat(out, ' ')
end
"""

_RUNTIME = []


def runtime() -> ScriptRuntime:
    if not _RUNTIME:
        _RUNTIME.append(ScriptRuntime())
    return _RUNTIME[0]


async def _wait(coro):
    return await coro


async def _maybe(r):
    """A store's result, awaited when the store is async."""
    return (await r) if inspect.iscoroutine(r) else r


async def script(sess, body: bytes, keys=(), args=(), stores=True, proto=2):
    """Run ``PRELUDE + body`` for ``sess`` as EVAL would; the reply (``Raw`` bytes decoded to a value or ``Err``)."""
    rt = runtime()
    sha = rt.load(PRELUDE + body)
    if sess.store.is_async:
        def resolve(result):
            return trio.from_thread.run(_wait, result) if inspect.iscoroutine(result) else result

        ss = ScriptStores(sess, resolve) if stores else None
        reply = await trio.to_thread.run_sync(
            lambda: rt.run(sha, list(keys), list(args), lambda argv: resolve(execute(sess, argv)), proto=proto,
                           stores=ss))
    else:
        ss = ScriptStores(sess, lambda r: r) if stores else None
        reply = rt.run(sha, list(keys), list(args), lambda argv: execute(sess, argv), proto=proto, stores=ss)
    if type(reply) is Err:
        return reply
    assert type(reply) is Raw
    return _value(reply.data)


def _value(data: bytes):
    if data.startswith(b"$-1"):
        return None
    if data.startswith(b"$"):
        return data.split(b"\r\n", 1)[1][:-2].decode("utf-8", "replace")
    if data.startswith(b":"):
        return int(data[1:-2])
    return data


async def cmd(sess, *argv) -> bytes:
    """A Redis command from a client: the encoded reply."""
    r = execute(sess, [a.encode() if isinstance(a, str) else a for a in argv])
    if inspect.iscoroutine(r):
        r = await r
    return encode(r, sess.proto)


def _sid(session) -> str:
    return session.store.id


async def test_lua_store_store_get_set_delete_has(session):
    sid = _sid(session)
    got = await script(session, b"""
local s, e = store.get(ARGV[1])
local r = {show(s ~= nil, e)}
r[#r + 1] = show(s:get('k'))
r[#r + 1] = show(s:set('k', 'v1'))
r[#r + 1] = show(s:get('k'))
r[#r + 1] = show(s:has('k'))
r[#r + 1] = show(s:exists('k'))
r[#r + 1] = show(s:has('nope'))
r[#r + 1] = show(s:exists('nope'))
r[#r + 1] = show(s:delete('k'))
r[#r + 1] = show(s:delete('k'))
r[#r + 1] = show(s:get('k'))
return table.concat(r, ' / ')
""", args=[sid.encode()])
    assert got.split(" / ") == ["true nil", 'nil "key not found"', "true nil", '"v1" nil', "true nil", "true nil",
                                "false nil", "false nil", "true nil", "false nil", 'nil "key not found"']


async def test_lua_store_require_gives_the_same_module(session):
    assert await script(session, b"return show(require('store') == store, type(store.get))") == 'true "function"'


async def test_lua_store_strings_are_what_set_and_get_see(session):
    sid = _sid(session).encode()
    assert await cmd(session, "SET", "from:redis", b"bin\x00\xff") == b"+OK\r\n"
    got = await script(session, b"""
local s = store.get(ARGV[1])
s:set('from:lua', 'hello')
s:set('empty', '')
local v = s:get('from:redis')
return show(v == 'bin\\0\\255', #v, type(v))
""", args=[sid])
    assert got == 'true 5 "string"'
    assert await cmd(session, "GET", "from:lua") == b"$5\r\nhello\r\n"
    assert await cmd(session, "GET", "empty") == b"$0\r\n\r\n"
    assert await cmd(session, "TYPE", "from:lua") == b"+string\r\n"
    assert await cmd(session, "STRLEN", "from:lua") == b":5\r\n"


async def test_lua_store_numbers_are_stored_as_numbers_and_read_by_string_commands(session):
    sid = _sid(session).encode()
    got = await script(session, b"""
local s = store.get(ARGV[1])
s:set('int', 42)
s:set('neg', -7)
s:set('float', 1.5)
local i, f = s:get('int'), s:get('float')
return show(i, type(i), f, type(f), s:get('neg'))
""", args=[sid])
    assert got == '42 "number" 1.5 "number" -7 nil'
    assert await cmd(session, "GET", "int") == b"$2\r\n42\r\n"
    assert await cmd(session, "GET", "float") == b"$3\r\n1.5\r\n"
    assert await cmd(session, "TYPE", "int") == b"+string\r\n"
    assert await cmd(session, "STRLEN", "neg") == b":2\r\n"
    assert await cmd(session, "MGET", "int", "float", "neg") == b"*3\r\n$2\r\n42\r\n$3\r\n1.5\r\n$2\r\n-7\r\n"
    assert await cmd(session, "INCR", "int") == b":43\r\n"
    assert await cmd(session, "INCRBYFLOAT", "float", "1") == b"$3\r\n2.5\r\n"
    assert await cmd(session, "APPEND", "neg", "0") == b":3\r\n"
    # written back by string commands: strings now
    assert await script(session, b"""
local s = store.get(ARGV[1])
return show(s:get('int'), type(s:get('int')), s:get('neg'))
""", args=[sid]) == '"43" "string" "-70" nil'


async def test_lua_store_tables_round_trip_and_are_another_type_for_redis(session):
    sid = _sid(session).encode()
    got = await script(session, b"""
local s = store.get(ARGV[1])
s:set('arr', {1, 'two', 3.5, true})
s:set('map', {name = 'x', n = 2, nested = {deep = {1, 2, {z = false}}}, [10] = 'ten'})
s:set('mixed', {1, 2, x = 3})
s:set('empty', {})
s:set('t', true)
s:set('f', false)
return show(s:get('arr'), s:get('map'), s:get('mixed'), s:get('empty'), s:get('t'), s:get('f'))
""", args=[sid])
    assert got == ('{1=1,2="two",3=3.5,4=true} {10="ten","n"=2,"name"="x","nested"={"deep"={1=1,2=2,3={"z"=false}}}} '
                   '{1=1,2=2,"x"=3} {} true false nil')
    wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    for key in ("arr", "map", "mixed", "t"):
        assert await cmd(session, "GET", key) == wrongtype
        assert await cmd(session, "INCR", key) == wrongtype
        assert await cmd(session, "GETDEL", key) == wrongtype
        assert await cmd(session, "SET", key, "x", "GET") == wrongtype
        assert await cmd(session, "STRLEN", key) == wrongtype
    assert await cmd(session, "TYPE", "arr") == b"+list\r\n"
    assert await cmd(session, "TYPE", "empty") == b"+list\r\n"
    assert await cmd(session, "TYPE", "map") == b"+hash\r\n"
    assert await cmd(session, "TYPE", "mixed") == b"+hash\r\n"
    assert await cmd(session, "EXISTS", "arr", "map", "t") == b":3\r\n"
    assert await cmd(session, "MGET", "arr", "map") == b"*2\r\n$-1\r\n$-1\r\n"
    assert await cmd(session, "SCAN", "0", "TYPE", "hash") == b"*2\r\n$1\r\n0\r\n*2\r\n$3\r\nmap\r\n$5\r\nmixed\r\n" \
        or await cmd(session, "SCAN", "0", "TYPE", "hash") == b"*2\r\n$1\r\n0\r\n*2\r\n$5\r\nmixed\r\n$3\r\nmap\r\n"
    # the key is still there, unchanged, after the refused commands; SET replaces it with a string
    assert await script(session, b"return show(store.get(ARGV[1]):get('arr'))", args=[sid]) == \
        '{1=1,2="two",3=3.5,4=true} nil'
    assert await cmd(session, "SET", "arr", "plain") == b"+OK\r\n"
    assert await cmd(session, "TYPE", "arr") == b"+string\r\n"
    assert await script(session, b"return show(store.get(ARGV[1]):get('arr'))", args=[sid]) == '"plain" nil'
    assert await cmd(session, "DEL", "map", "mixed") == b":2\r\n"
    assert await cmd(session, "RENAME", "arr", "arr2") == b"+OK\r\n"


async def test_lua_store_ttl_in_seconds(session, clock):
    sid = _sid(session).encode()
    got = await script(session, b"""
local s = store.get(ARGV[1])
return show(s:set('short', 'v', 10)) .. ' / ' .. show(s:set('frac', 1, 0.5)) .. ' / ' .. show(s:set('keep', {1}))
""", args=[sid])
    assert got == "true nil / true nil / true nil"
    assert await cmd(session, "PTTL", "short") == b":10000\r\n"
    assert await cmd(session, "PTTL", "frac") == b":500\r\n"
    assert await cmd(session, "TTL", "keep") == b":-1\r\n"
    clock.advance(1)
    assert await script(session, b"""
local s = store.get(ARGV[1])
return show(s:get('frac')) .. ' / ' .. show(s:has('frac'), s:get('short'))
""", args=[sid]) == 'nil "key not found" / false "v" nil'
    clock.advance(10)
    assert await script(session, b"""
local s = store.get(ARGV[1])
return show(s:get('short')) .. ' / ' .. show(s:has('short'), s:delete('short'))
""", args=[sid]) == 'nil "key not found" / false false nil'
    # a set without ttl clears the one the key had, as SET does
    assert await cmd(session, "SET", "k", "v", "EX", "100") == b"+OK\r\n"
    await script(session, b"store.get(ARGV[1]):set('k', 'w') return 1", args=[sid])
    assert await cmd(session, "TTL", "k") == b":-1\r\n"


async def test_lua_store_bad_ttls_are_errors(session):
    sid = _sid(session).encode()
    got = await script(session, b"""
local s = store.get(ARGV[1])
local r = {}
for _, ttl in ipairs({0, -1, 'ten', 0/0, 1e300, {}}) do r[#r + 1] = show(s:set('k', 'v', ttl)) end
r[#r + 1] = show(s:has('k'))
return table.concat(r, ' / ')
""", args=[sid])
    bad = 'nil "ttl must be a positive number of seconds"'
    assert got.split(" / ") == [bad] * 6 + ["false nil"]


async def test_lua_store_release(session):
    sid = _sid(session).encode()
    got = await script(session, b"""
local a = store.get(ARGV[1])
local b = store.get(ARGV[1])
a:set('k', 'v')
local r = {show(a:release())}
for _, m in ipairs({'get', 'set', 'delete', 'has', 'exists', 'clear', 'release'}) do
  r[#r + 1] = show(a[m](a, 'k', 'x'))
end
r[#r + 1] = show(b:get('k'))
return table.concat(r, ' / ')
""", args=[sid])
    released = 'nil "store released"'
    assert got == " / ".join(["true nil"] + [released] * 7 + ['"v" nil'])
    assert await cmd(session, "GET", "k") == b"$1\r\nv\r\n"


async def test_lua_store_clear_empties_that_store_only(session):
    other = [s for s in session.app.stores.values() if s is not session.store][0]
    sid = _sid(session).encode()
    await cmd(session, "SET", "a", "1")
    await cmd(session, "SET", "b", "2")
    got = await script(session, b"""
local o = store.get(ARGV[2])
o:set('kept', 'yes')
local s = store.get(ARGV[1])
return show(s:clear()) .. ' / ' .. show(s:has('a')) .. ' / ' .. show(s:get('b')) .. ' / ' .. show(o:get('kept'))
""", args=[sid, other.id.encode()])
    assert got == 'true nil / false nil / nil "key not found" / "yes" nil'
    assert await cmd(session, "DBSIZE") == b":0\r\n"


async def test_lua_store_errors_are_returned_never_raised(session):
    sid = _sid(session).encode()
    got = await script(session, b"""
local r = {}
r[#r + 1] = show(store.get('no:such:store'))
r[#r + 1] = show(store.get(5))
r[#r + 1] = show(store.get())
local s = store.get(ARGV[1])
r[#r + 1] = show(s.get('k'))
r[#r + 1] = show(s:get({}))
r[#r + 1] = show(s:get())
r[#r + 1] = show(s:set('k'))
r[#r + 1] = show(s:set('k', nil, 10))
r[#r + 1] = show(s:set('k', tostring))
r[#r + 1] = show(s:set('k', {f = tostring}))
r[#r + 1] = show(s:set('k', {[{}] = 1}))
r[#r + 1] = show(s:delete(nil))
r[#r + 1] = show(s:has(true))
return table.concat(r, ' / ')
""", args=[sid])
    assert got.split(" / ") == [
        "nil \"no such store 'no:such:store'\"",
        'nil "store id must be a string"',
        'nil "store id must be a string"',
        """nil "not a store object (call its methods with ':', as obj:get(key))\"""",
        'nil "key must be a string or a number"',
        'nil "key must be a string or a number"',
        'nil "value expected"',
        'nil "value expected"',
        'nil "cannot store a function"',
        'nil "cannot store a function"',
        'nil "table keys must be strings, numbers or booleans"',
        'nil "key must be a string or a number"',
        'nil "key must be a string or a number"',
    ]
    assert await cmd(session, "EXISTS", "k") == b":0\r\n"


async def test_lua_store_number_keys_are_their_text(session):
    sid = _sid(session).encode()
    assert await script(session, b"""
local s = store.get(ARGV[1])
s:set(12, 'twelve')
s:set(1.5, 'x')
return show(s:get('12'))
""", args=[sid]) == '"twelve" nil'
    assert await cmd(session, "GET", "1.5") == b"$1\r\nx\r\n"


async def test_lua_store_without_stores_the_module_says_so(session):
    assert await script(session, b"return show(store.get('t:db0'))", stores=False) == \
        'nil "store module not available"'


async def test_lua_store_store_objects_are_read_only(session):
    got = await script(session, b"local s = store.get(ARGV[1]) s.get = 1 return 1", args=[_sid(session).encode()])
    assert type(got) is Err and b"Attempt to modify a readonly table" in got.text
    got = await script(session, b"store.get = 1 return 1")
    assert type(got) is Err and b"Attempt to modify a readonly table" in got.text
    assert await script(session, b"return show(getmetatable(store.get(ARGV[1])))",
                        args=[_sid(session).encode()]) == "false"


async def test_lua_store_full_store_rejects_a_new_key(session, make_store):
    small = await make_store("t:small", max_size=1)
    session.app.stores[small.id] = small
    got = await script(session, b"""
local s = store.get('t:small')
local r = {show(s:set('a', 1)), show(s:set('a', {2})), show(s:set('b', 'x')), show(s:has('b')), show(s:get('a'))}
return table.concat(r, ' / ')
""")
    assert got.split(" / ") == ["true nil", "true nil",
                                "nil \"OOM command not allowed when store 't:small' is full (max_size 1)\"",
                                "false nil", "{1=2} nil"]


async def test_lua_store_values_set_from_redis_commands_read_back(session):
    sid = _sid(session).encode()
    await cmd(session, "SET", "n", "17")
    await cmd(session, "INCR", "counter")
    got = await script(session, b"""
local s = store.get(ARGV[1])
return show(s:get('n')) .. ' / ' .. show(s:get('counter'))
""", args=[sid])
    assert got == '"17" nil / "1" nil'


async def test_lua_tables_and_hashes_are_two_views_of_one_value(session):
    """A Lua table with string keys is a hash for Redis' commands (its numbers and booleans read as their text);
    a hash written field by field reads back as a Lua table; a set or a sorted set has no Lua form and says so."""
    from backends.values import HASH, SET, Members  # lazy: only this test reaches the value model directly
    sid = _sid(session).encode()
    await script(session, b"store.get(ARGV[1]):set('prefs', {theme = 'dark', fontSize = 14, beta = true})",
                 args=[sid])
    store = session.store
    assert await _maybe(store.read(b"prefs", HASH)) == {b"theme": b"dark", b"fontSize": b"14", b"beta": b"1"}

    def hset(h):
        h[b"lang"] = b"fr"
        return True, 1
    await _maybe(store.update(b"prefs", HASH, hset))
    got = await script(session, b"return show(store.get(ARGV[1]):get('prefs'))", args=[sid])
    assert got == '{"beta"="1","fontSize"="14","lang"="fr","theme"="dark"} nil'
    await _maybe(store.update(b"tags", SET, lambda m: (m.update([b"a"]) or True, 1)))
    assert await script(session, b"return show(store.get(ARGV[1]):get('tags'))", args=[sid]) == (
        "nil \"the stored value is a Redis set, which has no Lua table form: read it with "
        "redis.call('SMEMBERS', key)\"")
    assert type(await _maybe(store.read(b"tags", SET))) is Members
    await cmd(session, "ZADD", "board", "1.5", "a")
    assert await script(session, b"return show(store.get(ARGV[1]):get('board'))", args=[sid]) == (
        "nil \"the stored value is a Redis sorted set, which has no Lua table form: read it with "
        "redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')\"")
