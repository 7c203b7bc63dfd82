"""Sans-I/O request reader: bytes in, argument lists out. No sockets, no trio.

Usage::

    reader.feed(chunk)                 # at most one receive's worth (<= 64 KiB) at a time
    while batch := reader.drain():     # or: while (argv := reader.next()) is not None
        ...                            # argv: list[bytes], never empty
    # drain()/next() raise ProtocolError once the stream is malformed; requests before the bad frame come out first.

Framing is Redis 7.0's (``processInputBuffer`` in networking.c), byte for byte, by one authority: the reference
parser in this module (``_parse``). A request whose first byte is ``*`` is a multibulk request, whose every element
must start with ``$``; any other first byte starts an inline request, a line split as ``sdssplitargs`` splits it.
The header lines (count, bulk length) end at the first ``\\r`` with at least one byte after it, whatever that byte
is, and the two bytes after a bulk are skipped unread, as Redis does; a NUL stops Redis' search for a line end
(``strchr``), so a header or inline line with a NUL before its end waits until 64 KiB have piled up and is then
too big. Counts up to 2^31-1 are accepted (Redis 7.0's limit) and ``<= 0`` is an empty request; nothing is ever
allocated for a count or a bulk length before the bytes arrive: arguments are appended as they complete.

Speed: hiredis' C ``Reader`` parses the usual traffic (13x faster than Python, TECH.md §2), but only where it
cannot read anything differently from Redis or allocate for what has not arrived. It is handed a receive only when
(1) the reader is at a request boundary, (2) the client is authenticated (and ``max_bulk_len`` is not below the
length of a receive), (3) the receive starts with '*' and holds
no push header count (``>`` and four digits) and no ``*`` followed by four digits (hiredis preallocates the list of
an aggregate when it reads its header; a count of 1000 or more goes to the reference parser, so hiredis holds at
most 999 slots per level, 7 levels, before a nested array is caught). hiredis accepts RESP3 items where Redis only
accepts ``$`` (elements) and ``*`` (requests); the items that it turns into the same Python values as those (``+``
status, ``(`` big number, ``=`` verbatim -> bytes; ``~`` set, ``|`` attribute -> lists) all start with one of
``+ ( = ~ |``, a byte hiredis drops: so when the receive holds such bytes, each must occur as often in the arguments
as in the receive (``_canonical``); any other item comes out as something other than bytes (int, float, None,
error, dict, nested list) and is caught. Whenever hiredis' output fails these checks, or it raises, its result for
that receive is dropped and the reference parser reads the receive from its start (nothing of it has been handed
out yet). A receive that ends inside a request: the requests hiredis returned are canonical, so their length on the
wire is known (``_wire_len``), and the reference parser takes over at the start of the unfinished request (when the
receive holds one of ``+ ( = ~ |`` this is not known, and the reference parser reads it whole; but with '=' alone,
as in random printable values, a second hiredis reading up to that start tells, ``_reads_exactly``); it hands back
to hiredis at the first request boundary after the item it was waiting on.

Limits (SPEC §1): bulk length above ``max_bulk_len``, count above ``max_multibulk_len``, count and inline lines over
64 KiB without an end, a request whose arguments exceed ``max_query_buffer``, and before authentication counts over
10 and bulks over 16 KiB, are refused with Redis' protocol error texts. Before authentication requests come out one
at a time, so that an AUTH lifts the limits for what follows it (the caller sets ``authenticated`` in between).

Complexity contract: every received byte is scanned a bounded number of times: the screens of (3) and the counts
of ``_canonical`` a few times each, hiredis at most twice, the reference parser at most twice (an unfinished item is
kept in pieces and joined once when it can complete; only the new piece is searched for a line end). A client cannot
make parsing quadratic.
hiredis gets a long receive ``FEED_PIECE`` bytes at a time, because it moves its unparsed bytes to the front of its
buffer after each request: a whole 64 KiB receive of 1 KiB requests would be moved ~30 KiB per request.
"""
from __future__ import annotations

import re
from itertools import chain
from operator import itemgetter

import hiredis

from .errors import ProtocolError

INLINE_MAX = 64 * 1024            # PROTO_INLINE_MAX_SIZE: longest line (inline, count, bulk length) without an end
COUNT_MAX = 2 ** 31 - 1           # Redis 7.0 accepts multibulk counts up to INT_MAX
FAST_MAX = 64 * 1024              # longest receive hiredis is handed at once (longer ones are cut)
FEED_PIECE = 4096                 # hiredis is handed a receive this much at a time (see the module docstring)
ARG_OVERHEAD = 64                 # bytes of memory counted per argument against max_query_buffer

# (3): bytes that start RESP3 items hiredis would read as the same values as '$' or '*' items
_SCREEN_BYTES = (b"+", b"(", b"=", b"~", b"|")
_BIG_COUNT = re.compile(rb"\*[1-9]\d{3}")
_BIG_PUSH = re.compile(rb">[1-9]\d{3}")
_DIGITS = bytes(len(str(i)) for i in range(FAST_MAX + 1))  # decimal digits of each length a receive can hold


def _screen(data: bytes):
    """Whether hiredis may read data (condition (3) of the module docstring): None when not (a push header or a '*'
    count of 1000 or more: hiredis would preallocate), else the bytes of _SCREEN_BYTES that data holds, whose counts
    ``_fast`` checks in hiredis' output.

    '*' counts: a long receive of big values holds few '*': there each '*' is found with memchr and only its
    neighbourhood is matched, several times faster than the regex's byte loop over the payloads; once '*' prove
    denser than one per 512 bytes, the regex does the rest.

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
    # that TypeError costs ~100 ns per test, several times the memchr over a receive of GETs
    if 0x2B in data or 0x28 in data or 0x3D in data or 0x7E in data or 0x7C in data:  # + ( = ~ |
        return tuple([b for b in _SCREEN_BYTES if b[0] in data])
    return ()


# what the reference parser is waiting for
_NOTHING, _LINE, _CR, _BULK, _STUCK = range(5)
# the kind of line: inline request, multibulk count, bulk length (for "too big ..." and where a line ends)
_INLINE, _COUNT, _LENGTH = range(3)
_TOO_BIG = ("too big inline request", "too big mbulk count string", "too big bulk count string")
_ONE, _HANDBACK = 1, 2  # why _parse stopped early


def _canonical(data: bytes, out: list, start: int, joined: list, check: tuple) -> bool:
    """Whether the requests out[start:] that hiredis read from data (all of it) are what Redis reads there: each of
    the bytes in check occurs in their arguments as often as in data (an item read as a bulk or array without
    being one loses its first byte, one of them). With '=' alone, counting the encoded length is cheaper for long
    values and as exact: '=' (verbatim) is the only such item in data, and it is longer on the wire than the bulk
    it reads as (the two bytes after a bulk count whatever they are)."""
    if check == (b"=",) and len(data) > 256 * (len(out) - start):
        return _wire_len(out[start:]) == len(data)
    args = b"".join(joined)
    for b in check:
        if data.count(b) != args.count(b):
            return False
    return True


def _wire_len(reqs) -> int:
    """Bytes of reqs encoded as multibulk requests: what hiredis consumed for them (it read only '*' and '$' items,
    each shorter than a receive; the two bytes after a bulk count whatever they were)."""
    lens = list(map(len, chain.from_iterable(reqs)))
    counts = list(map(len, reqs))
    return sum(lens) + 5 * len(lens) + _digits(lens) + 3 * len(counts) + _digits(counts)


def _digits(lens: list) -> int:
    """Decimal digits of all of lens (each at most FAST_MAX). One itemgetter call looks them all up in C, a third of
    the cost of a map over ``_DIGITS.__getitem__``; two lookups of 0 (one digit each) make it return a tuple even
    for one length or none."""
    return sum(itemgetter(0, 0, *lens)(_DIGITS)) - 2


def _reads_exactly(data: bytes, end: int, count: int) -> bool:
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


def string2ll(s: bytes) -> int | None:
    """Redis' ``string2ll``: an optional '-', no leading zeros (``0`` alone), no '+' or spaces, fits int64."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s.isdigit():
        if s[0] == 0x30 and n > 1:
            return None
    elif not (s[0] == 0x2D and n > 1 and s[1] != 0x30 and s[1:].isdigit()):
        return None
    v = int(s)
    return v if -(1 << 63) <= v < (1 << 63) else None


class RequestReader:
    """Incremental request parser for one connection."""

    __slots__ = ("_reader", "_gets", "_has_data", "_fresh", "_ready", "_buf", "_pos", "_wait", "_kind", "_parts",
                 "_parts_len", "_cr_seen", "_left", "_args", "_size", "_bulk", "_error", "max_bulk_len",
                 "max_multibulk_len", "max_query_buffer", "authenticated")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024, max_multibulk_len: int = COUNT_MAX,
                 max_query_buffer: int = 1024 * 1024 * 1024, authenticated: bool = True):
        self._new_hiredis()
        self._fresh: list[bytes] = []   # receives not looked at yet
        self._ready: list = []           # requests parsed and not handed out yet (next() only)
        # the reference parser: unparsed bytes, where it stands, what it is waiting for
        self._buf = b""
        self._pos = 0
        self._wait = _NOTHING
        self._kind = _INLINE
        self._parts: list[bytes] = []   # an unfinished item (from its first byte), kept in pieces
        self._parts_len = 0
        self._cr_seen = False            # _CR: the pieces end with the '\r' (one more byte completes the line)
        self._left = 0                   # elements still to come in the multibulk request being read
        self._args: list[bytes] = []
        self._size = 0                   # its arguments' size, counted against max_query_buffer
        self._bulk = 0                   # _BULK: bytes awaited (payload + 2)
        self._error: ProtocolError | None = None
        self.max_bulk_len = max_bulk_len
        self.max_multibulk_len = max_multibulk_len
        self.max_query_buffer = max_query_buffer
        self.authenticated = authenticated

    def _new_hiredis(self) -> None:
        self._reader = hiredis.Reader()
        self._gets = self._reader.gets
        self._has_data = self._reader.has_data

    # ------------------------------------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:
        """Add received bytes. Parsing happens in ``drain``/``next``; feed one receive (<= 64 KiB) at a time."""
        if self._error is None and data:
            self._fresh.append(data)

    # ------------------------------------------------------------------------------------------------ output
    def drain(self) -> list[list[bytes]]:
        """Every complete request buffered now, in order; an empty list when more data is needed. Requests before a
        malformed frame come out first, and the call after them raises ProtocolError. Before authentication, at
        most one request per call."""
        if self._ready:
            out, self._ready = self._ready, []
            return out
        out: list[list[bytes]] = []
        fresh = self._fresh
        while self._error is None:
            handback = False
            if self._wait == _NOTHING and self._pos >= len(self._buf):  # at a boundary, nothing buffered
                if not fresh:
                    break
                data = fresh.pop(0)
                if len(data) > FAST_MAX:
                    fresh[0:0] = [data[i:i + FAST_MAX] for i in range(FAST_MAX, len(data), FAST_MAX)]
                    data = data[:FAST_MAX]
                if self.authenticated and data[0] == 0x2A and self.max_bulk_len >= FAST_MAX:
                    check = _screen(data)
                    if check is not None and self._fast(data, out, check):
                        continue
                self._add(data)
            elif self._wait != _NOTHING:  # inside an item: this receive may complete it
                if not fresh:
                    break
                self._add(fresh.pop(0))
                handback = True
                if self._wait != _NOTHING:
                    continue
            stop = self._parse(out, handback)
            if stop == _ONE:
                break
            if stop == _HANDBACK:  # a request boundary after the item: the rest may be for hiredis
                fresh.insert(0, self._buf[self._pos:])
                self._buf = b""
                self._pos = 0
        if not out and self._error is not None:
            raise self._error
        return out

    def next(self) -> list[bytes] | None:
        """The next complete request, or None when more data is needed. Raises ProtocolError when malformed."""
        if not self._ready:
            self._ready = self.drain()
            if not self._ready:
                return None
        return self._ready.pop(0)

    def buffered(self) -> int:
        """Bytes received and not yet handed out as requests (CLIENT LIST qbuf): receives not looked at, the
        reference parser's unparsed bytes and unfinished item, the arguments of the request it is reading, and
        requests parsed ahead for ``next``. (hiredis holds nothing between calls.)"""
        return (sum(map(len, self._fresh)) + len(self._buf) - self._pos + self._parts_len + self._size
                + sum(len(a) for req in self._ready for a in req))

    # ------------------------------------------------------------------------------------------------ hiredis
    def _fast(self, data: bytes, out: list, check: tuple) -> bool:
        """Parse a receive that starts at a request boundary with hiredis (see the module docstring). False when its
        output is not a request stream: the caller then gives data to the reference parser, from its start.

        ``check``: the bytes among ``+ ( = ~ |`` that data holds. An item that hiredis reads as a bulk or an array
        without being one starts with one of them, which hiredis drops: so each must occur in the arguments as
        often as in data, else the receive goes to the reference parser. (Counted when hiredis ends at a request
        boundary; a receive with such bytes that ends inside a request goes to the reference parser whole.)"""
        start = len(out)
        append = out.append
        join = b"".join
        joined = [] if check else None
        gets = self._gets
        has_data = self._has_data
        n = len(data)
        fed = n if n <= FEED_PIECE else FEED_PIECE
        self._reader.feed(data, 0, fed)
        try:
            while True:
                req = gets()
                if req is False:
                    if fed < n:
                        piece = n - fed if n - fed <= FEED_PIECE else FEED_PIECE
                        self._reader.feed(data, fed, piece)
                        fed += piece
                        continue
                    break  # a request continues in the next receive
                if type(req) is not list or not req:
                    raise TypeError
                if joined is None:
                    join(req)  # TypeError unless every element is bytes: hiredis gives bytes for '$' (and check's)
                else:
                    joined.append(join(req))
                append(req)
                if not has_data():
                    if fed == n:
                        if joined is not None and not _canonical(data, out, start, joined, check):
                            raise TypeError
                        return True
                    piece = n - fed if n - fed <= FEED_PIECE else FEED_PIECE
                    self._reader.feed(data, fed, piece)
                    fed += piece
        except Exception:  # hiredis' ProtocolError, a non-request shape, anything hiredis itself failed on
            del out[start:]
            self._new_hiredis()
            return False
        # hiredis holds the start of a request: the reference parser reads it again, from its first byte
        self._new_hiredis()
        end = _wire_len(out[start:]) if len(out) > start else 0
        # where it starts is only known for canonical requests; with '=' alone, they are when hiredis reads exactly
        # them from data[:end] (see _reads_exactly)
        if check and (check != (b"=",) or not _reads_exactly(data, end, len(out) - start)):
            del out[start:]
            return False
        self._buf = data
        self._pos = end
        self._parse(out)
        return True

    # ------------------------------------------------------------------------------------------------ reference
    def _add(self, data: bytes) -> None:
        """Give data to the reference parser: to its buffer, or to the unfinished item it is waiting on."""
        wait = self._wait
        if wait == _NOTHING:
            if self._pos >= len(self._buf):
                self._buf = data
            else:
                self._buf = self._buf[self._pos:] + data
            self._pos = 0
            return
        self._parts_len += len(data)
        if wait == _STUCK:  # no line end can come any more: only counting towards "too big"
            if self._parts_len > INLINE_MAX:
                self._set_error(_TOO_BIG[self._kind])
            return
        self._parts.append(data)
        if wait == _BULK:
            done = self._parts_len >= self._bulk
        elif wait == _LINE:
            lf = data.find(b"\n")
            nul = data.find(b"\x00", 0, lf if lf >= 0 else len(data))
            if nul >= 0:
                done = False
                self._stuck()
            else:
                done = lf >= 0
        else:  # _CR: the line ends at its first '\r', once one more byte has arrived
            if self._cr_seen:
                done = True
            else:
                cr = data.find(b"\r")
                nul = data.find(b"\x00", 0, cr if cr >= 0 else len(data))
                if nul >= 0:
                    done = False
                    self._stuck()
                else:
                    done = 0 <= cr < len(data) - 1
                    self._cr_seen = cr == len(data) - 1
        if done:
            self._buf = b"".join(self._parts)
            self._pos = 0
            self._parts = []
            self._wait = _NOTHING
        elif self._wait != _STUCK and self._wait != _BULK and not self._cr_seen and self._parts_len > INLINE_MAX:
            self._set_error(_TOO_BIG[self._kind])

    def _stuck(self) -> None:
        """A NUL before the line's end: Redis' strchr never finds the end; the request grows until it is too big."""
        self._wait = _STUCK
        self._parts = []
        if self._parts_len > INLINE_MAX:
            self._set_error(_TOO_BIG[self._kind])

    def _hold(self, pos: int, wait: int, kind: int = _INLINE) -> None:
        """Keep buf[pos:] (the start of an unfinished item) until it can complete."""
        rest = self._buf[pos:] if pos else self._buf
        self._buf = b""
        self._pos = 0
        self._wait = wait
        self._kind = kind
        self._parts = [rest] if rest else []
        self._parts_len = len(rest)
        self._cr_seen = wait == _CR and rest[-1:] == b"\r"

    def _parse(self, out: list, handback: bool = False) -> int:
        """Redis' processInputBuffer over the buffered bytes: complete requests to out, until the bytes run out (or
        an item is unfinished: it is then held, see ``_hold``), or an error (kept in ``_error``). Returns _ONE when
        it stopped after a request because the client is not authenticated (the caller must let it run before
        reading on), _HANDBACK at the first request boundary when ``handback`` is set (an authenticated client and a
        multibulk request next: hiredis may read on), else 0."""
        if self._wait != _NOTHING or self._error is not None:
            return 0
        buf = self._buf
        pos = self._pos
        n = len(buf)
        find = buf.find
        args = self._args
        try:
            while True:
                if self._bulk:  # the payload of a bulk whose header is read, then any two bytes
                    end = pos + self._bulk
                    if end > n:
                        self._hold(pos, _BULK)
                        return 0
                    args.append(buf[pos:end - 2])
                    pos = end
                    self._bulk = 0
                    self._left -= 1
                    if self._left:
                        continue
                    out.append(args)
                    self._args = args = []
                    if not self.authenticated:
                        self._pos = pos
                        return _ONE
                    if handback and pos < n and buf[pos] == 0x2A:
                        self._pos = pos
                        return _HANDBACK
                if pos >= n:
                    break
                if self._left == 0:  # a request starts here
                    if buf[pos] != 0x2A:  # an inline request: a line up to '\n' (not across a NUL)
                        lf = find(b"\n", pos)
                        nul = find(b"\x00", pos, lf if lf >= 0 else n)
                        if nul >= 0 or lf < 0:
                            if n - pos > INLINE_MAX:
                                raise self._set_error(_TOO_BIG[_INLINE])
                            self._hold(pos, _LINE, _INLINE)
                            if nul >= 0:
                                self._stuck()
                            return 0
                        end = lf - 1 if lf > pos and buf[lf - 1] == 0x0D else lf
                        try:
                            argv = split_inline(buf[pos:end])
                        except ProtocolError as e:
                            raise self._set_error(e.text) from None
                        pos = lf + 1
                        if argv:
                            out.append(argv)
                            if not self.authenticated:
                                self._pos = pos
                                return _ONE
                        if handback and pos < n and buf[pos] == 0x2A:
                            self._pos = pos
                            return _HANDBACK
                        continue
                    # "*<count>\r" and any byte
                    cr = find(b"\r", pos)
                    count = string2ll(buf[pos + 1:cr]) if 0 <= cr <= n - 2 else None
                    if count is None:
                        if self._unfinished_line(buf, pos, cr, _COUNT):
                            return 0
                        raise self._set_error("invalid multibulk length")
                    if count > self.max_multibulk_len:
                        raise self._set_error("invalid multibulk length")
                    if count > 10 and not self.authenticated:
                        raise self._set_error("unauthenticated multibulk length")
                    pos = cr + 2
                    if count <= 0:  # an empty request: no reply
                        if handback and pos < n and buf[pos] == 0x2A:
                            self._pos = pos
                            return _HANDBACK
                        continue
                    self._left = count
                    self._size = 0
                # an element: "$<length>\r" and any byte
                cr = find(b"\r", pos)
                head = buf[pos + 1:cr]
                if 0 <= cr <= n - 2 and buf[pos] == 0x24 and head.isdigit() and (head[0] != 0x30 or len(head) == 1) \
                        and len(head) < 19:
                    length = int(head)
                else:
                    if self._unfinished_line(buf, pos, cr, _LENGTH):
                        return 0
                    if buf[pos] != 0x24:
                        got = buf[pos:pos + 1].replace(b"\r", b" ").replace(b"\n", b" ")
                        raise self._set_error("expected '$', got '%s'" % got.decode("latin-1"))
                    length = string2ll(head)
                    if length is None or length < 0:
                        raise self._set_error("invalid bulk length")
                if length > self.max_bulk_len:
                    raise self._set_error("invalid bulk length")
                if length > 16384 and not self.authenticated:
                    raise self._set_error("unauthenticated bulk length")
                self._size += length + ARG_OVERHEAD
                if self._size > self.max_query_buffer:
                    raise self._set_error("invalid bulk length")
                pos = cr + 2
                self._bulk = length + 2
            self._pos = pos
            return 0
        except ProtocolError:
            return 0

    def _unfinished_line(self, buf: bytes, pos: int, cr: int, kind: int) -> bool:
        """Whether the header line at pos cannot be read yet (then it is held): Redis' strchr finds no '\r' (none
        yet, or a NUL comes first: then never), or nothing follows the '\r' yet. Raises when too big."""
        n = len(buf)
        nul = buf.find(b"\x00", pos, cr if cr >= 0 else n)
        if cr >= 0 and nul < 0:
            if cr <= n - 2:
                return False
            self._hold(pos, _CR, kind)
            return True
        if n - pos > INLINE_MAX:
            raise self._set_error(_TOO_BIG[kind])
        self._hold(pos, _CR, kind)
        if nul >= 0:
            self._stuck()
        return True

    def _set_error(self, text: str) -> ProtocolError:
        """Keep the error (the next call raises it, after the requests before it) and drop all input."""
        err = ProtocolError(text)
        self._error = err
        self._fresh = []
        self._buf = b""
        self._pos = 0
        self._parts = []
        self._wait = _STUCK
        return err


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline request as Redis' ``sdssplitargs`` does; ProtocolError when quotes are unbalanced.

    Blanks before a token are what C's isspace() takes (space, \\t, \\n, \\v, \\f, \\r), but a token without quotes
    ends only at space, \\t, \\n, \\r (\\v and \\f belong to it); a closing quote must be followed by an isspace()
    byte or the end. The line is a C string there: it ends at its first NUL."""
    if b"\x00" in line:
        line = line[:line.index(b"\x00")]
    if b'"' not in line and b"'" not in line and b"\x0b" not in line and b"\x0c" not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    raise ProtocolError("unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _ishex(line[i + 2]) and _ishex(line[i + 3]):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in _ISSPACE:
                        raise ProtocolError("unbalanced quotes in request")
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    raise ProtocolError("unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in _ISSPACE:
                        raise ProtocolError("unbalanced quotes in request")
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _TOKEN_END:
                    break
                if c == 0x22:
                    inq = True
                elif c == 0x27:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


_ISSPACE = b" \t\n\x0b\x0c\r"
_TOKEN_END = b" \t\n\r"
_ESCAPES = {0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07}


def _ishex(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66
