"""The ``struct`` library (Roberto Ierusalimschy's lua_struct as Redis 7.0 bundles it), and the byte-level number
conversions ``struct`` and ``cmsgpack`` share.

The format loop, the argument checks and every error text are Lua (``STRUCT_LUA``), so they match
``deps/lua/src/lua_struct.c`` (``bad argument #1 to 'pack' (invalid format option 'z')``, ``data string too
short``, ``integral size 33 is larger than limit of 32``...) and run under the script's hook and memory cap.
Integers whose doubles are exact (below 2^53, at most 8 bytes) are converted in Lua (libguard.py); floats,
doubles and the rest go to Python (``number_op``), where C's conversions are exact, including their x86-64
results for NaN, infinities and out-of-range values (a double cast to a 64-bit integer, to a float), which Lua
5.1's doubles cannot express. ``number_op`` never raises and only ever sees numbers and strings (Lua passes the
sign of a zero separately: lupa hands ``-0.0`` over as ``0``).

Formats as lua_struct: ``< > !n`` (little/big endian, alignment; native is little, maximum alignment 8), ``b B h
H l L T i[n] I[n]`` integers (1, 2, 8, 8 and n bytes, n up to 32), ``f d`` floats, ``c[n]`` fixed strings (``c0``:
the size is the previous unpacked number), ``s`` zero-terminated strings, ``x`` padding, spaces ignored.
"""
from __future__ import annotations

import math
import struct as _struct

_M64 = (1 << 64) - 1
_I64_MIN = 1 << 63


def _trunc_i64(x: float) -> int:
    """(int64_t)x as x86-64 computes it: truncation, 0x8000000000000000 when out of range or NaN."""
    if x != x or x >= 2.0 ** 63 or x < -2.0 ** 63:
        return _I64_MIN
    return int(x) & _M64


def _trunc_u64(x: float) -> int:
    """(uint64_t)x for x >= 0 (or NaN) as gcc compiles it on x86-64 (cvttsd2si, with 2^63 subtracted above it)."""
    if x != x or x < 2.0 ** 63:
        return _trunc_i64(x)
    return _trunc_i64(x - 2.0 ** 63) ^ _I64_MIN


def _c_float(x: float) -> bytes:
    """The little-endian bytes of (float)x: rounding to nearest, infinity past FLT_MAX."""
    try:
        return _struct.pack("<f", x)
    except OverflowError:
        return _struct.pack("<f", math.copysign(math.inf, x))


def _signed(u: int, bits: int = 64) -> int:
    return u - (1 << bits) if u >> (bits - 1) & 1 else u


def _int_bytes(n: float, size: int, little: bool) -> bytes:
    value = _trunc_i64(n) if n < 0 else _trunc_u64(n)
    out = bytearray(size)
    for i in range(min(size, 8)):
        out[i if little else size - 1 - i] = (value >> (8 * i)) & 0xFF
    return bytes(out)


def _bytes_int(data: bytes, little: bool, signed: bool) -> float:
    """lua_struct's getinteger: the bytes into a 64-bit unsigned long (extra bytes shift out), sign-extended from
    the format's size (the shift count taken modulo 64 as x86 does)."""
    size = len(data)
    value = int.from_bytes(data[:8] if little else data[-8:], "little" if little else "big")
    if not signed:
        return float(value)
    mask = (_M64 << ((size * 8 - 1) & 63)) & _M64
    if value & mask:
        value |= mask
    return float(_signed(value))


def _mp_number(x: float) -> bytes:
    """lua_cmsgpack's encoding of a Lua number: the narrowest integer if it is one (IS_INT64_EQUIVALENT), else a
    float if the float holds it exactly, else a double."""
    if x == x and not math.isinf(x) and x.is_integer() and -2.0 ** 63 <= x < 2.0 ** 63:
        n = int(x)
        if n >= 0:
            if n <= 127:
                return bytes((n,))
            for code, width in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
                if n < 1 << (8 * width):
                    return bytes((code,)) + n.to_bytes(width, "big")
        if n >= -32:
            return bytes((n & 0xFF,))
        for code, width in ((0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8)):
            if n >= -(1 << (8 * width - 1)):
                return bytes((code,)) + (n & ((1 << (8 * width)) - 1)).to_bytes(width, "big")
    single = _c_float(x)
    if _struct.unpack("<f", single)[0] == x:
        return b"\xca" + single[::-1]
    return b"\xcb" + _struct.pack(">d", x)


def number_op(op: bytes, a=None, b=None, c=None):
    """One conversion for Lua (never raises: its caller is Lua). ``a`` is a number or a string of bytes."""
    try:
        if op == b"int_bytes":  # (n, size, little)
            return _int_bytes(float(a), int(b), bool(c))
        if op == b"bytes_int":  # (data, little, signed)
            return _bytes_int(bytes(a), bool(b), bool(c))
        if op in (b"f_bytes", b"d_bytes"):  # (n, negative zero, little)
            x = -0.0 if b else float(a)
            data = _c_float(x) if op == b"f_bytes" else _struct.pack("<d", x)
            return data if c else data[::-1]
        if op in (b"bytes_f", b"bytes_d"):  # (data, little)
            fmt = ("<" if b else ">") + ("f" if op == b"bytes_f" else "d")
            return float(_struct.unpack(fmt, bytes(a))[0])
        if op == b"mp_number":  # (n, negative zero)
            return _mp_number(-0.0 if b else float(a))
    except Exception:  # noqa: BLE001 - nothing may reach Lua; the Lua side checks its arguments first
        return None
    return None


#: Called with (libguard, number_op); returns the ``struct`` table.
STRUCT_LUA = r"""
local lib, num = ...
local fail, guard, guard_multi, argerror, typename = lib.fail, lib.guard, lib.guard_multi, lib.argerror,
  lib.typename
local int_bytes, bytes_int = lib.int_bytes, lib.bytes_int
local type, select, tonumber, tostring = type, select, tonumber, tostring
local floor = math.floor
local byte, sub, find, rep = string.byte, string.sub, string.find, string.rep
local concat = table.concat
local MAXCSTACK, MAXINTSIZE, MAXALIGN, INT_MAX = 8000, 32, 8, 2147483647
local SIZES = {b = 1, B = 1, h = 2, H = 2, l = 8, L = 8, T = 8, f = 4, d = 8, x = 1}
local INTEGERS = {b = true, B = true, h = true, H = true, l = true, L = true, T = true, i = true, I = true}

-- x & m for 0 <= m < 64 (the masks alignment uses)
local function band_small(x, m)
  local r, bitv = 0, 1
  while bitv <= m do
    if m % (2 * bitv) >= bitv and x % (2 * bitv) >= bitv then r = r + bitv end
    bitv = bitv * 2
  end
  return r
end

-- the format cut at its first NUL (C reads it as a C string); i is a position in it
local function getnum(fmt, i, default)
  local _, e = find(fmt, "^%d+", i)
  if not e then return default, i end
  local a = 0
  for j = i, e do
    local d = byte(fmt, j) - 48
    if a > floor(INT_MAX / 10) or a * 10 > INT_MAX - d then fail("integral size overflow") end
    a = a * 10 + d
  end
  return a, e + 1
end

local function optsize(opt, fmt, i)
  local size = SIZES[opt]
  if size then return size, i end
  if opt == "c" then return getnum(fmt, i, 1) end
  if opt == "i" or opt == "I" then
    local sz
    sz, i = getnum(fmt, i, 4)
    if sz > MAXINTSIZE then fail("integral size " .. sz .. " is larger than limit of " .. MAXINTSIZE) end
    return sz, i
  end
  return 0, i
end

local function gettoalign(len, h, opt, size)
  if size == 0 or opt == "c" then return 0 end
  if size > h.align then size = h.align end
  return band_small(size - band_small(len, size - 1), size - 1)
end

local function controloptions(name, opt, fmt, i, h)
  if opt == " " then return i end
  if opt == ">" then h.little = false return i end
  if opt == "<" then h.little = true return i end
  if opt == "!" then
    local a
    a, i = getnum(fmt, i, MAXALIGN)
    local p = 1
    while p < a do p = p * 2 end
    if a == 0 or p ~= a then fail("alignment " .. a .. " is not a power of 2") end
    h.align = a
    return i
  end
  argerror(1, name, "invalid format option '" .. opt .. "'")
end

local function checkformat(name, n, fmt)
  local t = type(fmt)
  if t == "number" then fmt = tostring(fmt)
  elseif t ~= "string" then argerror(1, name, "string expected, got " .. typename(n >= 1, fmt)) end
  local nul = find(fmt, "%z")
  return nul and sub(fmt, 1, nul - 1) or fmt
end

-- luaL_checknumber / luaL_checklstring on argument i of a call with n arguments; pack pushes a nil mark after
-- its arguments, so there the first missing one is "nil", not "no value" (marked = 1)
local function checknumber(name, i, n, v, marked)
  local x = tonumber(v)
  if x == nil then argerror(i, name, "number expected, got " .. typename(i <= n + (marked or 0), v)) end
  return x
end
local function checkstring(name, i, n, v, marked)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  argerror(i, name, "string expected, got " .. typename(i <= n + (marked or 0), v))
end
-- lua_tointeger: truncation to a 64-bit integer (NaN and out of range: -2^63)
local function c_integer(x)
  if x ~= x or x >= 2^63 or x < -2^63 then return -2^63 end
  return x < 0 and -floor(-x) or floor(x)
end

-- (size_t) of a double as gcc compiles it on x86-64: truncation; a negative integer part wraps (huge), NaN is
-- 2^63, 2^64 and above (infinity too) give 0
local function c_size(x)
  if x ~= x then return 2^63 end
  if x >= 2^64 then return 0 end
  local t = x < 0 and -floor(-x) or floor(x)
  if t < 0 then return 2^64 + t end
  return t
end

local function pack(...)
  local n = select("#", ...)
  local fmt = checkformat("pack", n, (...))
  local args = {...}
  local h = {little = true, align = 1}
  local out, k, total, arg, i = {}, 0, 0, 2, 1
  while i <= #fmt do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    local toalign = gettoalign(total, h, opt, size)
    total = total + toalign
    if toalign > 0 then k = k + 1 out[k] = rep("\0", toalign) end
    if INTEGERS[opt] then
      local x = checknumber("pack", arg, n, args[arg], 1)
      arg = arg + 1
      k = k + 1 out[k] = int_bytes(x, size, h.little) or num("int_bytes", x, size, h.little)
    elseif opt == "x" then
      k = k + 1 out[k] = "\0"
    elseif opt == "f" or opt == "d" then
      local x = checknumber("pack", arg, n, args[arg], 1)
      arg = arg + 1
      k = k + 1 out[k] = num(opt == "f" and "f_bytes" or "d_bytes", x, x == 0 and 1 / x < 0, h.little)
    elseif opt == "c" or opt == "s" then
      local s = checkstring("pack", arg, n, args[arg], 1)
      arg = arg + 1
      local l = #s
      if size == 0 then size = l end
      if l < size then argerror(arg, "pack", "string too short") end
      k = k + 1 out[k] = sub(s, 1, size)
      if opt == "s" then
        k = k + 1 out[k] = "\0"
        size = size + 1
      end
    else
      i = controloptions("pack", opt, fmt, i, h)
    end
    total = total + size
  end
  return concat(out)
end

local function unpack_(...)
  local nargs = select("#", ...)
  local fmt, data, pos = ...
  fmt = checkformat("unpack", nargs, fmt)
  data = checkstring("unpack", 2, nargs, data)
  local ld = #data
  if pos == nil then pos = 1
  else pos = c_integer(checknumber("unpack", 3, nargs, pos)) end
  if pos == 0 then argerror(3, "unpack", "offset must be 1 or greater") end
  local huge_pos = pos < 0  -- a negative offset is a huge size_t in C: every read fails, the end position stays
  pos = pos - 1
  local h = {little = true, align = 1}
  local res, n, i = {}, 0, 1
  local function fits(size) return not huge_pos and size <= ld and pos <= ld - size end
  while i <= #fmt do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    if not huge_pos then pos = pos + gettoalign(pos, h, opt, size) end
    if not fits(size) then argerror(2, "unpack", "data string too short") end
    if nargs + n + 2 > MAXCSTACK then fail("stack overflow (too many results)") end
    if INTEGERS[opt] then
      local signed = opt == "b" or opt == "h" or opt == "l" or opt == "i"
      local bytes = sub(data, pos + 1, pos + size)
      n = n + 1 res[n] = size <= 8 and bytes_int(bytes, h.little, signed) or num("bytes_int", bytes, h.little, signed)
    elseif opt == "f" or opt == "d" then
      n = n + 1 res[n] = num(opt == "f" and "bytes_f" or "bytes_d", sub(data, pos + 1, pos + size), h.little)
    elseif opt == "c" then
      if size == 0 then
        local prev = res[n]
        if n == 0 or tonumber(prev) == nil then fail("format 'c0' needs a previous size") end
        size = c_size(tonumber(prev))
        res[n] = nil
        n = n - 1
        if not fits(size) then argerror(2, "unpack", "data string too short") end
      end
      n = n + 1 res[n] = sub(data, pos + 1, pos + size)
    elseif opt == "s" then
      local e = find(data, "%z", pos + 1)
      if e == nil then fail("unfinished string in data") end
      size = e - pos
      n = n + 1 res[n] = sub(data, pos + 1, e - 1)
    elseif opt ~= "x" then
      i = controloptions("unpack", opt, fmt, i, h)
    end
    if not huge_pos then pos = pos + size end
  end
  n = n + 1 res[n] = pos + 1
  return res, n
end

local function size_(...)
  local fmt = checkformat("size", select("#", ...), (...))
  local h = {little = true, align = 1}
  local pos, i = 0, 1
  while i <= #fmt do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    pos = pos + gettoalign(pos, h, opt, size)
    if opt == "s" then argerror(1, "size", "option 's' has no fixed size")
    elseif opt == "c" and size == 0 then argerror(1, "size", "option 'c0' has no fixed size") end
    if not find(opt, "%w") then i = controloptions("size", opt, fmt, i, h) end
    pos = pos + size
  end
  return pos
end

return {pack = guard(pack), unpack = guard_multi(unpack_), size = guard(size_)}
"""
