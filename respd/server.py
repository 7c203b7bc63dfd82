"""Process-level trio code: start stores, listen, serve connections, shut down gracefully.

Task ownership (trio): the ``main`` nursery owns the stores' cleanup tasks, the connection poller (which serves
every plain TCP client from one task, see ``net.poller``) and the ``connections`` nursery; the
``accepting`` nursery runs one ``accept_loop`` per listening socket (plain TCP and TLS), each starting its clients'
handlers in ``connections``.

Shutdown (SIGTERM, SIGINT, SHUTDOWN): accepting stops at once and no client is read from any more; idle clients are
closed; the others get the replies to every request respd had already read, then close. After ``shutdown_grace``
nothing more is executed, but a send in progress still completes (so no client sees half a reply); after twice
``shutdown_grace`` whatever remains is cancelled. Deliberate closes linger until the kernel has delivered the
replies (``net.transport.linger``).

Descriptors (as Redis): at start the open-files limit is raised to maxclients plus what respd needs itself, or
maxclients is lowered to fit (App.fit_open_files); clients past it are refused (``net.listen``).
"""
from __future__ import annotations

import logging
import signal
from typing import Optional

import trio

from . import notify
from .errors import STORE_START_FAILED, StartupError
from .net import waiting
from .net.bus import start as start_bus
from .net.client import wake_for_output
from .net.cron import clients_cron
from .net.listen import AcceptTrouble, accept_loop, open_listeners
from .net.poller import Poller
from .net.threads import Threads
from .net.tls import open_tls
from .registry import Registry, build_stores
from .security.loading import configure_security
from .security.users import Auth
from .state import App

log = logging.getLogger("respd.server")


def make_app(reg: Registry, overrides: Optional[dict] = None) -> App:
    settings = dict(reg.server)
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    stores, databases = build_stores(reg)
    app = App(stores, databases, settings, Auth(), tuple(reg.files))
    app.threads = Threads(app)
    waiting.install(app)
    configure_security(app, reg)
    return app


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
            raise StartupError(STORE_START_FAILED % (store.id, e)) from None
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


async def _active_expiry(app) -> None:
    """While expired-key notifications are on (respd.notify): memory stores expire keys actively, in bounded
    slices every ACTIVE_PERIOD, and SQL stores run their cleanup every SQL_EXPIRE_PERIOD, so listeners hear of a
    key's expiry about when it happens, without anyone reading it. Off, this wakes once a second and does nothing."""
    last_sql = 0.0
    while True:
        on = notify.expiring(app)
        await trio.sleep(notify.ACTIVE_PERIOD if on else 1.0)
        if not notify.expiring(app):
            continue
        notify.active_expire_cycle(app)
        now = trio.current_time()
        if now - last_sql >= notify.SQL_EXPIRE_PERIOD:
            last_sql = now
            for store in list(app.stores.values()):
                if store.is_async and store.on_expired is not None:
                    try:
                        await store.cleanup_once()
                    except Exception as e:  # PostgreSQL down, store not started yet: next time
                        log.debug("expiry of store %s skipped: %s", store.id, e)


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
            tls = await open_tls(app)  # StartupError on bad certificates or a busy port
        stop = trio.Event()
        app.request_shutdown = stop.set
        async with trio.open_nursery() as main:
            app.poller = Poller(app)
            main.start_soon(app.poller.run)
            app.blocking.nursery = main  # database listeners for clients blocked on SQL stores
            # client tracking's BCAST messages go when the event loop is next idle (Redis: beforeSleep)
            app.tracking.schedule = trio.lowlevel.current_trio_token().run_sync_soon
            app.tracking.wake = wake_for_output  # an idle client that is a tracking redirect target
            start_bus(app, main)  # messages between nodes sharing PostgreSQL (none without SQL stores)
            app.auth.sleep = trio.sleep  # delayed WRONGPASS replies sleep in their client's task
            main.start_soon(app.auth.failure_log.run, trio.sleep)  # failed-AUTH summaries, a last one at shutdown
            main.start_soon(clients_cron, app)
            main.start_soon(_active_expiry, app)
            if handle_signals:
                main.start_soon(_stop_on_signal, stop, app)
            for store in app.stores.values():
                if store in later:
                    main.start_soon(_start_then_clean, store)
                else:
                    main.start_soon(store.run_cleanup)
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as accepting:
                    app.poller.listeners = list(listeners)
                    app.poller.nursery = connections
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


async def _stop_on_signal(stop: trio.Event, app: Optional[App] = None) -> None:
    await _wait_for_signal(app)
    stop.set()


def _stop_scripts_on(app: App, *sigs) -> None:
    """A signal also stops the script running (trio's handler only wakes the loop, which a script running in
    place holds until it ends): its count hook sees the kill at its next tick, as after SHUTDOWN NOSAVE."""
    for sig in sigs:
        trio_handler = signal.getsignal(sig)

        def handler(signum, frame, trio_handler=trio_handler):
            if app.scripts is not None:
                app.scripts.stop()
            if callable(trio_handler):
                trio_handler(signum, frame)
        signal.signal(sig, handler)


async def _wait_for_signal(app: Optional[App] = None) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        if app is not None:
            _stop_scripts_on(app, signal.SIGTERM, signal.SIGINT)
        async for sig in signals:
            log.info("received %s", signal.Signals(sig).name)
            return
