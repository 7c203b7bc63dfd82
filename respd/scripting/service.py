"""The server's scripting state (``app.scripts``): the script cache, the Lua states, the script running now.

Scripts run in one of two places, decided per run by the stores they may reach (EVAL's ``Job.place``):

* **in place**, on the server's thread (every store the script can reach is a memory store): nothing else runs
  until the script ends, as in Redis. Past ``busy-reply-threshold`` the count hook lets the network layer serve
  other clients in between (``on_slow``), which answers them ``-BUSY`` and takes ``SCRIPT KILL`` / ``SHUTDOWN
  NOSAVE``, as Redis' processEventsWhileBlocked does;
* **in a worker thread** (the session's store is a SQL store, or the script names the ``store`` module while the
  server has SQL stores): every ``redis.call`` goes back to the server's thread to run (it may wait on
  PostgreSQL) inside the one SQL transaction the script runs in, its KEYS locked first. Other clients are served
  meanwhile; atomicity comes from the transaction and its locks. One such script runs at a time per node.

Each place has its own Lua state (a lupa state is not re-entrant across threads); the cache of bodies is shared
and each state compiles a script the first time it runs there. Scripts loaded by EVAL are evicted, least recently
used first, past ``EVAL_CACHE_MAX`` (as Redis 7.4 does); SCRIPT LOAD-ed ones stay until SCRIPT FLUSH. The Lua
states' memory cap bounds both.
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Callable, Optional

from ..errors import NOSCRIPT, CommandError
from .runtime import RunControl, ScriptRuntime, parse_shebang, sha1hex

log = logging.getLogger("respd.scripting")

#: scripts loaded by EVAL kept in the cache (least recently used evicted first); SCRIPT LOAD-ed ones stay
EVAL_CACHE_MAX = 500
#: ``busy-reply-threshold`` / ``lua-time-limit`` default, milliseconds
BUSY_THRESHOLD_MS = 5000
#: a script that names the ``store`` module (it may reach any store)
_NAMES_STORE = re.compile(rb"(?<![\w.])(store\s*[.:\[]|require\b)")
#: redis.log levels -> Python logging levels
_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)

IN_PLACE, IN_WORKER = 0, 1


class Watch(RunControl):
    """The control over the script running now: SCRIPT KILL (``kill``; refused once ``dirty``), the busy time,
    and the hook that lets the network layer serve other clients past the threshold (in place only)."""

    __slots__ = ("sess", "dirty", "on_slow", "threshold", "place")

    def __init__(self, sess, place: int, threshold: float, on_slow: Optional[Callable[[], None]]):
        super().__init__()
        self.sess = sess
        self.place = place
        self.dirty = False          # the script wrote (SCRIPT KILL answers UNKILLABLE; stop() kills it anyway)
        self.on_slow = on_slow
        self.threshold = threshold

    def busy(self) -> bool:
        return self.place == IN_PLACE and self.elapsed() > self.threshold

    def tick(self) -> Optional[bytes]:
        if self.on_slow is not None and not self.killed and self.elapsed() > self.threshold:
            self.on_slow()
        return super().tick()


class Scripts:
    """The cache and the Lua states of one server."""

    def __init__(self, max_memory: Optional[int] = None):
        self.max_memory = max_memory
        self.bodies: dict[str, bytes] = {}            # sha -> body (every cached script)
        self.flags: dict[str, Optional[tuple]] = {}   # sha -> shebang flags (None: no shebang)
        self.by_eval: OrderedDict[str, None] = OrderedDict()  # EVAL-loaded, least recently used first
        self.running: Optional[Watch] = None          # the script running in place, if any
        self.worker_running: Optional[Watch] = None   # the script running in the worker, if any
        self.busy_threshold = BUSY_THRESHOLD_MS / 1000
        self.on_slow: Optional[Callable[[], None]] = None  # installed by the network layer
        self._states: list[Optional[ScriptRuntime]] = [None, None]
        self.sessions: list = [None, None]             # the sessions scripts' calls run in, per place
        self.worker_lock = None                        # one script in the worker at a time (a trio.Lock)
        self.has_sql = False                           # the server has SQL stores (the store module may wait)

    # --- the Lua states
    def state(self, place: int) -> ScriptRuntime:
        rt = self._states[place]
        if rt is None:
            rt = self._states[place] = ScriptRuntime(max_memory=self.max_memory, log=_log)
        return rt

    def memory_used(self) -> int:
        return sum(rt.memory_used() for rt in self._states if rt is not None)

    # --- the cache
    def load(self, body: bytes, by_eval: bool) -> str:
        """Compile (checking the shebang and the syntax) and cache a body; its SHA1. Raises CommandError."""
        sha = sha1hex(body)
        if sha in self.bodies:
            if by_eval and sha in self.by_eval:
                self.by_eval.move_to_end(sha)
            elif not by_eval:
                self.by_eval.pop(sha, None)  # SCRIPT LOAD makes it permanent
            return sha
        self.state(IN_PLACE).load(body)  # the compile errors come from here
        self.bodies[sha] = body
        flags, skip = parse_shebang(body)
        self.flags[sha] = flags if skip else None  # None: no shebang (Redis' compatibility mode)
        if by_eval:
            self.by_eval[sha] = None
            while len(self.by_eval) > EVAL_CACHE_MAX:
                old, _ = self.by_eval.popitem(last=False)
                self._forget(old)
        return sha

    def find(self, sha: bytes) -> str:
        """The cached script a SHA1 names (EVALSHA); raises NOSCRIPT."""
        key = sha.decode("latin-1").lower() if len(sha) == 40 else ""
        if key not in self.bodies:
            raise CommandError(NOSCRIPT)
        if key in self.by_eval:
            self.by_eval.move_to_end(key)
        return key

    def exists(self, sha: bytes) -> bool:
        return sha.decode("latin-1").lower() in self.bodies

    def _forget(self, sha: str) -> None:
        self.bodies.pop(sha, None)
        self.flags.pop(sha, None)
        for rt in self._states:
            if rt is not None:
                rt.forget(sha)

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script (the Lua states collect their garbage)."""
        self.bodies.clear()
        self.flags.clear()
        self.by_eval.clear()
        for rt in self._states:
            if rt is not None:
                rt.flush()

    def names_store(self, sha: str) -> bool:
        return _NAMES_STORE.search(self.bodies[sha]) is not None

    def prepared(self, place: int, sha: str) -> ScriptRuntime:
        """The Lua state for ``place`` with ``sha`` compiled in it."""
        rt = self.state(place)
        if not rt.exists(sha):
            rt.load(self.bodies[sha])
        return rt

    # --- the running script
    def watch(self, sess, place: int) -> Watch:
        w = Watch(sess, place, self.busy_threshold, self.on_slow if place == IN_PLACE else None)
        if place == IN_PLACE:
            self.running = w
        else:
            self.worker_running = w
        return w

    def done(self, w: Watch) -> None:
        if self.running is w:
            self.running = None
        elif self.worker_running is w:
            self.worker_running = None

    def busy(self) -> bool:
        """Whether a script running in place has passed the busy threshold (other clients get -BUSY)."""
        w = self.running
        return w is not None and w.busy()

    def stop(self) -> None:
        """The server is stopping (a signal, SHUTDOWN NOSAVE): stop the scripts running, even ones that wrote."""
        for w in (self.running, self.worker_running):
            if w is not None:
                w.kill()

    def current(self) -> Optional[Watch]:
        return self.running or self.worker_running


class Job:
    """A script run EVAL has checked: what ``respd.scriptcall`` runs."""

    __slots__ = ("sha", "keys", "args", "read_only", "oom", "place")

    def __init__(self, sha: str, keys: list, args: list, read_only: bool, oom: bool, place: int):
        self.sha = sha
        self.keys = keys
        self.args = args
        self.read_only = read_only  # EVAL_RO / EVALSHA_RO, or the no-writes flag: no write command
        self.oom = oom              # over maxmemory when it started: denyoom commands refused until a write
        self.place = place


def _log(level: int, message: bytes) -> None:
    log.log(_LEVELS[level] if 0 <= level < len(_LEVELS) else logging.INFO, "%s",
            message.decode("utf-8", "replace"))

