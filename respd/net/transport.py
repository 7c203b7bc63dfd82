"""Transports: how bytes reach a client and come back, behind four calls (``recv``, ``send_now``, ``send_all``,
``aclose``) so that the client loop (``net.client``) does not care whether a socket is plain TCP or TLS.

Closing. A connection closed on purpose after its replies (QUIT, a protocol error, shutdown) lingers: it stops
writing, discards input and waits (bounded) until the kernel has delivered what was sent, because closing a
socket that holds unread input resets the connection and throws away replies still in the kernel's send queue.
"""
from __future__ import annotations

import fcntl
import socket
import struct
import termios
import time

import trio

from .. import outbuf

_now = time.time
_wait_readable = trio.lowlevel.wait_readable
_wait_writable = trio.lowlevel.wait_writable
_notify_closing = trio.lowlevel.notify_closing
RECV_SIZE = 65536
SEND_PIECE = 65536     # TLS sends go out in pieces of this size, so that progress is seen (timeout, omem)
LINGER_MAX = 2.0       # longest wait for the kernel to deliver what was sent before a deliberate close


def accepted(sock) -> None:
    """An accepted client socket, ready for the transports: non-blocking, and TCP_NODELAY on TCP."""
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class RawTransport:
    """A connected non-blocking stdlib socket driven with ``trio.lowlevel`` waits (TECH.md §4: cheaper than
    ``SocketStream``). ``recv`` always parks in epoll before reading, so every connection with data waiting takes
    its turn in trio's FIFO run queue: reading again at once when data is already there saves little CPU here and
    lets busy connections be served many times in a row, which shows in p99 latency (bench/README.md)."""

    __slots__ = ("sock", "linger", "send_now")

    def __init__(self, sock) -> None:
        self.sock = sock
        self.linger = False   # close gracefully (see linger)
        #: send what the kernel takes without waiting: how many bytes it took (BlockingIOError: none; another
        #: OSError: the client is gone). The socket's own send: the poller's path makes no Python call for it
        self.send_now = sock.send

    def names(self):
        return self.sock.getpeername(), self.sock.getsockname(), self.sock.fileno()

    async def recv(self) -> bytes:
        sock = self.sock
        while True:
            await _wait_readable(sock)
            try:
                return sock.recv(RECV_SIZE)
            except BlockingIOError:
                continue

    async def send_all(self, data: bytes, c=None) -> None:
        """Send everything. With client ``c``: while the kernel refuses bytes, ``c.held`` counts what is left (omem),
        each bit of progress is activity (``timeout``), and the output buffer limits are checked."""
        sock = self.sock
        try:
            n = sock.send(data)
        except BlockingIOError:
            n = 0
        if n == len(data):
            return
        view = memoryview(data)[n:]
        if c is not None:
            c.held = len(view)
            c.app.obuf_watch.add(c)  # clients_cron watches it while the send waits
            if n:
                c.sess.last_cmd_time = _now()
            outbuf.check(c, _now())
        try:
            while view:
                await _wait_writable(sock)
                try:
                    n = sock.send(view)
                except BlockingIOError:
                    continue
                view = view[n:]
                if c is not None:
                    c.held = len(view)
                    c.sess.last_cmd_time = _now()
        finally:
            if c is not None:
                c.held = 0

    async def aclose(self) -> None:
        if self.linger:
            with trio.move_on_after(LINGER_MAX):
                await linger(self.sock)
        _notify_closing(self.sock)
        self.sock.close()


def unacked(sock) -> int:
    """Bytes in the socket's send queue the peer has not acknowledged yet (Linux SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]


async def linger(sock) -> None:
    """Half-close, then discard input until the peer has acknowledged everything sent (or hangs up).

    Closing a socket with unread input makes the kernel send a reset and drop its send queue: the client would lose
    the tail of replies already "sent", mid-reply (a torn reply). Reading the input away is not enough on its own
    (more may arrive between the last read and the close); once the peer has acknowledged every byte, a reset
    can no longer take any of it away."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    while True:
        try:
            for _ in range(16):  # a bounded bite per round: a client sending fast must not stall the server
                if not sock.recv(RECV_SIZE):
                    return  # the peer hung up: nothing is left to protect
        except BlockingIOError:
            pass
        except OSError:
            return
        if unacked(sock) == 0:
            return
        with trio.move_on_after(0.02):
            await _wait_readable(sock)
        await trio.lowlevel.checkpoint()


class StreamTransport:
    """Any trio stream (TLS: ``trio.SSLStream``) behind the same calls."""

    __slots__ = ("stream", "sock", "linger")

    def __init__(self, stream, sock=None) -> None:
        self.stream = stream
        self.sock = sock
        self.linger = False   # not used: TLS connections close with trio's close_notify

    def names(self):
        if self.sock is None:
            return "", "", -1
        return self.sock.getpeername(), self.sock.getsockname(), self.sock.fileno()

    async def recv(self) -> bytes:
        return await self.stream.receive_some(RECV_SIZE)

    @staticmethod
    def send_now(data: bytes) -> int:
        """A stream sends only in its task (TLS records): nothing is sent without waiting."""
        return 0

    async def send_all(self, data: bytes, c=None) -> None:
        if c is None or len(data) <= SEND_PIECE:
            await self.stream.send_all(data)
            return
        view = memoryview(data)
        c.held = len(view)
        c.app.obuf_watch.add(c)
        try:
            while view:
                await self.stream.send_all(view[:SEND_PIECE])
                view = view[SEND_PIECE:]
                c.held = len(view)
                c.sess.last_cmd_time = now = _now()
                if view:
                    outbuf.check(c, now)
        finally:
            c.held = 0

    async def aclose(self) -> None:
        await self.stream.aclose()
