"""Lists, sorted sets and blocking pops through real clients (issue 15) on redis-server (the reference), a respd
memory store and a respd SQL store (``tests.integration.scripting_targets``); Celery has a module of its own
(test_lists_zsets_celery.py: its workers are shared by its tests, which must not flush the broker between them).

* ``limits``' moving window (the rate limiter under Flask-Limiter and slowapi): a list per limit, kept by two Lua
  scripts (LPUSH/LTRIM/EXPIRE to acquire, LINDEX in a binary search to count), sync and asyncio;
* redis-py's blocking pops BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, sync and asyncio, RESP2 and RESP3: served at
  once, timing out with None, blocked (timeout 0 = forever) and served by another client's push, FIFO among
  waiters, non-blocking inside MULTI, CLIENT UNBLOCK, Redis' errors;
* RQ: a burst worker (``rq worker --burst``, a process of its own) runs enqueued jobs: its registries are sorted
  sets, it dequeues with LMOVE; on respd a strict xfail until streams exist, since RQ 3 keeps each job's result in
  a stream (XADD in the transaction that finishes the job, XREVRANGE to read it); scheduled and dependent jobs,
  RQ's scheduler, and a worker's dequeue with a timeout (BLMOVE), without a worker;
* ioredis' BLPOP/BRPOP/BLMOVE served by a push (tests/integration/js/blocking.js);
* redis-py's blocking sorted-set pops BZPOPMIN/BZPOPMAX/BZMPOP (the sorted-set API through redis-py is
  test_zsets_clients.py's, with the sorted sets).

No timing is asserted anywhere: a pop with a short timeout must answer None, how long it took is not checked.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import redis

from tests.helpers import REPO_ROOT
from tests.integration.scripting_targets import async_client, sql_respd, sync_client, target  # noqa: F401
from tests.integration.test_scripting_cli_node import ioredis  # noqa: F401  (fixture: npm ci'd ioredis)
from tests.integration.test_scripting_django_limits import in_threads

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

matrix = pytest.mark.parametrize("proto,parser", [(2, "hiredis"), (2, "python"), (3, "hiredis"), (3, "python")])

WAIT = 30  # seconds any single wait may take before the test fails (never a timed assertion)
SHORT = 0.05  # a pop's timeout when it is meant to time out

#: respd's missing parts, by what a test needs: a test needing one of these is a strict xfail on respd targets (RQ's
#: worker runs jobs by LMOVE in burst mode, with sorted sets for its registries: only the streams are missing)
MISSING: dict = {
    "streams": "RQ 3 saves each job's result with XADD and reads it back with XREVRANGE: respd has no streams "
               "(no issue yet)",
}


def needs(request, target, *parts):
    """Mark this test a strict xfail on a respd target while one of ``parts`` (keys of MISSING) is missing."""
    if target.kind == "redis":
        return
    missing = [MISSING[p] for p in parts if p in MISSING]
    if missing:
        request.applymarker(pytest.mark.xfail(strict=True, reason="; ".join(missing)))


# ------------------------------------------------------------------------------------------------ waiting helpers
BLOCKING = {"blpop", "brpop", "blmove", "brpoplpush", "blmpop"}


def wait_blocked(admin: redis.Redis, name: str, fut=None) -> None:
    """Until the connection named ``name`` is blocked (CLIENT LIST: flag ``b``, ``cmd`` a blocking pop); polled.
    ``fut``: the call's future, whose early end (an error, a reply) is reported at once."""
    wait_blocked_on(admin, name, fut, BLOCKING)


def wait_blocked_on(admin: redis.Redis, name: str, fut, commands) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        if fut is not None and fut.done():
            pytest.fail("%s answered instead of blocking: %r" % (name, fut.result()))
        mine = [c for c in admin.client_list() if c.get("name") == name]
        if any(c.get("cmd") in commands and "b" in c.get("flags", "") for c in mine):
            return
        assert time.monotonic() < deadline, "%s never blocked: %r" % (name, mine)
        time.sleep(0.01)


async def await_blocked(admin, name: str, task=None) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        if task is not None and task.done():
            pytest.fail("%s answered instead of blocking: %r" % (name, task.result()))
        mine = [c for c in await admin.client_list() if c.get("name") == name]
        if any(c.get("cmd") in BLOCKING and "b" in c.get("flags", "") for c in mine):
            return
        assert time.monotonic() < deadline, "%s never blocked: %r" % (name, mine)
        await asyncio.sleep(0.01)


def pair(reply):
    """BLPOP/BRPOP's reply as a tuple (redis-py gives a tuple on RESP2, a list on RESP3), None stays None."""
    return None if reply is None else tuple(reply)


# ------------------------------------------------------------------------------------------------ limits
@pytest.fixture
def storage(target):
    from limits.storage import RedisStorage
    s = RedisStorage(target.url, socket_timeout=WAIT)
    yield s
    s.get_connection().connection_pool.disconnect()


def test_limits_moving_window(target, storage):
    from limits import RateLimitItemPerHour, RateLimitItemPerMinute
    from limits.strategies import MovingWindowRateLimiter
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerHour(5)  # an hour: no entry leaves the window during the test
    before = time.time()
    assert [limiter.hit(item, "user", "a") for _ in range(6)] == [True] * 5 + [False]
    after = time.time()
    assert limiter.test(item, "user", "a") is False
    stats = limiter.get_window_stats(item, "user", "a")
    assert stats.remaining == 0
    assert before + 3600 - 1 <= stats.reset_time <= after + 3600 + 1  # the oldest entry + the window

    with target.client() as r:
        [key] = [k for k in r.keys("*") if b"user/a" in k]
        assert r.type(key) == b"list" and r.llen(key) == 5  # LTRIM kept the limit's number of entries
        assert 3590 <= r.ttl(key) <= 3600
        entries = [float(x) for x in r.lrange(key, 0, -1)]
        assert entries == sorted(entries, reverse=True)  # LPUSH: the newest first
        oldest, count = storage.get_moving_window(item.key_for("user", "a"), 5, 3600)
        assert count == 5
        assert oldest == float("%.14g" % entries[-1])  # Lua's tostring of a number: 14 significant digits

    assert limiter.test(item, "user", "b") is True  # another identifier has its own list
    assert limiter.hit(item, "user", "b", cost=4) is True
    assert limiter.test(item, "user", "b", cost=2) is False
    assert limiter.hit(item, "user", "b", cost=2) is False  # refused: nothing was pushed
    assert limiter.get_window_stats(item, "user", "b").remaining == 1
    assert limiter.hit(item, "user", "b") is True
    assert limiter.hit(item, "user", "c", cost=6) is False  # more than the limit at once
    assert limiter.get_window_stats(item, "user", "c").remaining == 5

    limiter.clear(item, "user", "a")
    assert limiter.get_window_stats(item, "user", "a").remaining == 5
    assert limiter.hit(item, "user", "a") is True
    assert limiter.get_window_stats(item, "user", "a").remaining == 4

    minute = RateLimitItemPerMinute(3)  # a second limit beside the first: keys of their own
    assert [limiter.hit(minute, "user", "a") for _ in range(4)] == [True, True, True, False]
    assert limiter.get_window_stats(item, "user", "a").remaining == 4


def test_limits_moving_window_exact_under_threads(target, storage):
    from limits import RateLimitItemPerHour
    from limits.strategies import MovingWindowRateLimiter
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerHour(100)
    passed = in_threads(lambda i: sum(limiter.hit(item, "busy") for _ in range(50)))
    assert sum(passed) == 100  # 4 threads x 50 hits: exactly the limit passes (each script runs atomically)
    assert limiter.get_window_stats(item, "busy").remaining == 0
    with target.client() as r:
        [key] = r.keys("*busy*")
        assert r.llen(key) == 100


def test_limits_moving_window_asyncio(target):
    pytest.importorskip("limits.aio.storage")
    asyncio.run(_limits_asyncio(target))  # pytest runs async tests under trio: asyncio gets a loop of its own


async def _limits_asyncio(target):
    from limits import RateLimitItemPerHour
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter
    storage = RedisStorage(target.url, implementation="redispy", socket_timeout=WAIT)
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerHour(10)
    hits = await asyncio.gather(*(limiter.hit(item, "async") for _ in range(15)))
    assert sorted(hits) == [False] * 5 + [True] * 10
    assert (await limiter.get_window_stats(item, "async")).remaining == 0
    assert await limiter.test(item, "async") is False
    await limiter.clear(item, "async")
    assert await limiter.hit(item, "async", cost=10) is True
    assert (await limiter.get_window_stats(item, "async")).remaining == 0


# ------------------------------------------------------------------------------------------------ blocking, sync
def unique(name: str) -> str:
    """A connection name no other test uses (CLIENT LIST is server-wide)."""
    return "%s-%s" % (name, uuid.uuid4().hex[:8])


def waiter(target, proto, parser, name):
    r = sync_client(target, proto, parser)
    r.client_setname(name)
    return r


@matrix
def test_blocking_pops_answer_at_once_or_time_out(target, proto, parser):
    r = sync_client(target, proto, parser)
    try:
        r.rpush("q", "a", "b", "c", "d")
        assert pair(r.blpop(["empty", "q"], timeout=1)) == ("q", "a")  # the first non-empty key, in key order
        assert pair(r.brpop(["q", "empty"], timeout=1)) == ("q", "d")
        assert r.blmove("q", "dst", 1, "LEFT", "RIGHT") == "b"
        assert r.brpoplpush("q", "dst", 1) == "c"  # the last element: q is gone
        assert r.exists("q") == 0 and r.lrange("dst", 0, -1) == ["c", "b"]
        assert r.blmpop(1, 2, "empty", "dst", direction="RIGHT", count=5) == ["dst", ["b", "c"]]
        assert r.exists("dst") == 0

        assert r.blpop(["q", "empty"], timeout=SHORT) is None
        assert r.brpop(["q"], timeout=SHORT) is None
        assert r.blmove("q", "dst", SHORT, "RIGHT", "LEFT") is None
        assert r.brpoplpush("q", "dst", SHORT) is None
        assert r.blmpop(SHORT, 1, "q", direction="LEFT") is None
        assert r.exists("q", "dst") == 0  # a timeout creates nothing

        r.set("s", "x")
        for call in (lambda: r.blpop(["s"], timeout=1), lambda: r.brpop(["empty", "s"], timeout=1),
                     lambda: r.blmove("s", "dst", 1), lambda: r.blmpop(1, 1, "s", direction="LEFT")):
            with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
                call()
        r.rpush("l", "1")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.blmove("l", "s", 1)  # the destination is a string: nothing moves
        assert r.lrange("l", 0, -1) == ["1"]
        with pytest.raises(redis.ResponseError, match="timeout is negative"):
            r.blpop(["l"], timeout=-1)
        with pytest.raises(redis.ResponseError, match="timeout is not a float or out of range"):
            r.execute_command("BLPOP", "l", "soon")
        with pytest.raises(redis.ResponseError, match="count should be greater than 0"):
            r.blmpop(1, 1, "l", direction="LEFT", count=0)

        pipe = r.pipeline(transaction=True)  # inside MULTI a blocking pop does not block
        pipe.blpop(["none"], timeout=0).brpoplpush("none", "x", 0).blmpop(0, 1, "none", direction="LEFT")
        pipe.blpop(["l"], timeout=0)
        assert [pair(x) if isinstance(x, (list, tuple)) else x for x in pipe.execute()] == [None, None, None,
                                                                                          ("l", "1")]
    finally:
        r.connection_pool.disconnect()  # a pool given to the client is not closed by it


@matrix
def test_blocking_pops_served_by_another_clients_push(target, proto, parser):
    r = sync_client(target, proto, parser)
    waiters = []
    pool = ThreadPoolExecutor(8)

    def blocked(name, call):
        """Start ``call(client)`` in a thread on a connection of its own; return its future once it blocks."""
        name = unique(name)
        w = waiter(target, proto, parser, name)
        waiters.append(w)
        fut = pool.submit(call, w)
        wait_blocked(r, name, fut)
        fut.name = name
        return fut

    try:
        fut = blocked("w-blpop", lambda w: w.blpop(["q1", "q2"], timeout=0))  # 0: forever
        assert r.rpush("q2", "x", "y") == 2
        assert pair(fut.result(WAIT)) == ("q2", "x")
        assert r.lrange("q2", 0, -1) == ["y"]  # the waiter took exactly one element

        fut = blocked("w-brpop", lambda w: w.brpop(["q3"], timeout=WAIT))
        r.lpush("q3", "a", "b")
        assert pair(fut.result(WAIT)) == ("q3", "a")

        fut = blocked("w-blmove", lambda w: w.blmove("src", "dst", 0, "RIGHT", "LEFT"))
        r.rpush("dst", "old")
        r.rpush("src", "1", "2")
        assert fut.result(WAIT) == "2"
        assert r.lrange("dst", 0, -1) == ["2", "old"] and r.lrange("src", 0, -1) == ["1"]

        r.delete("src")
        fut = blocked("w-brpoplpush", lambda w: w.brpoplpush("src", "src", 0))  # a rotation onto itself
        r.rpush("src", "only")
        assert fut.result(WAIT) == "only" and r.lrange("src", 0, -1) == ["only"]

        fut = blocked("w-blmpop", lambda w: w.blmpop(0, 2, "m1", "m2", direction="LEFT", count=3))
        r.rpush("m2", "a", "b", "c", "d")
        assert fut.result(WAIT) == ["m2", ["a", "b", "c"]]

        # FIFO: the client blocked first is served first, one element each
        first = blocked("w-first", lambda w: w.blpop(["fifo"], timeout=0))
        second = blocked("w-second", lambda w: w.blpop(["fifo"], timeout=0))
        r.rpush("fifo", "1")
        assert pair(first.result(WAIT)) == ("fifo", "1")
        assert not second.done()  # still blocked: nothing for it yet
        r.rpush("fifo", "2", "3")
        assert pair(second.result(WAIT)) == ("fifo", "2")
        assert r.lrange("fifo", 0, -1) == ["3"]

        # filled and emptied in one transaction: nobody is woken, the waiter stays blocked
        late = blocked("w-late", lambda w: w.blpop(["tx"], timeout=0))
        pipe = r.pipeline(transaction=True)
        pipe.rpush("tx", "gone").lpop("tx")
        assert pipe.execute() == [1, "gone"]
        wait_blocked(r, late.name, late)
        assert not late.done()
        r.rpush("tx", "kept")
        assert pair(late.result(WAIT)) == ("tx", "kept")

        # CLIENT UNBLOCK: as if its timeout ended (None), or with an -UNBLOCKED error
        name = unique("w-unblock")
        unblocked = waiter(target, proto, parser, name)
        waiters.append(unblocked)
        wid = unblocked.client_id()
        fut = pool.submit(lambda: unblocked.brpop(["nothing"], timeout=0))
        wait_blocked(r, name, fut)
        assert r.client_unblock(wid) is True
        assert fut.result(WAIT) is None
        fut = pool.submit(lambda: unblocked.blmove("nothing", "dst2", 0))
        wait_blocked(r, name, fut)
        assert r.client_unblock(wid, error=True) is True
        with pytest.raises(redis.ResponseError, match="^UNBLOCKED client unblocked via CLIENT UNBLOCK"):
            fut.result(WAIT)
        assert r.client_unblock(wid) is False  # not blocked any more
        assert r.exists("nothing", "dst2") == 0

        # a waiter timing out leaves the key to the next push
        assert waiters[0].blpop(["never"], timeout=SHORT) is None
        r.rpush("never", "z")
        assert r.lrange("never", 0, -1) == ["z"]
    finally:
        for w in waiters:  # a waiter still blocked after a failure: its connection closed under it
            w.connection_pool.disconnect()
        pool.shutdown(wait=False)
        r.connection_pool.disconnect()


# ------------------------------------------------------------------------------------------------ blocking, asyncio
@matrix
def test_blocking_pops_asyncio(target, proto, parser):
    asyncio.run(_blocking_asyncio(target, proto, parser))


async def _blocking_asyncio(target, proto, parser):
    r = async_client(target, proto, parser)
    w1, w2 = async_client(target, proto, parser), async_client(target, proto, parser)
    try:
        n1, n2 = unique("aw-1"), unique("aw-2")
        await w1.client_setname(n1)
        await w2.client_setname(n2)
        assert await r.blpop(["nothing"], timeout=SHORT) is None
        assert await r.blmpop(SHORT, 2, "n1", "n2", direction="RIGHT", count=2) is None
        assert await r.blmove("nothing", "x", SHORT) is None

        one = asyncio.create_task(w1.brpop(["jobs"], timeout=0))
        await await_blocked(r, n1, one)
        two = asyncio.create_task(w2.blmove("jobs", "working", 0, "RIGHT", "LEFT"))
        await await_blocked(r, n2, two)
        assert await r.lpush("jobs", "j1") == 1
        assert pair(await asyncio.wait_for(one, WAIT)) == ("jobs", "j1")
        assert not two.done()
        assert await r.lpush("jobs", "j2", "j3") == 2
        assert await asyncio.wait_for(two, WAIT) == "j2"
        assert await r.lrange("jobs", 0, -1) == ["j3"] and await r.lrange("working", 0, -1) == ["j2"]

        many = [asyncio.create_task(c.blpop(["fan"], timeout=WAIT)) for c in (w1, w2)]
        await await_blocked(r, n1, many[0])
        await await_blocked(r, n2, many[1])
        await r.rpush("fan", "a", "b", "c")
        got = sorted(pair(x)[1] for x in await asyncio.wait_for(asyncio.gather(*many), WAIT))
        assert got == ["a", "b"] and await r.lrange("fan", 0, -1) == ["c"]
    finally:
        for c in (r, w1, w2):
            await c.aclose()
            await c.connection_pool.disconnect()  # a pool given to the client is not closed by it


# ------------------------------------------------------------------------------------------------ RQ
def rq_worker(url: str, *queues: str) -> subprocess.CompletedProcess:
    """``rq worker --burst``: a worker process of its own runs every job queued, then exits."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", url, *queues],
                          cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_rq_burst_worker_runs_jobs(request, target):
    pytest.importorskip("rq")
    needs(request, target, "streams")
    from rq import Queue
    from rq.job import JobStatus
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
    from tests.integration import rq_jobs
    with target.client() as r:
        q = Queue("default", connection=r)
        added = q.enqueue(rq_jobs.add, 2, 3)
        noted = q.enqueue(rq_jobs.note, "rq:note", "written by the job")
        broken = q.enqueue(rq_jobs.fail, "on purpose")
        assert q.count == 3
        cp = rq_worker(target.url, "default")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert q.count == 0
        assert added.get_status(refresh=True) == JobStatus.FINISHED and added.return_value() == 5
        assert noted.get_status(refresh=True) == JobStatus.FINISHED and r.get("rq:note") == b"written by the job"
        assert broken.get_status(refresh=True) == JobStatus.FAILED
        assert "on purpose" in broken.latest_result().exc_string
        assert set(FinishedJobRegistry(queue=q).get_job_ids()) == {added.id, noted.id}
        assert FailedJobRegistry(queue=q).get_job_ids() == [broken.id]
        assert StartedJobRegistry(queue=q).get_job_ids() == []
        assert r.type(FinishedJobRegistry(queue=q).key) == b"zset"


def test_rq_burst_worker_runs_jobs_that_keep_no_result(target):
    """RQ's burst worker running jobs with ``result_ttl=0`` (no result kept, so no stream): the jobs run (their side
    effects are there), the queue empties, nothing is left started. On respd this is what works until streams exist
    (the test above keeps results, which RQ 3 writes with XADD)."""
    pytest.importorskip("rq")
    from rq import Queue
    from rq.registry import StartedJobRegistry
    from tests.integration import rq_jobs
    with target.client() as r:
        q = Queue("noresult", connection=r)
        for i in range(3):
            q.enqueue(rq_jobs.note, "rq:ran:%d" % i, "job %d" % i, result_ttl=0)
        assert q.count == 3
        cp = rq_worker(target.url, "noresult")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert q.count == 0
        assert [r.get("rq:ran:%d" % i) for i in range(3)] == [b"job 0", b"job 1", b"job 2"]
        assert StartedJobRegistry(queue=q).get_job_ids() == []


def test_rq_scheduled_and_dependent_jobs(target):
    """RQ's registries without a worker: scheduled jobs (a sorted set scored by the time they are due) moved to
    their queue by RQ's scheduler when due; a job deferred until another finishes; the worker's dequeue
    (BLMOVE onto the intermediate queue, a timeout when nothing is queued)."""
    pytest.importorskip("rq")
    from rq import Queue
    from rq.exceptions import DequeueTimeout
    from rq.job import JobStatus
    from rq.registry import DeferredJobRegistry, ScheduledJobRegistry
    from rq.scheduler import RQScheduler
    from tests.integration import rq_jobs
    with target.client() as r:
        q = Queue("sched", connection=r)
        later = q.enqueue_in(timedelta(hours=1), rq_jobs.add, 1, 1)
        due = q.enqueue_at(datetime.now(timezone.utc) - timedelta(seconds=5), rq_jobs.add, 2, 2)
        scheduled = ScheduledJobRegistry(queue=q)
        assert later.get_status() == JobStatus.SCHEDULED and scheduled.count == 2
        assert scheduled.get_job_ids() == [due.id, later.id]  # by due time
        assert abs(scheduled.get_scheduled_time(later) - (datetime.now(timezone.utc) + timedelta(hours=1))) \
            < timedelta(minutes=5)
        assert q.count == 0
        scheduler = RQScheduler([q], connection=r)
        scheduler.acquire_locks()  # the scheduler of a queue holds its lock (a key with a TTL)
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()
        assert q.job_ids == [due.id] and scheduled.get_job_ids() == [later.id]
        assert due.get_status(refresh=True) == JobStatus.QUEUED

        parent = q.enqueue(rq_jobs.add, 3, 3)
        child = q.enqueue(rq_jobs.add, 4, 4, depends_on=parent)
        assert child.get_status() == JobStatus.DEFERRED
        assert DeferredJobRegistry(queue=q).get_job_ids() == [child.id]
        assert q.job_ids == [due.id, parent.id]

        job, queue = Queue.dequeue_any([q], timeout=1, connection=r)  # what a worker does to take a job
        assert job.id == due.id and queue.name == "sched"
        job, _ = Queue.dequeue_any([q], timeout=1, connection=r)
        assert job.id == parent.id and q.count == 0
        with pytest.raises(DequeueTimeout):
            Queue.dequeue_any([q], timeout=1, connection=r)  # nothing queued: BLMOVE times out

        later.cancel()
        assert later.get_status(refresh=True) == JobStatus.CANCELED and scheduled.count == 0
        later.delete()
        assert r.exists(later.key) == 0


# ------------------------------------------------------------------------------------------------ ioredis
def test_ioredis_blocking_pops(ioredis, target):
    cp = subprocess.run(["node", "blocking.js", str(target.port), str(target.db)], cwd=ioredis,
                        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert json.loads(cp.stdout) == {
        "now": ["q", "a"], "timeout": None, "timeoutBrpop": None,
        "served": ["q2", "x"], "servedBrpop": ["q3", "a"], "blmove": "m", "left": ["y"],
        "wrongtype": "WRONGTYPE Operation against a key holding the wrong kind of value",
        "negative": "ERR timeout is negative",
    }


# ------------------------------------------------------------------------------------------------ sorted sets
def scored(reply) -> list:
    """A WITHSCORES reply as [(member, score)...] whatever its shape (flat, pairs, lists)."""
    if reply and not isinstance(reply[0], (list, tuple)):
        reply = list(zip(reply[0::2], reply[1::2]))
    return [(m, float(s)) for m, s in reply]


@matrix
def test_blocking_sorted_set_pops(target, proto, parser):
    r = sync_client(target, proto, parser)
    name = unique("zwaiter")
    w = waiter(target, proto, parser, name)
    pool = ThreadPoolExecutor(2)
    try:
        r.zadd("z", {"a": 1, "b": 2, "c": 3})
        assert tuple(r.bzpopmin(["none", "z"], timeout=1)) == ("z", "a", 1.0)
        assert tuple(r.bzpopmax("z", timeout=1)) == ("z", "c", 3.0)
        assert r.bzpopmin("none", timeout=SHORT) is None and r.bzpopmax(["none"], timeout=SHORT) is None
        assert r.bzmpop(SHORT, 1, ["none"], min=True) is None

        fut = pool.submit(lambda: w.bzpopmax(["z2"], timeout=0))
        wait_blocked_on(r, name, fut, {"bzpopmax"})
        r.zadd("z2", {"lo": -1, "hi": 1})
        assert tuple(fut.result(WAIT)) == ("z2", "hi", 1.0)

        fut = pool.submit(lambda: w.bzmpop(0, 2, ["z3", "z4"], min=True, count=2))
        wait_blocked_on(r, name, fut, {"bzmpop"})
        r.zadd("z4", {"p": 5, "q": 6, "s": 7})
        got = fut.result(WAIT)
        assert got[0] == "z4" and scored(got[1]) == [("p", 5.0), ("q", 6.0)]
        r.set("str", "v")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.bzpopmin(["str"], timeout=1)
    finally:
        w.connection_pool.disconnect()
        pool.shutdown(wait=False)
        r.connection_pool.disconnect()
