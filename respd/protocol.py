"""Sans-I/O request reader: bytes in, argument lists out. No sockets, no trio.

Multibulk requests are parsed by hiredis' C ``Reader`` (13x faster than Python, TECH.md §2); inline requests (what
telnet users type) by a small Python line parser, chosen per request by the first byte as Redis does. Usage::

    reader.feed(chunk)                 # at most one receive's worth (<= 64 KiB) at a time
    while (argv := reader.next()) is not None:
        ...                            # argv: list[bytes], never empty
    # next() raises ProtocolError once the stream is malformed; requests before the bad frame come out first.

Limits (SPEC §1): bulk length above ``max_bulk_len``, multibulk length above ``max_multibulk_len``, a count line or
inline line above 64 KiB without a newline, and a query buffer above ``max_query_buffer`` are refused with Redis'
protocol error texts. hiredis never preallocates a bulk's claimed size, so memory stays bounded by what was
received; the header checks run only when a receive ends inside a request, on at most a few KiB at the end of the
chunk, so complete pipelined requests pay nothing for them. Before authentication requests come out one at a time
and the rest of a receive from a request over the limits is held back, so that an AUTH earlier in the same receive
lifts the limits for what follows it (the caller sets ``authenticated`` in between), as in Redis.

hiredis preallocates the list of an array when it reads the count, though: counts are screened before hiredis sees
them (a regex over each receive, with the first bytes of a count line left unfinished by the previous one), and
a suspicious one is confirmed by walking the request headers. A request refused there is refused after the
requests before it in the same receive, as Redis does. What hiredis still fails on (an aggregate where a bulk
belongs, e.g. a map keyed by a list) becomes Redis' ``expected '$'`` error.

Complexity contract: each received byte is scanned a bounded number of times (hiredis once; the limit check only
looks at the tail of a chunk that ends mid-request), so a client cannot make parsing quadratic. hiredis gets a
long receive ``FEED_PIECE`` bytes at a time, because it moves its unparsed bytes to the front of its buffer after
each request: a whole 64 KiB receive of 1 KiB requests would be moved ~30 KiB per request.
"""
from __future__ import annotations

import re

import hiredis

from .errors import ProtocolError

INLINE_MAX = 64 * 1024
HISTORY_MAX = 1024 * 1024
NESTED_CHECK_MAX = 4096
FEED_PIECE = 4096  # hiredis is handed a long receive this much at a time (see the module docstring)
_HEADER_RX = re.compile(rb"(?:^|(?<=\n))([$*])(-?\d+)\r\n")
# Candidate multibulk counts worth a closer look: 7+ digits (the limit is 1,048,576), 2+ before AUTH (limit 10).
_BIG_COUNT = re.compile(rb"\*[1-9]\d{6}")
_COUNT_OVER_9 = re.compile(rb"\*[1-9]\d")


def _may_hold(rx: re.Pattern, data: bytes) -> bool:
    """Whether ``rx.search(data)`` finds a candidate count. A long chunk of big values holds few '*': there each
    '*' is found with memchr and only its neighbourhood is matched, several times faster than the regex's byte
    loop over the payloads; once '*' prove denser than one per 512 bytes, the regex does the rest."""
    if rx is not _BIG_COUNT or len(data) < 8192:
        return rx.search(data) is not None
    find = data.find
    end = len(data) - 7  # a match needs seven bytes after its '*'
    i = find(42)
    hits = 0
    while 0 <= i < end:
        if 0x30 <= data[i + 2] <= 0x39 and 0x31 <= data[i + 1] <= 0x39 and rx.match(data, i) is not None:
            return True
        hits += 1
        if hits << 9 > i + 4096:
            return rx.search(data, i + 1) is not None
        i = find(42, i + 1)
    return False


class RequestReader:
    """Incremental request parser for one connection."""

    __slots__ = ("_reader", "_gets", "_inline", "_pending", "_at_boundary", "_inline_buf", "_run",
                 "_run_head", "max_bulk_len", "max_multibulk_len", "max_query_buffer", "authenticated",
                 "_error", "_last", "_hist", "_hist_size", "_hist_n", "_has_data", "_rest", "_rest_off",
                 "_held")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024, max_multibulk_len: int = 1024 * 1024,
                 max_query_buffer: int = 1024 * 1024 * 1024, authenticated: bool = True):
        self._reader = hiredis.Reader()
        self._gets = self._reader.gets
        self._has_data = self._reader.has_data
        self._pending: list[list[bytes]] = []     # inline requests parsed ahead of hiredis' output
        self._inline_buf = bytearray()             # an unterminated inline line
        self._inline = False                       # True while an inline line is being accumulated
        self._at_boundary = True                   # no partial request is buffered anywhere
        self._run = 0                              # bytes since the last LF (for "too big count string")
        self._run_head = b""                       # its first 8 bytes ("*12": maybe a count line in pieces)
        self.max_bulk_len = max_bulk_len
        self.max_multibulk_len = max_multibulk_len
        self.max_query_buffer = max_query_buffer
        self.authenticated = authenticated
        self._error: ProtocolError | None = None
        self._last = b""                           # the last chunk given to hiredis (for limit checks)
        self._hist: list | None = None             # chunks fed since hiredis' buffer was last empty
        self._hist_size = 0
        self._hist_n = 0                           # requests hiredis returned from those chunks
        self._rest: bytes | None = None            # a long chunk whose tail hiredis has not been given yet
        self._rest_off = 0                         # where that tail starts
        self._held: bytes | None = None            # unauthenticated: a receive's rest from a request over the
                                                   # limits, screened again once the requests before it have run

    # ------------------------------------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:
        """Add received bytes. Parsing happens in ``next``; feed one receive (<= 64 KiB) at a time."""
        if self._error is not None:
            return
        if self._rest is not None or self._held is not None:  # not expected (the caller drains first)
            while self._more():
                pass
        if self._inline or (self._at_boundary and not self._pending and data[:1] != b"*"):
            data = self._feed_inline(data)
            if not data:
                return
        rx = _BIG_COUNT if self.authenticated else _COUNT_OVER_9
        head = self._run_head  # a count line left unfinished by the previous receive: "*12" + "34567\r\n"
        if (rx.search(data) is not None if len(data) < 8192 else _may_hold(rx, data)) \
                or (head and head[0] == 0x2A and rx.search(head + data[:8]) is not None):
            # hiredis allocates the list of a multibulk request as soon as it parses its count: refuse first
            at = self._over_limit_at(data)
            if at is not None:
                text = "unauthenticated multibulk length" if not self.authenticated else "invalid multibulk length"
                if at == 0:
                    self._set_error(text)
                    return
                self.feed(data[:at])  # the requests before it are answered first (SPEC §1)
                if self.authenticated:
                    self._fail(text)
                else:
                    # an AUTH among them may lift the limits, as Redis runs each request before it reads the next:
                    # hold the rest until they have run
                    self._held = data[at:]
                return
        if len(data) > FEED_PIECE:
            self._reader.feed(data, 0, FEED_PIECE)
            self._rest = data
            self._rest_off = FEED_PIECE
        else:
            self._reader.feed(data)
        self._last = data
        if self._at_boundary:
            self._hist = [data]
            self._hist_size = len(data)
            self._hist_n = 0
        elif self._hist is not None:
            self._hist_size += len(data)
            if self._hist_size > HISTORY_MAX:
                self._hist = None  # too long to keep: an inline request after this point is a protocol error
            else:
                self._hist.append(data)
        self._at_boundary = False
        self._track_run(data)

    def _more(self) -> bool:
        """Hand hiredis the next piece of a long chunk (or the held rest of a receive, screened again now); False
        when it has had all of it."""
        data = self._rest
        if data is None:
            data = self._held
            if data is None:
                return False
            self._held = None
            self.feed(data)
            return True
        off = self._rest_off
        left = len(data) - off
        if left > FEED_PIECE:
            self._reader.feed(data, off, FEED_PIECE)
            self._rest_off = off + FEED_PIECE
        else:
            self._reader.feed(data, off, left)
            self._rest = None
        return True

    def _over_limit_at(self, data: bytes) -> int | None:
        """Where in data the first request whose count exceeds the limit starts (0 when it started in an earlier
        chunk), found by walking the request headers from the last request boundary; None when there is none.
        Run only when a regex saw a suspicious '*<digits>', possibly split across receives."""
        limit = self.max_multibulk_len if self.authenticated else 10
        if self._at_boundary:
            buf, skip = data, 0
        elif self._hist is not None:
            buf, skip = b"".join(self._hist) + data, self._hist_n
        else:  # position unknown: judge by the shape of the match alone
            head = self._run_head if self._run_head[:1] == b"*" else b""
            buf = head + data
            for m in re.finditer(rb"(?:^|\n)(\*(\d+)\r\n)", buf):
                if int(m.group(2)) > limit:
                    return max(m.start(1) - len(head), 0)
            return None
        pos = skip_requests(buf, skip)
        if pos is None:
            return None
        base = len(buf) - len(data)
        for count, end, _ in walk_requests(buf, pos):
            if count > limit:
                return max(pos - base, 0)
            if end is None:
                return None
            pos = end
        return None

    def _track_run(self, data: bytes) -> None:
        lf = data.rfind(b"\n")
        if lf < 0:
            if self._run == 0:
                self._run_head = data[:8]
            elif len(self._run_head) < 8:
                self._run_head = (self._run_head + data)[:8]
            self._run += len(data)
        else:
            self._run = rest = len(data) - lf - 1
            if rest or self._run_head:
                self._run_head = data[lf + 1:lf + 9]

    def _feed_inline(self, data: bytes) -> bytes:
        """Parse inline lines at the start of data; return the remainder that starts a multibulk request."""
        buf = self._inline_buf
        pos = 0
        n = len(data)
        while pos < n:
            if not self._inline:
                if data[pos] == 0x2A:  # '*': back to multibulk
                    return data[pos:]
                self._inline = True
            lf = data.find(b"\n", pos)
            if lf < 0:
                buf += data[pos:]
                if len(buf) > INLINE_MAX:
                    self._fail("too big inline request")
                return b""
            buf += data[pos:lf]
            pos = lf + 1
            self._inline = False
            line = bytes(buf)
            buf.clear()
            if len(line) > INLINE_MAX:
                self._fail("too big inline request")
                return b""
            try:
                argv = split_inline(line)
            except ProtocolError as e:
                self._fail(e.text)
                return b""
            if argv:
                self._pending.append(argv)
        return b""

    def _fail(self, text: str) -> None:
        if self._error is None:
            self._error = ProtocolError(text)

    # ------------------------------------------------------------------------------------------------ output
    def next(self) -> list[bytes] | None:
        """The next complete request, or None when more data is needed. Raises ProtocolError when malformed."""
        if self._pending or self._at_boundary:
            return self._next_slow()
        while True:
            try:
                req = self._gets()
            except hiredis.ProtocolError as e:
                if self._switch_to_inline(str(e)):
                    return self.next()
                raise self._map_hiredis_error(str(e)) from None
            except Exception:
                raise self._hiredis_broke() from None
            if req is not False:
                break
            if not self._more():
                self._check_incomplete()
                return None
        self._hist_n += 1
        if not self._has_data() and self._rest is None and self._held is None:
            self._at_boundary = True
        if type(req) is list and req and self.authenticated:
            for a in req:
                if type(a) is not bytes:
                    raise self._shape_error(a)
            return req
        return self._check_request(req)

    def drain(self) -> list[list[bytes]]:
        """Every complete request buffered now, in order; an empty list when more data is needed. Requests before a
        malformed frame come out first, and the call after them raises ProtocolError: the order ``next`` gives.

        The loop over hiredis' replies is ``next`` without a Python call per request (about a sixth of the
        in-process cost of a GET); anything unusual (inline requests, odd shapes, errors, an unauthenticated
        client) goes through ``next`` itself."""
        out: list[list[bytes]] = []
        n = 0  # requests taken from hiredis and not yet counted in _hist_n
        try:
            if self._pending or self._at_boundary or not self.authenticated:
                return self._drain_slow(out)
            gets = self._gets
            has_data = self._has_data
            append = out.append
            join = b"".join
            while True:
                try:
                    req = gets()
                except hiredis.ProtocolError:  # sticky in hiredis: next() meets it again and handles it
                    if out:
                        return out
                    return self._drain_slow(out)  # nothing taken yet: n is 0
                except Exception:
                    self._hist_n += n
                    n = 0
                    err = self._hiredis_broke()  # kept: the next call raises it
                    if out:
                        return out
                    raise err from None
                if req is False:
                    if self._rest is not None or self._held is not None:
                        self._more()
                        continue
                    self._check_incomplete()
                    return out
                n += 1
                if type(req) is list and req:
                    try:
                        join(req)  # TypeError unless every element is bytes-like: hiredis gives bytes for bulks
                    except TypeError:
                        pass
                    else:
                        append(req)
                        if not has_data() and self._rest is None and self._held is None:
                            self._at_boundary = True
                            return out
                        continue
                # the uncommon shapes (null or empty arrays, non-arrays, non-bulk elements): next()'s own checks
                self._hist_n += n
                n = 0
                if not has_data() and self._rest is None and self._held is None:
                    self._at_boundary = True
                req = self._check_request(req)
                if req is not None:
                    append(req)
                return self._drain_slow(out)
        except ProtocolError:
            if out:  # the error is kept (self._error): the next call raises it
                return out
            raise
        finally:
            self._hist_n += n

    def _drain_slow(self, out: list) -> list:
        """The rest through ``next``; the caller's count of taken requests must be in ``_hist_n`` already. Before
        authentication, one request at a time: the limits for the next depend on whether it authenticated (the
        caller updates ``authenticated`` in between)."""
        while True:
            req = self.next()
            if req is None:
                return out
            out.append(req)
            if not self.authenticated:
                return out

    def _next_slow(self) -> list[bytes] | None:
        if self._pending:
            return self._pending.pop(0)
        if self._error is not None:
            raise self._error
        return None

    def _check_request(self, req) -> list[bytes] | None:
        """The uncommon shapes: empty or null arrays (no reply), non-arrays, unauthenticated limits."""
        if type(req) is list:
            if not req:
                return self.next()  # *0: an empty request, no reply
            for a in req:
                if type(a) is not bytes:
                    raise self._shape_error(a)
            self._check_unauthenticated(req)
            return req
        # not an array: an inline request whose first byte is a RESP type byte ("+x", "$5", "-1"), pipelined
        # after multibulk ones, unless it really was "*-1" (a null array: ignored like *0)
        self._hist_n -= 1
        if self._switch_to_inline():
            return self.next()
        self._hist_n += 1
        if req is None:
            return self.next()
        raise self._shape_error(req)

    def _switch_to_inline(self, error: str = "") -> bool:
        """hiredis met a byte that does not start a multibulk request: if that byte starts a new request (an
        inline command pipelined after multibulk ones), continue from there with the inline parser.

        The requests hiredis already returned are skipped in the kept chunks by walking their headers (the error
        path only, so the Python walk costs nothing in normal operation). After a pipeline too long to keep
        (``HISTORY_MAX``), the new request is located in the last chunk instead: it starts at the offending byte
        right after a line end, accepted only when exactly one such place exists (``redis-cli --pipe`` sends
        ``\\r\\n`` before its final ECHO)."""
        if self._hist is None:
            buf, off = self._last, self._locate_in_last(error)
            if off is None:
                return False
        else:
            buf = b"".join(self._hist)
            off = skip_requests(buf, self._hist_n)
        if off is None or off >= len(buf) or buf[off] == 0x2A:
            return False
        self._reader = hiredis.Reader()
        self._gets = self._reader.gets
        self._has_data = self._reader.has_data
        self._at_boundary = True
        self._rest = None
        self._held = None
        self._hist = None
        self.feed(buf[off:])
        return True

    def _locate_in_last(self, error: str):
        m = re.search(r'got "(\\?.)" as reply type byte', error)
        if m is None:
            return None
        ch = m.group(1)
        bad = {"\\r": b"\r", "\\n": b"\n", "\\t": b"\t"}.get(ch, ch.encode("latin-1")[-1:])
        places = [i + 1 for i in _find_all(self._last, b"\n" + bad)]
        return places[0] if len(places) == 1 else None

    def _hiredis_broke(self) -> ProtocolError:
        """hiredis raised something other than a protocol error while building a request: an aggregate type where
        a bulk belongs (a huge nested count: MemoryError; a map keyed by a list: TypeError). Redis refuses the first
        element that does not start with '$'."""
        bad = self._bad_element()
        self._pending.clear()
        return self._set_error("expected '$', got '%s'" % bad.decode("latin-1") if bad is not None
                               else "invalid multibulk length")

    def _bad_element(self) -> bytes | None:
        """The byte that starts the first element other than a bulk in the requests hiredis has not returned yet,
        found by walking the kept chunks (None when there is none, or the chunks are no longer kept)."""
        if self._hist is None:
            return None
        buf = b"".join(self._hist)
        pos = skip_requests(buf, self._hist_n)
        if pos is not None:
            for _, _, bad in walk_requests(buf, pos):
                if bad is not None:
                    return bad
        return None

    def _shape_error(self, item) -> ProtocolError:
        if item is None:
            return self._set_error("invalid bulk length")
        if type(item) is list:
            return self._set_error("expected '$', got '*'")
        if type(item) is int:
            return self._set_error("expected '$', got ':'")
        return self._set_error("expected '$', got '-'" if isinstance(item, hiredis.ReplyError)
                               else "expected '$', got '+'")

    def _map_hiredis_error(self, msg: str) -> ProtocolError:
        m = re.search(r'got "(.)" as reply type byte', msg)
        if m:
            text = "expected '$', got '%s'" % m.group(1)
        elif "bulk" in msg.lower() and "multi" not in msg.lower():
            text = "invalid bulk length"
        else:
            text = "invalid multibulk length"
        self._pending.clear()
        return self._set_error(text)

    def _check_unauthenticated(self, req: list[bytes]) -> None:
        if len(req) > 10:
            raise self._set_error("unauthenticated multibulk length")
        for a in req:
            if len(a) > 16384:
                raise self._set_error("unauthenticated bulk length")

    def _set_error(self, text: str) -> ProtocolError:
        """Keep the error (every later call raises it) and drop whatever input is left."""
        err = ProtocolError(text)
        self._error = err
        self._at_boundary = True
        self._rest = None
        self._held = None
        return err

    def buffered(self) -> int:
        """Bytes received and not yet returned as requests (CLIENT LIST qbuf); hiredis may count up to ~1 KiB of
        consumed input it has not discarded yet."""
        rest = len(self._rest) - self._rest_off if self._rest is not None else 0
        return (self._reader.len() + len(self._inline_buf) + rest + len(self._held or b"")
                + sum(len(a) for req in self._pending for a in req))

    def _check_incomplete(self) -> None:
        """A receive ended inside a request: check the headers hiredis is waiting on against the limits.

        After ``gets()`` hiredis keeps the incomplete element plus less than 1 KiB of consumed bytes in its buffer
        (it discards the consumed prefix once it passes 1 KiB), so a header that arrived in the last chunk and is
        still pending lies within ~1 KiB after ``len(chunk) - reader.len()``. Only that window is inspected."""
        if self._error is not None:  # refused further on in the stream: after the requests before it
            raise self._error
        buffered = self._reader.len()
        if buffered > self.max_query_buffer:
            raise self._set_error("invalid bulk length")
        if self._run > INLINE_MAX and self._run_head[:1] in (b"$", b"*"):
            raise self._set_error("too big bulk count string" if self._run_head[:1] == b"$"
                                  else "too big mbulk count string")
        if self._hist is not None and self._hist_size <= NESTED_CHECK_MAX:
            # hiredis accepts an array where a request's bulk element belongs and waits for it: find that here
            # (only for short pending input, so pipelines of many requests pay nothing)
            bad = self._bad_element()
            if bad is not None:
                raise self._set_error("expected '$', got '%s'" % bad.decode("latin-1"))
        data = self._last
        start = len(data) - buffered
        if start + 1100 <= 0:
            return
        if start < 0 and self._hist is not None:
            # hiredis' buffer begins in earlier chunks, at most ~1 KiB back: put those bytes in front
            need = -start
            earlier = []
            for chunk in reversed(self._hist[:-1]):
                earlier.append(chunk[-need:] if need < len(chunk) else chunk)
                need -= len(earlier[-1])
                if need <= 0:
                    data = b"".join(reversed(earlier)) + data
                    start = 0
                    break
        lo = start if start > 0 else 0
        hi = start + 1100
        window = data[lo:hi + 24]
        # hiredis' buffer starts at an item boundary: when the window starts there too (start >= 0), bytes that a
        # bulk header found in the window claims are payload, whatever they look like
        payload_until = 0
        for m in _HEADER_RX.finditer(window):
            if m.start() < payload_until:
                continue
            kind, num = m.group(1), int(m.group(2))
            if kind == b"$":
                if start >= 0 and num >= 0:
                    payload_until = m.end() + num + 2
                if num < 0 or num > self.max_bulk_len:
                    if num >= 0 and len(data) - (lo + m.end()) > num:
                        continue  # more bytes follow than it claims: payload, not a pending header
                    raise self._set_error("invalid bulk length")
                if not self.authenticated and num > 16384:
                    raise self._set_error("unauthenticated bulk length")
            else:
                if num > self.max_multibulk_len:
                    raise self._set_error("invalid multibulk length")
                if not self.authenticated and num > 10:
                    raise self._set_error("unauthenticated multibulk length")


def _find_all(buf: bytes, needle: bytes):
    i = buf.find(needle)
    while i >= 0:
        yield i
        i = buf.find(needle, i + 1)


def walk_requests(buf: bytes, pos: int = 0):
    """Yield (count, end, bad) for each multibulk request in buf from pos, reading only headers (bulk bodies are
    skipped by arithmetic): ``end`` is the offset just after the request, or None when buf ends inside it or an
    element is not a bulk string, which ends the walk; ``bad`` is then the byte found where a '$' belonged (or
    None). The walk also ends at anything that is not a well-formed multibulk header."""
    n = len(buf)
    while pos < n and buf[pos] == 0x2A:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return
        try:
            count = int(buf[pos + 1:eol])
        except ValueError:
            return
        pos = eol + 2
        bad = None
        for _ in range(max(count, 0)):
            if pos < n and buf[pos] != 0x24:
                bad = buf[pos:pos + 1]
            eol = buf.find(b"\r\n", pos)
            if bad is not None or eol < 0:
                pos = None
                break
            try:
                pos = eol + 2 + int(buf[pos + 1:eol]) + 2
            except ValueError:
                pos = None
                break
        if pos is not None and pos > n:
            pos = None
        yield count, pos, bad
        if pos is None:
            return


def skip_requests(buf: bytes, count: int) -> int | None:
    """Offset just after the first ``count`` multibulk requests in buf, or None when buf does not hold them."""
    if count == 0:
        return 0
    for done, (_, end, _) in enumerate(walk_requests(buf), 1):
        if end is None:
            return None
        if done == count:
            return end
    return None


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline request as Redis' ``sdssplitargs`` does (quotes, escapes); ProtocolError when unbalanced."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    ws = b" \n\r\t\x0b\x0c"
    while True:
        while i < n and line[i] in ws:
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
                    if i + 1 < n and line[i + 1] not in ws:
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
                    if i + 1 < n and line[i + 1] not in ws:
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
                if c in ws:
                    break
                if c == 0x22:
                    inq = True
                elif c == 0x27:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


_ESCAPES = {0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07}


def _ishex(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66
