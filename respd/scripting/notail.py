"""Compiled scripts keep their frame when they call out: tail calls to API functions become plain calls.

Redis' API functions (``redis.call``, ``cjson.encode``, ``bit.band``...) are C functions: a script's ``return
redis.call(...)`` keeps the script's frame while the C function runs, so an error names the script's line
(``user_script:1: ...``, ``script: <sha>, on @user_script:1.``). respd's API functions are Lua functions, and Lua
5.1 replaces the caller's frame on a tail call into a Lua function, losing that line. So each script is compiled,
dumped (``string.dump``), and every tail call in it (and in the functions it defines) to a function read from a
global, a table field or a local (``return redis.call(...)``, ``return cjson.encode(t)``, ``return obj:m()``, ``local
call = redis.call ... return call(...)``) is turned into a plain call before it is loaded from the patched
bytecode; tail calls to upvalues (how a function names itself: a script's own recursion) stay tail calls, so
``local function f() return f() end return f()`` still loops until SCRIPT KILL as in Redis. ``OP_TAILCALL A B 0`` is always followed by ``OP_RETURN A 0``, and
``OP_CALL A B 0`` followed by that return gives the same results; Lua's bytecode verifier checks the patched code
on load. Done once per script at SCRIPT LOAD / first EVAL: nothing is added to a run or to a ``redis.call``.

The differences this leaves: tail recursion through a table field or a global (``return M.f(n - 1)``) deeper than
Lua's 20000-call limit fails with ``stack overflow`` where Redis keeps going; ``error(msg, 2)`` in a script function
tail-called that way names the caller's line where Redis names none; an API function reached through an upvalue
(``local call = redis.call`` used in a nested function's ``return call(...)``) still loses the line when it fails.
"""
from __future__ import annotations

#: Called with (loadstring, string.dump); returns notail(f[, all]) -> f patched (every tail call if ``all``: respd's
#: own library chunks, whose frames the error handler walks through), or f itself if its dump is not the Lua 5.1
#: format this reads.
NOTAIL_LUA = r"""
local loadstring, dump = ...
local byte, sub, char, concat, ipairs = string.byte, string.sub, string.char, table.concat, ipairs
local floor = math.floor
local OP_CALL, OP_TAILCALL = 28, 29
-- opcodes whose A field is a register they write
local WRITES = {}
for _, op in ipairs({0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 27, 28, 29, 31, 32, 33, 36,
  37}) do WRITES[op] = true end

return function(f, all)
  local s = dump(f)
  if sub(s, 1, 5) ~= "\27Lua\81" or byte(s, 7) ~= 1 then return f end  -- Lua 5.1, little endian
  local int_size, size_t_size, ins_size, num_size = byte(s, 8, 11)
  if ins_size ~= 4 then return f end
  local pos = 13
  local function uint(n)
    local v, m = 0, 1
    for i = 0, n - 1 do v = v + byte(s, pos + i) * m m = m * 256 end
    pos = pos + n
    return v
  end
  local function skip_string() local n = uint(size_t_size) pos = pos + n end
  local patches = {}
  -- the tail call at `at` calls a function read from a global, a table field or a local of the same function
  -- (redis.call, cjson.encode, obj:method, local call = redis.call): the nearest earlier instruction writing the
  -- call's base register is GETGLOBAL, GETTABLE, SELF or MOVE (an upvalue, GETUPVAL, is how a function names
  -- itself: a script's own recursion keeps its tail calls)
  local function api_callee(start, at)
    local function a_of(p) return floor(byte(s, p) / 64) + byte(s, p + 1) % 64 * 4 end
    local base = a_of(at)
    for p = at - 4, start, -4 do
      local op = byte(s, p) % 64
      if WRITES[op] and a_of(p) == base then return op == 5 or op == 6 or op == 11 or op == 0 end
    end
    return false
  end
  local function fn()
    skip_string()                      -- source
    pos = pos + 2 * int_size + 4       -- linedefined, lastlinedefined, nups, numparams, is_vararg, maxstacksize
    local n = uint(int_size)
    local start = pos
    for k = 0, n - 1 do
      local at = start + 4 * k
      if byte(s, at) % 64 == OP_TAILCALL and (all or api_callee(start, at)) then patches[#patches + 1] = at end
    end
    pos = start + 4 * n
    n = uint(int_size)                 -- constants
    for _ = 1, n do
      local t = byte(s, pos)
      pos = pos + 1
      if t == 1 then pos = pos + 1 elseif t == 3 then pos = pos + num_size elseif t == 4 then skip_string() end
    end
    n = uint(int_size)                 -- nested functions
    for _ = 1, n do fn() end
    n = uint(int_size)                 -- line info
    pos = pos + n * int_size
    n = uint(int_size)                 -- locals
    for _ = 1, n do skip_string() pos = pos + 2 * int_size end
    n = uint(int_size)                 -- upvalue names
    for _ = 1, n do skip_string() end
  end
  fn()
  if #patches == 0 or pos ~= #s + 1 then return f end
  local parts, last = {}, 1
  for _, p in ipairs(patches) do
    parts[#parts + 1] = sub(s, last, p - 1)
    parts[#parts + 1] = char(byte(s, p) - (OP_TAILCALL - OP_CALL))
    last = p + 1
  end
  parts[#parts + 1] = sub(s, last)
  local g = loadstring(concat(parts), "=patched")
  return g or f
end
"""
