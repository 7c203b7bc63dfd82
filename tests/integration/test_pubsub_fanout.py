"""PUBLISH fan-out through the poller (issue 16): messages published by clients the poller serves are sent to
subscribers at the end of the poller's round (``client._monitor``'s flush), by their writer task when the kernel
takes only part. Subscribers that read late, or slowly, still get every message whole and in order, their own
replies in place among them; many subscribers each get every message of a pipelined burst.

Waiting is done on conditions with a hang guard, never on durations."""
from __future__ import annotations

import socket
import threading
import time

from tests.helpers import RawClient, encode_command

GUARD = 30.0  # seconds: a hang guard, never a measured expectation


def _frame(channel: bytes, message: bytes) -> bytes:
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(channel), channel, len(message), message)


def _read_exactly(sock, n: int) -> bytes:
    sock.settimeout(GUARD)
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(1 << 16, n - len(buf)))
        assert chunk, "the server closed the connection"
        buf += chunk
    return bytes(buf)


def test_a_late_slow_reader_gets_every_big_message_in_order_with_its_own_replies(respd_factory):
    respd = respd_factory()
    with RawClient(respd.port) as admin:  # the kernel holds a few MB; more waits in respd, with no limit here
        assert admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0") == b"+OK\r\n"
    sub = socket.socket()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # the kernel takes little: sends go in parts
    sub.connect(("127.0.0.1", respd.port))
    sub.sendall(encode_command("SUBSCRIBE", "big"))
    confirm = b"*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n"
    assert _read_exactly(sub, len(confirm)) == confirm
    messages = [(b"%06d" % i) * 50000 for i in range(60)]  # 300 KB each, 18 MB in all: more than the kernel holds
    with RawClient(respd.port) as pub:
        pub.send(b"".join(encode_command("PUBLISH", "big", m) for m in messages[:30]))
        assert pub.read_replies(30) == [b":1\r\n"] * 30
        sub.sendall(encode_command("PING", "between"))  # its reply comes after the first 30 messages
        pong = b"*2\r\n$4\r\npong\r\n$7\r\nbetween\r\n"
        expected = b"".join(_frame(b"big", m) for m in messages[:30]) + pong
        got = b""
        # the reply is there once the first messages are read: read them slowly
        while len(got) < len(expected):
            got += _read_exactly(sub, min(4096, len(expected) - len(got)))
        assert got == expected
        pub.send(b"".join(encode_command("PUBLISH", "big", m) for m in messages[30:]))
        assert pub.read_replies(30) == [b":1\r\n"] * 30
        rest = b"".join(_frame(b"big", m) for m in messages[30:])
        assert _read_exactly(sub, len(rest)) == rest
    sub.close()


def test_a_pipelined_burst_reaches_every_one_of_many_subscribers(respd):
    n_subs, n_msgs = 50, 400
    subs = []
    for _ in range(n_subs):
        s = socket.create_connection(("127.0.0.1", respd.port))
        s.sendall(encode_command("SUBSCRIBE", "fan"))
        subs.append(s)
    confirm = b"*3\r\n$9\r\nsubscribe\r\n$3\r\nfan\r\n:1\r\n"
    for s in subs:
        assert _read_exactly(s, len(confirm)) == confirm
    messages = [b"msg:%05d" % i for i in range(n_msgs)]
    expected = b"".join(_frame(b"fan", m) for m in messages)
    results = [None] * n_subs

    def read(i):
        results[i] = _read_exactly(subs[i], len(expected))
    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(n_subs)]
    for t in readers:
        t.start()
    with RawClient(respd.port) as pub:
        for start in range(0, n_msgs, 16):  # pipelines of 16, as redis-benchmark -P 16
            pub.send(b"".join(encode_command("PUBLISH", "fan", m) for m in messages[start:start + 16]))
            assert pub.read_replies(16) == [b":%d\r\n" % n_subs] * 16
    deadline = time.monotonic() + GUARD
    for t in readers:
        t.join(max(0.1, deadline - time.monotonic()))
    assert all(r == expected for r in results)
    for s in subs:
        s.close()
