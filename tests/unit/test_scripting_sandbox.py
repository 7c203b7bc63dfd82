"""The Lua sandbox and bounds (respd.scripting.runtime): every escape fails with an error, the runtime survives
hostile scripts, and a run can be stopped from outside (RunControl). No server, no timing: kills are driven by
the number of hook ticks."""
from __future__ import annotations

import pytest

from respd.errors import CommandError
from respd.replies import Err
from respd.scripting.runtime import RunControl, ScriptRuntime, parse_shebang


@pytest.fixture(scope="module")
def rt():
    return ScriptRuntime(max_memory=32 * 1024 * 1024)


def no_call(argv):
    raise AssertionError(f"unexpected redis.call {argv!r}")


def run(rt, body: bytes, keys=(), args=(), call=no_call, proto=2, control=None):
    sha = rt.load(body)
    return rt.run(sha, list(keys), list(args), call, proto=proto, control=control)


def error_text(reply) -> bytes:
    assert isinstance(reply, Err), reply
    return reply.text


# (script, a piece of the error text): each must fail, none may reach Python, the OS or the file system
ESCAPES = [
    (b"return python.eval('1+1')", b"nonexistent global variable 'python'"),
    (b"return python", b"nonexistent global variable 'python'"),
    (b"return io.open('/etc/passwd')", b"nonexistent global variable 'io'"),
    (b"return os.execute('true')", b"attempt to call field 'execute' (a nil value)"),
    (b"return os.getenv('HOME')", b"attempt to call field 'getenv' (a nil value)"),
    (b"return require('os')", b"module 'os' not found"),
    (b"local r = require('package') return r", b"module 'package' not found"),
    (b"return require('store').get('x').get", b"attempt to index"),
    (b"return package.loaded", b"nonexistent global variable 'package'"),
    (b"return debug.getregistry()", b"nonexistent global variable 'debug'"),
    (b"return dofile('/etc/passwd')", b"nonexistent global variable 'dofile'"),
    (b"return loadfile('/etc/passwd')", b"nonexistent global variable 'loadfile'"),
    (b"return module('x')", b"nonexistent global variable 'module'"),
    (b"print('x')", b"nonexistent global variable 'print'"),
    (b"return assert(loadstring(string.dump(function() return 1 end)))()", b"unexpected symbol near 'char(27)'"),
    (b"return assert(loadstring('\\27Lua'))()", b"unexpected symbol near 'char(27)'"),
    (b"local s = string.dump(function() return 1 end) "
     b"return assert(load(function() local p = s s = nil return p end))()", b"unexpected symbol near 'char(27)'"),
    (b"x = 1", b"user_script:1: Attempt to modify a readonly table"),
    (b"_G.x = 1", b"user_script:1: Attempt to modify a readonly table"),
    (b"rawset(_G, 'x', 1)", b"Attempt to modify a readonly table"),
    (b"redis = nil", b"user_script:1: Attempt to modify a readonly table"),
    (b"redis.call = function() end", b"user_script:1: Attempt to modify a readonly table"),
    (b"string.rep = nil", b"user_script:1: Attempt to modify a readonly table"),
    (b"table.insert(string, 'x')", b"Attempt to modify a readonly table"),
    (b"getmetatable('').__index = {}", b"user_script:1: Attempt to modify a readonly table"),
    (b"getmetatable('').__index.upper = function() end", b"user_script:1: Attempt to modify a readonly table"),
    (b"rawset(getmetatable(''), '__index', {})", b"Attempt to modify a readonly table"),
    (b"setmetatable(_G, nil)", b"ERR Attempt to modify a readonly table"),
    (b"setmetatable(string, {})", b"ERR Attempt to modify a readonly table"),
    (b"return setfenv(1, {})", b"nonexistent global variable 'setfenv'"),
    (b"return getfenv(0)", b"nonexistent global variable 'getfenv'"),
    (b"return redis.call.__class__", b"attempt to index field 'call' (a function value)"),
    (b"local p = newproxy(true) getmetatable(p).__gc = function() while true do end end",
     b"nonexistent global variable 'newproxy'"),
    (b"return undefined_name", b"Script attempted to access nonexistent global variable 'undefined_name'"),
]


@pytest.mark.parametrize("body,expected", ESCAPES, ids=[b.decode(errors="replace")[:50] for b, _ in ESCAPES])
def test_escape_fails(rt, body, expected):
    text = error_text(run(rt, body))
    assert expected in text, text
    assert text.startswith(b"ERR "), text


def test_nothing_leaks_between_runs(rt):
    run(rt, b"pcall(function() x = 1 end) pcall(setfenv, 0, {}) return 1")
    assert run(rt, b"return type(redis) .. type(string.rep) .. type(KEYS)").data == b"$18\r\ntablefunctiontable\r\n"
    assert b"nonexistent global variable 'x'" in error_text(run(rt, b"return x"))


def test_globals_keys_and_argv(rt):
    reply = run(rt, b"return {KEYS[1], ARGV[1], #KEYS, #ARGV}", keys=[b"k"], args=[b"a", b"b"])
    assert reply.data == b"*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:2\r\n"


def test_scripts_see_lua_functions_only(rt):
    reply = run(rt, b"return {type(redis.call), type(bit.band), type(pcall), tostring(getmetatable(redis.call))}")
    assert reply.data == b"*4\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n$3\r\nnil\r\n"


def test_allowed_libraries_work(rt):
    body = (b"return {string.format('%d', 7), math.floor(2.5), table.concat({'a', 'b'}), bit.band(0xff, 0x0f), "
            b"bit.tohex(255), bit.bxor(1, 3), bit.lshift(1, 31), unpack({1}), os.clock() >= 0, "
            b"select('#', pairs(string)), type(next(string))}")
    assert run(rt, body).data == (b"*11\r\n$1\r\n7\r\n:2\r\n$2\r\nab\r\n:15\r\n$8\r\n000000ff\r\n:2\r\n"
                                  b":-2147483648\r\n:1\r\n:1\r\n:3\r\n$6\r\nstring\r\n")


def test_compile_error_and_cache(rt):
    with pytest.raises(CommandError) as e:
        rt.load(b"return (")
    assert e.value.text == b"ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    sha = rt.load(b"return 1")
    assert sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db" and rt.exists(sha)
    rt.forget(sha)
    assert not rt.exists(sha)


def test_shebang():
    assert parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1") == (("no-writes", "allow-oom"), 31)
    assert parse_shebang(b"return 1") == ((), 0)
    for body, text in [(b"#!lua", b"ERR Invalid script shebang"),
                       (b"#!python\n", b"ERR Unexpected engine in script shebang: #!python"),
                       (b"#!lua x=1\n", b"ERR Unknown lua shebang option: x=1"),
                       (b"#!lua flags=nope\n", b"ERR Unexpected flag in script shebang: nope")]:
        with pytest.raises(CommandError) as e:
            parse_shebang(body)
        assert e.value.text.encode() == text


class KillAfter(RunControl):
    """Kills the run at its n-th hook tick (SCRIPT KILL arriving while the script runs)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def tick(self):
        if self.ticks + 1 >= self.n:
            self.kill()
        return super().tick()


KILLED = b"ERR Script killed by user with SCRIPT KILL..."


@pytest.mark.parametrize("body", [
    b"while true do end",
    b"while true do pcall(function() while true do end end) end",
    b"local co = coroutine.wrap(function() while true do end end) co()",
    b"local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end",
    b"local function f() return f() end return f()",
    # a chunk named like respd's own Lua is no way out of the kill
    b"assert(loadstring('while true do pcall(function() while true do end end) end', '=respd'))()",
])
def test_a_running_script_can_be_killed(rt, body):
    control = KillAfter(3)
    text = error_text(run(rt, body, control=control))
    assert text.startswith(KILLED), text
    assert control.ticks >= 3
    assert run(rt, b"return 1").data == b":1\r\n"


def test_a_script_not_killed_runs_to_its_end(rt):
    control = RunControl()
    assert run(rt, b"local n = 0 for i = 1, 300000 do n = n + 1 end return n", control=control).data == \
        b":300000\r\n"
    assert control.ticks >= 2 and control.elapsed() >= 0


@pytest.mark.parametrize("body,expected", [
    (b"return string.rep('x', 64 * 1024 * 1024)", b"not enough memory"),
    (b"local t = {} for i = 1, 1e8 do t[i] = i end", b"not enough memory"),
    (b"local function f() return 1 + f() end return f()", b"stack overflow"),
])
def test_hostile_scripts_fail_and_the_runtime_survives(rt, body, expected):
    text = error_text(run(rt, body))
    assert expected in text, text
    rt.collect()
    assert run(rt, b"return redis.sha1hex('')").data == b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"


def test_redis_call_goes_through_the_given_callable(rt):
    seen = []

    def call(argv):
        seen.append(argv)
        return b"v"

    assert run(rt, b"return redis.call('GET', KEYS[1], 3.5, 10)", keys=[b"k"], call=call).data == b"$1\r\nv\r\n"
    assert seen == [[b"GET", b"k", b"3.5", b"10"]]


def test_a_failing_callable_is_an_error_reply_not_a_python_object(rt):
    def call(argv):
        raise ValueError("boom")

    assert run(rt, b"return redis.pcall('GET', 'k')", call=call).data == b"-ERR boom\r\n"
    assert run(rt, b"return type(redis.pcall('GET', 'k'))", call=call).data == b"$5\r\ntable\r\n"


def test_noscript_and_flush():
    rt = ScriptRuntime()
    sha = rt.load(b"return 1")
    rt.flush()
    assert not rt.exists(sha)
    assert rt.run(sha, [], [], no_call) == Err("NOSCRIPT No matching script. Please use EVAL.")
    assert rt.run(rt.load(b"return 1"), [], [], no_call).data == b":1\r\n"


def test_math_random_is_redis_sequence():
    """The values a freshly started redis-server 7.0.15 gives (one lrand48 sequence per server; randomseed)."""
    rt = ScriptRuntime()
    assert run(rt, b"return {math.random(), math.random(10), math.random(5, 7)}").data == b"*3\r\n:0\r\n:9\r\n:6\r\n"
    assert run(rt, b"math.randomseed(42) return {math.random(100), math.random(100)}").data == \
        b"*2\r\n:75\r\n:35\r\n"
    assert b"bad argument #1 to 'random' (interval is empty)" in error_text(run(rt, b"return math.random(0)"))
