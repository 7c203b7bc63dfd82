"""The keyspace notifications of each command (``RULES``): what Redis 7.0.15's commands send through
``notifyKeyspaceEvent`` (t_string.c, db.c, expire.c, t_list.c, t_hash.c, t_set.c, t_zset.c), as rules run by
``respd.notify.around``.

A rule probes the store before the command (``keys``: whether they exist, for ``new`` and for deletions; ``pre``:
anything else, a TTL, members' scores) and, once the reply is known and is not an error, adds the events
(``post``). The reply says most of it (SADD's count, an EXPIRE's 1); the store after the command says the rest (a
pop that emptied its key sends ``del``; an EXPIRE with a past time deleted it). ``respd.notify`` places ``new``.
Blocking pops send their events from the attempt that serves them (``respd.notify.served``).
"""
from __future__ import annotations

from backends.base import StoreError
from backends.values import SET as SET_KIND
from backends.zsets import ZSET as ZSET_KIND

from .notify import G, HASH, LIST, NEW, SET, STRING, X, ZSET, _has, _v, move_events
from .protocol import string2ll

class Rule:
    """How a command notifies: ``keys(argv)`` the keys probed for existence before it runs; ``pre(ctx)`` any other
    probe before it; ``post(ctx)`` the events once its reply is known (never called for an error reply; None for
    a read); ``auto_new``: ``new`` goes before the first event of each key that did not exist (else post adds it);
    ``miss(argv)``: the keys the command looks up for reading, in order (Redis' lookupKeyRead: a missing one sends
    ``keymiss`` when the m class is on, before the command's other events)."""

    __slots__ = ("keys", "pre", "post", "auto_new", "miss")

    def __init__(self, post, keys=None, pre=None, auto_new: bool = True, miss=None):
        self.post, self.keys, self.pre, self.auto_new, self.miss = post, keys, pre, auto_new, miss


RULES: dict[str, Rule] = {}


def rule(*names: str, keys=None, pre=None, auto_new: bool = True, miss=None):
    def deco(fn):
        for n in names:
            RULES[n] = Rule(fn, keys, pre, auto_new, miss)
        return fn
    return deco


def _one(argv):
    return argv[1:2]


# ------------------------------------------------------------------------------------------ strings (t_string.c)
def _set_opts(argv, start):
    return [a.upper() for a in argv[start:]]


@rule("set", keys=_one, miss=lambda argv: argv[1:2] if any(a.upper() == b"GET" for a in argv[3:]) else ())
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
        if (b"EXAT" in words or b"PXAT" in words) and not ctx.store.is_async and not await ctx.exists(argv[1]):
            # a time already past: Redis keeps the key until it is looked at or sampled (then "expired"); a memory
            # store drops it at once, so it says "expired" at once (a SQL store's cleanup reports the row later)
            ctx.add(X, b"expired", argv[1])


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


@rule("getset", keys=_one, miss=_one)
async def _getset(ctx):
    ctx.add(STRING, b"set", ctx.argv[1])


@rule("getdel", miss=_one)
async def _getdel(ctx):
    if ctx.reply is not None:
        ctx.add(G, b"del", ctx.argv[1])


async def _ttl_before(ctx):
    return await _v(ctx.store.expire_time(ctx.argv[1]))


@rule("getex", pre=_ttl_before, miss=_one)
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


@rule("copy", auto_new=False, miss=_one)
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
    try:
        dst = await _v(ctx.store.read(ctx.argv[2], SET_KIND))
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


def _numkeys_at(i: int):
    """The keys after a count at argv[i] (ZUNIONSTORE's sources, ZINTER's keys...)."""
    def keys(argv):
        try:
            n = int(argv[i])
        except (ValueError, IndexError):
            return ()
        return argv[i + 1:i + 1 + n] if n > 0 else ()
    return keys


def _from(i: int):
    return lambda argv: argv[i:]


for _name, _flag, _miss in (("sinterstore", SET, _from(2)), ("sunionstore", SET, _from(2)),
                            ("sdiffstore", SET, _from(2)), ("zunionstore", ZSET, _numkeys_at(2)),
                            ("zinterstore", ZSET, _numkeys_at(2)), ("zdiffstore", ZSET, _numkeys_at(2)),
                            ("zrangestore", ZSET, lambda argv: argv[2:3])):
    RULES[_name] = Rule(_store_rule(_name.encode(), _flag), _one, miss=_miss)


# ------------------------------------------------------------------------------------------ sorted sets (t_zset.c)
def _zadd_split(argv) -> tuple[set, list]:
    """ZADD's option words and its (score, member) pairs."""
    i = 2
    opts = set()
    while i < len(argv) and argv[i].upper() in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
        opts.add(argv[i].upper())
        i += 1
    return opts, list(zip(argv[i::2], argv[i + 1::2]))


async def _scores(ctx):
    """The members' scores before ZADD (None: not members)."""
    zs = await _v(ctx.store.read(ctx.argv[1], ZSET_KIND))
    _, pairs = _zadd_split(ctx.argv)
    return {m: (zs.get(m) if zs is not None else None) for _, m in pairs}


def _zadd_changes(opts: set, pairs: list, scores: dict) -> bool:
    """Whether ZADD (no INCR) added or updated a member, from the scores before it (zsetAdd's rules: NX adds
    only, XX updates only, GT/LT update only upwards/downwards, an equal score is no update). Computed, not read
    back: on a SQL store a read after the write could let a blocked client's events go first."""
    changed = False
    for raw, m in pairs:
        try:
            score = float(raw)
        except ValueError:
            return False
        old = scores.get(m)
        if old is None:
            if b"XX" in opts:
                continue
            scores[m] = score
            changed = True
        elif b"NX" in opts or (b"GT" in opts and score <= old) or (b"LT" in opts and score >= old) or score == old:
            continue
        else:
            scores[m] = score
            changed = True
    return changed


@rule("zadd", keys=_one, pre=_scores)
async def _zadd(ctx):
    opts, pairs = _zadd_split(ctx.argv)
    if b"INCR" in opts:
        if ctx.reply is not None:
            ctx.add(ZSET, b"zincr", ctx.argv[1])
        return
    if ctx.pre is not None and _zadd_changes(opts, pairs, dict(ctx.pre)):
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


# ------------------------------------------------------------------------------------------ reads (keymiss only)
_READ_ONE = ("get getrange hexists hget hgetall hkeys hlen hmget hrandfield hscan hstrlen hvals lindex llen lpos "
             "lrange scard sismember smembers smismember srandmember sscan strlen substr ttl pttl expiretime "
             "pexpiretime type zcard zcount zlexcount zmscore zrandmember zrange zrangebylex zrangebyscore zrank "
             "zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore")
for _name in _READ_ONE.split():
    RULES[_name] = Rule(None, miss=_one)
for _name in ("exists", "mget", "sdiff", "sinter", "sunion", "touch"):
    RULES[_name] = Rule(None, miss=_from(1))
for _name in ("sintercard", "zdiff", "zinter", "zintercard", "zunion"):
    RULES[_name] = Rule(None, miss=_numkeys_at(1))
RULES["lcs"] = Rule(None, miss=lambda argv: argv[1:3])
