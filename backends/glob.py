"""Redis glob patterns (KEYS, SCAN MATCH, ACL key patterns; later PSUBSCRIBE) matched in bounded time.

Semantics are those of ``stringmatchlen`` in Redis 7.0.15 (src/util.c, ``nocase`` = 0), checked byte for byte
against a live redis-server by ``tests/differential/test_glob_vs_redis.py``:

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
``endswith`` and ``*lit*`` is a substring search.

Long patterns (over ``LONG_PATTERN`` bytes) do not become one regex: Python's regex compiler is slow per pattern
byte (bench/README.md, "Measured facts"), and that is paid before the first key. They go to ``_Walker``,
which applies the same leftmost-segment strategy segment by segment with C-level ``find``/``search``/``match``,
and splits, parses and compiles the pattern lazily, a chunk at a time, only as far as some key gets.
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

#: patterns longer than this use the walker (compiling a regex costs per pattern byte; the walker compiles only
#: the parts of the pattern a key reaches) and are not cached
LONG_PATTERN = 1024

_STAR = None  # the token for a run of stars in ``parse``'s output
_names = itertools.count()  # unique group names for the lookahead spelling (alternations of several globs)


_ESCAPED = [re.escape(bytes((b,))) for b in range(256)]


def _lit(b: int) -> bytes:
    return _ESCAPED[b]


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


_PREFIX = re.compile(rb"(?:[^*?\[\\]+|\\.)*" + (b"+" if ATOMIC_GROUPS else b""), re.S)
_UNESCAPE = re.compile(rb"\\(.)", re.S)


def literal_prefix(pattern: bytes) -> bytes:
    """The bytes every key matching the glob starts with (for an index or LIKE prefix filter), found at C speed."""
    return _UNESCAPE.sub(rb"\1", _PREFIX.match(pattern).group())


def _always(key: bytes) -> bool:
    return True


#: what stringmatchlen takes as one class: ``\x`` escapes, ``x-y`` ranges whose x is neither ``\`` nor ``]`` (y
#: may be ``]``), ``]`` closing, a class left open running to the end of the pattern (stars included)
_CLASS = rb"\[\^?(?:\\.|[^\]\\]-.|[^\]])*" + (b"+" if ATOMIC_GROUPS else b"") + rb"\]?"
#: a run of stars, or a run of star-free atoms (a segment); possessive where available (no backtracking is ever
#: needed, and ``re`` then keeps no state per repetition: a 50 MB pattern scans in about a second)
_SPLIT = re.compile(rb"(\*+)|((?:[^*\\\[]+|\\.|\\|" + _CLASS + rb")+" + (b"+" if ATOMIC_GROUPS else b"") + rb")",
                    re.S)
#: within a segment: a run of plain literal bytes, an escape, a lone trailing backslash, a class or a ``?``
_PIECE = re.compile(rb"[^\\\[?]+|\\.|\\|" + _CLASS + rb"|\?", re.S)

#: atoms per chunk: the unit in which the walker parses and compiles a long pattern
CHUNK = 256


class _Chunk:
    """Up to ``CHUNK`` consecutive atoms of a segment: literal bytes, or a regex compiled on first use."""

    __slots__ = ("width", "lit", "src", "_rx")

    def __init__(self, parts: list, width: int):
        """parts: ``(literal bytes, None)`` or ``(None, regex source of one atom)``, in order."""
        self.width = width
        self._rx = None
        if all(lit is not None for lit, _ in parts):
            self.lit, self.src = b"".join(lit for lit, _ in parts), None
        else:
            self.lit = None
            self.src = b"(?s:" + b"".join(re.escape(lit) if lit is not None else rx for lit, rx in parts) + b")"

    def rx(self):
        if self._rx is None:
            self._rx = re.compile(self.src)
        return self._rx

    def at(self, key: bytes, pos: int) -> bool:
        if self.lit is not None:
            return key.startswith(self.lit, pos)
        return self.rx().match(key, pos) is not None

    def find(self, key: bytes, pos: int) -> int:
        """The leftmost start >= pos of a match, or -1."""
        if self.lit is not None:
            return key.find(self.lit, pos)
        m = self.rx().search(key, pos)
        return -1 if m is None else m.start()


@lru_cache(maxsize=1024)
def _class_source(piece: bytes) -> bytes:
    return parse(piece)[0][0]


def _chunks(src: bytes, size: int):
    """A segment's chunks of up to size atoms, parsed as they are pulled."""
    parts: list = []
    width = 0
    for m in _PIECE.finditer(src):
        piece = m.group()
        c = piece[0]
        if c == 0x3F or c == 0x5B:  # ? or a class: one atom
            parts.append((None, b"." if c == 0x3F else _class_source(piece)))
            width += 1
            if width == size:
                yield _Chunk(parts, width)
                parts, width = [], 0
            continue
        lit = (piece[1:] or piece) if c == 0x5C else piece  # an escape, a lone backslash or a literal run
        i = 0
        while i < len(lit):
            take = min(size - width, len(lit) - i)
            parts.append((lit[i:i + take], None))
            width += take
            i += take
            if width == size:
                yield _Chunk(parts, width)
                parts, width = [], 0
    if parts:
        yield _Chunk(parts, width)


class _Segment:
    """The star-free run of atoms between two stars, parsed a chunk at a time only as far as keys reach."""

    __slots__ = ("_pending", "_chunks")

    def __init__(self, src: bytes, chunk: int):
        self._pending = _chunks(src, chunk)
        self._chunks: list[_Chunk] = []

    def _chunk(self, j: int) -> Optional[_Chunk]:
        chunks = self._chunks
        while len(chunks) <= j and self._pending is not None:
            c = next(self._pending, None)
            if c is None:
                self._pending = None
            else:
                chunks.append(c)
        return chunks[j] if j < len(chunks) else None

    def match(self, key: bytes, pos: int, j: int = 0) -> int:
        """Where the segment (from chunk j on) ends when matched at pos, or -1."""
        while True:
            c = self._chunk(j)
            if c is None:
                return pos
            if not c.at(key, pos):  # also fails when key ends first: parsing never runs ahead of the key
                return -1
            pos += c.width
            j += 1

    def find(self, key: bytes, pos: int) -> Optional[tuple[int, int]]:
        """(start, end) of the segment's leftmost match starting at or after pos, or None. Not for an empty
        segment (the walker has none in the middle)."""
        head = self._chunk(0)
        while True:
            q = head.find(key, pos)
            if q < 0:
                return None
            end = self.match(key, q + head.width, 1)
            if end >= 0:
                return q, end
            pos = q + 1

    def width_within(self, limit: int) -> int:
        """The segment's width if at most limit, else -1 (parsing no further than limit atoms)."""
        w, j = 0, 0
        while True:
            c = self._chunk(j)
            if c is None:
                return w
            w += c.width
            if w > limit:
                return -1
            j += 1


def _segment_sources(pattern: bytes):
    """The pattern's segments (bytes; k + 1 of them for k runs of stars), split off at C speed as needed."""
    cur = b""
    for m in _SPLIT.finditer(pattern):
        if m.lastindex == 1:
            yield cur
            cur = b""
        else:
            cur = m.group(2)
    yield cur


class _Walker:
    """The long-pattern matcher: the leftmost-segment strategy of the regex (see the module docstring), walked in
    Python with C-level ``find``/``search``/``match`` per chunk of a segment. The pattern is split, parsed and
    compiled lazily, only as far as some key gets, so preparing a long pattern costs O(what keys reach), not
    O(len(pattern)) up front (a megabyte pattern with a key of 75 bytes parses at most a few hundred atoms). A key
    costs O(len(key) * len(pattern)) at worst."""

    __slots__ = ("_sources", "_segs", "_complete", "_chunk")

    def __init__(self, pattern: bytes, chunk: int = CHUNK):
        self._sources = _segment_sources(pattern)
        self._chunk = chunk
        self._segs: list[_Segment] = []
        self._complete = False

    def _seg(self, i: int) -> Optional[_Segment]:
        """Segment i, or None past the last one."""
        segs = self._segs
        while len(segs) <= i and not self._complete:
            src = next(self._sources, None)
            if src is None:
                self._complete = True
            else:
                segs.append(_Segment(src, self._chunk))
        return segs[i] if i < len(segs) else None

    def __call__(self, key: bytes) -> bool:
        n = len(key)
        first, seg = self._seg(0), self._seg(1)
        if seg is None:  # no star
            return first.match(key, 0) == n
        if n == 0:  # a pattern with a star never matches the empty key
            return False
        pos = first.match(key, 0)
        if pos < 0:
            return False
        i = 1
        while True:
            after = self._seg(i + 1)
            if after is None:  # seg is the last segment: it must end the key, after what is placed
                w = seg.width_within(n - pos)
                return w >= 0 and seg.match(key, n - w) == n
            found = seg.find(key, pos)
            if found is None:
                return False
            pos, seg, i = found[1], after, i + 1


def _compile(pattern: bytes, allkeys_star: bool, atomic: bool, walker: Optional[bool] = None
             ) -> Callable[[bytes], object]:
    """The predicate for pattern: a bytes method for plain shapes, one regex for patterns up to ``LONG_PATTERN``
    bytes, the walker beyond (or as ``walker`` forces, for tests)."""
    if allkeys_star and pattern == b"*":
        return _always
    if walker if walker is not None else len(pattern) > LONG_PATTERN:
        return _Walker(pattern)
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
    return re.compile(_translate(pattern, atomic)).match


@lru_cache(maxsize=256)
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
