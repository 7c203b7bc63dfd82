"""Keyspace commands: existence, deletion, expiry, TTLs, TYPE, KEYS/SCAN, RENAME/COPY, DBSIZE/FLUSH (SPEC §6)."""
from __future__ import annotations

from typing import Optional

from backends.base import now_ms

from .. import errors
from ..errors import CommandError
from ..replies import OK, Simple
from .args import INT64_MAX, Options, count_at_least, parse_int, parse_scan_cursor
from .table import Keys, command, is_pending, then

@command("exists", arity=-2, flags="readonly fast", keys=(Keys(1, "RO", last=-1),), categories="keyspace read fast",
         complexity="O(N)", pure=True, summary="Determines whether one or more keys exist.")
def exists(sess, argv):
    return sess.store.exists(argv[1:])


@command("touch", arity=-2, flags="readonly fast", keys=(Keys(1, "RO", last=-1),), categories="keyspace read fast",
         since="3.2.1", complexity="O(N)", pure=True,
         summary="Returns the number of existing keys out of those specified after updating the time they were "
                 "last accessed.")
def touch(sess, argv):
    return sess.store.exists(argv[1:])


def _delete(sess, argv):
    keys = list(dict.fromkeys(argv[1:]))
    return sess.store.delete(keys)


@command("del", arity=-2, flags="write", keys=(Keys(1, "RM delete", last=-1),), categories="keyspace write slow",
         complexity="O(N)", pure=True, summary="Deletes one or more keys.")
def del_(sess, argv):
    return _delete(sess, argv)


@command("unlink", arity=-2, flags="write fast", keys=(Keys(1, "RM delete", last=-1),),
         categories="keyspace write fast", since="4.0.0", complexity="O(1) for each key removed", pure=True,
         summary="Asynchronously deletes one or more keys.")
def unlink(sess, argv):
    return _delete(sess, argv)


_EXPIRE_OPTIONS = Options("[NX] [XX] [GT] [LT]", error=errors.unsupported_option)


def _expire(sess, argv, unit: int, absolute: bool, name: str):
    opts = set(_EXPIRE_OPTIONS.parse(argv, 3))
    if "NX" in opts and len(opts) > 1:
        raise CommandError(errors.EXPIRE_NX_XX)
    if "GT" in opts and "LT" in opts:
        raise CommandError(errors.EXPIRE_GT_LT)
    t = parse_int(argv[2])  # after the options, as Redis checks them
    # XX+GT is GT (a key without TTL never passes GT); XX+LT needs a TTL and a lower time
    cond = "LT" if "LT" in opts else "GT" if "GT" in opts else (opts.pop() if opts else None)
    xx_lt = "XX" in opts and cond == "LT"
    if unit == 1000:
        if t > INT64_MAX // 1000 or t < -(INT64_MAX // 1000):
            raise CommandError(errors.INVALID_EXPIRE.format(name))
        t *= 1000
    if not absolute:
        t += now_ms()
        if t > INT64_MAX:
            raise CommandError(errors.INVALID_EXPIRE.format(name))
    if xx_lt:
        store, key = sess.store, argv[1]
        return then(store.expire_time(key), lambda at: 0 if at < 0 else store.expire(key, t, "LT"))
    return sess.store.expire(argv[1], t, cond)


_EXPIRE_KEYS = (Keys(1, "RW update"),)
_EXPIRE_ARGS = (("key", "key"), ("seconds", "integer"), ("condition", "oneof", "optional"))


@command("expire", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, categories="keyspace write fast", pure=True,
         summary="Sets the expiration time of a key in seconds.", arguments=_EXPIRE_ARGS)
def expire(sess, argv):
    return _expire(sess, argv, 1000, False, "expire")


@command("pexpire", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, categories="keyspace write fast", pure=True,
         since="2.6.0", summary="Sets the expiration time of a key in milliseconds.")
def pexpire(sess, argv):
    return _expire(sess, argv, 1, False, "pexpire")


@command("expireat", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, categories="keyspace write fast", pure=True,
         since="1.2.0", summary="Sets the expiration time of a key to a Unix timestamp.")
def expireat(sess, argv):
    return _expire(sess, argv, 1000, True, "expireat")


@command("pexpireat", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, categories="keyspace write fast", pure=True,
         since="2.6.0", summary="Sets the expiration time of a key to a Unix milliseconds timestamp.")
def pexpireat(sess, argv):
    return _expire(sess, argv, 1, True, "pexpireat")


# Redis 7.0 flags these RO ACCESS (reading a TTL needs read permission, not just write): kept as Redis has it
_TTL_KEYS = (Keys(1, "RO access"),)


def _ttl_reply(unit: int, relative: bool):
    def fn(at):
        if at < 0:
            return at
        if not relative:   # Redis rounds EXPIRETIME to the nearest second, as it does TTL
            return (at + 500) // 1000 if unit == 1000 else at
        left = at - now_ms()
        if left < 0:
            left = 0
        return (left + 500) // 1000 if unit == 1000 else left

    return fn


@command("ttl", arity=2, flags="readonly fast", keys=_TTL_KEYS, categories="keyspace read fast", pure=True,
         summary="Returns the expiration time in seconds of a key.")
def ttl(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1000, True))


@command("pttl", arity=2, flags="readonly fast", keys=_TTL_KEYS, categories="keyspace read fast", pure=True,
         since="2.6.0", summary="Returns the expiration time in milliseconds of a key.")
def pttl(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1, True))


@command("expiretime", arity=2, flags="readonly fast", keys=_TTL_KEYS, categories="keyspace read fast", pure=True,
         since="7.0.0", summary="Returns the expiration time of a key as a Unix timestamp.")
def expiretime(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1000, False))


@command("pexpiretime", arity=2, flags="readonly fast", keys=_TTL_KEYS, categories="keyspace read fast", pure=True,
         since="7.0.0", summary="Returns the expiration time of a key as a Unix milliseconds timestamp.")
def pexpiretime(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1, False))


@command("persist", arity=2, flags="write fast", keys=(Keys(1, "RW update"),), categories="keyspace write fast",
         since="2.2.0", pure=True, summary="Removes the expiration time of a key.")
def persist(sess, argv):
    return sess.store.persist(argv[1])


_TYPES = {}


@command("type", arity=2, flags="readonly fast", keys=(Keys(1, "RO"),), categories="keyspace read fast", pure=True,
         summary="Determines the type of value stored at a key.")
def type_(sess, argv):
    def fn(t):
        r = _TYPES.get(t)
        if r is None:
            r = _TYPES[t] = Simple(t.decode())
        return r

    return then(sess.store.type(argv[1]), fn)


@command("keys", arity=2, flags="readonly", categories="keyspace read slow dangerous", complexity="O(N)",
         policy="store.keys.list", summary="Returns all key names that match a pattern.")
def keys(sess, argv):
    r = sess.store.keys(argv[1])
    if sess.permissions is not None:
        return then(r, lambda ks_: sess.permissions.filter_keys(sess, ks_))
    return r


_SCAN_OPTIONS = Options("[MATCH pattern] [COUNT count] [TYPE type]", convert={"COUNT": count_at_least(1)})
_COPY_OPTIONS = Options("[DB destination-db] [REPLACE]")


@command("scan", arity=-2, flags="readonly", categories="keyspace read slow", since="2.8.0",
         complexity="O(1) per call", pure=True, policy="store.keys.list",
         summary="Iterates over the key names in the database.")
def scan(sess, argv):
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]"""
    cursor = parse_scan_cursor(argv[1])
    opts = _SCAN_OPTIONS.parse(argv, 2)
    pattern = opts.get("MATCH")
    if pattern == b"*":
        pattern = None

    def fn(r):
        nxt, found = r
        if sess.permissions is not None:
            found = sess.permissions.filter_keys(sess, found)
        return [b"%d" % nxt, found]

    return then(sess.store.scan(cursor, pattern, opts.get("COUNT", 10), opts.get("TYPE")), fn)


@command("randomkey", arity=1, flags="readonly", categories="keyspace read slow", pure=True,
         policy="store.keys.list", summary="Returns a random key name from the database.")
def randomkey(sess, argv):
    r = sess.store.randomkey()
    if sess.permissions is not None:
        return then(r, lambda k: k if k is None or sess.permissions.filter_keys(sess, [k]) else None)
    return r


@command("rename", arity=3, flags="write", keys=(Keys(1, "RW access delete"), Keys(2, "OW update")),
         categories="keyspace write slow", pure=True, summary="Renames a key and overwrites the destination.")
def rename(sess, argv):
    return then(sess.store.rename(argv[1], argv[2]), lambda _: OK)


@command("renamenx", arity=3, flags="write fast", keys=(Keys(1, "RW access delete"), Keys(2, "OW insert")),
         categories="keyspace write fast", pure=True,
         summary="Renames a key only when the target key name doesn't exist.")
def renamenx(sess, argv):
    return then(sess.store.rename(argv[1], argv[2], nx=True), lambda ok: 1 if ok else 0)


def _copy_destination(argv: list) -> Optional[tuple]:
    """COPY src dst [DB n]: the argument naming the destination store (the last DB given) and dst's position."""
    target = None
    for i in range(3, len(argv) - 1):
        if argv[i].lower() == b"db":
            target = argv[i + 1]
    return None if target is None else (target, 2)


@command("copy", arity=-3, flags="write denyoom", keys=(Keys(1, "RO access"), Keys(2, "OW update")),
         categories="keyspace write slow", since="6.2.0", pure=True, cross_store=_copy_destination,
         switches_store=True,
         summary="Copies the value of a key to a new key.")
def copy(sess, argv):
    src, dst = argv[1], argv[2]
    # Redis checks the DB index when it meets it, before the options after it
    opts = _COPY_OPTIONS.parse(argv, 3, convert={"DB": lambda arg: sess.app.store_for_index(parse_int(arg))})
    target = opts.get("DB")
    replace = "REPLACE" in opts
    store = sess.store
    if target is None or target is store:
        if src == dst:
            raise CommandError(errors.SAME_OBJECT)
        return then(store.copy(src, dst, replace), lambda ok: 1 if ok else 0)  # an integer, never a RESP3 boolean
    return _copy_across(store, target, src, dst, replace)


def _copy_across(store, target, src, dst, replace):
    dumped = store.dump(src)
    if is_pending(dumped):
        return _copy_across_async(dumped, target, dst, replace)
    if dumped is None:
        return 0
    return then(target.restore(dst, dumped[0], dumped[1], replace), lambda ok: 1 if ok else 0)


async def _copy_across_async(dumped, target, dst, replace):
    d = await dumped
    if d is None:
        return 0
    r = target.restore(dst, d[0], d[1], replace)
    if is_pending(r):
        r = await r
    return 1 if r else 0


@command("move", arity=3, flags="write fast", keys=(Keys(1, "RW access update", access="access delete"),),
         categories="keyspace write fast", pure=True, cross_store=lambda argv: (argv[2], 1), switches_store=True,
         summary="Moves a key to another database.")
def move(sess, argv):
    target = sess.app.store_for_index(parse_int(argv[2]))
    store = sess.store
    if target is store:
        raise CommandError(errors.SAME_OBJECT)
    if store.is_async or target.is_async:
        return _move_async(store, target, argv[1])
    dumped = store.dump(argv[1])
    if dumped is None or not target.restore(argv[1], dumped[0], dumped[1], False):
        return 0
    store.delete([argv[1]])
    return 1


async def _move_async(store, target, key):
    async def call(r):
        return (await r) if is_pending(r) else r

    dumped = await call(store.dump(key))
    if dumped is None or not await call(target.restore(key, dumped[0], dumped[1], False)):
        return 0
    await call(store.delete([key]))
    return 1


@command("dbsize", arity=1, flags="readonly fast", categories="keyspace read fast", pure=True,
         policy="store.keys.count", summary="Returns the number of keys in the database.")
def dbsize(sess, argv):
    return sess.store.dbsize()


def _flush_mode(argv):
    if len(argv) > 2:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC"):
        raise CommandError(errors.SYNTAX)


@command("flushdb", arity=-1, flags="write", categories="keyspace write slow dangerous", complexity="O(N)",
         policy="store.flush", summary="Remove all keys from the current database.")
def flushdb(sess, argv):
    _flush_mode(argv)
    return then(sess.store.flush(), lambda _: OK)


@command("flushall", arity=-1, flags="write", categories="keyspace write slow dangerous", complexity="O(N)",
         policy="store.flush", all_stores=True, switches_store=True, summary="Removes all keys from all databases.")
def flushall(sess, argv):
    _flush_mode(argv)
    stores = sess.app.flushable_stores()
    if any(s.is_async for s in stores):
        return _flush_all_async(stores)
    for s in stores:
        s.flush()
    return OK


async def _flush_all_async(stores):
    for s in stores:
        r = s.flush()
        if is_pending(r):
            await r
    return OK


@command("swapdb", arity=3, flags="write fast", categories="keyspace write fast dangerous", since="4.0.0",
         policy="server.admin", summary="Swaps two Redis databases.")
def swapdb(sess, argv):
    raise CommandError(errors.SWAPDB_UNSUPPORTED)
