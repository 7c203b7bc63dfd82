"""What ``cjson``, ``cmsgpack`` and ``struct`` share (``LIBGUARD_LUA``, loaded once, before the sandbox takes
``debug`` away): errors raised as a C library raises them, and integer <-> byte conversions.

A C library function's ``luaL_error`` is located at the line of the script that called it (``user_script:1:
...``, ``luaL_where(L, 1)``), its ``luaL_argerror`` names the function as the caller named it (``struct.pack(...)``:
``'pack'``; through ``pcall``: ``'?'``). Here the public functions are Lua closures made by ``guard``: they call the
implementation without a tail call, so their frame marks where the library call began, and ``fail``/``argerror``
walk up to it (``debug.getinfo``, only when an error is raised) and raise at the caller's level. Nothing is caught
on the way: SCRIPT KILL and the memory cap's error pass through unchanged.
"""
from __future__ import annotations

#: Shared by the three libraries: ``fail(msg)`` raises a located error, ``fail_bare(msg)`` an unlocated one (as
#: ``luaG_runerror`` from inside a C function), ``argerror(i, _, msg)`` luaL_argerror's; ``guard(f)`` makes a public
#: function of f (``guard_multi(f)``: of an f returning a table of results and their count). Called with no
#: arguments.
LIBGUARD_LUA = r"""
local error, type, unpack, setmetatable = error, type, unpack, setmetatable
local getinfo = debug.getinfo
local guards = setmetatable({}, {__mode = "k"})
-- the level, as error() and getinfo() count them in fail or argerror, of the guard this library call entered by
local function guard_level()
  local level = 3
  while true do
    local info = getinfo(level, "f")
    if info == nil then return nil end
    if guards[info.func] then return level - 1 end
    level = level + 1
  end
end
-- luaL_error: the message located at the line that called the library function (luaL_where(L, 1))
local function fail(msg)
  local level = guard_level()
  error(msg, level and level + 1 or 0)
end
-- luaG_runerror inside a C function: no location
local function fail_bare(msg) error(msg, 0) end
-- luaL_argerror: the function named as its caller names it (``struct.pack(...)``: 'pack'; through pcall: '?')
local function argerror(i, _, msg)
  local level = guard_level()
  local info = level and getinfo(level, "n")
  local name = info and info.name or "?"
  if info and info.namewhat == "method" then
    i = i - 1
    if i == 0 then error("calling '" .. name .. "' on bad self (" .. msg .. ")", level + 1) end
  end
  error("bad argument #" .. i .. " to '" .. name .. "' (" .. msg .. ")", level and level + 1 or 0)
end
-- the public function: not a tail call into f, so the guard's frame (and its caller's line) stays while f runs
local function guard(f)
  local g = function(...) return (f(...)) end
  guards[g] = true
  return g
end
local function spread(t, i, n)
  if n - i < 7000 then return unpack(t, i, n) end
  return t[i], spread(t, i + 1, n)
end
-- for f returning (table of results, count)
local function guard_multi(f)
  local g = function(...)
    local t, n = f(...)
    return spread(t, 1, n)
  end
  guards[g] = true
  return g
end
local function typename(n, v) if n then return type(v) end return "no value" end

-- integers <-> bytes in Lua where doubles are exact (|n| < 2^53, at most 8 bytes): the common case needs no call
-- into Python. int_bytes: C's (uint64_t) of the truncated n (two's complement), in `size` bytes (past 8: zeros),
-- nil when n is outside that range. bytes_int: the 64-bit integer the bytes make (signed: sign-extended), as a
-- double rounded once, as C's conversion rounds.
local floor, char, byte = math.floor, string.char, string.byte
local TWO32 = 4294967296
local function int_bytes(n, size, little)
  if not (n > -2^53 and n < 2^53) then return nil end
  n = n < 0 and -floor(-n) or floor(n)
  local lo = n % TWO32
  local hi = ((n - lo) / TWO32) % TWO32
  local b = {}
  for i = 1, size do
    local v = 0
    if i <= 4 then v = floor(lo / 256 ^ (i - 1)) % 256 elseif i <= 8 then v = floor(hi / 256 ^ (i - 5)) % 256 end
    b[little and i or size - i + 1] = v
  end
  return char(unpack(b, 1, size))
end
local function bytes_int(data, little, signed)
  local size = #data
  local lo, hi = 0, 0
  for i = 1, size do
    local c = byte(data, little and i or size - i + 1)
    if i <= 4 then lo = lo + c * 256 ^ (i - 1) else hi = hi + c * 256 ^ (i - 5) end
  end
  if signed and size > 0 then
    if size <= 4 then
      if lo >= 2 ^ (size * 8 - 1) then return lo - 2 ^ (size * 8) end
      return lo
    end
    if hi >= 2 ^ (size * 8 - 33) then return (hi - 2 ^ (size * 8 - 32)) * TWO32 + lo end
  end
  return hi * TWO32 + lo
end

return {fail = fail, fail_bare = fail_bare, guard = guard, guard_multi = guard_multi, argerror = argerror,
  typename = typename, int_bytes = int_bytes, bytes_int = bytes_int}
"""
