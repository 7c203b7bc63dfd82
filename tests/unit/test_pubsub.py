"""Pub/Sub's sans-I/O core (``respd.pubsub``) through the pipeline: who gets a message, in which order and
framing, what the pubsub output limit does to a subscriber that does not read, and what a session leaves behind.
Replies are compared with redis-server's in tests/differential/test_pubsub_vs_redis.py."""
from __future__ import annotations

from respd import outbuf
from respd.pipeline import FLUSH, run_requests
from tests.helpers import encode_command
from tests.unit.pipelined import bare_client as _client, run_bare as _run




async def test_delivery_order_framing_and_counts(app):
    a, b, pub = _client(app), _client(app), _client(app)
    _run(b, "HELLO", "3")
    assert _run(a, "SUBSCRIBE", "ch") == b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    _run(b, "PSUBSCRIBE", "c?")
    _run(b, "SUBSCRIBE", "ch")
    assert _run(pub, "PUBLISH", "ch", "m") == b":3\r\n"
    assert b"".join(a.out) == b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"
    # b subscribed to the channel after the pattern: channel subscribers first, then pattern ones (Redis' order)
    assert b"".join(b.out) == (b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"
                               b">4\r\n$8\r\npmessage\r\n$2\r\nc?\r\n$2\r\nch\r\n$1\r\nm\r\n")
    assert _run(pub, "SPUBLISH", "ch", "m") == b":0\r\n"


async def test_subscribing_hands_the_client_to_its_task(app):
    """SUBSCRIBE ends the chunk with FLUSH, as MONITOR does, so the network layer serves it out of band."""
    c = _client(app)
    c.reader.feed(encode_command("SUBSCRIBE", "x") + encode_command("PING"))
    assert run_requests(c) == FLUSH
    assert c.sess.subs is not None


async def test_a_subscriber_past_the_hard_limit_is_dropped(app):
    app.obuf_limits = outbuf.parse(b"pubsub 1000 0 0", app.obuf_limits)
    killed = []
    app.killers = {}
    slow, fast, pub = _client(app), _client(app), _client(app)
    app.killers[slow.sess.id] = lambda graceful=False: killed.append(slow.sess.id)
    _run(slow, "SUBSCRIBE", "ch")
    _run(fast, "SUBSCRIBE", "ch")
    counts = []
    for _ in range(10):
        counts.append(_run(pub, "PUBLISH", "ch", "x" * 200))
        fast.out.clear()  # the fast one takes its output
        fast.size = 0
    assert killed == [slow.sess.id]
    assert slow.out == [] and slow.sess.subs is None
    assert counts[0] == b":2\r\n" and counts[-1] == b":1\r\n"
    assert _run(pub, "PUBSUB", "NUMSUB", "ch") == b"*2\r\n$2\r\nch\r\n:1\r\n"


async def test_ending_a_session_leaves_nothing(app):
    c = _client(app)
    _run(c, "SUBSCRIBE", "a", "b")
    _run(c, "PSUBSCRIBE", "p*")
    _run(c, "SSUBSCRIBE", "s")
    app.end_session(c.sess)
    ps = app.pubsub
    assert (ps.channels, ps.patterns, ps.shards, ps.matchers) == ({}, {}, {}, {})


async def test_client_kill_drops_the_subscriptions_at_once(app):
    """As Redis' freeClient: once CLIENT KILL answers, the killed subscriber is gone from PUBSUB NUMSUB and gets
    no more messages, whenever its connection task gets to close the socket (it failed now and then under load)."""
    app.killers = {}
    sub, admin = _client(app), _client(app)
    app.killers[sub.sess.id] = lambda graceful=False: None  # the network layer closes later
    _run(sub, "SUBSCRIBE", "ch")
    assert _run(admin, "CLIENT", "KILL", "TYPE", "pubsub") == b":1\r\n"
    assert _run(admin, "PUBSUB", "NUMSUB", "ch") == b"*2\r\n$2\r\nch\r\n:0\r\n"
    assert _run(admin, "PUBLISH", "ch", "m") == b":0\r\n"


async def test_a_pipeline_of_publishes_wakes_each_subscriber_once(app):
    """A subscriber's writer is woken once (``notify`` sets ``Conn.woken``, as net.client's does); it takes all the
    output when it runs, so the next PUBLISHes of the same pipeline add to that batch without another wake-up
    (issue 16's fan-out)."""
    subs = [_client(app) for _ in range(3)]
    wakes = [0, 0, 0]

    def notifier(i):
        def notify():
            wakes[i] += 1
            subs[i].woken = True
        return notify
    for i, c in enumerate(subs):
        _run(c, "SUBSCRIBE", "ch")
        c.notify = notifier(i)
    _run(subs[2], "PSUBSCRIBE", "c*")
    pub = _client(app)
    assert _run(pub, *["PUBLISH", "ch", "m"]) == b":4\r\n"
    pub.reader.feed(encode_command("PUBLISH", "ch", "m") * 15)
    run_requests(pub)
    assert pub.out == [b":4\r\n"] * 15
    assert wakes == [1, 1, 1]
    assert len(subs[0].out) == 16 and len(subs[2].out) == 32
    for c in subs:  # the writers wake and take the output
        c.woken = False
        c.out.clear()
        c.size = 0
    _run(pub, "PUBLISH", "ch", "m")
    assert wakes == [2, 2, 2]
