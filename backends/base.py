"""The one interface every store implements, and the domain errors stores raise.

Stores hold binary-safe string values under binary-safe keys, with optional expiry as an absolute Unix time in
milliseconds. The command layer (``respd.commands``) parses and validates arguments and then calls exactly one of
the operations below, so each operation is the unit of atomicity: a SQL store implements each as one statement or
one transaction, a memory store as plain Python code that never yields to the event loop.

Sync and async stores share this interface. ``Store.is_async`` tells which: a memory store's methods return their
result directly; a SQL store's methods are coroutines. The command layer passes results through
``respd.commands.table.then`` so the memory path never creates or awaits a coroutine.

Backends never import ``respd``: they raise the domain errors below and ``respd.errors.store_error`` maps them
to RESP errors.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

#: Marker for "leave the key's TTL as it is" (SET KEEPTTL, GETEX without options, APPEND, INCR...).
KEEP = object()


def now_ms() -> int:
    """The single clock every store uses for expiry, in Unix milliseconds (tests replace ``clock``)."""
    return int(clock() * 1000)


#: Replaced in tests to move time; every store reads time through ``now_ms``.
clock: Callable[[], float] = time.time


# ---------------------------------------------------------------------------------------------- domain errors
class StoreError(Exception):
    """Base of the errors a store raises; ``respd.errors.store_error`` maps each to a RESP error."""


class WrongType(StoreError):
    """The key holds a value of another type than the command works on. ``detail`` (optional) says more when the
    value is one respd cannot treat as any Redis type (a foreign msgpack map holding a nested map...)."""

    def __init__(self, detail: str = ""):
        super().__init__(detail)
        self.detail = detail


class ValueTooLarge(StoreError):
    """A collection's encoded value would pass the store's ``max_value_size`` (nothing was written)."""

    def __init__(self, store_id: str, key: bytes, size: int, limit: int):
        super().__init__(store_id, key, size, limit)
        self.store_id = store_id
        self.key = key
        self.size = size
        self.limit = limit


#: ``Store.read_many``'s entry for a key that holds another type than the one asked for
WRONG = object()


class NoSuchKey(StoreError):
    """RENAME of a missing key."""


class StoreFull(StoreError):
    """A write would create a new key in a store at its ``max_size``."""

    def __init__(self, store_id: str, limit: int):
        super().__init__(store_id, limit)
        self.store_id = store_id
        self.limit = limit


class InvalidKey(StoreError):
    """The key cannot be stored in this store (e.g. not UTF-8, NUL or too long for a VARCHAR column)."""

    def __init__(self, store_id: str, reason: str):
        super().__init__(store_id, reason)
        self.store_id = store_id
        self.reason = reason


class CorruptValue(StoreError):
    """A stored payload cannot be decoded (foreign writer, damaged row)."""

    def __init__(self, store_id: str, key: bytes, reason: str):
        super().__init__(store_id, key, reason)
        self.store_id = store_id
        self.key = key
        self.reason = reason


class StoreUnavailable(StoreError):
    """The store's backing service cannot be reached within its timeout."""

    def __init__(self, store_id: str, reason: str):
        super().__init__(store_id, reason)
        self.store_id = store_id
        self.reason = reason


# ---------------------------------------------------------------------------------------------- watch support
class WatchTable:
    """Which connections watch which keys of one store (Redis' ``watched_keys``), and who else hears of writes.

    A watcher is any object with a ``dirty`` attribute. Stores call ``touch(key)`` after every write that changed
    the key and ``touch_all()`` on a flush; both are cheap when nobody watches or observes.

    ``observers`` are callables ``f(key, local)`` told of every touch (``key`` None for a flush): client tracking
    (invalidation) and the bus between nodes (``respd.net.bus``, which forwards a SQL store's local writes to the
    other nodes and touches their tables with ``local=False`` there). A memory store only calls ``touch`` when
    ``keys`` or ``observers`` is non-empty.
    """

    __slots__ = ("keys", "observers")

    def __init__(self) -> None:
        self.keys: dict[bytes, set] = {}
        self.observers: list = []

    def add(self, key: bytes, watcher: Any) -> None:
        self.keys.setdefault(key, set()).add(watcher)

    def remove(self, key: bytes, watcher: Any) -> None:
        ws = self.keys.get(key)
        if ws is not None:
            ws.discard(watcher)
            if not ws:
                del self.keys[key]

    def touch(self, key: bytes, local: bool = True) -> None:
        ws = self.keys.get(key)
        if ws:
            for w in ws:
                w.dirty = True
        if self.observers:
            for f in self.observers:
                f(key, local)

    def touch_all(self, local: bool = True) -> None:
        for ws in self.keys.values():
            for w in ws:
                w.dirty = True
        if self.observers:
            for f in self.observers:
                f(None, local)


# ---------------------------------------------------------------------------------------------- the interface
class Values:
    """What ``Store.update_many``'s fn reaches (each store implements it)."""

    def get(self, key: bytes, kind: bytes) -> Any:
        """The collection at key to change in place, or None when missing. WrongType for another type."""
        raise NotImplementedError

    def put(self, key: bytes, value: Any) -> None:
        """Replace the value at key (a key of ``writes``) with a new collection, whatever type it held, without a
        TTL; an empty collection deletes the key."""
        raise NotImplementedError

    def changed(self, key: bytes) -> None:
        """The collection ``get`` returned for key was changed in place: store it, keeping its TTL (an empty one
        deletes the key)."""
        raise NotImplementedError


class Store:
    """What a store offers the command layer. Subclasses implement every method.

    Conventions for all methods:
    - keys and values are ``bytes``; expiry times are absolute Unix milliseconds;
    - ``expire`` arguments take ``None`` (no expiry: remove any TTL), ``KEEP`` (leave the TTL alone) or an int;
      an absolute time at or before now makes the key disappear at once (Redis accepts it and deletes the key);
    - a key whose expiry has passed is invisible to every method, whether or not cleanup has removed it yet;
    - a write that would create a key in a store at ``max_size`` raises ``StoreFull`` before changing anything;
    - every write that changes a key calls ``self.watches.touch(key)``.
    """

    #: ``True`` when the methods are coroutines (network-backed stores).
    is_async: bool = False
    #: called with a key the store has just created or replaced (set by ``respd.blocking`` once a client blocks on
    #: this store: clients blocked in BLPOP and its kin wait for keys to appear). A memory store calls it for every
    #: key it writes whole; a SQL store for each list or sorted set it creates, on every node, through
    #: PostgreSQL's NOTIFY (``backends.pg.listen``).
    on_created: Optional[Callable[[bytes], None]] = None
    #: called with a key the store has just removed because its time had passed (set by ``respd.notify`` while
    #: keyspace notifications of expired keys are on, None otherwise): a memory store calls it when a read finds
    #: the key expired and from its sweeps; a SQL store from its cleanup of expired rows
    on_expired: Optional[Callable[[bytes], None]] = None
    kind: str = "store"

    def __init__(self, store_id: str, max_size: int = 0):
        self.id = store_id
        self.max_size = max_size
        self.watches = WatchTable()

    # -- lifecycle (always async; called by the server, not on the hot path)
    async def start(self) -> None:
        """Open connections, check schemas. Raising here stops the server start with a clear message."""

    async def run_cleanup(self) -> None:
        """Background task: remove expired entries at the store's cleanup interval, forever (cancelled at stop)."""

    async def aclose(self) -> None:
        """Release resources."""

    # -- reads
    def get(self, key: bytes) -> Optional[bytes]:
        """The string at key or None. Raises WrongType for non-strings."""
        raise NotImplementedError

    def mget(self, keys: list[bytes]) -> list[Optional[bytes]]:
        """One entry per key; missing keys and non-strings are None (never WrongType)."""
        raise NotImplementedError

    def exists(self, keys: list[bytes]) -> int:
        """How many of keys exist, duplicates counted each time."""
        raise NotImplementedError

    def expire_time(self, key: bytes) -> int:
        """Absolute expiry in ms; -1 when the key has no TTL; -2 when it does not exist."""
        raise NotImplementedError

    def type(self, key: bytes) -> bytes:
        """b"string", or b"none" when missing (foreign SQL rows may report other type names)."""
        raise NotImplementedError

    def keys(self, pattern: bytes) -> list[bytes]:
        """Every live key matching the Redis glob pattern."""
        raise NotImplementedError

    def scan(self, cursor: int, pattern: Optional[bytes], count: int, type_: Optional[bytes]) -> tuple[int, list[bytes]]:
        """One SCAN page: (next cursor, keys). Cursor 0 starts and ends an iteration; a full iteration returns
        every key present from its start to its end (others may or may not appear, some may repeat)."""
        raise NotImplementedError

    def randomkey(self) -> Optional[bytes]:
        raise NotImplementedError

    def dbsize(self) -> int:
        """Number of keys (may still count expired keys not yet reclaimed, as Redis does)."""
        raise NotImplementedError

    def stats(self) -> tuple[int, int]:
        """(keys, keys with a TTL) for INFO keyspace."""
        raise NotImplementedError

    def dump(self, key: bytes) -> Optional[tuple[bytes, Optional[int]]]:
        """(payload, expire_at or None) for COPY/MOVE to another store, or None when missing: the value of any type
        as its msgpack payload (``codec.pack_value``)."""
        raise NotImplementedError

    def encoding(self, key: bytes) -> Optional[bytes]:
        """OBJECT ENCODING's answer (Redis' names: int/embstr/raw, listpack/hashtable, intset/hashtable), or None
        when the key does not exist."""
        raise NotImplementedError

    def memory_usage(self, key: bytes) -> Optional[int]:
        """MEMORY USAGE: an estimate of the bytes the key takes in this store (key, value and their share of the
        store's indexes), or None when it does not exist."""
        raise NotImplementedError

    def memory_overhead(self) -> tuple[int, int, int]:
        """MEMORY STATS: (bytes of the key table, bytes of the expiry table, keys) held in respd's own memory;
        (0, 0, 0) for stores whose data lives elsewhere."""
        return 0, 0, 0

    # -- typed values (the ``store`` module of EVAL scripts; see ``backends.codec`` for the encodings)
    def load(self, key: bytes) -> Any:
        """The value at key as an object, or None when missing: bytes for a string (what GET reads), else the
        msgpack object a non-string payload holds (int, float, bool, list, dict..., strings inside as bytes).
        Raises CorruptValue for an undecodable payload; never WrongType."""
        raise NotImplementedError

    def store(self, key: bytes, value: Any, expire: Optional[int] = None) -> None:
        """Write a typed value, replacing any value and TTL: bytes exactly as SET writes them, anything else as
        its msgpack payload (``codec.pack``; the caller checked its shape). ``expire``: None (no TTL) or an
        absolute time in ms (at or before now: the key disappears). StoreFull for a new key past max_size."""
        raise NotImplementedError

    # -- writes
    def set(self, key: bytes, value: bytes, cond: Optional[str] = None, get: bool = False,
            expire: Any = None) -> tuple[bool, Optional[bytes]]:
        """SET with its options. cond is None, "NX" or "XX". Returns (written, old value).

        With ``get`` the old value is read first and a non-string old value raises WrongType with nothing
        written; without ``get`` any type is overwritten and the old value returned is None."""
        raise NotImplementedError

    def mset(self, pairs: list[tuple[bytes, bytes]], nx: bool = False) -> bool:
        """Write all pairs (clearing TTLs; the last of duplicate keys wins). With nx, write nothing and return
        False when any key exists."""
        raise NotImplementedError

    def modify(self, key: bytes, fn: Callable[[Optional[bytes]], tuple[Optional[bytes], Any]]) -> Any:
        """Atomic read-modify-write of one string, keeping its TTL: ``fn(old)`` returns (new value or None to
        write nothing, result); the result is returned. Raises WrongType before calling fn for non-strings;
        exceptions from fn propagate with nothing written. Used by INCR*, APPEND, SETRANGE."""
        raise NotImplementedError

    def getdel(self, key: bytes) -> Optional[bytes]:
        raise NotImplementedError

    def getex(self, key: bytes, expire: Any) -> Optional[bytes]:
        """Value (None if missing) and apply expire (KEEP = unchanged, None = persist, int = absolute ms)."""
        raise NotImplementedError

    def delete(self, keys: list[bytes]) -> int:
        """Remove keys; returns how many existed (each key counted once)."""
        raise NotImplementedError

    def expire(self, key: bytes, at_ms: int, cond: Optional[str] = None) -> int:
        """Set an absolute expiry under cond (None, "NX", "XX", "GT", "LT"; no TTL counts as infinite).
        Returns 1 when applied, 0 when the key is missing or cond fails. A time at or before now deletes."""
        raise NotImplementedError

    def persist(self, key: bytes) -> int:
        raise NotImplementedError

    def rename(self, src: bytes, dst: bytes, nx: bool = False) -> bool:
        """Move src to dst keeping its TTL. NoSuchKey when src is missing. With nx returns False (nothing done)
        when dst exists. src == dst is a successful no-op (False for nx)."""
        raise NotImplementedError

    def copy(self, src: bytes, dst: bytes, replace: bool = False) -> bool:
        """Copy within the store keeping the TTL; False when src is missing or dst exists without replace."""
        raise NotImplementedError

    def restore(self, key: bytes, payload: bytes, expire_at: Optional[int], replace: bool) -> bool:
        """Write a dumped entry (``dump``'s payload: COPY/MOVE from another store); False when key exists and not
        replace."""
        raise NotImplementedError

    # -- collections (hashes and sets; see ``backends.values`` for the objects)
    def read(self, key: bytes, kind: bytes) -> Any:
        """The collection at key for reading only (never change it): for ``values.HASH`` a ``Hash``, for
        ``values.SET`` a ``Members``. None when the key is missing; WrongType when it holds another type."""
        raise NotImplementedError

    def read_many(self, keys: list[bytes], kind: bytes) -> list:
        """One consistent read of several keys (SINTER, SUNION...): per key, in order, the collection as ``read``
        gives it, None when missing, or ``WRONG`` when the key holds another type (never raises WrongType: the
        command decides by position, as Redis does)."""
        raise NotImplementedError

    def update(self, key: bytes, kind: bytes, fn: Callable[[Any], tuple[bool, Any]]) -> Any:
        """Atomic read-modify-write of one collection; returns fn's result.

        ``fn(value)`` gets the collection to change in place (an empty one of ``kind``, not stored yet, when the
        key is missing) and returns ``(changed, result)``. When changed, the value is stored: its TTL kept, a new
        key created without one (StoreFull when it has no room, with nothing written), and an empty value deletes
        the key. WrongType before fn is called when the key holds another type. fn may raise (CommandError...)
        only before it changes the value: the change is live on a memory store."""
        raise NotImplementedError

    def update_many(self, writes: list[bytes], reads: list[bytes], fn: Callable[["Values"], Any]) -> Any:
        """Atomic read-modify-write over several keys (SMOVE, SINTERSTORE...); returns ``fn(values)``.

        ``values`` (a ``Values``) reaches the keys of ``writes`` (locked against other writers on every node) and
        of ``reads``. fn may raise only before it changes anything, and must create new keys (``put``/``changed``
        of a missing key, which raise StoreFull when the store has no room) before it changes existing values in
        place, which is live on a memory store."""
        raise NotImplementedError

    def flush(self) -> None:
        """Remove every key of this store (and only this store)."""
        raise NotImplementedError

    # -- transactions (MULTI/EXEC); memory stores are atomic by construction
    def transaction(self):
        """An async context manager within which every operation of the current task is one atomic unit
        (one SQL transaction). Only used for async stores."""
        raise NotImplementedError
