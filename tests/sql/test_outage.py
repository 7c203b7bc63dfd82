"""PostgreSQL going away under a SQLStore: stopped, crashed, hung. Operations fail with StoreUnavailable within
the configured timeout (never hang), other stores keep working, and the store recovers by itself once
PostgreSQL is back. Each test runs its own throwaway server so the session server is never disturbed."""
from __future__ import annotations

import logging
import os
import signal
from functools import partial

import psycopg
import pytest
import trio

from backends.base import StoreUnavailable
from backends.pg.errors import public_reason
from backends.pg.pool import PgDatabase
from backends.sql.errors import HEALTH_LOG_INTERVAL, Health
from backends.sql.store import SQLStore
from tests.pgserver import PgServer, cluster_pids, find_bindir, resume

pytestmark = pytest.mark.trio

TIMEOUT = 1.0


@pytest.fixture
def own_server():
    if find_bindir() is None:
        pytest.skip("no PostgreSQL binaries")
    srv = PgServer()
    srv.start()
    yield srv
    srv.cleanup()


async def make_store(srv, table, pool_min=1, pool_max=4, **kw) -> SQLStore:
    db = PgDatabase("db:outage", srv.dsn, pool_min=pool_min, pool_max=pool_max, connect_timeout=TIMEOUT,
                    command_timeout=TIMEOUT)
    s = SQLStore("test:outage", db, table_name=table, create_table=True, **kw)
    await s.start()
    return s


def ops(s: SQLStore):
    async def tx():
        async with s.transaction():
            await s.set(b"t", b"1")

    return [lambda: s.get(b"k"), lambda: s.set(b"k", b"v2"), lambda: s.modify(b"n", lambda o: (b"1", 1)),
            lambda: s.keys(b"*"), lambda: s.mset([(b"a", b"1"), (b"b", b"2")], nx=True), lambda: s.dbsize(),
            lambda: s.scan(0, None, 10, None), tx]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_stopped_then_restarted(own_server, store, table, mode):
    s = await make_store(own_server, table)
    try:
        await s.set(b"k", b"v")
        await trio.to_thread.run_sync(own_server.stop, mode)
        for op in ops(s):
            t0 = trio.current_time()
            with pytest.raises(StoreUnavailable) as ei:
                await op()
            assert trio.current_time() - t0 < TIMEOUT + 0.5
            assert ei.value.store_id == "test:outage" and ei.value.reason
        # a store on another database keeps working meanwhile
        await store.set(b"other", b"fine")
        assert await store.get(b"other") == b"fine"
        await trio.to_thread.run_sync(own_server.start)
        # no store restart: the first operation after PostgreSQL is back succeeds
        assert await s.get(b"k") == b"v"
        for op in ops(s):
            await op()
    finally:
        await s.aclose()


async def test_hung_server_times_out_then_recovers(own_server, table):
    s = await make_store(own_server, table)
    pids = cluster_pids(own_server.data)
    try:
        await s.set(b"k", b"v")
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            for op in ops(s)[:3]:
                t0 = trio.current_time()
                with pytest.raises(StoreUnavailable):
                    await op()
                elapsed = trio.current_time() - t0
                assert TIMEOUT - 0.1 < elapsed < TIMEOUT + 0.5
            # a new connection to a hung server: connect_timeout
            s.db.check_idle()
            t0 = trio.current_time()
            with pytest.raises(StoreUnavailable):
                await s.dbsize()
            assert trio.current_time() - t0 < TIMEOUT + 0.5
        finally:
            resume(own_server.data)
        with trio.fail_after(10):
            while True:
                try:
                    assert await s.get(b"k") == b"v"
                    break
                except StoreUnavailable:
                    await trio.sleep(0.1)
    finally:
        await s.aclose()


async def test_restart_under_load(own_server, table):
    s = await make_store(own_server, table)
    outcomes = {"ok": 0, "unavailable": 0}
    stop = trio.Event()

    async def client(i):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                with trio.fail_after(TIMEOUT * 3):  # never hangs
                    await s.set(b"c%d" % i, b"%d" % n)
                    assert await s.get(b"c%d" % i) == b"%d" % n
                outcomes["ok"] += 1
            except StoreUnavailable:
                outcomes["unavailable"] += 1
                await trio.sleep(0.01)

    try:
        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(client, i)
            await trio.sleep(0.3)
            await trio.to_thread.run_sync(own_server.stop, "fast")
            await trio.sleep(0.3)
            await trio.to_thread.run_sync(own_server.start)
            before = outcomes["ok"]
            with trio.fail_after(10):
                while outcomes["ok"] < before + 100:
                    await trio.sleep(0.05)
            stop.set()
        assert outcomes["unavailable"] > 0
        for i in range(20):  # every client's last acknowledged write is there
            assert await s.get(b"c%d" % i) is not None
    finally:
        await s.aclose()


def _client_backends(dsn: str) -> int:
    """Client backends of the cluster other than the one asking (blocking; run in a thread)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                         "AND pid <> pg_backend_pid()").fetchone()[0]


async def _settled(srv) -> None:
    """Wait until every backend that held our statements has processed them and exited (a hang guard bounds
    it): only then does the table show what those statements did."""
    with trio.fail_after(60):
        while await trio.to_thread.run_sync(_client_backends, srv.dsn):
            await trio.sleep(0.1)


async def test_write_answered_with_an_error_was_not_applied(own_server, table):
    """Issue 11 item 4: PostgreSQL frozen (SIGSTOP) under writes. Every write answered with an error that does
    not say "outcome unknown" must be absent after the thaw, every acknowledged one present. Covers batched
    and merged SETs, lone writes (MSET), locked read-modify-writes (INCR-like), DEL and SET NX."""
    # every connection opened beforehand: each operation reaches the frozen server rather than failing to connect
    s = await make_store(own_server, table, pool_min=10, pool_max=10)
    outcome: dict = {}
    try:
        await s.mset([(b"d%d" % i, b"old") for i in range(5)] + [(b"n%d" % i, b"0") for i in range(3)])
        pids = cluster_pids(own_server.data)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            async def run(name, op):
                try:
                    await op()
                    outcome[name] = "ok"
                except StoreUnavailable as ex:
                    outcome[name] = "unknown" if "outcome unknown" in ex.reason else "error"

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(run, "set%d" % i, partial(s.set, b"s%d" % i, b"new"))
                for i in range(5):
                    nursery.start_soon(run, "del%d" % i, partial(s.delete, [b"d%d" % i]))
                for i in range(3):
                    nursery.start_soon(run, "incr%d" % i, partial(s.modify, b"n%d" % i, lambda o: (b"1", 1)))
                    nursery.start_soon(run, "nx%d" % i, partial(s.set, b"x%d" % i, b"new", "NX"))
                nursery.start_soon(run, "mset", partial(s.mset, [(b"m1", b"new"), (b"m2", b"new")]))
        finally:
            resume(own_server.data)
    finally:
        await s.aclose()
    await _settled(own_server)
    s = await make_store(own_server, table)
    try:
        got = {}
        for i in range(20):
            got["set%d" % i] = await s.get(b"s%d" % i) == b"new"
        for i in range(5):
            got["del%d" % i] = await s.get(b"d%d" % i) is None
        for i in range(3):
            got["incr%d" % i] = await s.get(b"n%d" % i) == b"1"
            got["nx%d" % i] = await s.get(b"x%d" % i) == b"new"
        got["mset"] = await s.mget([b"m1", b"m2"]) == [b"new", b"new"]
    finally:
        await s.aclose()
    assert set(got) == set(outcome)
    wrong = {name: (outcome[name], got[name]) for name in got
             if (outcome[name] == "ok" and not got[name]) or (outcome[name] == "error" and got[name])}
    assert not wrong, "answered (outcome, applied): %r" % wrong
    assert "error" in outcome.values()  # the freeze was felt


async def test_writes_across_a_freeze_and_thaw_answer_truthfully(own_server, table):
    """Writers keep writing while PostgreSQL is frozen and thawed (so some COMMITs may be in flight at the freeze).
    Every write creates its own key: afterwards every acknowledged key is there, and none answered with an error
    that does not say "outcome unknown"."""
    s = await make_store(own_server, table, pool_min=10, pool_max=10)
    outcome: dict = {}
    stop = trio.Event()

    async def client(i):
        n = 0
        while not stop.is_set():
            n += 1
            key = b"c%d:%d" % (i, n)
            try:
                await s.set(key, b"v")
                outcome[key] = "ok"
            except StoreUnavailable as ex:
                outcome[key] = "unknown" if "outcome unknown" in ex.reason else "error"
                await trio.sleep(0.05)

    try:
        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(client, i)
            await trio.sleep(0.3)
            for pid in cluster_pids(own_server.data):
                os.kill(pid, signal.SIGSTOP)
            try:
                await trio.sleep(TIMEOUT * 2.5)
            finally:
                resume(own_server.data)
            answered = len(outcome)
            with trio.fail_after(30):  # hang guard: the store works again by itself
                while list(outcome.values())[answered:].count("ok") < 20:
                    await trio.sleep(0.1)
            stop.set()
    finally:
        await s.aclose()
    await _settled(own_server)
    s = await make_store(own_server, table)
    try:
        present = set(await s.keys(b"*"))
    finally:
        await s.aclose()
    lost = sorted(k for k, o in outcome.items() if o == "ok" and k not in present)
    applied = sorted(k for k, o in outcome.items() if o == "error" and k in present)
    assert not lost and not applied, (lost, applied)
    assert "error" in outcome.values()


async def test_commit_without_reply_says_outcome_unknown(pg_server, raw, table):
    """A COMMIT that gets no reply within command_timeout (here a deferred trigger makes it slow) may or may not
    take effect: the error must say "outcome unknown", for batched writes, lone writes and locked
    read-modify-writes alike; reads on the same table are unaffected."""
    db = PgDatabase("db:slow", pg_server.dsn, pool_max=4, connect_timeout=5, command_timeout=0.5)
    s = SQLStore("test:slow", db, table_name=table, create_table=True)
    await s.start()
    try:
        await s.set(b"n", b"1")
        raw.execute("CREATE FUNCTION %s_slow() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$" % table)
        raw.execute("CREATE CONSTRAINT TRIGGER slow AFTER INSERT OR UPDATE OR DELETE ON %s DEFERRABLE INITIALLY "
                    "DEFERRED FOR EACH ROW EXECUTE FUNCTION %s_slow()" % (table, table))
        async def multi():
            async with s.transaction():
                await s.set(b"t", b"v")

        for op in (lambda: s.set(b"k", b"v"), lambda: s.mset([(b"a", b"1"), (b"b", b"2")]),
                   lambda: s.modify(b"n", lambda o: (b"2", 2)), lambda: s.delete([b"n"]), multi):
            with pytest.raises(StoreUnavailable, match="outcome unknown"):
                await op()
        assert await s.get(b"k") in (None, b"v")
        assert await s.dbsize() >= 0
    finally:
        await s.aclose()


async def test_availability_log_is_rate_limited(caplog):
    """A flapping database logs its first outage and its end, then nothing more within HEALTH_LOG_INTERVAL; the
    next line counts what was not logged. (``Health`` directly: its clock never matters at this interval.)"""
    assert HEALTH_LOG_INTERVAL >= 5
    h = Health("app:kv", "10.0.0.5:5432")
    with caplog.at_level(logging.WARNING, logger="respd.sql"):
        for _ in range(50):
            h.failed("no reply within 1s")
        h.ok()
        for _ in range(20):  # flapping right after: counted, not logged
            h.failed("no reply within 1s")
            h.ok()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["store app:kv: PostgreSQL at 10.0.0.5:5432 unavailable: no reply within 1s",
                     "store app:kv: PostgreSQL at 10.0.0.5:5432 back after %s (50 operations failed)"
                     % lines[1].split("back after ")[1].split(" ")[0]], lines
    h.logged_at -= HEALTH_LOG_INTERVAL  # as if the interval had passed
    with caplog.at_level(logging.WARNING, logger="respd.sql"):
        h.failed("connection to the database failed: Connection refused")
    assert caplog.records[-1].getMessage().endswith("Connection refused (20 short outages since the last line)")


async def test_public_reason_hides_where_the_database_is():
    for text in ('connection failed: connection to server at "10.0.0.5", port 5433 failed: Connection refused',
                 'connection to server at "db.example" (10.0.0.5), port 5433 failed: timeout expired',
                 'connection to server on socket "/run/pg/.s.PGSQL.5433" failed: No such file or directory',
                 "could not resolve host 'db.example'"):
        out = public_reason(text)
        assert "10.0.0.5" not in out and "5433" not in out and "db.example" not in out and "/run/pg" not in out
        assert "database" in out
    assert public_reason("no reply within 5s") == "no reply within 5s"


async def test_multi_cut_by_a_freeze_is_rolled_back_and_says_so(own_server, table):
    """MULTI/EXEC semantics: each command's error is kept and the block goes on to its COMMIT. A statement that
    timed out closed the connection before any COMMIT, so the transaction is rolled back, and the error says so
    (not "outcome unknown")."""
    s = await make_store(own_server, table)
    try:
        reasons = []
        with pytest.raises(StoreUnavailable) as ei:
            async with s.transaction():
                await s.set(b"a", b"1")
                for pid in cluster_pids(own_server.data):
                    os.kill(pid, signal.SIGSTOP)
                try:
                    for key in (b"b", b"c"):
                        try:
                            await s.set(key, b"1")
                        except StoreUnavailable as ex:
                            reasons.append(ex.reason)
                finally:
                    resume(own_server.data)
        assert len(reasons) == 2 and "outcome unknown" not in ei.value.reason, ei.value.reason
        assert "rolled back" in ei.value.reason
    finally:
        await s.aclose()
    await _settled(own_server)
    s = await make_store(own_server, table)
    try:
        assert await s.mget([b"a", b"b", b"c"]) == [None, None, None]
    finally:
        await s.aclose()
