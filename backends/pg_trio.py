"""psycopg 3 under trio: a connection class, a small pool and a statement batcher.

psycopg's async API is asyncio-only (TECH.md §1): it waits with ``loop.add_reader``, locks with
``asyncio.Lock`` and resolves names with ``loop.getaddrinfo``. Every cursor, pipeline and transaction operation
goes through ``AsyncConnection.wait(gen)``, so :class:`TrioConnection` overrides three things -- ``wait()``,
``connect()`` and ``self.lock`` -- and the rest of psycopg's async API works under trio unchanged.

This is the only module that knows psycopg internals (``_connect_gen``, ``psycopg.waiting.Wait/Ready``, the
signature of ``wait()``, ``.lock``); the pin ``psycopg[binary]>=3.3,<3.4`` and ``tests/sql`` guard them.

Contents:

- :class:`TrioConnection` -- ``psycopg.AsyncConnection`` driven by trio. An interrupted wait (cancellation,
  timeout) leaves the protocol in an unknown state, so it closes the connection (after asking the server to
  cancel a running query); errors raised by psycopg itself (constraint violations, bad data) leave it usable.
- :func:`run_statements` -- the stores' fast path: statements prepared once per connection and sent straight
  through libpq in pipeline mode, one round trip per call (psycopg's cursors cost ~100 us of Python each).
- :class:`PgDatabase` -- one configured database: a bounded pool of autocommit connections, and a batcher that
  coalesces single statements issued concurrently by many trio tasks into one pipeline on one connection
  (one network round trip and one commit for the whole batch; writes take a second round trip for the COMMIT,
  sent only once the statements' results are back, so that a failed or timed-out write was never applied).

The batcher also merges statements of one kind within a batch (``Merge``): the GETs of a batch become one
``key = ANY(keys)`` select, and a batch of plain SETs one multi-row upsert.

Measured here (bench/sql_ceiling.py, shared 2-core VM, medians of 3): PK selects 10.7k/s one per round trip,
70k/s in batches of 100 (psycopg's own sync pipeline: 20k/s); durable upserts 4.5k/s one per round trip, 38k/s
in batches of 100 (psycopg: 12k/s); SQLStore from 50 tasks: GET 36k/s batched vs 8.8k/s unbatched, SET 16k/s
vs 3k/s.
"""
from __future__ import annotations

import ipaddress
import itertools
import os
import re
import select
from functools import partial
from typing import Any, Optional

import psycopg
import trio
from psycopg import errors as pg_errors
from psycopg import generators
from psycopg import pq
from psycopg.adapt import Transformer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.waiting import Ready, Wait

_WAIT_R = Wait.R
_WAIT_W = Wait.W
_READY_R = Ready.R
_READY_W = Ready.W
_READY_RW = Ready.RW
_ACTIVE = pq.TransactionStatus.ACTIVE
_IDLE = pq.TransactionStatus.IDLE
_INERROR = pq.TransactionStatus.INERROR
_BAD = pq.ConnStatus.BAD


class DatabaseUnavailable(Exception):
    """The database did not answer: no connection could be obtained (refused, unreachable, timed out, pool
    closed), or the connection was lost or timed out during a statement.

    Raised for a write, it means the write was NOT applied (see ``PgDatabase.run``), unless it is the subclass
    :class:`OutcomeUnknown`. ``reason`` is fit for clients (no host, port or socket path: see
    :func:`public_reason`); ``detail`` is the full text, for the log."""

    def __init__(self, db_id: str, reason: str):
        super().__init__(db_id, reason)
        self.db_id = db_id
        self.detail = reason
        self.reason = public_reason(reason)

    def __str__(self) -> str:
        return "database %s unavailable: %s" % (self.db_id, self.detail)


class OutcomeUnknown(DatabaseUnavailable):
    """The connection was lost, or the deadline passed, while a COMMIT was in flight: the write may or may not
    have been applied, and nothing can tell which before answering. ``reason`` says "outcome unknown"."""


_WHERE = re.compile(r'(?:connection failed: )?connection to server (?:at "[^"]*"(?: \([^)]*\))?, port \d+|on socket '
                    r'"[^"]*") failed: ')
_RESOLVE = re.compile(r"could not resolve host \S+")


def public_reason(text: str) -> str:
    """An error text without the database's host, port or socket path (libpq puts them in connection errors):
    clients are told that the database failed and why, the log says where."""
    return _RESOLVE.sub("could not resolve the database host", _WHERE.sub("connection to the database failed: ", text))


def database_target(dsn: str) -> tuple:
    """``(host, port, dbname)`` a libpq connection string designates, defaults filled in as libpq does
    (``PGHOST``/``PGPORT``/``PGDATABASE``/``PGUSER``, unix socket, port 5432, database named after the user).
    Two stores compare these to find that they would share a table. Raises ValueError for an unparsable DSN."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as ex:
        raise ValueError("invalid connection string: %s" % _one_line(ex)) from None
    env = os.environ
    host = params.get("host") or params.get("hostaddr") or env.get("PGHOST") or "/var/run/postgresql"
    port = str(params.get("port") or env.get("PGPORT") or "5432")
    if host in ("localhost", "::1"):
        host = "127.0.0.1"
    user = params.get("user") or env.get("PGUSER") or _os_user()
    dbname = params.get("dbname") or env.get("PGDATABASE") or user
    return host, port, dbname


def _os_user() -> str:
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return ""


def database_where(dsn: str) -> str:
    """``host:port`` (or the socket directory and port) of a DSN, for log lines. Never raises."""
    try:
        host, port, _ = database_target(dsn)
    except ValueError:
        return "?"
    return ("[%s]:%s" if ":" in host else "%s:%s") % (host, port)


# ---------------------------------------------------------------------------------------------- readiness
def _ready_now(fd: int, wait: int) -> int:
    """Readiness of fd for the directions in wait, without blocking (a zero-timeout poll)."""
    p = select.poll()
    p.register(fd, (select.POLLIN if wait & _WAIT_R else 0) | (select.POLLOUT if wait & _WAIT_W else 0))
    ready = 0
    for _, ev in p.poll(0):
        if ev & (select.POLLIN | select.POLLERR | select.POLLHUP):
            ready |= _READY_R
        if ev & (select.POLLOUT | select.POLLERR | select.POLLHUP):
            ready |= _READY_W
    # Report only what was asked: psycopg's generators check the bits they asked for.
    return ready & wait


async def _wait_fd(fd: int, wait: int) -> int:
    """Block until fd is ready for one of the directions in wait; return the Ready bits.

    Writes are tried with a zero-timeout poll first: a socket is nearly always writable, and a poll is much
    cheaper than a trip through trio's scheduler (psycopg does the same)."""
    if wait == _WAIT_R:
        await trio.lowlevel.wait_readable(fd)
        return _READY_R
    ready = _ready_now(fd, wait)
    if ready:
        return ready
    if wait == _WAIT_W:
        await trio.lowlevel.wait_writable(fd)
        return _READY_W
    # Wait.RW: race both directions (trio allows one waiter per direction per fd).
    result = 0

    async with trio.open_nursery() as nursery:
        async def one(waiter, bit):
            nonlocal result
            await waiter(fd)
            result |= bit
            nursery.cancel_scope.cancel()

        nursery.start_soon(one, trio.lowlevel.wait_readable, _READY_R)
        nursery.start_soon(one, trio.lowlevel.wait_writable, _READY_W)
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
                    ready = await _wait_fd(fd, wait)
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
                        ready = await _wait_fd(fd, wait)
                    except BaseException:
                        # An interrupted wait leaves the protocol mid-message: the connection cannot be
                        # reused. (Errors raised by the generator itself, below, leave it usable.)
                        self._abort()
                        _close_quietly(gen)
                        raise
                    wait = gen.send(ready)
        except StopIteration as ex:
            return ex.value
        except trio.TooSlowError:
            raise pg_errors._WaitTimeout("wait timeout expired") from None

    def _abort(self) -> None:
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
                    ready = await _wait_fd(fd, wait)
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


# ---------------------------------------------------------------------------------------------- batching
_PENDING, _INFLIGHT, _DONE, _CANCELLED = range(4)


class _Op:
    """One statement submitted to the batcher, and later its result."""

    __slots__ = ("query", "params", "order", "deadline", "merge", "writes", "state", "leader", "event", "result",
                 "error")

    def __init__(self, query: bytes, params: tuple, order: bytes, deadline: float, merge: Optional["Merge"],
                 writes: bool):
        self.query = query
        self.params = params
        self.order = order
        self.deadline = deadline
        self.merge = merge
        self.writes = writes
        self.state = _PENDING
        self.leader = False
        self.event = trio.Event()
        self.result: Any = None
        self.error: Optional[BaseException] = None


def _connection_lost(ex: BaseException, conn: Optional[TrioConnection]) -> bool:
    """Whether ex means the connection (or the server) is gone, rather than a problem with one statement."""
    if isinstance(ex, (DatabaseUnavailable, OSError, trio.TooSlowError, pg_errors._WaitTimeout)):
        return True
    if conn is not None and conn.closed:
        return True
    return isinstance(ex, (psycopg.OperationalError, psycopg.InterfaceError)) and not isinstance(
        ex, (pg_errors.TransactionRollback, pg_errors.QueryCanceled, pg_errors.LockNotAvailable))


# ---------------------------------------------------------------------------------------------- fast path
# psycopg's cursors cost ~100 us of Python per statement, which caps a 2-core machine near 8k statements/s. The
# stores' statements are few, fixed and take simple parameters, so they run here on libpq directly: prepared
# once per connection, parameters dumped by hand, results loaded by psycopg's C Transformer, every call one
# pipeline ending in one Sync (one round trip). psycopg's generators and ``TrioConnection.wait`` still do the
# waiting, so cancellation behaves as for any psycopg call.
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
_PIPELINE_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"
_ROLLBACK = b"ROLLBACK"
_BINARY = pq.Format.BINARY
_RW = Wait.RW
#: Most statements prepared per connection; beyond, statements run unnamed (parsed each time).
MAX_PREPARED = 512
_pg_queries: dict[bytes, bytes] = {}
_stmt_names = itertools.count(1)


def _pg_query(query: bytes) -> bytes:
    """``%s`` placeholders as ``$1, $2...`` (statements here hold no other ``%``)."""
    q = _pg_queries.get(query)
    if q is None:
        parts = query.split(b"%s")
        q = parts[0] + b"".join(b"$%d%s" % (i, p) for i, p in enumerate(parts[1:], 1))
        if len(_pg_queries) < 10_000:
            _pg_queries[query] = q
    return q


def _array_literal(items: list) -> bytes:
    """A text-format array of str, bytes, int or None (for ``%s::text[]``, ``::bytea[]``, ``::bigint[]``)."""
    out = []
    for x in items:
        if type(x) is str:
            out.append(b'"' + x.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
        elif x is None:
            out.append(b"NULL")
        elif type(x) is int:
            out.append(b"%d" % x)
        else:  # bytea hex input, its backslash escaped for the array syntax
            out.append(b'"\\\\x' + bytes(x).hex().encode() + b'"')
    return b"{" + b",".join(out) + b"}"


def _dump(params: tuple) -> tuple[list, list]:
    """Parameter values and formats: bytes travel binary, everything else as text (types are inferred by the
    server when the statement is prepared)."""
    values = []
    formats = []
    for p in params:
        t = type(p)
        if t is bytes or t is bytearray or t is memoryview:
            values.append(bytes(p))
            formats.append(1)
            continue
        formats.append(0)
        if p is None:
            values.append(None)
        elif t is str:
            values.append(p.encode())
        elif t is bool:
            values.append(b"t" if p else b"f")
        elif t is int:
            values.append(b"%d" % p)
        elif t is list or t is tuple:
            values.append(_array_literal(p))
        else:
            raise TypeError("unsupported parameter type %s" % t.__name__)
    return values, formats


def _pipeline_gen(pgconn, sends: list):
    """libpq generator: queue every send, Sync, flush, and collect results up to the Sync.

    Returns one list of PGresults per queued command (prepares included), in order."""
    for send in sends:
        send()
    pgconn.pipeline_sync()
    while pgconn.flush():
        ready = yield _RW  # the server may be answering while we still send: read too, or both block
        if ready & _READY_R:
            pgconn.consume_input()
    results: list = []
    current: list = []
    while True:
        while pgconn.is_busy():
            yield _WAIT_R
            pgconn.consume_input()
        r = pgconn.get_result()
        if r is None:  # end of one command's results
            results.append(current)
            current = []
        elif r.status == _PIPELINE_SYNC:
            return results
        else:
            current.append(r)


async def run_statements(conn: TrioConnection, stmts: list) -> list:
    """Run ``[(query, params), ...]`` in one pipeline with one Sync: one round trip.

    Returns, per statement, its rows (list of tuples, values loaded as psycopg would) when it returns rows, else
    its rowcount. Outside an explicit transaction the statements form one implicit transaction, committed by the
    Sync. Raises the first statement's error (a ``psycopg.Error``): then, outside a transaction, none of the
    statements took effect; inside one, the transaction is aborted (as with psycopg)."""
    pgconn = conn.pgconn
    prepared = conn.respd_prepared
    sends = []
    kinds = []  # per queued command: (query, name) for a prepare, or None for a statement to run
    new: dict = {}
    for query, params in stmts:
        values, formats = _dump(params)
        name = prepared.get(query) or new.get(query)
        if name is None and len(prepared) + len(new) < MAX_PREPARED:
            name = new[query] = b"respd_%d" % next(_stmt_names)
            sends.append(partial(pgconn.send_prepare, name, _pg_query(query), None))
            kinds.append((query, name))
        if name is None:
            sends.append(partial(pgconn.send_query_params, _pg_query(query), values, None, formats, _BINARY))
        else:
            sends.append(partial(pgconn.send_query_prepared, name, values, formats, _BINARY))
        kinds.append(None)
    async with conn.lock:
        conn._check_connection_ok()
        pgconn.enter_pipeline_mode()
        try:
            results = await conn.wait(_pipeline_gen(pgconn, sends))
        finally:
            if pgconn.status != _BAD and pgconn.pipeline_status:
                try:
                    pgconn.exit_pipeline_mode()
                except psycopg.Error:
                    conn._abort()  # results left unread: the connection cannot be reused
    out = []
    error = None
    for kind, res in zip(kinds, results):
        r = res[-1] if res else None
        status = r.status if r is not None else None
        if kind is not None:  # a prepare
            if status == _COMMAND_OK:
                prepared[kind[0]] = kind[1]
            elif error is None and r is not None and status != _PIPELINE_ABORTED:
                error = pg_errors.error_from_result(r, encoding=conn.pgconn._encoding)
            continue
        if status == _TUPLES_OK:
            conn.respd_loader.set_pgresult(r)
            out.append(conn.respd_loader.load_rows(0, r.ntuples, tuple))
        elif status == _COMMAND_OK:
            out.append(r.command_tuples or 0)
        else:
            if error is None and status != _PIPELINE_ABORTED and r is not None:
                error = pg_errors.error_from_result(r, encoding=conn.pgconn._encoding)
            out.append(None)
    if error is not None:
        if isinstance(error, pg_errors.InvalidSqlStatementName):
            prepared.clear()  # someone ran DEALLOCATE/DISCARD ALL: prepare again next time
        raise error
    if len(out) != len(stmts):
        raise psycopg.InterfaceError("pipeline returned %d results for %d statements" % (len(out), len(stmts)))
    return out


async def _exec(conn: TrioConnection, query: bytes, params: tuple) -> Any:
    """Run one statement; its rows (list of tuples) when it returns rows, else its rowcount."""
    return (await run_statements(conn, [(query, params)]))[0]


# ---------------------------------------------------------------------------------------------- database
class PgDatabase:
    """One PostgreSQL database: a bounded pool of autocommit ``TrioConnection`` s plus a statement batcher.

    Args:
        db_id: name used in errors.
        dsn: libpq connection string; give an IP address, ``hostaddr`` or a socket directory, or a host name
            (resolved with trio, never by libpq).
        pool_min: connections opened by ``start()`` (not kept topped up: the pool grows on demand).
        pool_max: most connections open at once; ``connection()`` waits for a free one beyond that.
        connect_timeout: seconds allowed for opening one connection.
        command_timeout: seconds a store allows for one operation (stores read it; the batcher bounds each
            batch with it).
        batch_leaders: how many connections the batcher may use at once (default: half the pool, at least 1).
        max_batch: most statements sent in one pipeline.
        batching: False sends every statement on its own connection and round trip.

    Lifecycle: ``start()``/``aclose()`` are reference counted, so several stores can share one database: the
    pool opens on the first ``start()`` and closes on the matching last ``aclose()``.

    Error handling: ``connection()`` raises :class:`DatabaseUnavailable` when no connection can be opened;
    statements raise psycopg errors. A connection is dropped from the pool when it is closed or broken, or not
    idle (a transaction left open) when released, or, while idle, when its socket became readable (the server
    closed it or sent a shutdown notice: this is how a PostgreSQL restart is noticed without a failed query).
    After a failure caused by a lost connection every idle connection is checked the same way.
    """

    def __init__(self, db_id: str, dsn: str, pool_min: int = 1, pool_max: int = 10, connect_timeout: float = 5.0,
                 command_timeout: float = 5.0, *, batch_leaders: Optional[int] = None, max_batch: int = 256,
                 batching: bool = True, prepare_threshold: Optional[int] = 5):
        if pool_max < 1 or pool_min < 0 or pool_min > pool_max:
            raise ValueError("invalid pool size: pool_min=%r pool_max=%r" % (pool_min, pool_max))
        if connect_timeout <= 0 or command_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.id = db_id
        self.dsn = dsn
        self.pool_min = pool_min
        self.pool_max = pool_max
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.prepare_threshold = prepare_threshold
        self.batching = batching
        self.max_batch = max(1, max_batch)
        self.batch_leaders = max(1, batch_leaders if batch_leaders is not None else pool_max // 2)
        self._idle: list[TrioConnection] = []
        self._slots = trio.Semaphore(pool_max)
        self._users = 0
        self._closed = True
        self._queue: list[_Op] = []
        self._leaders = 0
        #: Counters for tests and INFO: statements batched, batches sent, connections opened/discarded.
        self.stats = {"ops": 0, "batches": 0, "connects": 0, "discards": 0}

    # -- lifecycle
    async def start(self) -> None:
        """Open the pool (first caller) and ``pool_min`` connections. Raises DatabaseUnavailable."""
        self._users += 1
        if self._users > 1:
            return
        self._closed = False
        try:
            conns = [await self._connect() for _ in range(self.pool_min)]
        except BaseException:
            self._users -= 1
            self._closed = True
            raise
        self._idle.extend(conns)

    async def aclose(self) -> None:
        """Release one ``start()``; the last one closes every idle connection (busy ones close on release)."""
        if self._users > 0:
            self._users -= 1
        if self._users > 0:
            return
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    # -- pool
    async def _connect(self) -> TrioConnection:
        try:
            conn = await TrioConnection.connect(self.dsn, autocommit=True, prepare_threshold=self.prepare_threshold,
                                                connect_timeout=self.connect_timeout)
        except trio.TooSlowError:
            raise DatabaseUnavailable(self.id, "connection timed out after %gs" % self.connect_timeout) from None
        except (psycopg.Error, OSError) as ex:
            raise DatabaseUnavailable(self.id, _one_line(ex)) from None
        self.stats["connects"] += 1
        return conn

    def _take_idle(self) -> Optional[TrioConnection]:
        while self._idle:
            conn = self._idle.pop()  # LIFO: the most recently used connection is the warmest
            if not conn.closed and not _ready_now(conn.pgconn.socket, _WAIT_R):
                return conn
            # Readable while idle: the server closed it or sent a FATAL (admin shutdown). Drop it.
            self._discard(conn)
        return None

    def _discard(self, conn: TrioConnection) -> None:
        self.stats["discards"] += 1
        if not conn.closed:
            try:
                trio.lowlevel.notify_closing(conn.pgconn.socket)
            except Exception:
                pass
            conn.pgconn.finish()

    def _release(self, conn: TrioConnection) -> None:
        if self._closed or conn.closed or conn.pgconn.transaction_status != _IDLE:
            self._discard(conn)
        else:
            self._idle.append(conn)

    def check_idle(self) -> None:
        """Drop idle connections whose socket shows the server went away (after a lost connection)."""
        keep = []
        for conn in self._idle:
            if conn.closed or _ready_now(conn.pgconn.socket, _WAIT_R):
                self._discard(conn)
            else:
                keep.append(conn)
        self._idle = keep

    def connection(self) -> "_Lease":
        """``async with db.connection() as conn``: a pooled autocommit connection for the duration of the block
        (waits while ``pool_max`` are busy).

        The caller bounds the wait and the work with its own cancel scope. Raises DatabaseUnavailable when a
        new connection cannot be opened."""
        return _Lease(self)

    async def acquire(self) -> TrioConnection:
        """A connection from the pool (see ``connection()``); give it back with ``release(conn, error)``."""
        if self._closed:
            raise DatabaseUnavailable(self.id, "pool is closed")
        try:
            self._slots.acquire_nowait()  # no checkpoint when a slot is free (the statement will wait on I/O)
        except trio.WouldBlock:
            await self._slots.acquire()
        try:
            conn = self._take_idle()
            if conn is None:
                conn = await self._connect()
        except BaseException:
            self._slots.release()
            raise
        return conn

    def release(self, conn: TrioConnection, error: Optional[BaseException] = None) -> None:
        """Give back a connection from ``acquire``; ``error`` is what ended its use, if anything did."""
        try:
            if error is not None and _connection_lost(error, conn):
                self.check_idle()
            self._release(conn)
        finally:
            self._slots.release()

    # -- statements
    async def run(self, query: bytes, params: tuple, order: bytes = b"", batch: bool = True,
                  merge: Optional["Merge"] = None) -> Any:
        """Run one statement in a transaction of its own (or of its batch); rows (list of tuples) if it returns
        rows, else its rowcount.

        With batching on, statements submitted concurrently by several tasks are sent together in one pipeline
        on one connection, sorted by ``order`` (the key they lock: a consistent lock order keeps concurrent
        batches from deadlocking each other). They then run in one transaction: a statement whose result was
        returned is committed. Any order of a batch is a valid linearization because all its statements were in
        flight at the same time.

        Writes (every statement not starting with ``SELECT``) follow a two-step protocol so that an error means
        "not applied": ``BEGIN`` + the statements travel in one pipeline, and ``COMMIT`` is sent only once all
        their results are back, within the deadline, as a second round trip. A batch that fails or times out
        before its COMMIT was sent is never committed: its connection is closed (the server rolls back an open
        transaction when its client goes away, however late it reads what we sent) or rolled back. Only a
        connection lost or a deadline passed while the COMMIT itself is in flight leaves the outcome unknown:
        the writes of that batch then fail with :class:`OutcomeUnknown` (its reads with DatabaseUnavailable).
        Reads-only batches take one round trip, as before.

        Timeout: the statement fails with DatabaseUnavailable at most ``command_timeout`` seconds after the
        call, without a cancel scope per statement (one costs ~20 us in trio, as much as the statement itself):
        a statement still queued at its deadline is failed unsent, and each batch is cancelled at the deadline
        of its oldest statement. The caller can still cancel its own wait at any time.

        Error handling: a lost connection or a timeout fails every statement of the batch: with
        DatabaseUnavailable (nothing applied) before the COMMIT was sent, with OutcomeUnknown (writes) after. A
        batch is bounded by the deadline of its oldest statement, so a timeout never answers one caller wrongly
        for another: every statement of the batch gets the batch's true state. Any other error (a deadlock with
        a user transaction, a bad statement) rolls the batch back and runs it again one statement at a time, so
        each caller gets its own result.
        ``batch=False`` (bulk statements that would hold up a batch) runs it alone on a pooled connection.

        ``merge``: a ``Merge`` saying how this statement and others of its kind in the same batch run as one
        statement (one index scan / one multi-row upsert and one result instead of one per key).
        """
        writes = not query.startswith(b"SELECT")
        if not (batch and self.batching):
            return (await self._run_on_pool([(query, params)], writes,
                                            trio.current_time() + self.command_timeout))[0]
        op = _Op(query, params, order, trio.current_time() + self.command_timeout, merge, writes)
        self._queue.append(op)
        if self._leaders < self.batch_leaders:
            self._leaders += 1
            op.leader = True
        while True:
            if op.leader:
                op.leader = False
                await self._lead(op)
            if op.state == _DONE:
                if op.error is not None:
                    raise op.error
                return op.result
            op.event = trio.Event()
            try:
                await op.event.wait()
            except BaseException:
                # Cancelled while queued or in flight (its result is then dropped).
                if op.state == _PENDING:
                    self._queue.remove(op)
                    op.state = _CANCELLED
                if op.leader:  # leadership was handed to us as we were cancelled: pass it on
                    op.leader = False
                    self._hand_off()
                raise

    def _hand_off(self) -> None:
        """Give leadership to the owner of the oldest queued statement, or give it up when nothing is queued."""
        if self._queue:
            nxt = self._queue[0]
            nxt.leader = True
            nxt.event.set()
        else:
            self._leaders -= 1

    async def _lead(self, mine: _Op) -> None:
        """Send queued statements in batches until our own is done, then hand leadership on."""
        try:
            while mine.state != _DONE:
                batch = self._queue[: self.max_batch]
                if not batch:
                    break  # ours is in another leader's batch
                del self._queue[: self.max_batch]
                now = trio.current_time()
                live = []
                for op in batch:
                    if op.deadline <= now:  # waited too long in the queue: fail it unsent
                        op.error = DatabaseUnavailable(self.id, "no connection free within %gs"
                                                       % self.command_timeout)
                        op.state = _DONE
                        op.event.set()
                    else:
                        op.state = _INFLIGHT
                        live.append(op)
                if live:
                    await self._flush(live, mine)
        finally:
            self._hand_off()

    async def _flush(self, batch: list[_Op], mine: _Op) -> None:
        """Run one batch and hand every statement its result or error."""
        self.stats["ops"] += len(batch)
        self.stats["batches"] += 1
        if len(batch) == 1 and batch[0] is mine:
            # Only the leader's own statement: its caller may cancel it (no shield, one scope).
            try:
                mine.result = (await self._run_batch(batch))[0]
            except Exception as ex:
                mine.error = _unavailable(self.id, ex) if _connection_lost(ex, None) else ex
            mine.state = _DONE
            return
        # Other tasks' statements: the leader's own cancellation must not abort them (each batch is bounded by
        # its deadline instead).
        with trio.CancelScope(shield=True):
            await self._flush_shielded(batch)

    async def _flush_shielded(self, batch: list[_Op]) -> None:
        batch.sort(key=_order)
        try:
            results = await self._run_merged(batch)
        except Exception as ex:
            if _connection_lost(ex, None):
                err = _unavailable(self.id, ex)
                if isinstance(err, OutcomeUnknown):  # reads were not what was unsure
                    read_err = DatabaseUnavailable(self.id, "connection lost or timed out")
                    results = [err if op.writes else read_err for op in batch]
                else:
                    results = [err] * len(batch)
            else:
                # The batch's transaction was rolled back: rerun each statement alone.
                results = []
                for op in batch:
                    try:
                        results.append(await self._run_batch([op]))
                    except Exception as ex1:
                        results.append(_unavailable(self.id, ex1) if _connection_lost(ex1, None) else ex1)
                results = [r[0] if isinstance(r, list) else r for r in results]
        for op, res in zip(batch, results):
            if isinstance(res, BaseException):
                op.error = res
            else:
                op.result = res
            op.state = _DONE
            op.event.set()

    async def _run_merged(self, batch: list[_Op]) -> list:
        """``_run_batch`` with the statements of each ``Merge`` kind run as one statement (see ``Merge``)."""
        groups: dict = {}
        plain = 0
        for op in batch:
            if op.merge is None:
                plain += 1
            else:
                groups.setdefault(op.merge, []).append(op)
        if not groups:
            return await self._run_batch(batch)
        write_kinds = sum(1 for m in groups if m.writes)
        slots: list = []  # per statement: an op, or the ops of a merged group
        stmts: list = []
        merged: set = set()
        for op in batch:
            m = op.merge
            group = groups.get(m) if m is not None else None
            if group is None or len(group) < 2 or (m.writes and (plain or write_kinds > 1)):
                # a write group beside other writes stays statement by statement (ascending lock order)
                slots.append(op)
                stmts.append((op.query, op.params))
            elif m not in merged:
                merged.add(m)
                if m.writes:
                    latest = {o.params[0]: o for o in group}  # sorted by key; a later write of a key wins
                    params = (list(latest), [o.params[1] for o in latest.values()],
                              [o.params[2] for o in latest.values()])
                else:
                    params = (list({o.params[0]: None for o in group}), max(o.params[1] for o in group))
                slots.append(group)
                stmts.append((m.multi, params))
        if not merged:
            return await self._run_batch(batch)
        results = await self._run_batch(batch, stmts)
        by_op = {}
        for slot, res in zip(slots, results):
            if type(slot) is not list:
                by_op[id(slot)] = res
            elif slot[0].merge.writes:
                for op in slot:
                    by_op[id(op)] = 1
            else:
                found = {row[0]: row[1:] for row in res}
                for op in slot:
                    row = found.get(op.params[0])
                    by_op[id(op)] = [row] if row is not None else []
        return [by_op[id(op)] for op in batch]

    async def _run_batch(self, batch: list[_Op], stmts: Optional[list] = None) -> list:
        writes = False
        for op in batch:
            if op.writes:
                writes = True
                break
        # the oldest statement's deadline bounds the batch
        return await self._run_on_pool(stmts or [(op.query, op.params) for op in batch], writes,
                                       min(op.deadline for op in batch))

    async def _run_on_pool(self, stmts: list, writes: bool, deadline: float) -> list:
        """Run statements on a pooled connection by ``deadline``; with ``writes``, in the two steps described in
        ``run`` (BEGIN + statements, then COMMIT once their results are back). Raises DatabaseUnavailable
        (nothing applied), OutcomeUnknown (lost during COMMIT) or the statements' own error (rolled back)."""
        committing = False
        with trio.CancelScope(deadline=deadline):
            conn = await self.acquire()
            try:
                if not writes:
                    result = await run_statements(conn, stmts)
                else:
                    result = await run_statements(conn, [(_BEGIN, ())] + stmts)
                    committing = True  # from here on, the COMMIT may reach the server
                    await run_statements(conn, [(_COMMIT, ())])
                    del result[0]
            except BaseException as ex:
                try:
                    if (writes and not committing and isinstance(ex, psycopg.Error) and not conn.closed
                            and conn.pgconn.transaction_status == _INERROR):
                        # a statement failed: roll back, so the connection goes back to the pool clean
                        await run_statements(conn, [(_ROLLBACK, ())])
                except Exception:
                    pass  # not idle: the pool discards it, and PostgreSQL rolls back on disconnect
                finally:
                    self.release(conn, ex)
                if committing and isinstance(ex, Exception) and _connection_lost(ex, conn):
                    raise OutcomeUnknown(self.id, "connection lost during COMMIT (%s): outcome unknown"
                                         % _one_line(ex)) from None
                raise
            self.release(conn)
            return result
        if committing:
            raise OutcomeUnknown(self.id, "no reply to COMMIT within %gs: outcome unknown" % self.command_timeout)
        raise DatabaseUnavailable(self.id, "no reply within %gs" % self.command_timeout)


class Merge:
    """How statements of one kind from a batch run as one statement (``PgDatabase.run(merge=...)``).

    ``reads``: ``query`` takes ``(key, now)``; ``multi`` takes ``(keys array, now)`` and returns ``(key, <the
    columns of query>)`` rows. The group runs with its latest ``now`` (an instant within every call's
    lifetime: still linearizable).
    ``writes`` (upserts): ``query`` takes ``(key, value, expires)``; ``multi`` takes the three as arrays. Merged
    only when the batch holds no other write (so rows are still locked in ascending key order); for a key
    written twice in a batch the later write wins, as if both ran in submission order.
    """

    __slots__ = ("multi", "writes")

    def __init__(self, multi: bytes, writes: bool = False):
        self.multi = multi
        self.writes = writes


class _Lease:
    """``async with db.connection()`` (a class: cheaper than an async generator context manager)."""

    __slots__ = ("db", "conn")

    def __init__(self, db: PgDatabase):
        self.db = db
        self.conn: Optional[TrioConnection] = None

    async def __aenter__(self) -> TrioConnection:
        self.conn = await self.db.acquire()
        return self.conn

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        self.db.release(self.conn, exc)
        return False


def _order(op: _Op) -> bytes:
    return op.order


def _unavailable(db_id: str, ex: BaseException) -> BaseException:
    if isinstance(ex, DatabaseUnavailable):
        return ex
    if isinstance(ex, (trio.TooSlowError, pg_errors._WaitTimeout)):
        return DatabaseUnavailable(db_id, "timed out")
    return DatabaseUnavailable(db_id, _one_line(ex))


def _one_line(ex: BaseException) -> str:
    text = str(ex).strip().splitlines()
    return text[0] if text else type(ex).__name__
