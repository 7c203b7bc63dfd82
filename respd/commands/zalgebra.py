"""Sorted set algebra: ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZINTERCARD (Redis 7.0.15's
zunionInterDiffGenericCommand, reply for reply).

Inputs may be sorted sets or sets (a set's members score 1). Order of checks, as Redis makes them: numkeys (an
integer, at least 1, no more than the arguments left), then every key (one holding neither a sorted set nor a set
answers WRONGTYPE), then WEIGHTS/AGGREGATE/WITHSCORES/LIMIT. Scores combine as Redis combines them: weight times
score with NaN (0 * inf) taken as 0, SUM with inf + -inf taken as 0, the inputs walked smallest first. All keys are
read in one ``update_many`` (one transaction on a SQL store); a STORE form replaces its destination (an empty result
deletes it).
"""
from __future__ import annotations

from backends.base import WrongType
from backends.values import SET, Members
from backends.zsets import ZSET, ZSet

from .. import errors
from ..errors import CommandError
from .args import parse_int
from .table import Keys, command
from .zsets import parse_score, range_long, with_scores

_GROUP = dict(group="sorted-set", pure=True)


# ---------------------------------------------------------------------------------------------- inputs
def _source(v, key: bytes):
    """A sorted set or a set (its members scored 1) as {member: score}-like, or None when missing."""
    try:
        return v.get(key, ZSET)
    except WrongType:
        s = v.get(key, SET)  # WrongType again: neither
        return None if s is None else s


def _pairs_of(src):
    """(member, score) of an input (a set's members score 1)."""
    if type(src) is ZSet:
        return src.items()  # the order within one input changes no result: its index is not needed
    return ((m, 1.0) for m in (src.ordered() if type(src) is Members else src))


def _score_of(src, member):
    if type(src) is ZSet:
        return src.get(member)
    return 1.0 if member in src else None


def _aggregate(target: float, value: float, how: bytes) -> float:
    if how == b"SUM":
        total = target + value
        return 0.0 if total != total else total  # inf + -inf: Redis keeps 0
    if how == b"MIN":
        return value if value < target else target
    return value if value > target else target


def _weighted(weight: float, score: float) -> float:
    value = weight * score
    return 0.0 if value != value else value


def _options(argv: list, at: int, nsrc: int, op: str, store: bool, card: bool):
    """WEIGHTS/AGGREGATE/WITHSCORES/LIMIT after the keys: (weights, aggregate, withscores, limit)."""
    weights = [1.0] * nsrc
    how, withscores, limit = b"SUM", False, 0
    n = len(argv)
    while at < n:
        remaining = n - at
        word = argv[at].lower()
        if op != "diff" and not card and remaining >= nsrc + 1 and word == b"weights":
            weights = [parse_score(a, errors.ZWEIGHT_NOT_FLOAT) for a in argv[at + 1:at + 1 + nsrc]]
            at += 1 + nsrc
        elif op != "diff" and not card and remaining >= 2 and word == b"aggregate":
            how = argv[at + 1].upper()
            if how not in (b"SUM", b"MIN", b"MAX"):
                raise CommandError(errors.SYNTAX)
            at += 2
        elif not store and not card and word == b"withscores":
            withscores = True
            at += 1
        elif card and remaining >= 2 and word == b"limit":
            limit = range_long(argv[at + 1], errors.LIMIT_NEGATIVE, 0)
            at += 2
        else:
            raise CommandError(errors.SYNTAX)
    return weights, how, withscores, limit


def combine(op: str, srcs: list, weights: list, how: bytes, limit: int = 0, card: bool = False):
    """The (member -> score) result of ZUNION/ZINTER/ZDIFF over the inputs (None: a missing key), as Redis
    computes it; with card, the size of the intersection (stopping at limit)."""
    entries = [(s if s is not None else (), w) for s, w in zip(srcs, weights)]
    if op == "diff":
        first = entries[0][0]
        rest = [s for s, _ in entries[1:] if s]
        return {m: sc for m, sc in _pairs_of(first) if not any(_score_of(o, m) is not None for o in rest)} \
            if first else {}
    entries.sort(key=lambda e: len(e[0]))  # smallest first, stable (Redis' qsort by cardinality)
    if op == "inter":
        out = {}
        found = 0
        first, w0 = entries[0]
        if not first:
            return 0 if card else out
        for m, sc in _pairs_of(first):
            score = _weighted(w0, sc)
            for src, w in entries[1:]:
                value = _score_of(src, m)
                if value is None:
                    break
                score = _aggregate(score, w * value, how)
            else:
                if card:
                    found += 1
                    if limit and found >= limit:
                        break
                else:
                    out[m] = score
        return found if card else out
    acc: dict = {}
    for src, w in entries:
        for m, sc in _pairs_of(src):
            score = _weighted(w, sc)
            cur = acc.get(m)
            acc[m] = score if cur is None else _aggregate(cur, score, how)
    return acc


def _algebra(sess, argv, op: str, store: bool = False, card: bool = False):
    name = argv[0].lower().decode("latin-1")
    at = 2 if store else 1
    numkeys = parse_int(argv[at])
    if numkeys < 1:
        raise CommandError(errors.zset_numkeys(name))
    if numkeys > len(argv) - at - 1:
        raise CommandError(errors.SYNTAX)
    keys = argv[at + 1:at + 1 + numkeys]
    proto = sess.proto
    dst = argv[1] if store else None

    def fn(v):
        srcs = [_source(v, k) for k in keys]
        weights, how, withscores, limit = _options(argv, at + 1 + numkeys, numkeys, op, store, card)
        result = combine(op, srcs, weights, how, limit, card)
        if card:
            return result
        zs = ZSet(result.items())
        if store:
            v.put(dst, zs)  # an empty result deletes dst
            return len(zs)
        pairs = zs.pairs()
        return with_scores(proto, pairs) if withscores else [m for m, _ in pairs]

    reads = [k for k in dict.fromkeys(keys) if k != dst]
    return sess.store.update_many([dst] if store else [], reads, fn)


_INTER_COMPLEXITY = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number "
                     "of input sorted sets and M being the number of elements in the resulting sorted set.")
_UNION_COMPLEXITY = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the "
                     "number of elements in the resulting sorted set.")
_DIFF_COMPLEXITY = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is "
                    "the size of the first set, and K is the size of the result set.")
_READ_ALL = (Keys(1, "RO access", keynum=True),)
_STORE_KEYS = (Keys(1, "OW update"), Keys(2, "RO access", keynum=True))


@command("zunion", arity=-3, flags="readonly movablekeys", keys=_READ_ALL, categories="read sortedset slow",
         since="6.2.0", summary="Add multiple sorted sets", complexity=_UNION_COMPLEXITY, **_GROUP)
def zunion(sess, argv):
    return _algebra(sess, argv, "union")


@command("zinter", arity=-3, flags="readonly movablekeys", keys=_READ_ALL, categories="read sortedset slow",
         since="6.2.0", summary="Intersect multiple sorted sets", complexity=_INTER_COMPLEXITY, **_GROUP)
def zinter(sess, argv):
    return _algebra(sess, argv, "inter")


@command("zdiff", arity=-3, flags="readonly movablekeys", keys=_READ_ALL, categories="read sortedset slow",
         since="6.2.0", summary="Subtract multiple sorted sets", complexity=_DIFF_COMPLEXITY, **_GROUP)
def zdiff(sess, argv):
    return _algebra(sess, argv, "diff")


@command("zunionstore", arity=-4, flags="write denyoom movablekeys", keys=_STORE_KEYS,
         categories="write sortedset slow", since="2.0.0",
         summary="Add multiple sorted sets and store the resulting sorted set in a new key",
         complexity="O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the "
                    "number of elements in the resulting sorted set.", **_GROUP)
def zunionstore(sess, argv):
    return _algebra(sess, argv, "union", store=True)


@command("zinterstore", arity=-4, flags="write denyoom movablekeys", keys=_STORE_KEYS,
         categories="write sortedset slow", since="2.0.0",
         summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
         complexity=_INTER_COMPLEXITY, **_GROUP)
def zinterstore(sess, argv):
    return _algebra(sess, argv, "inter", store=True)


@command("zdiffstore", arity=-4, flags="write denyoom movablekeys", keys=_STORE_KEYS,
         categories="write sortedset slow", since="6.2.0",
         summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
         complexity=_DIFF_COMPLEXITY, **_GROUP)
def zdiffstore(sess, argv):
    return _algebra(sess, argv, "diff", store=True)


@command("zintercard", arity=-3, flags="readonly movablekeys", keys=_READ_ALL, categories="read sortedset slow",
         since="7.0.0", summary="Intersect multiple sorted sets and return the cardinality of the result",
         complexity="O(N*K) worst case with N being the smallest input sorted set, K being the number of input "
                    "sorted sets.", **_GROUP)
def zintercard(sess, argv):
    """ZINTERCARD numkeys key [key ...] [LIMIT limit] -> the size of the intersection, at most limit (0: none)."""
    return _algebra(sess, argv, "inter", card=True)
