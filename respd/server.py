"""Process-level trio code: start stores, listen, serve connections, shut down gracefully.

Task ownership (trio): the ``main`` nursery owns the stores' cleanup tasks, the connection poller (which serves
every plain TCP client from one task, see ``connection.Poller``) and the ``connections`` nursery; the
``accepting`` nursery runs one ``accept_loop`` per listening socket (plain TCP and TLS), each starting its clients'
handlers in ``connections``.

Shutdown (SIGTERM, SIGINT, SHUTDOWN): accepting stops at once and no client is read from any more; idle clients are
closed; the others get the replies to every request respd had already read, then close. After ``shutdown_grace``
nothing more is executed, but a send in progress still completes (so no client sees half a reply); after twice
``shutdown_grace`` whatever remains is cancelled. Deliberate closes linger until the kernel has delivered the
replies (connection._linger).

Descriptors (as Redis): at start the open-files limit is raised to maxclients plus what respd needs itself, or
maxclients is lowered to fit (App.fit_open_files). Clients past maxclients get ``-ERR max number of clients
reached``; should accept() still fail for lack of descriptors, a spare descriptor is given up to accept and refuse
the client the same way, and the failure is logged at most once per ``ACCEPT_LOG_EVERY`` seconds.
"""
from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import time
from typing import Optional

import trio

from .state import App
from .connection import Poller, RawTransport, clients_cron, handle
from .errors import MAX_CLIENTS, StartupError
from .registry import Registry, build_stores
from .security.loading import configure_security

log = logging.getLogger("respd.server")


def make_app(reg: Registry, overrides: Optional[dict] = None) -> App:
    settings = dict(reg.server)
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    stores, databases = build_stores(reg)
    app = App(stores, databases, settings, tuple(reg.files))
    configure_security(app, reg)
    return app


def open_listeners(app: App, tls: bool = False) -> list:
    """Listening sockets (non-blocking) for every address in ``bind``, on ``port`` or with ``tls`` on ``tls_port``;
    StartupError names what failed."""
    binds = app.settings.get("bind", "127.0.0.1").split()
    port = app.settings["tls_port"] if tls else app.port
    listeners: list = []
    try:
        for host in binds:
            for family, type_, proto, _, addr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                    flags=socket.AI_PASSIVE):
                sock = socket.socket(family, type_, proto)
                listeners.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(addr)
                sock.listen(socket.SOMAXCONN)
                sock.setblocking(False)
                if port == 0 and not tls:
                    app.port = port = sock.getsockname()[1]
    except OSError as e:
        for sock in listeners:
            sock.close()
        raise StartupError("cannot listen%s on %s port %d: %s" % (" (TLS)" if tls else "", host, port,
                                                                  e.strerror or e)) from None
    return listeners


_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
_NO_FDS = {errno.EMFILE, errno.ENFILE}
ACCEPT_LOG_EVERY = 10.0
_REFUSAL = b"-" + MAX_CLIENTS.encode() + b"\r\n"


class AcceptTrouble:
    """What the accept loops share when accept() fails for lack of resources: a spare descriptor, given up to
    accept a client and refuse it with Redis' error instead of leaving it hanging, and a rate-limited log. One per
    process, shared by the plain-TCP and TLS accept loops (the spare and the log are the process's)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.spare = self._open_spare()
        self.failures = 0
        self.refused = 0
        self.last_log = 0.0
        self.last_error = ""

    @staticmethod
    def _open_spare() -> int:
        try:
            return os.open(os.devnull, os.O_RDONLY)
        except OSError:
            return -1

    def refuse_one(self, listener: socket.socket, reply: bytes = _REFUSAL) -> bool:
        """Out of descriptors: free the spare, accept one client, send it ``reply`` (nothing if empty: a TLS client
        gets nothing before its handshake), close it, take the spare back.
        Whether a client was refused (False: the spare is gone too, or nobody was waiting)."""
        if self.spare < 0:
            self.spare = self._open_spare()
            return False
        os.close(self.spare)
        self.spare = -1
        try:
            conn, _ = listener.accept()
        except OSError:
            self.spare = self._open_spare()
            return False
        try:
            conn.setblocking(False)
            if reply:
                conn.send(reply)  # best effort, as Redis
        except OSError:
            pass
        conn.close()
        self.spare = self._open_spare()  # after the close: the descriptor it frees is the one to keep
        self.refused += 1
        self.app.stat_rejected += 1
        return True

    def failed(self, e: OSError) -> None:
        self.failures += 1
        self.last_error = e.strerror or str(e)
        now = time.monotonic()
        if now - self.last_log >= ACCEPT_LOG_EVERY:
            log.error("accepting client connections failed %d time(s) (%s); %d client(s) refused with 'max number "
                      "of clients reached' (this message repeats at most every %.0f s)",
                      self.failures, self.last_error, self.refused, ACCEPT_LOG_EVERY)
            self.last_log = now
            self.failures = self.refused = 0

    def close(self) -> None:
        if self.spare >= 0:
            os.close(self.spare)
            self.spare = -1


async def accept_loop(app: App, listener: socket.socket, nursery, trouble: Optional[AcceptTrouble] = None, *,
                      serve_client=None, refusal: bytes = _REFUSAL) -> None:
    """Accept clients on one listening socket and start a handler for each in ``nursery``: by default the plain-TCP
    one; ``serve_client`` (an async function of the accepted socket) for other kinds (TLS). ``refusal`` is what a
    client refused for lack of descriptors is sent before it is closed."""
    trouble = trouble or AcceptTrouble(app)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(listener)
                continue
            except OSError as e:
                if e.errno in _ACCEPT_RETRY:  # out of descriptors or memory
                    refused = e.errno in _NO_FDS and trouble.refuse_one(listener, refusal)
                    trouble.failed(e)
                    if not refused:
                        await trio.sleep(0.1)  # back off, as trio does
                    continue
                if e.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                raise
            conn.setblocking(False)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if serve_client is None:
                nursery.start_soon(handle, app, RawTransport(conn))
            else:
                nursery.start_soon(serve_client, conn)
    finally:
        trio.lowlevel.notify_closing(listener)
        listener.close()


async def start_stores(app: App) -> list:
    """Start the stores with ``auto_start`` (a failure stops respd); return the others, to start later."""
    later = []
    for store in app.stores.values():
        if not getattr(store, "auto_start", True):
            later.append(store)
            continue
        try:
            await store.start()
        except Exception as e:
            raise StartupError("store %s failed to start: %s" % (store.id, e)) from None
    return later


async def start_in_background(store) -> None:
    """Start a store with ``auto_start: false``, retrying with a growing delay (up to 30 s) until it works."""
    delay = 1.0
    while True:
        try:
            await store.start()
        except Exception as e:
            log.warning("store %s is not available yet (%s); retrying in %.0f s", store.id, e, delay)
            await trio.sleep(delay)
            delay = min(delay * 2, 30.0)
        else:
            log.info("store %s started", store.id)
            return


async def _start_then_clean(store) -> None:
    await start_in_background(store)
    await store.run_cleanup()


async def serve(app: App, *, task_status=trio.TASK_STATUS_IGNORED, handle_signals: bool = True) -> None:
    """Run the server until cancelled or signalled. ``task_status.started(port)`` once it accepts connections."""
    app.fit_open_files()
    later = await start_stores(app)
    trouble = None
    try:
        listeners = open_listeners(app)
        trouble = AcceptTrouble(app)
        tls = None
        if app.settings.get("tls_port"):
            from .tls import open_tls
            tls = await open_tls(app)  # StartupError on bad certificates or a busy port
        stop = trio.Event()
        app.request_shutdown = stop.set
        async with trio.open_nursery() as main:
            app.poller = Poller(app)
            main.start_soon(app.poller.run)
            app.auth.sleep = trio.sleep  # delayed WRONGPASS replies sleep in their client's task
            main.start_soon(app.auth.failure_log.run, trio.sleep)  # failed-AUTH summaries, a last one at shutdown
            main.start_soon(clients_cron, app)
            if handle_signals:
                main.start_soon(_stop_on_signal, stop)
            for store in app.stores.values():
                if store in later:
                    main.start_soon(_start_then_clean, store)
                else:
                    main.start_soon(store.run_cleanup)
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as accepting:
                    for listener in listeners:
                        accepting.start_soon(accept_loop, app, listener, connections, trouble)
                    if tls is not None:
                        accepting.start_soon(tls.serve, app, connections, trouble)
                    log.info("respd ready to accept connections on %s port %d (%d stores)",
                             app.settings.get("bind", "127.0.0.1"), app.port, len(app.stores))
                    task_status.started(app.port)
                    await stop.wait()  # SHUTDOWN, SIGTERM or SIGINT
                    log.info("shutting down: no new connections, draining open ones")
                    accepting.cancel_scope.cancel()
                # replies to what was read get delivered; past the grace period only sends in progress finish
                grace = app.settings.get("shutdown_grace", 5.0)
                connections.cancel_scope.deadline = trio.current_time() + 2 * grace
                main.start_soon(_stop_executing_after, app, grace)
                app.drain()
            main.cancel_scope.cancel()
    finally:
        if trouble is not None:
            trouble.close()
        app.poller = None
        app.request_shutdown = None
        with trio.CancelScope(shield=True):
            for store in app.stores.values():
                try:
                    await store.aclose()
                except Exception:
                    log.exception("closing store %s", store.id)


async def _stop_executing_after(app: App, grace: float) -> None:
    await trio.sleep(grace)
    app.draining_late = True


async def _stop_on_signal(stop: trio.Event) -> None:
    await _wait_for_signal()
    stop.set()


async def _wait_for_signal() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for sig in signals:
            log.info("received %s", signal.Signals(sig).name)
            return
