"""Client tracking through the pipeline (``run_requests``), without sockets: what is remembered, who is told of a
write and in which frame and order (a writer's own after its reply, EXEC's after EXEC's), RESP2 redirection to a
subscriber and the flush null in it, BCAST batches and NOLOOP, OPTIN/OPTOUT, the table limit, observers only while
someone tracks, other nodes' writes, the same name in another store, scripts, the direct path, option errors.
Conversations against redis-server: tests/differential/test_tracking_conversations_vs_redis.py."""
from __future__ import annotations

from respd.net.client import Conn
from respd.pipeline import FLUSH, is_plain, run_requests
from respd.protocol import RequestReader
from tests.helpers import encode_command


def _client(app, proto=2):
    sess = app.new_session("127.0.0.1:5%04d" % len(app.clients), "127.0.0.1:6379", -1)
    c = Conn(app, sess, RequestReader(authenticated=sess.authenticated), None)  # the network layer's state, no socket
    sess.io = c
    if proto == 3:
        _run(c, "HELLO", "3")
    return c


def _run(c, *argv) -> bytes:
    c.reader.feed(encode_command(*argv))
    run_requests(c)
    return _take(c)


def _take(c) -> bytes:
    data = b"".join(c.out)
    c.out.clear()
    c.size = 0
    return data


def _inv(*keys) -> bytes:
    return b">2\r\n$10\r\ninvalidate\r\n*%d\r\n" % len(keys) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)


async def test_a_read_key_is_invalidated_once_by_another_clients_write(app):
    t, w = _client(app, 3), _client(app)
    assert _run(t, "CLIENT", "TRACKING", "ON") == b"+OK\r\n"
    assert _run(t, "GET", "k") == b"_\r\n"
    assert _run(w, "SET", "k", "v") == b"+OK\r\n"
    assert _take(t) == _inv(b"k")
    _run(w, "SET", "k", "v2")
    assert _take(t) == b""  # forgotten until read again
    assert len(app.tracking.table) == 0


async def test_the_writer_gets_its_reply_first_and_noloop_spares_it(app):
    t = _client(app, 3)
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "GET", "k")
    assert _run(t, "SET", "k", "v") == b"+OK\r\n" + _inv(b"k")
    _run(t, "CLIENT", "TRACKING", "ON", "NOLOOP")
    _run(t, "GET", "k")
    assert _run(t, "SET", "k", "v") == b"+OK\r\n"


async def test_exec_reply_comes_before_the_invalidations_of_its_writes(app):
    t = _client(app, 3)
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "MGET", "a", "b")
    out = _run(t, "MULTI") + _run(t, "SET", "a", "1") + _run(t, "SET", "b", "2") + _run(t, "EXEC")
    assert out == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n" + _inv(b"a") + _inv(b"b")


async def test_resp2_redirect_to_a_subscriber_gets_a_pubsub_message(app):
    t, r, w = _client(app), _client(app), _client(app)
    _run(r, "SUBSCRIBE", "__redis__:invalidate")
    assert _run(t, "CLIENT", "TRACKING", "ON", "REDIRECT", str(r.sess.id)) == b"+OK\r\n"
    assert _run(t, "CLIENT", "GETREDIR") == b":%d\r\n" % r.sess.id
    _run(t, "GET", "k")
    _run(w, "SET", "k", "v")
    assert _take(r) == b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n"
    assert _take(t) == b""


async def test_resp2_without_redirect_gets_nothing(app):
    t, w = _client(app), _client(app)
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "GET", "k")
    _run(w, "SET", "k", "v")
    assert _take(t) == b""
    assert len(app.tracking.table) == 0  # still forgotten, as Redis does


async def test_a_gone_redirect_is_reported_to_a_resp3_client(app):
    t, r, w = _client(app, 3), _client(app), _client(app)
    _run(t, "CLIENT", "TRACKING", "ON", "REDIRECT", str(r.sess.id))
    _run(t, "GET", "k")
    app.end_session(r.sess)
    _run(w, "SET", "k", "v")
    assert _take(t) == b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % r.sess.id
    line = _run(t, "CLIENT", "INFO")
    assert b" flags=tR " in line and b" redir=%d " % r.sess.id in line


async def test_flush_sends_one_null_per_client_and_command(app):
    t, t2, w = _client(app, 3), _client(app), _client(app)
    r = _client(app)
    _run(r, "SUBSCRIBE", "x")
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t2, "CLIENT", "TRACKING", "ON", "REDIRECT", str(r.sess.id))
    _run(t, "GET", "k")
    _run(w, "FLUSHALL")  # every store flushes: one null all the same
    assert _take(t) == b">2\r\n$10\r\ninvalidate\r\n_\r\n"
    # the null is the tracking client's (RESP2 here), in a message to its subscribed redirect target
    assert _take(r) == b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    assert len(app.tracking.table) == 0
    assert _run(t, "FLUSHDB") == b"+OK\r\n" + b">2\r\n$10\r\ninvalidate\r\n_\r\n"


async def test_bcast_batches_sorted_keys_per_prefix_and_noloop_drops_its_own(app):
    b, n, w = _client(app, 3), _client(app, 3), _client(app)
    _run(b, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x:", "PREFIX", "y:")
    _run(n, "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP", "PREFIX", "x:")
    _run(w, "MSET", "x:b", "1", "x:a", "2", "z", "3")
    _run(n, "SET", "x:c", "4")
    assert _take(b) == b""
    app.tracking.broadcast()
    assert _take(b) == _inv(b"x:a", b"x:b", b"x:c")
    assert _take(n) == _inv(b"x:a", b"x:b")
    app.tracking.broadcast()
    assert _take(b) == b""
    assert b"$7\r\nbcast\r\n" not in _run(b, "CLIENT", "TRACKINGINFO")  # a set, RESP3
    assert len(app.tracking.prefixes) == 2
    _run(b, "CLIENT", "TRACKING", "OFF")
    assert len(app.tracking.prefixes) == 1


async def test_optin_and_optout_follow_client_caching(app):
    t, w = _client(app, 3), _client(app)
    _run(t, "CLIENT", "TRACKING", "ON", "OPTIN")
    _run(t, "GET", "a")
    _run(t, "CLIENT", "CACHING", "YES")
    _run(t, "GET", "b")
    _run(t, "GET", "c")
    assert sorted(app.tracking.table) == [b"b"]
    _run(t, "CLIENT", "TRACKING", "OFF")
    _run(t, "CLIENT", "TRACKING", "ON", "OPTOUT")
    _run(t, "CLIENT", "CACHING", "NO")
    _run(t, "GET", "d")
    _run(t, "GET", "e")
    assert sorted(app.tracking.table) == [b"b", b"e"]
    _run(w, "MSET", "b", "1", "e", "2")
    assert _take(t) == _inv(b"b") + _inv(b"e")  # b was remembered under OPTIN: still this client's


async def test_the_table_limit_forgets_the_oldest_keys_with_invalidations(app):
    t, admin = _client(app, 3), _client(app)
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "MGET", "a", "b", "c")
    assert _run(admin, "CONFIG", "SET", "tracking-table-max-keys", "1") == b"+OK\r\n"
    # forgotten at once (Redis: before the next command of any client, or in its cron within 100 ms)
    assert _take(t) == _inv(b"a") + _inv(b"b")
    assert _run(admin, "CONFIG", "GET", "tracking-table-max-keys") == \
        b"*2\r\n$23\r\ntracking-table-max-keys\r\n$1\r\n1\r\n"
    assert _run(t, "GET", "d") == b"_\r\n" + _inv(b"c")  # its own: after its reply
    _run(admin, "PING")
    assert _take(t) == b""


async def test_an_eviction_reaches_a_noloop_reader(app):
    """An eviction is nobody's write: a NOLOOP client is told too (else its cache keeps a key nobody tracks)."""
    t, admin = _client(app, 3), _client(app)
    _run(admin, "CONFIG", "SET", "tracking-table-max-keys", "1")
    _run(t, "CLIENT", "TRACKING", "ON", "NOLOOP")
    _run(t, "GET", "a")
    assert _run(t, "GET", "b") == b"_\r\n" + _inv(b"a")
    _run(admin, "CONFIG", "SET", "tracking-table-max-keys", "1000000")


async def test_a_refused_command_ends_client_caching(app):
    """Redis' resetClient runs after a refused command too (wrong arity, unknown command): CLIENT CACHING YES no
    longer applies to the command after it, unless the refused one names CLIENT."""
    t = _client(app, 3)
    _run(t, "CLIENT", "TRACKING", "ON", "OPTIN")
    _run(t, "CLIENT", "CACHING", "YES")
    _run(t, "GET")
    _run(t, "GET", "a")
    _run(t, "CLIENT", "CACHING", "YES")
    _run(t, "NOSUCH")
    _run(t, "GET", "b")
    _run(t, "CLIENT", "CACHING", "YES")
    _run(t, "CLIENT", "CACHING")
    _run(t, "GET", "c")
    assert sorted(app.tracking.table) == [b"c"]


async def test_observers_only_while_someone_tracks(app):
    stores = list(app.stores.values())
    assert not any(s.watches.observers for s in stores)
    t = _client(app, 3)
    _run(t, "CLIENT", "TRACKING", "ON")
    assert all(app.tracking.touched in s.watches.observers for s in stores)
    _run(t, "RESET")
    assert t.sess.tracking is None and app.tracking.clients == 0
    assert not any(s.watches.observers for s in stores)
    t2 = _client(app, 3)
    _run(t2, "CLIENT", "TRACKING", "ON")
    app.end_session(t2.sess)
    assert not any(s.watches.observers for s in stores)


async def test_a_write_from_another_node_invalidates_even_under_noloop(app):
    t = _client(app, 3)
    _run(t, "CLIENT", "TRACKING", "ON", "NOLOOP")
    _run(t, "GET", "k")
    t.sess.store.watches.touch(b"k", local=False)
    assert _take(t) == _inv(b"k")


async def test_same_name_in_another_store_invalidates(app):
    t, w = _client(app, 3), _client(app)
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "GET", "k")
    _run(w, "SELECT", "1")
    _run(w, "SET", "k", "v")
    assert _take(t) == _inv(b"k")


async def test_script_reads_remember_the_declared_keys(app):
    t, w = _client(app, 3), _client(app)
    _run(t, "CLIENT", "TRACKING", "ON")
    _run(t, "EVAL", "redis.call('GET', 'other') return 1", "1", "declared")
    assert sorted(app.tracking.table) == [b"declared"]
    _run(w, "SET", "declared", "v")
    assert _take(t) == _inv(b"declared")


async def test_a_tracking_client_leaves_the_direct_path_and_is_handed_to_its_task(app):
    t = _client(app, 3)
    assert is_plain(t.sess, app)
    t.reader.feed(encode_command("CLIENT", "TRACKING", "ON") + encode_command("GET", "k"))
    assert run_requests(t) == FLUSH  # like SUBSCRIBE: the network layer serves it out of band from now on
    assert not is_plain(t.sess, app)
    run_requests(t)
    assert len(app.tracking.table) == 1
    assert b"tracking_clients:1" in _run(t, "INFO", "clients")


async def test_option_errors_leave_tracking_as_it_was(app):
    t = _client(app)
    assert _run(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab") == \
        b"-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.\r\n"
    _run(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab")
    assert _run(t, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab\r\n") == \
        b"-ERR Prefix 'ab  ' overlaps with an existing prefix 'ab'. Prefixes for a single client must not overlap.\r\n"
    assert _run(t, "CLIENT", "TRACKING", "ON", "REDIRECT", "1", "REDIRECT", "1") == \
        b"-ERR A client can only redirect to a single other client\r\n"
    assert _run(t, "CLIENT", "TRACKINGINFO") == (b"*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\nbcast\r\n"
                                                 b"$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*1\r\n$2\r\nab\r\n")
