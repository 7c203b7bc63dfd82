"""OBJECT IDLETIME, MEMORY USAGE / STATS and MONITOR's feed through ``dispatch`` and ``pipeline.run_requests``,
as every store kind answers them (where the kinds differ, a test says how).

A suite for every store kind: collected where it is imported, by tests/unit/test_any_store.py (memory stores) and
tests/sql/test_any_store.py (SQL stores).
"""
from __future__ import annotations

from respd import monitor
from respd.commands.introspection import memory_stats
from respd.pipeline import AWAIT, DONE, FLUSH, ClientState, add_reply, is_plain, run_requests
from respd.protocol import RequestReader
from tests.helpers import encode_command


# ------------------------------------------------------------------------------------------------ OBJECT
async def test_object_idletime_says_it_is_not_tracked(session, call):
    # Redis answers an integer (seconds since the last access); respd does not record access times and says so,
    # as Redis does for statistics its policy does not track (OBJECT FREQ without an LFU policy)
    assert await call(session, "SET k v") == b"+OK\r\n"
    assert await call(session, "OBJECT IDLETIME k") == (
        b"-ERR respd does not track key access times, idle time not tracked.\r\n")
    assert await call(session, "OBJECT IDLETIME nosuch") == b"$-1\r\n"


# ------------------------------------------------------------------------------------------------ MEMORY USAGE
async def test_memory_usage_is_an_honest_estimate(session, call, store_kind):
    """The count covers the value (so a 100 KB value counts at least 100 KB) without inventing much on top."""
    big = b"x" * 100_000
    assert await call(session, ["SET", "big", big]) == b"+OK\r\n"
    assert await call(session, "SET small v") == b"+OK\r\n"
    usage_big = int((await call(session, "MEMORY USAGE big"))[1:-2])
    usage_small = int((await call(session, "MEMORY USAGE small"))[1:-2])
    if store_kind == "memory":
        assert len(big) < usage_big < len(big) + 1024
    else:  # a SQL row: PostgreSQL compresses a repetitive value (TOAST), the row size says so
        assert 0 < usage_big < len(big) + 1024
    assert 0 < usage_small < 1024
    # a TTL costs an expiry entry in a memory store
    assert await call(session, "SET small v EX 100") == b"+OK\r\n"
    with_ttl = int((await call(session, "MEMORY USAGE small"))[1:-2])
    assert with_ttl > usage_small if store_kind == "memory" else with_ttl >= usage_small


async def test_memory_stats_counts_keys_of_memory_stores(session, call, store_kind):
    for n in range(5):
        await call(session, "SET k%d v" % n)
    await call(session, "SET t v EX 100")
    items = dict(memory_stats(session, [b"MEMORY", b"STATS"]).items)
    if store_kind == "memory":
        assert items[b"keys.count"] == 6
        db0 = dict(items[b"db.0"].items)
        assert db0[b"overhead.hashtable.main"] > 0 and db0[b"overhead.hashtable.expires"] > 0
    else:  # SQL rows live in PostgreSQL, not in respd's memory
        assert items[b"keys.count"] == 0 and b"db.0" not in items


# ------------------------------------------------------------------------------------------------ MONITOR
def _client(app, sess):
    return ClientState(app, sess, RequestReader())


async def _run(c, *commands):
    """Feed commands to a client and run them as the connection would (awaiting SQL replies)."""
    c.reader.feed(b"".join(encode_command(*cmd) for cmd in commands))
    status = run_requests(c)
    while status in (AWAIT, FLUSH):
        if status == AWAIT:
            coro, c.coro = c.coro, None
            status = add_reply(c, await coro)
        if status in (DONE, FLUSH):
            status = run_requests(c)
    out = b"".join(c.out)
    c.out.clear()
    c.size = 0
    return status, out


async def test_monitor_attaches_and_the_plain_path_is_off_only_while_someone_monitors(app):
    a, b = app.new_session("127.0.0.1:1111"), app.new_session("127.0.0.1:2222")
    ca, cb = _client(app, a), _client(app, b)
    assert is_plain(b, app)
    status, out = await _run(ca, ["MONITOR"])
    assert out == b"+OK\r\n" and app.monitors == {a.id: ca}
    assert not is_plain(b, app)  # the direct path would not feed the monitor
    _, out = await _run(cb, ["SET", "k", "v"], ["GET", "k"])
    assert out == b"+OK\r\n$1\r\nv\r\n"
    lines = b"".join(ca.out).split(b"\r\n")
    assert lines[0].endswith(b' [0 127.0.0.1:2222] "SET" "k" "v"') and lines[0][:1] == b"+"
    assert lines[1].endswith(b' [0 127.0.0.1:2222] "GET" "k"')
    ca.out.clear()
    _, out = await _run(ca, ["RESET"])
    assert out == b"+RESET\r\n" and not app.monitors and is_plain(b, app)
    await _run(cb, ["SET", "k", "v"])
    assert ca.out == []


async def test_a_monitor_that_falls_behind_is_disconnected_and_its_queue_freed(app, monkeypatch):
    monkeypatch.setattr(monitor, "MONITOR_OUTPUT_LIMIT", 10_000)
    a, b = app.new_session("127.0.0.1:1111"), app.new_session("127.0.0.1:2222")
    ca, cb = _client(app, a), _client(app, b)
    killed = []
    app.killers[a.id] = lambda: killed.append(a.id)
    await _run(ca, ["MONITOR"])
    ca.out.clear()
    ca.size = 0
    for n in range(5):
        await _run(cb, ["SET", "k", "x" * 3000])
    assert killed == [a.id] and a.closing
    assert not app.monitors and ca.out == [] and ca.size == 0
    _, out = await _run(cb, ["GET", "nosuch"])  # the others go on
    assert out == b"$-1\r\n"
