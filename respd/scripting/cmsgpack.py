"""The ``cmsgpack`` library (lua-cmsgpack 0.4.0 as Redis 7.0 bundles it), written in Lua.

As ``cjson``, it runs in the script's Lua state (hook, memory cap) and follows ``deps/lua/src/lua_cmsgpack.c``:

- ``pack(v1, ...)``: each argument encoded and the encodings concatenated. A number that is an integer (within
  int64) takes the narrowest integer form, else a float if a float holds it exactly, else a double (floats and
  integers past 2^53 are encoded by ``structlib.number_op``); a table whose keys are exactly 1..n is an array (an empty table too), any other
  a map; tables nested 16 deep are encoded as nil (lua-cmsgpack's guard against cycles); functions, userdata
  (``cjson.null``), nil: nil.
- ``unpack(s)``: every value in ``s``; ``unpack_one(s[, offset])`` and ``unpack_limit(s, limit[, offset])``: the
  next offset (-1 at the end) then the values. 64-bit integers go through a signed 64-bit integer (so
  ``0xcf ff..ff`` is -1, as in Redis), bin/ext types are ``Bad data format in input.``, truncated input ``Missing
  bytes in input.``, a nil or NaN map key ``table index is nil``/``NaN``. C's stack limit (8000 slots) is counted
  as lua-cmsgpack uses it, so deep nesting or too many values fail with Redis' ``stack overflow (...)`` texts and
  recursion stays bounded; a header announcing 2^32 elements costs nothing until the bytes are there.
"""
from __future__ import annotations

#: Called with (libguard, number_op); returns the ``cmsgpack`` table.
CMSGPACK_LUA = r"""
local lib, num = ...
local fail, fail_bare, guard, guard_multi, argerror, typename = lib.fail, lib.fail_bare, lib.guard,
  lib.guard_multi, lib.argerror, lib.typename
local int_bytes, bytes_int = lib.int_bytes, lib.bytes_int
local type, next, rawget, rawset, select, tonumber, tostring = type, next, rawget, rawset, select, tonumber,
  tostring
local floor = math.floor
local byte, char, sub = string.byte, string.char, string.sub
local concat = table.concat
local MAXCSTACK, MAX_NESTING = 8000, 16

-- big-endian bytes of 0 <= n < 2^32
local function be2(n) return char(floor(n / 256) % 256, n % 256) end
local function be4(n) return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256) end

local function header(n, fix, fixmax, c16, c32)
  if n <= fixmax then return char(fix + n) end
  if n <= 0xffff then return c16 .. be2(n) end
  return c32 .. be4(n % 4294967296)
end
local function str_header(len)
  if len < 32 then return char(0xa0 + len) end
  if len <= 0xff then return "\217" .. char(len) end
  if len <= 0xffff then return "\218" .. be2(len) end
  return "\219" .. be4(len % 4294967296)
end

-- table_is_an_array: keys exactly 1..n (each a positive number that fits a C int)
local function is_array(t)
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= "number" or not (k > 0) or k >= 2147483648 or floor(k) ~= k then return false end
    if k > max then max = k end
    count = count + 1
  end
  return max == count
end

-- mp_encode_int, for an integer |n| < 2^53 (larger ones, and every non-integer, go through number_op)
local function mp_int(v)
  if v >= 0 then
    if v <= 127 then return char(v) end
    if v <= 0xff then return "\204" .. char(v) end
    if v <= 0xffff then return "\205" .. int_bytes(v, 2, false) end
    if v <= 0xffffffff then return "\206" .. int_bytes(v, 4, false) end
    return "\207" .. int_bytes(v, 8, false)
  end
  if v >= -32 then return char(256 + v) end
  if v >= -128 then return "\208" .. char(256 + v) end
  if v >= -32768 then return "\209" .. int_bytes(v, 2, false) end
  if v >= -2147483648 then return "\210" .. int_bytes(v, 4, false) end
  return "\211" .. int_bytes(v, 8, false)
end

local encode
encode = function(v, level, out, n)
  local t = type(v)
  if t == "table" and level == MAX_NESTING then t = "nil" end
  if t == "string" then
    n = n + 1 out[n] = str_header(#v)
    n = n + 1 out[n] = v
  elseif t == "boolean" then
    n = n + 1 out[n] = v and "\195" or "\194"
  elseif t == "number" then
    n = n + 1
    if floor(v) == v and v > -2^53 and v < 2^53 then out[n] = mp_int(v)
    else out[n] = num("mp_number", v, v == 0 and 1 / v < 0) end
  elseif t == "table" then
    if is_array(v) then
      local len = #v
      n = n + 1 out[n] = header(len, 0x90, 15, "\220", "\221")
      for j = 1, len do n = encode(rawget(v, j), level + 1, out, n) end
    else
      local len = 0
      for _ in next, v do len = len + 1 end
      n = n + 1 out[n] = header(len, 0x80, 15, "\222", "\223")
      for k, x in next, v do
        n = encode(k, level + 1, out, n)
        n = encode(x, level + 1, out, n)
      end
    end
  else
    n = n + 1 out[n] = "\192"
  end
  return n
end

local function pack(...)
  local nargs = select("#", ...)
  if nargs == 0 then argerror(0, "pack", "MessagePack pack needs input.") end
  if nargs * 2 > MAXCSTACK then argerror(0, "pack", "Too many arguments for MessagePack pack.") end
  local out, n = {}, 0
  for i = 1, nargs do n = encode((select(i, ...)), 0, out, n) end
  return concat(out)
end

-- decoding: s is the input, its length slen; decode(pos, slots) -> value, next position. slots: the C stack
-- slots lua-cmsgpack holds when it decodes this value (its luaL_checkstack calls fail past LUAI_MAXCSTACK)
local s, slen
local function need(pos, k) if slen - pos + 1 < k then fail("Missing bytes in input.") end end
local function u16(pos) local a, b = byte(s, pos, pos + 1) return a * 256 + b end
local function u32(pos)
  local a, b, c, d = byte(s, pos, pos + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local decode
local function decode_array(pos, len, slots)
  local t = {}
  if slots + 2 > MAXCSTACK then fail("stack overflow (in function mp_decode_to_lua_array)") end
  local v
  for i = 1, len do
    v, pos = decode(pos, slots + 2)
    rawset(t, i, v)
  end
  return t, pos
end
local function decode_map(pos, len, slots)
  local t = {}
  local k, v
  for _ = 1, len do
    k, pos = decode(pos, slots + 1)
    v, pos = decode(pos, slots + 2)
    if k == nil then fail_bare("table index is nil") end
    if k ~= k then fail_bare("table index is NaN") end
    rawset(t, k, v)
  end
  return t, pos
end
decode = function(pos, slots)
  need(pos, 1)
  if slots + 1 > MAXCSTACK then
    fail("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)")
  end
  local c = byte(s, pos)
  if c < 0x80 then return c, pos + 1 end
  if c >= 0xe0 then return c - 256, pos + 1 end
  if c < 0x90 then return decode_map(pos + 1, c - 0x80, slots) end
  if c < 0xa0 then return decode_array(pos + 1, c - 0x90, slots) end
  if c < 0xc0 then
    local l = c - 0xa0
    need(pos, 1 + l)
    return sub(s, pos + 1, pos + l), pos + 1 + l
  end
  if c == 0xc0 then return nil, pos + 1 end
  if c == 0xc2 then return false, pos + 1 end
  if c == 0xc3 then return true, pos + 1 end
  if c == 0xcc then need(pos, 2) return byte(s, pos + 1), pos + 2 end
  if c == 0xd0 then need(pos, 2) local b = byte(s, pos + 1) return b >= 128 and b - 256 or b, pos + 2 end
  if c == 0xcd then need(pos, 3) return u16(pos + 1), pos + 3 end
  if c == 0xd1 then need(pos, 3) local b = u16(pos + 1) return b >= 32768 and b - 65536 or b, pos + 3 end
  if c == 0xce then need(pos, 5) return u32(pos + 1), pos + 5 end
  if c == 0xd2 then
    need(pos, 5)
    local b = u32(pos + 1)
    return b >= 2147483648 and b - 4294967296 or b, pos + 5
  end
  if c == 0xcf or c == 0xd3 then
    need(pos, 9)
    return bytes_int(sub(s, pos + 1, pos + 8), false, true), pos + 9
  end
  if c == 0xca then need(pos, 5) return num("bytes_f", sub(s, pos + 1, pos + 4), false), pos + 5 end
  if c == 0xcb then need(pos, 9) return num("bytes_d", sub(s, pos + 1, pos + 8), false), pos + 9 end
  if c == 0xd9 or c == 0xda or c == 0xdb then
    local h = c == 0xd9 and 2 or c == 0xda and 3 or 5
    need(pos, h)
    local l = h == 2 and byte(s, pos + 1) or h == 3 and u16(pos + 1) or u32(pos + 1)
    need(pos + h, l)
    return sub(s, pos + h, pos + h + l - 1), pos + h + l
  end
  if c == 0xdc then need(pos, 3) return decode_array(pos + 3, u16(pos + 1), slots) end
  if c == 0xdd then need(pos, 5) return decode_array(pos + 5, u32(pos + 1), slots) end
  if c == 0xde then need(pos, 3) return decode_map(pos + 3, u16(pos + 1), slots) end
  if c == 0xdf then need(pos, 5) return decode_map(pos + 5, u32(pos + 1), slots) end
  fail("Bad data format in input.")
end

-- (int) of a 64-bit integer, for the error texts' %d
local function c_int(n)
  n = n % 2^32
  if n >= 2^31 then n = n - 2^32 end
  return n
end
-- luaL_checkinteger / luaL_optinteger (lua_tointeger: truncation to 64 bits)
local function checkinteger(name, i, n, v, optional)
  if optional and v == nil then return 0 end
  local x = tonumber(v)
  if x == nil then argerror(i, name, "number expected, got " .. typename(i <= n, v)) end
  if x ~= x or x >= 2^63 or x < -2^63 then return -2^63 end
  return x < 0 and -floor(-x) or floor(x)
end

local function unpack_full(name, text, nbase, limit, offset)
  local t = type(text)
  if t == "number" then text = tostring(text)
  elseif t ~= "string" then argerror(1, name, "string expected, got " .. typename(nbase >= 1, text)) end
  local len = #text
  local decode_all = limit == 0 and offset == 0
  if offset < 0 or limit < 0 then
    fail("Invalid request to unpack with offset of " .. c_int(offset) .. " and limit of " .. c_int(len) .. ".")
  elseif offset > len then
    fail("Start offset " .. c_int(offset) .. " greater than input length " .. c_int(len) .. ".")
  end
  if decode_all then limit = 2147483647 end
  s, slen = text, len
  local out, cnt, pos = {}, 0, offset + 1
  while pos <= len and cnt < limit do
    local v
    v, pos = decode(pos, nbase + cnt)
    cnt = cnt + 1
    out[cnt] = v
  end
  s = nil
  if decode_all then return out, cnt end
  if nbase + cnt + 1 > MAXCSTACK then fail("stack overflow (in function mp_unpack_full)") end
  for i = cnt, 1, -1 do out[i + 1] = out[i] end
  out[1] = pos > len and -1 or pos - 1
  return out, cnt + 1
end

local function unpack_(...)
  return unpack_full("unpack", (...), select("#", ...), 0, 0)
end
local function unpack_one(...)
  local n = select("#", ...)
  local text, offset = ...
  offset = checkinteger("unpack_one", 2, n, offset, true)
  return unpack_full("unpack_one", text, n > 0 and 1 or 0, 1, offset)
end
local function unpack_limit(...)
  local n = select("#", ...)
  local text, limit, offset = ...
  limit = checkinteger("unpack_limit", 2, n, limit, false)
  offset = checkinteger("unpack_limit", 3, n, offset, true)
  return unpack_full("unpack_limit", text, n > 0 and 1 or 0, limit, offset)
end

return {pack = guard(pack), unpack = guard_multi(unpack_), unpack_one = guard_multi(unpack_one),
  unpack_limit = guard_multi(unpack_limit), _NAME = "cmsgpack", _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
  _DESCRIPTION = "MessagePack C implementation for Lua"}
"""
