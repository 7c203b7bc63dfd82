"""redis-py's scripting users (issue 13) on redis-server, a respd memory store and a respd SQL store:
``Lock`` (sync and asyncio: acquire, release, extend, reacquire, blocking timeout, a lock no longer owned) and
``register_script`` (EVALSHA, with EVAL's fallback after SCRIPT FLUSH, alone and in a pipeline), over RESP2 and
RESP3 with hiredis' and redis-py's own parsers.

Before issue 13 a lock was taken (SET NX PX) but never released (EVALSHA was an unknown command): ``with
r.lock("x"):`` left the key behind for good.
"""
from __future__ import annotations

import asyncio
import threading

import pytest
import redis
import redis.asyncio
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError

from tests.integration.scripting_targets import async_client, sql_respd, sync_client, target  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LONG = 60      # seconds: lock timeouts never expire during a test, even on a loaded machine
PATIENCE = 30  # seconds a thread may wait for a free lock before the test fails


matrix = pytest.mark.parametrize("proto,parser", [(2, "hiredis"), (2, "python"), (3, "hiredis"), (3, "python")])


# ------------------------------------------------------------------------------------------------ Lock, sync
@matrix
def test_lock_sync(target, proto, parser):
    r = sync_client(target, proto, parser)
    try:
        lock = r.lock("res", timeout=LONG)
        assert lock.acquire(blocking=False)
        assert lock.owned() and lock.locked()
        assert 0 < r.pttl("res") <= LONG * 1000

        rival = r.lock("res", timeout=LONG, sleep=0.01)
        assert rival.acquire(blocking=True, blocking_timeout=0.05) is False  # blocking timeout: gives up
        assert not rival.owned()

        assert lock.extend(LONG)  # adds to the time left
        assert r.pttl("res") > LONG * 1000
        assert lock.extend(5, replace_ttl=True)
        assert r.pttl("res") <= 5000
        assert lock.reacquire()  # back to the lock's own timeout
        assert 5000 < r.pttl("res") <= LONG * 1000

        lock.release()
        assert r.exists("res") == 0 and not lock.locked()
        with pytest.raises(LockError):
            lock.release()  # already released (redis-py checks its token before asking the server)

        assert rival.acquire(blocking=False)  # free again
        rival.release()
    finally:
        r.close()


@matrix
def test_lock_sync_no_longer_owned(target, proto, parser):
    """The key changed behind the holder's back (it expired and someone else took it): release, extend and
    reacquire are refused by the server-side compare (LockNotOwnedError), and the new holder's key stays."""
    r = sync_client(target, proto, parser)
    try:
        lock = r.lock("res", timeout=LONG)
        assert lock.acquire(blocking=False)
        r.set("res", "someone-else", px=LONG * 1000)
        assert not lock.owned()
        with pytest.raises(LockNotOwnedError):
            lock.extend(10)
        with pytest.raises(LockNotOwnedError):
            lock.reacquire()
        with pytest.raises(LockNotOwnedError):
            lock.release()
        assert r.get("res") in ("someone-else", b"someone-else")
    finally:
        r.close()


def test_lock_without_timeout_is_released(target):
    """The issue's silent failure: ``with r.lock(name):`` (no timeout) must not leave the lock held."""
    with target.client() as r:
        with r.lock("plain") as held:
            assert held.owned()
            assert r.ttl("plain") == -1
        assert r.exists("plain") == 0
        with r.lock("plain", blocking_timeout=5):  # can be taken again at once
            pass
        assert r.exists("plain") == 0


def test_lock_from_threads_has_one_holder_at_a_time(target):
    """4 threads × 25 acquisitions of one lock: never two holders, and the counter it guards (a plain GET then
    SET, not atomic by itself) ends exact."""
    holders = [0]
    overlaps = []
    guard = threading.Lock()
    errors = []

    def work():
        try:
            with target.client() as r:
                for _ in range(25):
                    with r.lock("guarded", timeout=LONG, sleep=0.005, blocking_timeout=PATIENCE):
                        with guard:
                            holders[0] += 1
                            if holders[0] != 1:
                                overlaps.append(holders[0])
                        r.set("count", int(r.get("count") or 0) + 1)
                        with guard:
                            holders[0] -= 1
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert overlaps == []
    with target.client() as r:
        assert int(r.get("count")) == 100
        assert r.exists("guarded") == 0


# ------------------------------------------------------------------------------------------------ Lock, asyncio
@matrix
def test_lock_asyncio(target, proto, parser):
    asyncio.run(_lock_asyncio(async_client(target, proto, parser)))  # pytest runs async tests under trio


async def _lock_asyncio(r):
    try:
        lock = r.lock("ares", timeout=LONG)
        assert await lock.acquire(blocking=False)
        assert await lock.owned() and await lock.locked()
        rival = r.lock("ares", timeout=LONG, sleep=0.01)
        assert await rival.acquire(blocking=True, blocking_timeout=0.05) is False
        assert await lock.extend(LONG)
        assert await r.pttl("ares") > LONG * 1000
        assert await lock.reacquire()
        assert await r.pttl("ares") <= LONG * 1000
        await lock.release()
        assert await r.exists("ares") == 0

        async with r.lock("ares", timeout=LONG) as held:  # reacquire after release, as a context manager
            assert await held.owned()
        assert await r.exists("ares") == 0

        assert await lock.acquire(blocking=False)
        await r.set("ares", "someone-else")
        with pytest.raises(LockNotOwnedError):
            await lock.extend(1)
        with pytest.raises(LockNotOwnedError):
            await lock.release()
        assert await r.get("ares") in ("someone-else", b"someone-else")
    finally:
        await r.aclose()


def test_lock_asyncio_tasks_take_turns(target):
    """8 asyncio tasks on one client pool take one lock in turn; the guarded GET+SET counter ends exact."""
    async def main():
        r = redis.asyncio.Redis(host="127.0.0.1", port=target.port, db=target.db, socket_timeout=30)
        holders = [0]
        overlaps = []

        async def task():
            for _ in range(10):
                async with r.lock("atask", timeout=LONG, sleep=0.005, blocking_timeout=PATIENCE):
                    holders[0] += 1
                    if holders[0] != 1:
                        overlaps.append(holders[0])
                    await r.set("acount", int(await r.get("acount") or 0) + 1)
                    holders[0] -= 1
        try:
            await asyncio.gather(*(task() for _ in range(8)))
            assert overlaps == []
            assert int(await r.get("acount")) == 80
            assert await r.exists("atask") == 0
        finally:
            await r.aclose()

    asyncio.run(main())


# ------------------------------------------------------------------------------------------------ register_script
INCRBY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
PAIR = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), tonumber(ARGV[2]) * 2}"


@matrix
def test_register_script(target, proto, parser):
    r = sync_client(target, proto, parser)
    try:
        incrby = r.register_script(INCRBY)
        assert incrby(keys=["n"], args=[5]) == 5  # EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA
        assert r.script_exists(incrby.sha) == [True]
        assert incrby(keys=["n"], args=[2]) == 7  # EVALSHA straight away
        r.script_flush()
        assert r.script_exists(incrby.sha) == [False]
        with pytest.raises(NoScriptError):
            r.evalsha(incrby.sha, 1, "n", 1)
        assert incrby(keys=["n"], args=[3]) == 10  # the fallback again
        pair = r.register_script(PAIR)
        got = pair(keys=["p"], args=["v", 21])
        assert [x.decode() if isinstance(x, bytes) else x for x in got] == ["v", 42]
        assert int(r.get("n")) == 10
    finally:
        r.close()


@matrix
def test_register_script_in_pipeline(target, proto, parser):
    """A pipeline loads its scripts first (SCRIPT EXISTS, SCRIPT LOAD), then sends EVALSHA among other
    commands, in a transaction (MULTI/EXEC) or not."""
    r = sync_client(target, proto, parser)
    try:
        incrby = r.register_script(INCRBY)
        for transaction in (True, False):
            r.script_flush()
            pipe = r.pipeline(transaction=transaction)
            pipe.set("n", 10)
            incrby(keys=["n"], args=[5], client=pipe)
            incrby(keys=["n"], args=[-1], client=pipe)
            pipe.get("n")
            out = pipe.execute()
            assert out[1:3] == [15, 14] and int(out[3]) == 14, (transaction, out)
    finally:
        r.close()


def test_register_script_asyncio(target):
    asyncio.run(_register_script_asyncio(
        redis.asyncio.Redis(host="127.0.0.1", port=target.port, db=target.db, socket_timeout=30)))


async def _register_script_asyncio(r):
    try:
        incrby = r.register_script(INCRBY)
        assert await incrby(keys=["n"], args=[4]) == 4
        await r.script_flush()
        assert await incrby(keys=["n"], args=[4]) == 8
    finally:
        await r.aclose()
