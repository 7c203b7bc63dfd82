"""The sorted set of the value model: ``ZSet``, members with their scores in Redis' order.

Redis orders a sorted set by score, then by member bytes (memcmp, the shorter first on a common prefix). A ``ZSet``
is a dict ``{member: score}`` (ZSCORE, ZMSCORE, ZADD's lookups in O(1)) beside ``order``, a
``sortedcontainers.SortedList`` of ``order_key(score, member)`` byte strings, which compare in that order with one
memcmp (insert, remove, rank and the entry at a rank in O(log n), as Redis' skiplist; a bytes comparison is about
twice as fast as one of (score, member) tuples). Change a ZSet only through ``put``/``discard``/``pop_extreme``/
``remove_span``: they keep both in step (the dict's own ``__setitem__`` does not touch ``order``).

``compact`` says whether Redis would keep it as a listpack (OBJECT ENCODING listpack or skiplist): at most
``ZSET_MAX_LISTPACK_ENTRIES`` members, none longer than ``ZSET_MAX_LISTPACK_VALUE`` bytes. As in Redis, ``put``
converts it for good while it lives in a store; a ZSet built from a payload is judged by its contents. A listpack
keeps a score as its text (``d2string``), which turns -0 into 0: a compact ZSet stores 0 for -0 too.
"""
from __future__ import annotations

import struct
from itertools import islice
from typing import Iterable, Optional

from sortedcontainers import SortedList

#: TYPE's name of a sorted set
ZSET = b"zset"

#: Redis 7.0.15's compiled-in defaults (CONFIG zset-max-listpack-entries, zset-max-listpack-value)
ZSET_MAX_LISTPACK_ENTRIES = 128
ZSET_MAX_LISTPACK_VALUE = 64


_DOUBLE = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_SIGN = 1 << 63
_ALL = (1 << 64) - 1


def score_prefix(score: float) -> int:
    """A 64-bit integer that orders as the score does (-0 as 0): the double's bits, the sign bit flipped for a
    positive score, every bit for a negative one."""
    bits = _U64.unpack(_DOUBLE.pack(score + 0.0))[0]
    return bits ^ _ALL if bits & _SIGN else bits | _SIGN


def order_key(score: float, member: bytes) -> bytes:
    """The entry of ``ZSet.order``: ``score_prefix`` in 8 big-endian bytes, then the member. Bytes compare as
    memcmp, then by length: exactly Redis' (score, member) order, in one C comparison."""
    return _U64.pack(score_prefix(score)) + member


class ZSet(dict):
    """A sorted set: ``{member: score}`` plus ``order``, a SortedList of ``order_key(score, member)`` entries."""

    __slots__ = ("_order", "compact", "snap")

    def __init__(self, pairs: Iterable[tuple[bytes, float]] = (), compact: Optional[bool] = None):
        dict.__init__(self, pairs)
        if compact is None:
            compact = fits_listpack(self)
        if compact:
            for m, s in self.items():
                if s == 0.0:
                    dict.__setitem__(self, m, 0.0)
        # a new sorted set keeps its index from the start (ZADDs pay for it one by one); one made from pairs (a SQL
        # row, a memory store's payload, a STORE result) builds it on first use: ZSCORE, ZMSCORE, ZCARD never do
        self._order = SortedList() if not self else None
        self.compact = compact
        self.snap = None

    @property
    def order(self) -> SortedList:
        """The index (built on first use for a sorted set made from pairs)."""
        order = self._order
        if order is None:
            order = self._order = SortedList(map(order_key, self.values(), self.keys()))
        return order

    # -- changes
    def put(self, member: bytes, score: float) -> None:
        """Set member's score (added when new). An equal score changes nothing, as Redis compares with ``==``."""
        old = self.get(member)
        order = self._order
        if old is not None:
            if old == score:
                return
            if order is not None:
                order.remove(order_key(old, member))
        elif self.compact and (len(self) >= ZSET_MAX_LISTPACK_ENTRIES or len(member) > ZSET_MAX_LISTPACK_VALUE):
            self.compact = False
        if self.compact and score == 0.0:
            score = 0.0  # the listpack's "-0" reads back as 0
        dict.__setitem__(self, member, score)
        if order is not None:
            order.add(order_key(score, member))

    def discard(self, member: bytes) -> bool:
        score = self.get(member)
        if score is None:
            return False
        dict.__delitem__(self, member)
        if self._order is not None:
            self._order.remove(order_key(score, member))
        return True

    def pop_extreme(self, maximum: bool, count: int) -> list[tuple[bytes, float]]:
        """Take up to count members from the low end (or the high end), in the order they leave:
        [(member, score), ...]."""
        order = self.order
        out = []
        pop = dict.pop
        for _ in range(min(count, len(order))):
            member = order.pop(-1 if maximum else 0)[8:]
            out.append((member, pop(self, member)))
        return out

    def remove_span(self, start: int, stop: int) -> int:
        """Remove the members at ranks start..stop-1; how many went."""
        if stop <= start:
            return 0
        order = self.order
        for k in order.islice(start, stop):
            dict.__delitem__(self, k[8:])
        del order[start:stop]
        return stop - start

    def clear(self) -> None:
        dict.clear(self)
        self._order = None

    # -- reads
    def rank(self, member: bytes) -> Optional[int]:
        score = self.get(member)
        if score is None:
            return None
        return self.order.bisect_left(order_key(score, member))

    def pairs(self, start: int = 0, stop: Optional[int] = None, reverse: bool = False) -> list:
        """[(member, score), ...] of the ranks start..stop-1 (ascending, or walked from stop - 1 down)."""
        if stop is None:
            stop = len(self.order)
        if stop <= start:
            return []
        return [(k[8:], self[k[8:]]) for k in self.order.islice(start, stop, reverse=reverse)]

    def members_ordered(self) -> list:
        return [k[8:] for k in self.order]

    def span(self, start: int, stop: int, reverse: bool = False) -> list:
        """The (member, score) pairs at ranks start..stop-1 counted from the top when reverse, in that walk."""
        if stop <= start:
            return []
        if reverse:
            n = len(self.order)
            return self.pairs(n - stop, n - start, True)
        return self.pairs(start, stop)

    def at(self, rank: int) -> tuple[bytes, float]:
        member = self.order[rank][8:]
        return member, self[member]

    def score_span(self, lo: float, lo_ex: bool, hi: float, hi_ex: bool) -> tuple[int, int]:
        """The ranks [i, j) of the members with a score within the range (each end exclusive or not)."""
        order = self.order
        p, q = score_prefix(lo), score_prefix(hi)
        i = order.bisect_left(_U64.pack(p + 1 if lo_ex else p))
        j = order.bisect_left(_U64.pack(q if hi_ex else q + 1))
        return i, max(i, j)

    def lex_span(self, lo, hi) -> tuple[int, int]:
        """The ranks [i, j) ZLEXCOUNT counts and ZREMRANGEBYLEX removes (``lo``/``hi``: ``LexBound``): from the first
        member at or above lo, the run of members at or below hi. A listpack-sized set is walked from its head as
        Redis walks a listpack; a larger one is bisected (as the skiplist is searched). The two agree whenever every
        score is equal, the only case where Redis defines lex ranges."""
        if not self._lex_possible(lo, hi):
            return 0, 0
        order = self.order
        n = len(order)
        if self.compact:
            members = [k[8:] for k in order]
            i = next((r for r, m in enumerate(members) if lo.at_or_above_min(m)), n)
            j = i
            while j < n and hi.at_or_below_max(members[j]):
                j += 1
            return i, j

        def first(pred) -> int:  # the first rank whose member satisfies pred (pred monotone over the ranks)
            a, b = 0, n
            while a < b:
                mid = (a + b) // 2
                if pred(order[mid][8:]):
                    b = mid
                else:
                    a = mid + 1
            return a

        i = first(lo.at_or_above_min)
        j = first(lambda m: not hi.at_or_below_max(m))
        return i, max(i, j)

    def _lex_possible(self, lo, hi) -> bool:
        """Redis' zslIsInLexRange/zzlIsInLexRange: a sane range, the last member at or above its min and the first
        at or below its max."""
        order = self.order
        return (lex_range_possible(lo, hi) and len(order) > 0 and lo.at_or_above_min(order[-1][8:])
                and hi.at_or_below_max(order[0][8:]))

    def lex_walk(self, lo, hi, reverse: bool, offset: int, limit: int) -> list:
        """ZRANGEBYLEX's (member, score) pairs as Redis walks them: from the first member in range (the last one when
        reverse), offset members skipped (a negative offset skips everything), then members while they stay within
        the far bound, at most limit of them (a negative limit: no bound)."""
        if offset < 0:
            return []
        if not self.compact:
            i, j = self.lex_span(lo, hi)
            keep = max(0, j - i - offset)
            if limit >= 0:
                keep = min(keep, limit)
            return self.pairs(j - offset - keep, j - offset, True) if reverse else self.pairs(i + offset,
                                                                                           i + offset + keep)
        if not self._lex_possible(lo, hi):
            return []
        members = [k[8:] for k in self.order]
        n = len(members)
        if reverse:
            r = next((r for r in range(n - 1, -1, -1) if hi.at_or_below_max(members[r])), None)
            if r is None or not lo.at_or_above_min(members[r]):
                return []
            r -= offset
            out = []
            while r >= 0 and limit != 0 and lo.at_or_above_min(members[r]):
                out.append((members[r], self[members[r]]))
                r -= 1
                limit -= 1
            return out
        r = next((r for r, m in enumerate(members) if lo.at_or_above_min(m)), None)
        if r is None or not hi.at_or_below_max(members[r]):
            return []
        r += offset
        out = []
        while r < n and limit != 0 and hi.at_or_below_max(members[r]):
            out.append((members[r], self[members[r]]))
            r += 1
            limit -= 1
        return out


def lex_range_possible(lo, hi) -> bool:
    """Redis' zslIsInLexRange's first test: a min above the max, or equal ones with an exclusive end, is empty."""
    if lo.inf and lo.inf == hi.inf:
        cmp = 0
    elif lo.inf < 0 or hi.inf > 0:
        cmp = -1
    elif lo.inf > 0 or hi.inf < 0:
        cmp = 1
    else:
        cmp = (lo.value > hi.value) - (lo.value < hi.value)
    return cmp < 0 or (cmp == 0 and not (lo.excluded or hi.excluded))


class LexBound:
    """One end of a lex range: ``-`` (below every member), ``+`` (above every member), or a member, included or
    excluded."""

    __slots__ = ("value", "excluded", "inf")

    def __init__(self, value: bytes, excluded: bool, inf: int = 0):
        self.value = value
        self.excluded = excluded
        self.inf = inf  # -1 for "-", 1 for "+", 0 for a member

    def at_or_above_min(self, m: bytes) -> bool:
        """Redis' zslLexValueGteMin with this bound as the min."""
        if self.inf:
            return self.inf < 0
        return m > self.value if self.excluded else m >= self.value

    def at_or_below_max(self, m: bytes) -> bool:
        """Redis' zslLexValueLteMax with this bound as the max."""
        if self.inf:
            return self.inf > 0
        return m < self.value if self.excluded else m <= self.value


def fits_listpack(zs) -> bool:
    """Whether a sorted set's contents fit Redis' listpack limits."""
    if len(zs) > ZSET_MAX_LISTPACK_ENTRIES:
        return False
    limit = ZSET_MAX_LISTPACK_VALUE
    for m in zs:
        if len(m) > limit:
            return False
    return True


def from_flat(flat: list, compact: Optional[bool] = None) -> ZSet:
    """A ZSet from [member, score, member, score, ...]."""
    return ZSet(zip(islice(flat, 0, None, 2), islice(flat, 1, None, 2)), compact)


def flat(zs: ZSet) -> list:
    """[member, score, ...] in score order (the codec's array)."""
    out = []
    for k in zs.order:
        m = k[8:]
        out += (m, zs[m])
    return out
