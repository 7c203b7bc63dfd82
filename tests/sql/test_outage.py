"""PostgreSQL going away under a SQLStore: stopped, crashed, hung. Operations fail with StoreUnavailable within
the configured timeout (never hang), other stores keep working, and the store recovers by itself once
PostgreSQL is back. Each test runs its own throwaway server so the session server is never disturbed."""
from __future__ import annotations

import os
import signal

import pytest
import trio

from backends.base import StoreUnavailable
from backends.pg_trio import PgDatabase
from backends.sql import SQLStore
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


async def make_store(srv, table, **kw) -> SQLStore:
    db = PgDatabase("db:outage", srv.dsn, pool_max=4, connect_timeout=TIMEOUT, command_timeout=TIMEOUT)
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
