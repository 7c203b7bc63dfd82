"""The ``bit`` library (LuaBitOp, as Redis bundles it): 32-bit operations on Lua numbers.

lupa's Lua 5.1 has no ``bit`` module, so the operations run in Python (``bit_op``) behind Lua closures
(``BIT_LUA``): a script sees Lua functions only, and arguments are checked in Lua with LuaBitOp's error texts
(``bad argument #1 to 'band' (number expected, got nil)``) before anything reaches Python. Results are signed
32-bit numbers, as LuaBitOp returns them; ``tohex`` gives 8 lowercase digits (``n`` digits, uppercase for a
negative ``n``).
"""
from __future__ import annotations

#: Called with (bit_op); returns the ``bit`` table.
BIT_LUA = r"""
local op = ...
local type, tonumber, error, select = type, tonumber, error, select
local function checknum(v, i, name)
  local n = tonumber(v)
  if n == nil then
    local got = v == nil and "no value" or type(v)
    if type(v) == "string" then got = "string" end
    error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. got .. ")", 3)
  end
  return n
end
local function unary(name)
  return function(x) local r = op(name, checknum(x, 1, name)) return r end
end
local function binary(name)
  return function(x, n) local r = op(name, checknum(x, 1, name), checknum(n, 2, name)) return r end
end
local function fold(name)
  return function(...)
    local acc = checknum((...), 1, name)
    for i = 2, select("#", ...) do acc = op(name, acc, checknum((select(i, ...)), i, name)) end
    local r = op("tobit", acc)
    return r
  end
end
local bit = {tobit = unary("tobit"), bnot = unary("bnot"), bswap = unary("bswap"),
  band = fold("band"), bor = fold("bor"), bxor = fold("bxor"),
  lshift = binary("lshift"), rshift = binary("rshift"), arshift = binary("arshift"),
  rol = binary("rol"), ror = binary("ror")}
function bit.tohex(x, n)
  local r
  x = checknum(x, 1, "tohex")
  if n == nil then r = op("tohex", x, 8) else r = op("tohex", x, checknum(n, 2, "tohex")) end
  return r
end
return bit
"""

_MASK = 0xFFFFFFFF


def _u32(x: float) -> int:
    """LuaBitOp's conversion: the number rounded to an integer (ties to even, as the FPU does), modulo 2^32."""
    if x != x or x in (float("inf"), float("-inf")):
        return 0
    return int(round(x)) & _MASK


def _signed(u: int) -> float:
    u &= _MASK
    return u - (1 << 32) if u & 0x80000000 else u


def bit_op(name: bytes, a, b=None):
    """One LuaBitOp operation on already checked numbers; never raises (its caller is Lua)."""
    x = _u32(a)
    if name == b"tobit":
        return _signed(x)
    if name == b"bnot":
        return _signed(~x)
    if name == b"bswap":
        return _signed(int.from_bytes(x.to_bytes(4, "little"), "big"))
    if name == b"tohex":
        n = int(b) if b is not None else 8
        upper = n < 0
        n = min(abs(n), 8) or 8 if n != 0 else 0
        if n == 0:
            return b""
        text = b"%0*x" % (n, x & ((1 << (4 * n)) - 1)) if n < 8 else b"%08x" % x
        return text.upper() if upper else text
    y = _u32(b)
    if name == b"band":
        return _signed(x & y)
    if name == b"bor":
        return _signed(x | y)
    if name == b"bxor":
        return _signed(x ^ y)
    s = y & 31
    if name == b"lshift":
        return _signed(x << s)
    if name == b"rshift":
        return _signed(x >> s)
    if name == b"arshift":
        return _signed(_signed(x) >> s) if x & 0x80000000 else _signed(x >> s)
    if name == b"rol":
        return _signed((x << s) | (x >> (32 - s)))
    if name == b"ror":
        return _signed((x >> s) | (x << (32 - s)))
    return 0
