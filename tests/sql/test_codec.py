"""backends.codec: respd's msgpack payloads and the mapping of foreign ones (no PostgreSQL needed)."""
from __future__ import annotations

import msgpack
import pytest

from backends.codec import decode, encode, format_float, is_string, type_name
from backends.base import CorruptValue, WrongType


@pytest.mark.parametrize("n", [0, 1, 255, 256, 65535, 65536, 1 << 20])
def test_encode_is_msgpack_bin(n):
    v = bytes(range(256)) * (n // 256) + b"x" * (n % 256)
    assert encode(v) == msgpack.packb(v)
    assert decode("s", b"k", encode(v)) == v


@pytest.mark.parametrize("obj, expected", [
    ("héllo", "héllo".encode()), ("", b""), (0, b"0"), (42, b"42"), (-7, b"-7"), (2 ** 64 - 1, b"18446744073709551615"),
    (-(2 ** 63), b"-9223372036854775808"), (1.5, b"1.5"), (3.0, b"3"), (-2.5, b"-2.5"), (0.1 + 0.2, b"0.30000000000000004"),
    (1e20, b"100000000000000000000"), (1e-05, b"0.00001"), (float("inf"), b"inf"), (float("-inf"), b"-inf"),
])
def test_foreign_scalars(obj, expected):
    assert decode("s", b"k", msgpack.packb(obj)) == expected
    assert type_name("s", b"k", msgpack.packb(obj)) == b"string"


def test_float32_and_legacy_str():
    assert decode("s", b"k", msgpack.packb(1.5, use_single_float=True)) == b"1.5"
    assert decode("s", b"k", msgpack.packb(b"\xff\x00ab", use_bin_type=False)) == b"\xff\x00ab"


@pytest.mark.parametrize("obj, tname", [({"a": 1}, b"hash"), ({1: 2}, b"hash"), ([1, 2], b"list"), (True, b"unknown"),
                                        (None, b"unknown"), (msgpack.ExtType(5, b"x"), b"unknown")])
def test_non_strings_are_wrongtype(obj, tname):
    payload = msgpack.packb(obj)
    with pytest.raises(WrongType):
        decode("s", b"k", payload)
    assert type_name("s", b"k", payload) == tname
    assert not is_string(payload)


@pytest.mark.parametrize("payload", [b"", b"\xc1", b"\xc4\x05ab", b"\xc5\x00", msgpack.packb(b"x") + b"y",
                                     msgpack.packb(1) + b"\x00", b"\xd9\x05ab"])
def test_corrupt_payloads(payload):
    with pytest.raises(CorruptValue) as ei:
        decode("store:x", b"key", payload)
    assert ei.value.store_id == "store:x" and ei.value.key == b"key" and ei.value.reason
    assert is_string(payload)  # surfaces as CorruptValue when read, never as WRONGTYPE


def test_format_float_matches_redis_text():
    assert format_float(5.0) == b"5"
    assert format_float(-0.0) == b"-0"
    assert format_float(1.7976931348623157e308).startswith(b"17976931348623157")
    assert b"e" not in format_float(1e-300)
    assert format_float(float("nan")) == b"nan"
