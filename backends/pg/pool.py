"""One configured PostgreSQL database: a bounded pool of connections and a statement batcher (:class:`PgDatabase`).

The batcher coalesces single statements issued concurrently by many trio tasks into one pipeline on one
connection (one network round trip and one commit for the whole batch; writes take a second round trip for the
COMMIT, sent only once the statements' results are back, so that a failed or timed-out write was never applied).
It also merges statements of one kind within a batch (:class:`Merge`): the GETs of a batch become one select
that probes the primary key once per key, and a batch of plain SETs one multi-row upsert.
What batching and merging gain is measured by ``bench/sql_ceiling.py`` (bench/README.md, "Measured facts").
"""
from __future__ import annotations

from typing import Any, Optional

import psycopg
import trio

from backends.pg.connection import TrioConnection, transaction_failed, transaction_open, went_away
from backends.pg.errors import DatabaseUnavailable, OutcomeUnknown, connection_lost, one_line, unavailable
from backends.pg.pipeline import BEGIN, COMMIT, ROLLBACK, run_statements

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
                 batching: bool = True):
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
        self.batching = batching
        self.max_batch = max(1, max_batch)
        self.batch_leaders = max(1, batch_leaders if batch_leaders is not None else pool_max // 2)
        self._idle: list[TrioConnection] = []
        self._slots = trio.Semaphore(pool_max)
        self._users = 0
        self._closed = True
        self._queue: list[_Op] = []
        self._leaders = 0
        #: Counters for tests: statements batched, batches sent, connections opened/discarded.
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
            conn = await TrioConnection.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout)
        except trio.TooSlowError:
            raise DatabaseUnavailable(self.id, "connection timed out after %gs" % self.connect_timeout) from None
        except (psycopg.Error, OSError) as ex:
            raise DatabaseUnavailable(self.id, one_line(ex)) from None
        self.stats["connects"] += 1
        return conn

    def _take_idle(self) -> Optional[TrioConnection]:
        while self._idle:
            conn = self._idle.pop()  # LIFO: the most recently used connection is the warmest
            if not went_away(conn):
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
        if self._closed or conn.closed or transaction_open(conn):
            self._discard(conn)
        else:
            self._idle.append(conn)

    def check_idle(self) -> None:
        """Drop idle connections whose socket shows the server went away (after a lost connection)."""
        keep = []
        for conn in self._idle:
            if went_away(conn):
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
            if error is not None and connection_lost(error, conn):
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
        Read-only batches take one round trip.

        Timeout: the statement fails with DatabaseUnavailable at most ``command_timeout`` seconds after the
        call, without a cancel scope per statement (a trio cancel scope costs about as much as the statement itself):
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
                mine.error = unavailable(self.id, ex) if connection_lost(ex, None) else ex
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
            if connection_lost(ex, None):
                err = unavailable(self.id, ex)
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
                        results.append(unavailable(self.id, ex1) if connection_lost(ex1, None) else ex1)
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
                    result = await run_statements(conn, [(BEGIN, ())] + stmts)
                    committing = True  # from here on, the COMMIT may reach the server
                    await run_statements(conn, [(COMMIT, ())])
                    del result[0]
            except BaseException as ex:
                try:
                    if (writes and not committing and isinstance(ex, psycopg.Error) and not conn.closed
                            and transaction_failed(conn)):
                        # a statement failed: roll back, so the connection goes back to the pool clean
                        await run_statements(conn, [(ROLLBACK, ())])
                except Exception:
                    pass  # not idle: the pool discards it, and PostgreSQL rolls back on disconnect
                finally:
                    self.release(conn, ex)
                if committing and isinstance(ex, Exception) and connection_lost(ex, conn):
                    raise OutcomeUnknown(self.id, "connection lost during COMMIT (%s): outcome unknown"
                                         % one_line(ex)) from None
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
