"""Keyspace notifications without I/O (Redis 7.0.15's ``src/notify.c`` and the ``notifyKeyspaceEvent`` calls of
its commands).

``notify-keyspace-events`` is a set of classes (``parse``/``to_string``: Redis' keyspaceEventsStringToFlags and
keyspaceEventsFlagsToString, so CONFIG GET shows Redis' canonical string). An event of an enabled class is published
as two Pub/Sub messages, each only when its kind is on: ``__keyspace@<db>__:<key>`` carrying the event name (K) and
``__keyevent@<db>__:<event>`` carrying the key (E). ``<db>`` is the lowest SELECT index the store is mapped to; a
store mapped to no index is named by its id (``__keyspace@app:cache__:k``), the name ``SELECT app:cache`` takes.

Where events come from:

* **Commands** (``RULES``): ``respd.dispatch.run`` wraps a command that has a rule (``around``) when any class is
  on: the rule probes the store before the command (whether keys exist, a TTL, scores...), and once the reply is
  known it makes Redis' events from the reply and the store's state after it; they are published before the reply
  is sent. This covers commands run directly, in MULTI/EXEC and through ``redis.call``. With every class off
  ``run`` pays one integer test, and the pipeline's direct path (``pipeline.is_plain``) is taken only then.
  A rule's probes are coroutines driven to completion synchronously on a memory store (``_drive``: nothing there
  ever suspends), and awaited on a SQL store (one or two extra round trips per write, only with notifications on).
* **Blocking pops** served later (``served``: the waiter's attempt wrapped), with the events of the matching
  non-blocking command, as Redis' serveClientBlockedOnList and genericZpopCommand emit them.
* **Expiry** (``expired``, class x): a store's ``on_expired`` hook, set while x is on, called by a memory store
  when a read finds a key past its time, by its sweeps, and by ``active_expire_cycle``; by a SQL store's cleanup.
* ``new`` (class n) comes right before the first event of a key the command created (where Redis' dbAdd puts it;
  RENAME, COPY and MOVE always add their destination, so they always send it).

Not sent: ``keymiss`` (m is accepted, no read reports misses), ``evicted`` (respd never evicts), stream and module
events (respd has neither).
"""
from __future__ import annotations

import time
import types
from typing import Any, Callable, Optional

from backends.base import StoreError

from . import pubsub
from .replies import NULL_ARRAY, Err, Map, Raw, SetReply

_Coroutine = types.CoroutineType

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
    """The one place a keyspace notification leaves for Pub/Sub (``store`` says where it happened)."""
    pubsub.publish(app, channel, message)


def expired(app, store, key: bytes) -> None:
    """``Store.on_expired``: a key of store was found past its time and removed."""
    emit(app, store, X, b"expired", key)


def install(app) -> None:
    """Give every store the expiry hook while the x class is on (and a channel kind is), and take it away when not:
    stores then skip the call altogether."""
    on = app.notify_flags & X and app.notify_flags & (K | E)
    for store in app.stores.values():
        store.on_expired = (lambda key, s=store: expired(app, s, key)) if on else None


# ---------------------------------------------------------------------------------------------------- active expiry
#: active expiry of memory stores while x is on: every ACTIVE_PERIOD seconds each store checks the next
#: ACTIVE_SLICE keys that have a TTL (a cursor over a snapshot of them, renewed when used up), and one more slice
#: while more than a quarter of the last one had expired, within ACTIVE_BUDGET seconds of work per store and tick
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
            if not checked or removed * 4 <= checked or time.perf_counter() > deadline:
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

    __slots__ = ("app", "store", "argv", "existed", "pre", "reply", "events", "proto")

    def __init__(self, sess, argv):
        self.app = sess.app
        self.store = sess.store
        self.argv = argv
        self.existed: dict = {}
        self.pre: Any = None
        self.reply: Any = None
        self.events: list = []
        self.proto = sess.proto

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
                if event != b"del" and key not in seen and self.existed.get(key) is False and store is self.store:
                    seen.add(key)
                    emit(app, store, NEW, b"new", key)
                emit(app, store, flag, event, key)
            return
        for store, flag, event, key in self.events:
            emit(app, store, flag, event, key)


class Rule:
    """How a command notifies: ``keys(argv)`` the keys probed for existence before it runs; ``pre(ctx)`` any other
    probe before it; ``post(ctx)`` the events once its reply is known (never called for an error reply);
    ``auto_new``: ``new`` goes before the first event of each key that did not exist (else post adds it)."""

    __slots__ = ("keys", "pre", "post", "auto_new")

    def __init__(self, post, keys=None, pre=None, auto_new: bool = True):
        self.post, self.keys, self.pre, self.auto_new = post, keys, pre, auto_new


RULES: dict[str, Rule] = {}


def rule(*names: str, keys=None, pre=None, auto_new: bool = True):
    def deco(fn):
        for n in names:
            RULES[n] = Rule(fn, keys, pre, auto_new)
        return fn
    return deco


async def _before(ctx: Ctx, r: Rule) -> None:
    if r.keys is not None:
        await ctx.probe(r.keys(ctx.argv))
    if r.pre is not None:
        ctx.pre = await r.pre(ctx)


def around(sess, cmd, argv: list, r: Rule, run: Callable) -> Any:
    """Run a command (``run``: dispatch's) with its rule: probes, the command, then its events."""
    ctx = Ctx(sess, argv)
    if ctx.store.is_async:
        return _around_async(sess, cmd, argv, r, run, ctx)
    try:
        _drive(_before(ctx, r))
    except (StoreError, Exception):  # the command itself reports what is wrong with its keys
        return run(sess, cmd, argv)
    reply = run(sess, cmd, argv)
    if type(reply) is _Coroutine:  # it reached another store (MOVE, COPY ... DB n)
        return _after_async(ctx, r, reply)
    if type(reply) is not Err:
        ctx.reply = reply
        try:
            _drive(r.post(ctx))
        except RuntimeError:  # a probe of an async store (COPY/MOVE to a SQL store): no events
            return reply
        except StoreError:
            return reply
        ctx.publish(r.auto_new)
    return reply


async def _around_async(sess, cmd, argv, r, run, ctx):
    try:
        await _before(ctx, r)
    except Exception:
        ctx = None
    reply = run(sess, cmd, argv)
    if type(reply) is _Coroutine:
        reply = await reply
    if ctx is not None and type(reply) is not Err:
        ctx.reply = reply
        try:
            await r.post(ctx)
        except Exception:
            return reply
        ctx.publish(r.auto_new)
    return reply


async def _after_async(ctx, r, reply):
    reply = await reply
    if type(reply) is not Err:
        ctx.reply = reply
        try:
            await r.post(ctx)
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


def _one(argv):
    return argv[1:2]


def _upper(a: bytes) -> bytes:
    return a.upper()


# ------------------------------------------------------------------------------------------ strings (t_string.c)
def _set_opts(argv, start):
    words = [a.upper() for a in argv[start:]]
    return words


@rule("set", keys=_one)
async def _set(ctx):
    argv, reply = ctx.argv, ctx.reply
    words = _set_opts(argv, 3)
    if b"GET" in words:
        existed = ctx.existed[argv[1]]
        if (b"NX" in words and existed) or (b"XX" in words and not existed):
            return
    elif reply is None:
        return
    ctx.add(STRING, b"set", argv[1])
    if any(w in words for w in (b"EX", b"PX", b"EXAT", b"PXAT")):
        ctx.add(G, b"expire", argv[1])


@rule("setnx", "msetnx", keys=lambda argv: argv[1::2])
async def _setnx(ctx):
    if ctx.reply == 1:
        for k in ctx.argv[1::2]:
            ctx.add(STRING, b"set", k)


@rule("mset", keys=lambda argv: argv[1::2])
async def _mset(ctx):
    for k in ctx.argv[1::2]:
        ctx.add(STRING, b"set", k)


@rule("setex", "psetex", keys=_one)
async def _setex(ctx):
    ctx.add(STRING, b"set", ctx.argv[1])
    ctx.add(G, b"expire", ctx.argv[1])


@rule("getset", keys=_one)
async def _getset(ctx):
    ctx.add(STRING, b"set", ctx.argv[1])


@rule("getdel")
async def _getdel(ctx):
    if ctx.reply is not None:
        ctx.add(G, b"del", ctx.argv[1])


async def _ttl_before(ctx):
    return await _v(ctx.store.expire_time(ctx.argv[1]))


@rule("getex", pre=_ttl_before)
async def _getex(ctx):
    if ctx.reply is None:
        return
    words = [a.upper() for a in ctx.argv[2:]]
    key = ctx.argv[1]
    if b"PERSIST" in words:
        if ctx.pre is not None and ctx.pre > 0:
            ctx.add(G, b"persist", key)
        return
    for w in (b"EX", b"PX", b"EXAT", b"PXAT"):
        if w in words:
            if w in (b"EXAT", b"PXAT") and not await ctx.exists(key):
                ctx.add(G, b"del", key)
            else:
                ctx.add(G, b"expire", key)
            return


@rule("append", keys=_one)
async def _append(ctx):
    ctx.add(STRING, b"append", ctx.argv[1])


@rule("setrange", keys=_one)
async def _setrange(ctx):
    if ctx.argv[3]:
        ctx.add(STRING, b"setrange", ctx.argv[1])


@rule("incr", "decr", "incrby", "decrby", keys=_one)
async def _incrby(ctx):
    ctx.add(STRING, b"incrby", ctx.argv[1])


@rule("incrbyfloat", keys=_one)
async def _incrbyfloat(ctx):
    ctx.add(STRING, b"incrbyfloat", ctx.argv[1])


# ------------------------------------------------------------------------------------------ keyspace (db.c, expire.c)
@rule("del", "unlink", keys=lambda argv: argv[1:])
async def _del(ctx):
    done = set()
    for k in ctx.argv[1:]:
        if ctx.existed.get(k) and k not in done:
            done.add(k)
            ctx.add(G, b"del", k)


@rule("expire", "pexpire", "expireat", "pexpireat")
async def _expire(ctx):
    if ctx.reply != 1:
        return
    key = ctx.argv[1]
    if await ctx.exists(key):
        ctx.add(G, b"expire", key)
    else:  # a time in the past deletes the key
        ctx.add(G, b"del", key)


@rule("persist")
async def _persist(ctx):
    if ctx.reply == 1:
        ctx.add(G, b"persist", ctx.argv[1])


@rule("rename", "renamenx", auto_new=False)
async def _rename(ctx):
    src, dst = ctx.argv[1], ctx.argv[2]
    if src == dst or ctx.reply in (0,):
        return
    ctx.add(NEW, b"new", dst)
    ctx.add(G, b"rename_from", src)
    ctx.add(G, b"rename_to", dst)


def _other_store(ctx, arg: bytes):
    from .protocol import string2ll
    index = string2ll(arg)
    if index is not None:
        return ctx.app.databases.get(index)
    return ctx.app.stores.get(arg.decode("utf-8", "replace"))


@rule("move", auto_new=False)
async def _move(ctx):
    if ctx.reply != 1:
        return
    dst = _other_store(ctx, ctx.argv[2])
    if dst is None:
        return
    key = ctx.argv[1]
    ctx.add(NEW, b"new", key, dst)
    ctx.add(G, b"move_from", key)
    ctx.add(G, b"move_to", key, dst)


@rule("copy", auto_new=False)
async def _copy(ctx):
    if ctx.reply != 1:
        return
    dst = ctx.store
    words = ctx.argv[3:]
    for i, w in enumerate(words):
        if w.upper() == b"DB" and i + 1 < len(words):
            dst = _other_store(ctx, words[i + 1])
    if dst is None:
        return
    ctx.add(NEW, b"new", ctx.argv[2], dst)
    ctx.add(G, b"copy_to", ctx.argv[2], dst)


# ------------------------------------------------------------------------------------------ lists (t_list.c)
@rule("lpush", "rpush", "lpushx", "rpushx", keys=_one)
async def _push(ctx):
    if _has(ctx.reply):
        ctx.add(LIST, b"lpush" if ctx.argv[0][0] in b"lL" else b"rpush", ctx.argv[1])


@rule("linsert")
async def _linsert(ctx):
    if ctx.reply > 0:
        ctx.add(LIST, b"linsert", ctx.argv[1])


@rule("lset")
async def _lset(ctx):
    ctx.add(LIST, b"lset", ctx.argv[1])


@rule("lpop", "rpop")
async def _pop(ctx):
    if _has(ctx.reply):  # an element, or a non-empty array with COUNT
        ctx.add(LIST, b"lpop" if ctx.argv[0][0] in b"lL" else b"rpop", ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


@rule("lrem")
async def _lrem(ctx):
    if _has(ctx.reply):
        ctx.add(LIST, b"lrem", ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


@rule("ltrim", keys=_one)
async def _ltrim(ctx):
    if ctx.existed[ctx.argv[1]]:
        ctx.add(LIST, b"ltrim", ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


async def move_events(ctx, src: bytes, dst: bytes, from_left: bool, to_left: bool) -> None:
    """LMOVE's events (lmoveHandlePush, then the pop): [new dst], push on dst, pop on src, [del src]."""
    ctx.add(LIST, b"lpush" if to_left else b"rpush", dst)
    ctx.add(LIST, b"lpop" if from_left else b"rpop", src)
    await ctx.gone_del(src)


def _side(a: bytes) -> bool:
    return a.upper() == b"LEFT"


@rule("lmove", keys=lambda argv: argv[2:3])
async def _lmove(ctx):
    if ctx.reply is not None:
        a = ctx.argv
        await move_events(ctx, a[1], a[2], _side(a[3]), _side(a[4]))


@rule("rpoplpush", keys=lambda argv: argv[2:3])
async def _rpoplpush(ctx):
    if ctx.reply is not None:
        await move_events(ctx, ctx.argv[1], ctx.argv[2], False, True)


def _mpop_left(argv, first_numkeys: int) -> bool:
    try:
        n = int(argv[first_numkeys])
        return argv[first_numkeys + 1 + n].upper() in (b"LEFT", b"MIN")
    except (ValueError, IndexError):
        return True


@rule("lmpop")
async def _lmpop(ctx):
    if _has(ctx.reply):
        key = ctx.reply[0]
        ctx.add(LIST, b"lpop" if _mpop_left(ctx.argv, 1) else b"rpop", key)
        await ctx.gone_del(key)


# ------------------------------------------------------------------------------------------ hashes (t_hash.c)
@rule("hset", "hmset", keys=_one)
async def _hset(ctx):
    ctx.add(HASH, b"hset", ctx.argv[1])


@rule("hsetnx", keys=_one)
async def _hsetnx(ctx):
    if ctx.reply == 1:
        ctx.add(HASH, b"hset", ctx.argv[1])


@rule("hincrby", keys=_one)
async def _hincrby(ctx):
    ctx.add(HASH, b"hincrby", ctx.argv[1])


@rule("hincrbyfloat", keys=_one)
async def _hincrbyfloat(ctx):
    ctx.add(HASH, b"hincrbyfloat", ctx.argv[1])


@rule("hdel")
async def _hdel(ctx):
    if _has(ctx.reply):
        ctx.add(HASH, b"hdel", ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


# ------------------------------------------------------------------------------------------ sets (t_set.c)
@rule("sadd", keys=_one)
async def _sadd(ctx):
    if _has(ctx.reply):
        ctx.add(SET, b"sadd", ctx.argv[1])


@rule("srem")
async def _srem(ctx):
    if _has(ctx.reply):
        ctx.add(SET, b"srem", ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


async def _smove_pre(ctx):
    """Whether the destination holds the member already (then SMOVE adds nothing there: no sadd)."""
    from backends.values import SET as SETKIND
    try:
        dst = await _v(ctx.store.read(ctx.argv[2], SETKIND))
    except StoreError:
        return True
    return dst is not None and ctx.argv[3] in dst


@rule("smove", keys=lambda argv: argv[2:3], pre=_smove_pre)
async def _smove(ctx):
    src, dst = ctx.argv[1], ctx.argv[2]
    if ctx.reply != 1 or src == dst:
        return
    ctx.add(SET, b"srem", src)
    await ctx.gone_del(src)
    if not ctx.existed[dst]:
        ctx.add(NEW, b"new", dst)
        ctx.existed[dst] = True
    if not ctx.pre:
        ctx.add(SET, b"sadd", dst)


@rule("spop")
async def _spop(ctx):
    if _has(ctx.reply):
        ctx.add(SET, b"spop", ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


def _store_rule(event: bytes, flag: int):
    async def post(ctx):
        dst = ctx.argv[1]
        if _has(ctx.reply):
            ctx.add(flag, event, dst)
        elif ctx.existed[dst]:
            ctx.add(G, b"del", dst)
    return post


for _name, _flag in (("sinterstore", SET), ("sunionstore", SET), ("sdiffstore", SET), ("zunionstore", ZSET),
                     ("zinterstore", ZSET), ("zdiffstore", ZSET), ("zrangestore", ZSET)):
    RULES[_name] = Rule(_store_rule(_name.encode(), _flag), _one)


# ------------------------------------------------------------------------------------------ sorted sets (t_zset.c)
def _zadd_members(argv) -> list:
    i = 2
    while i < len(argv) and argv[i].upper() in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
        i += 1
    return argv[i + 1::2]


async def _scores(ctx):
    from backends.zsets import ZSET as ZKIND
    try:
        zs = await _v(ctx.store.read(ctx.argv[1], ZKIND))
    except StoreError:
        return None
    members = _zadd_members(ctx.argv)
    if zs is None:
        return {m: None for m in members}
    return {m: zs.get(m) for m in members}


@rule("zadd", keys=_one, pre=_scores)
async def _zadd(ctx):
    incr = any(a.upper() == b"INCR" for a in ctx.argv[2:])
    if incr:
        if ctx.reply is not None:
            ctx.add(ZSET, b"zincr", ctx.argv[1])
        return
    after = await _scores(ctx)
    if ctx.pre is not None and after is not None and after != ctx.pre:
        ctx.add(ZSET, b"zadd", ctx.argv[1])


@rule("zincrby", keys=_one)
async def _zincrby(ctx):
    ctx.add(ZSET, b"zincr", ctx.argv[1])


@rule("zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex")
async def _zrem(ctx):
    if _has(ctx.reply):
        ctx.add(ZSET, ctx.argv[0].lower(), ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


@rule("zpopmin", "zpopmax")
async def _zpop(ctx):
    if _has(ctx.reply):
        ctx.add(ZSET, ctx.argv[0].lower(), ctx.argv[1])
        await ctx.gone_del(ctx.argv[1])


@rule("zmpop")
async def _zmpop(ctx):
    if _has(ctx.reply):
        key = ctx.reply[0]
        ctx.add(ZSET, b"zpopmin" if _mpop_left(ctx.argv, 1) else b"zpopmax", key)
        await ctx.gone_del(key)


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
        if not app.notify_flags:
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
    if not app.notify_flags:
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
