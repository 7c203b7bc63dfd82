"""Celery with its Redis broker (issue 15) on redis-server (the reference), a respd memory store and a respd SQL
store: two real worker processes (``celery -A tests.integration.celery_tasks worker``, solo pool) consume the
tasks this process sends, each task once. The broker's commands: LPUSH to publish, BRPOP to consume, a hash and a
sorted set for the messages delivered and not acknowledged yet (HSET/ZADD, HDEL/ZREM), sets for the exchange
bindings. Results come back through Celery's ``rpc://`` backend (a reply list, LPUSH/BRPOP) because the Redis
result backend needs PUBLISH/SUBSCRIBE, which respd has no sooner than issue 16; for the same reason the workers
run without remote control, events, gossip, mingle and heartbeats (all broadcast over pub/sub): see
celery_tasks.py.

A fourth target, ``sql-2-nodes``: the first worker's broker is one respd node, the client's and the second
worker's another, on one SQL table, so tasks and results cross nodes (BRPOP on one node woken by an LPUSH on the
other).

The two workers of a target serve the whole module (a worker start takes seconds): the tests share the broker's
database, so each uses keys of its own and none flushes it.

Before issue 15: ``unknown command 'BRPOP'`` on respd (the worker never takes a task), and ``'ZADD'`` once it did.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.helpers import REPO_ROOT, RespdProcess, sql_registry, write_registry
from tests.integration.celery_tasks import make_app
from tests.integration.scripting_targets import sql_respd  # noqa: F401  (fixture)
from tests.pgserver import pg_server  # noqa: F401  (fixture)

pytest.importorskip("celery")

#: respd targets on which a part Celery needs is still missing: kind -> reason (a strict xfail until it lands)
MISSING: dict = {}

KINDS = [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=MISSING[k])) if k in MISSING else k
         for k in ("redis", "memory", "sql", "sql-2-nodes")]

WAIT = 60  # seconds any single wait may take before the test fails (never a timed assertion)


@dataclass
class Workers:
    """Two worker processes sharing the task queue: the first on ``url``, the second on ``client_url``."""
    kind: str
    url: str         # the first worker's broker
    client_url: str  # the test's and the second worker's: another respd node on the same table for "sql-2-nodes"
    procs: list      # subprocess.Popen, one per worker
    logs: list       # Path of each worker's log
    marks: list      # each log's length when the current test began

    def log_text(self) -> str:
        return "\n".join("--- worker %d:\n%s" % (i + 1, log.read_text(errors="replace")[-4000:])
                         for i, log in enumerate(self.logs))

    def mark(self) -> None:
        self.marks = [len(log.read_text(errors="replace")) for log in self.logs]

    def new_errors(self) -> bool:
        """Whether a worker died, or logged a server error since the current test began (the failing tasks of
        the tests log their own tracebacks: not these)."""
        for proc, log, mark in zip(self.procs, self.logs, self.marks):
            new = log.read_text(errors="replace")[mark:]
            if proc.poll() is not None or "ResponseError" in new or "unknown command" in new:
                return True
        return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.client_url, socket_timeout=WAIT)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # a warm shutdown
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def start_worker(url: str, log: Path, n: int) -> subprocess.Popen:
    env = dict(os.environ, RESPD_CELERY_BROKER=url, PYTHONPATH=str(REPO_ROOT))
    # no pub/sub in respd before issue 16: no gossip, mingle, heartbeats (and, in celery_tasks.py, no remote
    # control and no events)
    argv = [sys.executable, "-m", "celery", "-A", "tests.integration.celery_tasks", "worker", "--pool", "solo",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
            "--hostname", "respd-tests-%d@%%h" % n]
    with open(log, "wb") as out:
        return subprocess.Popen(argv, cwd=str(REPO_ROOT), env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def sql_nodes(pg_server, tmp_path_factory):
    """Two respd nodes whose database 1 is one SQL store (one table): the worker on one, the client on the other,
    so each task and each result crosses nodes (a BRPOP on one node woken by an LPUSH on the other)."""
    d = tmp_path_factory.mktemp("celery-sql-nodes")
    config = write_registry(d, "sql.yaml", sql_registry(pg_server.dsn, "celery_" + d.name.replace("-", "_"),
                                                        pool_max=8, command_timeout="10s", connect_timeout="10s"))
    nodes = [RespdProcess(configs=[config]).start(timeout=60) for _ in range(2)]
    yield nodes
    for n in nodes:
        n.stop()


@pytest.fixture(scope="module", params=KINDS)
def worker(request, tmp_path_factory):
    if request.param == "redis":
        servers, db = [request.getfixturevalue("redis_server")] * 2, 0
    elif request.param == "memory":
        servers, db = [request.getfixturevalue("respd_server")] * 2, 0
    elif request.param == "sql":
        servers, db = [request.getfixturevalue("sql_respd")] * 2, 1
    else:
        servers, db = request.getfixturevalue("sql_nodes"), 1
    for server in servers:
        if not server.alive():
            pytest.fail("the %s server died:\n%s" % (request.param, server.stderr_text()))
    url, client_url = ("redis://127.0.0.1:%d/%d" % (server.port, db) for server in servers)
    with redis.Redis.from_url(url) as r:
        r.flushdb()
    d = tmp_path_factory.mktemp("celery")
    w = Workers(request.param, url, client_url, [], [d / "worker-1.log", d / "worker-2.log"], [0, 0])
    try:
        for n, (broker, log) in enumerate(zip((url, client_url), w.logs), 1):
            w.procs.append(start_worker(broker, log, n))
        deadline = time.monotonic() + WAIT
        while not all(" ready." in log.read_text(errors="replace") for log in w.logs):
            if any(p.poll() is not None for p in w.procs) or time.monotonic() > deadline:
                pytest.fail("the Celery workers did not start:\n" + w.log_text())
            time.sleep(0.1)
        yield w
    finally:
        w.stop()


@pytest.fixture(autouse=True)
def log_mark(worker):
    worker.mark()


@pytest.fixture(scope="module")
def app(worker):
    a = make_app(worker.client_url)
    yield a
    a.close()


def get(result, worker, **kw):
    """The task's result, waited for a second at a time: a worker that died or logged an error ends the wait at
    once, with its log."""
    from celery.exceptions import TimeoutError as ResultTimeout
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return result.get(timeout=1, **kw)
        except ResultTimeout:
            if worker.new_errors() or time.monotonic() > deadline:
                pytest.fail("no result; the workers' logs:\n" + worker.log_text())


def test_a_task_runs_in_the_worker(app, worker):
    assert get(app.tasks["respd.add"].delay(2, 3), worker) == 5
    assert get(app.send_task("respd.add", args=("ab", "cd")), worker) == "abcd"


def test_many_tasks_each_run_once(app, worker):
    results = [app.tasks["respd.add"].delay(i, 1000) for i in range(60)]
    assert [get(r, worker) for r in results] == [i + 1000 for i in range(60)]
    records = [app.tasks["respd.record"].delay("celery:done", i) for i in range(40)]
    assert sorted(get(r, worker) for r in records) == list(range(1, 41))  # RPUSH's lengths: each once
    with worker.client() as r:
        assert sorted(int(x) for x in r.lrange("celery:done", 0, -1)) == list(range(40))


def test_two_workers_run_each_task_once(app, worker):
    """Two workers (on two nodes for "sql-2-nodes") take tasks from one queue: each of 120 runs exactly once
    (which worker runs how many is not asserted)."""
    results = [app.tasks["respd.claim"].delay("celery:claims", n) for n in range(120)]
    assert sorted(get(r, worker) for r in results) == list(range(120))
    with worker.client() as r:
        claims = [x.decode().split() for x in r.lrange("celery:claims", 0, -1)]
    assert sorted(int(n) for _, n in claims) == list(range(120))  # none twice, none lost
    assert {host.split("@")[0] for host, _ in claims} <= {"respd-tests-1", "respd-tests-2"}


def test_a_result_waited_for_with_blpop(app, worker):
    """The task pushes its result on a list; the client waits for it with BLPOP (no result backend involved)."""
    with worker.client() as r:
        app.tasks["respd.record"].delay("celery:reply", "hello")
        assert r.blpop(["celery:reply"], timeout=WAIT) == (b"celery:reply", b"hello")
        assert r.blpop(["celery:reply"], timeout=0.1) is None  # nothing more: a timeout answers None


def test_a_failing_task_reports_its_exception(app, worker):
    res = app.tasks["respd.fail"].delay("broken on purpose")
    with pytest.raises(ValueError, match="broken on purpose"):
        get(res, worker)
    assert res.state == "FAILURE"
    assert get(res, worker, propagate=False).args == ("broken on purpose",)


def test_retries_are_new_messages(app, worker):
    assert get(app.tasks["respd.flaky"].delay("celery:tries"), worker) == 3
    with worker.client() as r:
        assert r.get("celery:tries") == b"3"


def test_a_countdown_task_waits_in_the_unacked_index(app, worker):
    """A task with an ETA is held by the worker unacknowledged (its message in the ``unacked`` hash, its tag in
    the ``unacked_index`` sorted set) until it is due, then run and acknowledged."""
    assert get(app.tasks["respd.add"].apply_async((20, 22), countdown=1), worker) == 42


def test_the_broker_is_left_clean(app, worker):
    """After everything above was consumed and acknowledged: the task queue is empty and the unacked hash and
    index hold nothing (HDEL/ZREM on every ack); the queue's binding is a set member."""
    get(app.tasks["respd.add"].delay(0, 0), worker)
    with worker.client() as r:
        deadline = time.monotonic() + WAIT  # the ack follows the result by a moment: polled, not timed
        while (r.hlen("unacked") or r.zcard("unacked_index")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.llen("celery") == 0
        assert r.hlen("unacked") == 0 and r.zcard("unacked_index") == 0
        assert r.type("unacked_index") in (b"zset", b"none")
        assert any(m.startswith(b"celery\x06\x16") for m in r.smembers("_kombu.binding.celery"))


def test_a_held_task_goes_back_to_the_queue_at_shutdown(app, worker):
    """The last test of a target (it stops the workers): a task due in an hour is held by a worker, unacknowledged
    (its message in the ``unacked`` hash, its tag in the ``unacked_index`` sorted set, the queue's list empty);
    the workers' warm shutdown puts it back on the queue (HGET, then LPUSH, ZREM and HDEL in one MULTI under
    WATCH) for the next worker."""
    res = app.tasks["respd.add"].apply_async((1, 1), countdown=3600)
    with worker.client() as r:
        deadline = time.monotonic() + WAIT
        while not (r.hlen("unacked") == 1 and r.llen("celery") == 0):
            assert time.monotonic() < deadline and not worker.new_errors(), worker.log_text()
            time.sleep(0.02)
        assert r.zcard("unacked_index") == 1
        worker.stop()
        assert [p.returncode for p in worker.procs] == [0, 0], worker.log_text()
        assert r.hlen("unacked") == 0 and r.zcard("unacked_index") == 0
        assert r.llen("celery") == 1
        assert json.loads(r.lindex("celery", 0))["headers"]["id"] == res.id
