"""backends.pg against a real PostgreSQL: psycopg driven by trio, the libpq fast path, the pool and the
batcher. These guard the psycopg internals the package relies on (pinned psycopg>=3.3,<3.4)."""
from __future__ import annotations

import psycopg
import pytest
import trio

from backends.pg.connection import TrioConnection
from backends.pg.errors import DatabaseUnavailable
from backends.pg.pipeline import run_statements
from backends.pg.pool import PgDatabase

pytestmark = pytest.mark.trio


@pytest.fixture
async def conn(pg_server):
    c = await TrioConnection.connect(pg_server.dsn)
    yield c
    await c.close()


async def test_psycopg_async_api_under_trio(conn, pg_server):
    cur = await conn.execute("SELECT %s::int + 1, %s::text", (41, "x"))
    assert await cur.fetchall() == [(42, "x")]
    await conn.execute("CREATE TEMP TABLE t (k text PRIMARY KEY)")
    async with conn.transaction():
        await conn.execute("INSERT INTO t VALUES ('a')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            async with conn.transaction():  # a savepoint
                await conn.execute("INSERT INTO t VALUES ('a')")
    async with conn.pipeline():
        await conn.execute("INSERT INTO t VALUES ('b')")
        c2 = await conn.execute("SELECT count(*) FROM t")
    assert await c2.fetchone() == (2,)
    # a generator error (not an interrupted wait) leaves the connection usable
    with pytest.raises(psycopg.errors.UniqueViolation):
        await conn.execute("INSERT INTO t VALUES ('b')")
    assert not conn.closed
    # host names are resolved by trio, not by libpq
    c3 = await TrioConnection.connect(pg_server.dsn.replace("127.0.0.1", "localhost"))
    assert await (await c3.execute("SELECT 1")).fetchone() == (1,)
    await c3.close()


async def test_run_statements_types_and_arrays(conn):
    await run_statements(conn, [(b"CREATE TEMP TABLE kv (k text PRIMARY KEY, v bytea, e bigint)", ())])
    weird = ['a"b', "c\\d", "{x,y}", "NULL", " sp ", "é😀"]
    blobs = [b"\x00\xff", b"", b'"\\', b"plain"]
    res = await run_statements(conn, [
        (b"INSERT INTO kv SELECT u.k, u.v, 7 FROM unnest(%s::text[], %s::bytea[]) AS u(k, v)",
         (weird[:4], blobs)),
        (b"SELECT k, v, e, e > %s, NULL::int FROM kv ORDER BY k", (5,)),
        (b"SELECT %s::text[], %s::bytea[]", (weird, blobs)),
        (b"UPDATE kv SET e = %s WHERE k = ANY(%s::text[])", (None, weird)),
        (b"SELECT count(*) FROM kv WHERE e IS NULL", ()),
    ])
    assert res[0] == 4
    assert res[1] == sorted([(k, v, 7, True, None) for k, v in zip(weird[:4], blobs)])
    assert res[2] == [(weird, blobs)]
    assert res[3] == 4 and res[4] == [(4,)]
    assert len(conn.respd_prepared) == 6
    await run_statements(conn, [(b"SELECT count(*) FROM kv WHERE e IS NULL", ())])
    assert len(conn.respd_prepared) == 6  # prepared once per connection


async def test_run_statements_error_rolls_back_the_batch(conn):
    await run_statements(conn, [(b"CREATE TEMP TABLE t2 (k int PRIMARY KEY)", ())])
    with pytest.raises(psycopg.errors.UniqueViolation):
        await run_statements(conn, [(b"INSERT INTO t2 VALUES (1)", ()), (b"INSERT INTO t2 VALUES (1)", ()),
                                    (b"INSERT INTO t2 VALUES (2)", ())])
    assert await run_statements(conn, [(b"SELECT count(*) FROM t2", ())]) == [[(0,)]]
    with pytest.raises(psycopg.errors.UndefinedTable):  # a failing prepare
        await run_statements(conn, [(b"SELECT * FROM no_such_table", ())])
    assert not conn.closed
    # prepared statements dropped behind our back are prepared again
    await run_statements(conn, [(b"SELECT 1", ())])
    await conn.execute("DEALLOCATE ALL")
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        await run_statements(conn, [(b"SELECT 1", ())])
    assert await run_statements(conn, [(b"SELECT 1", ())]) == [[(1,)]]


async def test_cancelled_wait_closes_connection_and_cancels_query(conn, pg_server):
    other = await TrioConnection.connect(pg_server.dsn)
    t0 = trio.current_time()
    with trio.move_on_after(0.2):
        await run_statements(conn, [(b"SELECT pg_sleep(10)", ())])
    assert trio.current_time() - t0 < 0.5
    assert conn.closed and conn.broken
    with trio.fail_after(5):  # the server-side query was cancelled, not left running
        while (await (await other.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'")).fetchone())[0]:
            await trio.sleep(0.05)
    await other.close()


async def test_connect_timeout_on_silent_server():
    async def silent(stream):
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, silent, 0)
        port = listeners[0].socket.getsockname()[1]
        t0 = trio.current_time()
        with pytest.raises(trio.TooSlowError):
            await TrioConnection.connect("host=127.0.0.1 port=%d user=x dbname=x sslmode=disable" % port,
                                         connect_timeout=0.3)
        assert trio.current_time() - t0 < 1.0
        db = PgDatabase("db:silent", "host=127.0.0.1 port=%d user=x dbname=x sslmode=disable" % port,
                        pool_min=0, connect_timeout=0.3)
        await db.start()
        with pytest.raises(DatabaseUnavailable, match="timed out"):
            await db.run(b"SELECT 1", ())
        await db.aclose()
        nursery.cancel_scope.cancel()


async def test_pool_bounds_and_discards(pg_server):
    db = PgDatabase("db:pool", pg_server.dsn, pool_min=1, pool_max=3)
    await db.start()
    try:
        active = []

        async def hold():
            async with db.connection() as c:
                active.append(c)
                await trio.sleep(0.05)
                assert len({id(x) for x in active}) <= 3

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(hold)
        assert db.stats["connects"] <= 3
        # an idle connection killed by the server is noticed at acquire (no failed statement)
        async with db.connection() as c:
            pid = c.pgconn.backend_pid
        async with await TrioConnection.connect(pg_server.dsn) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await trio.sleep(0.1)
        async with db.connection() as c:
            assert c.pgconn.backend_pid != pid
            assert await run_statements(c, [(b"SELECT 1", ())]) == [[(1,)]]
        # a connection left inside a transaction is not reused
        async with db.connection() as c:
            await c.execute("BEGIN")
            pid = c.pgconn.backend_pid
        async with db.connection() as c:
            assert c.pgconn.backend_pid != pid
    finally:
        await db.aclose()


async def test_batcher_coalesces_and_isolates_errors(pg_server):
    db = PgDatabase("db:batch", pg_server.dsn, pool_max=4, batch_leaders=1)
    await db.start()
    try:
        await db.run(b"CREATE TABLE IF NOT EXISTS batch_t (k int PRIMARY KEY)", ())
        await db.run(b"TRUNCATE batch_t", ())
        results = {}

        async def insert(i):
            try:
                results[i] = await db.run(b"INSERT INTO batch_t VALUES (%s)", (i % 20,), b"%03d" % i)
            except psycopg.errors.UniqueViolation:
                results[i] = "dup"

        async with trio.open_nursery() as nursery:
            for i in range(40):
                nursery.start_soon(insert, i)
        assert db.stats["batches"] < db.stats["ops"]
        # each caller got its own outcome: 20 inserts won, 20 were duplicates
        assert sorted(v for v in results.values() if v != "dup") == [1] * 20
        assert list(results.values()).count("dup") == 20
        assert await db.run(b"SELECT count(*) FROM batch_t", ()) == [(20,)]
    finally:
        await db.aclose()


async def test_batcher_survives_cancelled_leader(pg_server):
    db = PgDatabase("db:lead", pg_server.dsn, pool_max=2, batch_leaders=1)
    await db.start()
    try:
        done = []

        async def impatient():
            with trio.move_on_after(0.01):
                await db.run(b"SELECT pg_sleep(0.2)", ())

        async def patient(i):
            assert await db.run(b"SELECT %s::int", (i,)) == [(i,)]
            done.append(i)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(impatient)
            await trio.sleep(0.001)
            for i in range(10):
                nursery.start_soon(patient, i)
        assert sorted(done) == list(range(10))
        assert db._leaders == 0 and not db._queue
    finally:
        await db.aclose()


async def test_statements_time_out_within_command_timeout(pg_server):
    # pool of 1: the second statement waits for the connection the first one holds, then gives up
    db = PgDatabase("db:slow", pg_server.dsn, pool_max=1, batch_leaders=2, command_timeout=0.3)
    await db.start()
    try:
        outcomes = []

        async def run(q):
            t0 = trio.current_time()
            try:
                await db.run(q, ())
                outcomes.append("ok")
            except DatabaseUnavailable:
                outcomes.append("timeout")
            assert trio.current_time() - t0 < 0.3 + 0.15

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, b"SELECT pg_sleep(1)")
            await trio.sleep(0.01)
            nursery.start_soon(run, b"SELECT 1")
        # the first times out; the second too, unless it got the freed connection just before its deadline
        assert outcomes[0] == "timeout" and outcomes[1] in ("timeout", "ok")
        assert await db.run(b"SELECT 2", ()) == [(2,)]  # and it recovers
    finally:
        await db.aclose()
