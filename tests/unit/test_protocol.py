"""RequestReader (sans-I/O request parsing): framing, inline quoting, limits and error ordering (SPEC §1)."""
from __future__ import annotations

import re
import tracemalloc

import pytest

from respd.errors import ProtocolError
from respd.protocol import RequestReader, screens, split_inline
from respd.protocol import reader as reader_module
from tests.helpers import encode_command

CHUNK = 64 * 1024
HISTORY_MAX = 1024 * 1024
INLINE_MAX_PLUS = 64 * 1024 + 1


def drain(reader: RequestReader, out: list) -> None:
    """What the server does: ``reader.drain()`` until it returns nothing (errors propagate)."""
    while True:
        batch = reader.drain()
        if not batch:
            return
        out.extend(batch)


def _next_one_by_one(reader: RequestReader, out: list) -> None:
    while (argv := reader.next()) is not None:
        out.append(argv)


def parse(chunks, collect=drain, **limits):
    """Feed chunks (each at most 64 KiB, like one receive) and collect requests (``collect``: ``drain``, what the
    server does, or ``_next_one_by_one``); a protocol error ends the list with ("error", text)."""
    reader = RequestReader(**limits)
    out: list = []
    try:
        for chunk in chunks:
            for i in range(0, len(chunk), CHUNK):
                reader.feed(chunk[i:i + CHUNK])
                collect(reader, out)
    except ProtocolError as e:
        out.append(("error", e.text))
    return out


def mb(*args) -> bytes:
    return encode_command(*args)


# (stream, expected requests)
STREAMS = [
    (mb("PING"), [[b"PING"]]),
    (mb("SET", "k", "v"), [[b"SET", b"k", b"v"]]),
    (mb("SET", b"k\r\n", b"\x00\xff\r\n$3\r\n"), [[b"SET", b"k\r\n", b"\x00\xff\r\n$3\r\n"]]),
    (mb("ECHO", b""), [[b"ECHO", b""]]),
    (mb("PING") + mb("ECHO", "x") + mb("GET", "k"), [[b"PING"], [b"ECHO", b"x"], [b"GET", b"k"]]),
    (b"*0\r\n" + mb("PING"), [[b"PING"]]),
    (b"*-1\r\n" + mb("PING"), [[b"PING"]]),
    (b"PING\r\n", [[b"PING"]]),
    (b"PING\n", [[b"PING"]]),
    (b"\r\n\n" + b"PING\r\n", [[b"PING"]]),
    (b"SET k v\r\nGET k\r\n", [[b"SET", b"k", b"v"], [b"GET", b"k"]]),
    (b"  SET\t k   v \r\n", [[b"SET", b"k", b"v"]]),
    (b"ECHO \"a b\" 'c d'\r\n", [[b"ECHO", b"a b", b"c d"]]),
    (b"PING\r\n" + mb("ECHO", "x") + b"GET k\r\n", [[b"PING"], [b"ECHO", b"x"], [b"GET", b"k"]]),
    (mb("SET", "a", "1") + b"GET a\r\n" + mb("INCR", "a") + b"GET a\r\n",
     [[b"SET", b"a", b"1"], [b"GET", b"a"], [b"INCR", b"a"], [b"GET", b"a"]]),
    (mb("ECHO", "x" * 5000) + mb("PING"), [[b"ECHO", b"x" * 5000], [b"PING"]]),
    # payloads that look like headers over the limits, at the end of a receive
    (mb("ECHO", b"$-1\r\n"), [[b"ECHO", b"$-1\r\n"]]),
    (mb("ECHO", b"a\r\n*2000000\r\n") + mb("PING"), [[b"ECHO", b"a\r\n*2000000\r\n"], [b"PING"]]),
    (mb("ECHO", b"a\r\n$600000000\r\n"), [[b"ECHO", b"a\r\n$600000000\r\n"]]),
]


@pytest.mark.parametrize("stream,expected", STREAMS, ids=[repr(s[:30]) for s, _ in STREAMS])
def test_whole_stream(stream, expected):
    assert parse([stream]) == expected


@pytest.mark.parametrize("stream,expected", STREAMS, ids=[repr(s[:30]) for s, _ in STREAMS])
def test_split_at_every_offset(stream, expected):
    step = 1 if len(stream) < 400 else 97
    for cut in range(1, len(stream), step):
        assert parse([stream[:cut], stream[cut:]]) == expected, "split at %d" % cut


@pytest.mark.parametrize("stream,expected", [s for s in STREAMS if len(s[0]) < 400],
                         ids=[repr(s[:30]) for s, _ in STREAMS if len(s) < 400])
def test_byte_at_a_time(stream, expected):
    assert parse([stream[i:i + 1] for i in range(len(stream))]) == expected


def test_three_way_splits():
    stream = mb("SET", "a", "1") + b"GET a\r\n" + mb("ECHO", "hi")
    expected = [[b"SET", b"a", b"1"], [b"GET", b"a"], [b"ECHO", b"hi"]]
    for a in range(1, len(stream)):
        for b in range(a, len(stream)):
            assert parse([stream[:a], stream[a:b], stream[b:]]) == expected, (a, b)


@pytest.mark.parametrize("authenticated,argv", [
    (True, [b"ECHO", b"$-1\r\n" + b"x" * 10]),
    (True, [b"ECHO", b"a\r\n*2000000\r\n" + b"x" * 10]),
    (True, [b"ECHO", b"a\r\n$600000000\r\n" + b"x" * 10]),
    (False, [b"AUTH", b"a\r\n*11\r\n$20000\r\n" + b"x" * 10]),
], ids=["null", "count", "bulk", "unauthenticated"])
def test_payload_that_looks_like_a_header_over_the_limits(authenticated, argv):
    """The limit checks on a receive that ends mid-request read the bytes hiredis holds from the item boundary
    where its buffer starts, also when that lies in an earlier receive: a payload is never taken for a header."""
    stream = mb(*argv)
    for a in range(1, len(stream)):
        for b in range(a + 1, len(stream)):
            assert parse([stream[:a], stream[a:b], stream[b:]], authenticated=authenticated) == [argv], (a, b)


def test_partial_frame_is_buffered():
    reader = RequestReader()
    reader.feed(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
    assert reader.next() is None
    assert reader.next() is None
    reader.feed(b"lo\r\n")
    assert reader.next() == [b"ECHO", b"hello"]
    assert reader.next() is None


# ------------------------------------------------------------------------------------------------ inline quoting
INLINE = [
    (b'ECHO a"b c"', [b"ECHO", b"ab c"]),
    (b'ECHO ""', [b"ECHO", b""]),
    (b"ECHO ''", [b"ECHO", b""]),
    (b'ECHO "a\\nb"', [b"ECHO", b"a\nb"]),
    (b'ECHO "\\r\\t\\b\\a\\\\\\""', [b"ECHO", b"\r\t\b\a\\\""]),
    (b'ECHO "\\x41\\x7a"', [b"ECHO", b"Az"]),
    (b'ECHO "\\xZZ"', [b"ECHO", b"xZZ"]),
    (b'ECHO "\\q"', [b"ECHO", b"q"]),
    (b"ECHO 'it\\'s'", [b"ECHO", b"it's"]),
    (b"ECHO 'a\\nb'", [b"ECHO", b"a\\nb"]),
    (b"ECHO 'a\"b'", [b"ECHO", b'a"b']),
    (b'ECHO "it\'s"', [b"ECHO", b"it's"]),
    (b"set  k\tv", [b"set", b"k", b"v"]),
    (b"", []),
    (b"   ", []),
]


@pytest.mark.parametrize("line,argv", INLINE, ids=[repr(x) for x, _ in INLINE])
def test_inline_split(line, argv):
    assert split_inline(line) == argv
    if argv:
        assert parse([line + b"\r\n"]) == [argv]
    else:
        assert parse([line + b"\r\n"]) == []


@pytest.mark.parametrize("line", [b'ECHO "abc', b"ECHO 'abc", b'ECHO "a"b', b"ECHO 'a'b", b'ECHO "a""b"'])
def test_inline_unbalanced_quotes(line):
    with pytest.raises(ProtocolError) as e:
        split_inline(line)
    assert e.value.text == "unbalanced quotes in request"
    assert parse([line + b"\r\n"]) == [("error", "unbalanced quotes in request")]


# ------------------------------------------------------------------------------------------------ errors and limits
ERRORS = [
    (b"*abc\r\n", "invalid multibulk length"),
    (b"*1\r\nfoo\r\n", "expected '$', got 'f'"),
    (b"*2\r\n$3\r\nfoo\r\n:1\r\n", "expected '$', got ':'"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$\r\n", "invalid bulk length"),
    (b"*2\r\n$4\r\nECHO\r\n$536870913\r\n", "invalid bulk length"),
]


@pytest.mark.parametrize("stream,text", ERRORS, ids=[repr(s) for s, _ in ERRORS])
def test_protocol_errors(stream, text):
    assert parse([stream]) == [("error", text)]


def test_nested_array_element_is_an_error():
    assert parse([b"*2\r\n$3\r\nfoo\r\n*1\r\n"]) == [("error", "expected '$', got '*'")]


def test_oversized_first_bulk_header_is_refused():
    assert parse([b"*1\r\n$536870913\r\n"]) == [("error", "invalid bulk length")]


@pytest.mark.parametrize("count", [b"50000000", b"2147483647"])
def test_huge_multibulk_count_allocates_nothing(count):
    """Redis 7.0 accepts counts up to INT_MAX from an authenticated client and allocates as arguments arrive."""
    tracemalloc.start()
    try:
        reader = RequestReader()
        reader.feed(b"*" + count + b"\r\n" + b"$1\r\na\r\n" * 1000)
        assert reader.next() is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


@pytest.mark.parametrize("authenticated,count,text", [
    (True, b"2147483648", "invalid multibulk length"), (True, b"99999999999999999999", "invalid multibulk length"),
    (False, b"11", "unauthenticated multibulk length"), (False, b"2147483647", "unauthenticated multibulk length")])
def test_count_over_the_limit_is_refused(authenticated, count, text):
    assert parse([mb("PING") + b"*" + count + b"\r\n"], authenticated=authenticated) == [[b"PING"], ("error", text)]


@pytest.mark.parametrize("authenticated,count,text", [
    (True, b"2147483648", "invalid multibulk length"), (False, b"11", "unauthenticated multibulk length")])
def test_count_over_the_limit_split_across_receives(authenticated, count, text):
    """The header check sees a count line that arrives in pieces (hiredis would allocate on the whole line)."""
    stream = mb("PING") + b"*" + count + b"\r\n" + b"$1\r\na\r\n" * 3
    start = len(mb("PING"))
    for a in range(start + 1, start + len(count) + 3):
        for b in range(a, start + len(count) + 3):
            chunks = [stream[:a], stream[a:b], stream[b:]] if b > a else [stream[:a], stream[a:]]
            assert parse(chunks, authenticated=authenticated) == [[b"PING"], ("error", text)], (a, b)


def test_count_lookalike_split_across_receives_in_a_value():
    stream = mb("SET", "k", b"x*12345678y") + mb("PING")
    for cut in range(1, len(stream)):
        assert parse([stream[:cut], stream[cut:]]) == [[b"SET", b"k", b"x*12345678y"], [b"PING"]], cut


@pytest.mark.parametrize("argv", [[b"PING"], [b"SET", b"k", b"v" * 10000]], ids=["short", "long"])
def test_requests_before_a_count_over_the_limit_are_answered(argv):
    """SPEC §1: what came earlier in the same read is executed first, also when the count check refuses."""
    before, expected = mb(*argv), [argv]
    assert parse([before + b"*2147483648\r\n" + mb("PING")]) == expected + [("error", "invalid multibulk length")]
    assert parse([before + b"*11\r\n"], authenticated=False)[-1] == ("error", "unauthenticated multibulk length")


def test_count_over_the_limit_after_a_request_too_long_to_keep():
    """Past HISTORY_MAX the reader no longer keeps the chunks of a request; the count check still holds."""
    value = b"v" * (HISTORY_MAX + 100000)
    stream = mb("SET", "k", value) + mb("PING") + b"*2147483648\r\n"
    chunks = [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]
    assert parse(chunks) == [[b"SET", b"k", value], [b"PING"], ("error", "invalid multibulk length")]


@pytest.mark.parametrize("element,byte", [
    (b"*4000000000\r\n", "*"),      # hiredis: MemoryError (a list of 4e9 slots)
    (b"~4000000000\r\n", "~"),      # RESP3 set, same
    (b"%1\r\n*0\r\n$1\r\na\r\n", "%"),  # RESP3 map keyed by a list: TypeError in hiredis
])
def test_aggregate_where_a_bulk_belongs_is_a_protocol_error(element, byte):
    """What hiredis fails on (rather than refusing) still gets Redis' reply, after the requests before it."""
    for collect in (drain, _next_one_by_one):
        assert parse([mb("PING") + b"*1\r\n" + element], collect=collect) == \
            [[b"PING"], ("error", "expected '$', got '%s'" % byte)]


def test_error_is_sticky():
    reader = RequestReader()
    reader.feed(b"*1\r\n$abc\r\n")
    with pytest.raises(ProtocolError):
        reader.next()
    reader.feed(mb("PING"))
    with pytest.raises(ProtocolError):
        reader.next()


@pytest.mark.parametrize("bad", [b"*1\r\n$abc\r\n", b"*1\r\nfoo\r\n", b'ECHO "x\r\n', b"*abc\r\n"])
def test_requests_before_a_bad_frame_come_out_first(bad):
    good = mb("SET", "a", "1") + b"PING\r\n" + mb("GET", "a")
    expected = [[b"SET", b"a", b"1"], [b"PING"], [b"GET", b"a"]]
    got = parse([good + bad + mb("PING")])
    assert got[:3] == expected
    assert got[3][0] == "error" and len(got) == 4


def test_bulk_length_above_configured_max_is_refused_on_the_header():
    got = parse([b"*2\r\n$4\r\nECHO\r\n$1048577\r\n"], max_bulk_len=1024 * 1024)
    assert got == [("error", "invalid bulk length")]
    assert parse([mb("ECHO", b"x" * 1000)], max_bulk_len=1000) == [[b"ECHO", b"x" * 1000]]


def test_multibulk_count_above_max_is_refused():
    assert parse([b"*1025\r\n"], max_multibulk_len=1024) == [("error", "invalid multibulk length")]
    assert parse([mb(*["a"] * 1024)], max_multibulk_len=1024) == [[b"a"] * 1024]


def test_too_big_inline_request():
    assert parse([b"A" * (64 * 1024 + 10)]) == [("error", "too big inline request")]
    # a long inline line below the limit is fine
    line = b"ECHO " + b"x" * (60 * 1024) + b"\r\n"
    assert parse([line]) == [[b"ECHO", b"x" * (60 * 1024)]]


def test_too_big_count_strings():
    assert parse([b"*" + b"1" * (64 * 1024 + 10)]) == [("error", "too big mbulk count string")]
    assert parse([b"*1\r\n$" + b"1" * (64 * 1024 + 10)]) == [("error", "too big bulk count string")]


def test_unauthenticated_limits():
    assert parse([b"*11\r\n"], authenticated=False) == [("error", "unauthenticated multibulk length")]
    assert parse([b"*2\r\n$4\r\nAUTH\r\n$16385\r\n"], authenticated=False) == \
        [("error", "unauthenticated bulk length")]
    # within the limits
    args = ["AUTH"] + ["x"] * 9
    assert parse([mb(*args)], authenticated=False) == [[a.encode() for a in args]]
    assert parse([mb("AUTH", "p" * 16384)], authenticated=False) == [[b"AUTH", b"p" * 16384]]
    # complete frames arriving at once are checked too
    assert parse([mb(*["a"] * 11)], authenticated=False) == [("error", "unauthenticated multibulk length")]
    assert parse([mb("AUTH", "p" * 16385)], authenticated=False) == [("error", "unauthenticated bulk length")]


@pytest.mark.parametrize("accepted", [True, False], ids=["auth-accepted", "auth-refused"])
def test_limits_follow_auth_within_one_receive(accepted):
    """Before authentication the reader hands out one request at a time, so the caller can lift the limits after an
    AUTH that succeeds (as Redis runs each request before it reads the next); the requests over the limits after
    it are then read whole, at any split of the stream."""
    argvs = [[b"AUTH", b"pw"], [b"SET", b"k", b"v" * 20000], [b"MSET"] + [b"a"] * 12, [b"PING"]]
    stream = b"".join(mb(*a) for a in argvs)
    for cut in list(range(0, 60)) + list(range(60, len(stream), 997)):
        reader = RequestReader(authenticated=False)
        out: list = []
        try:
            for chunk in ([stream[:cut], stream[cut:]] if cut else [stream]):
                reader.feed(chunk)
                while batch := reader.drain():
                    assert len(batch) == 1 or reader.authenticated
                    out.extend(batch)
                    if accepted and batch[-1][0] == b"AUTH":
                        reader.authenticated = True
        except ProtocolError as e:
            out.append(("error", e.text))
        if accepted:
            assert out == argvs, cut
        else:
            assert out[0] == argvs[0] and out[-1][0] == "error" and len(out) == 2, cut


def test_authenticated_limits_are_larger():
    assert parse([mb(*["a"] * 11)]) == [[b"a"] * 11]
    assert parse([mb("ECHO", "p" * 20000)]) == [[b"ECHO", b"p" * 20000]]


def test_empty_line_between_multibulk_requests_in_a_long_pipeline():
    body = b"".join(mb("SET", "key:%d" % n, "value:%d" % n) for n in range(40000))   # ~1.8 MB
    stream = body + b"\r\n" + mb("ECHO", "x" * 20)
    got = parse([stream[i:i + 65535] for i in range(0, len(stream), 65535)])
    assert len(got) == 40001 and got[-1] == [b"ECHO", b"x" * 20]


def test_empty_lines_between_multibulk_requests():
    stream = mb("SET", "a", "1") + b"\r\n" + mb("GET", "a") + b"\n\r\n" + mb("PING")
    assert parse([stream]) == [[b"SET", b"a", b"1"], [b"GET", b"a"], [b"PING"]]
    for cut in range(1, len(stream)):
        assert parse([stream[:cut], stream[cut:]]) == [[b"SET", b"a", b"1"], [b"GET", b"a"], [b"PING"]], cut


def test_large_bulk_in_many_chunks():
    payload = bytes(range(256)) * 1024  # 256 KiB
    stream = mb("SET", "k", payload) + mb("PING")
    assert parse([stream]) == [[b"SET", b"k", payload], [b"PING"]]
    pieces = [stream[i:i + 1000] for i in range(0, len(stream), 1000)]
    assert parse(pieces) == [[b"SET", b"k", payload], [b"PING"]]


# ------------------------------------------------------------------------------------------------ property tests
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

_SAFE = st.binary(min_size=1, max_size=12).filter(lambda b: all(c > 0x20 and c not in b"\"'\x7f" for c in b))
_REQUEST = st.one_of(
    st.tuples(st.just("mb"), st.lists(st.binary(max_size=30), min_size=1, max_size=5)),
    # inline commands start with a letter here; other first bytes are pinned by the test below
    st.tuples(st.just("inline"), st.lists(_SAFE, min_size=1, max_size=5).filter(lambda a: a[0][:1].isalpha())),
)


def _encode(kind, argv):
    if kind == "mb":
        return mb(*argv)
    return b" ".join(argv) + b"\r\n"


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(_REQUEST, min_size=1, max_size=8), cuts=st.lists(st.integers(0, 10 ** 6), max_size=6))
def test_any_pipeline_any_chunking(requests, cuts):
    stream = b"".join(_encode(k, a) for k, a in requests)
    expected = [list(a) for _, a in requests]
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    chunks = [stream[a:b] for a, b in zip(points, points[1:]) if b > a]
    assert parse(chunks) == expected


@pytest.mark.parametrize("line", [b"+x\r\n", b":1\r\n", b"-x\r\n", b"$5\r\n", b">2\r\n", b"~1\r\n", b"|1\r\n",
                                  b"%1\r\n", b"=5\r\n", b"(1\r\n", b"_\r\n", b",1\r\n", b"#t\r\n"])
def test_inline_starting_with_a_type_byte_after_multibulk(line):
    assert parse([mb("PING") + line + b"PING\r\n"]) == [[b"PING"], [line[:-2]], [b"PING"]]


@pytest.mark.parametrize("line", [b"+x\r\n", b":1\r\n", b"-x\r\n", b"$5\r\n"])
def test_inline_starting_with_a_type_byte(line):
    assert parse([line + b"PING\r\n"]) == [[line[:-2]], [b"PING"]]


# ------------------------------------------------------------------------------------------------ drain == next
_ODD_STREAMS = [s for s, _ in STREAMS] + [
    mb("PING") + b"*2\r\n$3\r\nGET\r\n:12\r\n" + mb("PING"),           # an integer element
    mb("PING") + b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n" + mb("PING"),  # a nested array
    mb("PING") + b"*1\r\n$-1\r\n" + mb("PING"),                          # a null element
    mb("PING") + b"*1\r\n-ERR\r\n" + mb("PING"),                         # an error element
    mb("PING") + b"$5\r\n" + mb("PING"),                                 # a bulk outside an array
    mb("PING") + b"?x\r\n" + mb("PING"),                                 # not a type byte
    mb("PING") + b"*0\r\n*-1\r\n" + mb("ECHO", "a") + b"PING\r\n",      # empty and null arrays, then inline
    mb("PING") + b"*3000000\r\n" + mb("PING"),                           # count over the limit
    mb("PING") + b"*1\r\n$600000000\r\n",                                # bulk over the limit
    mb("PING") + mb("SET", "k", "v") * 3 + b"GET k\r\n" + mb("PING"),
]


@pytest.mark.parametrize("authenticated", [True, False])
@pytest.mark.parametrize("stream", _ODD_STREAMS, ids=[repr(s[:40]) for s in _ODD_STREAMS])
def test_drain_gives_what_next_gives(stream, authenticated):
    """``drain`` (the server's path) and ``next`` agree on requests, their order and the error, at every split."""
    step = 1 if len(stream) < 400 else 61
    for cut in range(0, len(stream), step):
        chunks = [stream[:cut], stream[cut:]] if cut else [stream]
        assert parse(chunks, authenticated=authenticated) == \
            parse(chunks, collect=_next_one_by_one, authenticated=authenticated), "split at %d" % cut


# ------------------------------------------------------------------------------------------------ long chunks
_LONG_STREAMS = _ODD_STREAMS + [
    b"".join(mb("SET", "key:%d" % n, bytes([n % 251]) * (900 + n * 37)) for n in range(60)) + mb("PING"),
    b"".join(mb("SET", "k", "v" * 1000) for _ in range(20)) + b"GET k\r\n" + mb("PING"),      # inline after
    b"".join(mb("SET", "k", "v" * 1000) for _ in range(9)) + b"*2\r\n$3\r\nGET\r\n*1\r\n" + mb("PING"),
    b"".join(mb("SET", "k", "v" * 1000) for _ in range(9)) + b"*2\r\n$4\r\nECHO\r\n$600000000\r\n",
    b"".join(mb("SET", "k", "v" * 1000) for _ in range(9)) + b"*3000000\r\n" + mb("PING"),
    b"".join(mb("SET", "k", "v" * 1000) for _ in range(9)) + mb("SET", "k", "v" * 5000)[:3000],  # incomplete
]


@pytest.mark.parametrize("piece", [1, 7, 100, 1024])
@pytest.mark.parametrize("stream", _LONG_STREAMS, ids=[repr(s[:40]) for s in _LONG_STREAMS])
def test_pieces_give_what_whole_chunks_give(stream, piece, monkeypatch):
    """hiredis gets a long receive FEED_PIECE bytes at a time: the requests, their order, the error and the
    reader's bookkeeping are those of feeding it whole, at any split of the stream."""
    step = 1 if len(stream) < 400 else 997
    for cut in range(0, len(stream), step):
        chunks = [stream[:cut], stream[cut:]] if cut else [stream]
        for collect in (drain, _next_one_by_one):
            for module in (reader_module, screens):  # each reads FEED_PIECE as its own global
                monkeypatch.setattr(module, "FEED_PIECE", 1 << 30)
            whole = parse(chunks, collect=collect)
            for module in (reader_module, screens):
                monkeypatch.setattr(module, "FEED_PIECE", piece)
            assert parse(chunks, collect=collect) == whole, (cut, collect.__name__)


def test_long_chunks_reach_hiredis_in_pieces():
    """hiredis moves its unparsed bytes to the front of its buffer after each request once 1 KiB is consumed: fed
    a whole 64 KiB chunk of 1 KiB requests, it would move ~30 KiB per request. It holds at most a piece (plus the
    request in progress and under 1 KiB already consumed)."""
    stream = b"".join(mb("SET", "key:%d" % n, "v" * 1024) for n in range(60))
    assert 60000 < len(stream) <= CHUNK
    reader = RequestReader()
    seen = []
    gets = reader._gets

    def recording_gets():
        seen.append(reader._reader.len())
        return gets()
    reader._gets = recording_gets
    reader.feed(stream)
    assert len(reader.drain()) == 60
    assert max(seen) <= 8 * 1024  # FEED_PIECE (4 KiB) + ~2 KiB


_COUNTISH = st.one_of(
    st.integers(0, 10 ** 8).map(lambda n: b"*%d" % n), st.integers(0, 10 ** 8).map(lambda n: b"*0%d" % n),
    st.sampled_from([b"*", b"\r\n", b"7", b"*1\r\n", b"+", b"|", b">", b">1234", b"="]), st.binary(max_size=8),
    st.integers(0, 3000).map(lambda n: b"x" * n))


def _screen_by_definition(data: bytes):
    if re.search(rb"[*>][1-9]\d{3}", data):
        return None
    return tuple(bytes([b]) for b in b"+(=~|" if bytes([b]) in data)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(_COUNTISH, max_size=40), pad=st.integers(8192, 20000), cut=st.integers(0, 9))
def test_screen_finds_what_the_regex_finds(parts, pad, cut):
    """``_screen`` (memchr over '*' in long chunks) answers as the regexes do."""
    data = b"y" * pad + b"".join(parts)
    data = data[:len(data) - cut]  # counts right at the end of the chunk too
    assert screens.screen(data) == _screen_by_definition(data)
    dense = b"*1\r\n" * (len(data) // 4) + data  # '*' denser than the memchr walk is worth
    assert screens.screen(dense) == _screen_by_definition(dense)


@pytest.mark.parametrize("count", [b"*1234", b"*1000", b"*10000000", b"*0123", b"*123", b"*12x45"])
@pytest.mark.parametrize("before", [b"x" * 9000, b"x" * 9000 + b"*1\r\n" * 100, b"*1\r\n" * 2500])
@pytest.mark.parametrize("after", [b"", b"\r\n", b"x" * 5000])
def test_screen_on_long_chunks(count, before, after):
    data = before + count + after
    assert screens.screen(data) == _screen_by_definition(data)


# ------------------------------------------------------------------------------------------------ Redis' framing
# Each of these was read differently from Redis 7.0 before (issue 11 items 2 and 17); redis-server's replies to the
# same bytes are compared in tests/differential/test_framing_fuzz.py.
REDIS_FRAMING = [
    # a request whose first byte is not '*' is inline, wherever it comes
    (mb("PING") + b"|1\r\n+ECHO\r\n+hi\r\n", [[b"PING"], [b"|1"], [b"+ECHO"], [b"+hi"]]),
    (mb("PING") + b"~2\r\n" + mb("ECHO", "hi")[4:], [[b"PING"], [b"~2"], [b"$4"], [b"ECHO"], [b"$2"], [b"hi"]]),
    (mb("PING") + b">2147483647\r\n", [[b"PING"], [b">2147483647"]]),
    # inside a multibulk request every element is a bulk
    (b"*2\r\n$4\r\nECHO\r\n+hi\r\n", [("error", "expected '$', got '+'")]),
    (b"*2\r\n$4\r\nECHO\r\n=6\r\ntxt:hi\r\n", [("error", "expected '$', got '='")]),
    (b"*2\r\n$4\r\nECHO\r\n(15\r\n", [("error", "expected '$', got '('")]),
    (mb("PING") + b"*2\r\n$4\r\nECHO\r\n>100000000\r\n", [[b"PING"], ("error", "expected '$', got '>'")]),
    (b"*2\r\n$4\r\nECHO\r\n\r\n", [("error", "expected '$', got ' '")]),
    # counts: <= 0 is an empty request, up to INT_MAX waits for its elements
    (b"*-4\r\n" + mb("PING"), [[b"PING"]]),
    (b"*-2147483649\r\n" + mb("PING"), [[b"PING"]]),
    (b"*-0\r\n", [("error", "invalid multibulk length")]),
    (mb("PING") + b"*2147483647\r\n" + mb("ECHO", "x")[4:], [[b"PING"]]),
    # a header line ends at its first '\r' with any byte after it; any two bytes follow a bulk
    (b"*1\rx$4\r\nPING\r\n", [[b"PING"]]),
    (b"*1\r\n$4\rxPINGxx*1\r\n$4\r\nPING\r\n", [[b"PING"], [b"PING"]]),
    # a NUL stops Redis' search for a line end: the request only grows
    (b"PING\x00\r\nPING\r\n", []),
    (b"*1\x00\r\n" + mb("PING"), []),
    (b"*1\r\n$4\x00\r\nPING\r\n", []),
    (b"*1\r\n\x00$4\r\nPING\r\n", []),
    (b"PING\x00" + b"x" * INLINE_MAX_PLUS, [("error", "too big inline request")]),
    (b"*1\x00" + b"x" * INLINE_MAX_PLUS, [("error", "too big mbulk count string")]),
    (b"*1\r\n$1\x00" + b"x" * INLINE_MAX_PLUS, [("error", "too big bulk count string")]),
    # inline: \v and \f are blanks between tokens but part of a token
    (b"ECHO a\x0bb\r\n", [[b"ECHO", b"a\x0bb"]]),
    (b"ECHO \x0b\x0c a\x0c\r\n", [[b"ECHO", b"a\x0c"]]),
    (b'ECHO "a"\x0bb\r\n', [[b"ECHO", b"a", b"b"]]),
]


@pytest.mark.parametrize("stream,expected", REDIS_FRAMING, ids=[repr(s[:40]) for s, _ in REDIS_FRAMING])
def test_redis_framing(stream, expected):
    assert parse([stream]) == expected
    for collect in (drain, _next_one_by_one):
        for cut in range(1, min(len(stream), 200)):
            assert parse([stream[:cut], stream[cut:]], collect=collect) == expected, cut


@pytest.mark.parametrize("stream,expected", [
    (mb("SET", "k", "a=b") + mb("GET", "k"), [[b"SET", b"k", b"a=b"], [b"GET", b"k"]]),
    (mb("SET", "k", "=5\r\ntxt:x") + mb("PING"), [[b"SET", b"k", b"=5\r\ntxt:x"], [b"PING"]]),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n=5\r\ntxt:x\r\n" + mb("PING"), [("error", "expected '$', got '='")]),
    (mb("ECHO", "a=b") + b"*2\r\n$4\r\nECHO\r\n=6\r\ntxt:hi\r\n",
     [[b"ECHO", b"a=b"], ("error", "expected '$', got '='")]),
    (mb("ECHO", "a+b") + b"*3\r\n$4\r\nECHO\r\n+hi\r\n$1\r\n+\r\n",
     [[b"ECHO", b"a+b"], ("error", "expected '$', got '+'")]),
    (mb("ECHO", "x" * 300) + b"*2\r\n$4\r\nECHO\r\n=6\r\ntxt:hi\r\n",
     [[b"ECHO", b"x" * 300], ("error", "expected '$', got '='")]),
    (mb("SET", "k", "<a>1234</a>") + mb("GET", "k"), [[b"SET", b"k", b"<a>1234</a>"], [b"GET", b"k"]]),
], ids=["eq", "eq-verbatim-lookalike", "verbatim", "verbatim-after", "status-after", "verbatim-after-long", "gt"])
def test_payloads_with_screened_bytes(stream, expected):
    """Receives holding '+ ( = ~ |' are read by hiredis and checked by counting (or, '=' alone with long values, by
    the encoded length); '>' only matters before four digits."""
    assert parse([stream]) == expected
    for cut in range(1, len(stream)):
        assert parse([stream[:cut], stream[cut:]]) == expected, cut


@pytest.mark.parametrize("reqs", [[[b"PING"]], [[b""]], [[b"x" * 9, b"y" * 10]], [[b"a"] * 10, [b"b" * 65536]],
                                  [[b"SET", b"k" * 99, b"v" * 100], [b"x" * 999, b"y" * 1000, b"z" * 10000]]])
def test_wire_len_is_the_encoded_length(reqs):
    assert screens.wire_len(reqs) == sum(len(encode_command(*req)) for req in reqs)


@pytest.mark.parametrize("stream,expected", [
    (mb("ECHO", "a=b") + b"*2\r\n$4\r\nECHO\r\n=6\r\ntxt:hi\r\n" + mb("PING"),
     [[b"ECHO", b"a=b"], ("error", "expected '$', got '='")]),
    (mb("ECHO", "a=b") + b"*2\r\n$4\r\nECHO\r\n=10\r\ntxt:=\r\n=x\r\n" + mb("ECHO", "=" * 20),
     [[b"ECHO", b"a=b"], ("error", "expected '$', got '='")]),
    (b"".join(mb("SET", "key:%06d" % i, ("AB=>9" * 205)[:1024]) for i in range(20)),
     [[b"SET", b"key:%06d" % i, ("AB=>9" * 205)[:1024].encode()] for i in range(20)]),
], ids=["verbatim-then-unfinished", "verbatim-hiding-eq-then-unfinished", "eq-values"])
def test_receives_with_eq_that_end_inside_a_request(stream, expected):
    """A receive holding '=' that ends inside a request: hiredis' requests before it are kept when they are
    canonical (the reference parser takes over after them), and a verbatim item among them is still caught."""
    assert parse([stream]) == expected
    for cut in range(1, len(stream), 1 if len(stream) < 500 else 97):
        assert parse([stream[:cut], stream[cut:]]) == expected, cut


# hiredis skips the two bytes after a bulk unread, as Redis does: an item can start right after any two bytes, not only
# after a '\n'. A screen that looked for '\n>' or '\n+' (a cheaper search than the bare byte) would miss these.
BEHIND_A_BULK = [
    (b"*1\r\n$4\r\nPINGxy>2147483647\r\n", [[b"PING"], [b">2147483647"]]),  # a push header: hiredis preallocates
    (b"*1\r\n$4\r\nPINGxy*2147483647\r\n" + mb("ECHO", "x")[4:], [[b"PING"]]),
    (b"*2\r\n$4\r\nECHOxy+hi\r\n", [("error", "expected '$', got '+'")]),
    (b"*2\r\n$4\r\nECHOxy=6\r\ntxt:hi\r\n", [("error", "expected '$', got '='")]),
    (b"*2\r\n$4\r\nECHOxy(15\r\n", [("error", "expected '$', got '('")]),
    (b"*1\r\n$4\r\nPINGxy~1\r\n$2\r\nhi\r\n", [[b"PING"], [b"~1"], [b"$2"], [b"hi"]]),
    (b"*1\r\n$4\r\nPINGxy|1\r\n+ECHO\r\n+hi\r\n", [[b"PING"], [b"|1"], [b"+ECHO"], [b"+hi"]]),
    (b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\n+*1\r\n$4\r\nPING\r\n", [[b"ECHO", b"hi"], [b"PING"]]),
]


@pytest.mark.parametrize("stream,expected", BEHIND_A_BULK, ids=[repr(s[:40]) for s, _ in BEHIND_A_BULK])
def test_items_behind_a_bulks_two_bytes(stream, expected):
    assert parse([stream]) == expected
    for cut in range(1, len(stream)):
        assert parse([stream[:cut], stream[cut:]]) == expected, cut


@pytest.mark.parametrize("args", [
    ("SET", "k", "a\n>1234567\r\nb"), ("SET", "k", "a\n*1234567\r\nb"), ("SET", "k", "+OK"), ("SET", "k", "=5"),
    ("SET", "k", "(12"), ("SET", "k", "~1"), ("SET", "k", "|1"), ("SET", "k\n", "\n+x\n"), ("ECHO", "\n"),
    ("ECHO", "x\n=y\r\n+z" * 40), ("SET", "=" * 300, "+" * 300),
])
def test_payloads_that_look_like_resp3_items(args):
    """Payloads that start with, or hold after a line end, the bytes of RESP3 items are arguments like any other."""
    stream = mb(*args) + mb("GET", "k")
    expected = [[a.encode() for a in args], [b"GET", b"k"]]
    assert parse([stream]) == expected
    assert parse([stream * 40]) == expected * 40
    for cut in range(1, len(stream), 7):
        assert parse([stream[:cut], stream[cut:]]) == expected, cut


def test_bulk_over_a_small_max_is_refused_in_a_complete_receive():
    """A bulk that arrives whole is checked against ``max_bulk_len`` too (hiredis would read it)."""
    got = parse([mb("PING") + mb("ECHO", "x" * 2000)], max_bulk_len=1000)
    assert got == [[b"PING"], ("error", "invalid bulk length")]
