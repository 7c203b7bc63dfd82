"""In-memory store: a dict of values plus a dict of expiry times, as Redis keeps ``db->dict`` and ``db->expires``.

Every method is synchronous and never yields to the event loop, so each is atomic with respect to other clients and
a MULTI/EXEC runs without interleaving. Expiry is lazy (a key past its deadline is removed when touched and is
invisible to every method at once) plus ``run_cleanup``, which sweeps the expiry dict in bounded slices at
``cleanup_interval`` so a store of millions of keys never stalls other clients.

Values are bytes (strings, exactly as SET wrote them), ``values.Members`` (sets), ``values.ListValue`` (lists),
``values.Hash`` (hashes past Redis' listpack limits) or a ``codec.Packed`` msgpack payload: a small hash (as compact
as Redis' listpack: one bytes object), or a typed value the ``store`` module of EVAL scripts wrote (``load``/
``store``), which every command reads through ``backends.codec`` as a SQL store reads its rows: an int payload GETs
as its digits, a map is a hash, an array a list. Only
the string paths that meet a non-string pay for it; GET, the hot path, only in a store that has held one
(``_holds_types`` swaps in ``_get_typed``).

SCAN cursors are positions in a stable per-process hash order of the keys (``hash(key)`` as an unsigned 64-bit
number): a page returns keys whose hash is at or above the cursor and the next cursor is one past the last hash
returned. The order does not depend on insertions or deletions, so a full iteration returns every key present
throughout it, as Redis guarantees. Pages are served from a sorted snapshot built at cursor 0 when the store
changed since the last one.
"""
from __future__ import annotations

import bisect
import heapq
import random
import sys
from typing import Any, Callable, Optional

import trio

from . import base, codec, values
from .base import KEEP, NoSuchKey, Store, StoreFull, WrongType
from .codec import Packed
from .glob import compile_glob
from .memory_collections import Collections, value_size
from .values import Hash, Members
from .zsets import ZSet

_U64 = (1 << 64) - 1
_SLICE = 2000
_WRITTEN = (True, None)
_EMPTY_DICT = sys.getsizeof({})
_PLAIN = {bytes, type(None)}


class MemoryStore(Collections, Store):
    kind = "store.memory"

    def __init__(self, store_id: str, max_size: int = 10000, cleanup_interval: float = 300.0):
        super().__init__(store_id, max_size)
        self.cleanup_interval = cleanup_interval
        self._data: dict[bytes, Any] = {}  # bytes, or codec.Packed for a typed value
        self._expires: dict[bytes, int] = {}
        self._watched = self.watches.keys
        self._observers = self.watches.observers  # the same list: tracking and the bus add to it in place
        self._version = 0              # bumped by key creation/removal: tells when the SCAN snapshot is stale
        self._scan_hashes: list[int] = []
        self._scan_keys: list[bytes] = []
        self._scan_version = -1
        self.expired_keys = 0          # INFO stats
        self._deadlines: Optional[list] = None  # heap of (deadline, key) while active expiry runs (track_deadlines)

    # ------------------------------------------------------------------------------------------ internals
    def _live(self, key: bytes) -> bool:
        """True when key exists and has not expired (an expired key is removed on the way)."""
        if key not in self._data:
            return False
        e = self._expires.get(key)
        if e is not None and e <= base.now_ms():
            self._expired(key)
            return False
        return True

    def _expired(self, key: bytes) -> None:
        """Remove a key whose time has passed, and say so (INFO's expired_keys, ``on_expired``)."""
        self._remove(key)
        self.expired_keys += 1
        if self.on_expired is not None:
            self.on_expired(key)

    def _remove(self, key: bytes) -> None:
        del self._data[key]
        self._expires.pop(key, None)
        self._version += 1
        if self._watched or self._observers:
            self.watches.touch(key)

    def _check_room(self, key: bytes) -> None:
        """Raise StoreFull when creating key would exceed max_size (expired keys are purged first)."""
        data = self._data
        if len(data) >= self.max_size and key not in data:
            self._purge_expired()
            if len(data) >= self.max_size:
                raise StoreFull(self.id, self.max_size)

    def _purge_expired(self) -> int:
        now = base.now_ms()
        dead = [k for k, e in self._expires.items() if e <= now]
        for k in dead:
            self._expired(k)
        return len(dead)

    def _string(self, key: bytes, v: Any) -> Optional[bytes]:
        """What a string command reads from a stored value: the bytes, or a Packed payload as codec reads it
        (its digits for an int...). Raises WrongType for a collection or a non-string payload."""
        t = type(v)
        if t is bytes or v is None:
            return v
        if t is Packed:
            return codec.decode(self.id, key, v.payload)
        raise WrongType()

    def _holds_types(self) -> None:
        """The store now holds a value that is not bytes: its GETs check for them from now on."""
        if "get" not in self.__dict__:
            self.get = self._get_typed

    def _put(self, key: bytes, value: Any, expire: Any) -> None:
        """Write a value (caller checked room and liveness). expire: None clears, KEEP keeps, int sets."""
        data = self._data
        if key not in data:
            self._version += 1
        data[key] = value
        if expire is None:
            if self._expires:
                self._expires.pop(key, None)
        elif expire is not KEEP:
            if expire <= base.now_ms():
                self._remove(key)
                return
            self._expires[key] = expire
            if self._deadlines is not None:
                heapq.heappush(self._deadlines, (expire, key))
        if self._watched or self._observers:
            self.watches.touch(key)
        if self.on_created is not None:
            self.on_created(key)

    # ------------------------------------------------------------------------------------------ reads
    def get(self, key: bytes) -> Optional[bytes]:
        v = self._data.get(key)
        if v is not None and self._expires:
            e = self._expires.get(key)
            if e is not None and e <= base.now_ms():
                self._expired(key)
                return None
        return v

    def _get_typed(self, key: bytes) -> Optional[bytes]:
        """``get`` of a store that holds typed values (``store`` installs it): a Packed value is read through the
        codec. Kept apart so GET on a store of strings, the hot path, pays nothing for typed values."""
        v = MemoryStore.get(self, key)
        if type(v) is bytes or v is None:
            return v
        return self._string(key, v)

    def mget(self, keys: list[bytes]) -> list[Optional[bytes]]:
        if not self._expires:  # no key can have expired: one C-level pass
            found = list(map(self._data.get, keys))
            if set(map(type, found)) <= _PLAIN:
                return found
        out = []
        for k in keys:
            try:
                out.append(self.get(k))
            except base.WrongType:
                out.append(None)
        return out

    def exists(self, keys: list[bytes]) -> int:
        live = self._live
        return sum(1 for k in keys if live(k))

    def expire_time(self, key: bytes) -> int:
        if not self._live(key):
            return -2
        e = self._expires.get(key)
        return -1 if e is None else e

    def type(self, key: bytes) -> bytes:
        if not self._live(key):
            return b"none"
        v = self._data[key]
        t = type(v)
        if t is bytes:
            return b"string"
        if t is Packed:
            return codec.type_name(self.id, key, v.payload)
        return values.HASH if t is Hash else values.SET if t is Members else values.ZSET if t is ZSet else values.LIST

    def keys(self, pattern: bytes) -> list[bytes]:
        match = compile_glob(pattern)
        now = base.now_ms()
        exp = self._expires
        return [k for k in list(self._data) if match(k) and not (k in exp and exp[k] <= now)]

    def scan(self, cursor: int, pattern: Optional[bytes], count: int, type_: Optional[bytes]) -> tuple[int, list[bytes]]:
        if cursor == 0 and len(self._data) <= count:
            # small keyspace: one page, as Redis answers for small dicts
            keys = self.keys(b"*" if pattern is None else pattern)  # MATCH "" matches only the empty key
            return 0, self._of_type(keys, type_)
        if self._scan_version < 0 or (cursor == 0 and self._scan_version != self._version):
            # keys created after this snapshot may be missed, which SCAN allows; removed ones are filtered below
            pairs = sorted(((hash(k) & _U64, k) for k in self._data), key=lambda p: p[0])
            self._scan_hashes = [h for h, _ in pairs]
            self._scan_keys = [k for _, k in pairs]
            self._scan_version = self._version
        hashes, skeys = self._scan_hashes, self._scan_keys
        i = bisect.bisect_left(hashes, cursor)
        j = min(i + count, len(hashes))
        while i < j < len(hashes) and hashes[j] == hashes[j - 1]:
            j += 1  # never split a run of equal hashes across pages
        page = skeys[i:j]
        next_cursor = hashes[j] if j < len(hashes) else 0
        match = compile_glob(pattern) if pattern is not None else None
        live = self._live
        out = [k for k in page if live(k) and (match is None or match(k))]
        return next_cursor, self._of_type(out, type_)

    def _of_type(self, keys: list[bytes], type_: Optional[bytes]) -> list[bytes]:
        """SCAN's TYPE filter over live keys (a payload that does not decode matches no type, as on SQL stores)."""
        if type_ is None:
            return keys
        want = type_.lower()
        data = self._data
        out = []
        for k in keys:
            v = data[k]
            t = type(v)
            if t is not Packed:
                if want == (b"string" if t is bytes else values.HASH if t is Hash else values.SET if t is Members
                            else values.ZSET if t is ZSet else values.LIST):
                    out.append(k)
                continue
            try:
                if codec.type_name(self.id, k, v.payload) == want:
                    out.append(k)
            except base.CorruptValue:
                pass
        return out

    def randomkey(self) -> Optional[bytes]:
        for _ in range(100):
            if not self._data:
                return None
            k = random.choice(list(self._data)) if len(self._data) < 64 else next(iter(self._data))
            if self._live(k):
                return k
        self._purge_expired()
        return next(iter(self._data), None)

    def dbsize(self) -> int:
        return len(self._data)

    def stats(self) -> tuple[int, int]:
        return len(self._data), len(self._expires)

    def dump(self, key: bytes) -> Optional[tuple[bytes, Optional[int]]]:
        if not self._live(key):
            return None
        v = self._data[key]
        payload = codec.pack_value(v)
        if (type(v) is Hash and not v.compact) or (type(v) is Members and not v.intset) or (
                type(v) is ZSet and not v.compact):
            payload = codec.LargePayload(payload)  # the encoding goes with it (to_memory)
        return payload, self._expires.get(key)

    def memory_usage(self, key: bytes) -> Optional[int]:
        """The key and value objects, plus the key's share of the dict (and of the expiry dict, with its int, when
        it has a TTL): the table's size divided by its keys, so slack space is shared out too."""
        if not self._live(key):
            return None
        data = self._data
        v = data[key]
        vsize = value_size(v)
        size = sys.getsizeof(key) + vsize + (sys.getsizeof(data) - _EMPTY_DICT) // len(data)
        e = self._expires.get(key)
        if e is not None:
            exp = self._expires
            size += sys.getsizeof(e) + (sys.getsizeof(exp) - _EMPTY_DICT) // len(exp)
        return size

    def memory_overhead(self) -> tuple[int, int, int]:
        return sys.getsizeof(self._data), sys.getsizeof(self._expires), len(self._data)

    # ------------------------------------------------------------------------------------------ writes
    def set(self, key: bytes, value: bytes, cond: Optional[str] = None, get: bool = False,
            expire: Any = None) -> tuple[bool, Optional[bytes]]:
        data = self._data
        if cond is None and not get:
            if self.max_size:
                self._check_room(key)
            if expire is None:  # plain SET: the hot path, _put inlined
                if key not in data:
                    self._version += 1
                data[key] = value
                if self._expires:
                    self._expires.pop(key, None)
                if self._watched or self._observers:
                    self.watches.touch(key)
                return _WRITTEN
            if expire is KEEP and not self._live(key):
                expire = None
            self._put(key, value, expire)
            return _WRITTEN
        exists = self._live(key)
        old = self._string(key, data[key]) if (get and exists) else None
        if (cond == "NX" and exists) or (cond == "XX" and not exists):
            return False, old
        if self.max_size:
            self._check_room(key)
        if expire is KEEP and not exists:
            expire = None
        self._put(key, value, expire)
        return True, old

    def mset(self, pairs: list[tuple[bytes, bytes]], nx: bool = False) -> bool:
        live = self._live
        if nx and any(live(k) for k, _ in pairs):
            return False
        if self.max_size:
            data = self._data
            new = {k for k, _ in pairs if k not in data or not live(k)}
            if new and len(data) + len(new) > self.max_size:
                self._purge_expired()
                if len(data) + len(new) > self.max_size:
                    raise StoreFull(self.id, self.max_size)
        put = self._put
        for k, v in pairs:
            put(k, v, None)
        return True

    def modify(self, key: bytes, fn: Callable[[Optional[bytes]], tuple[Optional[bytes], Any]]) -> Any:
        old = self._data.get(key)
        if old is not None and self._expires and not self._live(key):
            old = None
        if type(old) is not bytes:
            old = self._string(key, old)
        new, result = fn(old)
        if new is not None:
            exists = old is not None
            if not exists and self.max_size:
                self._check_room(key)
            self._put(key, new, KEEP if exists else None)
        return result

    def getdel(self, key: bytes) -> Optional[bytes]:
        if not self._live(key):
            return None
        v = self._string(key, self._data[key])
        self._remove(key)
        return v

    def getex(self, key: bytes, expire: Any) -> Optional[bytes]:
        if not self._live(key):
            return None
        v = self._data[key]
        s = self._string(key, v)
        if expire is None:
            if self._expires.pop(key, None) is not None and (self._watched or self._observers):
                self.watches.touch(key)
        elif expire is not KEEP:
            self._put(key, v, expire)
        return s

    def delete(self, keys: list[bytes]) -> int:
        n = 0
        for k in keys:
            if self._live(k):
                self._remove(k)
                n += 1
        return n

    def expire(self, key: bytes, at_ms: int, cond: Optional[str] = None) -> int:
        if not self._live(key):
            return 0
        cur = self._expires.get(key)
        if cond == "NX" and cur is not None:
            return 0
        if cond == "XX" and cur is None:
            return 0
        if cond == "GT" and (cur is None or at_ms <= cur):
            return 0
        if cond == "LT" and cur is not None and at_ms >= cur:
            return 0
        if at_ms <= base.now_ms():
            self._remove(key)
            return 1
        self._expires[key] = at_ms
        if self._deadlines is not None:
            heapq.heappush(self._deadlines, (at_ms, key))
        if self._watched or self._observers:
            self.watches.touch(key)
        return 1

    def persist(self, key: bytes) -> int:
        if not self._live(key) or self._expires.pop(key, None) is None:
            return 0
        if self._watched or self._observers:
            self.watches.touch(key)
        return 1

    def rename(self, src: bytes, dst: bytes, nx: bool = False) -> bool:
        if not self._live(src):
            raise NoSuchKey()
        if src == dst:
            return not nx
        if nx and self._live(dst):
            return False
        value, exp = self._data[src], self._expires.get(src)
        self._remove(src)
        self._put(dst, value, exp)
        return True

    def copy(self, src: bytes, dst: bytes, replace: bool = False) -> bool:
        if not self._live(src):
            return False
        if self._live(dst) and not replace:
            return False
        if self.max_size:
            self._check_room(dst)
        self._put(dst, values.copy_of(self._data[src]), self._expires.get(src))
        return True

    def restore(self, key: bytes, payload: bytes, expire_at: Optional[int], replace: bool) -> bool:
        if self._live(key) and not replace:
            return False
        value = codec.to_memory(self.id, key, payload)
        if self.max_size:
            self._check_room(key)
        if type(value) is not bytes:
            self._holds_types()
        self._put(key, value, expire_at)
        return True

    # ------------------------------------------------------------------------------------------ typed values
    def load(self, key: bytes) -> Any:
        if not self._live(key):
            return None
        v = self._data[key]
        t = type(v)
        if t is bytes:
            return v
        return codec.unpack(self.id, key, v.payload if t is Packed else codec.pack_value(v))

    def store(self, key: bytes, value: Any, expire: Optional[int] = None) -> None:
        if type(value) is bytes:
            v = value
        else:
            v = Packed(codec.pack(value))
            self._holds_types()
        if expire is not None and expire <= base.now_ms():  # the key disappears (as SET with a past time)
            if self._live(key):
                self._remove(key)
            return
        if self.max_size:
            self._check_room(key)
        self._put(key, v, expire)

    def flush(self) -> None:
        self.__dict__.pop("get", None)  # no typed value left: GET is the plain method again
        self._data.clear()
        self._expires.clear()
        if self._deadlines is not None:
            self._deadlines = []
        self._version += 1
        self.watches.touch_all()

    # ------------------------------------------------------------------------------------------ lifecycle
    async def run_cleanup(self) -> None:
        """Sweep expired keys every cleanup_interval, in slices of 2000 checks with a checkpoint between slices."""
        if not self.cleanup_interval:
            return
        while True:
            await trio.sleep(self.cleanup_interval)
            await self.sweep()

    async def sweep(self) -> int:
        """One full pass over the keys with a TTL; returns how many were removed."""
        keys = list(self._expires)
        removed = 0
        for i in range(0, len(keys), _SLICE):
            now = base.now_ms()
            exp = self._expires
            for k in keys[i:i + _SLICE]:
                e = exp.get(k)
                if e is not None and e <= now:
                    self._expired(k)
                    removed += 1
            await trio.sleep(0)
        return removed

    def track_deadlines(self, on: bool) -> None:
        """Keep (while on) a heap of (deadline, key) of every TTL set, for ``active_expire``: expired-key
        notifications on (``respd.notify``). Built from the TTLs held when turned on; off, nothing is kept."""
        if not on:
            self._deadlines = None
        elif self._deadlines is None:
            self._deadlines = [(e, k) for k, e in self._expires.items()]
            heapq.heapify(self._deadlines)

    def active_expire(self, budget: int) -> tuple[int, int]:
        """Active expiry: remove the keys whose time has passed, earliest first, looking at ``budget`` heap entries
        at most (an entry whose key has another deadline since, or is gone, is dropped); (checked, removed). The
        work follows what is due, not the store's size; stale entries are compacted away when they pile up."""
        if self._deadlines is None:
            self.track_deadlines(True)
        heap, exp = self._deadlines, self._expires
        now = base.now_ms()
        checked = removed = 0
        while heap and checked < budget and heap[0][0] <= now:
            at, k = heapq.heappop(heap)
            checked += 1
            if exp.get(k) == at:
                self._expired(k)
                removed += 1
        if len(heap) > 2 * len(exp) + 1024:  # mostly stale entries (TTLs changed, keys deleted): rebuild
            self._deadlines = None
            self.track_deadlines(True)
        return checked, removed
