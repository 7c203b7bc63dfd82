"""Keyspace notifications without I/O (Redis 7.0.15's ``src/notify.c`` and the ``notifyKeyspaceEvent`` calls of
its commands).

``notify-keyspace-events`` is a set of classes (``parse``/``to_string``: Redis' keyspaceEventsStringToFlags and
keyspaceEventsFlagsToString, so CONFIG GET shows Redis' canonical string). An event of an enabled class is published
as two Pub/Sub messages, each only when its kind is on: ``__keyspace@<db>__:<key>`` carrying the event name (K) and
``__keyevent@<db>__:<event>`` carrying the key (E). ``<db>`` is the lowest SELECT index the store is mapped to; a
store mapped to no index is named by its id (``__keyspace@app:cache__:k``), the name ``SELECT app:cache`` takes.

Where events come from:

* **Commands** (``respd.notify_rules``): ``respd.dispatch.run`` wraps a command that has a rule (``around``) when
  any class is on and someone could hear it (``listening``: a subscriber on this node, or, for a SQL store, other
  nodes through the bus). The rule probes the store before the command (whether keys exist, a TTL, scores...),
  and once the reply is known makes Redis' events from the reply and the store's state after it; they are
  published before the reply is sent. This covers commands run directly, in MULTI/EXEC and through
  ``redis.call``. With every class off ``run`` pays one integer test, and the pipeline's direct path
  (``pipeline.is_plain``) is taken only then. A rule's probes are coroutines driven to completion synchronously
  on a memory store (``_drive``: nothing there ever suspends) and awaited on a SQL store (an extra round trip or
  two per write, only while someone listens).
* **Reads** (class m): ``keymiss`` for each key a command looks up for reading and does not find (Redis'
  lookupKeyRead), before the command's other events; a command answering an error sends none.
* **Blocking pops** served later (``served``: the waiter's attempt wrapped), with the events of the matching
  non-blocking command, as Redis' serveClientBlockedOnList and genericZpopCommand emit them.
* **Expiry** (``expired``, class x): a store's ``on_expired`` hook, set while x is on, called by a memory store
  when a read finds a key past its time, by its sweeps, and by ``active_expire_cycle``; by a SQL store's cleanup.
* ``new`` (class n) comes right before the first event of a key the command created (where Redis' dbAdd puts it;
  RENAME, COPY and MOVE always add their destination, so they always send it).
* The scripts' ``store`` module sends what SET and DEL send (``script_write``).

Not sent: ``evicted`` (respd never evicts), stream and module events (respd has neither).
"""
from __future__ import annotations

import logging
import time
import types
from typing import Any, Callable, Optional


from . import pubsub
from .replies import NULL_ARRAY, Err, Map, Raw, SetReply

_Coroutine = types.CoroutineType
log = logging.getLogger("respd.notify")

# ---------------------------------------------------------------------------------------------------- classes
K = 1 << 0       # __keyspace@<db>__ channels
E = 1 << 1       # __keyevent@<db>__ channels
G = 1 << 2       # g: generic (DEL, EXPIRE, RENAME...)
STRING = 1 << 3  # $
LIST = 1 << 4    # l
SET = 1 << 5     # s
HASH = 1 << 6    # h
ZSET = 1 << 7    # z
X = 1 << 8       # x: expired
EVICTED = 1 << 9  # e
STREAM = 1 << 10  # t
MISS = 1 << 11   # m (not part of A)
MODULE = 1 << 13  # d
NEW = 1 << 14    # n (not part of A)
ALL = G | STRING | LIST | SET | HASH | ZSET | X | EVICTED | STREAM | MODULE

_CHARS = {ord("A"): ALL, ord("g"): G, ord("$"): STRING, ord("l"): LIST, ord("s"): SET, ord("h"): HASH,
          ord("z"): ZSET, ord("x"): X, ord("e"): EVICTED, ord("K"): K, ord("E"): E, ord("t"): STREAM,
          ord("m"): MISS, ord("d"): MODULE, ord("n"): NEW}
_ORDER = ((G, b"g"), (STRING, b"$"), (LIST, b"l"), (SET, b"s"), (HASH, b"h"), (ZSET, b"z"), (X, b"x"),
          (EVICTED, b"e"), (STREAM, b"t"), (MODULE, b"d"), (NEW, b"n"))


def parse(text: bytes) -> Optional[int]:
    """Redis' keyspaceEventsStringToFlags: the classes of a string of flag characters; None for any other
    character."""
    flags = 0
    for c in text:
        f = _CHARS.get(c)
        if f is None:
            return None
        flags |= f
    return flags


def to_string(flags: int) -> bytes:
    """Redis' keyspaceEventsFlagsToString: the canonical form CONFIG GET shows (``KEA`` reads back ``AKE``)."""
    if flags & ALL == ALL:
        out = b"A"
    else:
        out = b"".join(c for f, c in _ORDER if flags & f)
    if flags & K:
        out += b"K"
    if flags & E:
        out += b"E"
    if flags & MISS:
        out += b"m"
    return out


# ---------------------------------------------------------------------------------------------------- channels
def db_label(app, store) -> bytes:
    """How channels name a store: its lowest SELECT index, or its id when no index maps to it."""
    best = None
    for i, s in app.databases.items():
        if s is store and (best is None or i < best):
            best = i
    return b"%d" % best if best is not None else store.id.encode()


def channels(db: bytes, event: bytes, key: bytes) -> tuple[bytes, bytes]:
    """(the keyspace channel, the keyevent channel) of an event."""
    return b"__keyspace@" + db + b"__:" + key, b"__keyevent@" + db + b"__:" + event


def emit(app, store, flag: int, event: bytes, key: bytes) -> None:
    """Publish one event of class ``flag`` on ``key`` of ``store``, as the classes enabled now say: the keyspace
    message first, then the keyevent one (Redis' order)."""
    flags = app.notify_flags
    if not flags & flag or not flags & (K | E):
        return
    space, keyevent = channels(db_label(app, store), event, key)
    if flags & K:
        send(app, store, space, event)
    if flags & E:
        send(app, store, keyevent, key)


def send(app, store, channel: bytes, message: bytes) -> None:
    """The one place a keyspace notification leaves for Pub/Sub (``store`` says where it happened). An event of a
    SQL store also goes to the other nodes sharing its database (``respd.bus``, when there is one), which deliver
    it to their own subscribers: every node's clients hear of a write or an expiry wherever it happened. A memory
    store's events stay on its node, like its keys."""
    try:
        pubsub.publish(app, channel, message, spread=store.is_async)
    except Exception:  # a defect must not reach the writing client (nor the store call expiring a key)
        log.exception("keyspace notification on %r failed", channel[:200])


def expired(app, store, key: bytes) -> None:
    """``Store.on_expired``: a key of store was found past its time and removed."""
    emit(app, store, X, b"expired", key)


def install(app) -> None:
    """After notify-keyspace-events changed: whether commands run their rules (``app.notify_rules``), and every
    store's expiry hook while the x class is on (and a channel kind is), taken away when not: stores then skip the
    call altogether."""
    flags = app.notify_flags
    #: the classes commands' rules send (all but x, which the stores report): 0 when none or no channel kind is on,
    #: which dispatch and the pipeline's direct path test
    app.notify_rules = flags & ~(K | E | X) if flags & (K | E) else 0
    on = bool(flags & X and flags & (K | E))
    for store in app.stores.values():
        store.on_expired = (lambda key, s=store: expired(app, s, key)) if on else None
        track = getattr(store, "track_deadlines", None)
        if track is not None:  # memory stores: the deadlines active expiry follows
            track(on)


# ---------------------------------------------------------------------------------------------------- active expiry
#: active expiry of memory stores while x is on: every ACTIVE_PERIOD seconds each store removes the keys whose time
#: has passed, earliest first (a heap of the deadlines set while x is on), ACTIVE_SLICE at a time, for at most
#: ACTIVE_BUDGET seconds of work per store and tick (what is left waits for the next tick)
ACTIVE_PERIOD = 0.1
ACTIVE_SLICE = 2000
ACTIVE_BUDGET = 0.025
#: SQL stores while x is on: their cleanup (DELETE ... RETURNING the keys) runs every SQL_EXPIRE_PERIOD seconds
SQL_EXPIRE_PERIOD = 1.0


def expiring(app) -> bool:
    """Whether expired events are wanted now (class x and a channel kind)."""
    f = app.notify_flags
    return bool(f & X and f & (K | E))


def active_expire_cycle(app) -> int:
    """One tick of active expiry over the memory stores (see ACTIVE_*); how many keys expired."""
    total = 0
    seen = set()
    for store in app.stores.values():
        if store.is_async or id(store) in seen or not hasattr(store, "active_expire"):
            continue
        seen.add(id(store))
        deadline = time.perf_counter() + ACTIVE_BUDGET
        while True:
            checked, removed = store.active_expire(ACTIVE_SLICE)
            total += removed
            if checked < ACTIVE_SLICE or time.perf_counter() > deadline:
                break
    return total


# ---------------------------------------------------------------------------------------------------- commands
async def _v(r):
    """The value of a store result (a coroutine on a SQL store)."""
    if type(r) is _Coroutine:
        return await r
    return r


def _drive(coro):
    """Run a rule's coroutine on a memory store, where no store call suspends, to its end."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    coro.close()
    raise RuntimeError("a keyspace notification probe suspended on a synchronous store")


class Ctx:
    """One command's notification work: its store, argv, what its rule probed before it, its reply, its events."""

    __slots__ = ("app", "store", "argv", "existed", "pre", "reply", "events", "proto", "miss")

    def __init__(self, sess, argv):
        self.app = sess.app
        self.store = sess.store
        self.argv = argv
        self.existed: dict = {}
        self.pre: Any = None
        self.reply: Any = None
        self.events: list = []
        self.proto = sess.proto
        self.miss = ()

    async def exists(self, key: bytes, store=None) -> bool:
        return bool(await _v((store or self.store).exists([key])))

    async def probe(self, keys, store=None) -> None:
        """Remember whether keys exist now (``new``, and deletions that need the state before)."""
        for k in keys:
            if k not in self.existed:
                self.existed[k] = await self.exists(k, store)

    def add(self, flag: int, event: bytes, key: bytes, store=None) -> None:
        self.events.append((store or self.store, flag, event, key))

    async def gone_del(self, key: bytes) -> None:
        """Redis deletes a collection its command emptied, with a ``del`` event."""
        if not await self.exists(key):
            self.add(G, b"del", key)

    def publish(self, auto_new: bool) -> None:
        app = self.app
        if auto_new and app.notify_flags & NEW:
            seen = set()
            for store, flag, event, key in self.events:
                if (event != b"del" and event != b"keymiss" and key not in seen
                        and self.existed.get(key) is False and store is self.store):
                    seen.add(key)
                    emit(app, store, NEW, b"new", key)
                emit(app, store, flag, event, key)
            return
        for store, flag, event, key in self.events:
            emit(app, store, flag, event, key)


async def _before(ctx: Ctx, r) -> None:
    if r.miss is not None and ctx.app.notify_flags & MISS:
        ctx.miss = r.miss(ctx.argv)
        await ctx.probe(ctx.miss)
    if r.keys is not None:
        await ctx.probe(r.keys(ctx.argv))
    if r.pre is not None:
        ctx.pre = await r.pre(ctx)


async def _after(ctx: Ctx, r) -> None:
    """The rule's events, after the keymiss events of the keys it found missing when it looked them up."""
    if r.post is not None:
        await r.post(ctx)
    if ctx.miss:
        ctx.events[:0] = [(ctx.store, MISS, b"keymiss", k) for k in ctx.miss if not ctx.existed.get(k, True)]


def listening(app, store) -> bool:
    """Whether an event of store could reach anyone: a subscriber on this node, or other nodes (a SQL store's
    events travel through the bus). Nobody: commands skip their rules, so notifications cost nothing then."""
    ps = app.pubsub
    return bool(ps.channels or ps.patterns) or (store.is_async and app.bus is not None)


def around(sess, cmd, argv: list, r, run: Callable) -> Any:
    """Run a command (``run``: dispatch's) with its rule: probes, the command, then its events."""
    if not listening(sess.app, sess.store) or (r.post is None and not sess.app.notify_flags & MISS):
        return run(sess, cmd, argv)
    ctx = Ctx(sess, argv)
    if ctx.store.is_async:
        return _around_async(sess, cmd, argv, r, run, ctx)
    try:
        _drive(_before(ctx, r))
    except Exception:  # a probe failed (WRONGTYPE...): the command itself reports what is wrong with its keys
        return run(sess, cmd, argv)
    reply = run(sess, cmd, argv)
    if type(reply) is _Coroutine:  # it reached another store (MOVE, COPY ... DB n)
        return _after_async(ctx, r, reply)
    if type(reply) is not Err:
        ctx.reply = reply
        try:
            _drive(_after(ctx, r))
        except Exception:  # a probe failed, or would have to wait (COPY/MOVE to a SQL store): no events
            return reply
        ctx.publish(r.auto_new)
    return reply


async def _around_async(sess, cmd, argv, r, run, ctx):
    try:
        await _before(ctx, r)
    except Exception:
        ctx = None
    reply = run(sess, cmd, argv)
    if ctx is None:
        return await reply if type(reply) is _Coroutine else reply
    return await _after_async(ctx, r, reply)


async def _after_async(ctx, r, reply):
    """The events of a command whose reply (a coroutine, or already known) is awaited."""
    if type(reply) is _Coroutine:
        reply = await reply
    if type(reply) is not Err:
        ctx.reply = reply
        try:
            await _after(ctx, r)
        except Exception:
            return reply
        ctx.publish(r.auto_new)
    return reply


_EMPTY = (b"*0\r\n", b"~0\r\n", b"*-1\r\n", b"_\r\n", b"$-1\r\n", b":0\r\n")


def _has(r) -> bool:
    """Whether a reply says something was done or taken: not null, not an empty array or set, not 0."""
    if r is None or r is NULL_ARRAY:
        return False
    t = type(r)
    if t is SetReply or t is Map:
        return bool(r.items)
    if t is Raw:
        return r.data not in _EMPTY
    return bool(r)


async def move_events(ctx, src: bytes, dst: bytes, from_left: bool, to_left: bool) -> None:
    """LMOVE's events (lmoveHandlePush, then the pop): [new dst], push on dst, pop on src, [del src]."""
    ctx.add(LIST, b"lpush" if to_left else b"rpush", dst)
    ctx.add(LIST, b"lpop" if from_left else b"rpop", src)
    await ctx.gone_del(src)


# ------------------------------------------------------------------------------------------ blocking pops (blocked.c)
def served(sess, kind: str, attempt: Callable, src: Optional[bytes] = None, dst: Optional[bytes] = None,
           sides: tuple = (True, True)) -> Callable:
    """A blocking command's attempt (its non-blocking form over one key, or over all keys for the first look) that
    also sends the events of what it took, as Redis does when it serves a blocked client: ``kind`` "lpop"/"rpop"
    (BLPOP, BRPOP, BLMPOP: reply [key, ...]), "zpopmin"/"zpopmax" (BZPOP*, BZMPOP: reply [key, ...]), "move" (BLMOVE,
    BRPOPLPUSH: src, dst, sides = (from_left, to_left))."""
    app = sess.app
    store = sess.store

    def run(*args):
        if not app.notify_flags or not listening(app, store):
            return attempt(*args)
        ctx = Ctx(sess, [])
        ctx.store = store
        if store.is_async:
            return _served_async(ctx, kind, attempt, args, src, dst, sides)
        try:
            if kind == "move":
                _drive(ctx.probe([dst]))
        except Exception:
            return attempt(*args)
        r = attempt(*args)
        if type(r) is _Coroutine:
            return r
        ctx.reply = r
        try:
            _drive(_served_events(ctx, kind, src, dst, sides))
        except Exception:
            return r
        ctx.publish(True)
        return r

    return run


async def _served_async(ctx, kind, attempt, args, src, dst, sides):
    if kind == "move":
        await ctx.probe([dst])
    r = attempt(*args)
    if type(r) is _Coroutine:
        r = await r
    ctx.reply = r
    try:
        await _served_events(ctx, kind, src, dst, sides)
    except Exception:
        return r
    ctx.publish(True)
    return r


async def _served_events(ctx, kind, src, dst, sides):
    r = ctx.reply
    if r is None or type(r) is Err or not isinstance(r, (list, tuple, bytes)) or not r:
        return
    if kind == "move":
        if type(r) is bytes:
            await move_events(ctx, src, dst, sides[0], sides[1])
        return
    key = r[0]
    ctx.add(LIST if kind in ("lpop", "rpop") else ZSET, kind.encode(), key)
    await ctx.gone_del(key)


# ------------------------------------------------------------------------------------------ scripts' store module
def script_write(app, store, method: str, key: bytes, call: Callable[[], Any], ttl: bool = False) -> Any:
    """A write of the scripts' ``store`` module (``call``: the store operation), with the events of the matching
    Redis command: ``set`` ([new], set, [expire] as SET ... EX) or ``delete`` (del, when a key was removed)."""
    if not app.notify_flags or not listening(app, store):
        return call()
    if store.is_async:
        return _script_write_async(app, store, method, key, call, ttl)
    existed = store.exists([key]) if method == "set" else True
    r = call()
    _script_events(app, store, method, key, r, existed, ttl)
    return r


async def _script_write_async(app, store, method, key, call, ttl):
    existed = await store.exists([key]) if method == "set" else True
    r = await _v(call())
    _script_events(app, store, method, key, r, existed, ttl)
    return r


def _script_events(app, store, method, key, r, existed, ttl) -> None:
    if method == "set":
        if not existed:
            emit(app, store, NEW, b"new", key)
        emit(app, store, STRING, b"set", key)
        if ttl:
            emit(app, store, G, b"expire", key)
    elif r:
        emit(app, store, G, b"del", key)
