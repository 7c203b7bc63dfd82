"""How fast can this machine write to and read from PostgreSQL, and how close does the SQL store get?

Measures, on one table of the store's schema (``key VARCHAR(255) PRIMARY KEY, value BYTEA, expires_at BIGINT``):

- ``raw``: the psycopg ceiling, blocking API, one connection: autocommit single upserts (one round trip and one
  commit each) vs pipeline mode in batches of 100 (one round trip and one commit per batch); same for PK selects.
- ``trio``: the same two ways through ``backends.pg.connection.TrioConnection`` under trio, with psycopg's cursor API
  and with ``run_statements`` (the stores' libpq fast path: prepared statements, one pipeline per call).
- ``store``: ``SQLStore.set``/``get`` from N concurrent trio tasks (clients), with the batcher on and off: what
  the server can get out of PostgreSQL when many clients are connected.

Usage::

    python bench/sql_ceiling.py                 # starts a throwaway PostgreSQL (tests/pgserver.py)
    python bench/sql_ceiling.py --dsn "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    python bench/sql_ceiling.py --n 5000 --clients 50 --repeat 3 --only raw,store

Prints ops/s per run and the median. Absolute numbers drift; compare rows of one run (2-core VM: see
/work/shared/PERF.md "PostgreSQL ceilings").
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg  # noqa: E402
import trio  # noqa: E402

from backends.codec import encode  # noqa: E402

TABLE = "bench_ceiling"


def upsert_sql(table: str) -> str:
    """The single-key upsert of the store's schema, on ``table``."""
    return ("INSERT INTO %s (key, value, expires_at) VALUES (%%s, %%s, NULL) ON CONFLICT (key) DO UPDATE "
            "SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at" % table)


def select_sql(table: str) -> str:
    """The primary-key select with the expiry filter, on ``table``."""
    return "SELECT value FROM %s WHERE key = %%s AND (expires_at IS NULL OR expires_at > %%s)" % table


UPSERT = upsert_sql(TABLE)
SELECT = select_sql(TABLE)
VALUE = encode(b"x" * 64)


def setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_ceiling")
        c.execute("CREATE TABLE bench_ceiling (key VARCHAR(255) PRIMARY KEY, value BYTEA NOT NULL, expires_at BIGINT)")
        c.execute("CREATE INDEX ON bench_ceiling (expires_at) WHERE expires_at IS NOT NULL")


def keys(n: int) -> list[str]:
    return ["key:%06d" % (i % 100_000) for i in range(n)]


# ------------------------------------------------------------------------------------------------ raw psycopg
# bench/run.py measures its SQL rows' ceiling with these two, on the SQL store's own table and keys.
def raw_single(dsn: str, n: int, select: bool, table: str = TABLE, ks: Optional[list] = None,
               value: bytes = VALUE) -> float:
    """ops/s of one autocommit connection, one statement (one round trip, one commit) at a time."""
    ks = ks if ks is not None else keys(n)
    q = select_sql(table) if select else upsert_sql(table)
    with psycopg.connect(dsn, autocommit=True) as c:
        t = time.perf_counter()
        for k in ks:
            if select:
                c.execute(q, (k, 0)).fetchone()
            else:
                c.execute(q, (k, value))
        return len(ks) / (time.perf_counter() - t)


def raw_pipeline(dsn: str, n: int, select: bool, batch: int = 100, table: str = TABLE, ks: Optional[list] = None,
                 value: bytes = VALUE) -> float:
    """ops/s of one autocommit connection in pipeline mode, ``batch`` statements per round trip."""
    ks = ks if ks is not None else keys(n)
    q = select_sql(table) if select else upsert_sql(table)
    with psycopg.connect(dsn, autocommit=True) as c:
        t = time.perf_counter()
        for i in range(0, len(ks), batch):
            with c.pipeline():
                curs = [c.execute(q, (k, 0) if select else (k, value)) for k in ks[i:i + batch]]
            if select:
                for cur in curs:
                    cur.fetchone()
        return len(ks) / (time.perf_counter() - t)


# ------------------------------------------------------------------------------------------------ TrioConnection
def trio_single(dsn: str, n: int, select: bool) -> float:
    from backends.pg.connection import TrioConnection

    async def main():
        ks = keys(n)
        c = await TrioConnection.connect(dsn, autocommit=True)
        t = time.perf_counter()
        for k in ks:
            if select:
                await (await c.execute(SELECT, (k, 0))).fetchone()
            else:
                await c.execute(UPSERT, (k, VALUE))
        rate = n / (time.perf_counter() - t)
        await c.close()
        return rate

    return trio.run(main)


def trio_pipeline(dsn: str, n: int, select: bool, batch: int = 100) -> float:
    from backends.pg.connection import TrioConnection

    async def main():
        ks = keys(n)
        c = await TrioConnection.connect(dsn, autocommit=True)
        t = time.perf_counter()
        for i in range(0, n, batch):
            curs = []
            async with c.pipeline():
                for k in ks[i:i + batch]:
                    cur = c.cursor()
                    await cur.execute(SELECT if select else UPSERT, (k, 0) if select else (k, VALUE))
                    curs.append(cur)
            if select:
                for cur in curs:
                    await cur.fetchone()
        rate = n / (time.perf_counter() - t)
        await c.close()
        return rate

    return trio.run(main)


def fast_batches(dsn: str, n: int, select: bool, batch: int) -> float:
    from backends.pg.connection import TrioConnection
    from backends.pg.pipeline import run_statements

    async def main():
        ks = keys(n)
        c = await TrioConnection.connect(dsn, autocommit=True)
        q = (SELECT if select else UPSERT).encode()
        t = time.perf_counter()
        for i in range(0, n, batch):
            await run_statements(c, [(q, (k, 0) if select else (k, VALUE)) for k in ks[i:i + batch]])
        rate = n / (time.perf_counter() - t)
        await c.close()
        return rate

    return trio.run(main)


# ------------------------------------------------------------------------------------------------ SQLStore
def store_clients(dsn: str, n: int, select: bool, clients: int, batching: bool, pool: int = 10) -> float:
    from backends.pg.pool import PgDatabase
    from backends.sql.store import SQLStore

    async def main():
        db = PgDatabase("bench", dsn, pool_min=1, pool_max=pool, batching=batching)
        store = SQLStore("bench", db, table_name=TABLE)
        await store.start()
        per = n // clients
        value = b"x" * 64

        async def client(c):
            for i in range(per):
                k = b"key:%06d" % ((c * per + i) % 100_000)
                if select:
                    await store.get(k)
                else:
                    await store.set(k, value)

        t = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for c in range(clients):
                nursery.start_soon(client, c)
        rate = per * clients / (time.perf_counter() - t)
        await store.aclose()
        return rate

    return trio.run(main)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsn", help="PostgreSQL to use (default: start a throwaway one)")
    ap.add_argument("--n", type=int, default=5000, help="operations per run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median printed)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent tasks for the store runs")
    ap.add_argument("--only", default="raw,trio,store", help="comma list of: raw, trio, store")
    args = ap.parse_args()
    srv = None
    dsn = args.dsn
    if dsn is None:
        from tests.pgserver import PgServer
        srv = PgServer()
        srv.start()
        dsn = srv.dsn
    try:
        setup(dsn)
        raw_pipeline(dsn, 2000, False)  # warm up the table and caches
        only = set(args.only.split(","))
        runs = []
        for op, select in (("upsert", False), ("select", True)):
            if "raw" in only:
                runs.append(("raw   %s 1conn autocommit" % op, lambda s=select: raw_single(dsn, args.n, s)))
                runs.append(("raw   %s 1conn pipeline b100" % op, lambda s=select: raw_pipeline(dsn, args.n, s)))
            if "trio" in only:
                runs.append(("trio  %s 1conn autocommit" % op, lambda s=select: trio_single(dsn, args.n, s)))
                runs.append(("trio  %s 1conn pipeline b100" % op, lambda s=select: trio_pipeline(dsn, args.n, s)))
                runs.append(("fast  %s 1conn b1" % op, lambda s=select: fast_batches(dsn, args.n, s, 1)))
                runs.append(("fast  %s 1conn b100" % op, lambda s=select: fast_batches(dsn, args.n, s, 100)))
            if "store" in only:
                name = "SET" if not select else "GET"
                runs.append(("store %s c%d batched" % (name, args.clients),
                             lambda s=select: store_clients(dsn, args.n, s, args.clients, True)))
                runs.append(("store %s c%d unbatched" % (name, args.clients),
                             lambda s=select: store_clients(dsn, args.n, s, args.clients, False)))
        print("%-36s %10s   %s" % ("run", "median/s", "runs"))
        for name, fn in runs:
            rates = [fn() for _ in range(args.repeat)]
            print("%-36s %10.0f   %s" % (name, statistics.median(rates), " ".join("%.0f" % r for r in rates)),
                  flush=True)
    finally:
        if srv is not None:
            srv.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
