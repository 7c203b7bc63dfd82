"""Run the same requests on redis-server and respd and compare the raw reply bytes.

Only what legitimately differs is normalised: client ids (HELLO ``id``, CLIENT ID), element order of KEYS and
one-page SCAN replies (Redis' order is its hash table order), clock drift between the two calls in the replies of
TTL, PTTL, EXPIRETIME and PEXPIRETIME (accepted within a bound, see ``_CLOCK``), and INFO/CLIENT text (compared by
shape only where used).
"""
from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

from tests.helpers import RawClient, encode_command, split_command, split_replies

_HELLO_ID = re.compile(rb"(\$2\r\nid\r\n):\d+\r\n")


def normalize(argv: Sequence[bytes], reply: bytes) -> bytes:
    name = argv[0].upper() if argv else b""
    if name == b"HELLO":
        return _HELLO_ID.sub(rb"\1:<id>\r\n", reply)
    if name == b"CLIENT" and len(argv) > 1 and argv[1].upper() == b"ID":
        return b":<id>\r\n" if reply.startswith(b":") else reply
    if name == b"KEYS" and reply[:1] == b"*" and reply != b"*0\r\n":
        return sort_array(reply)
    if name == b"SCAN" and reply.startswith(b"*2\r\n$1\r\n0\r\n"):
        head = b"*2\r\n$1\r\n0\r\n"
        return head + sort_array(reply[len(head):])
    return reply


# Replies that read the clock: the two servers run the command some milliseconds apart (a second boundary may fall
# between them), so their integers may differ by this much. Negative replies (-1 no TTL, -2 no key) must be equal.
_CLOCK = {b"TTL": 1, b"EXPIRETIME": 1, b"PTTL": 250, b"PEXPIRETIME": 250}


def _within_clock_drift(argv: Sequence[bytes], a: bytes, b: bytes) -> bool:
    bound = _CLOCK.get(argv[0].upper()) if len(argv) == 2 else None
    if bound is None or a[:1] != b":" or b[:1] != b":":
        return False
    x, y = int(a[1:-2]), int(b[1:-2])
    return x >= 0 and y >= 0 and abs(x - y) <= bound


def sort_array(reply: bytes) -> bytes:
    head, _, body = reply.partition(b"\r\n")
    items = split_replies(body)
    return head + b"\r\n" + b"".join(sorted(items))


class Pair:
    """One connection to each server; ``run(cmd)`` sends to both and returns both (normalised) replies."""

    def __init__(self, redis_port: int, respd_port: int):
        self.redis = RawClient(redis_port)
        self.respd = RawClient(respd_port)

    def close(self):
        self.redis.close()
        self.respd.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, cmd, norm: Optional[Callable] = None) -> tuple[bytes, bytes]:
        argv = split_command(cmd)
        data = encode_command(*argv)
        self.redis.send(data)
        self.respd.send(data)
        a, b = self.redis.read_reply(), self.respd.read_reply()
        n = norm or normalize
        a, b = n(argv, a), n(argv, b)
        if a != b and _within_clock_drift(argv, a, b) and self._expiretime_rounds(argv, a, b):
            b = a
        return a, b

    def _expiretime_rounds(self, argv, a: bytes, b: bytes) -> bool:
        """Drift may excuse an EXPIRETIME difference only if each server's reply is its own PEXPIRETIME rounded to
        the nearest second, so a rounding difference is never excused."""
        if argv[0].upper() != b"EXPIRETIME":
            return True
        ask = encode_command(b"PEXPIRETIME", argv[1])
        self.redis.send(ask)
        self.respd.send(ask)
        ms = (self.redis.read_reply(), self.respd.read_reply())
        return all(m[:1] == b":" and (int(m[1:-2]) + 500) // 1000 == int(s[1:-2]) for m, s in zip(ms, (a, b)))

    def raw(self, data: bytes, replies: int) -> tuple[list[bytes], list[bytes]]:
        self.redis.send(data)
        self.respd.send(data)
        return self.redis.read_replies(replies), self.respd.read_replies(replies)

    def raw_until_closed(self, data: bytes, wait: float = 3.0) -> tuple[bytes, bytes]:
        self.redis.send(data)
        self.respd.send(data)
        return self.redis.read_until_closed(wait), self.respd.read_until_closed(wait)


def flush_both(redis_port: int, respd_port: int) -> None:
    for port in (redis_port, respd_port):
        with RawClient(port) as c:
            assert c.call("FLUSHALL") == b"+OK\r\n"
