"""Redis glob patterns (KEYS, SCAN MATCH, ACL key patterns; later PSUBSCRIBE) matched in bounded time.

Semantics are those of ``stringmatchlen`` in Redis 7.0.15 (src/util.c, ``nocase`` = 0), checked byte for byte
against a live redis-server by ``tests/differential/test_glob_fuzz_vs_redis.py``:

* ``*`` any run of bytes, ``?`` one byte, ``\\x`` the byte x (a trailing lone ``\\`` is a literal backslash);
* ``[abc]`` one byte of the class, ``[^abc]`` one byte outside it (only ``^`` negates: ``[!a]`` is ``!`` or ``a``),
  ``\\x`` escapes inside a class too, ``]`` right after ``[`` closes an empty class (which matches nothing, or
  anything when negated), and a class left open runs to the end of the pattern;
* ``[a-z]`` ranges: ``x-y`` is a range whenever two more bytes follow the ``x``, even when ``y`` is ``]`` (so
  ``[a-]`` is the range ``]``..``a``); reversed ends are swapped; and, as the C code compares ``char``, which is
  signed on the platforms Redis ships for, bytes 0x80-0xFF order *below* 0x00 (``[a-\\xff]`` is 0xFF and
  0x00..``a``);
* a non-empty pattern never matches the empty key and the empty pattern matches only the empty key. Redis' callers
  special-case the one-byte pattern ``*`` as "everything" (KEYS, SCAN, ACL ``~*``), the empty key included;
  ``compile_glob`` does the same unless told otherwise (PSUBSCRIBE ``*`` does not match the empty channel).

7.0.15 has no nesting limit (Redis added one, 1000 levels, for CVE-2024-31228 in later releases); respd needs
none, since matching here does not recurse or backtrack.

Bounded time. A glob is runs of fixed-width atoms (a literal, ``?`` or a class: one byte each) separated by stars:
``P*S1*S2*...*Sk``. P must match at the start and Sk at the end. Each middle segment Si can be matched at its
leftmost occurrence after the previous one and never reconsidered: if any placement of the segments matches, the
leftmost one does too (moving a segment left only lengthens the run the next star absorbs). The regex built here
says exactly that with atomic groups, ``P(?>.*?S1)...(?>.*?S{k-1}).*Sk\\Z``, so the regex engine cannot backtrack
into a placed segment: a match costs O(len(key) * len(pattern)) at worst, in C, instead of the exponential search
a plain ``P.*S1.*S2...`` regex does on ``a*a*a*...*b`` (Redis' CVE-2022-36021 class). Atomic groups need
Python 3.11; on 3.10 the same group is spelled ``(?=(?P<g>.*?Si))(?P=g)`` (a lookahead is atomic in ``re``; the
back reference then consumes what it saw), which is equally bounded, only slower.

Common shapes skip the regex engine: a plain literal compares bytes, ``lit*`` is ``startswith``, ``*lit`` is
``endswith`` and ``*lit*`` is a substring test.
"""
from __future__ import annotations

import itertools
import re
import sys
from functools import lru_cache
from operator import methodcaller
from typing import Callable, Optional

#: Python 3.11+ regexes have atomic groups ``(?>...)``; earlier ones get the lookahead spelling.
ATOMIC_GROUPS = sys.version_info >= (3, 11)

#: patterns longer than this use the walker (Python's regex compiler costs 1-20 us per pattern byte; the walker
#: compiles only the parts of the pattern a key reaches) and are not cached
LONG_PATTERN = 4096

_STAR = None  # the token for a run of stars in ``parse``'s output
_names = itertools.count()  # unique group names for the lookahead spelling (alternations of several globs)


def _lit(b: int) -> bytes:
    return re.escape(bytes((b,)))


def _signed(b: int) -> int:
    return b - 256 if b >= 0x80 else b


def _range(lo: int, hi: int) -> list[bytes]:
    """Regex class items for the bytes Redis' signed-char range ``lo-hi`` takes."""
    lo, hi = sorted((_signed(lo), _signed(hi)))
    spans = [(lo & 0xFF, hi & 0xFF)] if (lo < 0) == (hi < 0) else [(0x00, hi), (lo & 0xFF, 0xFF)]
    return [_lit(a) if a == b else _lit(a) + b"-" + _lit(b) for a, b in spans]


def parse(pattern: bytes) -> list[Optional[tuple[bytes, Optional[int]]]]:
    """The pattern as tokens: ``None`` for a run of stars, else ``(regex, byte)`` for a one-byte atom, where regex
    is the atom's regex source and byte is the literal byte it stands for (None for ``?`` and classes)."""
    out: list = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 0x2A:  # *
            if not out or out[-1] is not _STAR:
                out.append(_STAR)
        elif c == 0x3F:  # ?
            out.append((b".", None))
        elif c == 0x5C:  # backslash: the next byte, or itself at the end
            if i + 1 < n:
                i += 1
            out.append((_lit(pattern[i]), pattern[i]))
        elif c == 0x5B:  # [
            i += 1
            negate = i < n and pattern[i] == 0x5E
            if negate:
                i += 1
            items: list[bytes] = []
            while i < n and pattern[i] != 0x5D:
                ch = pattern[i]
                if ch == 0x5C and i + 1 < n:
                    i += 1
                    items.append(_lit(pattern[i]))
                elif i + 2 < n and pattern[i + 1] == 0x2D:  # x-y, even when y is ']'
                    items.extend(_range(ch, pattern[i + 2]))
                    i += 2
                else:
                    items.append(_lit(ch))
                i += 1
            # i is at the closing ']' or at the end of the pattern (an open class runs to the end)
            if not items:
                out.append((b"." if negate else b"(?!)", None))
            else:
                out.append((b"[" + (b"^" if negate else b"") + b"".join(items) + b"]", None))
        else:
            out.append((_lit(c), c))
        i += 1
    return out


def _segments(tokens: list) -> list[list]:
    """Split tokens at the stars: k stars give k + 1 segments (the first and last may be empty)."""
    segs: list[list] = [[]]
    for t in tokens:
        if t is _STAR:
            segs.append([])
        else:
            segs[-1].append(t)
    return segs


def _source(seg: list) -> bytes:
    return b"".join(t[0] for t in seg)


def _literal(seg: list) -> Optional[bytes]:
    """The bytes a segment of literal atoms spells, or None if it has a ``?`` or a class."""
    if any(t[1] is None for t in seg):
        return None
    return bytes(t[1] for t in seg)


def _atomic(body: bytes, atomic: bool) -> bytes:
    if atomic:
        return b"(?>" + body + b")"
    name = b"_g%d" % next(_names)
    return b"(?=(?P<" + name + b">" + body + b"))(?P=" + name + b")"


def _translate(pattern: bytes, atomic: bool) -> bytes:
    segs = _segments(parse(pattern))
    if len(segs) == 1:
        return b"(?s:" + _source(segs[0]) + b")\\Z"
    first, middles, last = segs[0], segs[1:-1], segs[-1]
    if not first and not middles and not last:
        return b"(?s:.+)\\Z"  # only stars: any key but the empty one
    out = [b"(?s:", _source(first)]
    for seg in middles:
        out.append(_atomic(b".*?" + _source(seg), atomic))
    out.append(b".*" + _source(last))
    out.append(b")\\Z")
    return b"".join(out)


def translate(pattern: bytes) -> bytes:
    """Regex source (bytes) for ``re.match``: matches exactly the keys ``stringmatchlen`` matches, anchored at both
    ends, in bounded time (see the module docstring); safe to join with ``|`` into one regex of several globs.
    No special case for ``*`` (it gives ``.+``: every key but the empty one)."""
    return _translate(pattern, ATOMIC_GROUPS)


def _always(key: bytes) -> bool:
    return True


class _Chunk:
    """Up to ``CHUNK`` consecutive atoms of one segment: a literal (bytes compare) or a regex compiled on first
    use, so a long pattern costs regex compilation only for the parts some key actually reaches."""

    __slots__ = ("width", "lit", "src", "_rx")

    def __init__(self, atoms: list):
        self.width = len(atoms)
        self.lit = _literal(atoms)
        self.src = None if self.lit is not None else b"(?s:" + _source(atoms) + b")"
        self._rx = None

    def rx(self):
        if self._rx is None:
            self._rx = re.compile(self.src)
        return self._rx

    def at(self, key: bytes, pos: int) -> bool:
        if self.lit is not None:
            return key.startswith(self.lit, pos)
        return self.rx().match(key, pos) is not None

    def find(self, key: bytes, pos: int, end: int) -> int:
        """The leftmost start >= pos of a match lying within key[:end], or -1."""
        if self.lit is not None:
            return key.find(self.lit, pos, end)
        m = self.rx().search(key, pos, end)
        return -1 if m is None else m.start()


CHUNK = 256


class _Segment:
    __slots__ = ("width", "chunks")

    def __init__(self, atoms: list):
        self.width = len(atoms)
        self.chunks = [_Chunk(atoms[i:i + CHUNK]) for i in range(0, len(atoms), CHUNK)]

    def at(self, key: bytes, pos: int) -> bool:
        for c in self.chunks:
            if not c.at(key, pos):
                return False
            pos += c.width
        return True

    def find(self, key: bytes, pos: int, end: int) -> int:
        """The leftmost start >= pos of a match lying within key[:end], or -1."""
        head, rest = self.chunks[0], self.chunks[1:]
        while True:
            q = head.find(key, pos, end)
            if q < 0 or q + self.width > end:
                return -1
            p = q + head.width
            for c in rest:
                if not c.at(key, p):
                    break
                p += c.width
            else:
                return q
            pos = q + 1


class _Walker:
    """The long-pattern matcher: the same leftmost-segment strategy as the regex (see the module docstring),
    walked in Python with C-level ``find``/``search`` per segment. Setup is a parse, O(len(pattern)); a key costs
    O(len(key) * len(pattern)) at worst."""

    __slots__ = ("starred", "first", "middles", "last", "minlen")

    def __init__(self, segs: list):
        self.starred = len(segs) > 1
        self.first = _Segment(segs[0])
        self.middles = [_Segment(s) for s in segs[1:-1]]
        self.last = _Segment(segs[-1]) if self.starred else None
        self.minlen = sum(len(s) for s in segs)

    def __call__(self, key: bytes) -> bool:
        n = len(key)
        if n < self.minlen or (n == 0 and self.starred):  # only-star patterns never match the empty key
            return False
        if not self.starred:
            return n == self.minlen and self.first.at(key, 0)
        if not self.first.at(key, 0):
            return False
        pos, end = self.first.width, n - self.last.width
        for seg in self.middles:
            q = seg.find(key, pos, end)
            if q < 0:
                return False
            pos = q + seg.width
        return pos <= end and self.last.at(key, end)


def _compile(pattern: bytes, allkeys_star: bool, atomic: bool, walker: Optional[bool] = None
             ) -> Callable[[bytes], object]:
    """The predicate for pattern: a bytes method for plain shapes, one regex for patterns up to ``LONG_PATTERN``
    bytes, the walker beyond (or as ``walker`` forces, for tests)."""
    if allkeys_star and pattern == b"*":
        return _always
    segs = _segments(parse(pattern))
    lits = [_literal(s) for s in segs]
    if all(x is not None for x in lits):
        if len(segs) == 1:
            return lits[0].__eq__
        if len(segs) == 2 and lits[0] and not lits[1]:
            return methodcaller("startswith", lits[0])
        if len(segs) == 2 and not lits[0] and lits[1]:
            return methodcaller("endswith", lits[1])
        if len(segs) == 3 and not lits[0] and lits[1] and not lits[2]:
            return re.compile(re.escape(lits[1])).search  # faster than a bound ``in`` (methodcaller, lambda)
    if walker if walker is not None else len(pattern) > LONG_PATTERN:
        return _Walker(segs)
    return re.compile(_translate(pattern, atomic)).match


@lru_cache(maxsize=1024)
def _cached(pattern: bytes, allkeys_star: bool) -> Callable[[bytes], object]:
    return _compile(pattern, allkeys_star, ATOMIC_GROUPS)


def compile_glob(pattern: bytes, allkeys_star: bool = True) -> Callable[[bytes], object]:
    """A predicate ``p(key)`` that is truthy exactly when key matches the glob (a match object or True; falsy
    otherwise), cached per pattern. With ``allkeys_star`` (KEYS, SCAN, ACL), the pattern ``*`` matches every key,
    the empty one included; without it (PSUBSCRIBE), ``*`` matches as ``stringmatchlen`` does."""
    if len(pattern) > LONG_PATTERN:
        return _compile(pattern, allkeys_star, ATOMIC_GROUPS)
    return _cached(pattern, allkeys_star)


def glob_match(pattern: bytes, key: bytes) -> bool:
    """Whether key matches the glob, ``*`` matching every key (the KEYS convention)."""
    return bool(compile_glob(pattern)(key))
