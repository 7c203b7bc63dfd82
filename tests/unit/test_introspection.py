"""MONITOR's feed (sans-I/O parts), MEMORY and OBJECT through ``dispatch`` on each store kind.

The byte-level cases are in ``introspection_cases.py`` (replayed on a real redis-server by
``tests/differential/test_introspection_vs_redis.py``); the feed over real sockets, redis-cli and the bounded
monitor queue are in ``tests/integration/test_monitor.py``.
"""
from __future__ import annotations

import pytest

from respd import monitor
from respd.commands.introspection import encoding, refcount
from respd.pipeline import AWAIT, DONE, FLUSH, ClientState, add_reply, is_plain, run_requests
from respd.protocol import RequestReader
from tests.helpers import encode_command
from tests.unit.acl_cases import build, noperm_cmd, policy, run, session, user
from tests.unit.command_cases import run_case
from tests.unit.introspection_cases import CASES, ENCODINGS


@pytest.mark.parametrize("name", sorted(CASES))
async def test_introspection_case(name, app, clock, call, store_kind):
    await run_case(app, clock, call, CASES[name])


# ------------------------------------------------------------------------------------------------ OBJECT
@pytest.mark.parametrize("value", sorted(ENCODINGS))
def test_encoding_rules(value):
    enc, ref = ENCODINGS[value]
    assert encoding(value.encode()) == enc.encode()
    assert refcount(value.encode()) == ref


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


async def test_memory_usage_of_incompressible_sql_row(session, call, store_kind):
    import os
    value = os.urandom(50_000)
    assert await call(session, ["SET", "r", value]) == b"+OK\r\n"
    usage = int((await call(session, "MEMORY USAGE r"))[1:-2])
    assert len(value) <= usage < len(value) + 1024


async def test_memory_stats_counts_keys_of_memory_stores(session, call, store_kind):
    for n in range(5):
        await call(session, "SET k%d v" % n)
    await call(session, "SET t v EX 100")
    from respd.commands.introspection import memory_stats
    items = dict(memory_stats(session, [b"MEMORY", b"STATS"]).items)
    if store_kind == "memory":
        assert items[b"keys.count"] == 6
        db0 = dict(items[b"db.0"].items)
        assert db0[b"overhead.hashtable.main"] > 0 and db0[b"overhead.hashtable.expires"] > 0
    else:  # SQL rows live in PostgreSQL, not in respd's memory
        assert items[b"keys.count"] == 0 and b"db.0" not in items


# ------------------------------------------------------------------------------------------------ the feed
def test_quote_is_sdscatrepr():
    assert monitor.quote(b"plain text") == b'"plain text"'
    assert monitor.quote(b"") == b'""'
    assert monitor.quote(b'q"\\\n\r\t\x07\x08\x00\xff\x7f~ ') == b'"q\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff\\x7f~ "'
    assert monitor.quote(bytes(range(256))).count(b"\\x") == 256 - 95 - 5  # 95 printable, 5 letter escapes


@pytest.mark.parametrize("argv, shown", [
    ([b"AUTH", b"pw"], [b"AUTH", b"(redacted)"]),
    ([b"auth", b"user", b"pw"], [b"auth", b"(redacted)", b"(redacted)"]),
    ([b"AUTH", b"a", b"b", b"c"], [b"AUTH", b"a", b"b", b"c"]),  # a syntax error, answered before redaction
    ([b"HELLO", b"3", b"AUTH", b"u", b"p"], [b"HELLO", b"3", b"AUTH", b"(redacted)", b"(redacted)"]),
    ([b"HELLO", b"2", b"SETNAME", b"n", b"auth", b"u", b"p"],
     [b"HELLO", b"2", b"SETNAME", b"n", b"auth", b"(redacted)", b"(redacted)"]),
    ([b"HELLO", b"3", b"AUTH", b"u"], [b"HELLO", b"3", b"AUTH", b"u"]),  # syntax error
    ([b"HELLO", b"4", b"AUTH", b"u", b"p"], [b"HELLO", b"4", b"AUTH", b"u", b"p"]),  # NOPROTO first
    ([b"HELLO", b"3", b"SETNAME", b"a b", b"AUTH", b"u", b"p"],
     [b"HELLO", b"3", b"SETNAME", b"a b", b"AUTH", b"u", b"p"]),  # the bad name is answered first
    ([b"SET", b"AUTH", b"pw"], [b"SET", b"AUTH", b"pw"]),
])
def test_redaction_as_redis(argv, shown):
    assert monitor.redact(argv) == shown


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


def test_monitor_needs_server_admin_in_registry_policies(tmp_path):
    """MONITOR is an @admin command: a policy user needs ``server.admin`` on ``monitor``."""
    app = build(tmp_path, [user("u"), user("v"),
                           policy("p", ["store.get", "store.key.*"], users=["u", "v"]),
                           policy("q", ["server.admin"], ["monitor"], users=["v"])])
    assert run(session(app, "u"), "MONITOR") == noperm_cmd("monitor")
    assert run(session(app, "v"), "MONITOR") == b"+OK\r\n"
