"""The reference parser: Redis 7.0's request framing (``processInputBuffer`` in networking.c), byte for byte.

It is the one authority on what a request is; hiredis (``respd.protocol.reader``) only reads what it would read the
same way. A request whose first byte is ``*`` is a multibulk request, whose every element must start with ``$``;
any other first byte starts an inline request, a line split as ``sdssplitargs`` splits it (``split_inline``). The
header lines (count, bulk length) end at the first ``\\r`` with at least one byte after it, whatever that byte is,
and the two bytes after a bulk are skipped unread, as Redis does; a NUL stops Redis' search for a line end
(``strchr``), so a header or inline line with a NUL before its end waits until 64 KiB have piled up and is then too
big. Counts up to 2^31-1 are accepted (Redis 7.0's limit) and ``<= 0`` is an empty request; nothing is ever
allocated for a count or a bulk length before the bytes arrive: arguments are appended as they complete.

Limits (SPEC §1): bulk length above ``max_bulk_len``, count above ``max_multibulk_len``, count and inline lines over
64 KiB without an end, a request whose arguments exceed ``max_query_buffer``, and before authentication counts over
10 and bulks over 16 KiB, are refused with Redis' protocol error texts (``respd.errors.PROTO_*``). Before
authentication requests come out one at a time, so that an AUTH lifts the limits for what follows it (the caller
sets ``authenticated`` in between).

Complexity: an unfinished item is kept in pieces and joined once when it can complete, and only the new piece is
searched for a line end, so every byte is parsed at most twice.
"""
from __future__ import annotations

from .. import errors
from ..errors import ProtocolError

INLINE_MAX = 64 * 1024            # PROTO_INLINE_MAX_SIZE: longest line (inline, count, bulk length) without an end
COUNT_MAX = 2 ** 31 - 1           # Redis 7.0 accepts multibulk counts up to INT_MAX
ARG_OVERHEAD = 64                 # bytes of memory counted per argument against max_query_buffer

# what the reference parser is waiting for
NOTHING, _LINE, _CR, _BULK, _STUCK = range(5)
# the kind of line: inline request, multibulk count, bulk length (for "too big ..." and where a line ends)
_INLINE, _COUNT, _LENGTH = range(3)
_TOO_BIG = (errors.PROTO_TOO_BIG_INLINE, errors.PROTO_TOO_BIG_COUNT, errors.PROTO_TOO_BIG_LENGTH)
STOP_ONE, STOP_HANDBACK = 1, 2  # why _parse stopped early (see _parse)


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


class ReferenceParser:
    """The reference parser's state and steps; ``RequestReader`` (its subclass) drives it, and hands it the bytes
    hiredis may not read. One object per connection, so the hot path reads every field from one ``__slots__``."""

    __slots__ = ("_buf", "_pos", "_wait", "_kind", "_parts", "_parts_len", "_cr_seen", "_left", "_args", "_size",
                 "_bulk", "_error", "max_bulk_len", "max_multibulk_len", "max_query_buffer", "authenticated")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024, max_multibulk_len: int = COUNT_MAX,
                 max_query_buffer: int = 1024 * 1024 * 1024, authenticated: bool = True):
        # unparsed bytes, where it stands, what it is waiting for
        self._buf = b""
        self._pos = 0
        self._wait = NOTHING
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

    def _add(self, data: bytes) -> None:
        """Give data to the reference parser: to its buffer, or to the unfinished item it is waiting on."""
        wait = self._wait
        if wait == NOTHING:
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
        elif self._cr_seen:  # _CR, and the '\r' was the last byte so far: any byte completes the line
            done = True
        else:  # a line: up to '\n' (_LINE), or its first '\r' once one more byte has arrived (_CR)
            end = data.find(b"\n" if wait == _LINE else b"\r")
            if data.find(b"\x00", 0, end if end >= 0 else len(data)) >= 0:
                done = False
                self._stuck()
            elif wait == _LINE:
                done = end >= 0
            else:
                done = 0 <= end < len(data) - 1
                self._cr_seen = end == len(data) - 1
        if done:
            self._buf = b"".join(self._parts)
            self._pos = 0
            self._parts = []
            self._wait = NOTHING
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
        an item is unfinished: it is then held, see ``_hold``), or an error (kept in ``_error``). Returns STOP_ONE
        when it stopped after a request because the client is not authenticated (the caller must let it run before
        reading on), STOP_HANDBACK at the first request boundary when ``handback`` is set (an authenticated client
        and a multibulk request next: hiredis may read on), else 0."""
        if self._wait != NOTHING or self._error is not None:
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
                        return STOP_ONE
                    if handback and pos < n and buf[pos] == 0x2A:
                        self._pos = pos
                        return STOP_HANDBACK
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
                                return STOP_ONE
                        if handback and pos < n and buf[pos] == 0x2A:
                            self._pos = pos
                            return STOP_HANDBACK
                        continue
                    # "*<count>\r" and any byte
                    cr = find(b"\r", pos)
                    count = string2ll(buf[pos + 1:cr]) if 0 <= cr <= n - 2 else None
                    if count is None:
                        if self._unfinished_line(buf, pos, cr, _COUNT):
                            return 0
                        raise self._set_error(errors.PROTO_MULTIBULK_LENGTH)
                    if count > self.max_multibulk_len:
                        raise self._set_error(errors.PROTO_MULTIBULK_LENGTH)
                    if count > 10 and not self.authenticated:
                        raise self._set_error(errors.PROTO_UNAUTH_MULTIBULK)
                    pos = cr + 2
                    if count <= 0:  # an empty request: no reply
                        if handback and pos < n and buf[pos] == 0x2A:
                            self._pos = pos
                            return STOP_HANDBACK
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
                        raise self._set_error(errors.PROTO_EXPECTED_DOLLAR.format(got.decode("latin-1")))
                    length = string2ll(head)
                    if length is None or length < 0:
                        raise self._set_error(errors.PROTO_BULK_LENGTH)
                if length > self.max_bulk_len:
                    raise self._set_error(errors.PROTO_BULK_LENGTH)
                if length > 16384 and not self.authenticated:
                    raise self._set_error(errors.PROTO_UNAUTH_BULK)
                self._size += length + ARG_OVERHEAD
                if self._size > self.max_query_buffer:
                    raise self._set_error(errors.PROTO_BULK_LENGTH)
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
                    raise ProtocolError(errors.PROTO_UNBALANCED_QUOTES)
                c = line[i]
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _ishex(line[i + 2]) and _ishex(line[i + 3]):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in _ISSPACE:
                        raise ProtocolError(errors.PROTO_UNBALANCED_QUOTES)
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    raise ProtocolError(errors.PROTO_UNBALANCED_QUOTES)
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in _ISSPACE:
                        raise ProtocolError(errors.PROTO_UNBALANCED_QUOTES)
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
