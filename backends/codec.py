"""The msgpack value codec of SQL stores: Redis strings <-> payload bytes.

respd always writes a value as one msgpack ``bin`` object (the bytes exactly, binary safe). Rows written by
other programs may hold any msgpack object; reading maps them the way a Redis string command would see them
(TECH.md §5):

========================  =====================================================================
payload                   ``decode`` returns / raises
========================  =====================================================================
bin                       the bytes
str                       its UTF-8 bytes (legacy invalid UTF-8 comes back byte for byte)
int                       ``b"%d"`` (so INCR works on foreign counters)
float                     Redis float text: shortest round-trip repr, no exponent (``1.5``, ``3``)
map/array/bool/nil/ext    ``WrongType``
undecodable, trailing     ``CorruptValue(store_id, key, reason)``
========================  =====================================================================

``type_name`` gives TYPE's answer for a payload: ``b"string"`` for the scalars above, ``b"hash"`` for a map,
``b"list"`` for an array and ``b"unknown"`` for nil/bool/ext.

*Typed values* (``Store.load``/``Store.store``: what the ``store`` module of EVAL scripts reads and writes) are the
Python objects of a payload: ``pack`` writes bytes as the ``bin`` a string is (exactly what SET writes) and any
other value (int, float, bool, list, dict of those, nested) as its plain msgpack object; ``unpack`` reads any
payload back as such an object, every msgpack str or bin as bytes. So a typed value read by a string command is the
table above (an int reads as its digits, a map is WRONGTYPE and TYPE says hash). A memory store keeps a typed value
that is not bytes as a ``Packed`` payload, so both kinds answer every command the same way.
"""
from __future__ import annotations

import math
import struct
from decimal import Decimal

import msgpack

from backends.base import CorruptValue, WrongType

_pack_len16 = struct.Struct(">BH").pack
_pack_len32 = struct.Struct(">BI").pack


class Packed:
    """A memory store's non-string value: its msgpack payload, read through this module as a SQL row is."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes):
        self.payload = payload


def pack(value) -> bytes:
    """The payload of a typed value: ``encode`` for bytes, else msgpack (strings inside as ``bin``). Raises
    TypeError/ValueError for what msgpack cannot hold (its caller checked the value's shape)."""
    if type(value) is bytes:
        return encode(value)
    return msgpack.packb(value, use_bin_type=True, strict_types=False)


def unpack(store_id: str, key: bytes, payload: bytes):
    """The typed value of a payload: bytes for a string payload (bin or str), else its msgpack object with every
    string inside as bytes (``msgpack.ExtType`` for ext). Raises CorruptValue."""
    if payload and payload[0] in (0xC4, 0xC5, 0xC6):
        return decode(store_id, key, payload)
    try:
        return msgpack.unpackb(bytes(payload), raw=True, strict_map_key=False)
    except msgpack.ExtraData:
        raise CorruptValue(store_id, key, "trailing bytes after the msgpack value") from None
    except Exception as ex:  # OutOfData, FormatError, StackError, unhashable map keys...
        raise CorruptValue(store_id, key, "undecodable msgpack payload: %s" % (str(ex) or type(ex).__name__)) from None


def encode(value: bytes) -> bytes:
    """The payload for a string value: a msgpack ``bin`` 8/16/32 object (same bytes as ``msgpack.packb``)."""
    n = len(value)
    if n < 0x100:
        return b"\xc4" + bytes((n,)) + value
    if n < 0x10000:
        return _pack_len16(0xC5, n) + value
    if n < 0x100000000:
        return _pack_len32(0xC6, n) + value
    raise ValueError("value too large for msgpack (4 GiB)")


def format_float(f: float) -> bytes:
    """Redis' text for a double: the shortest repr that round-trips, in fixed point, no trailing ``.0``."""
    if math.isnan(f):
        return b"nan"
    if math.isinf(f):
        return b"inf" if f > 0 else b"-inf"
    text = format(Decimal(repr(f)), "f")  # repr is the shortest round-trip form; Decimal removes the exponent
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.encode()


def _unpack(store_id: str, key: bytes, payload: bytes):
    """Any msgpack object from payload; CorruptValue when it is not exactly one valid object."""
    try:
        # surrogateescape keeps legacy str payloads holding invalid UTF-8 readable byte for byte.
        return msgpack.unpackb(payload, raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    except msgpack.ExtraData:
        raise CorruptValue(store_id, key, "trailing bytes after the msgpack value") from None
    except Exception as ex:  # OutOfData, FormatError, StackError, ValueError...
        raise CorruptValue(store_id, key, "undecodable msgpack payload: %s" % (str(ex) or type(ex).__name__)) from None


def decode(store_id: str, key: bytes, payload: bytes) -> bytes:
    """The Redis string held by payload (see the module table). Raises WrongType or CorruptValue."""
    # Fast path: respd's own writes (bin 8/16/32 with an exact length).
    if payload:
        tag = payload[0]
        if tag == 0xC4:
            if len(payload) >= 2 and payload[1] == len(payload) - 2:
                return payload[2:]
        elif tag == 0xC5:
            if len(payload) >= 3 and int.from_bytes(payload[1:3], "big") == len(payload) - 3:
                return payload[3:]
        elif tag == 0xC6:
            if len(payload) >= 5 and int.from_bytes(payload[1:5], "big") == len(payload) - 5:
                return payload[5:]
    obj = _unpack(store_id, key, bytes(payload))
    t = type(obj)
    if t is bytes:
        return obj
    if t is str:
        return obj.encode("utf-8", "surrogateescape")
    if t is int:
        return b"%d" % obj
    if t is float:
        return format_float(obj)
    raise WrongType()


def type_name(store_id: str, key: bytes, payload: bytes) -> bytes:
    """TYPE's answer for a payload: b"string", b"hash", b"list" or b"unknown". CorruptValue if undecodable."""
    if payload and payload[0] in (0xC4, 0xC5, 0xC6):
        try:
            decode(store_id, key, payload)
            return b"string"
        except CorruptValue:
            raise
    obj = _unpack(store_id, key, bytes(payload))
    t = type(obj)
    if t in (bytes, str, int, float):
        return b"string"
    if t is dict:
        return b"hash"
    if t is list:
        return b"list"
    return b"unknown"


def is_string(payload: bytes) -> bool:
    """Whether decode would return a string rather than raise WrongType (CorruptValue counts as string:
    the error surfaces when the value is read)."""
    try:
        decode("", b"", payload)
        return True
    except WrongType:
        return False
    except CorruptValue:
        return True
