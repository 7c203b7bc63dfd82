"""The sandbox's Lua source: globals, read-only library tables, the run-time hooks, the error handler, and the
functions Python calls to compile and run scripts (``compile``, ``run``, ``forget``, ``has``). ``runtime.py``
loads it once per Lua state; its docstring describes what the sandbox allows.
"""

SANDBOX_LUA = r"""
local api, bit, py_tick, hook_every, killed_text, py_rand, py_srand, libs, notail, store_lib = ...
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

-- Redis 7.0.15's list (no getfenv/setfenv, no newproxy: scripts get the nonexistent-global error for them)
local _ALLOWED = {"xpcall", "tostring", "setmetatable", "assert", "tonumber", "rawequal",
  "collectgarbage", "getmetatable", "type", "select", "unpack", "gcinfo", "ipairs", "_VERSION", "error"}
for _, name in next, _ALLOWED do safe[name] = G[name] end
-- a read-only table's metatable cannot change: Redis' text, without a location (its C code raises it)
safe.setmetatable = function(t, mt)
  if real_of[t] then error("Attempt to modify a readonly table", 0) end
  local r = setmetatable(t, mt)
  return r
end
safe.next, safe.pairs, safe.rawget, safe.rawset = safe_next, safe_pairs, safe_rawget, safe_rawset
safe.loadstring, safe.load, safe.pcall = safe_loadstring, safe_load, redis_pcall
safe.string = protect(string)
safe.math = protect(math_lib)
safe.table = protect(table_lib)
safe.coroutine = protect(coroutine_lib)
safe.os = protect({clock = os_clock})
safe.bit = protect(bit)
for name, lib in next, libs do safe[name] = protect(lib) end  -- cjson, cmsgpack, struct
safe.redis = protect(api.redis)
safe.store = protect(store_lib)
-- require: only the `store` module (storelib.py); Lua 5.1's words for any other name, no package/loaders
function safe.require(name)
  if name == "store" then return safe.store end
  if type(name) ~= "string" and type(name) ~= "number" then
    error("bad argument #1 to 'require' (string expected, got " .. (name == nil and "no value" or type(name)) .. ")", 2)
  end
  error("module '" .. name .. "' not found", 2)
end
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
  f = notail(f)  -- tail calls into the API compile as calls: the line stays named when one fails (notail.py)
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
