"""Values between Lua and RESP, as Redis 7.0 converts them (``src/script_lua.c``), and the ``redis`` table.

Two directions, two languages:

- **Lua → RESP** (a script's return value) runs *in Lua* (``CONVERT_LUA``, ``to_resp``): it walks the value with
  ``rawget``/``next`` as Redis' C code does (a table's ``__index`` is never consulted, map keys come out in
  ``lua_next`` order) and writes the encoded reply for the caller's protocol, returned as a ``Raw`` reply. Rules:
  string → bulk; number → integer, truncated toward zero (C's ``(long long)`` cast: NaN and out-of-range give
  -9223372036854775808); ``true`` → ``:1`` and ``false``/``nil`` → null while the script speaks RESP2, booleans once
  it called ``redis.setresp(3)``; a table with a string ``err`` → error, ``ok`` → status, then ``double``,
  ``big_number``, ``verbatim_string``, ``map``, ``set`` (encoded for RESP2 clients as Redis does: bulk text, flat
  array, array), else an array of ``t[1], t[2]...`` up to the first nil.
- **RESP → Lua** (what ``redis.call`` returns) runs in Python (``LuaValues.of``), from the reply *value* a handler
  returns (``respd.replies``), as Redis converts the reply bytes a command wrote for the script's protocol: bulk →
  string, integer → number, status → ``{ok=...}``, error → ``{err=...}``, null → ``false`` in RESP2, ``nil`` in
  RESP3, arrays → tables (RESP2 maps and sets flat), RESP3 map/set/double/big number/verbatim/boolean → the tables
  and values above. ``Raw`` replies are parsed (``_parse``).

The ``redis`` table's functions (``redis.call``, ``pcall``, ``error_reply``...) are Lua closures over a Python
callable they never expose: scripts see Lua functions only, never a Python object.
"""
from __future__ import annotations

from typing import Any, Callable

from ..replies import Double, Err, Map, Raw, SetReply, Simple, Verbatim, _NullArray, format_double

#: Lua 5.1 source. Called with (py, texts): ``py`` holds the Python callables (call, log, sha1, bit), ``texts``
#: the error texts (respd.errors.LUA_TEXTS). Returns the helpers the sandbox and the driver use. Every global it
#: needs is captured as a local first, so a script's setfenv on these closures changes nothing.
CONVERT_LUA = r"""
local py, texts = ...
local type, tostring, tonumber, error, select, next, rawget, pairs =
      type, tostring, tonumber, error, select, next, rawget, pairs
local unpack, setmetatable = unpack, setmetatable
local format, sub, find, gsub, match, byte = string.format, string.sub, string.find, string.gsub, string.match,
      string.byte
local concat, floor = table.concat, math.floor
local py_call, py_log, py_sha1 = py.call, py.log, py.sha1

local state = {resp = 2}

-- C strings: what sdsnew()/%s keep of a Lua string (the bytes before the first NUL)
local function cstr(s) return (match(s, "^[^%z]*")) end

-- luaPushErrorBuff: "-CODE msg" or "msg" (code ERR) -> {err = "CODE msg"}, newlines trimmed at both ends
local function err_table(s)
  s = cstr(s)
  local code, msg
  if sub(s, 1, 1) == "-" then
    local sp = find(s, " ", 1, true)
    if sp then code, msg = sub(s, 2, sp - 1), sub(s, sp + 1) else code, msg = "ERR", sub(s, 2) end
  else
    code, msg = "ERR", s
  end
  msg = gsub(gsub(msg, "^[\r\n]+", ""), "[\r\n]+$", "")
  return {err = code .. " " .. msg}
end

local function raise(text) error(err_table(text)) end

-- the argv of redis.call/pcall: strings as they are, numbers as "%.17g"; anything else is refused
local function argv_of(...)
  local n = select("#", ...)
  if n == 0 then return nil, texts.no_args end
  local args = {}
  for j = 1, n do
    local v = select(j, ...)
    local t = type(v)
    if t == "number" then args[j] = format("%.17g", v)
    elseif t == "string" then args[j] = v
    else return nil, texts.bad_arg end
  end
  return args, n
end

local function generic(raise_error, ...)
  local args, n = argv_of(...)
  if not args then
    local e = err_table(n)
    if raise_error then error(e) end
    return e
  end
  local value, failed = py_call(state.resp, unpack(args, 1, n))
  if failed then
    local e = err_table(value)
    e.ignore_error_stats_update = true
    if raise_error then error(e) end
    return e
  end
  return value
end

local redis = {}
-- no tail calls in respd's own Lua: the error handler walks the frames, and a tail call leaves none to skip
function redis.call(...) local v = generic(true, ...) return v end
function redis.pcall(...) local v = generic(false, ...) return v end

function redis.sha1hex(...)
  if select("#", ...) ~= 1 then raise(texts.wrong_args) end
  local s = ...
  if type(s) == "number" then s = tostring(s) elseif type(s) ~= "string" then s = "" end
  return py_sha1(s)
end

function redis.error_reply(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then return err_table(texts.wrong_args_or_type) end
  if sub(s, 1, 1) ~= "-" then s = "-" .. s end
  return err_table(s)
end

function redis.status_reply(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then return err_table(texts.wrong_args_or_type) end
  return {ok = s}
end

-- C's (int) cast of lua_tonumber: toward zero, 0 for what is no number
local function c_int(v)
  local n = tonumber(v) or 0
  if n ~= n then return 0 end
  if n < 0 then return -floor(-n) end
  return floor(n)
end

function redis.log(...)
  local argc = select("#", ...)
  if argc < 2 then raise(texts.log_args) end
  local level = ...
  if tonumber(level) == nil then raise(texts.log_level_type) end
  level = c_int(level)
  if level < 0 or level > 3 then raise(texts.log_level) end
  local parts = {}
  for j = 2, argc do
    local v = select(j, ...)
    if type(v) == "string" or type(v) == "number" then parts[#parts + 1] = tostring(v) end
  end
  py_log(level, concat(parts, " "))
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3

function redis.setresp(...)
  if select("#", ...) ~= 1 then raise(texts.setresp_args) end
  local resp = c_int((...))
  if resp ~= 2 and resp ~= 3 then raise(texts.setresp_version) end
  state.resp = resp
end

function redis.set_repl(...)
  if select("#", ...) ~= 1 then raise(texts.set_repl_args) end
  local flags = c_int((...))
  if flags < 0 or flags > 3 then raise(texts.set_repl_flags) end
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
redis.REDIS_VERSION = texts.version
redis.REDIS_VERSION_NUM = texts.version_num

-- Lua -> RESP (luaReplyToRedisReply). out: the buffer; proto: the caller's protocol.
local to_resp
local function null(proto) return proto == 3 and "_\r\n" or "$-1\r\n" end
local function bulk(s) return "$" .. #s .. "\r\n" .. s .. "\r\n" end
local function no_newlines(s) return (gsub(s, "[\r\n]", " ")) end
local function double(d, proto)
  local text
  if d == 1/0 then text = "inf" elseif d == -1/0 then text = "-inf" else text = format("%.17g", d) end
  if proto == 3 then return "," .. text .. "\r\n" end
  return bulk(text)
end

to_resp = function(v, proto, out)
  local t = type(v)
  if t == "string" then out[#out + 1] = bulk(v)
  elseif t == "number" then out[#out + 1] = format(":%d\r\n", v)
  elseif t == "boolean" then
    if state.resp == 2 then out[#out + 1] = v and ":1\r\n" or null(proto)
    elseif proto == 3 then out[#out + 1] = v and "#t\r\n" or "#f\r\n"
    else out[#out + 1] = v and ":1\r\n" or ":0\r\n" end
  elseif t == "table" then
    local f = rawget(v, "err")
    if type(f) == "string" then
      out[#out + 1] = "-" .. no_newlines((gsub(cstr(f), "[\r\n]+$", ""))) .. "\r\n"
      return
    end
    f = rawget(v, "ok")
    if type(f) == "string" then out[#out + 1] = "+" .. no_newlines(cstr(f)) .. "\r\n" return end
    f = rawget(v, "double")
    if type(f) == "number" then out[#out + 1] = double(f, proto) return end
    f = rawget(v, "big_number")
    if type(f) == "string" then
      f = no_newlines(f)
      out[#out + 1] = proto == 3 and "(" .. f .. "\r\n" or bulk(f)
      return
    end
    f = rawget(v, "verbatim_string")
    if type(f) == "table" then
      local fmt, s = rawget(f, "format"), rawget(f, "string")
      if type(fmt) == "string" and type(s) == "string" then
        if proto == 3 then
          out[#out + 1] = "=" .. (#s + 4) .. "\r\n" .. sub(fmt .. "\0\0\0", 1, 3) .. ":" .. s .. "\r\n"
        else
          out[#out + 1] = bulk(s)
        end
        return
      end
    end
    f = rawget(v, "map")
    if type(f) == "table" then
      local at, n = #out + 1, 0
      out[at] = ""
      for k, x in next, f do
        to_resp(k, proto, out)
        to_resp(x, proto, out)
        n = n + 1
      end
      out[at] = proto == 3 and "%" .. n .. "\r\n" or "*" .. (2 * n) .. "\r\n"
      return
    end
    f = rawget(v, "set")
    if type(f) == "table" then
      local at, n = #out + 1, 0
      out[at] = ""
      for k in next, f do
        to_resp(k, proto, out)
        n = n + 1
      end
      out[at] = (proto == 3 and "~" or "*") .. n .. "\r\n"
      return
    end
    local at, j = #out + 1, 1
    out[at] = ""
    while true do
      local x = rawget(v, j)
      if x == nil then break end
      to_resp(x, proto, out)
      j = j + 1
    end
    out[at] = "*" .. (j - 1) .. "\r\n"
  else
    out[#out + 1] = null(proto)
  end
end

local function encode(v, proto)
  local out = {}
  to_resp(v, proto, out)
  return concat(out)
end

-- a failed run's error table -> the error text (luaCallFunction): "<err> script: <sha>, on <source>:<line>."
local function error_text(e, sha)
  if type(e) ~= "table" then
    return format(texts.run_failed, sha, sub(tostring(e), 1, 100))
  end
  local msg = e.err
  if type(msg) ~= "string" and type(msg) ~= "number" then return format(texts.run_failed, sha, texts.no_err) end
  local text = "-" .. cstr(tostring(msg))
  local source, line = e.source, e.line
  if (type(source) == "string" or type(source) == "number")
      and (type(line) == "string" or type(line) == "number") then
    text = text .. " script: " .. sha .. ", on " .. cstr(tostring(source)) .. ":" .. cstr(tostring(line)) .. "."
  end
  return text
end

local function mk_ok(s) return {ok = s} end
local function mk_tagged(tag, value) return {[tag] = value} end
local function mk_verbatim(fmt, s) return {verbatim_string = {format = fmt, string = s}} end

return {state = state, redis = redis, encode = encode, error_text = error_text, err_table = err_table,
        mk_ok = mk_ok, mk_tagged = mk_tagged, mk_verbatim = mk_verbatim}
"""


class LuaValues:
    """Builds Lua values from reply values for ``redis.call`` (the RESP → Lua direction)."""

    def __init__(self, lua, helpers):
        self._table = lua.table_from
        self._err = helpers.err_table
        self._ok = helpers.mk_ok
        self._tagged = helpers.mk_tagged
        self._verbatim = helpers.mk_verbatim

    def of(self, reply: Any, resp: int) -> Any:
        """The Lua value a script sees for ``reply`` (a handler's return value), its protocol being ``resp``."""
        t = type(reply)
        if t is bytes:
            return reply
        if t is int:
            return reply
        if reply is None or t is _NullArray:
            return None if resp == 3 else False
        if t is list or t is tuple:
            return self._table([self.of(x, resp) for x in reply])
        if t is Simple:
            return self._ok(reply.text.encode())
        if t is Err:
            return self._err(b"-" + reply.text)
        if t is Map:
            if resp == 3:
                inner = self._table({_key(self.of(k, resp)): self.of(v, resp) for k, v in reply.items})
                return self._tagged(b"map", inner)
            return self._table([self.of(x, resp) for kv in reply.items for x in kv])
        if t is SetReply:
            if resp == 3:
                return self._tagged(b"set", self._table({_key(self.of(x, resp)): True for x in reply.items}))
            return self._table([self.of(x, resp) for x in reply.items])
        if t is Double or t is float:
            value = reply.value if t is Double else reply
            if resp == 3:
                return self._tagged(b"double", value)
            return format_double(value)
        if t is Verbatim:
            return self._verbatim(b"txt", reply.text) if resp == 3 else reply.text
        if t is bool:
            return reply if resp == 3 else int(reply)
        if t is str:
            return reply.encode()
        if t is Raw:
            value, _ = _parse(reply.data, 0, self, resp)
            return value
        raise TypeError(f"no Lua value for a reply of type {t.__name__}")


def _key(value: Any) -> Any:
    """Lua table keys: a Lua table object is hashable in lupa; None (RESP3 null) cannot be a key."""
    return False if value is None else value


def _parse(data: bytes, at: int, values: LuaValues, resp: int) -> tuple[Any, int]:
    """One RESP reply of ``data`` from offset ``at`` → (Lua value, next offset), as redisProtocolToLuaType does."""
    kind = data[at:at + 1]
    end = data.index(b"\r\n", at)
    line = data[at + 1:end]
    nxt = end + 2
    if kind == b"$":
        n = int(line)
        if n < 0:
            return values.of(None, resp), nxt
        return data[nxt:nxt + n], nxt + n + 2
    if kind == b":":
        return int(line), nxt
    if kind == b"+":
        return values.of(Simple(line.decode("utf-8", "surrogateescape")), resp), nxt
    if kind == b"-":
        return values.of(Err(line), resp), nxt
    if kind in (b"*", b"~", b">"):
        n = int(line)
        if n < 0:
            return values.of(None, resp), nxt
        items = []
        for _ in range(n):
            item, nxt = _parse(data, nxt, values, resp)
            items.append(item)
        if kind == b"~":
            return values._tagged(b"set", values._table({_key(x): True for x in items})), nxt
        return values._table(items), nxt
    if kind == b"%":
        pairs = {}
        for _ in range(int(line)):
            k, nxt = _parse(data, nxt, values, resp)
            v, nxt = _parse(data, nxt, values, resp)
            pairs[_key(k)] = v
        return values._tagged(b"map", values._table(pairs)), nxt
    if kind == b"_":
        return None, nxt
    if kind == b"#":
        return line == b"t", nxt
    if kind == b",":
        return values._tagged(b"double", float(line)), nxt
    if kind == b"(":
        return values._tagged(b"big_number", line), nxt
    if kind == b"=":
        n = int(line)
        body = data[nxt:nxt + n]
        return values._verbatim(body[:3], body[4:]), nxt + n + 2
    if kind == b"|":  # attributes are skipped, the reply after them is the value
        for _ in range(2 * int(line)):
            _, nxt = _parse(data, nxt, values, resp)
        return _parse(data, nxt, values, resp)
    raise ValueError(f"not a RESP reply: {data[at:at + 20]!r}")


def call_bridge(values: LuaValues, current: Callable[[], Any]):
    """The Python side of ``redis.call``: ``(resp, *argv)`` → ``(lua value, False)`` or ``(error text, True)``.

    ``current()`` gives the running script's callable (argv list → reply value) and the hook told the script's
    protocol before each call (or None). Nothing raised here may reach Lua (lupa would hand the script a Python
    exception object), so every failure becomes an error reply.
    """

    def call(resp, *argv):
        try:
            fn, on_resp = current()
            if on_resp is not None:
                on_resp(resp)
            reply = fn(list(argv))
            if type(reply) is Err:
                return b"-" + reply.text, True
            return values.of(reply, resp), False
        except MemoryError:
            return b"-ERR not enough memory", True
        except Exception as e:  # noqa: BLE001 - a failing command must not hand Lua a Python object
            return b"-ERR " + str(e).encode("utf-8", "replace"), True

    return call
