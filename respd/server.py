"""Process-level trio code: start stores, listen, serve connections, shut down gracefully.

Task ownership (trio): the ``main`` nursery owns the stores' cleanup tasks and the ``connections`` nursery; the
``accepting`` nursery runs the listeners with ``handler_nursery=connections`` so that on SIGTERM/SIGINT accepting
stops at once while connections finish their in-flight replies, then are cancelled after ``shutdown_grace``.
"""
from __future__ import annotations

import logging
import signal
from functools import partial
from typing import Optional

import trio

from .app import App
from .connection import handle
from .registry import Registry, build_stores

log = logging.getLogger("respd.server")


class StartupError(Exception):
    """A problem that prevents the server from starting; str() is the one line shown to the user."""


def make_app(reg: Registry, overrides: Optional[dict] = None) -> App:
    settings = dict(reg.server)
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    stores, databases = build_stores(reg)
    app = App(stores, databases, settings, tuple(reg.files))
    from .security import configure_security
    configure_security(app, reg)
    return app


async def open_listeners(app: App) -> list:
    binds = app.settings.get("bind", "127.0.0.1").split()
    listeners = []
    for host in binds:
        try:
            listeners += await trio.open_tcp_listeners(app.port, host=host)
        except OSError as e:
            for lst in listeners:
                await lst.aclose()
            raise StartupError("cannot listen on %s:%d: %s" % (host, app.port, e.strerror or e)) from None
    if app.port == 0 and listeners:
        app.port = listeners[0].socket.getsockname()[1]
    return listeners


async def start_stores(app: App) -> None:
    for store in app.stores.values():
        try:
            await store.start()
        except Exception as e:
            raise StartupError("store %s failed to start: %s" % (store.id, e)) from None


async def serve(app: App, *, task_status=trio.TASK_STATUS_IGNORED, handle_signals: bool = True) -> None:
    """Run the server until cancelled or signalled. ``task_status.started(port)`` once it accepts connections."""
    await start_stores(app)
    try:
        listeners = await open_listeners(app)
        async with trio.open_nursery() as main:
            for store in app.stores.values():
                main.start_soon(store.run_cleanup)
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as accepting:
                    accepting.start_soon(partial(trio.serve_listeners, partial(handle, app), listeners,
                                                 handler_nursery=connections))
                    log.info("respd ready to accept connections on %s port %d (%d stores)",
                             app.settings.get("bind", "127.0.0.1"), app.port, len(app.stores))
                    task_status.started(app.port)
                    if handle_signals:
                        await _wait_for_signal()
                        log.info("shutting down: no new connections, draining open ones")
                        accepting.cancel_scope.cancel()
                # in-flight replies get delivered; idle connections are cancelled after the grace period
                connections.cancel_scope.deadline = trio.current_time() + app.settings.get("shutdown_grace", 5.0)
                app.drain()
            main.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            for store in app.stores.values():
                try:
                    await store.aclose()
                except Exception:
                    log.exception("closing store %s", store.id)


async def _wait_for_signal() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for sig in signals:
            log.info("received %s", signal.Signals(sig).name)
            return
