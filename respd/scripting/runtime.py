"""A sandboxed Lua 5.1 runtime for EVAL scripts (lupa's ``lupa.lua51``), sans-I/O.

``ScriptRuntime`` compiles script bodies by SHA1 (as Redis keeps ``f_<sha>`` functions) and runs them with
``KEYS``/``ARGV`` set, ``redis.call`` going through a callable the caller gives per run (argv list → reply value or
``Err``), so the runtime never touches a store, a socket or trio. A run returns one reply value: ``Raw`` (the
script's value, encoded for the caller's protocol) or ``Err``.

The sandbox (set up once, in Lua, before ``debug`` is taken away):

- no ``python`` bridge (lupa's ``python`` table is dropped, eval and builtins are never registered, and an
  attribute filter refuses every attribute of any Python object that might still reach Lua); scripts only ever see
  Lua functions (the Python callables are upvalues of Lua closures, out of reach without ``debug``);
- the globals are Redis' allow list (``_ALLOWED`` in the Lua source): no ``io``, ``os`` (but ``os.clock``),
  ``loadfile``, ``dofile``, ``require``, ``module``, ``package``, ``debug``, ``print``; ``loadstring``/``load``
  refuse bytecode with the error Redis' text-only parser gives (``unexpected symbol near 'char(27)'``);
- the global table and every library table are read-only: a new or changed global, or a change to ``string``,
  ``math``, ``redis``... (also through ``rawset``, ``table.insert`` or the string metatable) fails with Redis'
  texts ``Script attempted to access nonexistent global variable 'x'`` / ``Attempt to modify a readonly table``.
  Read-only tables are empty proxies over the real ones (Lua 5.1 has no read-only flag; Redis patches its Lua), so
  ``next``, ``pairs`` and ``rawget`` are wrapped to see through them;
- a count hook (every ``HOOK_EVERY`` VM instructions, also in coroutines the script creates) asks the run's
  ``RunControl`` whether to stop; once killed, a line hook raises again on every line so ``pcall`` cannot swallow
  the kill (Redis does the same). The Lua state's memory is capped (lupa's ``max_memory``): an allocation past it
  fails the script with ``not enough memory``, the runtime stays usable.

Known differences from Redis 7.0: ``cjson``, ``cmsgpack`` and ``struct`` are not provided yet (a script naming
them gets the nonexistent-global error); ``os.clock`` exists (issue 13 asks for it; Redis 7.0 has no ``os``); an
error raised in respd's Lua API (``redis.call``, ``bit.*``, ``math.random``, read-only guards) when the script
*tail-called* it (``return redis.call(...)``) carries no ``script: <sha>, on @user_script:N.`` location, since Lua
5.1 drops the caller's frame on a tail call into a Lua function (Redis' API functions are C functions);
``getmetatable`` of a library table gives ``false``, not ``nil``; ``newproxy`` is not offered (a userdata
``__gc`` finalizer would run script code at a later garbage collection, outside any run's hook).
"""
from __future__ import annotations

import hashlib
import time
from typing import Any, Callable, Optional

import lupa.lua51 as lupa

from ..errors import LUA_TEXTS, NOSCRIPT, SCRIPT_COMPILE, SCRIPT_KILLED, SHEBANG_ENGINE, SHEBANG_FLAG, \
    SHEBANG_INVALID, SHEBANG_OPTION, CommandError
from ..replies import Err, Raw
from .bitops import BIT_LUA, bit_op
from .convert import CONVERT_LUA, LuaValues, call_bridge

#: VM instructions between two checks of the run's control (Redis: 100000)
HOOK_EVERY = 100_000
#: the Lua state's memory cap unless the caller gives one
DEFAULT_MAX_MEMORY = 64 * 1024 * 1024
#: Redis' script flags (``#!lua flags=...``)
SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")

_INTERNAL = "=respd"
#: lrand48's state (48 bits) before any seed, as Redis' rand.c starts it
_RAND_START = 0x1234ABCD330E
_MASK48 = (1 << 48) - 1

_SANDBOX_LUA = r"""
local api, bit, py_tick, hook_every, killed_text, py_rand, py_srand = ...
local tonumber, floor = tonumber, math.floor
local G = _G
local type, tostring, error, select, next, rawget, rawset, pairs, setmetatable, getmetatable =
      type, tostring, error, select, next, rawget, rawset, pairs, setmetatable, getmetatable
local xpcall, pcall, loadstring, load, setfenv, unpack = xpcall, pcall, loadstring, load, setfenv, unpack
local byte, gsub, concat = string.byte, string.gsub, table.concat
local sethook, getinfo = debug.sethook, debug.getinfo
local co_create, co_resume = coroutine.create, coroutine.resume
local tinsert, tremove, tsort = table.insert, table.remove, table.sort
local os_clock = os.clock

-- read-only proxies: real_of[proxy] is the table it shows
local real_of = setmetatable({}, {__mode = "k"})
local function readonly() error("Attempt to modify a readonly table", 2) end
local function protect(t)
  local p = {}
  real_of[p] = t
  setmetatable(p, {__index = t, __newindex = readonly, __metatable = false})
  return p
end
local function check_writable(t)
  if real_of[t] then error("Attempt to modify a readonly table", 0) end
end

-- the run-time hooks
local hook
local run, handler  -- spared by the kill hook: the error handler, and the driver finishing the run
local function kill_hook()
  local f = getinfo(2, "f").func
  if f == run or f == handler then return end
  error({err = killed_text})
end
hook = function()
  local verdict = py_tick()
  if verdict then
    sethook(kill_hook, "l")
    error({err = verdict})
  end
end

-- the error handler (Redis' __redis__err__handler): where the error happened, skipping one C frame and respd's
-- own Lua frames (redis.call's wrapper, the read-only guards, the hook)
handler = function(err)
  local level = 2
  local i = getinfo(level, "nSl")
  if i and i.what == "C" then level = level + 1 i = getinfo(level, "nSl") end
  while i and i.source == "=respd" do
    level = level + 1
    i = getinfo(level, "nSl")
  end
  -- a script that tail-calls respd's Lua (`return redis.call(...)`) has no frame left to name: no location then
  if i and (i.what == "tail" or i.what == "C") then i = nil end
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

-- globals
local safe = {}
local function safe_loadstring(s, chunkname)
  if type(s) == "string" and byte(s, 1) == 27 then
    -- Redis' Lua only parses text: bytecode fails as the parser fails on its first byte
    local _, e = loadstring("\1", chunkname or s)
    return nil, (gsub(e, "char%(1%)", "char(27)"))
  end
  local f, e = loadstring(s, chunkname)
  return f, e
end
local function safe_load(reader, chunkname)
  if type(reader) ~= "function" then local f, e = load(reader) return f, e end
  local parts = {}
  while true do
    local piece = reader()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  local f, e = safe_loadstring(concat(parts), chunkname or "=(load)")
  return f, e
end
local function safe_next(t, k)
  local a, b = next(real_of[t] or t, k)
  return a, b
end
local function safe_pairs(t)
  if real_of[t] then return safe_next, t, nil end
  local a, b, c = pairs(t)
  return a, b, c
end
local function safe_rawget(t, k)
  local v = rawget(real_of[t] or t, k)
  return v
end
local function safe_rawset(t, k, v)
  check_writable(t)
  local r = rawset(t, k, v)
  return r
end
local function redis_pcall_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == "table" then
    local m = e.err
    if type(m) == "string" or type(m) == "number" then e = m end
  end
  return false, e
end
local function redis_pcall(f, ...) return redis_pcall_result(pcall(f, ...)) end

local function hooked(co) sethook(co, hook, "", hook_every) return co end
local coroutine_lib = {}
for k, v in next, coroutine do coroutine_lib[k] = v end
function coroutine_lib.create(f) local co = co_create(f) return hooked(co) end
local function wrap_result(ok, ...)
  if ok then return select("#", ...), {...} end
  error((...), 0)
end
function coroutine_lib.wrap(f)
  local co = hooked(co_create(f))
  return function(...) local n, r = wrap_result(co_resume(co, ...)) return unpack(r, 1, n) end
end

local table_lib = {}
for k, v in next, table do table_lib[k] = v end
function table_lib.insert(t, ...) check_writable(t) local a = tinsert(t, ...) return a end
function table_lib.remove(t, ...) check_writable(t) local a = tremove(t, ...) return a end
function table_lib.sort(t, ...) check_writable(t) local a = tsort(t, ...) return a end

-- math.random and math.randomseed as Redis replaces them: one lrand48 sequence for the whole server, the same on
-- every platform (Redis' rand.c); the arithmetic is in Python (py_rand), the argument rules here
local function c_int(v, i, name)
  local n = tonumber(v)
  if n == nil then
    local got = v == nil and "no value" or type(v)
    error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. got .. ")", 3)
  end
  if n ~= n then return 0 end
  return n < 0 and -floor(-n) or floor(n)
end
local function random(...)
  local r = py_rand()
  local argc = select("#", ...)
  if argc == 0 then return r end
  if argc == 1 then
    local u = c_int((...), 1, "random")
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * u) + 1
  end
  if argc == 2 then
    local lo, up = ...
    lo, up = c_int(lo, 1, "random"), c_int(up, 2, "random")
    if lo > up then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return floor(r * (up - lo + 1)) + lo
  end
  error("wrong number of arguments", 2)
end
local function randomseed(seed) py_srand(c_int(seed, 1, "randomseed")) end
local math_lib = {}
for k, v in next, math do math_lib[k] = v end
math_lib.random, math_lib.randomseed = random, randomseed

local _ALLOWED = {"xpcall", "tostring", "getfenv", "setmetatable", "assert", "tonumber", "rawequal",
  "collectgarbage", "getmetatable", "type", "select", "unpack", "gcinfo", "ipairs", "_VERSION", "setfenv",
  "error"}  -- Redis also allows newproxy: not here, its __gc finalizers would run respd-side Lua outside any run
for _, name in next, _ALLOWED do safe[name] = G[name] end
safe.next, safe.pairs, safe.rawget, safe.rawset = safe_next, safe_pairs, safe_rawget, safe_rawset
safe.loadstring, safe.load, safe.pcall = safe_loadstring, safe_load, redis_pcall
safe.string = protect(string)
safe.math = protect(math_lib)
safe.table = protect(table_lib)
safe.coroutine = protect(coroutine_lib)
safe.os = protect({clock = os_clock})
safe.bit = protect(bit)
safe.redis = protect(api.redis)
safe._G = G

-- the string metatable: methods through the protected string table, the metatable itself read-only
local smt = getmetatable("")
smt.__index = safe.string
smt.__metatable = protect(smt)

-- the global table becomes an empty read-only front over `safe`; a missing name is an error
local old = {}
for k in next, G do old[#old + 1] = k end
for _, k in next, old do G[k] = nil end
setmetatable(safe, {__index = function(_, k)
  -- lupa itself looks up the global `debug` (for tracebacks) from C before each call into Lua: only a script's
  -- own access is an error
  if k == "debug" then
    local i = getinfo(2, "S")
    if i == nil or i.what == "C" then return nil end
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})
setmetatable(G, {__index = safe, __newindex = readonly, __metatable = false})
real_of[G] = safe

-- compile and run (called from Python only)
local scripts = {}
local function compile(name, body)
  local f, e = loadstring(body, "@user_script")
  if not f then return e end
  setfenv(f, G)
  scripts[name] = f
  return nil
end
local function forget(name) scripts[name] = nil end
local function has(name) return scripts[name] ~= nil end

local state = api.state
run = function(name, sha, keys, argv, proto)
  local f = scripts[name]
  rawset(safe, "KEYS", keys)
  rawset(safe, "ARGV", argv)
  state.resp = 2
  sethook(hook, "", hook_every)
  local ok, value = xpcall(f, handler)
  sethook()
  local out, failed
  if ok then
    local done, encoded = pcall(api.encode, value, proto)
    if done then out, failed = encoded, false
    else out, failed = api.error_text(encoded, sha), true end
  else
    out, failed = api.error_text(value, sha), true
  end
  setfenv(0, G)
  rawset(safe, "KEYS", nil)
  rawset(safe, "ARGV", nil)
  return out, failed
end

return {compile = compile, run = run, forget = forget, has = has}
"""


class RunControl:
    """The watch over one run, shared with whoever serves other clients meanwhile (later: the trio layer).

    The hook calls ``tick()`` every ``HOOK_EVERY`` VM instructions; ``kill()`` (SCRIPT KILL) makes the next tick
    stop the script with Redis' text. ``elapsed()`` tells the caller when to answer ``-BUSY`` to others
    (``busy-reply-threshold``); the runtime itself never stops a script for taking long, as Redis does not.
    """

    __slots__ = ("started", "killed", "ticks", "_clock")

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.started = clock()
        self.killed = False
        self.ticks = 0

    def kill(self) -> None:
        self.killed = True

    def elapsed(self) -> float:
        return self._clock() - self.started

    def tick(self) -> Optional[bytes]:
        self.ticks += 1
        return SCRIPT_KILLED.encode() if self.killed else None


def _deny_attributes(obj, name, is_setting):
    raise AttributeError("Python attributes are not reachable from scripts")


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def parse_shebang(body: bytes) -> tuple[tuple[str, ...], int]:
    """``#!lua flags=a,b`` → (flags, length of the shebang line); (), 0 without one. Raises CommandError."""
    if not body.startswith(b"#!"):
        return (), 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError(SHEBANG_INVALID)
    parts = body[:end].split()
    if parts[0] != b"#!lua":
        raise CommandError(SHEBANG_ENGINE % parts[0].decode("utf-8", "replace"))
    flags: list[str] = []
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(SHEBANG_OPTION % part.decode("utf-8", "replace"))
        for flag in part[6:].split(b","):
            name = flag.decode("utf-8", "replace")
            if name not in SCRIPT_FLAGS:
                raise CommandError(SHEBANG_FLAG % name)
            flags.append(name)
    return tuple(flags), end


class ScriptRuntime:
    """One Lua state, its compiled scripts (by SHA1) and the Python helpers they call through.

    Args:
        max_memory: the Lua state's allocation cap in bytes (None: DEFAULT_MAX_MEMORY).
        log: ``log(level, message)`` for ``redis.log`` (levels 0 debug .. 3 warning); None discards.
    """

    def __init__(self, *, max_memory: Optional[int] = None, log: Optional[Callable[[int, bytes], None]] = None):
        self.max_memory = DEFAULT_MAX_MEMORY if max_memory is None else max_memory
        self._log = log
        self._call: Optional[Callable[[list], Any]] = None
        self._control: Optional[RunControl] = None
        self.flags: dict[str, tuple[str, ...]] = {}
        self.bodies: dict[str, bytes] = {}
        self._rand = _RAND_START
        lua = lupa.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                              unpack_returned_tuples=True, attribute_filter=_deny_attributes,
                              max_memory=self.max_memory)
        self._lua = lua
        loader = lua.globals().loadstring
        texts = lua.table_from({k.encode(): v.encode() if isinstance(v, str) else v for k, v in LUA_TEXTS.items()})
        py = lua.table_from({b"call": None, b"log": self._py_log, b"sha1": self._py_sha1})
        self._values: Optional[LuaValues] = None
        py[b"call"] = call_bridge(_LazyValues(self), self._current_call)
        helpers = _load(loader, CONVERT_LUA)(py, texts)
        self._values = LuaValues(lua, helpers)
        bit = _load(loader, BIT_LUA)(bit_op)
        self._engine = _load(loader, _SANDBOX_LUA)(helpers, bit, self._tick, HOOK_EVERY,
                                                    SCRIPT_KILLED.encode(), self._py_rand, self._py_srand)
        lua.execute("collectgarbage()")

    # --- the Python callables Lua closes over (never raise: see convert.call_bridge)
    def _current_call(self):
        if self._call is None:
            raise RuntimeError("redis.call outside a script run")
        return self._call

    def _py_log(self, level, message):
        try:
            if self._log is not None:
                self._log(int(level), message)
        except Exception:  # noqa: BLE001 - a logging failure must not reach Lua
            pass

    @staticmethod
    def _py_sha1(data):
        return sha1hex(data).encode()

    def _py_rand(self):
        """Redis' math.random value: (redisLrand48() % INT32_MAX) / INT32_MAX."""
        self._rand = (self._rand * 0x5DEECE66D + 0xB) & _MASK48
        return ((self._rand >> 17) % 0x7FFFFFFF) / 0x7FFFFFFF

    def _py_srand(self, seed):
        self._rand = ((int(seed) & 0xFFFFFFFF) << 16) | 0x330E

    def _tick(self):
        control = self._control
        return control.tick() if control is not None else None

    # --- the script cache
    def load(self, body: bytes) -> str:
        """Compile ``body`` (if not cached) and return its SHA1. Raises CommandError with Redis' compile error."""
        sha = sha1hex(body)
        if sha in self.bodies:
            return sha
        flags, skip = parse_shebang(body)
        try:
            error = self._engine.compile(b"f_" + sha.encode(), body[skip:])
        except lupa.LuaMemoryError:
            error = b"not enough memory"
        if error is not None:
            raise CommandError(SCRIPT_COMPILE.encode() + error)
        self.bodies[sha] = body
        self.flags[sha] = flags
        return sha

    def exists(self, sha: str) -> bool:
        return sha.lower() in self.bodies

    def forget(self, sha: str) -> None:
        if self.bodies.pop(sha, None) is not None:
            self.flags.pop(sha, None)
            self._engine.forget(b"f_" + sha.encode())

    def flush(self) -> None:
        """SCRIPT FLUSH: Redis starts a new Lua state; respd forgets every script and collects the state's garbage
        (the globals are read-only, so nothing else of a script survives it)."""
        for sha in list(self.bodies):
            self.forget(sha)
        self.collect()

    def memory_used(self) -> int:
        """Bytes the Lua state holds (INFO's used_memory_lua)."""
        return self._lua.get_memory_used()

    # --- running
    def run(self, sha: str, keys: list[bytes], args: list[bytes], call: Callable[[list], Any], *, proto: int = 2,
            control: Optional[RunControl] = None) -> Any:
        """Run a loaded script: its reply (``Raw`` encoded for ``proto``) or an ``Err``.

        ``call(argv)`` runs one ``redis.call``/``redis.pcall`` and returns a reply value (``Err`` for an error).
        A ``sha`` not loaded gives Redis' NOSCRIPT error.
        """
        sha = sha.lower()
        if sha not in self.bodies:
            return Err(NOSCRIPT)
        self._call = call
        self._control = control or RunControl()
        lua = self._lua
        try:
            out, failed = self._engine.run(b"f_" + sha.encode(), sha.encode(), lua.table_from(keys),
                                           lua.table_from(args), proto)
        except lupa.LuaMemoryError:
            out, failed = (SCRIPT_RUN_FAILED_MEMORY % sha).encode(), True
        finally:
            self._call = None
            self._control = None
        if failed:
            return Err(out[1:] if out.startswith(b"-") else out)
        return Raw(out)

    def collect(self) -> None:
        """A full garbage collection (after a script hit the memory cap, or on SCRIPT FLUSH)."""
        self._lua.execute("collectgarbage()")


SCRIPT_RUN_FAILED_MEMORY = "-ERR Error running script %s, not enough memory"


class _LazyValues:
    """Lets call_bridge be built before the Lua helpers exist (they are created by the chunk it is passed to)."""

    def __init__(self, runtime: ScriptRuntime):
        self._runtime = runtime

    def of(self, reply, resp):
        return self._runtime._values.of(reply, resp)


def _load(loader, source: str):
    result = loader(source.encode(), _INTERNAL.encode())
    if isinstance(result, tuple):  # nil, message
        raise RuntimeError(f"respd's own Lua does not compile: {result[1]!r}")
    return result
