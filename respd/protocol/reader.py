"""``RequestReader``: the reference parser, with hiredis reading the usual traffic in its place.

hiredis' C ``Reader`` is much faster than Python (bench/README.md), but it is used only where it cannot read anything
differently from Redis or allocate for what has not arrived. It is handed a receive only when (1) the reader is at a
request boundary, (2) the client is authenticated (and ``max_bulk_len`` is not below the length of a receive),
(3) the receive starts with '*' and passes the screens of ``respd.protocol.screens``. Whenever hiredis' output fails
those checks, or it raises, its result for that receive is dropped and the reference parser reads the receive from
its start (nothing of it has been handed out yet). A receive that ends inside a request: the requests hiredis
returned are canonical, so their length on the wire is known (``wire_len``), and the reference parser takes over at
the start of the unfinished request (when the receive holds one of ``+ ( = ~ |`` this is not known, and the
reference parser reads it whole; but with '=' alone, as in random printable values, a second hiredis reading up to
that start tells, ``reads_exactly``); it hands back to hiredis at the first request boundary after the item it was
waiting on.

Complexity contract: every received byte is scanned a bounded number of times: the screens and the counts of
``canonical`` a few times each, hiredis at most twice, the reference parser at most twice. A client cannot make
parsing quadratic. hiredis gets a long receive ``FEED_PIECE`` bytes at a time, because it moves its unparsed bytes
to the front of its buffer after each request: a whole 64 KiB receive of 1 KiB requests would be moved ~30 KiB per
request.
"""
from __future__ import annotations

import hiredis

from .reference import COUNT_MAX, NOTHING, STOP_HANDBACK, STOP_ONE, ReferenceParser
from .screens import FAST_MAX, FEED_PIECE, canonical, reads_exactly, screen, wire_len


class RequestReader(ReferenceParser):
    """Incremental request parser for one connection (see ``respd.protocol`` for how to use it)."""

    __slots__ = ("_reader", "_gets", "_has_data", "_fresh", "_ready")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024, max_multibulk_len: int = COUNT_MAX,
                 max_query_buffer: int = 1024 * 1024 * 1024, authenticated: bool = True):
        super().__init__(max_bulk_len, max_multibulk_len, max_query_buffer, authenticated)
        self._new_hiredis()
        self._fresh: list[bytes] = []   # receives not looked at yet
        self._ready: list = []           # requests parsed and not handed out yet (next() only)

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
            if self._wait == NOTHING and self._pos >= len(self._buf):  # at a boundary, nothing buffered
                if not fresh:
                    break
                data = fresh.pop(0)
                if len(data) > FAST_MAX:
                    fresh[0:0] = [data[i:i + FAST_MAX] for i in range(FAST_MAX, len(data), FAST_MAX)]
                    data = data[:FAST_MAX]
                if self.authenticated and data[0] == 0x2A and self.max_bulk_len >= FAST_MAX:
                    check = screen(data)
                    if check is not None and self._fast(data, out, check):
                        continue
                self._add(data)
            elif self._wait != NOTHING:  # inside an item: this receive may complete it
                if not fresh:
                    break
                self._add(fresh.pop(0))
                handback = True
                if self._wait != NOTHING:
                    continue
            stop = self._parse(out, handback)
            if stop == STOP_ONE:
                break
            if stop == STOP_HANDBACK:  # a request boundary after the item: the rest may be for hiredis
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
        """Parse a receive that starts at a request boundary with hiredis (see respd.protocol.reader). False when its
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
                        if joined is not None and not canonical(data, out, start, joined, check):
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
        end = wire_len(out[start:]) if len(out) > start else 0
        # where it starts is only known for canonical requests; with '=' alone, they are when hiredis reads exactly
        # them from data[:end] (see reads_exactly)
        if check and (check != (b"=",) or not reads_exactly(data, end, len(out) - start)):
            del out[start:]
            return False
        self._buf = data
        self._pos = end
        self._parse(out)
        return True
