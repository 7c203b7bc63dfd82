"""The PostgreSQL store: one table holds one store's keys (``backends.sql.store.SQLStore``).

``value`` holds msgpack (``backends.codec``), ``expires_at`` an absolute Unix time in ms (NULL: no expiry); the
table and its key column: ``backends.sql.schema`` and ``backends.sql.keys``.

Contracts kept by every operation:

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
  failure after success is logged (store, host and port; ``errors.Health``), and so is the first success after.
- *Errors mean "not applied"*: a write that raises ``StoreUnavailable`` was not applied -- its transaction's
  COMMIT is sent only once every statement's result is back (see ``PgDatabase.run``, ``transactions.Session``)
  -- except when the reason says "outcome unknown": the connection was lost or the deadline passed while the
  COMMIT was in flight. Reasons never show the database's host or port (``backends.pg.errors.public_reason``);
  the log does.
- *max_size* (0 = unlimited): a write that would create keys when ``count(live rows) + new keys > max_size``
  raises ``StoreFull`` with nothing written. The count and the write run in one transaction but without a
  table lock, so concurrent writers (or nodes) may overshoot the limit slightly: best effort by design (a
  table lock would serialize every insert).
- *Throughput*: single-statement operations outside a transaction go through ``PgDatabase.run``, which
  coalesces concurrent statements of many clients into one pipeline (see ``backends.pg.pool``), merging the
  GETs (and EXISTS, TTL, TYPE) of a batch into one select and the plain SETs of a write-only batch into one
  multi-row upsert. Statements are prepared on each connection at first use (named protocol-level prepared
  statements: behind PgBouncer in transaction mode this needs ``max_prepared_statements``).
- *Transactions*: ``transaction()`` pins one connection to the current task (a ContextVar) for MULTI/EXEC.

Modules: ``store`` (SQLStore: construction, lifecycle, cleanup), ``reads`` and ``writes`` (the operations),
``transactions`` (how statements run: alone, batched, in a transaction), ``statements`` (every statement's text),
``schema`` (DDL and start-up checks), ``keys`` (key adaptation), ``cursors`` (SCAN), ``errors`` (errors and
the availability log), ``names`` (identifier validation without psycopg). This package's ``__init__`` imports
nothing, so ``names`` loads without psycopg.
"""
