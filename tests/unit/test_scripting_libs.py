"""The ``cjson``, ``cmsgpack`` and ``struct`` libraries, and error locations of tail calls into respd's Lua API,
against the bytes redis-server 7.0.15 sent for the same scripts (tests/unit/scripting_libs_cases.py), plus what a
table of replies cannot show: cjson settings lasting until SCRIPT FLUSH, hostile inputs against the memory cap and
SCRIPT KILL, and the bytecode patch leaving results alone."""
from __future__ import annotations

import hashlib

import pytest

from respd.replies import Err, encode
from respd.scripting.runtime import RunControl, ScriptRuntime
from respd.scripting.structlib import number_op

from .scripting_libs_cases import RECORDED


def no_call(argv):
    raise AssertionError(f"no redis.call expected: {argv!r}")


@pytest.fixture(scope="module")
def rt():
    return ScriptRuntime()


def run_bytes(rt, body: bytes, proto: int = 2, control=None) -> bytes:
    reply = rt.run(rt.load(body), [], [], no_call, proto=proto, control=control)
    out = reply.encoded if isinstance(reply, Err) else encode(reply, proto)
    return out.replace(hashlib.sha1(body).hexdigest().encode(), b"{sha}")


@pytest.mark.parametrize("body,resp2,resp3", RECORDED, ids=[c[0].decode(errors="replace")[:70] for c in RECORDED])
def test_same_bytes_as_redis(rt, body, resp2, resp3):
    assert run_bytes(rt, body, 2) == resp2
    assert run_bytes(rt, body, 3) == resp3


def test_cjson_settings_last_until_script_flush():
    """Redis keeps lua-cjson's configuration in its Lua state: a setting made by one script holds for the next
    ones, until SCRIPT FLUSH starts a new state."""
    rt = ScriptRuntime()
    assert run_bytes(rt, b"return cjson.encode_max_depth(2)") == b":2\r\n"
    assert run_bytes(rt, b"return cjson.encode_max_depth()") == b":2\r\n"
    assert run_bytes(rt, b"return cjson.encode({{{1}}})").startswith(
        b"-ERR user_script:1: Cannot serialise, excessive nesting (3) script:")
    rt.flush()
    assert run_bytes(rt, b"return cjson.encode_max_depth()") == b":1000\r\n"
    assert run_bytes(rt, b"return cjson.encode({{{1}}})") == b"$7\r\n[[[1]]]\r\n"


def test_cjson_new_copies_do_not_share_settings(rt):
    assert run_bytes(rt, b"local j = cjson.new() j.encode_number_precision(3) return {j.encode(1/3), "
                         b"cjson.encode(1/3), cjson.new().encode(1/3)}") == \
        b"*3\r\n$5\r\n0.333\r\n$16\r\n0.33333333333333\r\n$16\r\n0.33333333333333\r\n"


@pytest.mark.parametrize("body", [
    b"local s = string.rep('x', 1024 * 1024) local t = {} for i = 1, 64 do t[i] = s end return #cjson.encode(t)",
    b"local s = string.rep('x', 1024 * 1024) local t = {} for i = 1, 64 do t[i] = s end return #cmsgpack.pack(t)",
    b"local s = string.rep('x', 1024 * 1024) return #struct.pack(string.rep('c1048576', 64), "
    b"unpack((function() local t = {} for i = 1, 64 do t[i] = s end return t end)()))",
    b"return #cjson.decode('[' .. string.rep('\"' .. string.rep('x', 65536) .. '\",', 2000) .. '1]')",
])
def test_a_huge_result_hits_the_memory_cap_and_the_runtime_survives(body):
    rt = ScriptRuntime(max_memory=16 * 1024 * 1024)
    out = run_bytes(rt, body)
    assert out.startswith(b"-") and b"not enough memory" in out, out[:200]
    rt.collect()
    assert run_bytes(rt, b"return cjson.encode({1, 'a'})") == b'$7\r\n[1,"a"]\r\n'


class KillAfter(RunControl):
    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def tick(self):
        if self.ticks + 1 >= self.n:
            self.kill()
        return super().tick()


@pytest.mark.parametrize("body", [
    b"while true do cjson.decode('[1, 2, {\"a\": 3}]') end",
    b"while true do pcall(cmsgpack.unpack, cmsgpack.pack({1, 2, 3})) end",
    b"while true do pcall(struct.unpack, 'bhi', struct.pack('bhi', 1, 2, 3)) end",
    # one long call: the hook runs inside the library's own Lua
    b"return #cjson.decode('[' .. string.rep('1,', 3000000) .. '1]')",
])
def test_library_code_is_killable(rt, body):
    control = KillAfter(3)
    out = run_bytes(rt, body, control=control)
    assert out.startswith(b"-ERR Script killed by user with SCRIPT KILL"), out[:200]
    assert run_bytes(rt, b"return 1") == b":1\r\n"


def test_deep_nesting_is_an_error_not_a_crash(rt):
    """Nesting bounded by Redis' own limits (decode_max_depth, and C's 8000 stack slots that lua-cjson and
    lua-cmsgpack count): no recursion deeper than that happens in respd."""
    for body in (b"return cjson.decode(string.rep('[', 1000000))",
                 b"local j = cjson.new() j.decode_max_depth(2^31 - 1) return j.decode(string.rep('[', 1000000))",
                 b"return cmsgpack.unpack(string.rep('\\145', 1000000))",
                 b"return cmsgpack.unpack(string.rep('\\129\\1', 1000000))"):
        out = run_bytes(rt, body)
        assert out.startswith(b"-ERR user_script:1: ") and (b"nested" in out or b"stack overflow" in out), out


def test_a_huge_announced_count_costs_nothing(rt):
    """A msgpack header announcing 2^32-1 elements, a struct count of 2^31-1 bytes: errors before any allocation
    of that size (the memory cap here is the default 64 MiB)."""
    assert run_bytes(rt, b"return cmsgpack.unpack('\\221\\255\\255\\255\\255')").startswith(
        b"-ERR user_script:1: Missing bytes in input. script:")
    assert run_bytes(rt, b"return struct.unpack('c2147483647', 'x')").startswith(
        b"-ERR user_script:1: bad argument #2 to 'unpack' (data string too short) script:")
    assert run_bytes(rt, b"return struct.size('c2147483647c2147483647c2147483647')") == b":6442450941\r\n"


def test_tail_calls_to_the_api_keep_results(rt):
    """notail.py turns `return f(...)` into a call + return when f is read from a global, a field or a local: the
    values returned are the same (all of them, nil holes included)."""
    assert run_bytes(rt, b"return {(function() return select('#', unpack({1, nil, 3}, 1, 3)) end)()}") == \
        b"*1\r\n:3\r\n"
    assert run_bytes(rt, b"local t = {} function t.f(...) return ... end "
                         b"return {select('#', (function() return t.f(1, nil, nil) end)())}") == b"*1\r\n:3\r\n"
    assert run_bytes(rt, b"local f = string.rep return f('ab', 3)") == b"$6\r\nababab\r\n"
    # a script's own tail recursion (through an upvalue) keeps Lua's unbounded tail calls, as in Redis
    assert run_bytes(rt, b"local function f(n) if n == 0 then return 'done' end return f(n - 1) end "
                         b"return f(100000)") == b"$4\r\ndone\r\n"


@pytest.mark.parametrize("op,args,expected", [
    (b"int_bytes", (-1.0, 2, True), b"\xff\xff"),
    (b"int_bytes", (float("nan"), 8, False), b"\x80" + b"\0" * 7),
    (b"int_bytes", (2.0 ** 64, 8, False), b"\0" * 8),
    (b"int_bytes", (-1.0, 10, False), b"\0\0" + b"\xff" * 8),
    (b"bytes_int", (b"\xff" * 9, False, True), -1.0),
    (b"f_bytes", (1e300, 0, False), b"\x7f\x80\0\0"),
    (b"f_bytes", (0, 1, False), b"\x80\0\0\0"),
    (b"mp_number", (2.0 ** 63, 0), b"\xca\x5f\0\0\0"),
    (b"mp_number", (-(2.0 ** 63), 0), b"\xd3\x80" + b"\0" * 7),
    (b"mp_number", (0.5, 0), b"\xca\x3f\0\0\0"),
    (b"nonsense", (1,), None),
    (b"int_bytes", ("not a number", 1, True), None),
])
def test_number_op_never_raises(op, args, expected):
    assert number_op(op, *args) == expected


def test_the_libraries_show_only_lua_values(rt):
    """No Python object behind cjson/cmsgpack/struct is reachable: every field is a Lua function or string (and
    cjson.null a userdata without a metatable); the tables are read-only like Redis' (7.0)."""
    body = (b"local out = {} for _, name in ipairs({'cjson', 'cmsgpack', 'struct'}) do "
            b"for k, v in pairs(_G[name]) do out[#out + 1] = name .. '.' .. k .. ':' .. type(v) end end "
            b"table.sort(out) return {out, tostring(getmetatable(cjson.null)), "
            b"select(2, pcall(function() cjson.null = 1 end)), select(2, pcall(rawset, struct, 'x', 1))}")
    out = run_bytes(rt, body)
    fields = [line for line in out.split(b"\r\n") if b":" in line and b"." in line and not line.startswith(b"-")]
    assert fields and all(f.endswith((b":function", b":string")) or f == b"cjson.null:userdata" for f in fields), out
    assert b"cjson.encode:function" in out and b"cmsgpack.unpack_limit:function" in out and \
        b"struct.size:function" in out
    assert b"$3\r\nnil\r\n" in out and out.count(b"Attempt to modify a readonly table") == 2, out
