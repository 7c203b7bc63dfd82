"""Sorted set ranges: ZRANGE (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES), ZRANGESTORE, the older ZRANGEBYSCORE,
ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE, and ZCOUNT, ZLEXCOUNT, ZREMRANGEBYRANK, ZREMRANGEBYSCORE,
ZREMRANGEBYLEX (Redis 7.0.15's t_zset.c: zrangeGenericCommand and its handlers, reply for reply).

A range finds its ends by bisection over the ``ZSet``'s order (O(log N)) and walks M members (O(log N + M), as the
skiplist). Order of checks, as Redis makes them: the options left to right (syntax errors, LIMIT's integers), then
the conflicts (LIMIT with a rank range, WITHSCORES with BYLEX), then min and max, then the key.

Score bounds are parsed as Redis' zslParseRange parses them (strtod: leading spaces, an empty bound (0), overflow to
inf are accepted; NaN and trailing text are not), lex bounds as zslParseLexRange (``-``, ``+``, ``(x``, ``[x``).
Lex ranges assume every score is equal, as Redis documents; over a listpack-sized sorted set respd walks the members
as Redis walks a listpack, so mixed scores answer as Redis answers too (a larger one is bisected).
"""
from __future__ import annotations

from backends.zsets import ZSET, LexBound, ZSet

from .. import errors
from ..errors import CommandError
from .args import parse_int
from .table import Keys, command, then
from .zsets import strtod_all, with_scores

_RO_ACCESS = (Keys(1, "RO access"),)
_GROUP = dict(group="sorted-set", pure=True)
RANK, SCORE, LEX = "rank", "score", "lex"

_C_SPACE = b" \t\n\v\f\r"


# ---------------------------------------------------------------------------------------------- bounds
def _strtod_bound(text: bytes):
    """strtod as zslParseRange uses it (the C string: up to a NUL): the double, or None when text is left over or
    it is NaN."""
    text = text.split(b"\0", 1)[0]
    body = text.lstrip(_C_SPACE)
    if not body:
        return 0.0 if not text else None  # "" converts nothing and ends there: 0; spaces alone are left over
    value = strtod_all(body)
    if type(value) is tuple:
        return value[1]  # ERANGE does not matter here
    return value


def parse_score_range(lo: bytes, hi: bytes) -> tuple:
    """(min, min excluded, max, max excluded); "min or max is not a float" otherwise."""
    out = []
    for arg in (lo, hi):
        ex = arg[:1] == b"("
        value = _strtod_bound(arg[1:] if ex else arg)
        if value is None:
            raise CommandError(errors.ZRANGE_NOT_FLOAT)
        out += (value, ex)
    return tuple(out)


def _lex_bound(arg: bytes) -> LexBound:
    first = arg[:1]
    if first in (b"+", b"-"):
        if arg[1:2] not in (b"", b"\0"):
            raise CommandError(errors.ZRANGE_NOT_LEX)
        return LexBound(b"", True, 1 if first == b"+" else -1)
    if first == b"(":
        return LexBound(arg[1:], True)
    if first == b"[":
        return LexBound(arg[1:], False)
    raise CommandError(errors.ZRANGE_NOT_LEX)


def parse_lex_range(lo: bytes, hi: bytes) -> tuple:
    return _lex_bound(lo), _lex_bound(hi)


# ---------------------------------------------------------------------------------------------- the ranges
def _rank_bounds(n: int, start: int, end: int):
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    return start, min(end, n - 1)


def _limited(i: int, j: int, offset: int, limit: int, reverse: bool) -> tuple[int, int]:
    """The ranks [a, b) a LIMIT keeps of the span [i, j), walked from i (or from j - 1 when reverse): a negative
    offset skips everything, a negative limit keeps the rest."""
    if offset < 0:
        return i, i
    n = j - i
    keep = max(0, n - offset)
    if limit >= 0:
        keep = min(keep, limit)
    if reverse:
        return j - offset - keep, j - offset
    return i + offset, i + offset + keep


def select(zs: ZSet, rangetype: str, spec, reverse: bool, offset: int = 0, limit: int = -1) -> list:
    """The (member, score) pairs of a range in the order Redis walks them."""
    n = len(zs)
    if rangetype == RANK:
        bounds = _rank_bounds(n, *spec)
        if bounds is None:
            return []
        start, end = bounds
        return zs.span(start, end + 1, reverse)
    if rangetype == LEX:
        return zs.lex_walk(*spec, reverse, offset, limit)
    if offset > 0 and offset >= n:
        return []
    i, j = zs.score_span(*spec)
    a, b = _limited(i, j, offset, limit, reverse)
    if b <= a:
        return []
    return zs.pairs(a, b, reverse)


def _parse(argv: list, src_at: int, store: bool, rangetype, reverse):
    """zrangeGenericCommand's parsing: (rangetype, spec, reverse, withscores, offset, limit)."""
    withscores = False
    offset, limit = 0, -1
    j = src_at + 3
    n = len(argv)
    while j < n:
        word = argv[j].lower()
        if not store and word == b"withscores":
            withscores = True
        elif word == b"limit" and n - j - 1 >= 2:
            offset = parse_int(argv[j + 1])
            limit = parse_int(argv[j + 2])
            j += 2
        elif reverse is None and word == b"rev":
            reverse = True
        elif rangetype is None and word == b"bylex":
            rangetype = LEX
        elif rangetype is None and word == b"byscore":
            rangetype = SCORE
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    reverse = bool(reverse)
    rangetype = rangetype or RANK
    if limit != -1 and rangetype == RANK:
        raise CommandError(errors.ZRANGE_LIMIT_BY_RANK)
    if withscores and rangetype == LEX:
        raise CommandError(errors.ZRANGE_WITHSCORES_BYLEX)
    lo, hi = argv[src_at + 1], argv[src_at + 2]
    if reverse and rangetype != RANK:
        lo, hi = hi, lo
    if rangetype == RANK:
        spec = (parse_int(lo), parse_int(hi))
    elif rangetype == SCORE:
        spec = parse_score_range(lo, hi)
    else:
        spec = parse_lex_range(lo, hi)
    return rangetype, spec, reverse, withscores, offset, limit


def _zrange(sess, argv, rangetype=None, reverse=None):
    rangetype, spec, reverse, withscores, offset, limit = _parse(argv, 1, False, rangetype, reverse)
    proto = sess.proto

    def fn(zs):
        if not zs:
            return []
        picked = select(zs, rangetype, spec, reverse, offset, limit)
        if withscores:
            return with_scores(proto, picked)
        return [m for m, _ in picked]

    return then(sess.store.read(argv[1], ZSET), fn)


_RANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                     "elements returned.")
_LIMITED_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                       "elements being returned. If M is constant (e.g. always asking for the first 10 elements with "
                       "LIMIT), you can consider it O(log(N)).")
_READ = dict(flags="readonly", keys=_RO_ACCESS, categories="read sortedset slow", **_GROUP)


@command("zrange", arity=-4, since="1.2.0", summary="Return a range of members in a sorted set",
         complexity=_RANGE_COMPLEXITY, **_READ)
def zrange(sess, argv):
    """ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]."""
    return _zrange(sess, argv)


@command("zrangebyscore", arity=-4, since="1.0.5", summary="Return a range of members in a sorted set, by score",
         complexity=_LIMITED_COMPLEXITY, **_READ)
def zrangebyscore(sess, argv):
    return _zrange(sess, argv, SCORE, False)


@command("zrevrangebyscore", arity=-4, since="2.2.0",
         summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
         complexity=_LIMITED_COMPLEXITY, **_READ)
def zrevrangebyscore(sess, argv):
    return _zrange(sess, argv, SCORE, True)


@command("zrangebylex", arity=-4, since="2.8.9",
         summary="Return a range of members in a sorted set, by lexicographical range",
         complexity=_LIMITED_COMPLEXITY, **_READ)
def zrangebylex(sess, argv):
    return _zrange(sess, argv, LEX, False)


@command("zrevrangebylex", arity=-4, since="2.8.9",
         summary="Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower "
                 "strings.", complexity=_LIMITED_COMPLEXITY, **_READ)
def zrevrangebylex(sess, argv):
    return _zrange(sess, argv, LEX, True)


@command("zrevrange", arity=-4, since="1.2.0",
         summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
         complexity=_RANGE_COMPLEXITY, **_READ)
def zrevrange(sess, argv):
    return _zrange(sess, argv, RANK, True)


@command("zrangestore", arity=-5, flags="write denyoom", keys=(Keys(1, "OW update"), Keys(2, "RO access")),
         categories="write sortedset slow", since="6.2.0",
         summary="Store a range of members from sorted set into another key",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements "
                    "stored into the destination key.", **_GROUP)
def zrangestore(sess, argv):
    """ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] -> the size stored (an empty range
    or a missing source deletes dst)."""
    rangetype, spec, reverse, _, offset, limit = _parse(argv, 2, True, None, None)
    dst, src = argv[1], argv[2]

    def fn(v):
        zs = v.get(src, ZSET)
        picked = select(zs, rangetype, spec, reverse, offset, limit) if zs else []
        result = ZSet(picked)
        v.put(dst, result)
        return len(result)

    return sess.store.update_many([dst], [] if src == dst else [src], fn)


# ---------------------------------------------------------------------------------------------- counts
@command("zcount", arity=4, flags="readonly fast", keys=_RO_ACCESS, categories="read sortedset fast", since="2.0.0",
         summary="Count the members in a sorted set with scores within the given values",
         complexity="O(log(N)) with N being the number of elements in the sorted set.", **_GROUP)
def zcount(sess, argv):
    spec = parse_score_range(argv[2], argv[3])

    def fn(zs):
        if not zs:
            return 0
        i, j = zs.score_span(*spec)
        return j - i

    return then(sess.store.read(argv[1], ZSET), fn)


@command("zlexcount", arity=4, flags="readonly fast", keys=_RO_ACCESS, categories="read sortedset fast",
         since="2.8.9", summary="Count the number of members in a sorted set between a given lexicographical range",
         complexity="O(log(N)) with N being the number of elements in the sorted set.", **_GROUP)
def zlexcount(sess, argv):
    spec = parse_lex_range(argv[2], argv[3])

    def fn(zs):
        if not zs:
            return 0
        i, j = zs.lex_span(*spec)
        return j - i

    return then(sess.store.read(argv[1], ZSET), fn)


# ---------------------------------------------------------------------------------------------- ZREMRANGEBY...
def _remove(sess, argv, span):
    def fn(zs: ZSet):
        if not zs:
            return False, 0
        i, j = span(zs)
        removed = zs.remove_span(i, j)
        return removed > 0, removed

    return sess.store.update(argv[1], ZSET, fn)


_REMOVE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                      "elements removed by the operation.")
_REMOVE = dict(flags="write", keys=(Keys(1, "RW delete"),), categories="write sortedset slow",
               complexity=_REMOVE_COMPLEXITY, **_GROUP)


@command("zremrangebyrank", arity=4, since="2.0.0", summary="Remove all members in a sorted set within the given "
         "indexes", **_REMOVE)
def zremrangebyrank(sess, argv):
    start, end = parse_int(argv[2]), parse_int(argv[3])

    def span(zs):
        bounds = _rank_bounds(len(zs), start, end)
        return (0, 0) if bounds is None else (bounds[0], bounds[1] + 1)

    return _remove(sess, argv, span)


@command("zremrangebyscore", arity=4, since="1.2.0", summary="Remove all members in a sorted set within the given "
         "scores", **_REMOVE)
def zremrangebyscore(sess, argv):
    spec = parse_score_range(argv[2], argv[3])
    return _remove(sess, argv, lambda zs: zs.score_span(*spec))


@command("zremrangebylex", arity=4, since="2.8.9", summary="Remove all members in a sorted set between the given "
         "lexicographical range", **_REMOVE)
def zremrangebylex(sess, argv):
    spec = parse_lex_range(argv[2], argv[3])
    return _remove(sess, argv, lambda zs: zs.lex_span(*spec))
