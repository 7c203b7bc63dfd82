"""Pub/Sub load tools for the benchmark suite (issue 16), raw RESP, no redis-py.

- ``Subscribers``: N connections subscribed to one channel, read from a thread with one epoll loop; each counts
  the message frames it receives by content (``bytes.count`` over what arrives, carrying a frame's length across
  reads), so a lost, torn or foreign message shows. A run ends with a sentinel message of the same length (other
  bytes) published after the load: a subscriber is done when its stream ends with the sentinel's frame, and then
  must hold exactly: its confirmation, the counted frames, the sentinel, nothing else.
- ``IdleSubscribers``: N connections each SUBSCRIBEd to its own channel, then left alone (the idle-cost
  measurement); ``check`` publishes once to every channel and reads each message, proving they were all still
  subscribed.

Used by ``bench/run.py``; importable on its own.
"""
from __future__ import annotations

import resource
import select
import socket
import threading
import time

from resp_load import Client, encode

CHANNEL = b"bench:ch"
MESSAGE = b"m" * 64          # what redis-benchmark publishes (a literal: custom commands take no -d)
SENTINEL = b"E" * 64         # published once after the load: the end of a run


def message_frame(channel: bytes, message: bytes) -> bytes:
    """A message as a RESP2 subscriber receives it."""
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(channel), channel, len(message), message)


def subscribe_frame(channel: bytes, count: int = 1) -> bytes:
    return b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:%d\r\n" % (len(channel), channel, count)


def raise_nofile(need: int) -> None:
    """This process' open-files soft limit up to ``need`` (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def _connect_all(port: int, commands: list, confirmations: list, batch: int = 500, timeout: float = 120.0) -> list:
    """One connection per command: connect, send it, read exactly its confirmation bytes; in batches (the listen
    backlog). Returns the sockets, non-blocking."""
    raise_nofile(len(commands) + 256)
    socks = []
    deadline = time.monotonic() + timeout
    for start in range(0, len(commands), batch):
        group = []
        for cmd in commands[start:start + batch]:
            s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(cmd)
            group.append(s)
        for s, want in zip(group, confirmations[start:start + batch]):
            got = b""
            while len(got) < len(want):
                if time.monotonic() > deadline:
                    raise RuntimeError("subscribing timed out")
                chunk = s.recv(len(want) - len(got))
                if not chunk:
                    raise RuntimeError("a subscriber was disconnected while subscribing")
                got += chunk
            if got != want:
                raise RuntimeError("unexpected subscribe confirmation %r" % got[:200])
            s.setblocking(False)
        socks.extend(group)
    return socks


class Subscribers:
    """``n`` RESP2 connections subscribed to ``channel``, counting ``message`` frames from a reader thread."""

    def __init__(self, port: int, n: int, channel: bytes = CHANNEL, message: bytes = MESSAGE,
                 sentinel: bytes = SENTINEL):
        assert len(sentinel) == len(message) and sentinel != message
        self.port, self.n, self.channel = port, n, channel
        self.frame = message_frame(channel, message)
        self.end = message_frame(channel, sentinel)
        self.socks = _connect_all(port, [encode("SUBSCRIBE", channel)] * n, [subscribe_frame(channel)] * n)
        self.counts = [0] * n
        self.received = [0] * n      # bytes after the confirmation
        self.done = [False] * n
        self.error = None
        self.finished_at = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        frame, end = self.frame, self.end
        keep = len(frame) - 1
        ep = select.epoll()
        by_fd = {}
        for i, s in enumerate(self.socks):
            ep.register(s.fileno(), select.EPOLLIN)
            by_fd[s.fileno()] = i
        carry = [b""] * self.n
        tails = [b""] * self.n
        left = self.n
        try:
            while left and not self._stop:
                for fd, _ in ep.poll(0.2):
                    i = by_fd[fd]
                    try:
                        data = self.socks[i].recv(262144)
                    except BlockingIOError:
                        continue
                    if not data:
                        raise RuntimeError("subscriber %d was disconnected" % i)
                    if self.done[i]:
                        raise RuntimeError("subscriber %d received bytes after the sentinel" % i)
                    self.received[i] += len(data)
                    buf = carry[i] + data
                    self.counts[i] += buf.count(frame)
                    carry[i] = buf[-keep:]
                    tail = tails[i] + data
                    tails[i] = tail[-len(end):]
                    if tails[i] == end:
                        self.done[i] = True
                        left -= 1
            self.finished_at = time.perf_counter()
        except Exception as e:  # reported by wait()
            self.error = e
        finally:
            ep.close()

    def wait(self, expected: int, timeout: float) -> float:
        """Wait until every subscriber received the sentinel (published by the caller); check each got exactly
        ``expected`` messages and nothing else. Returns the time the last one finished (perf_counter)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop = True
            self._thread.join()
            missing = self.done.count(False)
            raise RuntimeError("%d of %d subscribers did not receive everything within %.0f s (messages counted: "
                               "min %d, expected %d)" % (missing, self.n, timeout, min(self.counts), expected))
        if self.error is not None:
            raise RuntimeError(str(self.error))
        for i in range(self.n):
            if self.counts[i] != expected or self.received[i] != (expected + 1) * len(self.frame):
                raise RuntimeError("subscriber %d: %d messages (%d bytes), expected %d messages"
                                   % (i, self.counts[i], self.received[i], expected))
        return self.finished_at

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for s in self.socks:
            s.close()


def publish_sentinel(port: int, channel: bytes = CHANNEL, sentinel: bytes = SENTINEL) -> int:
    with Client(port) as c:
        return c.call("PUBLISH", channel, sentinel)


class IdleSubscribers:
    """``n`` connections, connection ``i`` SUBSCRIBEd to channel ``idle:%05d`` % i, then left alone."""

    FORMAT = b"idle:%05d"

    def __init__(self, port: int, n: int):
        self.port, self.n = port, n
        names = [self.FORMAT % i for i in range(n)]
        self.socks = _connect_all(port, [encode("SUBSCRIBE", c) for c in names], [subscribe_frame(c) for c in names])

    def check(self, timeout: float = 60.0) -> None:
        """PUBLISH once to every channel (pipelined; each must reach 1 subscriber) and read every message."""
        names = [self.FORMAT % i for i in range(self.n)]
        with Client(self.port, timeout=timeout) as c:
            replies = c.pipeline(b"".join(encode("PUBLISH", name, b"ping") for name in names), len(names))
        bad = sum(1 for r in replies if r != 1)
        if bad:
            raise RuntimeError("%d of %d PUBLISHes to idle subscribers did not reach exactly one" % (bad, self.n))
        deadline = time.monotonic() + timeout
        for s, name in zip(self.socks, names):
            want = message_frame(name, b"ping")
            got = b""
            s.setblocking(True)
            s.settimeout(max(0.1, deadline - time.monotonic()))
            while len(got) < len(want):
                chunk = s.recv(len(want) - len(got))
                if not chunk:
                    raise RuntimeError("an idle subscriber was disconnected")
                got += chunk
            if got != want:
                raise RuntimeError("idle subscriber got %r, expected %r" % (got[:100], want))

    def close(self) -> None:
        for s in self.socks:
            s.close()
