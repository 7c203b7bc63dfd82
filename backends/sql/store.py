"""``SQLStore``: a store kept in one PostgreSQL table (the contracts: ``backends.sql``).

This module builds the store and runs its lifecycle (start, cleanup of expired rows, close); the operations are
in ``reads``, ``writes`` and ``collections``, which use these attributes of the store:

- ``q``: the table's ``Statements``; ``key_column``: its ``KeyColumn``, and ``_k`` its ``param`` (a key as an
  SQL parameter, or ``InvalidKey``);
- ``_one`` and ``_session``: ``Runner.one`` and ``Runner.session`` (how statements run);
- ``_cursors``: the store's SCAN ``Cursors``; ``id``, ``max_size`` and ``watches`` from ``backends.base.Store``.
"""
from __future__ import annotations

import trio

from backends.base import Store, StoreError, StoreUnavailable, now_ms
from backends.pg.dsn import database_where
from backends.pg.errors import DATABASE_ERRORS, DatabaseUnavailable
from backends.pg.pipeline import execute
from backends.pg.pool import PgDatabase
from backends.sql import schema
from backends.sql.collections import MAX_VALUE_SIZE, Collections
from backends.sql.cursors import Cursors
from backends.sql.errors import Health, SQLStoreUnavailable
from backends.sql.keys import KeyColumn
from backends.sql.reads import Reads
from backends.sql.statements import Statements, Table
from backends.sql.transactions import Runner
from backends.sql.writes import Writes

#: Rows deleted per cleanup statement.
CLEANUP_BATCH = 1000


class SQLStore(Reads, Writes, Collections, Store):
    """A store kept in one PostgreSQL table (see ``backends.sql`` for the contracts).

    Args:
        store_id: the store's id (errors name it).
        database: the ``PgDatabase`` (pool) to use; several stores may share one.
        table_name: table, optionally ``schema.table``.
        id_column_name, payload_column_name, expire_column_name: the three columns.
        cleanup_interval: seconds between background deletions of expired rows (0: no cleanup task).
        max_size: most keys (0: unlimited).
        create_table: create the table and its expiry index at ``start()`` when it does not exist.
        max_value_size: the largest encoded size of a hash or set (bytes): a command that would write a larger one
            fails with ``ValueTooLarge`` (each change rewrites the whole value: this bounds its cost).

    Raises ``ValueError("invalid identifier ...")`` for a table or column name outside
    ``[A-Za-z_][A-Za-z0-9_]{0,62}`` (the table may be ``schema.table``).
    """

    is_async = True
    kind = "store.sql"

    def __init__(self, store_id: str, database: PgDatabase, table_name: str, id_column_name: str = "key",
                 payload_column_name: str = "value", expire_column_name: str = "expires_at",
                 cleanup_interval: float = 0.0, max_size: int = 0, create_table: bool = False,
                 max_value_size: int = MAX_VALUE_SIZE):
        super().__init__(store_id, max_size)
        self.db = database
        self.table_name = table_name
        self.table = Table(table_name, id_column_name, payload_column_name, expire_column_name)
        if cleanup_interval < 0:
            raise ValueError("cleanup_interval must be >= 0")
        if max_size < 0:
            raise ValueError("max_size must be >= 0")
        if max_value_size < 1:
            raise ValueError("max_value_size must be >= 1")
        self.max_value_size = int(max_value_size)
        self.cleanup_interval = float(cleanup_interval)
        self.create_table = bool(create_table)
        self._started = False
        self.table_oid = 0             # the table's oid, read at start (wake-ups of blocked clients name it)
        self._cursors = Cursors()
        self._run = Runner(store_id, database, Health(store_id, database_where(database.dsn)))
        self._one = self._run.one
        self._session = self._run.session
        # VARCHAR(255) until start() has read the table's real key column
        self._use(KeyColumn(store_id))

    def _use(self, key_column: KeyColumn) -> None:
        self.key_column = key_column
        self._k = key_column.param
        self.q = Statements(self.table, key_column.bytea)

    # ------------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the pool, create the table when asked, check the table and its columns.

        Raises StoreUnavailable when PostgreSQL cannot be reached and SchemaError (naming the store, table and
        column) when the table or a column is missing or unusable."""
        if self._started:
            return
        try:
            await self.db.start()
        except DatabaseUnavailable as ex:
            raise SQLStoreUnavailable(self.id, ex.reason, ex.detail) from None
        try:
            with trio.fail_after(max(self.db.command_timeout, self.db.connect_timeout) * 2):
                async with self.db.connection() as conn:
                    key_column = await schema.prepare(conn, self.id, self.table, self.create_table)
                    # the table as notifications name it (backends.pg.listen): the same on every node
                    self.table_oid = (await execute(conn, b"SELECT to_regclass(%s)::oid::bigint",
                                                    (self.table.regclass(),)))[0][0]
        except StoreError:
            await self.db.aclose()
            raise
        except DATABASE_ERRORS as ex:
            await self.db.aclose()
            raise self._run.unavailable(ex) from None
        self._use(key_column)
        self._started = True

    async def run_cleanup(self) -> None:
        """Every ``cleanup_interval`` seconds delete expired rows (returns at once when the interval is 0).
        Failures (PostgreSQL down) are skipped until the next round."""
        if self.cleanup_interval <= 0:
            return
        while True:
            await trio.sleep(self.cleanup_interval)
            try:
                await self.cleanup_once()
            except StoreUnavailable:
                pass

    async def cleanup_once(self, batch: int = CLEANUP_BATCH) -> int:
        """Delete every expired row, ``batch`` rows per statement, yielding between statements; how many. With
        ``on_expired`` set, each deleted key is reported to it, and with keys watched or observed (client tracking,
        the bus between nodes) each is touched (the statement returns the keys)."""
        health = self._run.health
        total = 0
        while True:
            now = now_ms()
            try:
                with trio.fail_after(self.db.command_timeout):
                    async with self.db.connection() as conn:
                        if self.on_expired is None and not self.watches.observers and not self.watches.keys:
                            n = await execute(conn, self.q.cleanup, (now, batch, now))
                            keys = ()
                        else:  # expired-key notifications: the keys removed, each reported once by this node
                            keys = await execute(conn, self.q.cleanup_keys, (now, batch, now))
                            if not isinstance(keys, list):
                                keys = ()
                            n = len(keys)
            except DATABASE_ERRORS as ex:
                raise self._run.unavailable(ex) from None
            if keys:
                report = self.on_expired
                touch = self.watches.touch  # a removed key is a write: WATCH, client tracking, the other nodes
                for (k,) in keys:
                    key = KeyColumn.key(k)
                    touch(key)
                    if report is not None:
                        report(key)
            if health.down:
                health.ok()
            total += n
            if n < batch:
                return total
            await trio.sleep(0)

    async def aclose(self) -> None:
        """Release the database (its pool closes when no started store uses it any more)."""
        if self._started:
            self._started = False
            await self.db.aclose()

    def transaction(self):
        """An async context manager: inside it every operation of this store in the current task runs on one
        connection in one SQL transaction, committed at exit (StoreUnavailable if the commit fails) and rolled
        back when the block raises. Nested use joins the outer transaction; so do tasks spawned inside the block
        (trio copies the context), sharing its connection one statement at a time."""
        return self._run.transaction()

    async def lock_keys(self, keys: list[bytes]) -> None:
        """Inside ``transaction()``: hold ``keys`` until it ends (an EVAL script's KEYS). Every key gets an advisory
        lock (so scripts on the same keys of this table serialise across nodes), taken in one order (no deadlock
        between two scripts); then each key's row is held as RENAME holds its destination: a live row locked, a
        missing key given an expired row (no reader sees it; the cleanup removes it) that is locked, so single
        commands of other nodes that would write or create the key wait for the script too."""
        if not keys:
            return
        params = sorted({self._k(k) for k in keys})
        await self._one(self.q.lock_advisory, (params,))
        await self._one(self.q.hold_rows, (params,))
