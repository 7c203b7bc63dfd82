"""The ``cjson`` library (lua-cjson 2.1.0 as Redis 7.0 bundles it), written in Lua.

It runs in the script's own Lua state, so the count hook (SCRIPT KILL) and the memory cap apply to a long encode
or decode as to any script code, and no value ever crosses into Python. What a script sees matches Redis'
``deps/lua/src/lua_cjson.c``:

- ``encode``: numbers with ``%.14g`` (``encode_number_precision``), ``/`` escaped as ``\\/``, control bytes and
  DEL as ``\\uXXXX``; a table whose keys are all positive integers is an array (``null`` in the holes) unless it
  is "excessively sparse" (``encode_sparse_array``), every other table (and an empty one) an object; nesting past
  ``encode_max_depth`` and values that cannot be serialised fail with Redis' texts.
- ``decode``: lua-cjson's tokenizer, its error texts (``Expected value but found invalid token at character 1``),
  numbers as C's ``strtod`` reads them (hex, ``inf``/``nan`` while ``decode_invalid_numbers`` is on), ``null`` as
  ``cjson.null`` (a userdata: RESP null when returned), a NUL byte ending the text as it ends a C string.
- the configuration functions take and return what lua-cjson does, and their settings last until SCRIPT FLUSH (a
  new Lua state in Redis; ``reset`` here), as in Redis: one script's ``cjson.encode_max_depth(5)`` holds for the
  next scripts. ``cjson.new()`` gives an independent copy with its own settings.
- C's stack limit (LUAI_MAXCSTACK, 8000 slots) is counted as lua-cjson uses it, so very deep nesting under a raised
  ``*_max_depth`` fails where Redis fails, with Redis' text, and recursion stays bounded.

Errors are raised (libguard.py) at the level of the script's line that called the library function
(``user_script:1: ...``), as ``luaL_error`` in a C library does; nothing is caught on the way, so SCRIPT KILL and
the memory cap's error pass through unchanged.
"""
from __future__ import annotations


#: Called with (libguard); returns (cjson table, reset function). Loaded before the sandbox removes ``newproxy``:
#: ``cjson.null`` is a userdata without a metatable (Redis': a NULL lightuserdata).
CJSON_LUA = r"""
local lib = ...
local null = newproxy(false)
local fail, guard, guard_multi, argerror, typename = lib.fail, lib.guard, lib.guard_multi, lib.argerror,
  lib.typename
local type, next, rawget, rawset, select, tonumber, tostring = type, next, rawget, rawset, select, tonumber, tostring
local floor, huge = math.floor, math.huge
local byte, char, sub, find, format, gsub, lower = string.byte, string.char, string.sub, string.find,
  string.format, string.gsub, string.lower
local concat = table.concat
local MAXCSTACK = 8000
local NUMBER_FORMATS = {}
for p = 1, 14 do NUMBER_FORMATS[p] = "%." .. p .. "g" end
local INT_MAX, INT_MIN = 2147483647, -2147483648

local escapes = {["\""] = "\\\"", ["\\"] = "\\\\", ["/"] = "\\/", ["\8"] = "\\b", ["\9"] = "\\t", ["\10"] = "\\n",
  ["\12"] = "\\f", ["\13"] = "\\r", ["\127"] = "\\u007f"}
for i = 0, 31 do
  local c = char(i)
  if not escapes[c] then escapes[c] = format("\\u%04x", i) end
end
local ESCAPED = "[%z\1-\31\"/\\\127]"
local function quote(s)
  if not find(s, ESCAPED) then return "\"" .. s .. "\"" end
  return "\"" .. gsub(s, ESCAPED, escapes) .. "\""
end

-- (int)(lua_Integer)n, as luaL_checkinteger's value lands in an int
local function c_int(n)
  if n ~= n or n >= 2^63 or n < -2^63 then return 0 end
  n = n < 0 and -floor(-n) or floor(n)
  n = n % 2^32
  if n >= 2^31 then n = n - 2^32 end
  return n
end

local function defaults(cfg)
  cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe = 0, 2, 10
  cfg.encode_max_depth, cfg.decode_max_depth = 1000, 1000
  cfg.encode_invalid, cfg.decode_invalid, cfg.keep_buffer, cfg.precision = 0, 1, 1, 14
  return cfg
end

local make
make = function()
  local cfg = defaults({})

  -- configuration (json_arg_init, json_integer_option, json_enum_option)
  local function arg_init(name, nmax, n)
    if n > nmax then argerror(nmax + 1, name, "found too many arguments") end
  end
  local function integer_option(name, i, v, n, key, min, max)
    if v ~= nil then
      local x = tonumber(v)
      if x == nil then argerror(i, name, "number expected, got " .. typename(i <= n, v)) end
      x = c_int(x)
      if x < min or x > max then argerror(1, name, "expected integer between " .. min .. " and " .. max) end
      cfg[key] = x
    end
    return cfg[key]
  end
  local bool_options = {"off", "on"}
  local function enum_option(name, i, v, n, key, options)
    if v ~= nil then
      if type(v) == "boolean" then cfg[key] = v and 1 or 0
      else
        local t = type(v)
        if t == "number" then v = tostring(v)
        elseif t ~= "string" then argerror(i, name, "string expected, got " .. typename(i <= n, v)) end
        local found
        for j = 1, #options do if options[j] == v then found = j - 1 end end
        if found == nil then argerror(i, name, "invalid option '" .. v .. "'") end
        cfg[key] = found
      end
    end
    local s = cfg[key]
    if s == 0 or s == 1 then return s == 1 end
    return options[s + 1]
  end
  local function one_int(name, key, min, max)
    return function(...)
      local n = select("#", ...)
      arg_init(name, 1, n)
      return integer_option(name, 1, (...), n, key, min, max)
    end
  end
  local function one_enum(name, key, options)
    return function(...)
      local n = select("#", ...)
      arg_init(name, 1, n)
      return enum_option(name, 1, (...), n, key, options)
    end
  end
  local function encode_sparse_array(...)
    local n = select("#", ...)
    arg_init("encode_sparse_array", 3, n)
    local a, b, c = ...
    local name = "encode_sparse_array"
    return {enum_option(name, 1, a, n, "sparse_convert", bool_options),
      integer_option(name, 2, b, n, "sparse_ratio", 0, INT_MAX),
      integer_option(name, 3, c, n, "sparse_safe", 0, INT_MAX)}, 3
  end

  -- encoding
  local function number_text(n)
    local mode = cfg.encode_invalid
    if mode == 0 then
      if n ~= n or n == huge or n == -huge then fail("Cannot serialise number: must not be NaN or Inf") end
    elseif mode == 1 then
      if n ~= n then return "nan" end
    elseif n ~= n or n == huge or n == -huge then
      return "null"
    end
    return format(NUMBER_FORMATS[cfg.precision], n)
  end

  -- lua_array_length: the largest key if every key is a positive integer (max kept in a C int), else -1
  local function array_length(t)
    local max, items = 0, 0
    for k in next, t do
      if type(k) == "number" and k ~= 0 and floor(k) == k and k >= 1 then
        if k > max then max = k > INT_MAX and INT_MIN or k end
        items = items + 1
      else
        return -1
      end
    end
    if cfg.sparse_ratio > 0 and max > items * cfg.sparse_ratio and max > cfg.sparse_safe then
      if cfg.sparse_convert == 0 then fail("Cannot serialise table: excessively sparse array") end
      return -1
    end
    return max
  end

  -- slots: C stack slots lua-cjson holds at this point (its lua_checkstack(l, 3) fails past LUAI_MAXCSTACK)
  local append
  append = function(v, depth, slots, out, n)
    local t = type(v)
    if t == "string" then
      n = n + 1 out[n] = quote(v)
    elseif t == "number" then
      n = n + 1 out[n] = number_text(v)
    elseif t == "boolean" then
      n = n + 1 out[n] = v and "true" or "false"
    elseif t == "table" then
      depth = depth + 1
      if depth > cfg.encode_max_depth or slots + 3 > MAXCSTACK then
        fail("Cannot serialise, excessive nesting (" .. depth .. ")")
      end
      local len = array_length(v)
      if len > 0 then
        n = n + 1 out[n] = "["
        for i = 1, len do
          if i > 1 then n = n + 1 out[n] = "," end
          n = append(rawget(v, i), depth, slots + 1, out, n)
        end
        n = n + 1 out[n] = "]"
      else
        n = n + 1 out[n] = "{"
        local comma = false
        for k, x in next, v do
          if comma then n = n + 1 out[n] = "," else comma = true end
          local kt = type(k)
          if kt == "number" then n = n + 1 out[n] = "\"" .. number_text(k) .. "\":"
          elseif kt == "string" then n = n + 1 out[n] = quote(k) .. ":"
          else fail("Cannot serialise " .. kt .. ": table key must be a number or string") end
          n = append(x, depth, slots + 2, out, n)
        end
        n = n + 1 out[n] = "}"
      end
    elseif t == "nil" or v == null then
      n = n + 1 out[n] = "null"
    else
      fail("Cannot serialise " .. t .. ": type not supported")
    end
    return n
  end

  local function encode(...)
    if select("#", ...) ~= 1 then argerror(1, "encode", "expected 1 argument") end
    local out = {}
    append((...), 0, 1, out, 0)
    return concat(out)
  end

  -- decoding: a token is (kind, index, value, next position); index is 0-based as lua-cjson reports it + 1
  local T_NAMES = {obj_begin = "T_OBJ_BEGIN", obj_end = "T_OBJ_END", arr_begin = "T_ARR_BEGIN",
    arr_end = "T_ARR_END", string = "T_STRING", number = "T_NUMBER", boolean = "T_BOOLEAN", null = "T_NULL",
    colon = "T_COLON", comma = "T_COMMA", ["end"] = "T_END"}
  local SINGLE = {[123] = "obj_begin", [125] = "obj_end", [91] = "arr_begin", [93] = "arr_end", [44] = "comma",
    [58] = "colon"}
  local UNKNOWN = {[102] = true, [105] = true, [73] = true, [110] = true, [78] = true, [116] = true, [34] = true,
    [43] = true, [45] = true}
  for c = 48, 57 do UNKNOWN[c] = true end
  local UNESCAPE = {[34] = "\"", [92] = "\\", [47] = "/", [98] = "\8", [116] = "\9", [110] = "\10", [102] = "\12",
    [114] = "\13"}

  local s, slen  -- the text being decoded (cut at its first NUL byte) and its length

  -- json_is_invalid_number
  local function invalid_number(p)
    local c = byte(s, p)
    if c == 43 then return true end
    if c == 45 then p = p + 1 c = byte(s, p) end
    if c == 48 then
      local c2 = byte(s, p + 1)
      return c2 ~= nil and (c2 == 120 or c2 == 88 or (c2 >= 48 and c2 <= 57))
    elseif c == nil or c <= 57 then
      return false
    end
    local w = lower(sub(s, p, p + 2))
    return w == "inf" or w == "nan"
  end

  -- where C's strtod stops reading a number that starts at p (p itself if it reads nothing)
  local function strtod_end(p)
    local q = p
    local c = byte(s, q)
    if c == 43 or c == 45 then q = q + 1 c = byte(s, q) end
    if c and c >= 49 and c <= 57 then  -- the common case: a decimal number not starting with 0
      local _, e = find(s, "^%d*%.?%d*", q + 1)
      local _, x = find(s, "^[eE][+-]?%d+", e + 1)
      return (x or e) + 1
    end
    local w = lower(sub(s, q, q + 7))
    if w == "infinity" then return q + 8 end
    if sub(w, 1, 3) == "inf" then return q + 3 end
    if sub(w, 1, 3) == "nan" then
      if byte(s, q + 3) == 40 then
        local _, e = find(s, "^[%w_]*%)", q + 4)
        if e then return e + 1 end
      end
      return q + 3
    end
    if byte(s, q) == 48 and (byte(s, q + 1) == 120 or byte(s, q + 1) == 88) then
      local _, e = find(s, "^%x*", q + 2)
      local digits = e - (q + 1)
      local r = e + 1
      if byte(s, r) == 46 then
        local _, f = find(s, "^%x*", r + 1)
        digits = digits + (f - r)
        r = f + 1
      end
      if digits == 0 then return q + 1 end  -- just the "0"
      local _, x = find(s, "^[pP][+-]?%d+", r)
      return x and x + 1 or r
    end
    local _, e = find(s, "^%d*", q)
    local digits = e - q + 1
    local r = e + 1
    if byte(s, r) == 46 then
      local _, f = find(s, "^%d*", r + 1)
      digits = digits + (f - r)
      r = f + 1
    end
    if digits == 0 then return p end
    local _, x = find(s, "^[eE][+-]?%d+", r)
    return x and x + 1 or r
  end

  local function hex4(p)
    local h = sub(s, p, p + 3)
    if #h < 4 or find(h, "[^%x]") then return nil end
    return tonumber(h, 16)
  end

  local function utf8(cp)
    if cp <= 0x7F then return char(cp) end
    if cp <= 0x7FF then return char(floor(cp / 64) + 0xC0, cp % 64 + 0x80) end
    if cp <= 0xFFFF then
      return char(floor(cp / 4096) + 0xE0, floor(cp / 64) % 64 + 0x80, cp % 64 + 0x80)
    end
    return char(floor(cp / 262144) + 0xF0, floor(cp / 4096) % 64 + 0x80, floor(cp / 64) % 64 + 0x80,
      cp % 64 + 0x80)
  end

  -- a \uXXXX escape at p (the backslash): its UTF-8 bytes and the position after it, or nil
  local function unicode_escape(p)
    local cp = hex4(p + 2)
    if cp == nil then return nil end
    local len = 6
    if cp >= 0xD800 and cp <= 0xDFFF then
      if cp >= 0xDC00 then return nil end
      if sub(s, p + 6, p + 7) ~= "\\u" then return nil end
      local low = hex4(p + 8)
      if low == nil or low < 0xDC00 or low > 0xDFFF then return nil end
      cp = (cp - 0xD800) * 1024 + (low - 0xDC00) + 0x10000
      len = 12
    end
    return utf8(cp), p + len
  end

  local function string_token(p)
    local parts, n, q = {}, 0, p + 1
    while true do
      local a = find(s, "[\"\\]", q)
      if a == nil then return "error", slen, "unexpected end of string" end
      n = n + 1 parts[n] = sub(s, q, a - 1)
      if byte(s, a) == 34 then return "string", p - 1, concat(parts), a + 1 end
      local e = byte(s, a + 1)
      if e == 117 then
        local bytes, after = unicode_escape(a)
        if bytes == nil then return "error", a - 1, "invalid unicode escape code" end
        n = n + 1 parts[n] = bytes
        q = after
      else
        local c = UNESCAPE[e]
        if c == nil then return "error", a - 1, "invalid escape code" end
        n = n + 1 parts[n] = c
        q = a + 2
      end
    end
  end

  local function number_token(p)
    local e = strtod_end(p)
    if e == p then return "error", p - 1, "invalid number" end
    return "number", p - 1, tonumber(sub(s, p, e - 1)), e
  end

  local function next_token(p)
    p = find(s, "[^ \t\n\r]", p) or slen + 1
    local c = byte(s, p)
    if c == nil then return "end", p - 1, nil, p end
    local single = SINGLE[c]
    if single then return single, p - 1, nil, p + 1 end
    if not UNKNOWN[c] then return "error", p - 1, "invalid token" end
    if c == 34 then return string_token(p) end
    if c == 45 or (c >= 48 and c <= 57) then
      if cfg.decode_invalid == 0 and invalid_number(p) then return "error", p - 1, "invalid number" end
      return number_token(p)
    end
    if sub(s, p, p + 3) == "true" then return "boolean", p - 1, true, p + 4 end
    if sub(s, p, p + 4) == "false" then return "boolean", p - 1, false, p + 5 end
    if sub(s, p, p + 3) == "null" then return "null", p - 1, null, p + 4 end
    if cfg.decode_invalid ~= 0 and invalid_number(p) then return number_token(p) end
    return "error", p - 1, "invalid token"
  end

  local function parse_error(expected, kind, index, value)
    local found = kind == "error" and value or T_NAMES[kind]
    fail("Expected " .. expected .. " but found " .. found .. " at character " .. (index + 1))
  end

  local parse_value
  local function descend(depth, slots, need, p)
    if depth > cfg.decode_max_depth or slots + need > MAXCSTACK then
      fail("Found too many nested data structures (" .. depth .. ") at character " .. (p - 1))
    end
  end
  local function parse_object(p, depth, slots)
    descend(depth, slots, 3, p)
    local t = {}
    local kind, index, value, q = next_token(p)
    if kind == "obj_end" then return t, q end
    while true do
      if kind ~= "string" then parse_error("object key string", kind, index, value) end
      local key = value
      kind, index, value, q = next_token(q)
      if kind ~= "colon" then parse_error("colon", kind, index, value) end
      kind, index, value, q = next_token(q)
      value, q = parse_value(kind, index, value, q, depth, slots + 2)
      rawset(t, key, value)
      kind, index, value, q = next_token(q)
      if kind == "obj_end" then return t, q end
      if kind ~= "comma" then parse_error("comma or object end", kind, index, value) end
      kind, index, value, q = next_token(q)
    end
  end
  local function parse_array(p, depth, slots)
    descend(depth, slots, 2, p)
    local t = {}
    local kind, index, value, q = next_token(p)
    if kind == "arr_end" then return t, q end
    local i = 1
    while true do
      value, q = parse_value(kind, index, value, q, depth, slots + 1)
      rawset(t, i, value)
      i = i + 1
      kind, index, value, q = next_token(q)
      if kind == "arr_end" then return t, q end
      if kind ~= "comma" then parse_error("comma or array end", kind, index, value) end
      kind, index, value, q = next_token(q)
    end
  end
  parse_value = function(kind, index, value, q, depth, slots)
    if kind == "string" or kind == "number" or kind == "boolean" or kind == "null" then return value, q end
    if kind == "obj_begin" then return parse_object(q, depth + 1, slots) end
    if kind == "arr_begin" then return parse_array(q, depth + 1, slots) end
    parse_error("value", kind, index, value)
  end

  local function decode(...)
    if select("#", ...) ~= 1 then argerror(1, "decode", "expected 1 argument") end
    local text = ...
    local t = type(text)
    if t == "number" then text = tostring(text)
    elseif t ~= "string" then argerror(1, "decode", "string expected, got " .. t) end
    if #text >= 2 and (byte(text, 1) == 0 or byte(text, 2) == 0) then
      fail("JSON parser does not support UTF-16 or UTF-32")
    end
    local nul = find(text, "%z")
    s = nul and sub(text, 1, nul - 1) or text
    slen = #s
    local kind, index, value, q = next_token(1)
    local result
    result, q = parse_value(kind, index, value, q, 0, 1)
    kind, index, value = next_token(q)
    if kind ~= "end" then parse_error("the end", kind, index, value) end
    s = nil
    return result
  end

  local t = {
    encode = guard(encode),
    decode = guard(decode),
    encode_sparse_array = guard_multi(encode_sparse_array),
    encode_max_depth = guard(one_int("encode_max_depth", "encode_max_depth", 1, INT_MAX)),
    decode_max_depth = guard(one_int("decode_max_depth", "decode_max_depth", 1, INT_MAX)),
    encode_number_precision = guard(one_int("encode_number_precision", "precision", 1, 14)),
    encode_keep_buffer = guard(one_enum("encode_keep_buffer", "keep_buffer", bool_options)),
    encode_invalid_numbers = guard(one_enum("encode_invalid_numbers", "encode_invalid", {"off", "on", "null"})),
    decode_invalid_numbers = guard(one_enum("decode_invalid_numbers", "decode_invalid", bool_options)),
    new = function() local fresh = make() return fresh end,
    null = null, _NAME = "cjson", _VERSION = "2.1.0",
  }
  return t, function() defaults(cfg) end
end

local cjson, reset = make()
return cjson, reset
"""
