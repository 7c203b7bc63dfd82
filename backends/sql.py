"""The PostgreSQL store: one table holds one store's keys.

Schema (names configurable; ``schema_ddl`` prints it)::

    key VARCHAR(255) PRIMARY KEY, value BYTEA NOT NULL, expires_at BIGINT
    + CREATE INDEX ... ON table (expires_at) WHERE expires_at IS NOT NULL

``value`` holds msgpack (``backends.codec``), ``expires_at`` an absolute Unix time in ms (NULL: no expiry). The key
column may be VARCHAR(n)/TEXT (keys must be UTF-8 without NUL, at most n characters: else ``InvalidKey`` before
any SQL) or BYTEA (any bytes).

Contracts kept by every method:

- *Expiry*: every statement takes ``now_ms()`` (respd's clock, faked in tests) as a parameter; rows with
  ``expires_at <= now`` are invisible (``expires_at IS NULL OR expires_at > now``) and writes treat them as absent.
  ``run_cleanup`` deletes them in the background.
- *Atomicity across processes*: two respd nodes may share a table. Each operation is one statement, or one
  transaction that row-locks what it reads (``SELECT ... FOR UPDATE``) before writing: no read-modify-write
  spans round trips without a lock. A missing row cannot be locked, so inserts that depend on absence use
  ``INSERT ... ON CONFLICT`` and start over when they lose the race. SET NX is a single
  ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <existing row expired>``: exactly one of racing NX writers wins,
  and NX over an expired row succeeds.
- *Lock order*: every writer locks rows in ascending key order (UTF-8 / byte order): batches are sorted by key,
  multi-row statements (MSET, DEL k...) take sorted keys and are never batched, RENAME locks both rows in order.
  A missing row cannot be locked: RENAME first inserts an expired (invisible) row for a dst that does not
  exist, in its turn. So store operations cannot deadlock each other; a deadlock with a user transaction
  (MULTI/EXEC writes keys in the client's order) is detected by PostgreSQL; batches then run statement by
  statement and store transactions start over (up to ``TX_ATTEMPTS`` times); a lone multi-row statement chosen
  as the victim fails with ``StoreUnavailable``.
- *Durability*: a write that returned is committed (COMMIT before returning).
- *Availability*: every operation is bounded by the database's ``command_timeout``; a database that is down,
  unreachable or too slow raises ``StoreUnavailable`` and the pool heals itself when it comes back. The first
  failure after success is logged (store, host and port; ``_Health``), and so is the first success after.
- *Errors mean "not applied"*: a write that raises ``StoreUnavailable`` was not applied -- its transaction's
  COMMIT is sent only once every statement's result is back (see ``PgDatabase.run``, ``_Session``) -- except
  when the reason says "outcome unknown": the connection was lost or the deadline passed while the COMMIT was in
  flight. Reasons never show the database's host or port (``pg_trio.public_reason``); the log does.
- *max_size* (0 = unlimited): a write that would create keys when ``count(live rows) + new keys > max_size``
  raises ``StoreFull`` with nothing written. The count and the write run in one transaction but without a
  table lock, so concurrent writers (or nodes) may overshoot the limit slightly: best effort by design (a
  table lock would serialize every insert).
- *Throughput*: single-statement operations outside a transaction go through ``PgDatabase.run``, which
  coalesces concurrent statements of many clients into one pipeline (see ``backends.pg_trio``), merging the
  GETs (and EXISTS, TTL, TYPE) of a batch into one select and the plain SETs of a write-only batch into one
  multi-row upsert. Statements are
  prepared on each connection at first use (named protocol-level prepared statements: behind PgBouncer in
  transaction mode this needs ``max_prepared_statements``).
- *Transactions*: ``transaction()`` pins one connection to the current task (a ContextVar) for MULTI/EXEC.

SCAN cursors: pages are keyset pagination in key order over the primary key index (``WHERE key > last ORDER BY
key LIMIT count``): inserts and deletes never shift positions, so a full iteration returns every key present
throughout, exactly once. A key cannot be packed into a 64-bit cursor, so the cursor returned for a page is a
number that maps to the page's last key in a per-process table (bounded LRU of ``SCAN_CURSORS`` entries,
numbers unique across stores). A cursor that is not in the table (evicted, issued by another respd process,
or before a restart) restarts the iteration from the beginning: the client sees some keys twice but still
sees every key, and the iteration still terminates.
"""
from __future__ import annotations

import contextvars
import itertools
import logging
import random
import re
import time
from collections import OrderedDict
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Callable, Optional

import psycopg
import trio
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg import sql

from backends import codec
from backends.base import (KEEP, CorruptValue, InvalidKey, NoSuchKey, Store, StoreError, StoreFull,
                           StoreUnavailable, WrongType, now_ms)
from backends.glob import compile_glob, literal_prefix
from backends.sql_names import validate_identifier
from backends import pg_trio
from backends.pg_trio import (DatabaseUnavailable, Merge, OutcomeUnknown, PgDatabase, TrioConnection, _exec,
                              public_reason, run_statements)

_log = logging.getLogger("respd.sql")
_IDLE = pq.TransactionStatus.IDLE
_INERROR = pq.TransactionStatus.INERROR

#: Most SCAN cursors remembered per process (LRU); older ones restart their iteration.
SCAN_CURSORS = 10_000
#: Largest SCAN COUNT honoured (rows examined per page).
SCAN_MAX_COUNT = 10_000
#: Rows deleted per cleanup statement.
CLEANUP_BATCH = 1000
#: Largest payload whose SET may be merged with other SETs of its batch into one multi-row upsert.
MERGE_MAX_VALUE = 16384
#: Attempts for a store transaction that PostgreSQL aborted (deadlock, serialization failure).
TX_ATTEMPTS = 3

# Cursor numbers are unique across stores so a cursor of one store is unknown (a restart) in another.
_cursor_numbers = itertools.count(random.randrange(1 << 20, 1 << 40))

# First bytes of msgpack objects that are not strings for Redis: fixmap, fixarray, nil, bool, ext, array/map
# 16/32. An empty payload or 0xc1 (never used) is corrupt: treated as a string so reading it reports
# CorruptValue. Used to refuse GETDEL/GETEX on non-strings inside the single statement.
_NON_STRING_TAGS = "192,194,195,199,200,201,212,213,214,215,216,220,221,222,223"


class SchemaError(StoreError):
    """The configured table or columns do not exist or have unusable types (raised by ``start()``)."""

    def __init__(self, store_id: str, reason: str):
        super().__init__(store_id, reason)
        self.store_id = store_id
        self.reason = reason

    def __str__(self) -> str:
        return "store %s: %s" % (self.store_id, self.reason)


class SQLStoreUnavailable(StoreUnavailable):
    """StoreUnavailable with a readable message (the server prints it when a store cannot start).

    ``reason`` goes to clients and never names the database's host or port; ``detail`` (the full text, for the
    log and for ``str()``) may. A reason containing "outcome unknown" means a write may or may not have been
    applied; any other reason means it was not."""

    def __init__(self, store_id: str, reason: str, detail: Optional[str] = None):
        super().__init__(store_id, reason)
        self.detail = detail or reason

    def __str__(self) -> str:
        return "store %s is unavailable: %s" % (self.store_id, self.detail)


#: Seconds between two log lines about one store's availability (transitions within it are counted instead).
HEALTH_LOG_INTERVAL = 10.0


class _Health:
    """Logs when a store's database stops answering and when it is back: one line per transition, at most one
    line per ``HEALTH_LOG_INTERVAL`` seconds while it stays down or flaps (what happened meanwhile is counted in
    the next line). Lines name the store and the database's host and port (which replies to clients never do)."""

    __slots__ = ("store_id", "where", "down", "since", "failures", "logged_at", "logged_down", "flaps")

    def __init__(self, store_id: str, where: str):
        self.store_id = store_id
        self.where = where
        self.down = False
        self.since = 0.0
        self.failures = 0
        self.logged_at = -1e18
        self.logged_down = False  # the current outage was announced (so its end is too)
        self.flaps = 0  # outages neither announced nor reported since the last line

    def failed(self, detail: str) -> None:
        now = time.monotonic()
        self.failures += 1
        if not self.down:
            self.down, self.since, self.logged_down = True, now, False
        if now - self.logged_at < HEALTH_LOG_INTERVAL:
            return
        if not self.logged_down:
            extra = " (%d short outages since the last line)" % self.flaps if self.flaps else ""
            _log.warning("store %s: PostgreSQL at %s unavailable: %s%s", self.store_id, self.where, detail, extra)
            self.logged_down, self.flaps = True, 0
        else:
            _log.warning("store %s: PostgreSQL at %s still unavailable after %.0fs (%d operations failed): %s",
                         self.store_id, self.where, now - self.since, self.failures, detail)
        self.logged_at = now

    def ok(self) -> None:
        now = time.monotonic()
        self.down = False
        if self.logged_down:
            _log.warning("store %s: PostgreSQL at %s back after %.1fs (%d operations failed)", self.store_id,
                         self.where, now - self.since, self.failures)
            self.logged_at = now
        else:
            self.flaps += 1
        self.logged_down = False
        self.failures = 0


class _TxState:
    """The current task's transaction on a store. ``conn`` is None once the block has exited: a task spawned
    inside the block inherits the context (trio copies it) and must not use the connection after it went back to
    the pool."""

    __slots__ = ("conn",)

    def __init__(self, conn: TrioConnection):
        self.conn: Optional[TrioConnection] = conn


class _Abort(Exception):
    """Raised inside a store transaction to roll it back and return ``value``."""

    def __init__(self, value: Any):
        self.value = value


class _Retry(Exception):
    """A conditional insert lost a race: run the store transaction again."""


def _check_ident(name: str, what: str, qualified: bool = False) -> sql.Identifier:
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        validate_identifier(name, allow_schema=qualified)
    except ValueError:
        raise ValueError("invalid identifier for %s: %r (letters, digits and _, not starting with a digit, "
                         "at most 63 characters%s)" % (what, name, "; schema.table allowed" if qualified else ""))
    return sql.Identifier(*name.split("."))


async def _pipe(conn: TrioConnection, stmts: list) -> list:
    """Several statements in one round trip (one pipeline); the result of each, as ``_exec`` gives."""
    return await run_statements(conn, stmts)


_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"
_ROLLBACK = b"ROLLBACK"


class _Session:
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

    async def q(self, query: bytes, params: tuple) -> Any:
        if not self.begun:
            self.begun = True
            return (await _pipe(self.conn, [(_BEGIN, ()), (query, params)]))[1]
        return await _exec(self.conn, query, params)

    async def finish(self, *stmts: tuple) -> list:
        """Run the last statements and commit, in one round trip; their results."""
        if self.own and self.begun:
            self.done = True
            self.committing = True
            res = (await _pipe(self.conn, list(stmts) + [(_COMMIT, ())]))[:-1]
            self.committing = False
            return res
        if not self.begun:  # nothing read yet: the statements are the whole transaction; COMMIT once they ran
            self.begun = True
            res = (await _pipe(self.conn, [(_BEGIN, ())] + list(stmts)))[1:]
            await self.commit()
            return res
        if len(stmts) == 1:
            return [await _exec(self.conn, *stmts[0])]
        return await _pipe(self.conn, list(stmts))

    async def commit(self) -> None:
        """COMMIT an own transaction that is still open."""
        self.done = True
        self.committing = True
        await _exec(self.conn, _COMMIT, ())
        self.committing = False

    def restart(self) -> None:
        """After ``finish`` committed: the next statement begins a new transaction."""
        if self.own:
            self.begun = False
            self.done = False


def _like_escape(prefix):
    esc = "\\" if isinstance(prefix, str) else b"\\"
    for ch in ("\\", "%", "_") if isinstance(prefix, str) else (b"\\", b"%", b"_"):
        prefix = prefix.replace(ch, esc + ch)
    return prefix + ("%" if isinstance(prefix, str) else b"%")


def _glob_prefix(pattern: bytes) -> bytes:
    """The literal bytes every key matching a Redis glob starts with."""
    return literal_prefix(pattern)  # a regex scan: a long pattern must not cost a Python loop per byte


class SQLStore(Store):
    """A store kept in one PostgreSQL table (see the module docstring for the contracts).

    Args:
        store_id: the store's id (errors name it).
        database: the ``PgDatabase`` (pool) to use; several stores may share one.
        table_name: table, optionally ``schema.table``.
        id_column_name, payload_column_name, expire_column_name: the three columns.
        cleanup_interval: seconds between background deletions of expired rows (0: no cleanup task).
        max_size: most keys (0: unlimited).
        create_table: create the table and its expiry index at ``start()`` when it does not exist.

    Raises ``ValueError("invalid identifier ...")`` for a table or column name outside
    ``[A-Za-z_][A-Za-z0-9_]{0,62}`` (the table may be ``schema.table``).
    """

    is_async = True
    kind = "store.sql"

    def __init__(self, store_id: str, database: PgDatabase, table_name: str, id_column_name: str = "key",
                 payload_column_name: str = "value", expire_column_name: str = "expires_at",
                 cleanup_interval: float = 0.0, max_size: int = 0, create_table: bool = False):
        super().__init__(store_id, max_size)
        self.db = database
        self.table_name = table_name
        self.id_column_name = id_column_name
        self.payload_column_name = payload_column_name
        self.expire_column_name = expire_column_name
        self._t = _check_ident(table_name, "table_name", qualified=True)
        self._kc = _check_ident(id_column_name, "id_column_name")
        self._vc = _check_ident(payload_column_name, "payload_column_name")
        self._ec = _check_ident(expire_column_name, "expire_column_name")
        if len({id_column_name, payload_column_name, expire_column_name}) != 3:
            raise ValueError("invalid identifier: id, payload and expire columns must be different")
        if cleanup_interval < 0:
            raise ValueError("cleanup_interval must be >= 0")
        if max_size < 0:
            raise ValueError("max_size must be >= 0")
        self.cleanup_interval = float(cleanup_interval)
        self.create_table = bool(create_table)
        #: "varchar", "text" or "bytea" (known after start(); VARCHAR(255) until then).
        self.key_type = "varchar"
        #: VARCHAR length limit in characters (None: unlimited).
        self.key_max: Optional[int] = 255
        self._bytea = False
        self._started = False
        self._cursors: OrderedDict[int, Any] = OrderedDict()
        self._health = _Health(store_id, pg_trio.database_where(database.dsn))
        # The connection of the current task's transaction on this store (trio tasks have their own context).
        self._tx: contextvars.ContextVar[Optional[_TxState]] = contextvars.ContextVar(
            "respd_sql_tx_" + store_id, default=None)
        self._build()

    # ------------------------------------------------------------------------------------------ statements
    def _build(self) -> None:
        """Compose every statement once (stable text: psycopg prepares it server-side after a few uses)."""
        f = dict(t=self._t, k=self._kc, v=self._vc, e=self._ec,
                 ka=sql.SQL("bytea" if self._bytea else "text"))
        live = "({e} IS NULL OR {e} > %s)"
        stringish = ("(CASE WHEN length({v}) = 0 THEN true ELSE NOT (get_byte({v}, 0) BETWEEN 128 AND 159 "
                     "OR get_byte({v}, 0) IN (" + _NON_STRING_TAGS + ")) END)")

        def q(text: str) -> bytes:
            return sql.SQL(text.replace("LIVE", live).replace("STRINGISH", stringish)).format(**f).as_bytes(None)

        ins = "INSERT INTO {t} AS t ({k}, {v}, {e}) "
        self.q_get = q("SELECT {v} FROM {t} WHERE {k} = %s AND LIVE")
        self.q_get_ve = q("SELECT {v}, {e} FROM {t} WHERE {k} = %s AND LIVE")
        self.q_exp = q("SELECT {e} FROM {t} WHERE {k} = %s AND LIVE")
        self.q_exists1 = q("SELECT 1 FROM {t} WHERE {k} = %s AND LIVE")
        # Many keys: one primary-key probe per key of the array (a LATERAL subquery with LIMIT is never turned into
        # a join), whatever the table's statistics say. "{k} = ANY(array)" let the planner pick a sequential scan
        # on a table autovacuum had not analyzed yet (a new store's first minute: reads 4x slower at 6,000 rows).
        # The probes run in array order, so FOR UPDATE locks rows in the caller's (ascending) order.
        def each(cols: str, tail: str = "AND LIVE LIMIT 1") -> str:
            return ("unnest(%s::{ka}[]) AS respd_keys(respd_key) CROSS JOIN LATERAL (SELECT " + cols +
                    " FROM {t} AS respd_t WHERE respd_t.{k} = respd_keys.respd_key " + tail + ") AS respd_row")

        self.q_mget = q("SELECT respd_row.* FROM " + each("{k}, {v}"))
        # Merged forms (PgDatabase.run(merge=...)): q_get / q_exp / q_exists1 for many keys, (key, <columns>)
        # rows; q_upsert for many rows.
        self.m_get = Merge(self.q_mget)
        self.m_exp = Merge(q("SELECT respd_row.* FROM " + each("{k}, {e}")))
        self.m_exists = Merge(q("SELECT respd_row.* FROM " + each("{k}, 1")))
        self.m_upsert = Merge(q("INSERT INTO {t} ({k}, {v}, {e}) SELECT * FROM unnest(%s::{ka}[], %s::bytea[], "
                                "%s::bigint[]) ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e}"),
                              writes=True)
        self.q_existsn = q("SELECT respd_row.* FROM " + each("{k}"))
        self.q_countn = q("SELECT count(*) FROM " + each("1"))
        self.q_lock1 = q("SELECT {v}, {e} FROM {t} WHERE {k} = %s FOR UPDATE")
        self.q_lockn = q("SELECT respd_row.* FROM " + each("{k}, {v}, {e}", "LIMIT 1 FOR UPDATE"))
        self.q_upsert = q(ins + "VALUES (%s, %s, %s) ON CONFLICT ({k}) DO UPDATE "
                          "SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e}")
        # KEEPTTL: keep a live row's TTL; an expired row counts as absent, so it gets none.
        self.q_upsert_keep = q(ins + "VALUES (%s, %s, NULL) ON CONFLICT ({k}) DO UPDATE "
                               "SET {v} = EXCLUDED.{v}, {e} = CASE WHEN t.{e} > %s THEN t.{e} END")
        # NX: insert, or take over a row only if it has expired; `t.e <= now` is false for NULL (live forever).
        # ON CONFLICT locks the existing row and re-checks the WHERE on its latest version: one winner.
        self.q_set_nx = q(ins + "VALUES (%s, %s, %s) ON CONFLICT ({k}) DO UPDATE "
                          "SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e} WHERE t.{e} <= %s RETURNING 1")
        self.q_set_xx = q("UPDATE {t} SET {v} = %s, {e} = %s WHERE {k} = %s AND LIVE RETURNING 1")
        self.q_set_xx_keep = q("UPDATE {t} SET {v} = %s WHERE {k} = %s AND LIVE RETURNING 1")
        self.q_insert_new = q(ins + "VALUES (%s, %s, %s) ON CONFLICT ({k}) DO NOTHING RETURNING 1")
        # RENAME's hold on dst: locks its row, or inserts one that is expired at once (no reader ever sees it) when
        # there is none. DO UPDATE ... WHERE false updates nothing but locks the existing row, atomically with
        # the check (a DO NOTHING then a lock would miss a row deleted in between).
        self.q_hold = q(ins + "VALUES (%s, ''::bytea, 0) ON CONFLICT ({k}) DO UPDATE SET {e} = t.{e} WHERE false")
        self.q_update_row = q("UPDATE {t} SET {v} = %s, {e} = %s WHERE {k} = %s")
        self.q_del1 = q("DELETE FROM {t} WHERE {k} = %s RETURNING LIVE")
        self.q_del1_live = q("DELETE FROM {t} WHERE {k} = %s AND LIVE RETURNING 1")
        # the rows are locked in the keys' order first (FOR UPDATE in each), then deleted by ctid (TID scan)
        self.q_deln = q("DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT respd_row.ctid FROM "
                        + each("ctid", "LIMIT 1 FOR UPDATE") + ")) RETURNING {k}, LIVE")
        self.q_getdel = q("DELETE FROM {t} WHERE {k} = %s AND LIVE AND STRINGISH RETURNING {v}")
        self.q_getex = q("UPDATE {t} SET {e} = %s WHERE {k} = %s AND LIVE AND STRINGISH RETURNING {v}")
        self.q_persist = q("UPDATE {t} SET {e} = NULL WHERE {k} = %s AND {e} > %s RETURNING 1")
        # EXPIRE conditions; no TTL counts as infinite: GT never applies to it, LT always does.
        conds = {None: ("true", False), "NX": ("{e} IS NULL", False), "XX": ("{e} IS NOT NULL", False),
                 "GT": ("{e} < %s", True), "LT": ("({e} IS NULL OR {e} > %s)", True)}
        self.q_expire = {c: (q("UPDATE {t} SET {e} = %s WHERE {k} = %s AND LIVE AND " + text + " RETURNING 1"),
                             q("DELETE FROM {t} WHERE {k} = %s AND LIVE AND " + text + " RETURNING 1"), uses_at)
                         for c, (text, uses_at) in conds.items()}
        unnest = "SELECT u.k, u.v, NULL FROM unnest(%s::{ka}[], %s::bytea[]) AS u(k, v) "
        self.q_mset = q(ins + unnest + "ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = NULL")
        self.q_msetnx = q(ins + unnest + "ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = NULL "
                          "WHERE t.{e} <= %s RETURNING 1")
        copy = (ins + "SELECT %s, s.{v}, s.{e} FROM {t} AS s WHERE s.{k} = %s AND (s.{e} IS NULL OR s.{e} > %s) "
                "ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e}")
        self.q_copy = q(copy + " RETURNING 1")
        self.q_copy_nx = q(copy + " WHERE t.{e} <= %s RETURNING 1")
        self.q_keys = q("SELECT {k} FROM {t} WHERE LIVE")
        self.q_keys_like = q("SELECT {k} FROM {t} WHERE LIVE AND {k} LIKE %s")
        self.q_scan0 = q("SELECT {k} FROM {t} WHERE LIVE ORDER BY {k} LIMIT %s")
        self.q_scan = q("SELECT {k} FROM {t} WHERE {k} > %s AND LIVE ORDER BY {k} LIMIT %s")
        self.q_scan0_v = q("SELECT {k}, {v} FROM {t} WHERE LIVE ORDER BY {k} LIMIT %s")
        self.q_scan_v = q("SELECT {k}, {v} FROM {t} WHERE {k} > %s AND LIVE ORDER BY {k} LIMIT %s")
        self.q_random = q("SELECT {k} FROM {t} WHERE LIVE OFFSET floor(random() * "
                          "(SELECT count(*) FROM {t} WHERE LIVE))::bigint LIMIT 1")
        self.q_first = q("SELECT {k} FROM {t} WHERE LIVE LIMIT 1")
        self.q_count = q("SELECT count(*) FROM {t} WHERE LIVE")
        self.q_stats = q("SELECT count(*), count({e}) FROM {t} WHERE LIVE")
        self.q_row_size = q("SELECT pg_column_size(t.*) FROM {t} AS t WHERE {k} = %s AND LIVE")
        self.q_flush = q("DELETE FROM {t}")
        # SKIP LOCKED: never wait for (or deadlock with) a writer that is reviving an expired row; the outer
        # condition is re-checked on the row's latest version.
        self.q_cleanup = q("DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE {e} <= %s "
                           "LIMIT %s FOR UPDATE SKIP LOCKED)) AND {e} <= %s")

    # ------------------------------------------------------------------------------------------ keys
    def _k(self, key: bytes):
        """The SQL parameter for a key; InvalidKey when the key column cannot hold it."""
        if self._bytea:
            return bytes(key)
        try:
            s = key.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidKey(self.id, "key is not valid UTF-8 (the key column is %s)" % self.key_type.upper()) \
                from None
        if "\x00" in s:
            raise InvalidKey(self.id, "key contains a NUL byte (the key column is %s)" % self.key_type.upper())
        if self.key_max is not None and len(s) > self.key_max:
            raise InvalidKey(self.id, "key is longer than %d characters (the key column is VARCHAR(%d))"
                             % (self.key_max, self.key_max))
        return s

    def _kb(self, k) -> bytes:
        """A key read from the table, as bytes."""
        return k.encode("utf-8") if isinstance(k, str) else bytes(k)

    # ------------------------------------------------------------------------------------------ running
    def _tx_conn(self) -> Optional[TrioConnection]:
        """The connection of the transaction the current task is in, if any."""
        state = self._tx.get()
        return state.conn if state is not None else None

    def _unavailable(self, ex: BaseException, unknown: bool = False) -> StoreUnavailable:
        """The StoreUnavailable for a failure (logged when the database stopped answering). ``unknown``: a
        COMMIT was in flight, so the reason says "outcome unknown"."""
        if isinstance(ex, DatabaseUnavailable):
            reason, detail = ex.reason, ex.detail
            unknown = unknown or isinstance(ex, OutcomeUnknown)
        elif isinstance(ex, (trio.TooSlowError, pg_errors._WaitTimeout)):
            reason = detail = "no reply from PostgreSQL within %gs" % self.db.command_timeout
        else:
            lines = str(ex).strip().splitlines()
            detail = lines[0] if lines else type(ex).__name__
            reason = public_reason(detail)
        if unknown and "outcome unknown" not in reason:
            reason += " (while committing): outcome unknown"
            detail += " (while committing): outcome unknown"
        if pg_trio._connection_lost(ex, None):
            self._health.failed(detail)
        return SQLStoreUnavailable(self.id, reason, detail)

    async def _one(self, query: bytes, params: tuple, order: bytes = b"", batch: bool = True,
                   merge: Optional[Merge] = None) -> Any:
        """One statement: in the current transaction if any, else through the database's batcher (or, with
        ``batch=False``, for bulk statements that would hold up a batch, on a connection of its own).
        ``merge``: see ``PgDatabase.run``."""
        conn = self._tx_conn()
        try:
            if conn is None:  # PgDatabase.run bounds the wait by command_timeout itself
                res = await self.db.run(query, params, order, batch, merge)
            else:
                with trio.fail_after(self.db.command_timeout):
                    res = await _exec(conn, query, params)
        except (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError) as ex:
            raise self._unavailable(ex) from None
        if self._health.down:
            self._health.ok()
        return res

    async def _session(self, body: Callable, savepoint: bool = False) -> Any:
        """Run ``body(session)`` as one transaction (or inside the current one) and return its result.

        ``_Abort(v)`` rolls back and returns v; ``_Retry`` and PostgreSQL aborts (deadlock, serialization)
        start over (up to TX_ATTEMPTS). Inside a user transaction, ``savepoint`` makes ``_Abort`` undo only
        this operation."""
        conn = self._tx_conn()
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
                            s = _Session(c, own=True)
                            res = await self._own_tx(s, body)
                        if self._health.down:
                            self._health.ok()
                        return res
                    except pg_errors.TransactionRollback:  # rolled back for sure (even in COMMIT)
                        if attempt >= TX_ATTEMPTS:
                            raise
                        s = None
        except (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError) as ex:
            raise self._unavailable(ex, s is not None and s.committing and pg_trio._connection_lost(ex, s.conn)) \
                from None
        raise self._unavailable(trio.TooSlowError(), s is not None and s.committing)  # the deadline passed

    async def _own_tx(self, s: _Session, body: Callable) -> Any:
        conn = s.conn
        try:
            while True:
                try:
                    result = await body(s)
                    break
                except _Retry:
                    if s.begun and not s.done:
                        await _exec(conn, _ROLLBACK, ())
                    s.restart()
            if s.begun and not s.done:
                await s.commit()
            return result
        except _Abort as ab:
            if s.begun and not s.done:
                await _exec(conn, _ROLLBACK, ())
            return ab.value
        except BaseException:
            # Leave nothing half done: roll back when the connection is still usable (if it is not, or we are
            # cancelled, the pool discards it and PostgreSQL rolls back on disconnect).
            if not conn.closed and conn.pgconn.transaction_status != _IDLE:
                try:
                    await _exec(conn, _ROLLBACK, ())
                except BaseException:
                    pass
            raise

    async def _in_user_tx(self, conn: TrioConnection, body: Callable, savepoint: bool) -> Any:
        s = _Session(conn, own=False)
        if not savepoint:
            while True:
                try:
                    return await body(s)
                except _Abort as ab:  # nothing was written before the abort decision
                    return ab.value
                except _Retry:
                    continue
        while True:
            await _exec(conn, b"SAVEPOINT respd_op", ())
            try:
                result = await body(s)
            except (_Abort, _Retry) as ex:
                await _pipe(conn, [(b"ROLLBACK TO SAVEPOINT respd_op", ()), (b"RELEASE SAVEPOINT respd_op", ())])
                if isinstance(ex, _Retry):
                    continue
                return ex.value
            except Exception:
                # Undo this operation only (this also rescues the user's transaction from an SQL error here).
                if not conn.closed:
                    try:
                        await _pipe(conn, [(b"ROLLBACK TO SAVEPOINT respd_op", ()),
                                           (b"RELEASE SAVEPOINT respd_op", ())])
                    except Exception:
                        pass
                raise
            await _exec(conn, b"RELEASE SAVEPOINT respd_op", ())
            return result

    async def _check_room(self, s: _Session, new_keys: int) -> None:
        """StoreFull when adding new_keys keys would pass max_size (best effort, see the module docstring)."""
        if self.max_size and new_keys > 0:
            n = (await s.q(self.q_count, (now_ms(),)))[0][0]
            if n + new_keys > self.max_size:
                raise StoreFull(self.id, self.max_size)

    def _decode(self, key: bytes, payload: bytes) -> bytes:
        return codec.decode(self.id, key, payload)

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
                    cols = await self._inspect(conn)
                    if cols is None and self.create_table:
                        try:
                            for stmt in _ddl(self):
                                await _exec(conn, stmt.as_bytes(None), ())
                        except (pg_errors.UniqueViolation, pg_errors.DuplicateTable, pg_errors.DuplicateObject):
                            pass  # another node created it at the same moment
                        cols = await self._inspect(conn)
                    self._check_schema(conn, cols)
                    if not await self._has_unique_key(conn):
                        raise SchemaError(self.id, 'table "%s": column "%s" has no PRIMARY KEY or UNIQUE index '
                                          "(needed for INSERT ... ON CONFLICT)" % (self.table_name, self.id_column_name))
        except StoreError:
            await self.db.aclose()
            raise
        except (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError) as ex:
            await self.db.aclose()
            raise self._unavailable(ex) from None
        self._build()
        self._started = True

    def _regclass(self) -> str:
        return self._t.as_string(None)

    async def _inspect(self, conn: TrioConnection) -> Optional[dict]:
        """{column: (type name, typmod)} of the table, or None when it does not exist."""
        rows = await _exec(conn, b"SELECT to_regclass(%s) IS NOT NULL", (self._regclass(),))
        if not rows[0][0]:
            return None
        rows = await _exec(conn, b"SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a "
                                 b"JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass(%s) "
                                 b"AND a.attnum > 0 AND NOT a.attisdropped", (self._regclass(),))
        return {name: (typ, mod) for name, typ, mod in rows}

    def _check_schema(self, conn: TrioConnection, cols: Optional[dict]) -> None:
        t = self.table_name
        if cols is None:
            raise SchemaError(self.id, 'table "%s" does not exist (create it with `respd sql-schema %s`, or set '
                              "create_table: true)" % (t, self.id))
        for col in (self.id_column_name, self.payload_column_name, self.expire_column_name):
            if col not in cols:
                raise SchemaError(self.id, 'table "%s" has no column "%s"' % (t, col))
        ktype, kmod = cols[self.id_column_name]
        if ktype == "varchar":
            self.key_type, self.key_max, self._bytea = "varchar", (kmod - 4 if kmod >= 4 else None), False
        elif ktype == "text":
            self.key_type, self.key_max, self._bytea = "text", None, False
        elif ktype == "bytea":
            self.key_type, self.key_max, self._bytea = "bytea", None, True
        else:
            raise SchemaError(self.id, 'table "%s": column "%s" is %s; the key column must be VARCHAR, TEXT or '
                              "BYTEA" % (t, self.id_column_name, ktype))
        if cols[self.payload_column_name][0] != "bytea":
            raise SchemaError(self.id, 'table "%s": column "%s" is %s; the payload column must be BYTEA'
                              % (t, self.payload_column_name, cols[self.payload_column_name][0]))
        if cols[self.expire_column_name][0] != "int8":
            raise SchemaError(self.id, 'table "%s": column "%s" is %s; the expire column must be BIGINT (Unix ms)'
                              % (t, self.expire_column_name, cols[self.expire_column_name][0]))

    async def _has_unique_key(self, conn: TrioConnection) -> bool:
        rows = await _exec(conn, b"SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a "
                                 b"ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                                 b"WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnkeyatts = 1 "
                                 b"AND i.indpred IS NULL AND a.attname = %s)",
                           (self._regclass(), self.id_column_name))
        return bool(rows[0][0])

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
        """Delete every expired row, ``batch`` rows per statement, yielding between statements; how many."""
        total = 0
        while True:
            now = now_ms()
            try:
                with trio.fail_after(self.db.command_timeout):
                    async with self.db.connection() as conn:
                        n = await _exec(conn, self.q_cleanup, (now, batch, now))
            except (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError) as ex:
                raise self._unavailable(ex) from None
            if self._health.down:
                self._health.ok()
            total += n
            if n < batch:
                return total
            await trio.sleep(0)

    async def aclose(self) -> None:
        """Release the database (its pool closes when no started store uses it any more)."""
        if self._started:
            self._started = False
            await self.db.aclose()

    # ------------------------------------------------------------------------------------------ reads
    async def get(self, key: bytes) -> Optional[bytes]:
        rows = await self._one(self.q_get, (self._k(key), now_ms()), key, merge=self.m_get)
        return self._decode(key, rows[0][0]) if rows else None

    async def mget(self, keys: list[bytes]) -> list[Optional[bytes]]:
        ks = [self._k(k) for k in keys]
        if not ks:
            return []
        if len(ks) == 1:
            rows = await self._one(self.q_get, (ks[0], now_ms()), keys[0], merge=self.m_get)
            found = {ks[0]: rows[0][0]} if rows else {}
        else:
            rows = await self._one(self.q_mget, (list(set(ks)), now_ms()), keys[0] if keys else b"")
            found = dict(rows)
        out = []
        for key, k in zip(keys, ks):
            payload = found.get(k)
            if payload is None:
                out.append(None)
                continue
            try:
                out.append(self._decode(key, payload))
            except WrongType:
                out.append(None)
        return out

    async def exists(self, keys: list[bytes]) -> int:
        ks = [self._k(k) for k in keys]
        if not ks:
            return 0
        if len(set(ks)) == 1:
            rows = await self._one(self.q_exists1, (ks[0], now_ms()), keys[0], merge=self.m_exists)
            return len(ks) if rows else 0
        rows = await self._one(self.q_existsn, (list(set(ks)), now_ms()), keys[0] if keys else b"")
        found = {r[0] for r in rows}
        return sum(1 for k in ks if k in found)

    async def expire_time(self, key: bytes) -> int:
        rows = await self._one(self.q_exp, (self._k(key), now_ms()), key, merge=self.m_exp)
        if not rows:
            return -2
        return -1 if rows[0][0] is None else int(rows[0][0])

    async def type(self, key: bytes) -> bytes:
        rows = await self._one(self.q_get, (self._k(key), now_ms()), key, merge=self.m_get)
        if not rows:
            return b"none"
        return codec.type_name(self.id, key, rows[0][0])

    async def keys(self, pattern: bytes) -> list[bytes]:
        """Every live key matching the glob. The pattern's literal prefix filters in SQL (LIKE), the glob itself
        in Python."""
        match = compile_glob(pattern)
        prefix = _glob_prefix(pattern)
        now = now_ms()
        if prefix and not self._bytea:
            try:
                text = prefix.decode("utf-8")
            except UnicodeDecodeError as ex:
                if ex.reason != "unexpected end of data":
                    return []  # invalid UTF-8 inside the prefix: no key of a text column can match
                text = prefix[:ex.start].decode("utf-8")  # a character cut by a wildcard: keep what precedes
            like = _like_escape(text) if text else None
        else:
            like = _like_escape(prefix) if prefix else None
        if like is None:
            rows = await self._one(self.q_keys, (now,), batch=False)
        else:
            rows = await self._one(self.q_keys_like, (now, like), batch=False)
        out = []
        for (k,) in rows:
            kb = self._kb(k)
            if match(kb):
                out.append(kb)
        return out

    def _issue_cursor(self, last) -> int:
        n = next(_cursor_numbers)
        self._cursors[n] = last
        if len(self._cursors) > SCAN_CURSORS:
            self._cursors.popitem(last=False)
        return n

    async def scan(self, cursor: int, pattern: Optional[bytes], count: int,
                   type_: Optional[bytes]) -> tuple[int, list[bytes]]:
        """One page: ``count`` live keys in key order after the cursor's position, filtered by pattern and type.
        See the module docstring for how cursors map to positions."""
        after = self._cursors.get(cursor) if cursor else None
        if after is not None:
            self._cursors.move_to_end(cursor)
        n = max(1, min(int(count), SCAN_MAX_COUNT))
        now = now_ms()
        if type_ is None:
            rows = await (self._one(self.q_scan, (after, now, n), batch=False) if after is not None
                          else self._one(self.q_scan0, (now, n), batch=False))
        else:
            rows = await (self._one(self.q_scan_v, (after, now, n), batch=False) if after is not None
                          else self._one(self.q_scan0_v, (now, n), batch=False))
        next_cursor = self._issue_cursor(rows[-1][0]) if len(rows) >= n else 0
        match = compile_glob(pattern) if pattern is not None and pattern != b"*" else None
        want = type_.lower() if type_ is not None else None
        out = []
        for row in rows:
            kb = self._kb(row[0])
            if match is not None and not match(kb):
                continue
            if want is not None:
                try:
                    if codec.type_name(self.id, kb, row[1]) != want:
                        continue
                except CorruptValue:
                    continue
            out.append(kb)
        return next_cursor, out

    async def randomkey(self) -> Optional[bytes]:
        """A random live key (uniform; costs a count of the table: O(n))."""
        now = now_ms()
        rows = await self._one(self.q_random, (now, now), batch=False)
        if not rows:  # rows deleted between the count and the offset
            rows = await self._one(self.q_first, (now,), batch=False)
        return self._kb(rows[0][0]) if rows else None

    async def dbsize(self) -> int:
        return int((await self._one(self.q_count, (now_ms(),), batch=False))[0][0])

    async def stats(self) -> tuple[int, int]:
        n, e = (await self._one(self.q_stats, (now_ms(),), batch=False))[0]
        return int(n), int(e)

    async def memory_usage(self, key: bytes) -> Optional[int]:
        """The size of the key's row as PostgreSQL stores it (``pg_column_size`` of the row: header, key, encoded
        value, expiry), without the index entry."""
        rows = await self._one(self.q_row_size, (self._k(key), now_ms()), key)
        return int(rows[0][0]) if rows else None

    async def dump(self, key: bytes) -> Optional[tuple[bytes, Optional[int]]]:
        rows = await self._one(self.q_get_ve, (self._k(key), now_ms()), key)
        if not rows:
            return None
        payload, exp = rows[0]
        return self._decode(key, payload), (None if exp is None else int(exp))

    # ------------------------------------------------------------------------------------------ writes
    async def set(self, key: bytes, value: bytes, cond: Optional[str] = None, get: bool = False,
                  expire: Any = None) -> tuple[bool, Optional[bytes]]:
        k = self._k(key)
        payload = codec.encode(value)
        now = now_ms()
        if get or self.max_size:
            return await self._session(lambda s: self._set_locked(s, key, k, payload, cond, get, expire))
        if expire is not None and expire is not KEEP and expire <= now:
            # The key disappears at once: SET deletes; NX "succeeds" only when absent (nothing to write);
            # XX succeeds when the key is live (and deletes it).
            if cond is None:
                await self._one(self.q_del1, (k, now), key)
                written = True
            elif cond == "NX":
                return not await self._one(self.q_exists1, (k, now), key), None
            else:
                written = bool(await self._one(self.q_del1_live, (k, now), key))
        elif cond is None:
            if expire is KEEP:
                await self._one(self.q_upsert_keep, (k, payload, now), key)
            else:
                # large values stay binary in their own statement (merged rows travel as a hex text array)
                await self._one(self.q_upsert, (k, payload, expire), key,
                                merge=self.m_upsert if len(payload) <= MERGE_MAX_VALUE else None)
            written = True
        elif cond == "NX":
            exp = None if expire is KEEP else expire
            written = bool(await self._one(self.q_set_nx, (k, payload, exp, now), key))
        elif cond == "XX":
            if expire is KEEP:
                written = bool(await self._one(self.q_set_xx_keep, (payload, k, now), key))
            else:
                written = bool(await self._one(self.q_set_xx, (payload, expire, k, now), key))
        else:
            raise ValueError("bad SET condition %r" % (cond,))
        if written:
            self.watches.touch(key)
        return written, None

    async def _set_locked(self, s: _Session, key: bytes, k, payload: bytes, cond, get: bool, expire):
        """SET under a row lock: for GET (the old value must be a string before anything is written) and
        max_size (a new key needs room)."""
        rows = await s.q(self.q_lock1, (k,))
        now = now_ms()
        live = bool(rows) and (rows[0][1] is None or rows[0][1] > now)
        old = self._decode(key, rows[0][0]) if (live and get) else None
        if (cond == "NX" and live) or (cond == "XX" and not live):
            return False, old
        if expire is KEEP:
            exp = rows[0][1] if live else None
        else:
            exp = expire
        if exp is not None and exp <= now:  # past: the key disappears
            if rows:
                await s.finish((self.q_del1, (k, now)))
            if live:
                self.watches.touch(key)
            return True, old
        if not live:
            await self._check_room(s, 1)
        if rows:
            await s.finish((self.q_update_row, (payload, exp, k)))
        else:
            (inserted,) = await s.finish((self.q_insert_new, (k, payload, exp)))
            if not inserted:
                raise _Retry()  # created meanwhile by another writer: lock it and decide again
        self.watches.touch(key)
        return True, old

    async def mset(self, pairs: list[tuple[bytes, bytes]], nx: bool = False) -> bool:
        latest: dict = {}
        raw: dict = {}
        for key, value in pairs:  # the last of duplicate keys wins
            k = self._k(key)
            latest[k] = codec.encode(value)
            raw[k] = key
        ks = sorted(latest)  # key order = lock order (UTF-8 byte order equals code point order)
        vs = [latest[k] for k in ks]
        if not ks:
            return True
        if not nx and not self.max_size:
            # Not batched: a batch holds its row locks until its end, and a multi-row statement in it would
            # break the ascending key order in which every writer locks rows (deadlocks).
            await self._one(self.q_mset, (ks, vs), batch=False)
            for k in ks:
                self.watches.touch(raw[k])
            return True

        async def body(s: _Session) -> bool:
            now = now_ms()
            present = (await s.q(self.q_countn, (ks, now)))[0][0]
            await self._check_room(s, len(ks) - present)
            await s.finish((self.q_mset, (ks, vs)))
            return True

        if nx:
            ok = await self._session(lambda s: self._msetnx(s, ks, vs), savepoint=True)
        else:
            ok = await self._session(body)
        if ok:
            for k in ks:
                self.watches.touch(raw[k])
        return ok

    async def _msetnx(self, s: _Session, ks: list, vs: list) -> bool:
        """MSETNX: the insert that discovers a key created meanwhile must not have committed yet, so the
        commit is separate (``_Abort`` rolls back, to the savepoint inside a user transaction)."""
        now = now_ms()
        if await s.q(self.q_existsn, (ks, now)):
            raise _Abort(False)
        await self._check_room(s, len(ks))
        inserted = await s.q(self.q_msetnx, (ks, vs, now))
        if len(inserted) < len(ks):
            raise _Abort(False)
        return True

    async def modify(self, key: bytes, fn: Callable[[Optional[bytes]], tuple[Optional[bytes], Any]]) -> Any:
        """Locked read-modify-write keeping the TTL. ``fn`` must be pure: when a concurrent writer creates the
        key between our read and our insert, the operation starts over and fn is called again."""
        k = self._k(key)

        async def body(s: _Session) -> Any:
            rows = await s.q(self.q_lock1, (k,))
            now = now_ms()
            live = bool(rows) and (rows[0][1] is None or rows[0][1] > now)
            old = self._decode(key, rows[0][0]) if live else None
            new, result = fn(old)
            if new is None:
                return result
            payload = codec.encode(new)
            if not live:
                await self._check_room(s, 1)
            if rows:  # live: keep its TTL; expired: revive without one
                await s.finish((self.q_update_row, (payload, rows[0][1] if live else None, k)))
            else:
                (inserted,) = await s.finish((self.q_insert_new, (k, payload, None)))
                if not inserted:
                    raise _Retry()
            self.watches.touch(key)
            return result

        return await self._session(body)

    async def getdel(self, key: bytes) -> Optional[bytes]:
        k = self._k(key)
        rows = await self._one(self.q_getdel, (k, now_ms()), key)
        if rows:
            self.watches.touch(key)
            return self._decode(key, rows[0][0])
        if await self._one(self.q_exists1, (k, now_ms()), key):
            raise WrongType()  # live but not a string: nothing was deleted
        return None

    async def getex(self, key: bytes, expire: Any) -> Optional[bytes]:
        if expire is KEEP:
            return await self.get(key)
        k = self._k(key)
        now = now_ms()
        if expire is not None and expire <= now:
            rows = await self._one(self.q_getdel, (k, now), key)
        else:
            rows = await self._one(self.q_getex, (expire, k, now), key)
        if rows:
            self.watches.touch(key)
            return self._decode(key, rows[0][0])
        if await self._one(self.q_exists1, (k, now_ms()), key):
            raise WrongType()
        return None

    async def delete(self, keys: list[bytes]) -> int:
        ks = {}
        for key in keys:
            ks[self._k(key)] = key
        if len(ks) == 1:
            ((k, key),) = ks.items()
            rows = await self._one(self.q_del1, (k, now_ms()), key)
            if rows and rows[0][0]:
                self.watches.touch(key)
                return 1
            return 0
        if not ks:
            return 0
        rows = await self._one(self.q_deln, (sorted(ks), now_ms()), batch=False)  # not batched: see mset
        n = 0
        for k, live in rows:
            if live:
                n += 1
                self.watches.touch(ks[k])
        return n

    async def expire(self, key: bytes, at_ms: int, cond: Optional[str] = None) -> int:
        k = self._k(key)
        now = now_ms()
        q_update, q_delete, uses_at = self.q_expire[cond]
        if at_ms <= now:
            rows = await self._one(q_delete, (k, now, at_ms) if uses_at else (k, now), key)
        else:
            rows = await self._one(q_update, (at_ms, k, now, at_ms) if uses_at else (at_ms, k, now), key)
        if rows:
            self.watches.touch(key)
            return 1
        return 0

    async def persist(self, key: bytes) -> int:
        rows = await self._one(self.q_persist, (self._k(key), now_ms()), key)
        if rows:
            self.watches.touch(key)
            return 1
        return 0

    async def rename(self, src: bytes, dst: bytes, nx: bool = False) -> bool:
        ks, kd = self._k(src), self._k(dst)
        if nx:
            ok = await self._session(lambda s: self._renamenx(s, ks, kd), savepoint=True)
        else:
            # in a user transaction, the savepoint also removes dst's placeholder when src is missing
            ok = await self._session(lambda s: self._rename(s, ks, kd), savepoint=True)
        if ok and ks != kd:
            self.watches.touch(src)
            self.watches.touch(dst)
        return ok

    async def _lock_pair(self, s: _Session, ks, kd) -> dict:
        """Lock src and dst rows in key order; {key: (payload, expires)} of the live ones. NoSuchKey without src.

        dst is written later, and a missing row cannot be locked: ``q_hold`` locks dst's row in its turn in key
        order, or, when there is none, inserts an expired one (invisible to every reader) in its place. So this
        transaction takes its rows in ascending order like every other writer. The rename overwrites the
        placeholder, or the rollback removes it."""
        if ks == kd:
            rows = await s.q(self.q_lockn, ([ks],))
        elif kd < ks:
            await s.q(self.q_hold, (kd,))
            rows = await s.q(self.q_lockn, ([kd, ks],))
        else:
            rows = await s.q(self.q_lockn, ([ks],))
            if not rows:
                raise NoSuchKey()
            await s.q(self.q_hold, (kd,))
            rows += await s.q(self.q_lockn, ([kd],))
        now = now_ms()
        found = {r[0]: (r[1], r[2]) for r in rows if r[2] is None or r[2] > now}
        if ks not in found:
            raise NoSuchKey()
        return found

    async def _rename(self, s: _Session, ks, kd) -> bool:
        found = await self._lock_pair(s, ks, kd)
        if ks != kd:
            payload, exp = found[ks]
            await s.finish((self.q_upsert, (kd, payload, exp)), (self.q_del1, (ks, now_ms())))
        return True

    async def _renamenx(self, s: _Session, ks, kd) -> bool:
        found = await self._lock_pair(s, ks, kd)
        now = now_ms()
        if ks == kd or kd in found:
            raise _Abort(False)
        payload, exp = found[ks]
        # dst may have been created since the lock query (a missing row cannot be locked): insert only if
        # still absent, and undo when not.
        if not await s.q(self.q_set_nx, (kd, payload, exp, now)):
            raise _Abort(False)
        await s.finish((self.q_del1, (ks, now)))
        return True

    async def copy(self, src: bytes, dst: bytes, replace: bool = False) -> bool:
        ks, kd = self._k(src), self._k(dst)
        if ks == kd:
            return False
        if self.max_size:
            async def body(s: _Session) -> bool:
                now = now_ms()
                if not await s.q(self.q_exists1, (kd, now)):
                    await self._check_room(s, 1)
                q, p = (self.q_copy, (kd, ks, now)) if replace else (self.q_copy_nx, (kd, ks, now, now))
                (rows,) = await s.finish((q, p))
                return bool(rows)
            ok = await self._session(body)
        else:
            now = now_ms()
            if replace:
                ok = bool(await self._one(self.q_copy, (kd, ks, now), dst))
            else:
                ok = bool(await self._one(self.q_copy_nx, (kd, ks, now, now), dst))
        if ok:
            self.watches.touch(dst)
        return ok

    async def restore(self, key: bytes, value: bytes, expire_at: Optional[int], replace: bool) -> bool:
        written, _ = await self.set(key, value, None if replace else "NX", False, expire_at)
        return written

    async def flush(self) -> None:
        await self._one(self.q_flush, (), batch=False)
        self.watches.touch_all()

    # ------------------------------------------------------------------------------------------ transactions
    def transaction(self):
        """An async context manager: inside it every operation of this store in the current task runs on one
        connection in one SQL transaction, committed at exit (StoreUnavailable if the commit fails) and rolled
        back when the block raises. Nested use joins the outer transaction; so do tasks spawned inside the block
        (trio copies the context), sharing its connection one statement at a time."""
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self):
        if self._tx_conn() is not None:
            yield
            return
        async with AsyncExitStack() as stack:
            try:
                with trio.fail_after(self.db.command_timeout):
                    conn = await stack.enter_async_context(self.db.connection())
                    await _exec(conn, _BEGIN, ())
            except (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError) as ex:
                raise self._unavailable(ex) from None
            state = _TxState(conn)
            token = self._tx.set(state)
            try:
                yield
            except BaseException:
                state.conn = None
                self._tx.reset(token)
                if not conn.closed and conn.pgconn.transaction_status != _IDLE:
                    try:
                        with trio.move_on_after(self.db.command_timeout):
                            await _exec(conn, _ROLLBACK, ())
                    except BaseException:
                        pass  # the pool discards the connection; PostgreSQL rolls back on disconnect
                raise
            state.conn = None
            self._tx.reset(token)
            committing = False
            try:
                with trio.fail_after(self.db.command_timeout):
                    if conn.closed:  # a statement inside timed out: closed without COMMIT, so rolled back
                        raise SQLStoreUnavailable(self.id, "connection lost during the transaction; rolled back")
                    if conn.pgconn.transaction_status == _INERROR:
                        # A statement failed inside: PostgreSQL would turn COMMIT into a silent ROLLBACK.
                        await _exec(conn, _ROLLBACK, ())
                        raise SQLStoreUnavailable(self.id, "transaction aborted by an earlier error; rolled back")
                    committing = True
                    await _exec(conn, _COMMIT, ())
            except (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError) as ex:
                raise self._unavailable(ex, committing and pg_trio._connection_lost(ex, conn)) from None


def _ddl(store: SQLStore) -> list:
    t, k, v, e = store._t, store._kc, store._vc, store._ec
    base = store.table_name.split(".")[-1]
    index = sql.Identifier(("%s_%s_idx" % (base, store.expire_column_name))[:63])
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {t} (\n"
                "    {k} VARCHAR(255) PRIMARY KEY,\n"
                "    {v} BYTEA NOT NULL,\n"
                "    {e} BIGINT\n"
                ")").format(t=t, k=k, v=v, e=e),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} ({e}) WHERE {e} IS NOT NULL").format(t=t, e=e, i=index),
    ]


def schema_ddl(store: SQLStore) -> str:
    """The CREATE TABLE and CREATE INDEX statements for a store's table (``respd sql-schema STORE_ID``)."""
    return "".join(stmt.as_string(None) + ";\n" for stmt in _ddl(store))
