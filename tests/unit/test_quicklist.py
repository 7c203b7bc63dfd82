"""backends.quicklist.ListValue against collections.deque: every operation list commands use, over random sequences
that cross the chunk and buffer boundaries (small chunks, long elements split by size, the default sizes); and what a
memory store keeps for short and long lists (issue 15's memory target)."""
from __future__ import annotations

import random
import sys
from collections import deque

import msgpack
import pytest

from backends import quicklist, values
from backends.codec import Packed
from backends.memory import MemoryStore
from backends.quicklist import ListValue
from backends.values import LIST


def _check(lv: ListValue, dq: deque) -> None:
    want = list(dq)
    assert len(lv) == len(dq) and bool(lv) == bool(dq)
    assert lv.to_list() == want and list(lv) == want and list(reversed(lv)) == want[::-1]
    assert lv.chunked == sum(lv._counts) and len(lv._chunks) == len(lv._counts)
    for payload, count in zip(lv._chunks, lv._counts):
        assert len(msgpack.unpackb(payload)) == count > 0


def _element(rng: random.Random, big: bool) -> bytes:
    if big and rng.random() < 0.2:
        return bytes([rng.randrange(97, 100)]) * rng.randrange(100, 3000)
    return b"%d" % rng.randrange(12)


def _one_step(rng: random.Random, lv: ListValue, dq: deque, big: bool) -> None:
    op = rng.randrange(16)
    n = len(dq)
    if op == 0:
        x = _element(rng, big)
        lv.appendleft(x), dq.appendleft(x)
    elif op == 1:
        x = _element(rng, big)
        lv.append(x), dq.append(x)
    elif op == 2:
        xs = [_element(rng, big) for _ in range(rng.randrange(300))]
        lv.extendleft(xs), dq.extendleft(xs)
    elif op == 3:
        xs = [_element(rng, big) for _ in range(rng.randrange(300))]
        lv.extend(xs), dq.extend(xs)
    elif op in (4, 5):
        for _ in range(rng.randrange(1, 80)):
            if not dq:
                with pytest.raises(IndexError):
                    lv.popleft() if op == 4 else lv.pop()
                break
            got = lv.popleft() if op == 4 else lv.pop()
            assert got == (dq.popleft() if op == 4 else dq.pop())
    elif op == 6 and n:
        i = rng.randrange(-n, n)
        assert lv[i] == dq[i]
    elif op == 7 and n:
        i = rng.randrange(-n, n)
        x = _element(rng, big)
        lv[i] = x
        dq[i] = x
    elif op == 8:
        i = rng.randrange(n + 1)
        x = _element(rng, big)
        lv.insert(i, x), dq.insert(i, x)
    elif op == 9:
        x = _element(rng, False)
        start = rng.randrange(n + 1)
        stop = rng.randrange(start, n + 2)
        try:
            want = dq.index(x, start, stop)
        except ValueError:
            with pytest.raises(ValueError):
                lv.index(x, start, stop)
        else:
            assert lv.index(x, start, stop) == want
    elif op == 10:
        start = rng.randrange(n + 1)
        stop = rng.randrange(start, n + 1)
        assert lv.slice(start, stop) == list(dq)[start:stop]
    elif op == 11 and n:
        first = rng.randrange(n)
        last = rng.randrange(first, n)
        lv.trim(first, last)
        kept = list(dq)[first:last + 1]
        dq.clear()
        dq.extend(kept)
    elif op == 12 and rng.random() < 0.1:
        lv.clear(), dq.clear()
    elif op == 13:
        lv.compact()
    elif op == 14:
        c = lv.copy()
        assert c.to_list() == list(dq)
        c.append(b"only in the copy")
    elif op == 15 and n and rng.random() < 0.3:
        with pytest.raises(IndexError):
            lv[n]
        with pytest.raises(IndexError):
            lv[-n - 1]


@pytest.mark.parametrize("chunk,buffer,keep,big", [(2, 4, 1, False), (3, 5, 2, True), (4, 3, 0, False),
                                                   (64, 32, 8, False), (64, 32, 8, True)])
@pytest.mark.parametrize("seed", range(4))
def test_list_value_behaves_as_a_deque(monkeypatch, chunk, buffer, keep, big, seed):
    monkeypatch.setattr(quicklist, "CHUNK", chunk)
    monkeypatch.setattr(quicklist, "BUFFER", buffer)
    monkeypatch.setattr(quicklist, "KEEP", keep)
    rng = random.Random(seed * 1000 + chunk)
    lv, dq = ListValue(), deque()
    for _ in range(400):
        _one_step(rng, lv, dq, big)
        _check(lv, dq)


def test_pushes_and_pops_pack_and_unpack_chunks():
    """A long list lives in chunks (each a msgpack array of bin, 2 bytes of header per short element), with at most
    BUFFER - 1 elements unpacked at each end; popping it all gives the elements back in order."""
    lv = ListValue()
    for i in range(10_000):
        lv.append(b"%015d" % i)
    assert len(lv._tail) < quicklist.BUFFER and len(lv._chunks) > 100
    step = quicklist.BUFFER - quicklist.KEEP  # what each flush of the tail packs
    assert all(len(p) == 3 + step * 17 for p in list(lv._chunks)[:5])  # array 16 header, then bin 8 entries
    assert len(ListValue([b"x" * 15] * 1000).compact()._chunks[0]) == 3 + 64 * 17  # bulk: chunks of CHUNK
    assert lv[5000] == b"%015d" % 5000 and lv[-1] == b"%015d" % 9999
    assert lv.slice(4990, 5010) == [b"%015d" % i for i in range(4990, 5010)]
    assert [lv.popleft() for _ in range(10_000)] == [b"%015d" % i for i in range(10_000)]
    assert not lv and not lv._chunks


def test_alternating_push_and_pop_at_one_end_does_not_repack():
    """At a buffer's boundary a push and a pop alternating touch only the buffer: after at most one pack (the
    buffer a chunk was unpacked into is full), no chunk is packed or unpacked again."""
    lv = ListValue()
    lv.extend(b"x" for _ in range(1000))
    lv.compact()
    assert not lv._head
    for first, second in ((lv.popleft, lv.appendleft), (lv.appendleft, lv.popleft)):
        for _ in range(quicklist.BUFFER):  # empty the buffer, or fill it
            if first == lv.popleft:
                lv.popleft()
            else:
                lv.appendleft(b"y")
        lv.popleft(), lv.appendleft(b"y")
        chunks = list(lv._chunks)
        for _ in range(500):
            lv.appendleft(b"y")
            assert lv.popleft() == b"y"
        assert list(lv._chunks) == chunks


def test_long_elements_split_chunks_by_size():
    lv = ListValue([b"z" * 3000 for _ in range(10)]).compact()
    assert len(lv._chunks) == 5 and all(len(p) <= quicklist.CHUNK_BYTES for p in lv._chunks)
    lv[3] = b"short"
    assert lv.to_list()[3] == b"short" and len(lv) == 10


def _kept_bytes(v) -> int:
    """The bytes a memory store's kept list value takes: its object(s) and every element or chunk it holds."""
    if type(v) is Packed:
        return sys.getsizeof(v) + sys.getsizeof(v.payload)
    if type(v) is ListValue:
        return (sys.getsizeof(v) + sys.getsizeof(v._chunks) + sys.getsizeof(v._counts)
                + sum(map(sys.getsizeof, v._chunks)) + sum(map(sys.getsizeof, v._head + v._tail)))
    return sys.getsizeof(v) + sum(map(sys.getsizeof, v))  # a deque of bytes (before issue 15's packing)


def test_a_memory_store_keeps_lists_packed():
    """Issue 15's memory target: a short list is kept as its payload, a long one as chunks, both within a few bytes
    of their 16-byte elements (redis-server: about 19 bytes per element); a long list that shrinks to half the
    limit goes back to a payload. (A deque of bytes objects took about 72 bytes per element.)"""
    s = MemoryStore("t:lists", max_size=0, cleanup_interval=0)

    def push(elements):
        def fn(lst):
            lst.extend(elements)
            return True, len(lst)
        return fn

    s.update(b"short", LIST, push([b"element:%08d" % i for i in range(10)]))
    short = s._data[b"short"]
    assert type(short) is Packed and _kept_bytes(short) / 10 < 30
    for start in range(0, 100_000, 1000):
        s.update(b"long", LIST, push([b"element:%08d" % i for i in range(start, start + 1000)]))
    long = s._data[b"long"]
    assert type(long) is ListValue and _kept_bytes(long) / 100_000 < 21
    assert s.read(b"long", LIST).slice(99_998, 100_000) == [b"element:00099998", b"element:00099999"]

    def trim(lst):
        lst.trim(0, values.LIST_PACKED_ENTRIES // 2 - 1)
        return True, None
    s.update(b"long", LIST, trim)
    assert type(s._data[b"long"]) is Packed
    assert list(s.read(b"long", LIST)) == [b"element:%08d" % i for i in range(values.LIST_PACKED_ENTRIES // 2)]


def test_a_restored_list_is_kept_as_a_made_one():
    """RESTORE, COPY and MOVE into a memory store keep a list as the store keeps one it made: a short one as its
    payload, a long one in chunks (not as a buffer of bytes objects)."""
    s = MemoryStore("t:restore", max_size=0, cleanup_interval=0)
    short = [b"element:%08d" % i for i in range(10)]
    long = [b"element:%08d" % i for i in range(5000)]
    assert s.restore(b"short", msgpack.packb(short), None, False)
    assert s.restore(b"long", msgpack.packb(long), None, False)
    assert type(s._data[b"short"]) is Packed and list(s.read(b"short", LIST)) == short
    kept = s._data[b"long"]
    assert type(kept) is ListValue and not kept._tail and kept.chunked == 5000 and kept.to_list() == long
