"""How a SQL store runs its statements: :class:`Runner`.

Three ways, all bounded by the database's ``command_timeout`` and all turning database failures into
``SQLStoreUnavailable`` (``Runner.unavailable``):

- ``one``: a single statement, in the current task's user transaction if any, else through the database's
  batcher (``PgDatabase.run``);
- ``session``: an operation that needs several statements runs ``body(session)`` as one transaction of its own
  (``Session``: BEGIN travels with the first statement, COMMIT with the last), or inside the user's transaction;
- ``transaction``: MULTI/EXEC pins one connection to the current task (a ContextVar) and commits at the end.

Errors mean "not applied" unless the reason says "outcome unknown": a COMMIT is sent only once every statement's
result is back, and only a connection lost or a deadline passed while the COMMIT is in flight leaves the outcome
unknown.
"""
from __future__ import annotations

import contextvars
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Callable, Optional

import trio
from psycopg import errors as pg_errors

from backends.base import StoreUnavailable
from backends.pg.connection import TrioConnection, transaction_failed, transaction_open
from backends.pg.errors import (DATABASE_ERRORS, DatabaseUnavailable, OutcomeUnknown, connection_lost, is_timeout,
                                one_line, public_reason)
from backends.pg.pipeline import BEGIN, COMMIT, ROLLBACK, execute, run_statements
from backends.pg.pool import Merge, PgDatabase
from backends.sql.errors import Health, SQLStoreUnavailable

#: Attempts for a store transaction that PostgreSQL aborted (deadlock, serialization failure).
TX_ATTEMPTS = 3

_RELEASE_SAVEPOINT = b"RELEASE SAVEPOINT respd_op"
_UNDO_SAVEPOINT = [(b"ROLLBACK TO SAVEPOINT respd_op", ()), (_RELEASE_SAVEPOINT, ())]


class Abort(Exception):
    """Raised inside a store transaction to roll it back and return ``value``."""

    def __init__(self, value: Any):
        self.value = value


class Retry(Exception):
    """A conditional insert lost a race: run the store transaction again."""


class _TxState:
    """The current task's transaction on a store. ``conn`` is None once the block has exited: a task spawned
    inside the block inherits the context (trio copies it) and must not use the connection after it went back to
    the pool."""

    __slots__ = ("conn",)

    def __init__(self, conn: TrioConnection):
        self.conn: Optional[TrioConnection] = conn


class Session:
    """The statements of one store operation that needs several of them.

    ``own`` sessions run their own transaction: BEGIN travels with the first statement and COMMIT with the last
    (``finish``), in one pipeline each, so a locked read-modify-write costs two round trips. The first round
    trip (BEGIN + a locking read) commits nothing: when it fails or times out the operation was not applied.
    From the moment a COMMIT may have been sent, ``committing`` is True: a lost connection or a timeout then
    leaves the outcome unknown, and the error says so. Sessions inside a user transaction
    (``SQLStore.transaction``) just run statements on its connection."""

    __slots__ = ("conn", "own", "begun", "done", "committing")

    def __init__(self, conn: TrioConnection, own: bool):
        self.conn = conn
        self.own = own
        self.begun = not own
        self.done = False
        self.committing = False

    async def run(self, query: bytes, params: tuple) -> Any:
        """Run one statement (the first of an own transaction carries the BEGIN); its rows or rowcount."""
        if not self.begun:
            self.begun = True
            return (await run_statements(self.conn, [(BEGIN, ()), (query, params)]))[1]
        return await execute(self.conn, query, params)

    async def finish(self, *stmts: tuple) -> list:
        """Run the last statements and commit, in one round trip; their results."""
        if self.own and self.begun:
            self.done = True
            self.committing = True
            res = (await run_statements(self.conn, list(stmts) + [(COMMIT, ())]))[:-1]
            self.committing = False
            return res
        if not self.begun:  # nothing read yet: the statements are the whole transaction; COMMIT once they ran
            self.begun = True
            res = (await run_statements(self.conn, [(BEGIN, ())] + list(stmts)))[1:]
            await self.commit()
            return res
        if len(stmts) == 1:
            return [await execute(self.conn, *stmts[0])]
        return await run_statements(self.conn, list(stmts))

    async def commit(self) -> None:
        """COMMIT an own transaction that is still open."""
        self.done = True
        self.committing = True
        await execute(self.conn, COMMIT, ())
        self.committing = False

    def restart(self) -> None:
        """After ``finish`` committed: the next statement begins a new transaction."""
        if self.own:
            self.begun = False
            self.done = False


class Runner:
    """Runs the statements of store ``store_id`` on ``db``; ``health`` logs when the database stops answering."""

    def __init__(self, store_id: str, db: PgDatabase, health: Health):
        self.store_id = store_id
        self.db = db
        self.health = health
        # The connection of the current task's transaction on this store (trio tasks have their own context).
        self._tx: contextvars.ContextVar[Optional[_TxState]] = contextvars.ContextVar(
            "respd_sql_tx_" + store_id, default=None)

    def tx_conn(self) -> Optional[TrioConnection]:
        """The connection of the transaction the current task is in, if any."""
        state = self._tx.get()
        return state.conn if state is not None else None

    def unavailable(self, ex: BaseException, unknown: bool = False) -> StoreUnavailable:
        """The StoreUnavailable for a failure (logged when the database stopped answering). ``unknown``: a
        COMMIT was in flight, so the reason says "outcome unknown"."""
        if isinstance(ex, DatabaseUnavailable):
            reason, detail = ex.reason, ex.detail
            unknown = unknown or isinstance(ex, OutcomeUnknown)
        elif is_timeout(ex):
            reason = detail = "no reply from PostgreSQL within %gs" % self.db.command_timeout
        else:
            detail = one_line(ex)
            reason = public_reason(detail)
        if unknown and "outcome unknown" not in reason:
            reason += " (while committing): outcome unknown"
            detail += " (while committing): outcome unknown"
        if connection_lost(ex, None):
            self.health.failed(detail)
        return SQLStoreUnavailable(self.store_id, reason, detail)

    async def one(self, query: bytes, params: tuple, order: bytes = b"", batch: bool = True,
                  merge: Optional[Merge] = None) -> Any:
        """One statement: in the current transaction if any, else through the database's batcher (or, with
        ``batch=False``, for bulk statements that would hold up a batch, on a connection of its own).
        ``merge``: see ``PgDatabase.run``."""
        conn = self.tx_conn()
        try:
            if conn is None:  # PgDatabase.run bounds the wait by command_timeout itself
                res = await self.db.run(query, params, order, batch, merge)
            else:
                with trio.fail_after(self.db.command_timeout):
                    res = await execute(conn, query, params)
        except DATABASE_ERRORS as ex:
            raise self.unavailable(ex) from None
        if self.health.down:
            self.health.ok()
        return res

    async def session(self, body: Callable, savepoint: bool = False) -> Any:
        """Run ``body(session)`` as one transaction (or inside the current one) and return its result.

        ``Abort(v)`` rolls back and returns v; ``Retry`` and PostgreSQL aborts (deadlock, serialization)
        start over (up to TX_ATTEMPTS). Inside a user transaction, ``savepoint`` makes ``Abort`` undo only
        this operation."""
        conn = self.tx_conn()
        s = None
        try:
            with trio.CancelScope(deadline=trio.current_time() + self.db.command_timeout):
                if conn is not None:
                    return await self._in_user_tx(conn, body, savepoint)
                attempt = 0
                while True:
                    attempt += 1
                    try:
                        async with self.db.connection() as c:
                            s = Session(c, own=True)
                            res = await self._own_tx(s, body)
                        if self.health.down:
                            self.health.ok()
                        return res
                    except pg_errors.TransactionRollback:  # rolled back for sure (even in COMMIT)
                        if attempt >= TX_ATTEMPTS:
                            raise
                        s = None
        except DATABASE_ERRORS as ex:
            raise self.unavailable(ex, s is not None and s.committing and connection_lost(ex, s.conn)) from None
        raise self.unavailable(trio.TooSlowError(), s is not None and s.committing)  # the deadline passed

    async def _own_tx(self, s: Session, body: Callable) -> Any:
        conn = s.conn
        try:
            while True:
                try:
                    result = await body(s)
                    break
                except Retry:
                    if s.begun and not s.done:
                        await execute(conn, ROLLBACK, ())
                    s.restart()
            if s.begun and not s.done:
                await s.commit()
            return result
        except Abort as ab:
            if s.begun and not s.done:
                await execute(conn, ROLLBACK, ())
            return ab.value
        except BaseException:
            # Leave nothing half done: roll back when the connection is still usable (if it is not, or we are
            # cancelled, the pool discards it and PostgreSQL rolls back on disconnect).
            if not conn.closed and transaction_open(conn):
                try:
                    await execute(conn, ROLLBACK, ())
                except BaseException:
                    pass
            raise

    async def _in_user_tx(self, conn: TrioConnection, body: Callable, savepoint: bool) -> Any:
        s = Session(conn, own=False)
        if not savepoint:
            while True:
                try:
                    return await body(s)
                except Abort as ab:  # nothing was written before the abort decision
                    return ab.value
                except Retry:
                    continue
        while True:
            await execute(conn, b"SAVEPOINT respd_op", ())
            try:
                result = await body(s)
            except (Abort, Retry) as ex:
                await run_statements(conn, _UNDO_SAVEPOINT)
                if isinstance(ex, Retry):
                    continue
                return ex.value
            except Exception:
                # Undo this operation only (this also rescues the user's transaction from an SQL error here).
                if not conn.closed:
                    try:
                        await run_statements(conn, _UNDO_SAVEPOINT)
                    except Exception:
                        pass
                raise
            await execute(conn, _RELEASE_SAVEPOINT, ())
            return result

    @asynccontextmanager
    async def transaction(self):
        """See ``SQLStore.transaction``."""
        if self.tx_conn() is not None:
            yield
            return
        async with AsyncExitStack() as stack:
            try:
                with trio.fail_after(self.db.command_timeout):
                    conn = await stack.enter_async_context(self.db.connection())
                    await execute(conn, BEGIN, ())
            except DATABASE_ERRORS as ex:
                raise self.unavailable(ex) from None
            state = _TxState(conn)
            token = self._tx.set(state)
            try:
                yield
            except BaseException:
                state.conn = None
                self._tx.reset(token)
                if not conn.closed and transaction_open(conn):
                    try:
                        with trio.move_on_after(self.db.command_timeout):
                            await execute(conn, ROLLBACK, ())
                    except BaseException:
                        pass  # the pool discards the connection; PostgreSQL rolls back on disconnect
                raise
            state.conn = None
            self._tx.reset(token)
            committing = False
            try:
                with trio.fail_after(self.db.command_timeout):
                    if conn.closed:  # a statement inside timed out: closed without COMMIT, so rolled back
                        raise SQLStoreUnavailable(self.store_id,
                                                  "connection lost during the transaction; rolled back")
                    if transaction_failed(conn):
                        # A statement failed inside: PostgreSQL would turn COMMIT into a silent ROLLBACK.
                        await execute(conn, ROLLBACK, ())
                        raise SQLStoreUnavailable(self.store_id,
                                                  "transaction aborted by an earlier error; rolled back")
                    committing = True
                    await execute(conn, COMMIT, ())
            except DATABASE_ERRORS as ex:
                raise self.unavailable(ex, committing and connection_lost(ex, conn)) from None
