"""Reply encoding: golden bytes for RESP2 and RESP3 (SPEC §2)."""
from __future__ import annotations

import pytest

from respd.replies import (NULL_ARRAY, OK, Double, Err, Map, Raw, SetReply, Simple, Verbatim, encode,
                           format_double)

# (value, RESP2 bytes, RESP3 bytes)
GOLDEN = [
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (Simple("PONG"), b"+PONG\r\n", b"+PONG\r\n"),
    (Err("ERR boom"), b"-ERR boom\r\n", b"-ERR boom\r\n"),
    (Err(b"ERR a\r\nb\nc"), b"-ERR a  b c\r\n", b"-ERR a  b c\r\n"),
    (5, b":5\r\n", b":5\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-2, b":-2\r\n", b":-2\r\n"),
    (123456789012, b":123456789012\r\n", b":123456789012\r\n"),
    (-9223372036854775808, b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
    (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"a\r\nb", b"$4\r\na\r\nb\r\n", b"$4\r\na\r\nb\r\n"),
    (b"x" * 5000, b"$5000\r\n" + b"x" * 5000 + b"\r\n", b"$5000\r\n" + b"x" * 5000 + b"\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ([[b"a"], []], b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n", b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n"),
    ((b"t",), b"*1\r\n$1\r\nt\r\n", b"*1\r\n$1\r\nt\r\n"),
    ([OK, Err("ERR x")], b"*2\r\n+OK\r\n-ERR x\r\n", b"*2\r\n+OK\r\n-ERR x\r\n"),
    (Map([(b"proto", 3), (b"modules", [])]), b"*4\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
     b"%2\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n"),
    (Map({b"k": b"v"}), b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n", b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n"),
    (Map([]), b"*0\r\n", b"%0\r\n"),
    (SetReply([Simple("write"), Simple("fast")]), b"*2\r\n+write\r\n+fast\r\n", b"~2\r\n+write\r\n+fast\r\n"),
    (SetReply([]), b"*0\r\n", b"~0\r\n"),
    (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (Double(3.0), b"$1\r\n3\r\n", b",3\r\n"),
    (Double(float("inf")), b"$3\r\ninf\r\n", b",inf\r\n"),
    (Double(float("-inf")), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (Verbatim(b"# Server\r\nx:1\r\n"), b"$15\r\n# Server\r\nx:1\r\n\r\n", b"=19\r\ntxt:# Server\r\nx:1\r\n\r\n"),
    (Verbatim(b""), b"$0\r\n\r\n", b"=4\r\ntxt:\r\n"),
    (Raw(b"+RAW\r\n"), b"+RAW\r\n", b"+RAW\r\n"),
    (Map([(b"m", Map([(b"n", None)])), (b"s", SetReply([b"x"]))]),
     b"*4\r\n$1\r\nm\r\n*2\r\n$1\r\nn\r\n$-1\r\n$1\r\ns\r\n*1\r\n$1\r\nx\r\n",
     b"%2\r\n$1\r\nm\r\n%1\r\n$1\r\nn\r\n_\r\n$1\r\ns\r\n~1\r\n$1\r\nx\r\n"),
    ([None, NULL_ARRAY], b"*2\r\n$-1\r\n*-1\r\n", b"*2\r\n_\r\n_\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
]


@pytest.mark.parametrize("value,resp2,resp3", GOLDEN, ids=[repr(v)[:40] for v, _, _ in GOLDEN])
def test_encode_golden(value, resp2, resp3):
    assert encode(value, 2) == resp2
    assert encode(value, 3) == resp3


def test_large_array_and_integers():
    items = list(range(2000))
    expected = b"*2000\r\n" + b"".join(b":%d\r\n" % n for n in items)
    assert encode(items, 2) == expected


@pytest.mark.parametrize("value,text", [(0.1, b"0.1"), (1e300, b"1e+300"), (-0.5, b"-0.5"), (2.0, b"2"),
                                        (float("nan"), b"nan")])
def test_format_double(value, text):
    assert format_double(value) == text


def test_unencodable_type_is_an_error():
    with pytest.raises(TypeError):
        encode(object(), 2)


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


@pytest.mark.parametrize("tail,resp2,resp3", [
    ([], b"", b""),                                              # all short bulks: one join
    ([b"x" * 4096], _bulk(b"x" * 4096), _bulk(b"x" * 4096)),     # a long bulk: item by item
    ([None], b"$-1\r\n", b"_\r\n"),
    ([7], b":7\r\n", b":7\r\n"),
    ([[b"n"]], b"*1\r\n$1\r\nn\r\n", b"*1\r\n$1\r\nn\r\n"),
    ([Double(2.5)], b"$3\r\n2.5\r\n", b",2.5\r\n"),
    (["s"], b"$1\r\ns\r\n", b"$1\r\ns\r\n"),
])
def test_arrays_of_bulks_encode_alike_whatever_they_hold(tail, resp2, resp3):
    """Arrays of 8 or more short bulks (LRANGE, MGET) are encoded in one join; an array holding anything else is
    encoded item by item: the bytes are the same."""
    items = [b"", b"a", b"x" * 4095] + [b"%d" % i for i in range(6)]
    head = b"*%d\r\n" % (len(items) + len(tail)) + b"".join(map(_bulk, items))
    assert encode(items + tail, 2) == head + resp2
    assert encode(tuple(items + tail), 3) == head + resp3
