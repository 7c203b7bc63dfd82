"""The value model: the Python objects collection commands work on, Redis' encoding thresholds, and SCAN pages.

A key holds one of these types (``TYPE``'s answer in brackets):

- a string [string]: ``bytes``;
- a hash [hash]: ``Hash``, a dict ``{field: value}`` of bytes in insertion order;
- a set [set]: ``Members``, a set of bytes;
- a list [list]: ``ListValue`` (``backends.quicklist``): packed chunks with a buffer at each end, as Redis 7.0's
  quicklist (OBJECT ENCODING quicklist).
- a sorted set [zset]: ``ZSet`` (``backends.zsets``), members with scores in Redis' order.

Every store hands commands these objects (``Store.read``/``update``/``update_many``) and keeps them in its own form:
a memory store keeps a small hash or list as its msgpack payload (``codec.Packed``: as compact as Redis' listpack)
and a large one as a ``Hash`` or a ``ListValue``; a SQL store keeps the msgpack payload of every value (``backends.codec`` lists the
encodings). Sorted sets come next and follow the same pattern.

``Hash.compact`` and ``Members.intset`` say which encoding Redis would use (``OBJECT ENCODING``: listpack or
hashtable, intset or hashtable). As in Redis, a value only ever converts from the compact encoding to the large one
while it lives in a store; a value decoded from a payload (a SQL row, a memory store's small hash) is judged by its
contents, as Redis judges a value it loads from an RDB file.
"""
from __future__ import annotations

import bisect
import zlib
from typing import Iterable, Optional

from .quicklist import ListValue
from .zsets import ZSET, ZSet

#: Redis 7.0.15's compiled-in defaults for the compact encodings (CONFIG hash-max-listpack-*, set-max-intset-entries).
HASH_MAX_LISTPACK_ENTRIES = 512
HASH_MAX_LISTPACK_VALUE = 64
SET_MAX_INTSET_ENTRIES = 512
#: a memory store keeps a list of at most this many elements and bytes as its payload (respd's choice: Redis 7.0 has
#: no such encoding; its quicklist nodes hold up to 8 KB), and repacks one kept as an object at half of them
LIST_PACKED_ENTRIES = 128
LIST_PACKED_BYTES = 8192

#: TYPE's names of the collection types
HASH, SET, LIST = b"hash", b"set", b"list"

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


class Hash(dict):
    """A hash: ``{field bytes: value bytes}``. ``compact``: Redis would keep it as a listpack (OBJECT ENCODING)."""

    __slots__ = ("compact", "snap")

    def __init__(self, *args, compact: bool = True):
        dict.__init__(self, *args)
        self.compact = compact
        self.snap = None

    def fits_listpack(self) -> bool:
        """Whether every entry is within Redis' listpack limits (the number and the lengths of fields and values)."""
        if len(self) > HASH_MAX_LISTPACK_ENTRIES:
            return False
        limit = HASH_MAX_LISTPACK_VALUE
        for f, v in self.items():
            if len(f) > limit or len(v) > limit:
                return False
        return True


class Members(set):
    """A set of bytes. ``intset``: Redis would keep it as an intset (only integers, at most 512 members).

    Add members through ``add`` and ``update`` (they keep ``intset`` true to Redis, which converts an intset for
    good when a non-integer member arrives or it grows past the limit); removing never changes the encoding."""

    __slots__ = ("intset", "snap")

    def __init__(self, members: Iterable[bytes] = (), intset: Optional[bool] = None):
        super().__init__(members)
        self.snap = None
        if intset is None:
            intset = len(self) <= SET_MAX_INTSET_ENTRIES and all(map(is_int64, self))
        self.intset = intset

    def add(self, member: bytes) -> None:
        if self.intset and member not in self and (len(self) >= SET_MAX_INTSET_ENTRIES or not is_int64(member)):
            self.intset = False
        set.add(self, member)

    def update(self, *others: Iterable[bytes]) -> None:
        for other in others:
            for m in other:
                self.add(m)

    def ordered(self) -> list[bytes]:
        """The members in Redis' reply order where it is defined: an intset answers in ascending numeric order."""
        if self.intset:
            return sorted(self, key=int)
        return list(self)


def empty(kind: bytes):
    """A new empty collection of TYPE name ``kind`` (what ``Store.update`` hands fn for a missing key)."""
    if kind == HASH:
        return Hash()
    if kind == SET:
        return Members()
    if kind == LIST:
        return ListValue()
    if kind == ZSET:
        return ZSet()
    raise ValueError("not a collection type: %r" % (kind,))


def is_int64(s: bytes) -> bool:
    """Whether Redis' string2ll accepts s: an optional '-', digits without a leading zero (or "0"), within int64."""
    n = len(s)
    if n == 0 or n > 20:
        return False
    if s.isdigit():
        return (s[0] != 48 or n == 1) and (n < 19 or int(s) <= _INT64_MAX)
    if s[0] == 45 and n > 1 and s[1:].isdigit() and s[1] != 48:  # '-', then no leading zero (and no "-0")
        return n < 20 or int(s) >= _INT64_MIN
    return False


def copy_of(value):
    """An independent copy of a stored value (COPY): collections are copied, bytes and payloads are immutable."""
    if type(value) is Hash:
        return Hash(value, compact=value.compact)
    if type(value) is Members:
        return Members(value, intset=value.intset)
    if type(value) is ListValue:
        return value.copy()
    if type(value) is ZSet:
        return ZSet(value.items(), compact=value.compact)
    return value


# ---------------------------------------------------------------------------------------------- HSCAN / SSCAN
def scan_page(coll, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """One HSCAN/SSCAN page of a collection's fields or members: (next cursor, items).

    A compact value (listpack, intset) answers everything at once with cursor 0, as Redis does. A large one is
    paged in the order of a deterministic 32-bit hash of each item (the same on every node and after a restart):
    a page holds the items whose hash is at or above the cursor, and the next cursor is one past the last hash
    returned, so items present for the whole iteration are all returned, whatever is added or removed meanwhile.
    The sorted order is built at cursor 0 and kept on the value for the pages after it (``snap``)."""
    if getattr(coll, "compact", None) or getattr(coll, "intset", None):
        return 0, (coll.ordered() if type(coll) is Members else list(coll))
    snap = coll.snap
    if snap is None or cursor == 0:
        items = sorted(coll, key=zlib.crc32)
        snap = coll.snap = (list(map(zlib.crc32, items)), items)
    hashes, items = snap
    lo = bisect.bisect_left(hashes, cursor)
    j = min(lo + max(1, count), len(hashes))
    while lo < j < len(hashes) and hashes[j] == hashes[j - 1]:
        j += 1  # a run of equal hashes stays on one page
    page = [x for x in items[lo:j] if x in coll]
    return (hashes[j - 1] + 1 if j < len(hashes) else 0), page
