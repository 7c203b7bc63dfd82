"""Reply values returned by command handlers, and their RESP2/RESP3 encoding.

Handlers return plain Python values wherever RESP2 and RESP3 agree on the mapping, so the hot path allocates
nothing special:

========================  ==========================  ===========================
value                     RESP2                       RESP3
========================  ==========================  ===========================
``bytes``                 bulk ``$3\\r\\nabc``          same
``int``                   integer ``:5``              same
``None``                  null bulk ``$-1``           null ``_``
``list`` / ``tuple``      array ``*n``                same
``Simple``                status ``+OK``              same
``Err``                   error ``-ERR ...``          same
``Map``                   flat array of pairs         map ``%n``
``SetReply``              array                       set ``~n``
``Double``                bulk text                   double ``,``
``Verbatim``              bulk                        verbatim ``=len\\r\\ntxt:...``
``NULL_ARRAY``            ``*-1``                     null ``_``
``Raw``, ``Push``          the bytes as given          same
========================  ==========================  ===========================

``encode`` is the only writer; the connection joins the encodings of all replies to one received chunk and sends
them at once. Small integers and bulk-length headers come from caches (see TECH.md §3).
"""
from __future__ import annotations

from typing import Any, Optional


class Simple:
    """A status reply (``+OK``); instances are interned constants, encoding precomputed."""

    __slots__ = ("text", "encoded")

    def __init__(self, text: str):
        self.text = text
        self.encoded = b"+" + text.encode() + b"\r\n"

    def __repr__(self) -> str:
        return f"Simple({self.text!r})"


class Err:
    """An error reply value (used inside EXEC results and wherever an error is data, not an exception)."""

    __slots__ = ("text", "encoded")

    def __init__(self, text: str | bytes):
        if isinstance(text, str):
            text = text.encode("utf-8", "surrogateescape")
        # Error texts never contain CR or LF: bytes from user input are replaced by spaces (SPEC §2).
        text = text.replace(b"\r", b" ").replace(b"\n", b" ")
        self.text = text
        self.encoded = b"-" + text + b"\r\n"

    def __repr__(self) -> str:
        return f"Err({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class Map:
    """A map reply: ``items`` is a list of (key, value) pairs, in order."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items.items()) if isinstance(items, dict) else list(items)


class SetReply:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items)


class Double:
    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value


class Verbatim:
    """A text blob (INFO, CLIENT INFO/LIST): bulk in RESP2, verbatim string ``txt`` in RESP3."""

    __slots__ = ("text",)

    def __init__(self, text: bytes):
        self.text = text


class Raw:
    """Bytes already encoded in RESP, sent as they are."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


class Push(Raw):
    """Frames already encoded that are pushed to the client whatever CLIENT REPLY says (Pub/Sub's (un)subscribe
    confirmations: Redis sends them with its CLIENT_PUSHING flag, which OFF and SKIP do not silence)."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()


NULL_ARRAY = _NullArray()

#: returned by commands whose reply is suppressed (CLIENT REPLY OFF/SKIP): nothing is sent
NO_REPLY = Raw(b"")

OK = Simple("OK")
QUEUED = Simple("QUEUED")
PONG = Simple("PONG")

CRLF = b"\r\n"
_INTS = [b":%d\r\n" % i for i in range(10000)]
_BULK_HDR = [b"$%d\r\n" % i for i in range(4096)]
_ARR_HDR = [b"*%d\r\n" % i for i in range(1024)]
_BULK_LEN = [b"$%d" % i for i in range(4096)]  # bulk headers without their CRLF (``_bulk_array``)
_NULL2 = b"$-1\r\n"
_NULL3 = b"_\r\n"


def format_double(value: float) -> bytes:
    """Doubles as RESP3 prints them (and as RESP2 bulk text): ``inf``, ``-inf``, ``nan``, shortest repr."""
    if value != value:
        return b"nan"
    if value in (float("inf"), float("-inf")):
        return b"inf" if value > 0 else b"-inf"
    if value == int(value) and abs(value) < 1e17:
        return b"%d" % int(value)
    return repr(value).encode()


def encode(reply: Any, proto: int) -> bytes:
    """Encode one reply for a connection speaking RESP ``proto`` (2 or 3)."""
    t = type(reply)
    if t is bytes:
        n = len(reply)
        if n < 4096:
            return _BULK_HDR[n] + reply + CRLF
        return b"$%d\r\n%s\r\n" % (n, reply)
    if t is Simple or t is Err:
        return reply.encoded
    if t is int:
        if 0 <= reply < 10000:
            return _INTS[reply]
        return b":%d\r\n" % reply
    if reply is None:
        return _NULL3 if proto == 3 else _NULL2
    out: list[bytes] = []
    _encode_into(reply, proto, out)
    return b"".join(out)


def _bulk_array(reply, n: int) -> Optional[bytes]:
    """The RESP array of n bulks when every item is bytes shorter than 4096, else None: the parts (header, then
    each bulk's length line and bytes) joined by CRLF. Anything else in the array fails the length lookup or the
    join (TypeError, IndexError) and is encoded item by item."""
    try:
        parts = [b""] * (2 * n + 2)
        parts[0] = b"*%d" % n
        parts[1:-1:2] = map(_BULK_LEN.__getitem__, map(len, reply))
        parts[2:-1:2] = reply
        return CRLF.join(parts)
    except (TypeError, IndexError):
        return None


def _encode_into(reply: Any, proto: int, out: list) -> None:
    t = type(reply)
    if t is bytes:
        n = len(reply)
        out.append(_BULK_HDR[n] if n < 4096 else b"$%d\r\n" % n)
        out.append(reply)
        out.append(CRLF)
    elif t is int:
        out.append(_INTS[reply] if 0 <= reply < 10000 else b":%d\r\n" % reply)
    elif reply is None:
        out.append(_NULL3 if proto == 3 else _NULL2)
    elif t is list or t is tuple:
        n = len(reply)
        if n >= 8:  # LRANGE, MGET, HGETALL...: an array of short bulks in one join, at C speed (half the time)
            whole = _bulk_array(reply, n)
            if whole is not None:
                out.append(whole)
                return
        append = out.append
        append(_ARR_HDR[n] if n < 1024 else b"*%d\r\n" % n)
        null = _NULL3 if proto == 3 else _NULL2
        for item in reply:  # short bulks and nulls (MGET) without a call each
            if type(item) is bytes and len(item) < 4096:
                append(_BULK_HDR[len(item)])
                append(item)
                append(CRLF)
            elif item is None:
                append(null)
            else:
                _encode_into(item, proto, out)
    elif t is Simple or t is Err:
        out.append(reply.encoded)
    elif t is Map:
        n = len(reply.items)
        out.append(b"%%%d\r\n" % n if proto == 3 else b"*%d\r\n" % (2 * n))
        for k, v in reply.items:
            _encode_into(k, proto, out)
            _encode_into(v, proto, out)
    elif t is SetReply:
        out.append((b"~%d\r\n" if proto == 3 else b"*%d\r\n") % len(reply.items))
        for item in reply.items:
            _encode_into(item, proto, out)
    elif t is Double:
        text = format_double(reply.value)
        if proto == 3:
            out.append(b"," + text + CRLF)
        else:
            _encode_into(text, proto, out)
    elif t is Verbatim:
        if proto == 3:
            out.append(b"=%d\r\ntxt:" % (len(reply.text) + 4))
            out.append(reply.text)
            out.append(CRLF)
        else:
            _encode_into(reply.text, proto, out)
    elif t is _NullArray:
        out.append(_NULL3 if proto == 3 else b"*-1\r\n")
    elif t is Raw or t is Push:
        out.append(reply.data)
    elif t is bool:
        out.append((b"#t\r\n" if reply else b"#f\r\n") if proto == 3 else _INTS[int(reply)])
    elif t is str:
        _encode_into(reply.encode(), proto, out)
    elif t is float:
        _encode_into(Double(reply), proto, out)
    else:
        raise TypeError(f"cannot encode reply of type {t.__name__}")
