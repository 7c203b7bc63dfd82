"""The trio side of client connections: receive → parse → execute → one send per received chunk.

Everything protocol- or command-related is sans-I/O (``protocol``, ``dispatch``); this layer only moves bytes. All
requests parsed from one receive are executed in order and their replies leave in a single send, so a pipeline of
N commands costs one ``recv`` and one ``send``.

Plain TCP connections are served by one ``Poller`` task: it waits on an epoll set of all client sockets (one trio
wait per round, whatever the number of ready clients) and runs each ready client's requests synchronously. A
client's own task takes over only when it must wait: a reply that is a coroutine (SQL stores), a send that would
block, a big reply, closing. The poller saves the per-chunk trio wait (an ``epoll_ctl``, a reschedule, a task
switch), which py-spy put at about a fifth of the server's time at pipeline depth 16. TLS connections, and every
connection when the poller is off, are served by their own task (``_loop``). No exception escapes ``handle`` or
the poller's per-client step: one client's failure must never cancel the others.

Bounded output. A client is read from only while nothing is pending for it: replies to one receive are sent as they
accumulate (``FLUSH_AT``), and when the kernel will not take them the client is handed to its task, which waits
until they are sent and reads nothing meanwhile (a polled client's socket leaves the poller's set). So a client
that pipelines without reading costs at most about ``FLUSH_AT`` plus one reply, whatever
``client-output-buffer-limit`` says; its unread requests wait in the kernel. Pending output counts as ``omem`` in
CLIENT LIST, is checked against ``client-output-buffer-limit`` (respd.outbuf) when a send blocks and by
``clients_cron``, and idle time (``timeout``) counts from the last read or the last progress writing, as in Redis.

Closing. A connection closed on purpose after its replies (QUIT, a protocol error, shutdown) lingers: it stops
writing, discards input and waits (bounded) until the kernel has delivered what was sent, because closing a
socket that holds unread input resets the connection and throws away replies still in the kernel's send queue.
"""
from __future__ import annotations

import fcntl
import logging
import select
import socket
import struct
import termios
import time

import trio

from . import outbuf
from .dispatch import AWAIT, CLOSE, DONE, DROP, FLUSH, ClientState, add_reply, run_requests
from .errors import MAX_CLIENTS
from .monitor import is_monitor
from .protocol import RequestReader

log = logging.getLogger("respd.connection")
_now = time.time
_wait_readable = trio.lowlevel.wait_readable
_wait_writable = trio.lowlevel.wait_writable
_notify_closing = trio.lowlevel.notify_closing
RECV_SIZE = 65536
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
SEND_PIECE = 65536     # TLS sends go out in pieces of this size, so that progress is seen (timeout, omem)
LINGER_MAX = 2.0       # longest wait for the kernel to deliver what was sent before a deliberate close
CRON_PERIOD = 0.5      # how often clients_cron checks timeouts and output buffer limits

PROTECTED_MODE = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    b"default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    b"from external computers to respd you may adopt one of the following solutions: 1) Set protected_mode: false "
    b"in the server section of the registry, MAKING SURE respd is not publicly accessible from internet if you do "
    b"so. 2) Set up an authentication password for the default user (requirepass, or a security.user entry named "
    b"default with a password). NOTE: You only need to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n")


def _addr(sockaddr) -> str:
    if isinstance(sockaddr, tuple):
        host, port = sockaddr[0], sockaddr[1]
        return ("[%s]:%d" % (host, port)) if ":" in host else "%s:%d" % (host, port)
    return str(sockaddr) or "unix"


def _is_loopback(sockaddr) -> bool:
    if not isinstance(sockaddr, tuple):
        return True
    host = sockaddr[0]
    return host.startswith("127.") or host == "::1" or host.startswith("::ffff:127.")


class RawTransport:
    """A connected non-blocking stdlib socket driven with ``trio.lowlevel`` waits (TECH.md §4: cheaper than
    ``SocketStream``). ``recv`` always parks in epoll before reading, so every connection with data waiting takes
    its turn in trio's FIFO run queue: reading again at once when data is already there saves little CPU here and
    let busy connections be served many times in a row (p99 at 50 clients, pipeline 16: ~55 ms against ~8 ms)."""

    __slots__ = ("sock", "linger")

    def __init__(self, sock) -> None:
        self.sock = sock
        self.linger = False   # close gracefully (see _linger)

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

    async def send_all(self, data: bytes, c: "Conn | None" = None) -> None:
        """Send everything. With ``c``: while the kernel refuses bytes, ``c.held`` counts what is left (omem), each
        bit of progress is activity (``timeout``), and the output buffer limits are checked."""
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
            if n:
                c.sess.last_cmd_time = _now()
            check_output(c, _now())
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
                await _linger(self.sock)
        _notify_closing(self.sock)
        self.sock.close()


def _unacked(sock) -> int:
    """Bytes in the socket's send queue the peer has not acknowledged yet (Linux SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]


async def _linger(sock) -> None:
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
        if _unacked(sock) == 0:
            return
        with trio.move_on_after(0.02):
            await _wait_readable(sock)
        await trio.lowlevel.checkpoint()


class StreamTransport:
    """Any trio stream (TLS: ``trio.SSLStream``) behind the same three calls."""

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

    async def send_all(self, data: bytes, c: "Conn | None" = None) -> None:
        if c is None or len(data) <= SEND_PIECE:
            await self.stream.send_all(data)
            return
        view = memoryview(data)
        c.held = len(view)
        try:
            while view:
                await self.stream.send_all(view[:SEND_PIECE])
                view = view[SEND_PIECE:]
                c.held = len(view)
                c.sess.last_cmd_time = now = _now()
                if view:
                    check_output(c, now)
        finally:
            c.held = 0

    async def aclose(self) -> None:
        await self.stream.aclose()


class Conn(ClientState):
    """One client in the trio layer: the sans-I/O ``ClientState`` plus its transport and poller bookkeeping."""

    __slots__ = ("transport", "fd", "wake", "status", "handed", "muted", "dead", "held", "busy", "soft_since",
                 "outq")

    def __init__(self, app, sess, reader, transport, fd: int = -1) -> None:
        super().__init__(app, sess, reader)
        self.transport = transport
        self.fd = fd
        self.wake = None             # polled clients: set by the poller to hand the client to its task
        self.status = DONE           # what the poller got to before handing over
        self.handed = False          # the client's task is serving it (the poller leaves it alone)
        self.muted = False           # handed, and its socket taken out of the poller's epoll set
        self.dead = False            # killed: the poller must not serve it again
        self.held = 0                # bytes of a send in progress the kernel has not taken yet
        self.busy = False            # awaiting a command's reply (a SQL store): not idle, whatever the time
        self.soft_since = 0.0        # when pending output first reached the soft limit (outbuf.over), 0 = below
        self.outq = 0                # the kernel's unacknowledged bytes when clients_cron last looked

    def pending(self) -> int:
        """Encoded reply bytes respd holds for this client (CLIENT LIST omem, the output buffer limits)."""
        out = self.out
        return self.held + (sum(map(len, out)) if out else 0)

    def buffers(self) -> tuple:
        """CLIENT LIST's (qbuf, argv-mem, oll, omem, events): bytes received and not parsed yet, arguments of
        requests parsed and not run yet, pending reply pieces and bytes, and what respd waits for (r: a request,
        w: the client to take output; empty: a command's reply)."""
        batch, pos = self.batch, self.pos
        argv_mem = sum(len(a) for req in batch[pos:] for a in req) if pos < len(batch) else 0
        omem = self.pending()
        oll = len(self.out) + (1 if self.held else 0)
        events = b"w" if omem else b"" if self.busy else b"r"
        return self.reader.buffered(), argv_mem, oll, omem, events


def _take_out(c: Conn) -> bytes:
    out = c.out
    data = out[0] if len(out) == 1 else b"".join(out)
    out.clear()
    c.size = 0
    return data


async def finish_chunk(c: Conn, status: int) -> bool:
    """Carry a chunk from ``status`` to its end: await coroutine replies, send, and say whether to keep the
    connection open. Past the shutdown grace period (``app.draining_late``) nothing more is executed: the replies
    produced so far are sent whole, then the connection closes."""
    app = c.app
    while True:
        if status == AWAIT:
            coro = c.coro
            c.coro = None
            c.busy = True
            try:
                reply = await coro
            finally:
                c.busy = False
            status = add_reply(c, reply)
            if status == DONE:
                if app.draining_late:
                    break
                status = run_requests(c)
        elif status == FLUSH:
            await c.transport.send_all(_take_out(c), c)
            if app.draining_late:
                status = CLOSE
                break
            status = run_requests(c)
        else:
            break
    if status == DROP:
        return False
    if c.out:
        await c.transport.send_all(_take_out(c), c)
    if status == CLOSE or app.draining:
        c.transport.linger = True
        return False
    _after_chunk(c)
    return True


def _after_chunk(c: Conn) -> None:
    """Carry CONFIG SET over to the reader (run_requests carries AUTH over before each drain)."""
    reader, app = c.reader, c.app
    if reader.max_bulk_len != app.proto_max_bulk_len or reader.max_query_buffer != app.client_query_buffer_limit:
        reader.max_bulk_len = app.proto_max_bulk_len
        reader.max_query_buffer = app.client_query_buffer_limit


async def handle(app, transport) -> None:
    """Serve one client until it disconnects, QUITs, is killed or breaks the protocol."""
    try:
        await _serve(app, transport)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass
    except Exception:  # never let one connection's failure reach the nursery that serves the others
        log.exception("connection handler failed")
    finally:
        with trio.CancelScope(shield=True):
            try:
                await transport.aclose()
            except Exception:
                pass


async def _serve(app, transport) -> None:
    try:
        peer, local, fd = transport.names()
    except OSError:
        return
    if app.draining:
        return
    if len(app.clients) >= app.maxclients:
        app.stat_rejected += 1
        await transport.send_all(b"-" + MAX_CLIENTS.encode() + b"\r\n")
        return
    if app.protected_mode() and not _is_loopback(peer):
        app.stat_rejected += 1
        await transport.send_all(PROTECTED_MODE)
        return
    sess = app.new_session(_addr(peer), _addr(local), fd)
    reader = RequestReader(max_bulk_len=app.proto_max_bulk_len, max_query_buffer=app.client_query_buffer_limit,
                           authenticated=sess.authenticated)
    c = Conn(app, sess, reader, transport, fd)
    sess.io = c
    scope = trio.CancelScope()
    poller = app.poller if type(transport) is RawTransport else None

    def kill(graceful: bool = False) -> None:
        transport.linger = graceful
        if poller is not None:
            c.dead = True
            poller.remove(c)
        scope.cancel()
    app.killers[sess.id] = kill
    try:
        with scope:
            if poller is None:
                await _loop(c)
            else:
                await _polled(c, poller)
    finally:
        app.end_session(sess)


async def _loop(c: Conn) -> None:
    """A client served by its own task: wait, receive, run, send. (``clients_cron`` closes idle clients.)"""
    sess = c.sess
    recv = c.transport.recv
    feed = c.reader.feed
    while True:
        sess.idle = True
        data = await recv()
        sess.idle = False
        if not data:
            return
        sess.last_cmd_time = _now()
        feed(data)
        if not await finish_chunk(c, run_requests(c)):
            return
        if c.app.monitors and is_monitor(c) and not await _monitor(c):
            return


async def _polled(c: Conn, poller: "Poller") -> None:
    """A client served by the poller: its task parks until the poller hands it over, finishes that chunk, and
    gives the client back."""
    c.sess.idle = True
    c.wake = trio.Event()
    poller.add(c)
    try:
        while True:
            await c.wake.wait()
            if not await finish_chunk(c, c.status):
                return
            if c.app.monitors and is_monitor(c) and not await _monitor(c):
                return
            c.sess.idle = True
            c.wake = trio.Event()
            c.handed = False
            poller.resume(c)
    finally:
        c.dead = True
        poller.remove(c)


async def _monitor(c: Conn) -> bool:
    """Serve a client in MONITOR mode, the out-of-band write path: the feed (``respd.monitor``) appends lines to the
    client's output from other clients' commands and calls ``c.notify``, which wakes a writer task that sends
    them; meanwhile this task reads the client's own commands (RESET, QUIT, PING...). Both send under one lock, so
    replies and lines leave whole and in order. No idle timeout applies (Redis exempts monitors too); the feed
    bounds the output (``monitor.output_limit``). True when the client left monitor mode (RESET) with everything
    sent, False when the connection is to close."""
    transport = c.transport
    lock = trio.Lock()

    async def send_all(data: bytes) -> None:  # with c: omem, progress and the output buffer limits, as other sends
        await transport.send_all(data, c)

    wake = trio.Event()

    def notify() -> None:
        wake.set()

    async def flush() -> None:
        async with lock:
            if c.out:
                await send_all(_take_out(c))

    status = DROP

    async def writer() -> None:
        nonlocal wake
        try:
            while True:
                await wake.wait()
                wake = trio.Event()
                await flush()
        except _GONE:  # the client went away: stop reading for it too
            nursery.cancel_scope.cancel()

    # errors are caught inside the nursery: trio would wrap them in an ExceptionGroup that handle() does not expect
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        c.notify = notify
        try:
            status = await _monitor_requests(c, flush)
            if status != DROP:
                async with lock:  # the writer is not sending: send the rest, then stop it
                    if c.out:
                        await send_all(_take_out(c))
        except _GONE:
            status = DROP
        finally:
            c.notify = None
        nursery.cancel_scope.cancel()
    return status == DONE


async def _monitor_requests(c: Conn, flush) -> int:
    """The monitor's own requests, until it leaves monitor mode (DONE) or the connection ends (CLOSE, DROP)."""
    app, sess = c.app, c.sess
    recv = c.transport.recv
    if c.out:
        await flush()
    while is_monitor(c):
        if app.draining:
            return CLOSE
        sess.idle = True
        data = await recv()
        sess.idle = False
        if not data:
            return DROP
        sess.last_cmd_time = _now()
        c.reader.feed(data)
        status = run_requests(c)
        while status == AWAIT or status == FLUSH:
            if status == AWAIT:
                coro = c.coro
                c.coro = None
                status = add_reply(c, await coro)
                if status == DONE:
                    status = run_requests(c)
            else:
                await flush()
                status = run_requests(c)
        if status != DONE:
            return status
        _after_chunk(c)
        await flush()
    return DONE


def check_output(c: Conn, now: float) -> None:
    """Close the client if its pending output is over ``client-output-buffer-limit`` (Redis' normal class;
    respd has no replica or Pub/Sub clients yet), logging it as Redis does."""
    app = c.app
    limit = app.obuf_limits[outbuf.NORMAL]
    if not (limit.hard or limit.soft) or c.sess.closing:
        return
    close, c.soft_since = outbuf.over(limit, c.pending(), c.soft_since, now)
    if close:
        from .commands.connection import client_line
        app.stat_obuf_disconnections += 1
        log.warning("Client %s closed for overcoming of output buffer limits.",
                    client_line(c.sess, now).decode("utf-8", "replace").rstrip("\n"))
        app.kill_client(c.sess)


def _see_reading(c: Conn, now: float) -> None:
    """A client taking output counts as active even while respd's send waits: the kernel wakes a blocked writer
    only once a good part of its send buffer is free, which for a slow reader can take longer than ``timeout``;
    the acknowledged bytes show the client reading meanwhile."""
    sock = c.transport.sock
    if sock is None:
        return
    try:
        q = _unacked(sock)
    except OSError:
        return
    if q < c.outq:
        c.sess.last_cmd_time = now
    c.outq = q


async def clients_cron(app) -> None:
    """Redis' clientsCron for what respd needs: every ``CRON_PERIOD``, close clients idle for longer than
    ``timeout`` (idle: neither a read nor progress writing, and not awaiting a reply) and clients over the output
    buffer limits (the soft limit's seconds pass while a client does not read, so they are watched here)."""
    while True:
        await trio.sleep(CRON_PERIOD)
        timeout = app.timeout
        limit = app.obuf_limits[outbuf.NORMAL]
        if not timeout and not (limit.hard or limit.soft):
            continue
        now = _now()
        monitors = getattr(app, "monitors", None) or ()  # MONITOR clients never time out, as in Redis
        for sess in list(app.clients.values()):
            c = sess.io
            if c is None or sess.closing:
                continue
            if c.held:
                _see_reading(c, now)
            if timeout and not c.busy and now - sess.last_cmd_time > timeout and sess.id not in monitors:
                log.debug("Closing idle client")
                app.kill_client(sess)
            elif c.held or c.out:
                check_output(c, now)
            else:
                c.soft_since = 0.0


class Poller:
    """Serves every polled client from one task: one trio wait on an epoll set of their sockets per round, then
    each ready client once (receive, run, send) in the order epoll reports them, so no client waits behind
    another's whole backlog. A client whose chunk needs to wait is handed to its own task (``_polled``); if its
    socket turns readable meanwhile, it leaves the set until the task gives it back (``_mute``)."""

    def __init__(self, app) -> None:
        self.app = app
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}

    def add(self, c: Conn) -> None:
        self.conns[c.fd] = c
        try:
            self.epoll.register(c.fd, select.EPOLLIN)
        except FileExistsError:  # a descriptor number reused before the kernel dropped the old registration
            self.epoll.modify(c.fd, select.EPOLLIN)

    def resume(self, c: Conn) -> None:
        if c.muted and self.conns.get(c.fd) is c:
            self.epoll.modify(c.fd, select.EPOLLIN)
            c.muted = False

    def remove(self, c: Conn) -> None:
        if self.conns.get(c.fd) is c:
            del self.conns[c.fd]
            try:
                self.epoll.unregister(c.fd)
            except (OSError, ValueError):
                pass

    def hand_over(self, c: Conn, status: int) -> None:
        c.status = status
        c.handed = True
        if status == DROP:
            # the client is gone: forget it now (INFO, CLIENT LIST, maxclients), not when its task next runs
            c.dead = True
            self.remove(c)
            c.app.end_session(c.sess)
        c.wake.set()

    def _mute(self, c: Conn) -> None:
        """A handed client's socket is readable (it pipelines more, or hung up): leave it out of the set until its
        task gives it back. Done only then, not at every hand-over, which saves two epoll_ctl calls per awaited
        chunk of a client that waits for its reply (a SQL store at depth 1)."""
        try:
            self.epoll.modify(c.fd, 0)
        except OSError:
            pass
        c.muted = True

    def close(self) -> None:
        self.epoll.close()

    async def run(self) -> None:
        epfd = self.epoll.fileno()
        poll = self.epoll.poll
        conns = self.conns
        serve_one = self._serve_one
        try:
            while True:
                await _wait_readable(epfd)
                now = _now()
                for fd, _ in poll(0):
                    c = conns.get(fd)
                    if c is None or c.dead:
                        continue
                    if c.handed:
                        if not c.muted:
                            self._mute(c)
                        continue
                    try:
                        serve_one(c, now)
                    except Exception:  # one client's failure must not stop the poller that serves the others
                        log.exception("connection handler failed")
                        c.out.clear()
                        self.hand_over(c, DROP)
        finally:
            self.close()

    def _serve_one(self, c: Conn, now: float) -> None:
        sock = c.transport.sock
        try:
            data = sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            return self.hand_over(c, DROP)
        if not data:
            return self.hand_over(c, DROP)
        sess = c.sess
        sess.idle = False
        sess.last_cmd_time = now
        c.reader.feed(data)
        status = run_requests(c)
        if status != DONE and status != CLOSE:
            return self.hand_over(c, status)
        if c.out:
            data = _take_out(c)
            try:
                n = sock.send(data)
            except BlockingIOError:
                n = 0
            except OSError:
                return self.hand_over(c, DROP)
            if n != len(data):  # the client is not reading fast enough: its task waits until it can send
                c.out.append(data[n:])
                check_output(c, now)
                if c.dead:
                    return
                return self.hand_over(c, status)
        if status == CLOSE or c.app.draining:
            c.transport.linger = True
            return self.hand_over(c, DROP)  # everything is sent: close
        _after_chunk(c)
        sess.idle = True
