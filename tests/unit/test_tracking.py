"""Client tracking's sans-I/O core (``respd.tracking``) through the pipeline, without sockets: what a tracking
client's output gets, the table's bounds (``tracking-table-max-keys``), BCAST's batching until the event loop is
idle, and what a client leaves behind. Replies are compared with redis-server's in
tests/differential/test_tracking_vs_redis.py."""
from __future__ import annotations

from tests.unit.pipelined import bare_client as _client, run_bare as _run

INV = b">2\r\n$10\r\ninvalidate\r\n"


def _out(c) -> bytes:
    data = b"".join(c.out)
    c.out.clear()
    c.size = 0
    return data


async def test_invalidation_once_per_read(app):
    t, w = _client(app), _client(app)
    _run(t, "HELLO", "3")
    assert _run(t, "CLIENT", "TRACKING", "ON") == b"+OK\r\n"
    _run(t, "GET", "k")
    _run(w, "SET", "k", "1")
    assert _out(t) == INV + b"*1\r\n$1\r\nk\r\n"
    _run(w, "SET", "k", "2")
    assert _out(t) == b""
    assert app.tracking.table == {} and app.tracking.items == 0


async def test_own_write_after_the_reply(app):
    t = _client(app)
    _run(t, "HELLO", "3")
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "GET", "k")
    assert _run(t, "SET", "k", "1") == b"+OK\r\n" + INV + b"*1\r\n$1\r\nk\r\n"


async def test_the_table_is_bounded(app):
    """Past tracking-table-max-keys the oldest keys are invalidated as soon as a read puts the table over it, so
    a client reading a million keys cannot grow the table past the limit."""
    t = _client(app)
    _run(t, "HELLO", "3")
    _run(t, "CONFIG", "SET", "tracking-table-max-keys", "100")
    _run(t, "CLIENT", "TRACKING", "ON")
    out = b""
    for i in range(1000):
        out += _run(t, "GET", "k%d" % i)
        assert len(app.tracking.table) <= 100
    assert out.count(INV) == 1000 - 100
    assert INV + b"*1\r\n$2\r\nk0\r\n" in out  # the oldest first


async def test_bcast_is_sent_when_the_loop_is_idle(app):
    scheduled = []
    app.tracking.schedule = scheduled.append
    t, w = _client(app), _client(app)
    _run(t, "HELLO", "3")
    _run(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a")
    _run(w, "MSET", "a1", "x", "b1", "y", "a2", "z")
    _run(w, "SET", "a0", "x")
    assert _out(t) == b""  # gathered, one scheduled broadcast
    assert len(scheduled) == 1
    scheduled.pop()()
    assert _out(t) == INV + b"*3\r\n$2\r\na0\r\n$2\r\na1\r\n$2\r\na2\r\n"


async def test_a_closed_client_leaves_no_state(app):
    t = _client(app)
    _run(t, "HELLO", "3")
    _run(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p")
    assert app.tracking.clients == 1 and app.tracking.prefixes
    app.end_session(t.sess)
    assert app.tracking.clients == 0 and not app.tracking.prefixes
    # nobody tracks and the table is empty: the stores' writes are not observed any more
    assert all(not s.watches.observers or app.tracking.touched not in s.watches.observers
               for s in app.stores.values())
