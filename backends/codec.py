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
from backends import values
from backends.values import HASH, LIST, SET, Hash, ListValue, Members
from backends.zsets import ZSET, ZSet, flat, from_flat

_pack_len16 = struct.Struct(">BH").pack
_pack_len32 = struct.Struct(">BI").pack


#: msgpack ext type codes of the types a msgpack map or array cannot stand for ('S', 'Z')
SET_EXT = 83
ZSET_EXT = 90

#: first bytes of a msgpack map (fixmap, map 16, map 32) and of an ext object (fixext 1..16, ext 8/16/32)
_MAP_TAGS = frozenset(range(0x80, 0x90)) | {0xDE, 0xDF}
_EXT_TAGS = frozenset((0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8))
_BYTES = {bytes}
#: first bytes of a msgpack array (fixarray, array 16, array 32)
_ARRAY_TAGS = frozenset(range(0x90, 0xA0)) | {0xDC, 0xDD}


class LargePayload(bytes):
    """A dumped payload (``Store.dump``) of a hash or set Redis keeps in its large encoding (hashtable) although its
    contents would fit the compact one: a memory store restoring it keeps that encoding, as Redis' MOVE and COPY keep
    the object's. Equal to the plain bytes; a SQL store writes it as them."""


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
    if t is msgpack.ExtType:
        if obj.code == SET_EXT:
            return b"set"
        if obj.code == ZSET_EXT:
            return b"zset"
    return b"unknown"


_EXT_TYPE_AT = {0xd4: 1, 0xd5: 1, 0xd6: 1, 0xd7: 1, 0xd8: 1, 0xc7: 2, 0xc8: 3, 0xc9: 5}


def is_list_or_zset(payload: bytes) -> bool:
    """Whether a payload is a list (an array) or a sorted set (ext 90), from its header alone: the types clients
    block on (BLPOP, BZPOPMIN...), whose creation wakes them."""
    if not payload:
        return False
    b = payload[0]
    if 0x90 <= b <= 0x9f or b in (0xdc, 0xdd):
        return True
    at = _EXT_TYPE_AT.get(b)
    return at is not None and len(payload) > at and payload[at] == ZSET_EXT


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


# ---------------------------------------------------------------------------------------------- collections
def pack_value(value) -> bytes:
    """The payload of any stored value: a string (bytes) as ``encode``, a ``Packed`` as it is, a ``Hash`` as a map
    of bin to bin, ``Members`` as ext ``SET_EXT`` holding an array of bin, any other typed value as ``pack``."""
    t = type(value)
    if t is bytes:
        return encode(value)
    if t is Packed:
        return value.payload
    if t is Hash:
        return msgpack.packb(value, use_bin_type=True)
    if t is Members:
        return msgpack.packb(msgpack.ExtType(SET_EXT, msgpack.packb(list(value), use_bin_type=True)))
    if t is ListValue:
        return value.payload()
    if t is ZSet:
        return msgpack.packb(msgpack.ExtType(ZSET_EXT, msgpack.packb(flat(value), use_bin_type=True)))
    return pack(value)


def _scalar_text(store_id: str, key: bytes, obj, what: str) -> bytes:
    """A map's key or value as the Redis string a hash holds: bytes as they are, a number as INCR would print it,
    a boolean as 1 or 0. Anything else (nil, a nested array or map, ext) is WrongType with the reason."""
    t = type(obj)
    if t is bytes:
        return obj
    if t is int:
        return b"%d" % obj
    if t is float:
        return format_float(obj)
    if t is bool:
        return b"1" if obj else b"0"
    name = {list: "an array", dict: "a map", type(None): "nil"}.get(t, "a msgpack ext value")
    container, kind = ("array", "list") if what == "element" else ("map", "hash")
    raise WrongType("the msgpack %s at key '%s' in store '%s' holds %s as a %s, which a Redis %s cannot hold"
                    % (container, key[:128].decode("utf-8", "replace"), store_id, name, what, kind))


def as_kind(store_id: str, key: bytes, payload: bytes, kind: bytes):
    """The collection of type ``kind`` a payload holds (a new ``Hash``, ``Members``, ``ListValue`` or ``ZSet``,
    judged by its contents for its encoding). WrongType when the payload holds another type; CorruptValue when it
    does not decode.

    A map reads as a hash whatever program wrote it: str and bin keys and values as their bytes, numbers and
    booleans as their text (``_scalar_text``); a nested value makes it WrongType with the reason."""
    tag = payload[0] if payload else 0xC1
    if kind == HASH:
        if tag not in _MAP_TAGS:
            raise WrongType()
        obj = _unpack_raw(store_id, key, payload)
        if type(obj) is not dict:
            raise WrongType()
        if set(map(type, obj)) <= _BYTES and set(map(type, obj.values())) <= _BYTES:
            h = Hash(obj)  # respd's own payloads: bin to bin, taken as they are
        else:
            h = Hash()
            for f, v in obj.items():
                h[f if type(f) is bytes else _scalar_text(store_id, key, f, "field")] = (
                    v if type(v) is bytes else _scalar_text(store_id, key, v, "value"))
        h.compact = h.fits_listpack()
        return h
    if kind == LIST:
        if tag not in _ARRAY_TAGS:
            raise WrongType()
        obj = _unpack_raw(store_id, key, payload)
        try:
            b"".join(obj)  # only bytes join (msgpack gives no other bytes-like object): faster than looking at types
        except TypeError:
            pass
        else:
            return ListValue(obj)
        return ListValue(x if type(x) is bytes else _scalar_text(store_id, key, x, "element") for x in obj)
    if kind == SET:
        if tag not in _EXT_TAGS:
            raise WrongType()
        obj = _unpack_raw(store_id, key, payload)
        if type(obj) is not msgpack.ExtType or obj.code != SET_EXT:
            raise WrongType()
        members = _unpack_raw(store_id, key, obj.data)
        if type(members) is not list or any(type(m) is not bytes for m in members):
            raise CorruptValue(store_id, key, "a set payload must hold an array of strings")
        return Members(members)
    if kind == ZSET:
        if tag not in _EXT_TAGS:
            raise WrongType()
        obj = _unpack_raw(store_id, key, payload)
        if type(obj) is not msgpack.ExtType or obj.code != ZSET_EXT:
            raise WrongType()
        return _zset(store_id, key, _unpack_raw(store_id, key, obj.data))
    raise WrongType()


def _zset(store_id: str, key: bytes, items) -> ZSet:
    """The ZSet of a sorted set payload's array (member, score, ...): scores may be any msgpack number; a NaN, a
    member that is not a string or an odd length is CorruptValue."""
    if type(items) is not list or len(items) % 2:
        raise CorruptValue(store_id, key, "a sorted set payload must hold an array of member, score pairs")
    scores = items[1::2]
    if any(type(m) is not bytes for m in items[0::2]) or any(type(s) is not float for s in scores):
        for i in range(1, len(items), 2):
            s = items[i]
            if type(s) is int:
                items[i] = float(s)
            elif type(s) is not float or type(items[i - 1]) is not bytes:
                raise CorruptValue(store_id, key, "a sorted set payload must hold strings with numeric scores")
    if any(s != s for s in scores):
        raise CorruptValue(store_id, key, "a sorted set payload holds a NaN score")
    return from_flat(items)


def to_memory(store_id: str, key: bytes, payload: bytes):
    """What a memory store keeps for a dumped payload (COPY/MOVE from another store): a string as bytes, a hash
    within listpack limits, a list within ``values.LIST_PACKED_*`` and any other typed value as ``Packed``, a larger
    hash as ``Hash``, a longer list as a compacted ``ListValue``, a set as ``Members``."""
    tag = payload[0] if payload else 0xC1
    large = type(payload) is LargePayload
    payload = bytes(payload)
    if tag in (0xC4, 0xC5, 0xC6):
        return decode(store_id, key, payload)
    if tag in _MAP_TAGS:
        try:
            h = as_kind(store_id, key, payload, HASH)
        except WrongType:
            return Packed(payload)  # a map holding nested values: kept as it is (its commands answer WRONGTYPE)
        if h.compact and not large:
            return Packed(payload)
        h.compact = False
        return h
    if tag in _ARRAY_TAGS:
        try:
            lst = as_kind(store_id, key, payload, LIST)
        except WrongType:
            return Packed(payload)  # an array holding nested values: kept as it is (its commands answer WRONGTYPE)
        small = lst.small_payload(values.LIST_PACKED_ENTRIES, values.LIST_PACKED_BYTES)
        return lst.compact() if small is None else Packed(small)  # as a memory store keeps a list it made
    if tag in _EXT_TAGS:
        name = type_name(store_id, key, payload)
        if name == b"set":
            m = as_kind(store_id, key, payload, SET)
            if large:
                m.intset = False
            return m
        if name == ZSET:
            z = as_kind(store_id, key, payload, ZSET)
            if z.compact and not large:
                return Packed(payload)
            z.compact = False
            return z
    return Packed(payload)


def _unpack_raw(store_id: str, key: bytes, payload: bytes):
    """Any msgpack object, every str and bin as bytes. CorruptValue when payload is not exactly one object."""
    try:
        return msgpack.unpackb(payload, raw=True, strict_map_key=False)
    except msgpack.ExtraData:
        raise CorruptValue(store_id, key, "trailing bytes after the msgpack value") from None
    except Exception as ex:  # OutOfData, FormatError, StackError, unhashable map keys...
        raise CorruptValue(store_id, key, "undecodable msgpack payload: %s" % (str(ex) or type(ex).__name__)) from None
