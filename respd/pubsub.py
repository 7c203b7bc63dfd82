"""Pub/Sub on one node, without I/O: who listens to what, and delivering a message to their connections.

What Redis 7.0.15 does, and respd with it (``src/pubsub.c``):

* Three namespaces: channels (SUBSCRIBE), patterns (PSUBSCRIBE, glob patterns matched with the matcher of KEYS,
  ``backends.glob``, in linear time) and shard channels (SSUBSCRIBE; on a server without cluster mode they are
  plain channels of their own namespace, which PUBLISH and patterns never reach).
* A message goes first to the channel's subscribers in the order they subscribed, then to each subscriber of each
  matching pattern (a client subscribed to the channel and to a matching pattern gets it twice); PUBLISH answers
  how many deliveries that was on this node.
* A client is "in Pub/Sub" (Redis' CLIENT_PUBSUB flag, ``P`` in CLIENT LIST, the ``pubsub`` class of
  client-output-buffer-limit) while it holds any subscription: RESP2 then allows only (P|S)SUBSCRIBE,
  (P|S)UNSUBSCRIBE, PING, QUIT and RESET (``dispatch``); RESP3 allows everything and gets messages as push frames.

Delivery uses the out-of-band write path MONITOR uses (``respd.monitor``, ``net.client._monitor``): the encoded
message is appended to the subscriber's pending output (``ClientState.out``, the queue its own replies use, so
messages and replies leave in the order they happened) and ``notify()`` wakes its writer task. A subscriber that
does not read is disconnected once its pending output passes ``client-output-buffer-limit pubsub`` (hard limit at
once, soft limit for longer than its seconds, checked at each delivery and by ``clients_cron``); its subscriptions
go with it, and the publisher is never slowed down. Nodes sharing PostgreSQL pass messages on (``respd.bus``).
"""
from __future__ import annotations

import logging
import time

from backends.glob import compile_glob

from . import outbuf
from .replies import CRLF, _BULK_HDR, _INTS
from .session import client_line

log = logging.getLogger("respd.connection")

#: commands a RESP2 client may run while subscribed (Redis' processCommand)
ALLOWED_SUBSCRIBED = frozenset(("ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe",
                                "punsubscribe", "quit", "reset"))


class Subscriptions:
    """One client's subscriptions (``Session.subs``; None when it has none). Dicts used as ordered sets: Redis keeps
    a client's patterns in subscription order."""

    __slots__ = ("channels", "patterns", "shards")

    def __init__(self) -> None:
        self.channels: dict = {}
        self.patterns: dict = {}
        self.shards: dict = {}

    def count(self) -> int:
        """Channels and patterns: the number SUBSCRIBE/PSUBSCRIBE and their opposites report."""
        return len(self.channels) + len(self.patterns)

    def total(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shards)


class PubSub:
    """The server's side (``app.pubsub``): name -> {session id: session} per namespace, in subscription order;
    patterns also keep their compiled matcher."""

    __slots__ = ("channels", "patterns", "shards", "matchers")

    def __init__(self) -> None:
        self.channels: dict = {}
        self.patterns: dict = {}
        self.shards: dict = {}
        self.matchers: dict = {}


def _bulk(b: bytes) -> bytes:
    n = len(b)
    return (_BULK_HDR[n] if n < 4096 else b"$%d\r\n" % n) + b + CRLF


def _int(n: int) -> bytes:
    return _INTS[n] if 0 <= n < 10000 else b":%d\r\n" % n


_HDR = {(2, 3): b"*3\r\n", (3, 3): b">3\r\n", (2, 4): b"*4\r\n", (3, 4): b">4\r\n"}
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}


def frame(proto: int, kind: bytes, name, count: int) -> bytes:
    """A (un)subscribe confirmation: ``[kind, name, count]``, an array in RESP2, a push in RESP3; name None (an
    unsubscribe-all with nothing subscribed) is a null."""
    return _HDR[proto, 3] + _bulk(kind) + (_NULL[proto] if name is None else _bulk(name)) + _int(count)


# ------------------------------------------------------------------------------------------------- subscribing
def _subs(sess) -> Subscriptions:
    subs = sess.subs
    if subs is None:
        subs = sess.subs = Subscriptions()
    return subs


def _table(app, kind: str) -> dict:
    return getattr(app.pubsub, kind)


def subscribe(sess, names: list, kind: str) -> bytes:
    """SUBSCRIBE (kind "channels") or SSUBSCRIBE ("shards"): the confirmations, one per name."""
    subs = _subs(sess)
    mine = getattr(subs, kind)
    table = _table(sess.app, kind)
    word = b"subscribe" if kind == "channels" else b"ssubscribe"
    out = []
    for name in names:
        if name not in mine:
            mine[name] = None
            table.setdefault(name, {})[sess.id] = sess
        n = subs.count() if kind == "channels" else len(subs.shards)
        out.append(frame(sess.proto, word, name, n))
    return b"".join(out)


def psubscribe(sess, patterns: list) -> bytes:
    subs = _subs(sess)
    ps = sess.app.pubsub
    out = []
    for pat in patterns:
        if pat not in subs.patterns:
            subs.patterns[pat] = None
            listeners = ps.patterns.get(pat)
            if listeners is None:
                listeners = ps.patterns[pat] = {}
                ps.matchers[pat] = compile_glob(pat, allkeys_star=False)
            listeners[sess.id] = sess
        out.append(frame(sess.proto, b"psubscribe", pat, subs.count()))
    return b"".join(out)


def _drop_name(table: dict, name: bytes, sid: int, matchers=None) -> None:
    listeners = table.get(name)
    if listeners is not None:
        listeners.pop(sid, None)
        if not listeners:
            del table[name]
            if matchers is not None:
                matchers.pop(name, None)


def unsubscribe(sess, names: list, kind: str) -> bytes:
    """UNSUBSCRIBE / SUNSUBSCRIBE / PUNSUBSCRIBE (kind "channels", "shards", "patterns"); no names: every one
    (or, with none held, one confirmation with a null name)."""
    subs = _subs(sess)
    mine = getattr(subs, kind)
    ps = sess.app.pubsub
    table = getattr(ps, kind)
    matchers = ps.matchers if kind == "patterns" else None
    word = {"channels": b"unsubscribe", "shards": b"sunsubscribe", "patterns": b"punsubscribe"}[kind]
    count = subs.count if kind != "shards" else (lambda: len(subs.shards))
    out = []
    if not names:
        names = list(mine)
        if not names:
            out.append(frame(sess.proto, word, None, count()))
    for name in names:
        if name in mine:
            del mine[name]
            _drop_name(table, name, sess.id, matchers)
        out.append(frame(sess.proto, word, name, count()))
    if not subs.total():
        sess.subs = None
    return b"".join(out)


def leave(sess) -> None:
    """Drop every subscription of a session, without confirmations (RESET, disconnection)."""
    subs = sess.subs
    if subs is None:
        return
    sess.subs = None
    ps = sess.app.pubsub
    for name in subs.channels:
        _drop_name(ps.channels, name, sess.id)
    for name in subs.shards:
        _drop_name(ps.shards, name, sess.id)
    for name in subs.patterns:
        _drop_name(ps.patterns, name, sess.id, ps.matchers)


# --------------------------------------------------------------------------------------------------- delivery
def publish(app, channel: bytes, message: bytes, shard: bool = False, spread: bool = True) -> int:
    """Deliver a message to this node's subscribers; how many deliveries that was. With ``spread`` (and a bus
    between nodes, ``respd.bus``) the other nodes deliver it to theirs."""
    if spread and app.bus is not None:
        app.bus.publish(channel, message, shard)
    ps = app.pubsub
    n = 0
    listeners = (ps.shards if shard else ps.channels).get(channel)
    if listeners or (not shard and ps.patterns):
        tail = _bulk(channel) + _bulk(message)
        if listeners:
            body = _bulk(b"smessage" if shard else b"message") + tail
            n += _deliver_all(app, tuple(listeners.values()), b"*3\r\n" + body, b">3\r\n" + body)
        if not shard and ps.patterns:
            for pat, match in list(ps.matchers.items()):
                if not match(channel):
                    continue
                body = b"$8\r\npmessage\r\n" + _bulk(pat) + tail
                n += _deliver_all(app, tuple(ps.patterns.get(pat, {}).values()), b"*4\r\n" + body,
                                  b">4\r\n" + body)
    return n


def _deliver_all(app, sessions: tuple, resp2: bytes, resp3: bytes) -> int:
    """Append one message, encoded once per protocol, to the pending output of each of ``sessions``, apply
    ``client-output-buffer-limit pubsub`` and wake their writers; how many they were (clients being closed
    included, as in Redis' count).

    Written out for speed (a PUBLISH to many subscribers spends most of its time here): the limit's check is
    skipped while a client's pending output is below both limits, the clock read only when one is reached, and
    ``notify`` called only when the writer has not been woken yet (``Conn.woken``: it takes all of ``c.out`` when
    it runs, so a pipeline of PUBLISHes wakes each subscriber once)."""
    limit = app.obuf_limits[outbuf.PUBSUB]
    hard, soft = limit.hard, limit.soft
    lowest = min(hard, soft) if hard and soft else hard or soft  # 0: no limit
    now = 0.0
    for sess in sessions:
        c = sess.io
        if c is None or sess.closing:  # a client being closed gets nothing more (Redis: CLOSE_ASAP)
            continue
        data = resp3 if sess.proto == 3 else resp2
        c.out.append(data)
        c.size += len(data)
        if lowest:
            used = c.size + getattr(c, "held", 0)
            if used >= lowest:
                if not now:
                    now = time.time()
                close, c.soft_since = outbuf.over(limit, used, c.soft_since, now)
                if close:
                    drop(c)
                    continue
                if c.soft_since:
                    app.obuf_watch.add(c)  # clients_cron closes it if it stays over the soft limit
            elif c.soft_since:
                c.soft_since = 0.0  # below the soft limit again (outbuf.over's answer)
        if c.notify is not None and not c.woken:
            c.notify()
    return len(sessions)


def drop(c) -> None:
    """Disconnect a subscriber past its output limit: its subscriptions and pending output go at once."""
    sess, app = c.sess, c.app
    app.stat_obuf_disconnections += 1
    log.warning("Client %s closed for overcoming of output buffer limits.",
                client_line(sess, time.time()).decode("utf-8", "replace").rstrip("\n"))
    leave(sess)
    c.out.clear()
    c.size = 0
    app.kill_client(sess)


# ----------------------------------------------------------------------------------------------- introspection
def channels(app, pattern, shard: bool = False) -> list:
    table = app.pubsub.shards if shard else app.pubsub.channels
    if pattern is None:
        return list(table)
    match = compile_glob(pattern, allkeys_star=False)
    return [name for name in table if match(name)]


def numsub(app, names: list, shard: bool = False) -> list:
    table = app.pubsub.shards if shard else app.pubsub.channels
    out = []
    for name in names:
        out.append(name)
        out.append(len(table.get(name, ())))
    return out

