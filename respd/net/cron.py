"""``clients_cron``: Redis' clientsCron for what respd needs, closing idle clients (``timeout``) and clients over
the output buffer limits while nothing else looks at them (a client that does not read)."""
from __future__ import annotations

import logging
import time

import trio

from .. import outbuf
from .transport import unacked

log = logging.getLogger("respd.connection")  # the name its log lines had before respd/net/
_now = time.time
CRON_PERIOD = 0.5      # how often clients_cron checks timeouts and output buffer limits


def _see_reading(c, now: float) -> None:
    """A client taking output counts as active even while respd's send waits: the kernel wakes a blocked writer
    only once a good part of its send buffer is free, which for a slow reader can take longer than ``timeout``;
    the acknowledged bytes show the client reading meanwhile."""
    sock = c.transport.sock
    if sock is None:
        return
    try:
        q = unacked(sock)
    except OSError:
        return
    if q < c.outq:
        c.sess.last_cmd_time = now
    c.outq = q


async def clients_cron(app) -> None:
    """Every ``CRON_PERIOD``, one ``cron_pass``."""
    while True:
        await trio.sleep(CRON_PERIOD)
        if app.timeout or app.obuf_watch:
            cron_pass(app, _now())


def cron_pass(app, now: float) -> int:
    """Close clients idle for longer than ``timeout`` (idle: neither a read nor progress writing, and not awaiting
    a reply) and clients over the output buffer limits (the soft limit's seconds pass while a client does not read,
    so they are watched here); returns how many clients it looked at.

    Without ``timeout`` only the clients in ``app.obuf_watch`` are looked at: those whose send blocked
    (``transport.send_all``) or whose pending output reached a soft limit (``outbuf.check``, ``pubsub._deliver_all``);
    a client leaves the set once nothing is pending for it. So clients that do nothing (thousands of idle
    subscribers) cost nothing here; with ``timeout`` every client is looked at, as Redis' clientsCron does."""
    timeout = app.timeout
    watch = app.obuf_watch
    if timeout:
        clients = [sess.io for sess in app.clients.values()]
    else:
        clients = list(watch)
    watch.clear()
    monitors = app.monitors  # MONITOR and Pub/Sub clients never time out, as in Redis
    for c in clients:
        if c is None:
            continue
        sess = c.sess
        if sess.closing or sess.io is not c:
            continue
        if c.held:
            _see_reading(c, now)
        if timeout and not c.busy and now - sess.last_cmd_time > timeout and sess.id not in monitors \
                and sess.subs is None:
            log.debug("Closing idle client")
            app.kill_client(sess)
        elif c.held or c.out:
            outbuf.check(c, now)
            if not sess.closing:
                watch.add(c)
        else:
            c.soft_since = 0.0
    return len(clients)
