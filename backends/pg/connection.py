"""psycopg 3 driven by trio: :class:`TrioConnection`.

psycopg's async API is asyncio-only (TECH.md §1): it waits with ``loop.add_reader``, locks with
``asyncio.Lock`` and resolves names with ``loop.getaddrinfo``. Every cursor, pipeline and transaction operation
goes through ``AsyncConnection.wait(gen)``, so :class:`TrioConnection` overrides three things -- ``wait()``,
``connect()`` and ``self.lock`` -- and the rest of psycopg's async API works under trio unchanged.

An interrupted wait (cancellation, timeout) leaves the protocol in an unknown state, so the connection closes
itself (after asking the server to cancel a running query); errors raised by psycopg itself (constraint
violations, bad data) leave it usable.

``backends.pg`` is the only package that knows psycopg's internals (here ``_connect_gen``,
``psycopg.waiting.Wait/Ready``, the signature of ``wait()``, ``.lock``; libpq calls in ``pipeline``,
``_WaitTimeout`` in ``errors``); the pin ``psycopg[binary]>=3.3,<3.4`` and ``tests/sql`` guard them. The
functions at the end answer what other modules need to know about a connection's state, so that they need no
libpq names.
"""
from __future__ import annotations

import ipaddress
import os
import select
from typing import Any, Optional

import psycopg
import trio
from psycopg import errors as pg_errors
from psycopg import generators
from psycopg import pq
from psycopg.adapt import Transformer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.waiting import Ready, Wait

WAIT_R = Wait.R
WAIT_W = Wait.W
WAIT_RW = Wait.RW
READY_R = Ready.R
READY_W = Ready.W
_ACTIVE = pq.TransactionStatus.ACTIVE
_IDLE = pq.TransactionStatus.IDLE
_INERROR = pq.TransactionStatus.INERROR
_BAD = pq.ConnStatus.BAD


# ---------------------------------------------------------------------------------------------- readiness
def ready_now(fd: int, wait: int) -> int:
    """Readiness of fd for the directions in wait, without blocking (a zero-timeout poll)."""
    p = select.poll()
    p.register(fd, (select.POLLIN if wait & WAIT_R else 0) | (select.POLLOUT if wait & WAIT_W else 0))
    ready = 0
    for _, ev in p.poll(0):
        if ev & (select.POLLIN | select.POLLERR | select.POLLHUP):
            ready |= READY_R
        if ev & (select.POLLOUT | select.POLLERR | select.POLLHUP):
            ready |= READY_W
    # Report only what was asked: psycopg's generators check the bits they asked for.
    return ready & wait


async def wait_fd(fd: int, wait: int) -> int:
    """Block until fd is ready for one of the directions in wait; return the Ready bits.

    Writes are tried with a zero-timeout poll first: a socket is nearly always writable, and a poll is much
    cheaper than a trip through trio's scheduler (psycopg does the same)."""
    if wait == WAIT_R:
        await trio.lowlevel.wait_readable(fd)
        return READY_R
    ready = ready_now(fd, wait)
    if ready:
        return ready
    if wait == WAIT_W:
        await trio.lowlevel.wait_writable(fd)
        return READY_W
    # Wait.RW: race both directions (trio allows one waiter per direction per fd).
    result = 0

    async with trio.open_nursery() as nursery:
        async def one(waiter, bit):
            nonlocal result
            await waiter(fd)
            result |= bit
            nursery.cancel_scope.cancel()

        nursery.start_soon(one, trio.lowlevel.wait_readable, READY_R)
        nursery.start_soon(one, trio.lowlevel.wait_writable, READY_W)
    return result


# ---------------------------------------------------------------------------------------------- connection
class TrioConnection(psycopg.AsyncConnection):
    """An ``AsyncConnection`` whose waits run on trio.

    Contract: one task uses a connection at a time (``self.lock`` is a ``trio.Lock``, as trio allows one waiter
    per fd direction). If a wait is interrupted (``trio.Cancelled``, a timeout, KeyboardInterrupt) the
    connection is closed: when a statement was running a cancel request is sent to the server by a background
    task (libpq >= 17's non-blocking cancel), trio is told the fd is closing and libpq's connection is finished;
    ``closed`` and ``broken`` become True.
    """

    def __init__(self, pgconn, row_factory=psycopg.rows.tuple_row):
        super().__init__(pgconn, row_factory)
        self.lock = trio.Lock()  # replaces asyncio.Lock, which needs an asyncio loop
        #: Statements prepared by ``run_statements`` on this connection: query -> name.
        self.respd_prepared: dict[bytes, bytes] = {}
        #: Loads ``run_statements`` results (psycopg's C Transformer, this connection's adapters).
        self.respd_loader = Transformer(self)
        #: Seconds allowed for the cancel request sent when a wait is interrupted.
        self.cancel_timeout = 5.0

    # -- connecting
    @classmethod
    async def connect(cls, conninfo: str = "", *, autocommit: bool = True, prepare_threshold: Optional[int] = 5,
                      connect_timeout: Optional[float] = None, **kwargs: Any) -> "TrioConnection":
        """Open a connection without blocking the trio loop.

        Host names are resolved with ``trio.socket.getaddrinfo`` and passed to libpq as ``hostaddr`` (libpq would
        otherwise resolve them synchronously). ``connect_timeout`` bounds the whole attempt (``trio.TooSlowError``).
        Connection failures raise ``psycopg.OperationalError``."""
        params = conninfo_to_dict(conninfo, **kwargs)
        params = await _resolve_hosts(params)
        gen = cls._connect_gen(make_conninfo("", **params))
        try:
            with trio.fail_after(connect_timeout) if connect_timeout else _null_scope():
                fd, wait = next(gen)
                while True:
                    ready = await wait_fd(fd, wait)
                    fd, wait = gen.send(ready)
        except StopIteration as ex:
            conn = ex.value
        except BaseException:
            gen.close()  # the half-open PGconn is finished when the generator's frame is collected
            raise
        conn._autocommit = bool(autocommit)
        conn.prepare_threshold = prepare_threshold
        if connect_timeout:
            conn.cancel_timeout = connect_timeout
        return conn

    # -- waiting
    async def wait(self, gen, interval: Optional[float] = None, timeout: Optional[float] = None):
        """Drive one of psycopg's libpq generators to completion on trio.

        ``interval`` is ignored (trio delivers cancellation itself); ``timeout`` raises psycopg's ``_WaitTimeout``
        as asyncio's version does."""
        try:
            wait = next(gen)
        except StopIteration as ex:
            return ex.value
        fd = self.pgconn.socket
        try:
            with trio.fail_after(timeout) if timeout is not None else _null_scope():
                while True:
                    try:
                        ready = await wait_fd(fd, wait)
                    except BaseException:
                        # An interrupted wait leaves the protocol mid-message: the connection cannot be
                        # reused. (Errors raised by the generator itself, below, leave it usable.)
                        self.abort()
                        _close_quietly(gen)
                        raise
                    wait = gen.send(ready)
        except StopIteration as ex:
            return ex.value
        except trio.TooSlowError:
            raise pg_errors._WaitTimeout("wait timeout expired") from None

    def abort(self) -> None:
        """Close the connection after an interrupted wait (see the class docstring)."""
        pgconn = self.pgconn
        if pgconn.status == _BAD:
            return
        if pgconn.transaction_status == _ACTIVE and _HAS_CANCEL_CONN:
            # Ask the server to stop the running statement. Not with PGcancel.cancel(): it blocks holding the
            # GIL (a hung server froze the whole process, even from a thread). libpq >= 17's non-blocking
            # cancel connection is driven by a background trio task, bounded by cancel_timeout.
            try:
                cancel_conn = pgconn.cancel_conn()
                cancel_conn.start()
                trio.lowlevel.spawn_system_task(_send_cancel, cancel_conn, self.cancel_timeout)
            except Exception:
                pass
        try:
            trio.lowlevel.notify_closing(pgconn.socket)
        except Exception:
            pass
        pgconn.finish()

    async def close(self) -> None:
        """Close the connection (tells trio first, so no task is left waiting on a closed fd)."""
        if not self.closed:
            try:
                trio.lowlevel.notify_closing(self.pgconn.socket)
            except Exception:
                pass
        await super().close()


_HAS_CANCEL_CONN = psycopg.capabilities.has_cancel_safe()


async def _send_cancel(cancel_conn, timeout: float) -> None:
    """Drive a libpq cancel connection to completion (fire and forget; failures are ignored)."""
    try:
        with trio.move_on_after(timeout):
            gen = generators.cancel(cancel_conn)
            try:
                fd, wait = next(gen)
                while True:
                    ready = await wait_fd(fd, wait)
                    fd, wait = gen.send(ready)
            except StopIteration:
                pass
    except Exception:
        pass
    finally:
        try:
            trio.lowlevel.notify_closing(cancel_conn.socket)
        except Exception:
            pass
        cancel_conn.finish()


def _close_quietly(gen) -> None:
    """Close an abandoned psycopg generator now (its cleanup code may raise on a finished connection), rather
    than leave it to the garbage collector, which would report the error as unraisable."""
    try:
        gen.close()
    except Exception:
        pass


class _null_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


async def _resolve_hosts(params: dict) -> dict:
    """Fill ``hostaddr`` for host names, resolving them with trio (libpq's own resolution would block)."""
    if params.get("hostaddr"):
        return params
    host = params.get("host") or os.environ.get("PGHOST")
    if not host:
        return params  # libpq's default: the local unix socket
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    addrs = []
    for h in host.split(","):
        h = h.strip()
        if not h or h.startswith("/") or h.startswith("@"):
            addrs.append("")  # unix socket directory: no address
            continue
        try:
            ipaddress.ip_address(h)
            addrs.append(h)
            continue
        except ValueError:
            pass
        p = port.split(",")[min(len(addrs), len(port.split(",")) - 1)]
        infos = await trio.socket.getaddrinfo(h, int(p), type=trio.socket.SOCK_STREAM)
        if not infos:
            raise psycopg.OperationalError("could not resolve host %r" % h)
        addrs.append(infos[0][4][0])
    if any(addrs):
        params = dict(params)
        params["host"] = host
        params["hostaddr"] = ",".join(addrs)
    return params



# ---------------------------------------------------------------------------------------------- state
def transaction_open(conn: TrioConnection) -> bool:
    """Whether the connection is inside a transaction (open, failed or with a statement running)."""
    return conn.pgconn.transaction_status != _IDLE


def transaction_failed(conn: TrioConnection) -> bool:
    """Whether the connection's transaction was aborted by an error (PostgreSQL turns its COMMIT into ROLLBACK)."""
    return conn.pgconn.transaction_status == _INERROR


def went_away(conn: TrioConnection) -> bool:
    """For an idle connection: closed, or its socket is readable (the server closed it or sent a FATAL notice,
    as a PostgreSQL shutting down does), so it cannot be used."""
    return conn.closed or bool(ready_now(conn.pgconn.socket, WAIT_R))


def consume_notifies(pgconn) -> None:
    """Hand the notifications libpq has read to the connection's notify handlers (as psycopg's own generators do
    between statements)."""
    while True:
        n = pgconn.notifies()
        if n is None:
            return
        if pgconn.notify_handler:
            pgconn.notify_handler(n)
