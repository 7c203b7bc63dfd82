"""``ListValue``: a Redis list as Redis 7.0 keeps one, a quicklist: a chain of packed chunks, plus an unpacked buffer
at each end where pushes and pops happen.

A chunk is the msgpack array of at most ``CHUNK`` elements as ``bin`` (the format of a list's payload, so a chunk
packs and unpacks at C speed and costs 2 bytes per element of under 256 bytes, as a listpack entry does); it is
split further to stay near ``CHUNK_BYTES`` when its elements are long. The buffers are Python lists of bytes: the
head buffer holds the first elements in reverse order (its last item is the list's first element), the tail buffer
the last elements in order. So:

- a push appends to a buffer; once a buffer holds ``BUFFER`` elements, all but the ``KEEP`` outermost are packed
  into chunks: O(1) amortized per push, and at most ``BUFFER - 1`` elements unpacked at each end after pushes (what
  keeps a list of a few hundred elements pushed one by one compact);
- a pop takes from its buffer; an empty buffer first unpacks the nearest chunk (at most ``CHUNK`` elements; with no
  chunk left, the other buffer moves over): O(1) amortized per pop. A push and a pop alternating at one end never
  pack and unpack chunks over and over: a buffer unpacks only when empty and packs leaving ``KEEP`` elements, so
  between two such O(CHUNK) steps come at least ``KEEP`` plain ones;
- an index walks the chunk counts from the nearer end, then unpacks one chunk: O(N / CHUNK + CHUNK); a range of
  N elements from S costs O(S / CHUNK + N + CHUNK) (Redis: O(S + N)); a range that runs from a buffer into the
  next chunk unpacks that chunk into the buffer (up to ``2 * CHUNK`` elements there), so reading the first
  elements again (LRANGE 0 99) costs what a deque's slice does;
- a search (LPOS, LINSERT's pivot) skips a chunk whose payload does not contain the element's bytes without
  unpacking it.

The object offers the operations of ``collections.deque`` that list commands use (``append``, ``appendleft``,
``pop``, ``popleft``, ``extend``, ``extendleft``, ``len``, iteration both ways, ``lst[i]`` and ``lst[i] = x``,
``index``, ``insert``, ``clear``) plus ``slice`` (LRANGE), ``trim`` (LTRIM), ``copy``, ``to_list`` (the payload's
array) and ``compact`` (a memory store packs both buffers of a list it keeps as an object: see
``backends.memory_collections``, which keeps a small list as its payload instead, as it keeps a small hash).
Elements are never checked: callers hand bytes.
"""
from __future__ import annotations

import sys
import threading
from collections import deque
from itertools import chain, islice

import msgpack

#: most elements in one chunk (and half a buffer's limit)
CHUNK = 64
#: a buffer this long is packed into chunks, but for its KEEP outermost elements
BUFFER = 32
KEEP = 8
#: a chunk of more than one element is split to stay within about this many payload bytes (Redis' 8 KB nodes)
CHUNK_BYTES = 8192
#: the chunks of a list that has none yet (a short list decoded for one command makes no deques)
_NO_CHUNKS = ()


_local = threading.local()  # a Packer per thread (scripts on SQL stores run in worker threads)


def _pack(elements: list) -> bytes:
    """The msgpack array of elements (bytes, each a bin): a kept Packer, without packb's set-up (a third of the cost
    for a short list)."""
    try:
        return _local.packer.pack(elements)
    except AttributeError:
        _local.packer = msgpack.Packer(use_bin_type=True)
        return _local.packer.pack(elements)


def _unpack(payload: bytes) -> list:
    return msgpack.unpackb(payload)  # chunks hold only bin, which unpacks as bytes (faster than raw=True)


def _pieces(elements: list) -> list:
    """elements (in list order) as chunks: [(payload, count)] in order."""
    out = []
    for i in range(0, len(elements), CHUNK):
        group = elements[i:i + CHUNK]
        payload = _pack(group)
        if len(payload) <= CHUNK_BYTES or len(group) == 1:
            out.append((payload, len(group)))
            continue
        cur, size = [], 0
        for e in group:  # long elements: split by size
            n = len(e) + 5
            if cur and size + n > CHUNK_BYTES:
                out.append((_pack(cur), len(cur)))
                cur, size = [], 0
            cur.append(e)
            size += n
        out.append((_pack(cur), len(cur)))
    return out


class ListValue:
    """A list of bytes (see the module's text). ``ListValue(iterable)`` holds the elements unpacked until the first
    ``compact`` or until a buffer fills (a SQL store decodes, changes and writes back a list per command)."""

    __slots__ = ("_head", "_chunks", "_counts", "chunked", "_tail")  # chunked: how many elements the chunks hold

    def __init__(self, elements=()):
        self._head: list = []
        self._chunks = self._counts = _NO_CHUNKS  # deques once the first chunk is packed
        self.chunked = 0
        self._tail: list = list(elements)

    # -------------------------------------------------------------------------------------- size, copies
    def __len__(self) -> int:
        return len(self._head) + self.chunked + len(self._tail)

    def __bool__(self) -> bool:
        return bool(self._head or self.chunked or self._tail)

    def __repr__(self) -> str:
        return "ListValue(%r)" % (self.to_list(),)

    def copy(self) -> "ListValue":
        c = ListValue()
        c._head, c._tail, c.chunked = self._head[:], self._tail[:], self.chunked
        if self._chunks:
            c._chunks, c._counts = deque(self._chunks), deque(self._counts)
        return c

    def to_list(self) -> list:
        """Every element in order, as a new Python list."""
        out = self._head[::-1]
        for payload in self._chunks:
            out.extend(_unpack(payload))
        out.extend(self._tail)
        return out

    def compact(self) -> "ListValue":
        """Pack both buffers into chunks (a memory store does before it keeps the object). Returns self."""
        if self._head:
            self._pack_left(self._head[::-1])
            self._head = []
        if self._tail:
            self._pack_right(self._tail)
            self._tail = []
        return self

    def payload(self) -> bytes:
        """The msgpack array of every element (a list's payload in the value codec)."""
        return _pack(self._tail if not self._head and not self.chunked else self.to_list())

    def small_payload(self, entries: int, size: int, measure: bool = False):
        """The list's payload (the msgpack array of its elements) when it has at most entries elements and the
        payload at most size bytes, else None. A long list is not packed to find out; with ``measure`` neither is
        one whose elements add up to more than size (a caller that asks after every command of a list it keeps)."""
        if len(self._head) + self.chunked + len(self._tail) > entries:
            return None
        items = self._tail if not self._head and not self.chunked else self.to_list()
        if measure and sum(map(len, items)) > size:
            return None
        payload = _pack(items)
        return payload if len(payload) <= size else None

    def memory_usage(self) -> int:
        """MEMORY USAGE's estimate: the object, its buffers, and its chunks (5 sampled, as Redis samples)."""
        n = sys.getsizeof(self) + sys.getsizeof(self._chunks) + sys.getsizeof(self._counts)
        for buf in (self._head, self._tail):
            n += sys.getsizeof(buf) + sum(map(sys.getsizeof, islice(buf, 5))) * len(buf) // max(1, min(5, len(buf)))
        sample = [sys.getsizeof(p) for p in islice(self._chunks, 5)]
        if sample:
            n += sum(sample) * len(self._chunks) // len(sample)
        return n

    # -------------------------------------------------------------------------------------- packing
    def _pack_left(self, elements: list) -> None:
        """Put elements (in list order) before the chunks."""
        if self._chunks is _NO_CHUNKS:
            self._chunks, self._counts = deque(), deque()
        for payload, count in reversed(_pieces(elements)):
            self._chunks.appendleft(payload)
            self._counts.appendleft(count)
        self.chunked += len(elements)

    def _pack_right(self, elements: list) -> None:
        if self._chunks is _NO_CHUNKS:
            self._chunks, self._counts = deque(), deque()
        for payload, count in _pieces(elements):
            self._chunks.append(payload)
            self._counts.append(count)
        self.chunked += len(elements)

    def _flush_head(self) -> None:
        head = self._head
        cut = len(head) - KEEP  # the KEEP outermost stay unpacked
        inner = head[:cut]
        del head[:cut]
        inner.reverse()
        self._pack_left(inner)

    def _flush_tail(self) -> None:
        tail = self._tail
        cut = len(tail) - KEEP
        inner = tail[:cut]
        del tail[:cut]
        self._pack_right(inner)

    def _absorb_left(self) -> None:
        """Unpack the first chunk into the head buffer (whose limit it fits): the next reads of the list's first
        elements (LRANGE 0 99 again) find them unpacked. The buffer stays within what pushes allow."""
        items = _unpack(self._chunks.popleft())
        self.chunked -= self._counts.popleft()
        items.reverse()
        items.extend(self._head)
        self._head = items

    def _absorb_right(self) -> None:
        items = _unpack(self._chunks.pop())
        self.chunked -= self._counts.pop()
        self._tail[:0] = items

    def _refill_head(self) -> bool:
        """Give an empty head buffer the next elements (a chunk, else the whole tail buffer): False if none."""
        if self._chunks:
            items = _unpack(self._chunks.popleft())
            self.chunked -= self._counts.popleft()
            items.reverse()
            self._head = items
            return True
        if self._tail:
            tail = self._tail
            tail.reverse()
            self._head, self._tail = tail, []
            return True
        return False

    def _refill_tail(self) -> bool:
        if self._chunks:
            self._tail = _unpack(self._chunks.pop())
            self.chunked -= self._counts.pop()
            return True
        if self._head:
            head = self._head
            head.reverse()
            self._tail, self._head = head, []
            return True
        return False

    # -------------------------------------------------------------------------------------- both ends
    def appendleft(self, x: bytes) -> None:
        head = self._head
        head.append(x)
        if len(head) >= BUFFER:
            self._flush_head()

    def append(self, x: bytes) -> None:
        tail = self._tail
        tail.append(x)
        if len(tail) >= BUFFER:
            self._flush_tail()

    def extendleft(self, elements) -> None:
        """Push each element to the head in turn (the last one ends up first), as deque.extendleft."""
        self._head.extend(elements)
        if len(self._head) >= BUFFER:
            self._flush_head()

    def extend(self, elements) -> None:
        self._tail.extend(elements)
        if len(self._tail) >= BUFFER:
            self._flush_tail()

    def popleft(self) -> bytes:
        if not self._head and not self._refill_head():
            raise IndexError("pop from an empty list")
        return self._head.pop()

    def pop(self) -> bytes:
        if not self._tail and not self._refill_tail():
            raise IndexError("pop from an empty list")
        return self._tail.pop()

    def clear(self) -> None:
        self._head, self._tail = [], []
        self._chunks = self._counts = _NO_CHUNKS
        self.chunked = 0

    # -------------------------------------------------------------------------------------- by position
    def _locate(self, i: int) -> tuple[int, int]:
        """Chunk number and offset in it of the i-th element of the chunks (0 <= i < chunked), walking the counts from
        the nearer end."""
        if i < self.chunked // 2:
            for k, c in enumerate(self._counts):
                if i < c:
                    return k, i
                i -= c
        else:
            j = self.chunked - 1 - i  # position from the right
            last = len(self._counts) - 1
            for k, c in enumerate(reversed(self._counts)):
                if j < c:
                    return last - k, c - 1 - j
                j -= c
        raise IndexError(i)  # counts out of step: never

    def _position(self, i: int) -> int:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("list index out of range")
        return i

    def __getitem__(self, i: int) -> bytes:
        i = self._position(i)
        h = len(self._head)
        if i < h:
            return self._head[h - 1 - i]
        i -= h
        if i < self.chunked:
            k, off = self._locate(i)
            return _unpack(self._chunks[k])[off]
        return self._tail[i - self.chunked]

    def __setitem__(self, i: int, x: bytes) -> None:
        i = self._position(i)
        h = len(self._head)
        if i < h:
            self._head[h - 1 - i] = x
            return
        i -= h
        if i < self.chunked:
            k, off = self._locate(i)
            items = _unpack(self._chunks[k])
            items[off] = x
            self._replace(k, items)
            return
        self._tail[i - self.chunked] = x

    def _replace(self, k: int, items: list) -> None:
        """Chunk k now holds items (split when they outgrew one chunk); the caller keeps ``chunked`` right."""
        pieces = _pieces(items)
        if len(pieces) == 1:
            self._chunks[k], self._counts[k] = pieces[0]
            return
        del self._chunks[k]
        del self._counts[k]
        for payload, count in reversed(pieces):
            self._chunks.insert(k, payload)
            self._counts.insert(k, count)

    def insert(self, i: int, x: bytes) -> None:
        """Insert x before position i (0 <= i <= len), as deque.insert."""
        n = len(self)
        i = max(0, min(i + n if i < 0 else i, n))
        h = len(self._head)
        if i <= h:
            self._head.insert(h - i, x)
            if len(self._head) >= BUFFER:
                self._flush_head()
            return
        i -= h
        if i < self.chunked:
            k, off = self._locate(i)
            items = _unpack(self._chunks[k])
            items.insert(off, x)
            self.chunked += 1
            self._replace(k, items)
            return
        self._tail.insert(i - self.chunked, x)
        if len(self._tail) >= BUFFER:
            self._flush_tail()

    # -------------------------------------------------------------------------------------- walks
    def _segments(self):
        """(offset, elements in order) of the head buffer, each chunk and the tail buffer, chunks unpacked as the
        walk reaches them."""
        off = len(self._head)
        if off:
            yield 0, self._head[::-1]
        for payload in self._chunks:
            items = _unpack(payload)
            yield off, items
            off += len(items)
        if self._tail:
            yield off, self._tail

    def __iter__(self):
        return chain.from_iterable(items for _, items in self._segments())

    def __reversed__(self):
        def backwards():
            if self._tail:
                yield reversed(self._tail)
            for payload in reversed(self._chunks):
                items = _unpack(payload)
                items.reverse()
                yield items
            if self._head:
                yield iter(self._head)
        return chain.from_iterable(backwards())

    def index(self, x: bytes, start: int = 0, stop: int = sys.maxsize) -> int:
        """The position of the first x at or after start and before stop (both >= 0). ValueError when none."""
        h = len(self._head)
        if start < h and self._head:
            seg = self._head[h - min(stop, h):h - start]  # positions start..min(stop, h)-1, reversed
            try:
                at = seg[::-1].index(x)
                return start + at
            except ValueError:
                pass
        off = h
        for payload, count in zip(self._chunks, self._counts):
            if off >= stop:
                raise ValueError("not in list")
            end = off + count
            if end > start and x in payload:  # the element's bytes appear in the payload when it is there
                items = _unpack(payload)
                try:
                    return off + items.index(x, max(0, start - off), min(count, stop - off))
                except ValueError:
                    pass
            off = end
        if self._tail and off < stop:
            return off + self._tail.index(x, max(0, start - off), stop - off)
        raise ValueError("not in list")

    def slice(self, start: int, stop: int) -> list:
        """The elements at positions start..stop-1 (0 <= start <= stop <= len), from the nearer end of the chunks."""
        h, mid = len(self._head), self.chunked
        if mid and stop > h and start < h + mid:
            # a range from the head buffer into the first chunk (LRANGE 0 99): unpack that chunk into the buffer for
            # good, so the next such read finds it unpacked (the tail likewise)
            if start <= h and h + self._counts[0] <= 2 * CHUNK:
                self._absorb_left()
                h, mid = len(self._head), self.chunked
            elif stop >= h + mid and len(self._tail) + self._counts[-1] <= 2 * CHUNK:
                self._absorb_right()
                h, mid = len(self._head), self.chunked
        out = []
        if start < h:
            out = self._head[h - min(stop, h):h - start]
            out.reverse()
        a, b = max(start - h, 0), min(stop - h, mid)
        if a < b:
            if a <= mid - b:
                off = 0
                for payload, count in zip(self._chunks, self._counts):
                    if off >= b:
                        break
                    if off + count > a:
                        out.extend(_unpack(payload)[max(a - off, 0):b - off])
                    off += count
            else:
                pieces = []
                end = mid
                for payload, count in zip(reversed(self._chunks), reversed(self._counts)):
                    if end <= a:
                        break
                    off = end - count
                    if off < b:
                        pieces.append(_unpack(payload)[max(a - off, 0):b - off])
                    end = off
                for piece in reversed(pieces):
                    out.extend(piece)
        t = h + mid
        if stop > t:
            out.extend(self._tail[max(start - t, 0):stop - t])
        return out

    def trim(self, first: int, last: int) -> None:
        """Keep positions first..last (0 <= first <= last < len): LTRIM, O(removed / CHUNK + CHUNK)."""
        self._drop_right(len(self) - 1 - last)
        self._drop_left(first)

    def _drop_left(self, n: int) -> None:
        head = self._head
        k = min(n, len(head))
        if k:
            del head[len(head) - k:]
            n -= k
        while n and self._counts:
            c = self._counts[0]
            if c <= n:
                self._chunks.popleft()
                self._counts.popleft()
                self.chunked -= c
                n -= c
                continue
            items = _unpack(self._chunks.popleft())
            self.chunked -= self._counts.popleft()
            rest = items[n:]
            rest.reverse()
            self._head = rest
            return
        if n:
            del self._tail[:n]

    def _drop_right(self, n: int) -> None:
        tail = self._tail
        k = min(n, len(tail))
        if k:
            del tail[len(tail) - k:]
            n -= k
        while n and self._counts:
            c = self._counts[-1]
            if c <= n:
                self._chunks.pop()
                self._counts.pop()
                self.chunked -= c
                n -= c
                continue
            items = _unpack(self._chunks.pop())
            self.chunked -= self._counts.pop()
            self._tail = items[:len(items) - n]
            return
        if n:
            del self._head[:n]
