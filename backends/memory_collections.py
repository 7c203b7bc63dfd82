"""The collection operations of ``MemoryStore`` (a mixin: ``read``, ``read_many``, ``update``, ``update_many``).

A hash within Redis' listpack limits is kept as its msgpack payload (``codec.Packed``: one bytes object, as compact
as a listpack) and decoded for each command; past the limits it is kept as a ``values.Hash`` for good, as Redis
converts a listpack to a hashtable. A sorted set is kept the same way: as its payload while it is listpack-sized
(``ZSet.compact``), as a ``zsets.ZSet`` once it is not. Sets are kept as ``values.Members``. A list of at most
``values.LIST_PACKED_ENTRIES`` elements and ``LIST_PACKED_BYTES`` bytes is kept as its payload too (about 2 bytes
over its elements' own, as a listpack); a longer one as a ``ListValue`` (packed chunks, ``backends.quicklist``),
changed in place, and back as a payload once it shrinks to half the limits (so a list near them does not convert
on every command). Commands change the objects in place; nothing here yields to the event loop, so each operation
is atomic.
"""
from __future__ import annotations

import itertools
import sys
from typing import Any, Callable

from . import codec, values
from .base import WRONG, Values, WrongType
from .codec import Packed
from .values import HASH, LIST, SET, Hash, ListValue, Members
from .zsets import ZSET, ZSet

#: how many entries MEMORY USAGE samples in a collection (Redis' default SAMPLES)
_SAMPLES = 5
#: a list kept as an object goes back to a payload at this length
_SHRUNK = values.LIST_PACKED_ENTRIES // 2


class Collections:
    """Mixed into ``MemoryStore``: uses its ``_data``, ``_live``, ``_put``, ``_remove``, ``_check_room``,
    ``_holds_types``, ``max_size`` and ``watches``."""

    def _collection(self, key: bytes, v: Any, kind: bytes):
        """The stored value v as a collection of kind (a Packed one decoded: a new object). WrongType."""
        t = type(v)
        if t is Packed:
            return codec.as_kind(self.id, key, v.payload, kind)
        if (t is Hash and kind == HASH) or (t is Members and kind == SET) or (t is ListValue and kind == LIST):
            return v
        if t is ZSet and kind == ZSET:
            return v
        raise WrongType()

    def _kept(self, obj):
        """What the store keeps for a collection: a hash within listpack limits as its payload (a new hash, or one
        that came decoded from a payload), else the object itself (a hash past the limits for good)."""
        if type(obj) is Hash and obj.compact:
            if obj.fits_listpack():
                return Packed(codec.pack_value(obj))
            obj.compact = False
        elif type(obj) is ListValue:
            payload = obj.small_payload(values.LIST_PACKED_ENTRIES, values.LIST_PACKED_BYTES)
            return obj.compact() if payload is None else Packed(payload)
        elif type(obj) is ZSet:
            if obj.compact:
                return Packed(codec.pack_value(obj))  # a listpack-sized sorted set: its payload
            obj.order  # noqa: B018  (a skiplist-sized one kept as an object keeps its index from now on)
        return obj

    def read(self, key: bytes, kind: bytes) -> Any:
        v = self._data.get(key)
        if v is None or (self._expires and not self._live(key)):
            return None
        return self._collection(key, v, kind)

    def read_many(self, keys: list[bytes], kind: bytes) -> list:
        out = []
        for key in keys:
            try:
                out.append(self.read(key, kind))
            except WrongType:
                out.append(WRONG)
        return out

    def update(self, key: bytes, kind: bytes, fn: Callable[[Any], tuple[bool, Any]]) -> Any:
        data = self._data
        v = data.get(key)
        if v is not None and self._expires and not self._live(key):
            v = None
        if v is None:
            obj = values.empty(kind)
            changed, result = fn(obj)
            if changed and obj:
                if self.max_size:
                    self._check_room(key)
                self._holds_types()
                self._put(key, self._kept(obj), None)
            return result
        obj = self._collection(key, v, kind)
        changed, result = fn(obj)
        if changed:
            if not obj:
                self._remove(key)
                return result
            if obj is not v:  # decoded from a payload
                data[key] = self._kept(obj)
            elif type(v) is ListValue and v.chunked <= _SHRUNK and len(v) <= _SHRUNK:  # (chunked: no call)
                data[key] = _shrunk(v)
            if self._watched or self._observers:
                self.watches.touch(key)
        return result

    def update_many(self, writes: list[bytes], reads: list[bytes], fn: Callable[[Values], Any]) -> Any:
        return fn(_MemoryValues(self))


class _MemoryValues(Values):
    """``update_many``'s view of a memory store: gets and writes go straight to the store (nothing yields)."""

    __slots__ = ("store", "got")

    def __init__(self, store: Collections):
        self.store = store
        self.got: dict = {}

    def get(self, key: bytes, kind: bytes) -> Any:
        obj = self.store.read(key, kind)
        if obj is not None:
            self.got[key] = obj
        return obj

    def put(self, key: bytes, value: Any) -> None:
        s = self.store
        live = s._live(key)
        if not value:
            if live:
                s._remove(key)
            return
        if not live and s.max_size:
            s._check_room(key)
        s._holds_types()
        s._put(key, s._kept(value), None)

    def changed(self, key: bytes) -> None:
        s = self.store
        obj = self.got[key]
        if not obj:
            if s._live(key):
                s._remove(key)
            return
        if type(obj) is ListValue and s._data.get(key) is obj:  # a list kept as an object, changed in place
            if obj.chunked <= _SHRUNK and len(obj) <= _SHRUNK:
                s._data[key] = _shrunk(obj)
        else:
            s._data[key] = s._kept(obj)
        if s._watched or s._observers:
            s.watches.touch(key)


def _shrunk(lst: ListValue):
    """What to keep for a list kept as an object that has shrunk to half LIST_PACKED_ENTRIES: its payload when
    that takes at most half LIST_PACKED_BYTES, else the list still."""
    payload = lst.small_payload(_SHRUNK, values.LIST_PACKED_BYTES // 2, measure=True)
    return lst if payload is None else Packed(payload)


def value_size(v: Any) -> int:
    """MEMORY USAGE's estimate of a value: the object and what it holds (a collection's members sampled, as Redis
    samples them, when it has more than a few)."""
    t = type(v)
    if t is bytes:
        return sys.getsizeof(v)
    if t is Packed:
        return sys.getsizeof(v) + sys.getsizeof(v.payload)
    if t is ListValue:
        return v.memory_usage()
    if t is Hash:
        sample = [sys.getsizeof(f) + sys.getsizeof(x) for f, x in itertools.islice(v.items(), _SAMPLES)]
    elif t is ZSet:  # per member: the bytes, the score, the order key (8 more bytes), the dict entry and list slot
        sample = [2 * sys.getsizeof(m) + 8 + 24 + 48 for m in itertools.islice(v, _SAMPLES)]
    else:
        sample = [sys.getsizeof(m) for m in itertools.islice(v, _SAMPLES)]
    return sys.getsizeof(v) + (sum(sample) * len(v) // len(sample) if sample else 0)
