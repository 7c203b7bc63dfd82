"""``net.cron.cron_pass`` (clients_cron's round): without ``timeout`` it looks only at clients with output pending
(a blocked send, or output at a soft limit), so thousands of idle subscribers cost it nothing (issue 16); the
pubsub soft limit is still enforced on a subscriber that stops reading; with ``timeout`` it looks at everyone."""
from __future__ import annotations

from respd import outbuf
from respd.net.cron import cron_pass
from tests.unit.pipelined import bare_client as _client, run_bare as _run




async def test_idle_subscribers_are_not_visited(app):
    subs = [_client(app) for _ in range(500)]
    for i, c in enumerate(subs):
        _run(c, "SUBSCRIBE", "ch:%d" % i)
    pub = _client(app)
    for i in range(0, 500, 7):
        _run(pub, "PUBLISH", "ch:%d" % i, "m")  # delivered, and taken by the subscriber (below the limits)
    for c in subs:
        c.out.clear()
        c.size = 0
    assert app.obuf_limits[outbuf.PUBSUB].soft  # Redis' default pubsub limits are on
    assert cron_pass(app, 1000.0) == 0
    assert len(app.clients) == 501


async def test_a_subscriber_over_the_soft_limit_is_watched_then_closed(app):
    app.obuf_limits = outbuf.parse(b"pubsub 0 1000 10", app.obuf_limits)
    killed = []
    app.killers = {}
    idle = [_client(app) for _ in range(50)]
    for c in idle:
        _run(c, "SUBSCRIBE", "other")
    slow, pub = _client(app), _client(app)
    app.killers[slow.sess.id] = lambda graceful=False: killed.append(slow.sess.id)
    _run(slow, "SUBSCRIBE", "ch")
    for _ in range(10):
        _run(pub, "PUBLISH", "ch", "x" * 200)  # slow never reads: its output passes the soft limit
    since = slow.soft_since
    assert since and not killed
    assert cron_pass(app, since + 5) == 1      # only the slow one is looked at
    assert not killed
    assert cron_pass(app, since + 11) == 1     # over the soft limit for longer than its 10 s
    assert killed == [slow.sess.id]


async def test_a_subscriber_that_catches_up_is_forgotten(app):
    app.obuf_limits = outbuf.parse(b"pubsub 0 1000 10", app.obuf_limits)
    killed = []
    app.killers = {}
    slow, pub = _client(app), _client(app)
    app.killers[slow.sess.id] = lambda graceful=False: killed.append(slow.sess.id)
    _run(slow, "SUBSCRIBE", "ch")
    for _ in range(10):
        _run(pub, "PUBLISH", "ch", "x" * 200)
    assert slow.soft_since
    slow.out.clear()  # it read everything
    slow.size = 0
    assert cron_pass(app, slow.soft_since + 5) == 1
    assert slow.soft_since == 0.0                # the soft limit's clock restarts, as in Redis
    assert cron_pass(app, 10 ** 6) == 0          # and the cron no longer looks at it
    assert not killed


async def test_with_timeout_every_client_is_looked_at(app):
    app.timeout = 10
    killed = []
    app.killers = {}
    plain, sub = _client(app), _client(app)
    for c in (plain, sub):
        app.killers[c.sess.id] = (lambda sid: lambda graceful=False: killed.append(sid))(c.sess.id)
    _run(sub, "SUBSCRIBE", "ch")
    now = max(plain.sess.last_cmd_time, sub.sess.last_cmd_time)
    assert cron_pass(app, now + 11) == 2
    assert killed == [plain.sess.id]             # subscribers never time out (Redis)
