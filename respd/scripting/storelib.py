"""The ``store`` module of EVAL scripts: the registry's store API over respd's stores.

A script sees a read-only table ``store`` (also ``require("store")``) with one function, ``store.get(id)``, giving a
store object whose methods are ``get``, ``set``, ``delete``, ``has`` (= ``exists``), ``clear`` and ``release``.
Every outcome is returned, nothing is raised: a value (or ``true``), else ``nil`` and a message
(``respd.errors.STORE_TEXTS``). The registry's policy actions apply as they do to Redis commands: ``store.get`` for
``store.get(id)``, ``store.key.get|set|delete|has`` for ``get``, ``set``, ``delete``, ``has``/``exists`` on that
key (and the user's Redis command rules must allow GET, SET, DEL, EXISTS: a ``-@write`` user cannot write through
the module), and for ``clear``, which empties the whole store, what FLUSHDB needs: ``store.flush`` and, for users with Redis
command rules, the ``flushdb`` command.

Values: a Lua string is stored as SET stores it (GET reads it back, and a string SET by a client reads back as a
Lua string); a number, boolean or table is stored as its msgpack object (``backends.codec.pack``: a table whose
keys are exactly 1..n is an array, an empty table an empty array, any other a map; every string inside is a msgpack
``bin``), which string commands read as SQL stores read such payloads (a number GETs as its text, INCR works on an
integer, a table is WRONGTYPE and TYPE says hash or list). Reading gives the same Lua value back. A value is bounded
like a client's argument (``proto-max-bulk-len``: strings and tables, counted as their msgpack size at most) and a
table's nesting by ``MAX_DEPTH``; cyclic tables, functions and coroutines are refused.

Two halves, as ``bitops`` and ``convert``: ``STORE_LUA`` (the module: store objects are Lua tables whose methods
close over a private handle table, so a script cannot forge one, and which check a table value's shape in Lua,
where table identity is known) and Python (``ScriptStores``: the stores one run has opened, the policy checks and
the store calls; ``StoreBridge``: Lua <-> Python values and the guard that no Python exception reaches Lua). The
EVAL handler builds one ``ScriptStores(sess, resolve)`` per run and gives it to ``ScriptRuntime.run(stores=)``;
every store call's result goes through ``resolve`` (which awaits a SQL store's coroutine on the trio thread while
the script runs in a worker thread). Handles are unique across runs, so an object that outlived its run (it cannot:
globals are read-only) would only ever answer "store released".
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Optional

import lupa.lua51 as lupa
import msgpack

from backends import base, codec
from backends.base import StoreError

from ..errors import CALL_RO_WRITE, OOM, STORE_TEXTS, store_error
from ..notify import script_write

#: deepest nesting of tables a value may have (the top table is level 1)
MAX_DEPTH = 64
#: the policy actions (the names of respd.security.model, which sits above this floor)
_STORE_GET, _FLUSH = "store.get", "store.flush"
_KEY_ACTION = {"get": "store.key.get", "set": "store.key.set", "delete": "store.key.delete",
               "has": "store.key.has", "exists": "store.key.has"}
#: the Redis command each method stands for: a user's Redis command rules must let it through too (a user with
#: ``-@write`` cannot write through the module any more than with redis.call)
_COMMAND = {"get": "get", "set": "set", "delete": "del", "has": "exists", "exists": "exists"}
#: largest TTL in seconds (expiry times are 64-bit milliseconds)
_MAX_TTL = 2 ** 52 / 1000

_handles = itertools.count(1)

#: Called with (py_open, py_op, py_limit, texts, max_depth); returns the module table (the sandbox protects it).
STORE_LUA = r"""
local py_open, py_op, py_limit, texts, max_depth = ...
local type, error, next, setmetatable, format = type, error, next, setmetatable, string.format

local handles = setmetatable({}, {__mode = "k"})  -- store object -> its handle (Python's key for the store)
local function readonly() error("Attempt to modify a readonly table", 2) end

-- a table value's shape: keys, cycles, depth and size (budget: bytes left of the limit), before Python reads it
local function check(v, depth, seen, budget)
  local t = type(v)
  if t == "string" then return budget - #v - 5 end
  if t == "number" or t == "boolean" then return budget - 9 end
  if t ~= "table" then return nil, format(texts.bad_value, t) end
  if seen[v] then return nil, texts.cyclic end
  if depth > max_depth then return nil, format(texts.too_deep, max_depth) end
  seen[v] = true
  budget = budget - 5
  for k, x in next, v do
    local kt = type(k)
    if kt == "string" then budget = budget - #k - 5
    elseif kt == "number" or kt == "boolean" then budget = budget - 9
    else return nil, texts.bad_table_key end
    local err
    budget, err = check(x, depth + 1, seen, budget)
    if not budget then return nil, err end
    if budget < 0 then return nil, texts.too_big end
  end
  seen[v] = nil  -- a table met twice but not inside itself is fine (it is stored twice)
  return budget
end

local methods = {}
local function method(name)
  methods[name] = function(self, key, value, ttl)
    local h = handles[self]
    if h == nil then return nil, texts.not_object end
    local a, b = py_op(name, h, key, value, ttl)
    return a, b
  end
end
for _, name in next, {"get", "delete", "has", "exists", "clear", "release"} do method(name) end
function methods.set(self, key, value, ttl)
  local h = handles[self]
  if h == nil then return nil, texts.not_object end
  local t = type(value)
  if t == "table" then
    local left, err = check(value, 1, {}, py_limit())
    if not left then return nil, err end
    if left < 0 then return nil, texts.too_big end
  elseif t == "function" or t == "thread" or t == "userdata" then
    return nil, format(texts.bad_value, t)
  end
  local a, b = py_op("set", h, key, value, ttl)
  return a, b
end
local object_mt = {__index = methods, __newindex = readonly, __metatable = false}

local function get(id)
  local h, err = py_open(id)
  if h == nil then return nil, err end
  local obj = setmetatable({}, object_mt)
  handles[obj] = h
  return obj
end
return {get = get}
"""


class ScriptStores:
    """The stores one script run reaches through the ``store`` module, for one session.

    Args:
        sess: the session running the script (its app, its user's ``permissions``; None = unrestricted).
        resolve: ``resolve(result)`` → the value of a store operation's result (awaits a coroutine: SQL stores).
        on_loop: for a script in a worker thread, ``on_loop(op)`` runs the store operation ``op()`` on the server's
            thread and returns its value (awaited there), so a memory store is never touched from another
            thread; None: ``resolve(op())`` where the script runs.
        read_only: the script may not write (EVAL_RO, ``#!lua flags=no-writes``): ``set``, ``delete`` and
            ``clear`` answer Redis' read-only text.
        on_write: called before each write (the run's watch marks the script dirty: SCRIPT KILL refuses then).

    Methods return ``(value, None)`` or ``(None, message)`` with Python values (the bridge makes them Lua values);
    they raise only on a bug (the bridge turns that into a message too).
    """

    def __init__(self, sess, resolve: Callable[[Any], Any], on_loop: Optional[Callable[[Callable], Any]] = None,
                 read_only: bool = False, on_write: Optional[Callable[[], None]] = None):
        self.sess = sess
        self.app = sess.app
        self.resolve = resolve
        self.on_loop = on_loop
        self.read_only = read_only
        self.on_write = on_write
        self._open: dict[int, Any] = {}   # handle -> Store, while not released

    def limit(self) -> int:
        """The largest value a script may store, in bytes (a client's argument limit)."""
        return self.app.proto_max_bulk_len

    def _allowed(self, store_id: str, action: str, key: Optional[bytes] = None,
                 command: Optional[str] = None) -> bool:
        perms = self.sess.permissions
        return perms is None or perms.allows(self.sess, store_id, action, key, command)

    def open(self, store_id) -> tuple:
        """``store.get(id)`` → (handle, None) | (None, message)."""
        if type(store_id) is not bytes:
            return None, STORE_TEXTS["bad_id"]
        name = store_id.decode("utf-8", "replace")
        store = self.app.stores.get(name)
        if store is None:
            return None, STORE_TEXTS["no_store"] % name
        if not self._allowed(store.id, _STORE_GET):
            return None, STORE_TEXTS["denied_store"] % name
        handle = next(_handles)
        self._open[handle] = store
        return handle, None

    def op(self, name: str, handle: int, key: Any, value: Any, ttl: Any) -> tuple:
        """One method call on a store object (see the module docstring)."""
        store = self._open.get(handle)
        if store is None:
            return None, STORE_TEXTS["released"]
        if name == "release":
            del self._open[handle]
            return True, None
        if name == "clear":
            if not self._allowed(store.id, _FLUSH, command="flushdb"):
                return None, STORE_TEXTS["denied_clear"] % store.id
            if not self._may_write():
                return None, CALL_RO_WRITE[4:]
            return self._run(store.flush, _done)
        key = _key(key)
        if key is None:
            return None, STORE_TEXTS["bad_key"]
        if name == "set":
            return self._set(store, key, value, ttl)
        if not self._allowed(store.id, _KEY_ACTION[name], key, _COMMAND[name]):
            return None, STORE_TEXTS["denied_key"] % key.decode("utf-8", "replace")
        if name == "get":
            return self._run(lambda: store.load(key), _found)
        if name == "delete":
            if not self._may_write():
                return None, CALL_RO_WRITE[4:]
            return self._run(lambda: script_write(self.app, store, "delete", key, lambda: store.delete([key])),
                             _true_if)
        return self._run(lambda: store.exists([key]), _true_if)  # has, exists

    def _set(self, store, key: bytes, value: Any, ttl: Any) -> tuple:
        if value is None:
            return None, STORE_TEXTS["no_value"]
        expire = None
        if ttl is not None:
            if type(ttl) not in (int, float) or not (0 < ttl <= _MAX_TTL):  # NaN fails too
                return None, STORE_TEXTS["bad_ttl"]
            expire = base.now_ms() + max(1, int(ttl * 1000))
        if not self._allowed(store.id, _KEY_ACTION["set"], key, _COMMAND["set"]):
            return None, STORE_TEXTS["denied_key"] % key.decode("utf-8", "replace")
        try:
            obj = _from_lua(value, 0)
        except _Refused as e:
            return None, str(e)
        if type(obj) is bytes and len(obj) > self.limit():
            return None, STORE_TEXTS["too_big"]
        if self.app.maxmemory and self.app.over_maxmemory() and not self.read_only:
            return None, OOM
        if not self._may_write():
            return None, CALL_RO_WRITE[4:]
        return self._run(lambda: script_write(self.app, store, "set", key, lambda: store.store(key, obj, expire),
                                              expire is not None), _done)

    def _may_write(self) -> bool:
        if self.read_only:
            return False
        if self.on_write is not None:
            self.on_write()
        return True

    def _run(self, call: Callable[[], Any], done: Callable[[Any], tuple]) -> tuple:
        """A store call, its result resolved; a store's domain error becomes its Redis text (without "ERR ")."""
        try:
            result = self.resolve(call()) if self.on_loop is None else self.on_loop(call)
        except StoreError as e:
            text = store_error(e).text
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            return None, text[4:] if text.startswith("ERR ") else text
        return done(result)


def _done(_: Any) -> tuple:
    return True, None


def _true_if(n: int) -> tuple:
    return n > 0, None


def _found(value: Any) -> tuple:
    if value is None:
        return None, STORE_TEXTS["not_found"]
    return value, None


def _key(key: Any) -> Optional[bytes]:
    """A key as Lua would make a string of it: strings as they are, numbers as ``tostring`` writes them."""
    t = type(key)
    if t is bytes:
        return key
    if t is int or t is float:
        return b"%.14g" % key
    return None


class _Refused(Exception):
    """A value that cannot be stored (its message is the script's)."""


def _from_lua(v: Any, depth: int) -> Any:
    """A Lua value as the Python object ``codec.pack`` writes (tables already checked in Lua: ``check``)."""
    t = type(v)
    if t is bytes or t is bool or t is int or t is float:
        return v
    kind = lupa.lua_type(v)
    if kind != "table":
        raise _Refused(STORE_TEXTS["bad_value"] % (kind or "value"))
    if depth >= MAX_DEPTH:  # checked in Lua already; kept so Python's recursion is bounded on its own
        raise _Refused(STORE_TEXTS["too_deep"] % MAX_DEPTH)
    items = {}
    for k, x in v.items():
        if type(k) not in (bytes, int, float, bool):
            raise _Refused(STORE_TEXTS["bad_table_key"])
        items[k] = _from_lua(x, depth + 1)
    n = len(items)
    if n == 0:
        return []
    if all(type(k) is int for k in items) and min(items) == 1 and max(items) == n:
        return [items[i] for i in range(1, n + 1)]
    return items


def _to_lua(table: Callable[[], Any], v: Any) -> Any:
    """A loaded value as a Lua value (``table()`` makes a new Lua table); never a Python object."""
    t = type(v)
    if t is bytes or t is bool or t is float:
        return v
    if t is int:
        return v if -2 ** 63 <= v < 2 ** 63 else float(v)
    if t is list:
        out = table()
        for i, x in enumerate(v, 1):
            if x is not None:
                out[i] = _to_lua(table, x)
        return out
    if t is dict:
        out = table()
        for k, x in v.items():
            k = _to_lua(table, k) if type(k) in (bytes, bool, int, float) else None
            if k is not None and x is not None and not (type(k) is float and math.isnan(k)):
                out[k] = _to_lua(table, x)
        return out
    if t is str:  # not from msgpack with raw=True, but harmless
        return v.encode("utf-8", "surrogateescape")
    if t is msgpack.ExtType:
        if v.code == codec.SET_EXT:  # a Redis set has no Lua table that writes back as a set
            raise _Refused(STORE_TEXTS["set_value"])
        if v.code == codec.ZSET_EXT:  # nor a sorted set
            raise _Refused(STORE_TEXTS["zset_value"])
        raise _Refused(STORE_TEXTS["ext_value"] % v.code)
    raise _Refused(STORE_TEXTS["bad_value"] % t.__name__)


def lua_size(v: Any) -> int:
    """An upper bound of the Lua memory that pushing ``v`` (a value ``_to_lua`` accepts) from Python allocates:
    strings with their header and string-table share, table slots counted three times (a rehash holds the old and
    the new part while it doubles)."""
    t = type(v)
    if t is bytes:
        return len(v) + 64
    if t is list:
        return 128 + sum(lua_size(x) + 64 for x in v)
    if t is dict:
        return 128 + sum(lua_size(k) + lua_size(x) + 160 for k, x in v.items())
    return 0


#: Lua memory kept free for what a callback pushes besides its value (an error message, the stack)
_HEADROOM = 64 * 1024


class StoreBridge:
    """The Python functions ``STORE_LUA`` closes over, for one Lua state: they serve the run's ``ScriptStores``
    (``current``; None outside a run or when the caller gave none) and never let an exception reach Lua.

    lupa converts a Python callback's result outside any protected call, so the runtime lifts the memory cap
    while a callback runs and pushes its result (``shield``, runtime.py). A loaded value is handed to Lua only when
    the cap (``max_memory``, total) leaves room for it (``lua_size``, after a full collection if needed): a value
    too big is ``nil, "not enough memory"`` the script can handle, not a value that fails its next allocation."""

    def __init__(self, lua, max_memory: int):
        self._lua = lua
        self._table = lua.table
        self._cap = max_memory
        self.current: Optional[ScriptStores] = None

    def _room(self, need: int) -> bool:
        lua = self._lua
        if not self._cap:
            return True
        if lua.get_memory_used(total=True) + need + _HEADROOM <= self._cap:
            return True
        lua.execute("collectgarbage()")
        return lua.get_memory_used(total=True) + need + _HEADROOM <= self._cap

    def load_module(self, loader: Callable[[bytes, bytes], Any], chunkname: bytes,
                    shield: Callable[[Callable], Any]) -> Any:
        """The ``store`` table, built by ``STORE_LUA`` in the runtime's Lua state; ``shield(fn)`` wraps each Python
        function the module calls (the runtime's: the memory cap is off while it runs)."""
        chunk = loader(STORE_LUA.encode(), chunkname)
        if isinstance(chunk, tuple):
            raise RuntimeError(f"respd's store module does not compile: {chunk[1]!r}")
        texts = self._table()
        for k, v in STORE_TEXTS.items():
            texts[k.encode()] = v.encode()
        return chunk(shield(self._open), shield(self._op), shield(self._limit), texts, MAX_DEPTH)

    def _guard(self, fn: Callable[[], tuple]) -> tuple:
        stores = self.current
        if stores is None:
            message = STORE_TEXTS["unavailable"]
        else:
            try:
                value, message = fn()
                if message is None:
                    if self._room(lua_size(value)):
                        return _to_lua(self._table, value), None
                    message = STORE_TEXTS["no_memory"]
            except _Refused as e:
                message = str(e)
            except (MemoryError, lupa.LuaMemoryError):
                message = STORE_TEXTS["no_memory"]
            except Exception as e:  # noqa: BLE001 - whatever failed, Lua gets a message, never a Python object
                message = STORE_TEXTS["internal"] % (str(e) or type(e).__name__)
        return None, message.encode("utf-8", "replace")

    def _open(self, store_id):
        return self._guard(lambda: self.current.open(store_id))

    def _op(self, name, handle, key=None, value=None, ttl=None):
        return self._guard(lambda: self.current.op(name.decode(), handle, key, value, ttl))

    def _limit(self):
        stores = self.current
        try:
            return stores.limit() if stores is not None else 0
        except Exception:  # noqa: BLE001 - never reaches Lua
            return 0
