"""A sandboxed Lua 5.1 runtime for EVAL scripts (lupa's ``lupa.lua51``), sans-I/O.

``ScriptRuntime`` compiles script bodies by SHA1 (as Redis keeps ``f_<sha>`` functions) and runs them with
``KEYS``/``ARGV`` set, ``redis.call`` going through a callable the caller gives per run (argv list → reply value or
``Err``), so the runtime never touches a store, a socket or trio. A run returns one reply value: ``Raw`` (the
script's value, encoded for the caller's protocol) or ``Err``.

The sandbox (set up once, in Lua, before ``debug`` is taken away):

- no ``python`` bridge (lupa's ``python`` table is dropped, eval and builtins are never registered, and an
  attribute filter refuses every attribute of any Python object that might still reach Lua); scripts only ever see
  Lua functions (the Python callables are upvalues of Lua closures, out of reach without ``debug``);
- the globals are Redis' allow list (``_ALLOWED`` in the Lua source) and ``store`` (``storelib``): no ``io``,
  ``os`` (but ``os.clock``), ``loadfile``, ``dofile``, ``require`` (but ``require("store")``), ``module``,
  ``package``, ``debug``, ``print``; ``loadstring``/``load`` refuse bytecode with the error Redis' text-only parser gives (``unexpected symbol near 'char(27)'``);
- the global table and every library table are read-only: a new or changed global, or a change to ``string``,
  ``math``, ``redis``... (also through ``rawset``, ``table.insert`` or the string metatable) fails with Redis'
  texts ``Script attempted to access nonexistent global variable 'x'`` / ``Attempt to modify a readonly table``.
  Read-only tables are empty proxies over the real ones (Lua 5.1 has no read-only flag; Redis patches its Lua), so
  ``next``, ``pairs`` and ``rawget`` are wrapped to see through them;
- a count hook (every ``HOOK_EVERY`` VM instructions, also in coroutines the script creates) asks the run's
  ``RunControl`` whether to stop; once killed, a line hook raises again on every line so ``pcall`` cannot swallow
  the kill (Redis does the same). The Lua state's memory is capped (lupa's ``max_memory``): an allocation past it
  fails the script with ``not enough memory``, the runtime stays usable.

The libraries Redis 7.0 gives scripts are all there: ``bit`` (bitops.py), ``cjson`` (cjson.py), ``cmsgpack``
(cmsgpack.py) and ``struct`` (structlib.py), the last three in Lua under the same hook and memory cap as the
script. Scripts are compiled with their tail calls to API functions turned into plain calls (notail.py), so a
failing ``return redis.call(...)`` names the script's line as Redis does (its API functions are C functions, which
keep the caller's frame).

Known differences from Redis 7.0: ``os.clock`` exists (issue 13 asks for it; Redis 7.0 has no ``os``); tail
recursion through a table field or a global (``return M.f(n - 1)``) deeper than Lua's 20000 calls fails with
``stack overflow`` (a plain call now), and an API function tail-called through an upvalue still loses the line
(notail.py); ``getmetatable`` of a library table gives ``false``, not ``nil``; ``newproxy`` is not offered (a
userdata ``__gc`` finalizer would run script code at a later garbage collection, outside any run's hook);
``cjson.null`` is a userdata (``tostring``: ``userdata: 0x...``; Redis: a NULL lightuserdata, ``userdata: (nil)``);
``cjson.encode``/``cmsgpack.pack`` of a read-only library table itself (``cjson.encode(string)``, ``_G``) see it
empty (``{}``) where Redis sees its functions; ``cjson.encode_keep_buffer`` is accepted and has no effect.
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
from .cjson import CJSON_LUA
from .cmsgpack import CMSGPACK_LUA
from .convert import CONVERT_LUA, LuaValues, call_bridge
from .libguard import LIBGUARD_LUA
from .notail import NOTAIL_LUA
from .sandbox import SANDBOX_LUA
from .storelib import ScriptStores, StoreBridge
from .structlib import STRUCT_LUA, number_op

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
        self._on_resp: Optional[Callable[[int], None]] = None
        self._control: Optional[RunControl] = None
        self.flags: dict[str, tuple[str, ...]] = {}
        self.bodies: dict[str, bytes] = {}
        self._rand = _RAND_START
        self._capped = False
        lua = lupa.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                              unpack_returned_tuples=True, attribute_filter=_deny_attributes,
                              max_memory=self.max_memory)
        self._lua = lua
        lua.set_max_memory(0)  # the cap is on only while a script runs (see shield)
        loader = lua.globals().loadstring
        shield = self.shield
        texts = lua.table_from({k.encode(): v.encode() if isinstance(v, str) else v for k, v in LUA_TEXTS.items()})
        py = lua.table_from({b"call": None, b"log": shield(self._py_log), b"sha1": shield(self._py_sha1)})
        self._values: Optional[LuaValues] = None
        py[b"call"] = shield(call_bridge(_LazyValues(self), self._current_call))
        helpers = _load(loader, CONVERT_LUA)(py, texts)
        self._values = LuaValues(lua, helpers)
        bit = _load(loader, BIT_LUA)(shield(bit_op))
        notail = _load(loader, NOTAIL_LUA)(loader, lua.globals().string.dump)
        guard = _load(loader, LIBGUARD_LUA)()

        def lib(source, *args):  # respd's library chunks, compiled without tail calls (notail.py says why)
            return notail(_load(loader, source), True)(guard, *args)
        cjson, self._cjson_reset = lib(CJSON_LUA)
        number = shield(number_op)
        libs = lua.table_from({b"cjson": cjson, b"cmsgpack": lib(CMSGPACK_LUA, number),
                               b"struct": lib(STRUCT_LUA, number)})
        self._stores = StoreBridge(lua, self.max_memory)
        store = self._stores.load_module(loader, _INTERNAL.encode(), shield)
        self._engine = _load(loader, SANDBOX_LUA)(helpers, bit, shield(self._tick), HOOK_EVERY,
                                                    SCRIPT_KILLED.encode(), shield(self._py_rand),
                                                    shield(self._py_srand), libs, notail, store)
        lua.execute("collectgarbage()")

    # --- the memory cap. lupa pushes Python values into Lua outside any protected call: an allocation failing
    # there is a Lua panic, which aborts the process. So the cap holds only while a script runs (run() sets it
    # once the arguments are in), and every Python callable scripts reach is shielded: the cap is off while it
    # runs, and on its way out the limit leaves room for the values lupa is about to push (the next allocation
    # past the cap fails in the script's protected code, as any other).
    def shield(self, fn: Callable) -> Callable:
        lua = self._lua
        cap = self.max_memory
        off = lua.set_max_memory
        used = lua.get_memory_used

        def shielded(*args):
            if not self._capped:
                return fn(*args)
            off(0)
            r = fn(*args)
            need = _PUSH_ROOM
            if type(r) is tuple:
                for x in r:
                    if type(x) is bytes:
                        need += len(x)
            elif type(r) is bytes:
                need += len(r)
            off(max(cap, used() + need), True)
            return r
        return shielded

    # --- the Python callables Lua closes over (never raise: see convert.call_bridge)
    def _current_call(self):
        if self._call is None:
            raise RuntimeError("redis.call outside a script run")
        return self._call, self._on_resp

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
        self._cjson_reset()  # cjson's settings (encode_max_depth...) last until SCRIPT FLUSH, as in Redis
        self.collect()

    def memory_used(self) -> int:
        """Bytes the Lua state holds (INFO's used_memory_lua)."""
        return self._lua.get_memory_used()

    # --- running
    def run(self, sha: str, keys: list[bytes], args: list[bytes], call: Callable[[list], Any], *, proto: int = 2,
            control: Optional[RunControl] = None, stores: Optional[ScriptStores] = None,
            on_resp: Optional[Callable[[int], None]] = None) -> Any:
        """Run a loaded script: its reply (``Raw`` encoded for ``proto``) or an ``Err``.

        ``call(argv)`` runs one ``redis.call``/``redis.pcall`` and returns a reply value (``Err`` for an error);
        ``on_resp(resp)``, when given, is told the script's protocol (2, or 3 after ``redis.setresp(3)``) before each
        call, so commands shape their replies for it (HRANDFIELD ... WITHVALUES pairs in RESP3).
        ``stores`` serves the ``store`` module for this run (None: ``store.get`` answers nil and "store module not
        available"). A ``sha`` not loaded gives Redis' NOSCRIPT error.
        """
        sha = sha.lower()
        if sha not in self.bodies:
            return Err(NOSCRIPT)
        self._call = call
        self._on_resp = on_resp
        self._control = control or RunControl()
        self._stores.current = stores
        lua = self._lua
        try:
            keys_t, args_t = lua.table_from(keys), lua.table_from(args)
            if lua.get_memory_used() + _PUSH_ROOM > self.max_memory:
                self.collect()
                if lua.get_memory_used() + _PUSH_ROOM > self.max_memory:
                    raise lupa.LuaMemoryError("not enough memory")
            lua.set_max_memory(self.max_memory, True)
            self._capped = True
            out, failed = self._engine.run(b"f_" + sha.encode(), sha.encode(), keys_t, args_t, proto)
        except lupa.LuaMemoryError:
            out, failed = (SCRIPT_RUN_FAILED_MEMORY % sha).encode(), True
        finally:
            self._call = self._on_resp = None
            self._control = None
            self._stores.current = None
            self._capped = False
            lua.set_max_memory(0)
            if lua.get_memory_used() > self.max_memory * 3 // 4:  # what a failed script left
                self.collect()
        if failed:
            return Err(out[1:] if out.startswith(b"-") else out)
        return Raw(out)

    def collect(self) -> None:
        """A full garbage collection (after a script hit the memory cap, or on SCRIPT FLUSH)."""
        self._lua.execute("collectgarbage()")


SCRIPT_RUN_FAILED_MEMORY = "-ERR Error running script %s, not enough memory"

#: room kept for what lupa pushes into Lua when a Python callable returns (besides its strings' lengths), and
#: for the run's own arguments (see ScriptRuntime.shield)
_PUSH_ROOM = 4096


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
