"""Redis glob patterns (KEYS, SCAN MATCH, ACL key patterns) compiled to byte regexes.

Semantics follow Redis' ``stringmatchlen``: ``*`` any run, ``?`` one byte, ``[abc]`` a class, ``[^a]`` negation
(only ``^``; ``[!a]`` matches ``!`` or ``a``), ranges ``[a-z]`` (reversed ranges match too), ``\\x`` escapes any
byte, also inside classes. Matching is on bytes and case-sensitive. An unterminated class is closed at the end of
the pattern, as Redis does.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable


def _lit(b: int) -> bytes:
    return re.escape(bytes((b,)))


def translate(pattern: bytes) -> bytes:
    """The regex source (bytes) equivalent to a Redis glob pattern, anchored at both ends."""
    out = [b"(?s:"]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 0x2A:  # *
            while i + 1 < n and pattern[i + 1] == 0x2A:
                i += 1
            out.append(b".*")
        elif c == 0x3F:  # ?
            out.append(b".")
        elif c == 0x5C and i + 1 < n:  # backslash escape
            i += 1
            out.append(_lit(pattern[i]))
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
                elif i + 2 < n and pattern[i + 1] == 0x2D:  # Redis takes a range even when it ends in ']'
                    lo, hi = ch, pattern[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    items.append(_lit(lo) + b"-" + _lit(hi))
                    i += 2
                else:
                    items.append(_lit(ch))
                i += 1
            # i is at ']' or the end of the pattern (Redis treats the end as closing the class)
            body = b"".join(items)
            if not body:
                out.append(b"(?!)" if not negate else b".")
            else:
                out.append(b"[" + (b"^" if negate else b"") + body + b"]")
        else:
            out.append(_lit(c))
        i += 1
    out.append(b")\\Z")
    return b"".join(out)


@lru_cache(maxsize=1024)
def compile_glob(pattern: bytes) -> Callable[[bytes], bool]:
    """A predicate telling whether a key matches pattern (cached per pattern)."""
    if pattern == b"*":
        return lambda key: True
    rx = re.compile(translate(pattern))
    match = rx.match
    return lambda key: match(key) is not None


def glob_match(pattern: bytes, key: bytes) -> bool:
    return compile_glob(pattern)(key)
