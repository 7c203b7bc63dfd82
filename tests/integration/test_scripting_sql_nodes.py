"""Scripts across two respd nodes on one SQL table (issue 13): a script's calls run in one PostgreSQL
transaction with its keys locked, so a redis-py lock (SET NX PX to take it, a compare-and-delete script to
release it) has one holder at a time across nodes, and GET + SET in a script is an atomic increment.

The same scenarios run on one redis-server with both "nodes" being that server (the reference).
"""
from __future__ import annotations

import threading

import pytest
import redis

from tests.integration.test_sql_nodes import nodes  # noqa: F401  (fixture: two respd on one table)

LONG = 120  # seconds: a lock's timeout never expires during the test, even on a loaded machine


@pytest.fixture(params=["redis", "sql-nodes"])
def ports(request):
    """(port of node A, port of node B, database)."""
    if request.param == "redis":
        srv = request.getfixturevalue("redis")
        return srv.port, srv.port, 0
    a, b, *_ = request.getfixturevalue("nodes")
    return a.port, b.port, 1


def run_threads(ports, per_node, fn) -> list:
    """``fn(client, who)`` in ``per_node`` threads on each node, each with a client of its own; the list of what
    they returned."""
    errors, results = [], []
    guard = threading.Lock()

    def work(port, who):
        try:
            with redis.Redis(port=port, db=ports[2], socket_timeout=60) as c:
                got = fn(c, who)
            with guard:
                results.append(got)
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append("%s: %r" % (who, e))

    threads = [threading.Thread(target=work, args=(port, "%d-%d" % (n, i)))
               for n, port in enumerate(ports[:2]) for i in range(per_node)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


def test_lock_across_nodes_has_one_holder(ports):
    holders = [0]
    overlaps = []
    taken = []
    guard = threading.Lock()

    def contend(c, who):
        for _ in range(15):
            with c.lock("shared-lock", timeout=LONG, sleep=0.005, blocking_timeout=LONG):
                with guard:
                    holders[0] += 1
                    if holders[0] != 1:
                        overlaps.append((who, holders[0]))
                    taken.append(who)
                c.set("guarded", int(c.get("guarded") or 0) + 1)  # not atomic alone: the lock makes it so
                with guard:
                    holders[0] -= 1

    run_threads(ports, 3, contend)
    assert overlaps == []
    assert len(taken) == 90
    assert {w.split("-")[0] for w in taken} == {"0", "1"}  # both nodes took it
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        assert int(c.get("guarded")) == 90
        assert c.exists("shared-lock") == 0  # every release was a compare-and-delete that found its token


INCR_BY_SCRIPT = """local v = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
redis.call('SET', KEYS[1], v)
return v"""


def test_racing_eval_increments_add_up(ports):
    seen = []
    guard = threading.Lock()

    def hammer(c, who):
        got = [c.eval(INCR_BY_SCRIPT, 1, "counter") for _ in range(50)]
        with guard:
            seen.extend(got)

    run_threads(ports, 4, hammer)
    with redis.Redis(port=ports[1], db=ports[2]) as c:
        assert int(c.get("counter")) == 400
    assert sorted(seen) == list(range(1, 401))  # every run saw a value of its own


def test_racing_evalsha_compare_and_set_from_both_nodes(ports):
    """A check-and-set script (SET only when the value is what the caller read) from both nodes: every
    successful swap is one step, so the final value counts the successes exactly."""
    cas = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        c.set("cas", 0)
        sha = c.script_load(cas)
    with redis.Redis(port=ports[1], db=ports[2]) as c:
        c.script_load(cas)  # each node has its own script cache
    wins = []
    guard = threading.Lock()

    def swap(c, who):
        mine = 0
        for _ in range(40):
            v = int(c.get("cas"))
            mine += c.evalsha(sha, 1, "cas", v, v + 1)
        with guard:
            wins.append(mine)

    run_threads(ports, 3, swap)
    with redis.Redis(port=ports[0], db=ports[2]) as c:
        assert int(c.get("cas")) == sum(wins) > 0
