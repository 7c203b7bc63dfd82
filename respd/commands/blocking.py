"""The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP (Redis 7.0.15's
t_list.c, t_zset.c and blocked.c).

Each command is its non-blocking form (LPOP, LMOVE, LMPOP...) over its keys first: when a key has something, the
reply is the same as Redis' at once. When none has, the client blocks (``respd.blocking``): a ``Waiter`` whose
``attempt`` is that form on one key, tried when the key is created; its deadline comes from the timeout argument
(seconds as a double, 0 = forever). Inside MULTI and scripts a client cannot block (Redis' CLIENT_DENY_BLOCKING):
the command answers as if it had timed out at once.

Order of checks, as Redis makes them: BLPOP/BRPOP/BZPOPMIN/BZPOPMAX parse the timeout first, BLMOVE its directions
and then the timeout, BLMPOP/BZMPOP their other arguments and then the timeout; then the keys in order (a key of
another type before the first one holding a list answers WRONGTYPE). When a blocked client is served, a key of
another type is skipped (the client stays blocked, as in Redis 7.0), and BLMOVE's destination holding another type
answers WRONGTYPE to the blocked client and unblocks it.
"""
from __future__ import annotations

import math
import types
from fractions import Fraction

from backends.base import StoreError, StoreUnavailable, WrongType, now_ms
from backends.values import LIST
from backends.zsets import ZSET

from .. import errors
from ..blocking import SKIP, Waiter
from ..errors import CommandError, store_error
from ..notify import served
from ..replies import NULL_ARRAY, Err
from .args import INT64_MAX, parse_long_double, round_long_double
from .lists import lmpop_arguments, move_in, pop_from, where
from .zsets import bzpop_reply, parse_zmpop, pop_extreme, zmpop_reply
from .table import Keys, command, then

_Coroutine = types.CoroutineType
_BPOP_KEYS = (Keys(1, "RW access delete", last=-2),)
_BMOVE_KEYS = (Keys(1, "RW access delete"), Keys(2, "RW insert"))


# ---------------------------------------------------------------------------------------------- the framework
def parse_timeout(arg: bytes) -> int:
    """A timeout in seconds (Redis' getTimeoutFromObjectOrReply, UNIT_SECONDS) -> the deadline in Unix ms, 0 for
    none. The value is a long double; its milliseconds are rounded up; what does not fit a 64-bit integer
    (infinities, 1e16...) is negative to Redis, as the C conversion makes it."""
    value = parse_long_double(arg, errors.TIMEOUT_NOT_FLOAT)
    if isinstance(value, float):  # ±inf
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    ms = math.ceil(round_long_double(value * Fraction(1000)))
    if ms < 0 or ms > INT64_MAX:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return now_ms() + ms if ms else 0


def _cannot_block(sess) -> bool:
    """Inside EXEC or a script a client cannot block (Redis' CLIENT_DENY_BLOCKING)."""
    return sess.in_exec or sess.in_script


def blocking(sess, keys: list[bytes], deadline: int, initial, attempt, move: bool = False):
    """The reply of a blocking command: ``initial()`` (the non-blocking form over every key: a reply, or None when
    nothing is there), else a block on keys with ``attempt`` (see ``respd.blocking``). On an async store the whole
    wait, first attempt included, is the coroutine: the waiter is registered before the first look at the keys, so
    a creation announced meanwhile is not missed. Where it cannot block, it answers a null array as a timeout
    would, except BLMOVE/BRPOPLPUSH (``move``), which answer a null bulk there as Redis does."""
    if _cannot_block(sess):
        return initial() if move else then(initial(), _or_timeout)
    w = Waiter(sess, keys, _skipping(attempt), deadline)
    if sess.store.is_async:
        w.initial = initial
        return sess.app.blocking.block(w)
    r = initial()
    if r is not None:
        return r
    return sess.app.blocking.block(w)


def _or_timeout(r):
    return NULL_ARRAY if r is None else r


def _skipping(attempt):
    """attempt(key) as a blocked client's attempt: WrongType (the key holds another type) is SKIP, and so is a store
    outage (the client stays blocked and looks again once PostgreSQL is back: the listener reconnecting wakes it);
    other errors (StoreFull for BLMOVE's destination...) are the blocked client's reply."""
    def run(key: bytes):
        try:
            r = attempt(key)
        except (WrongType, StoreUnavailable):
            return SKIP
        except (CommandError, StoreError) as e:
            return _error(e)
        if type(r) is _Coroutine:
            return _skipping_async(r)
        return r
    return run


async def _skipping_async(coro):
    try:
        return await coro
    except (WrongType, StoreUnavailable):
        return SKIP
    except (CommandError, StoreError) as e:
        return _error(e)


def _error(e: Exception):
    return Err(e.text) if isinstance(e, CommandError) else store_error(e)


# ---------------------------------------------------------------------------------------------- pops of one key
def _pop_first(sess, keys: list[bytes], kind: bytes, take, deadline: int, event: str):
    """A blocking pop from the first of keys holding a value of kind: ``take(value, key)`` pops from it and gives
    the reply (the value is never empty). Keys are looked at in order; one of another type before the first that
    has something answers WRONGTYPE. What it takes sends ``event`` ("lpop", "zpopmin"...: keyspace
    notifications, ``respd.notify.served``)."""
    store = sess.store

    def initial():
        def fn(v):
            for key in keys:
                value = v.get(key, kind)
                if value:
                    reply = take(value, key)
                    v.changed(key)
                    return reply
            return None
        return store.update_many(list(dict.fromkeys(keys)), [], fn)

    def attempt(key: bytes):
        def fn(value):
            if not value:
                return False, None
            return True, take(value, key)
        return store.update(key, kind, fn)

    attempt = served(sess, event, attempt)
    if len(set(keys)) == 1:  # one key (a queue): its own attempt is the first look, one row locked on SQL
        return blocking(sess, keys, deadline, lambda: attempt(keys[0]), attempt)
    return blocking(sess, keys, deadline, served(sess, event, initial), attempt)


# ---------------------------------------------------------------------------------------------- BLPOP, BRPOP
def _bpop(sess, argv, left: bool):
    deadline = parse_timeout(argv[-1])
    return _pop_first(sess, argv[1:-1], LIST, lambda lst, key: [key, pop_from(lst, left)], deadline,
                      "lpop" if left else "rpop")


@command("blpop", arity=-3, flags="write noscript blocking", keys=_BPOP_KEYS, categories="write list slow blocking",
         group="list", since="2.0.0",
         summary="Remove and get the first element in a list, or block until one is available",
         complexity="O(N) where N is the number of provided keys.")
def blpop(sess, argv):
    """BLPOP key [key ...] timeout -> [key, element] from the first key holding a list, or once one is pushed;
    a null array when the timeout passes."""
    return _bpop(sess, argv, True)


@command("brpop", arity=-3, flags="write noscript blocking", keys=_BPOP_KEYS, categories="write list slow blocking",
         group="list", since="2.0.0",
         summary="Remove and get the last element in a list, or block until one is available",
         complexity="O(N) where N is the number of provided keys.")
def brpop(sess, argv):
    return _bpop(sess, argv, False)


# ---------------------------------------------------------------------------------------------- BLMOVE, BRPOPLPUSH
def _bmove(sess, src: bytes, dst: bytes, from_left: bool, to_left: bool, deadline: int):
    store = sess.store
    pair = [src] if src == dst else [src, dst]

    def initial():
        return store.update_many(pair, [], lambda v: move_in(v, src, dst, from_left, to_left))

    def attempt(key: bytes):
        def fn(v):
            s = v.get(src, LIST)  # WrongType: the source holds another type now, stay blocked
            if not s:
                return None
            try:
                return move_in(v, src, dst, from_left, to_left)
            except WrongType as e:  # the destination does: Redis answers the blocked client WRONGTYPE
                return store_error(e)
        return store.update_many(pair, [], fn)

    sides = (from_left, to_left)
    return blocking(sess, [src], deadline, served(sess, "move", initial, src, dst, sides),
                    served(sess, "move", attempt, src, dst, sides), move=True)


@command("blmove", arity=6, flags="write denyoom noscript blocking", keys=_BMOVE_KEYS,
         categories="write list slow blocking", group="list", since="6.2.0",
         summary="Pop an element from a list, push it to another list and return it; or block until one is available",
         complexity="O(1)")
def blmove(sess, argv):
    """BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout -> the element moved; a null array on timeout."""
    from_left = where(argv[3])
    to_left = where(argv[4])
    return _bmove(sess, argv[1], argv[2], from_left, to_left, parse_timeout(argv[5]))


@command("brpoplpush", arity=4, flags="write denyoom noscript blocking", keys=_BMOVE_KEYS,
         categories="write list slow blocking", group="list", since="2.2.0",
         summary="Pop an element from a list, push it to another list and return it; or block until one is available",
         complexity="O(1)")
def brpoplpush(sess, argv):
    return _bmove(sess, argv[1], argv[2], False, True, parse_timeout(argv[3]))


# ---------------------------------------------------------------------------------------------- BLMPOP
@command("blmpop", arity=-5, flags="write blocking movablekeys", keys=(Keys(2, "RW access delete", keynum=True),),
         categories="write list slow blocking", group="list", since="7.0.0",
         summary="Pop elements from a list, or block until one is available",
         complexity="O(N+M) where N is the number of provided keys and M is the number of elements returned.")
def blmpop(sess, argv):
    """BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] -> [key, [elements]] as LMPOP, or once a key
    gets a list; a null array on timeout."""
    keys, left, count = lmpop_arguments(argv, 2)
    deadline = parse_timeout(argv[1])  # after the other arguments, as Redis parses them

    def take(lst, key):
        return [key, [pop_from(lst, left) for _ in range(min(count, len(lst)))]]

    return _pop_first(sess, keys, LIST, take, deadline, "lpop" if left else "rpop")


# ---------------------------------------------------------------------------------------------- BZPOPMIN, BZPOPMAX
_BZPOP_COMPLEXITY = "O(log(N)) with N being the number of elements in the sorted set."


def _bzpop(sess, argv, maximum: bool):
    deadline = parse_timeout(argv[-1])
    proto = sess.proto
    return _pop_first(sess, argv[1:-1], ZSET, lambda zs, key: bzpop_reply(proto, key, pop_extreme(zs, maximum, 1)),
                      deadline, "zpopmax" if maximum else "zpopmin")


@command("bzpopmin", arity=-3, flags="write noscript blocking fast", keys=_BPOP_KEYS,
         categories="write sortedset fast blocking", group="sorted-set", since="5.0.0",
         summary="Remove and return the member with the lowest score from one or more sorted sets, or block until "
                 "one is available", complexity=_BZPOP_COMPLEXITY)
def bzpopmin(sess, argv):
    """BZPOPMIN key [key ...] timeout -> [key, member, score] from the first key holding a sorted set, or once one
    is created; a null array when the timeout passes."""
    return _bzpop(sess, argv, False)


@command("bzpopmax", arity=-3, flags="write noscript blocking fast", keys=_BPOP_KEYS,
         categories="write sortedset fast blocking", group="sorted-set", since="5.0.0",
         summary="Remove and return the member with the highest score from one or more sorted sets, or block until "
                 "one is available", complexity=_BZPOP_COMPLEXITY)
def bzpopmax(sess, argv):
    return _bzpop(sess, argv, True)


@command("bzmpop", arity=-5, flags="write blocking movablekeys", keys=(Keys(2, "RW access delete", keynum=True),),
         categories="write sortedset slow blocking", group="sorted-set", since="7.0.0",
         summary="Remove and return members with scores in a sorted set or block until one is available",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in "
                    "the sorted set, and M being the number of elements popped.")
def bzmpop(sess, argv):
    """BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] -> [key, [[member, score], ...]] as ZMPOP, or once
    a key gets a sorted set; a null array on timeout."""
    keys, maximum, count = parse_zmpop(argv, 2)
    deadline = parse_timeout(argv[1])  # after the other arguments, as Redis parses them
    proto = sess.proto
    return _pop_first(sess, keys, ZSET,
                      lambda zs, key: zmpop_reply(proto, key, pop_extreme(zs, maximum, count)), deadline,
                      "zpopmax" if maximum else "zpopmin")
