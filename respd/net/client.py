"""One client connection: receive → parse → execute → one send per received chunk, in ONE client loop.

Everything protocol- or command-related is sans-I/O (``protocol``, ``pipeline``, ``dispatch``); this layer only
moves bytes. All requests parsed from one receive are executed in order and their replies leave in a single send,
so a pipeline of N commands costs one ``recv`` and one ``send``.

Serving received bytes is defined once: ``serve_chunk`` runs them and sends the replies as far as that goes
without waiting; when something must be waited for (a reply that is a coroutine (SQL stores), a send that would
block, a big reply, closing), ``finish_chunk`` carries the chunk on in the client's task. ``client_loop`` is the
client's task: it takes chunks either from its own ``recv`` (TLS clients) or from the ``Poller`` (``net.poller``),
which runs ``serve_chunk`` for every ready plain-TCP socket from one task without a task switch and hands a client
to its task only for ``finish_chunk``. MONITOR and Pub/Sub clients are served by the same two functions
(``_monitor``). No
exception escapes ``handle`` or the poller's per-client step: one client's failure must never cancel the others.

Bounded output. A client is read from only while nothing is pending for it: replies to one receive are sent as they
accumulate (``pipeline.FLUSH_AT``), and when the kernel will not take them the client's task waits until they are
sent and reads nothing meanwhile (a polled client's socket leaves the poller's set). So a client that pipelines
without reading costs at most about ``FLUSH_AT`` plus one reply, whatever ``client-output-buffer-limit`` says; its
unread requests wait in the kernel. Pending output counts as ``omem`` in CLIENT LIST, is checked against
``client-output-buffer-limit`` (``outbuf.check``) when a send blocks and by ``clients_cron``, and idle time
(``timeout``) counts from the last read or the last progress writing, as in Redis.
"""
from __future__ import annotations

import logging
import socket
import time

import trio

from .. import outbuf
from ..errors import MAX_CLIENTS, PROTECTED_MODE
from ..monitor import is_monitor
from ..pipeline import AWAIT, CLOSE, DONE, DROP, FLUSH, ClientState, add_reply, run_requests
from ..protocol import RequestReader
from .transport import RawTransport

log = logging.getLogger("respd.connection")  # the name its log lines had before respd/net/
_now = time.time
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
_reschedule, _current_task, _wait_rescheduled = (trio.lowlevel.reschedule, trio.lowlevel.current_task,
                                                 trio.lowlevel.wait_task_rescheduled)
READ = -1   # serve_chunk's outcome when the chunk is over: read the client again

MAX_CLIENTS_REPLY = b"-" + MAX_CLIENTS.encode() + b"\r\n"
_REFUSE_PROTECTED = b"-" + PROTECTED_MODE.encode() + b"\r\n"


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


class Conn(ClientState):
    """One client in the trio layer: the sans-I/O ``ClientState`` plus its transport and poller bookkeeping."""

    __slots__ = ("transport", "fd", "wake", "status", "handed", "muted", "dead", "held", "busy", "outq", "woken")

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
        self.outq = 0                # the kernel's unacknowledged bytes when clients_cron last looked
        self.woken = False           # out of band (_monitor): notify() was called and the writer has not woken yet

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


def serve_chunk(c: Conn, data: bytes, now: float, run=run_requests) -> int:
    """Serve received bytes as far as that goes without waiting: run them, then hand the replies to the kernel.

    ``READ`` when the chunk is over and the client is to be read again; ``DROP`` when the connection is to close
    now (after a closing command's replies were all sent, the transport set to linger); otherwise the outcome
    ``finish_chunk`` carries on from in the client's task (replies not sent yet stay in ``c.out``). A monitor's
    replies are left to ``finish_chunk``: they are sent under its lock (its writer task may be mid-send); so are
    a subscriber's."""
    sess = c.sess
    sess.idle = False
    sess.last_cmd_time = now
    c.reader.feed(data)
    status = run(c)
    if status != DONE and status != CLOSE:
        return status
    if c.out:
        if c.notify is not None:  # a monitor or subscriber
            return status
        data = _take_out(c)
        try:
            n = c.transport.send_now(data)
        except BlockingIOError:
            n = 0
        except OSError:
            return DROP
        if n != len(data):  # the client is not reading fast enough: its task waits until it can send
            c.out.append(data[n:] if n else data)
            outbuf.check(c, now)
            return status
    if status == CLOSE or c.app.draining:
        c.transport.linger = True
        return DROP  # everything is sent: close
    _after_chunk(c)
    sess.idle = True
    return READ


async def _send_out(c: Conn) -> None:
    await c.transport.send_all(_take_out(c), c)


async def finish_chunk(c: Conn, status: int, send_out=_send_out) -> bool:
    """Carry a chunk from ``status`` (a ``run_requests`` outcome) to its end: await coroutine replies, send (with
    ``send_out``, which sends ``c.out``), and say whether to keep the connection open. Past the shutdown grace
    period (``app.draining_late``) nothing more is executed: the replies produced so far are sent whole, then the
    connection closes."""
    app = c.app
    while True:
        if status == AWAIT:
            coro = c.coro
            c.coro = None
            c.busy = True
            try:
                if c.sess.blocked is not None:  # BLPOP and its kin: the client may hang up meanwhile
                    if c.out:  # the replies before it leave now, not when it is served
                        await send_out(c)
                    reply = await _blocked(c, coro)
                    if reply is _HUNG_UP:
                        return False
                else:
                    reply = await coro
            finally:
                c.busy = False
            if app.blocking.ready:  # the awaited command (EXEC, EVAL...) created keys clients wait for
                app.blocking.serve()
            status = add_reply(c, reply)
            if status == DONE:
                if app.draining_late:
                    break
                if app.script_gate is not None:  # a script runs in a worker with exclusive access
                    await app.script_gate.wait()
                status = run_requests(c)
        elif status == FLUSH:
            await send_out(c)
            if app.draining_late:
                status = CLOSE
                break
            if app.script_gate is not None:
                await app.script_gate.wait()
            status = run_requests(c)
        else:
            break
    if status == DROP:
        return False
    if c.out:
        await send_out(c)
    if status == CLOSE or app.draining:
        c.transport.linger = True
        return False
    _after_chunk(c)
    return True


_HUNG_UP = object()


async def _blocked(c: Conn, coro):
    """Await a blocked client's reply while watching its socket: when it hangs up the wait is cancelled (the
    waiter leaves every queue) and ``_HUNG_UP`` returned. A plain TCP client's requests sent meanwhile are read and
    kept for after the reply (up to the query buffer limit; then reading stops). A TLS stream cannot be read in a
    task that may be cancelled (that breaks it): its socket is only peeked at for the hang-up, until it has data."""
    reply = _HUNG_UP

    async def watch(cancel) -> None:
        transport = c.transport
        if type(transport) is RawTransport:
            reader = c.reader
            while reader.buffered() < c.app.client_query_buffer_limit:
                try:
                    data = await transport.recv()
                except _GONE:
                    data = b""
                if not data:
                    cancel()
                    return
                reader.feed(data)
        elif transport.sock is not None:
            await trio.lowlevel.wait_readable(transport.sock)
            try:
                gone = not transport.sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                cancel()
                return
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch, nursery.cancel_scope.cancel)
        try:
            reply = await coro
        finally:
            nursery.cancel_scope.cancel()
    return reply


def _after_chunk(c: Conn) -> None:
    """Carry CONFIG SET over to the reader (run_requests carries AUTH over before each drain)."""
    reader, app = c.reader, c.app
    if reader.max_bulk_len != app.proto_max_bulk_len or reader.max_query_buffer != app.client_query_buffer_limit:
        reader.max_bulk_len = app.proto_max_bulk_len
        reader.max_query_buffer = app.client_query_buffer_limit


_UNADMITTED = object()


async def handle(app, transport, c=_UNADMITTED) -> None:
    """Serve one client until it disconnects, QUITs, is killed or breaks the protocol (``c``: what ``admit`` or
    ``admit_polled`` gave at accept time)."""
    try:
        await _serve(app, transport, c)
    except _GONE:
        pass
    except Exception:  # never let one connection's failure reach the nursery that serves the others
        log.exception("connection handler failed")
    finally:
        with trio.CancelScope(shield=True):
            try:
                await transport.aclose()
            except Exception:
                pass


def admit(app, transport):
    """A new connection's checks and state: its ``Conn``; else the refusal to send it (bytes), or None to close."""
    try:
        peer, local, fd = transport.names()
    except OSError:
        return None
    if app.draining:
        return None
    if len(app.clients) >= app.maxclients:
        app.stat_rejected += 1
        return MAX_CLIENTS_REPLY
    if app.protected_mode() and not _is_loopback(peer):
        app.stat_rejected += 1
        return _REFUSE_PROTECTED
    sess = app.new_session(_addr(peer), _addr(local), fd)
    reader = RequestReader(max_bulk_len=app.proto_max_bulk_len, max_query_buffer=app.client_query_buffer_limit,
                           authenticated=sess.authenticated)
    c = Conn(app, sess, reader, transport, fd)
    sess.io = c
    return c


def admit_polled(app, transport):
    """``admit`` at accept time, and a plain TCP client straight into the poller's set, before its task runs: a
    script running on the server's thread past busy-reply-threshold then serves it from its busy round (a client
    accepted just before the script started would otherwise wait for the script's end)."""
    c = admit(app, transport)
    poller = app.poller
    if type(c) is Conn and poller is not None:
        c.wake = trio.Event()
        c.handed = False
        poller.add(c)
    return c


def start_plain(app, sock, nursery) -> None:
    """A plain TCP client just accepted (and ``transport.accepted``): admitted and polled at once, its task
    started in ``nursery`` (the accept loop, and the poller's busy round while a script runs)."""
    transport = RawTransport(sock)
    nursery.start_soon(handle, app, transport, admit_polled(app, transport))


async def _serve(app, transport, c=_UNADMITTED) -> None:
    if c is _UNADMITTED:
        c = admit(app, transport)
    if type(c) is bytes:
        await transport.send_all(c)
        return
    if c is None:
        return
    sess = c.sess
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
            await client_loop(c, poller)
    finally:
        app.end_session(sess)


async def client_loop(c: Conn, poller=None) -> None:
    """The client's task: take a chunk, finish it, again. Chunks come from the client's own ``recv`` or, with a
    ``poller``, from the poller, which serves them without this task until one needs waiting for (``Poller.next``).
    (``clients_cron`` closes idle clients.)"""
    sess = c.sess
    recv = c.transport.recv
    handed = None
    if poller is not None:
        if c.handed:  # admitted and served by the poller's busy round, which handed it over before we started
            handed = c.status
        poller.add(c)
    try:
        while True:
            if handed is not None:
                status, handed = handed, None
            elif poller is None:
                sess.idle = True
                data = await recv()
                if not data:
                    return
                if c.app.script_gate is not None:  # a script runs in a worker with exclusive access
                    await c.app.script_gate.wait()
                status = serve_chunk(c, data, _now())
                if status == READ:
                    continue
            else:
                status = await poller.next(c)
            if not await finish_chunk(c, status):
                return
            if _out_of_band(c) and not await _monitor(c):
                return
    finally:
        if poller is not None:
            c.dead = True
            poller.remove(c)


def wake_for_output(sess) -> None:
    """An idle polled client was given out-of-band output (a client tracking invalidation redirected to it): hand it
    to its task, which sends it and serves the client out of band (``_monitor``) from then on."""
    c = sess.io
    if c is None or c.notify is not None or sess.closing:
        return
    poller = c.app.poller
    if poller is not None and not c.handed and c.wake is not None and poller.conns.get(c.fd) is c:
        poller.hand_over(c, FLUSH)


def _out_of_band(c: Conn) -> bool:
    """Whether other clients' commands write to this client's output: MONITOR, Pub/Sub subscriptions, or client
    tracking (invalidation messages)."""
    sess = c.sess
    return (sess.subs is not None or sess.tracking is not None or sess.id in c.app.tracking.targets
            or (c.app.monitors and is_monitor(c)))


async def _monitor(c: Conn) -> bool:
    """Serve a client with out-of-band output (MONITOR mode, Pub/Sub subscriptions): the MONITOR feed
    (``respd.monitor``) or a PUBLISH (``respd.pubsub``) appends to the client's output from other clients' commands
    and calls ``c.notify``, which wakes a writer task that sends it; meanwhile this task reads the client's own
    commands (RESET, QUIT, PING, (UN)SUBSCRIBE...) and serves them as any client's (``serve_chunk``,
    ``finish_chunk``). Both send under one lock, so replies, lines and messages leave whole and in order. No idle
    timeout applies (Redis exempts monitors and subscribers too); the producers bound the output
    (``monitor.output_limit``, client-output-buffer-limit pubsub). True when the client left that mode (RESET,
    unsubscribing from everything) with everything sent, False when the connection is to close."""
    lock = trio.Lock()
    parked = None  # the writer task while it waits for output
    poller = c.app.poller if type(c.transport) is RawTransport else None
    transport = c.transport

    # ``c.woken`` is an event's flag, visible to producers: one that finds it set need not call notify (a PUBLISH
    # to many subscribers, pipelined, calls it once per subscriber and batch: ``pubsub._deliver_all``)
    def notify() -> None:
        c.woken = True
        if poller is not None and poller.round is not None:  # produced in the poller's round: flush at its end
            poller.round.append(flush)
        else:
            wake_writer()

    def wake_writer() -> None:
        nonlocal parked
        task = parked
        if task is not None:
            parked = None
            _reschedule(task)

    def flush() -> None:
        """At the end of the poller's round: send the pending output now if the kernel takes it all (no task
        switch: a PUBLISH to 100 subscribers would otherwise wake 100 writer tasks); else, or while a send is in
        progress, the writer sends it."""
        if not c.woken:  # the writer took it meanwhile
            return
        if lock.locked() or not c.out or c.sess.closing:
            wake_writer()
            return
        data = _take_out(c)
        try:
            n = transport.send_now(data)
        except BlockingIOError:
            n = 0
        except OSError:  # the writer meets the error and ends the connection
            n = 0
        if n == len(data):
            c.woken = False
            return
        c.out.insert(0, data[n:] if n else data)
        c.size += len(data) - n
        wake_writer()

    def abort(_) -> trio.lowlevel.Abort:
        nonlocal parked
        parked = None
        return trio.lowlevel.Abort.SUCCEEDED

    async def send_out(c: Conn) -> None:
        async with lock:
            if c.out:
                await _send_out(c)

    async def writer() -> None:
        nonlocal parked
        try:
            while True:
                if not c.woken:
                    parked = _current_task()
                    await _wait_rescheduled(abort)
                c.woken = False
                if lock.locked():
                    await send_out(c)
                else:  # the lock is free: take it without the checkpoint trio's acquire makes (one task switch less)
                    lock.acquire_nowait()
                    try:
                        if c.out:
                            await _send_out(c)
                    finally:
                        lock.release()
        except _GONE:  # the client went away: stop reading for it too
            nursery.cancel_scope.cancel()

    left = False
    # errors are caught inside the nursery: trio would wrap them in an ExceptionGroup that handle() does not expect
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        c.woken = False
        c.notify = notify
        try:
            left = await _monitor_requests(c, send_out)
        except _GONE:
            pass
        finally:
            c.notify = None
        nursery.cancel_scope.cancel()
    return left


async def _monitor_requests(c: Conn, send_out) -> bool:
    """The client's own requests, until it leaves out-of-band mode (True) or the connection is to close (False)."""
    app, sess = c.app, c.sess
    recv = c.transport.recv
    await send_out(c)
    while _out_of_band(c):
        if app.draining:
            return False
        sess.idle = True
        data = await recv()
        if not data:
            return False
        status = serve_chunk(c, data, _now())
        if status != READ and not await finish_chunk(c, status, send_out):
            return False
    return True
