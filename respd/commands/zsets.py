"""Sorted set commands, one value: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX,
ZMPOP, ZRANDMEMBER, ZSCAN (Redis 7.0.15's t_zset.c, reply for reply). The ranges (ZRANGE and its kin, ZCOUNT,
ZREMRANGEBY...) are in ``zranges``; ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD in ``zalgebra``.

Values are ``backends.zsets.ZSet``. Scores are doubles printed as Redis 7.0 prints them (``addReplyDouble``:
``%.17g``, so 1.1 reads 1.1000000000000001; a bulk string in RESP2, a double in RESP3); ZSCAN prints them as the
listpack holds them (``d2string``: an integral score as an integer).

Order of checks, as Redis makes them: ZADD's options, pair count and option conflicts, then every score, then the
key's type; counts (ZPOPMIN, ZMPOP, ZRANDMEMBER) before the key.

``pop_extreme`` and ``zmpop_reply``/``bzpop_reply`` are what the blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) build on.
"""
from __future__ import annotations

import math
import random
import re

from backends.glob import compile_glob
from backends.values import scan_page
from backends.zsets import ZSET, ZSet

from .. import errors
from ..errors import CommandError
from ..replies import NULL_ARRAY, Raw
from .args import INT64_MAX, Options, count_at_least, parse_int, parse_scan_cursor
from .table import Keys, command, then

_RO = (Keys(1, "RO"),)
_RO_ACCESS = (Keys(1, "RO access"),)
_POP_KEYS = (Keys(1, "RW access delete"),)
_GROUP = dict(group="sorted-set", pure=True)

#: ZRANDMEMBER with a negative count answers that many members, repeats allowed: bounded as SRANDMEMBER's
RANDOM_REPLY_MAX = 1_000_000
_LONG_MAX = INT64_MAX


# ---------------------------------------------------------------------------------------------- scores
_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_HEX = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?\Z")
_INFINITY = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.I)


def strtod_all(text: bytes):
    """strtod over the whole of text (no leading space left to skip): the double, or None when strtod would stop
    before the end or refuse it; ("range", value) when it overflows to ±inf or underflows to 0 (ERANGE)."""
    if _DECIMAL.match(text):
        value = float(text)
        if math.isinf(value):
            return ("range", value)
        if value == 0 and re.search(rb"[1-9]", text.split(b"e")[0].split(b"E")[0]):
            return ("range", value)
        return value
    if _HEX.match(text):
        try:
            value = float.fromhex(text.decode())
        except OverflowError:
            return ("range", math.copysign(math.inf, -1.0 if text[:1] == b"-" else 1.0))
        mantissa = text.lower().split(b"p")[0]
        if value == 0 and re.search(rb"[1-9a-f]", mantissa.split(b"x", 1)[1]):
            return ("range", value)
        return value
    if _INFINITY.match(text):
        return -math.inf if text[:1] == b"-" else math.inf
    return None


def parse_score(arg: bytes, error: str = errors.NOT_FLOAT) -> float:
    """Redis' string2d (scores, increments, weights): strtod over the whole argument, no leading space, no NaN,
    no overflow to infinity nor underflow to zero (an explicit inf is fine)."""
    if arg.isdigit() and len(arg) < 16:
        return float(arg)  # the common case: ASCII digits, exact in a double
    value = strtod_all(arg) if arg and not arg[:1].isspace() else None
    if value is None or type(value) is tuple:
        raise CommandError(error)
    return value


def score_text(score: float) -> bytes:
    """addReplyDouble's text: %.17g, inf and -inf."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


def d2string(score: float) -> bytes:
    """Redis' d2string (a listpack's score text, ZSCAN): an integral score within ±2^62 as an integer."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if math.copysign(1.0, score) < 0 else b"0"
    if -4611686018427387903.0 <= score <= 4611686018427387903.0 and score == int(score):
        return b"%d" % int(score)
    return b"%.17g" % score


def score_reply(proto: int, score: float):
    """A score as Redis replies it: a bulk string in RESP2, a double in RESP3."""
    text = score_text(score)
    return text if proto == 2 else Raw(b"," + text + b"\r\n")


def with_scores(proto: int, pairs, flat_in_resp3: bool = False) -> list:
    """(member, score) pairs as WITHSCORES answers them: flat in RESP2, [member, score] arrays in RESP3."""
    if proto == 2 or flat_in_resp3:
        out = []
        for m, s in pairs:
            out += (m, score_reply(proto, s))
        return out
    return [[m, score_reply(proto, s)] for m, s in pairs]


# ---------------------------------------------------------------------------------------------- ZADD / ZINCRBY
_ZADD_FLAGS = {b"nx": "nx", b"xx": "xx", b"ch": "ch", b"incr": "incr", b"gt": "gt", b"lt": "lt"}


def _zadd_one(sess, key: bytes, score: float, member: bytes):
    """ZADD key score member, the common form: 1 when added, else 0."""
    def fn(zs: ZSet):
        cur = zs.get(member)
        if cur is None:
            zs.put(member, score)
            return True, 1
        if cur != score:
            zs.put(member, score)
            return True, 0
        return False, 0

    return sess.store.update(key, ZSET, fn)


def _zadd(sess, argv, incr: bool):
    if len(argv) == 4 and not incr and not argv[2][:1].isalpha():
        return _zadd_one(sess, argv[1], parse_score(argv[2]), argv[3])
    at = 2
    flags = ()
    if argv[2][:1].isalpha():  # options come first; a score never starts with a letter but for inf/infinity
        flags = {"incr"} if incr else set()
        while at < len(argv):
            flag = _ZADD_FLAGS.get(argv[at].lower())
            if flag is None:
                break
            flags.add(flag)
            at += 1
    elif incr:
        flags = ("incr",)
    rest = len(argv) - at
    if rest % 2 or not rest:
        raise CommandError(errors.SYNTAX)
    nx, xx, gt, lt, incr = "nx" in flags, "xx" in flags, "gt" in flags, "lt" in flags, "incr" in flags
    if nx and xx:
        raise CommandError(errors.ZADD_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(errors.ZADD_GT_LT_NX)
    if incr and rest > 2:
        raise CommandError(errors.ZADD_INCR_PAIRS)
    pairs = [(argv[i + 1], parse_score(argv[i])) for i in range(at, len(argv), 2)]
    ch = "ch" in flags
    proto = sess.proto

    def fn(zs: ZSet):
        if xx and not zs:
            return False, None if incr else 0
        added = updated = processed = 0
        score = 0.0
        for member, score in pairs:
            cur = zs.get(member)
            if cur is not None:
                if nx:
                    continue
                if incr:
                    score += cur
                    if score != score:
                        raise CommandError(errors.ZSCORE_NAN)  # the only pair: nothing changed yet
                if (lt and score >= cur) or (gt and score <= cur):
                    continue
                processed += 1
                if score != cur:
                    zs.put(member, score)
                    updated += 1
            elif not xx:
                processed += 1
                zs.put(member, score)
                added += 1
        changed = bool(added or updated)
        if incr:
            return changed, score_reply(proto, score) if processed else None
        return changed, added + updated if ch else added

    return sess.store.update(argv[1], ZSET, fn)


@command("zadd", arity=-4, flags="write denyoom fast", keys=(Keys(1, "RW update"),),
         categories="write sortedset fast", since="1.2.0",
         summary="Add one or more members to a sorted set, or update its score if it already exists",
         complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.", **_GROUP)
def zadd(sess, argv):
    """ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] -> how many were added (with CH: added
    or changed); with INCR the new score, or null when the options left it alone."""
    return _zadd(sess, argv, False)


@command("zincrby", arity=4, flags="write denyoom fast", keys=(Keys(1, "RW access update"),),
         categories="write sortedset fast", since="1.2.0", summary="Increment the score of a member in a sorted set",
         complexity="O(log(N)) where N is the number of elements in the sorted set.", **_GROUP)
def zincrby(sess, argv):
    """ZINCRBY key increment member -> the new score (ZADD's parser: an increment spelled like an option is one)."""
    return _zadd(sess, argv, True)


@command("zrem", arity=-3, flags="write fast", keys=(Keys(1, "RW delete"),), categories="write sortedset fast",
         since="1.2.0", summary="Remove one or more members from a sorted set",
         complexity="O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements "
                    "to be removed.", **_GROUP)
def zrem(sess, argv):
    gone = argv[2:]

    def fn(zs: ZSet):
        removed = sum(1 for m in gone if zs.discard(m))
        return removed > 0, removed

    return sess.store.update(argv[1], ZSET, fn)


# ---------------------------------------------------------------------------------------------- reads
@command("zcard", arity=2, flags="readonly fast", keys=_RO, categories="read sortedset fast", since="1.2.0",
         summary="Get the number of members in a sorted set", **_GROUP)
def zcard(sess, argv):
    return then(sess.store.read(argv[1], ZSET), lambda zs: len(zs) if zs else 0)


@command("zscore", arity=3, flags="readonly fast", keys=_RO_ACCESS, categories="read sortedset fast",
         since="1.2.0", summary="Get the score associated with the given member in a sorted set", **_GROUP)
def zscore(sess, argv):
    member, proto = argv[2], sess.proto

    def fn(zs):
        score = zs.get(member) if zs else None
        return None if score is None else score_reply(proto, score)

    return then(sess.store.read(argv[1], ZSET), fn)


@command("zmscore", arity=-3, flags="readonly fast", keys=_RO_ACCESS, categories="read sortedset fast",
         since="6.2.0", summary="Get the score associated with the given members in a sorted set",
         complexity="O(N) where N is the number of members being requested.", **_GROUP)
def zmscore(sess, argv):
    asked, proto = argv[2:], sess.proto

    def fn(zs):
        if not zs:
            return [None] * len(asked)
        out = []
        for m in asked:
            s = zs.get(m)
            out.append(None if s is None else score_reply(proto, s))
        return out

    return then(sess.store.read(argv[1], ZSET), fn)


def _rank(sess, argv, reverse: bool):
    member = argv[2]

    def fn(zs):
        r = zs.rank(member) if zs else None
        if r is None:
            return None
        return len(zs) - 1 - r if reverse else r

    return then(sess.store.read(argv[1], ZSET), fn)


@command("zrank", arity=3, flags="readonly fast", keys=_RO_ACCESS, categories="read sortedset fast",
         since="2.0.0", summary="Determine the index of a member in a sorted set", complexity="O(log(N))", **_GROUP)
def zrank(sess, argv):
    return _rank(sess, argv, False)


@command("zrevrank", arity=3, flags="readonly fast", keys=_RO_ACCESS, categories="read sortedset fast",
         since="2.0.0", complexity="O(log(N))", **_GROUP,
         summary="Determine the index of a member in a sorted set, with scores ordered from high to low")
def zrevrank(sess, argv):
    return _rank(sess, argv, True)


# ---------------------------------------------------------------------------------------------- pops
def pop_extreme(zs: ZSet, maximum: bool, count: int) -> list:
    """Take up to count members with the lowest scores (the highest when maximum), in the order they leave:
    [(member, score), ...]. The caller stores the change (an emptied sorted set deletes its key)."""
    return zs.pop_extreme(maximum, count)


def zmpop_reply(proto: int, key: bytes, pairs: list) -> list:
    """ZMPOP/BZMPOP's reply: [key, [[member, score], ...]] in both protocols."""
    return [key, [[m, score_reply(proto, s)] for m, s in pairs]]


def bzpop_reply(proto: int, key: bytes, pairs: list) -> list:
    """BZPOPMIN/BZPOPMAX's reply: [key, member, score] (flat in both protocols)."""
    out = [key]
    for m, s in pairs:
        out += (m, score_reply(proto, s))
    return out


def _pop_count(arg: bytes) -> int:
    n = parse_int(arg, errors.POP_COUNT)
    if n < 0:
        raise CommandError(errors.POP_COUNT)
    return n


def _zpop(sess, argv, maximum: bool):
    """ZPOPMIN/ZPOPMAX key [count]: a flat [member, score, ...] (RESP3 with a count: [member, score] pairs); an
    empty array for a missing key or a count of 0."""
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = _pop_count(argv[2]) if len(argv) == 3 else None
    proto = sess.proto

    def fn(zs: ZSet):
        if not zs or count == 0:
            return False, []
        pairs = pop_extreme(zs, maximum, 1 if count is None else count)
        return True, with_scores(proto, pairs, flat_in_resp3=count is None)

    return sess.store.update(argv[1], ZSET, fn)


_POP_COMPLEXITY = ("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of "
                   "elements popped.")


@command("zpopmin", arity=-2, flags="write fast", keys=_POP_KEYS, categories="write sortedset fast", since="5.0.0",
         summary="Remove and return members with the lowest scores in a sorted set", complexity=_POP_COMPLEXITY,
         **_GROUP)
def zpopmin(sess, argv):
    return _zpop(sess, argv, False)


@command("zpopmax", arity=-2, flags="write fast", keys=_POP_KEYS, categories="write sortedset fast", since="5.0.0",
         summary="Remove and return members with the highest scores in a sorted set", complexity=_POP_COMPLEXITY,
         **_GROUP)
def zpopmax(sess, argv):
    return _zpop(sess, argv, True)


def range_long(arg: bytes, error: str, minimum: int) -> int:
    n = parse_int(arg, error)
    if n < minimum:
        raise CommandError(error)
    return n


def parse_zmpop(argv: list, numkeys_at: int):
    """ZMPOP/BZMPOP's arguments after the command (and BZMPOP's timeout): (keys, maximum, count), Redis' errors
    in Redis' order (numkeys, MIN|MAX, COUNT)."""
    numkeys = range_long(argv[numkeys_at], errors.NUMKEYS_POSITIVE, 1)
    where_at = numkeys_at + numkeys + 1
    if where_at >= len(argv):
        raise CommandError(errors.SYNTAX)
    where = argv[where_at].upper()
    if where not in (b"MIN", b"MAX"):
        raise CommandError(errors.SYNTAX)
    count = None
    i = where_at + 1
    while i < len(argv):
        if count is None and argv[i].upper() == b"COUNT" and i + 1 < len(argv):
            count = range_long(argv[i + 1], errors.LMPOP_COUNT_POSITIVE, 1)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[numkeys_at + 1:where_at], where == b"MAX", count or 1


@command("zmpop", arity=-4, flags="write movablekeys", keys=(Keys(1, "RW access delete", keynum=True),),
         categories="write sortedset slow", since="7.0.0",
         summary="Remove and return members with scores in a sorted set",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in "
                    "the sorted set, and M being the number of elements popped.", **_GROUP)
def zmpop(sess, argv):
    """ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] -> [key, [[member, score], ...]] from the first key
    holding a sorted set, or a null array. A key of another type before it answers WRONGTYPE."""
    keys, maximum, count = parse_zmpop(argv, 1)
    proto = sess.proto

    def fn(v):
        for key in keys:
            zs = v.get(key, ZSET)
            if zs:
                pairs = pop_extreme(zs, maximum, count)
                v.changed(key)
                return zmpop_reply(proto, key, pairs)
        return NULL_ARRAY

    return sess.store.update_many(list(dict.fromkeys(keys)), [], fn)


# ---------------------------------------------------------------------------------------------- ZRANDMEMBER
@command("zrandmember", arity=-2, flags="readonly", keys=_RO_ACCESS, categories="read sortedset slow",
         since="6.2.0", summary="Get one or multiple random elements from a sorted set",
         complexity="O(N) where N is the number of elements returned", **_GROUP)
def zrandmember(sess, argv):
    """ZRANDMEMBER key [count [WITHSCORES]]: one member (null when missing); a count >= 0, distinct members (the
    whole set from the highest score down when count >= its size); a negative count, that many picks with repeats."""
    if len(argv) == 2:
        return then(sess.store.read(argv[1], ZSET), lambda zs: zs.at(random.randrange(len(zs)))[0] if zs else None)
    count = parse_int(argv[2])
    if count < -_LONG_MAX:
        raise CommandError(errors.SRANDMEMBER_RANGE)
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        raise CommandError(errors.SYNTAX)
    withscores = len(argv) == 4
    if withscores and not -(_LONG_MAX // 2) <= count <= _LONG_MAX // 2:
        raise CommandError(errors.VALUE_OUT_OF_RANGE)
    proto = sess.proto

    def fn(zs):
        if not zs or count == 0:
            return []
        size = len(zs)
        if count < 0 or count == 1:
            n = -count if count < 0 else 1
            if n > RANDOM_REPLY_MAX:
                raise CommandError(errors.ZRANDMEMBER_TOO_MANY % RANDOM_REPLY_MAX)
            ranks = [random.randrange(size) for _ in range(n)]
        elif count >= size:
            ranks = range(size - 1, -1, -1)  # Redis walks a sorted set from its top (zuiInitIterator)
        else:
            ranks = random.sample(range(size), count)
            if zs.compact or count * 3 > size:
                ranks.sort()  # Redis answers a listpack's picks in its order
        picked = [zs.at(r) for r in ranks]
        if not withscores:
            return [m for m, _ in picked]
        return with_scores(proto, picked)

    return then(sess.store.read(argv[1], ZSET), fn)


# ---------------------------------------------------------------------------------------------- ZSCAN
_ZSCAN_OPTIONS = Options("[MATCH pattern] [COUNT count]", convert={"COUNT": count_at_least(1)})


@command("zscan", arity=-3, flags="readonly", keys=_RO_ACCESS, categories="read sortedset slow", since="2.8.0",
         summary="Incrementally iterate sorted sets elements and associated scores",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
                    "cursor to return back to 0. N is the number of elements inside the collection..", **_GROUP)
def zscan(sess, argv):
    """ZSCAN key cursor [MATCH pattern] [COUNT count] -> [next cursor, [member, score, ...]] (scores as the listpack
    writes them). A listpack answers whole with cursor 0; a skiplist in pages on a memory store
    (``values.scan_page``), whole on a SQL store (as HSCAN: a page would cost the whole row anyway)."""
    cursor = parse_scan_cursor(argv[2])
    whole = sess.store.is_async

    def fn(zs):
        if zs is None:
            return [b"0", []]
        opts = _ZSCAN_OPTIONS.parse(argv, 3)
        if zs.compact or whole:
            nxt, members = 0, zs.members_ordered()
        else:
            nxt, members = scan_page(zs, cursor, opts.get("COUNT", 10))
        pattern = opts.get("MATCH")
        if pattern is not None and pattern != b"*":
            match = compile_glob(pattern)
            members = [m for m in members if match(m)]
        out = []
        for m in members:
            out += (m, d2string(zs[m]))
        return [b"%d" % nxt, out]

    return then(sess.store.read(argv[1], ZSET), fn)
