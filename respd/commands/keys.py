"""Keyspace commands: existence, deletion, expiry, TTLs, TYPE, KEYS/SCAN, RENAME/COPY, DBSIZE/FLUSH (SPEC §6)."""
from __future__ import annotations

from backends.base import now_ms

from .. import errors
from ..errors import CommandError
from ..replies import OK, Simple
from .args import INT64_MAX, parse_int
from .table import ACCESS, DELETE, INSERT, RW_ACCESS_UPDATE, UPDATE, command, is_pending, ks, then

_U64 = (1 << 64) - 1


@command("EXISTS", -2, ("readonly", "fast"), (ks(1, -1, 1, redis=("RO",)),), ("keyspace", "read", "fast"),
         summary="Determines whether one or more keys exist.", complexity="O(N)")
def exists(sess, argv):
    return sess.store.exists(argv[1:])


@command("TOUCH", -2, ("readonly", "fast"), (ks(1, -1, 1, redis=("RO",)),), ("keyspace", "read", "fast"),
         summary="Returns the number of existing keys out of those specified after updating the time they were "
                 "last accessed.", since="3.2.1", complexity="O(N)")
def touch(sess, argv):
    return sess.store.exists(argv[1:])


def _delete(sess, argv):
    keys = list(dict.fromkeys(argv[1:]))
    return sess.store.delete(keys)


@command("DEL", -2, ("write",), (ks(1, -1, 1, DELETE, redis=("RM", "DELETE")),), ("keyspace", "write", "slow"),
         summary="Deletes one or more keys.", complexity="O(N)")
def del_(sess, argv):
    return _delete(sess, argv)


@command("UNLINK", -2, ("write", "fast"), (ks(1, -1, 1, DELETE, redis=("RM", "DELETE")),),
         ("keyspace", "write", "fast"), summary="Asynchronously deletes one or more keys.", since="4.0.0",
         complexity="O(1) for each key removed")
def unlink(sess, argv):
    return _delete(sess, argv)


def _expire(sess, argv, unit: int, absolute: bool, name: str):
    opts = set()
    for a in argv[3:]:
        o = a.upper()
        if o not in (b"NX", b"XX", b"GT", b"LT"):
            raise CommandError(b"ERR Unsupported option " + a)
        opts.add(o.decode())
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


_EXPIRE_KEYS = (ks(1, 0, 1, UPDATE, redis=("RW", "UPDATE")),)
_EXPIRE_ARGS = (("key", "key"), ("seconds", "integer"), ("condition", "oneof", "optional"))


@command("EXPIRE", -3, ("write", "fast"), _EXPIRE_KEYS, ("keyspace", "write", "fast"),
         summary="Sets the expiration time of a key in seconds.", arguments=_EXPIRE_ARGS)
def expire(sess, argv):
    return _expire(sess, argv, 1000, False, "expire")


@command("PEXPIRE", -3, ("write", "fast"), _EXPIRE_KEYS, ("keyspace", "write", "fast"),
         summary="Sets the expiration time of a key in milliseconds.", since="2.6.0")
def pexpire(sess, argv):
    return _expire(sess, argv, 1, False, "pexpire")


@command("EXPIREAT", -3, ("write", "fast"), _EXPIRE_KEYS, ("keyspace", "write", "fast"),
         summary="Sets the expiration time of a key to a Unix timestamp.", since="1.2.0")
def expireat(sess, argv):
    return _expire(sess, argv, 1000, True, "expireat")


@command("PEXPIREAT", -3, ("write", "fast"), _EXPIRE_KEYS, ("keyspace", "write", "fast"),
         summary="Sets the expiration time of a key to a Unix milliseconds timestamp.", since="2.6.0")
def pexpireat(sess, argv):
    return _expire(sess, argv, 1, True, "pexpireat")


# Redis 7.0 flags these RO ACCESS (reading a TTL needs read permission, not just write): kept as Redis has it
_TTL_KEYS = (ks(1, 0, 1, ACCESS, redis=("RO", "ACCESS")),)


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


@command("TTL", 2, ("readonly", "fast"), _TTL_KEYS, ("keyspace", "read", "fast"),
         summary="Returns the expiration time in seconds of a key.")
def ttl(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1000, True))


@command("PTTL", 2, ("readonly", "fast"), _TTL_KEYS, ("keyspace", "read", "fast"),
         summary="Returns the expiration time in milliseconds of a key.", since="2.6.0")
def pttl(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1, True))


@command("EXPIRETIME", 2, ("readonly", "fast"), _TTL_KEYS, ("keyspace", "read", "fast"),
         summary="Returns the expiration time of a key as a Unix timestamp.", since="7.0.0")
def expiretime(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1000, False))


@command("PEXPIRETIME", 2, ("readonly", "fast"), _TTL_KEYS, ("keyspace", "read", "fast"),
         summary="Returns the expiration time of a key as a Unix milliseconds timestamp.", since="7.0.0")
def pexpiretime(sess, argv):
    return then(sess.store.expire_time(argv[1]), _ttl_reply(1, False))


@command("PERSIST", 2, ("write", "fast"), (ks(1, 0, 1, UPDATE, redis=("RW", "UPDATE")),),
         ("keyspace", "write", "fast"), summary="Removes the expiration time of a key.", since="2.2.0")
def persist(sess, argv):
    return sess.store.persist(argv[1])


_TYPES = {}


@command("TYPE", 2, ("readonly", "fast"), (ks(1, 0, 1, redis=("RO",)),), ("keyspace", "read", "fast"),
         summary="Determines the type of value stored at a key.")
def type_(sess, argv):
    def fn(t):
        r = _TYPES.get(t)
        if r is None:
            r = _TYPES[t] = Simple(t.decode())
        return r

    return then(sess.store.type(argv[1]), fn)


@command("KEYS", 2, ("readonly",), (), ("keyspace", "read", "slow", "dangerous"),
         summary="Returns all key names that match a pattern.", complexity="O(N)")
def keys(sess, argv):
    r = sess.store.keys(argv[1])
    if sess.acl is not None:
        return then(r, lambda ks_: sess.acl.filter_keys(sess, ks_))
    return r


@command("SCAN", -2, ("readonly",), (), ("keyspace", "read", "slow"),
         summary="Iterates over the key names in the database.", since="2.8.0", complexity="O(1) per call")
def scan(sess, argv):
    raw = argv[1]
    try:
        cursor = int(raw)
    except ValueError:
        raise CommandError(errors.INVALID_CURSOR) from None
    if b"%d" % cursor != raw:
        raise CommandError(errors.INVALID_CURSOR)
    if cursor < 0:
        if cursor < -(1 << 63):
            raise CommandError(errors.INVALID_CURSOR)
        cursor &= _U64
    if cursor > _U64:
        raise CommandError(errors.INVALID_CURSOR)
    pattern = None
    count = 10
    type_ = None
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].upper()
        if i + 1 >= n:
            raise CommandError(errors.SYNTAX)
        if opt == b"MATCH":
            pattern = argv[i + 1]
        elif opt == b"COUNT":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
        elif opt == b"TYPE":
            type_ = argv[i + 1]
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    if pattern == b"*":
        pattern = None

    def fn(r):
        nxt, found = r
        if sess.acl is not None:
            found = sess.acl.filter_keys(sess, found)
        return [b"%d" % nxt, found]

    return then(sess.store.scan(cursor, pattern, count, type_), fn)


@command("RANDOMKEY", 1, ("readonly",), (), ("keyspace", "read", "slow"),
         summary="Returns a random key name from the database.")
def randomkey(sess, argv):
    r = sess.store.randomkey()
    if sess.acl is not None:
        return then(r, lambda k: k if k is None or sess.acl.filter_keys(sess, [k]) else None)
    return r


_RENAME_KEYS = (ks(1, 0, 1, ACCESS, DELETE, redis=("RW", "ACCESS", "DELETE")),
                ks(2, 0, 1, UPDATE, redis=("OW", "UPDATE")))
_RENAMENX_KEYS = (ks(1, 0, 1, ACCESS, DELETE, redis=("RW", "ACCESS", "DELETE")),
                  ks(2, 0, 1, INSERT, redis=("OW", "INSERT")))


@command("RENAME", 3, ("write",), _RENAME_KEYS, ("keyspace", "write", "slow"), summary="Renames a key and overwrites "
         "the destination.")
def rename(sess, argv):
    return then(sess.store.rename(argv[1], argv[2]), lambda _: OK)


@command("RENAMENX", 3, ("write", "fast"), _RENAMENX_KEYS, ("keyspace", "write", "fast"),
         summary="Renames a key only when the target key name doesn't exist.")
def renamenx(sess, argv):
    return then(sess.store.rename(argv[1], argv[2], nx=True), lambda ok: 1 if ok else 0)


@command("COPY", -3, ("write", "denyoom"), (ks(1, 0, 1, ACCESS, redis=("RO", "ACCESS")),
                                             ks(2, 0, 1, UPDATE, redis=("OW", "UPDATE"))),
         ("keyspace", "write", "slow"), summary="Copies the value of a key to a new key.", since="6.2.0")
def copy(sess, argv):
    src, dst = argv[1], argv[2]
    target = None
    replace = False
    i, n = 3, len(argv)
    while i < n:
        opt = argv[i].upper()
        if opt == b"REPLACE":
            replace = True
        elif opt == b"DB" and i + 1 < n:
            i += 1
            target = sess.app.store_for_index(parse_int(argv[i]))
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
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


@command("MOVE", 3, ("write", "fast"), (ks(1, 0, 1, ACCESS, DELETE, redis=RW_ACCESS_UPDATE),),
         ("keyspace", "write", "fast"), summary="Moves a key to another database.")
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


@command("DBSIZE", 1, ("readonly", "fast"), (), ("keyspace", "read", "fast"),
         summary="Returns the number of keys in the database.")
def dbsize(sess, argv):
    return sess.store.dbsize()


def _flush_mode(argv):
    if len(argv) > 2:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC"):
        raise CommandError(errors.SYNTAX)


@command("FLUSHDB", -1, ("write",), (), ("keyspace", "write", "slow", "dangerous"),
         summary="Remove all keys from the current database.", complexity="O(N)")
def flushdb(sess, argv):
    _flush_mode(argv)
    return then(sess.store.flush(), lambda _: OK)


@command("FLUSHALL", -1, ("write",), (), ("keyspace", "write", "slow", "dangerous"),
         summary="Removes all keys from all databases.", complexity="O(N)")
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


@command("SWAPDB", 3, ("write", "fast"), (), ("keyspace", "write", "fast", "dangerous"),
         summary="Swaps two Redis databases.", since="4.0.0")
def swapdb(sess, argv):
    raise CommandError("ERR SWAPDB is not supported by respd: databases are mapped to configured stores")
