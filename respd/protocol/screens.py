"""What hiredis may read, and checks of what it read: the screens behind ``RequestReader``'s fast path.

hiredis' C ``Reader`` accepts RESP3 items where Redis only accepts ``$`` (elements) and ``*`` (requests), and
preallocates the list of an aggregate when it reads its header. A receive goes to hiredis only when ``screen``
finds no push header count (``>`` and four digits) and no ``*`` followed by four digits (so hiredis holds at most
999 slots per level, 7 levels, before a nested array is caught). The RESP3 items that hiredis turns into the same
Python values as ``$`` and ``*`` items (``+`` status, ``(`` big number, ``=`` verbatim -> bytes; ``~`` set, ``|``
attribute -> lists) all start with one of ``+ ( = ~ |``, a byte hiredis drops: when a receive holds such bytes, each
must occur as often in the arguments as in the receive (``canonical``); any other item comes out as something
other than bytes (int, float, None, error, dict, nested list) and the reader catches it.

``wire_len`` gives the length on the wire of canonical requests (where the reference parser takes over in a receive
that ends inside a request); ``reads_exactly`` decides it for a receive whose only such byte is ``=``.
"""
from __future__ import annotations

import re
from itertools import chain
from operator import itemgetter

import hiredis

FAST_MAX = 64 * 1024              # longest receive hiredis is handed at once (longer ones are cut)
FEED_PIECE = 4096                 # hiredis is handed a receive this much at a time (see respd.protocol.reader)

# bytes that start RESP3 items hiredis would read as the same values as '$' or '*' items
_SCREEN_BYTES = (b"+", b"(", b"=", b"~", b"|")
_BIG_COUNT = re.compile(rb"\*[1-9]\d{3}")
_BIG_PUSH = re.compile(rb">[1-9]\d{3}")
_DIGITS = bytes(len(str(i)) for i in range(FAST_MAX + 1))  # decimal digits of each length a receive can hold


def screen(data: bytes):
    """Whether hiredis may read data (condition (3) of ``respd.protocol.reader``): None when not (a push header or a '*'
    count of 1000 or more: hiredis would preallocate), else the bytes of _SCREEN_BYTES that data holds, whose counts
    ``RequestReader._fast`` checks in hiredis' output.

    '*' counts: a long receive of big values holds few '*': there each '*' is found with memchr and only its
    neighbourhood is matched, instead of the regex's byte loop over the payloads (bench/README.md, "Request
    reader"); once '*' prove denser than one per 512 bytes, the regex does the rest.

    The screens look for the bare bytes, not for them after a '\\n' (a search for '\\n>' would skip most payloads):
    hiredis reads an item where the previous one ended, which is two bytes after a bulk whatever those two bytes
    are (Redis skips them unread too), so an item need not follow a '\\n'
    (``*1\\r\\n$4\\r\\nPINGxy>2147483647\\r\\n``). Nor would it be cheaper: CPython searches for two bytes with a byte
    loop, slower than the regex."""
    if 0x3E in data and _BIG_PUSH.search(data) is not None:  # '>' (an int needle: see below)
        return None
    if len(data) < 8192:
        if _BIG_COUNT.search(data) is not None:
            return None
    else:
        find = data.find
        end = len(data) - 4  # a match needs four bytes after its '*'
        i = find(42)
        hits = 0
        while 0 <= i < end:
            if 0x30 <= data[i + 2] <= 0x39 and 0x31 <= data[i + 1] <= 0x39 and _BIG_COUNT.match(data, i) is not None:
                return None
            hits += 1
            if hits << 9 > i + 4096:
                if _BIG_COUNT.search(data, i + 1) is not None:
                    return None
                break
            i = find(42, i + 1)
    # one memchr each. An int needle: with a bytes needle 'in' first tries it as an int, and raising and clearing
    # that TypeError costs more than the memchr over a receive of GETs (bench/README.md, "Request reader")
    if 0x2B in data or 0x28 in data or 0x3D in data or 0x7E in data or 0x7C in data:  # + ( = ~ |
        return tuple([b for b in _SCREEN_BYTES if b[0] in data])
    return ()


def canonical(data: bytes, out: list, start: int, joined: list, check: tuple) -> bool:
    """Whether the requests out[start:] that hiredis read from data (all of it) are what Redis reads there: each of
    the bytes in check occurs in their arguments as often as in data (an item read as a bulk or array without
    being one loses its first byte, one of them). With '=' alone, counting the encoded length is cheaper for long
    values and as exact: '=' (verbatim) is the only such item in data, and it is longer on the wire than the bulk
    it reads as (the two bytes after a bulk count whatever they are)."""
    if check == (b"=",) and len(data) > 256 * (len(out) - start):
        return wire_len(out[start:]) == len(data)
    args = b"".join(joined)
    for b in check:
        if data.count(b) != args.count(b):
            return False
    return True


def wire_len(reqs) -> int:
    """Bytes of reqs encoded as multibulk requests: what hiredis consumed for them (it read only '*' and '$' items,
    each shorter than a receive; the two bytes after a bulk count whatever they were)."""
    lens = list(map(len, chain.from_iterable(reqs)))
    counts = list(map(len, reqs))
    return sum(lens) + 5 * len(lens) + _digits(lens) + 3 * len(counts) + _digits(counts)


def _digits(lens: list) -> int:
    """Decimal digits of all of lens (each at most FAST_MAX). One itemgetter call looks them all up in C, cheaper
    than a map over ``_DIGITS.__getitem__``; two lookups of 0 (one digit each) make it return a tuple even for one
    length or none."""
    return sum(itemgetter(0, 0, *lens)(_DIGITS)) - 2


def reads_exactly(data: bytes, end: int, count: int) -> bool:
    """Whether a fresh hiredis reads ``count`` requests from data[:end] and no byte more: for a receive that ends
    inside a request and holds '=' but none of + ( ~ |, whether the ``count`` requests hiredis read before it are
    canonical, so that the reference parser may take over at ``end`` (their encoded length).

    Why: the only items hiredis turns into bytes are then '$' and '=' (verbatim): the bytes of '+' and '(' are not
    there, and anything else comes out as another type and was refused. A verbatim item is longer on the wire than
    the bulk it reads as (``=L\\r\\nxxx:`` and L-4 bytes against ``$<L-4>\\r\\n``), so the requests end at ``end``
    when they are canonical and after it when not; hiredis reads a prefix of data as it read data, so it completes
    all ``count`` requests within data[:end] exactly when they end there."""
    if count == 0:
        return True
    reader = hiredis.Reader()
    gets = reader.gets
    done = 0
    fed = 0
    try:
        while fed < end:
            piece = end - fed if end - fed <= FEED_PIECE else FEED_PIECE
            reader.feed(data, fed, piece)
            fed += piece
            while gets() is not False:
                done += 1
    except Exception:
        return False
    return done == count and not reader.has_data()
