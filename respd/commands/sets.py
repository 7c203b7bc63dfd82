"""Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD,
SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN (Redis 7.0.15's t_set.c, reply for reply).

Values are ``backends.values.Members``. What Redis fixes about order, respd reproduces: an intset answers in ascending
numeric order (``Members.ordered``); SUNION, SDIFF and SPOP of the whole set build their answer in a new set, which
is an intset whenever its members allow it (so ``SDIFF`` of a hashtable can answer in numeric order); SINTER walks
the smallest set (the first of equal sizes). A hashtable's order is Redis' hash order, which no client can rely
on: respd answers its own.

Order of checks, as Redis makes them: arguments first (counts, SINTERCARD's numkeys and LIMIT, SSCAN's cursor), then
the keys. The multi-key reads look at every key in order: a missing key is an empty set, the first key of another
type answers WRONGTYPE, even after a missing key (Redis 7.0 checks every key before it answers the empty
intersection a missing key makes). SSCAN parses its options after finding its key, so a missing key answers an
empty page whatever options follow.
"""
from __future__ import annotations

import random
import sys
from itertools import islice

from backends.base import WRONG, WrongType
from backends.glob import compile_glob
from backends.values import SET, SET_MAX_INTSET_ENTRIES, Members, is_int64, scan_page

from .. import errors
from ..errors import CommandError
from ..replies import SetReply
from .args import INT64_MIN, Options, count_at_least, parse_int, parse_scan_cursor
from .table import Keys, command, then

_RO = (Keys(1, "RO access"),)
_RO_ONLY = (Keys(1, "RO"),)                     # SISMEMBER, SCARD: the value is looked at, not returned
_RO_ALL = (Keys(1, "RO access", last=-1),)       # SINTER, SUNION, SDIFF
_STORE_SOURCES = Keys(2, "RO access", last=-1)

#: SRANDMEMBER with a negative count answers that many members, repeats allowed: respd builds the whole reply on the
#: event loop before sending it (about 0.4 µs a member, encoding included: 0.4 s for the largest), so one reply is
#: bounded; Redis goes on until the client's output buffer limit closes the client, without a limit (normal clients'
#: default) until memory runs out
RANDOM_REPLY_MAX = 1_000_000


def _content_order(items) -> list:
    """The order of a set Redis builds anew (SUNION, SDIFF, SPOP of all members): it starts as an intset, so it
    answers in ascending numeric order when every member is an integer and there are at most 512 of them."""
    items = list(items)
    if len(items) <= SET_MAX_INTSET_ENTRIES and all(map(is_int64, items)):
        items.sort(key=int)
    return items


_EMPTY_SET_SIZE = sys.getsizeof(set())


def _random_member(s: Members) -> bytes:
    """One member drawn uniformly, without copying the set. A walk visits the table's slots, and Python never shrinks
    a set's table when members go: a set emptied by SPOPs would cost a walk over its old size for each pop, so a
    table more than 8 times too big for the members is rebuilt first."""
    if sys.getsizeof(s) - _EMPTY_SET_SIZE > 8 * 16 * len(s):  # 16 bytes a slot (hash and pointer)
        members = list(s)
        set.clear(s)
        set.update(s, members)
    return next(islice(s, random.randrange(len(s)), None))


def _check_types(entries) -> None:
    """WRONGTYPE when any key of a multi-key read holds another type (Redis checks every key, in order)."""
    for e in entries:
        if e is WRONG:
            raise WrongType()


# ------------------------------------------------------------------------------------------------ one set
@command("sadd", arity=-3, flags="write denyoom fast", keys=(Keys(1, "RW insert"),), categories="write set fast",
         group="set", pure=True, summary="Add one or more members to a set",
         complexity="O(1) for each element added, so O(N) to add N elements when the command is called with "
                    "multiple arguments.")
def sadd(sess, argv):
    """SADD key member [member ...] -> how many members were not there yet."""
    new = argv[2:]

    def fn(s: Members):
        before = len(s)
        s.update(new)
        added = len(s) - before
        return added > 0, added

    return sess.store.update(argv[1], SET, fn)


@command("srem", arity=-3, flags="write fast", keys=(Keys(1, "RW delete"),), categories="write set fast",
         group="set", pure=True, summary="Remove one or more members from a set",
         complexity="O(N) where N is the number of members to be removed.")
def srem(sess, argv):
    """SREM key member [member ...] -> how many were removed; the key goes when its last member does."""
    gone = argv[2:]

    def fn(s: Members):
        removed = 0
        for m in gone:
            if m in s:
                s.discard(m)
                removed += 1
        return removed > 0, removed

    return sess.store.update(argv[1], SET, fn)


@command("smembers", arity=2, flags="readonly", keys=_RO, categories="read set slow", group="set", pure=True,
         summary="Get all the members in a set", complexity="O(N) where N is the set cardinality.")
def smembers(sess, argv):
    return then(sess.store.read(argv[1], SET), lambda s: SetReply(s.ordered()) if s else SetReply(()))


@command("sismember", arity=3, flags="readonly fast", keys=_RO_ONLY, categories="read set fast", group="set",
         pure=True, summary="Determine if a given value is a member of a set")
def sismember(sess, argv):
    member = argv[2]
    return then(sess.store.read(argv[1], SET), lambda s: 1 if s and member in s else 0)


@command("smismember", arity=-3, flags="readonly fast", keys=_RO, categories="read set fast", group="set",
         pure=True, since="6.2.0", summary="Returns the membership associated with the given elements for a set",
         complexity="O(N) where N is the number of elements being checked for membership")
def smismember(sess, argv):
    asked = argv[2:]

    def fn(s):
        if not s:
            return [0] * len(asked)
        return [1 if m in s else 0 for m in asked]

    return then(sess.store.read(argv[1], SET), fn)


@command("scard", arity=2, flags="readonly fast", keys=_RO_ONLY, categories="read set fast", group="set",
         pure=True, summary="Get the number of members in a set")
def scard(sess, argv):
    return then(sess.store.read(argv[1], SET), lambda s: len(s) if s else 0)


# ------------------------------------------------------------------------------------------------ random members
def _spop_count(arg: bytes) -> int:
    """SPOP's count: Redis answers the same text for a count that is no integer and for a negative one."""
    n = parse_int(arg, errors.SPOP_COUNT)
    if n < 0:
        raise CommandError(errors.SPOP_COUNT)
    return n


#: SPOP without a count on a set larger than this pops the member the set's own table gives first (``set.pop``, O(1))
#: instead of drawing one uniformly by a walk to a random position (O(N): ~4 ms at 100,000 members, on the event loop)
SPOP_WALK_MAX = 1024


def _pop_one(s: Members):
    if not s:
        return False, None
    if len(s) > SPOP_WALK_MAX:
        return True, s.pop()
    m = _random_member(s)
    s.discard(m)
    return True, m


@command("spop", arity=-2, flags="write fast", keys=(Keys(1, "RW access delete"),), categories="write set fast",
         group="set", pure=True, summary="Remove and return one or multiple random members from a set",
         complexity="Without the count argument O(1), otherwise O(N) where N is the value of the passed count.")
def spop(sess, argv):
    """SPOP key [count]: one member (null when missing) or a set of up to count members."""
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        return sess.store.update(argv[1], SET, _pop_one)
    count = _spop_count(argv[2])

    def many(s: Members):
        size = len(s)
        if count == 0 or size == 0:
            return False, SetReply(())
        if count >= size:  # the whole set, answered as a new set is built (intset order when it can be one)
            popped = _content_order(s)
            s.clear()
            return True, SetReply(popped)
        popped = random.sample(list(s), count)
        if (size - count) * 5 > count:  # few taken: answered in the order drawn
            for m in popped:
                s.discard(m)
            return True, SetReply(popped)
        # Redis draws the members that stay into a new set, which becomes the key's value (an intset when they
        # allow it), and answers the others in the old set's order (ascending for an intset)
        taken = set(popped)
        popped = [m for m in s.ordered() if m in taken]
        for m in popped:
            s.discard(m)
        if not s.intset:
            s.intset = len(s) <= SET_MAX_INTSET_ENTRIES and all(map(is_int64, s))
        return True, SetReply(popped)

    return sess.store.update(argv[1], SET, many)


def _srandmember_count(arg: bytes) -> int:
    n = parse_int(arg)
    if n == INT64_MIN:  # Redis takes -LONG_MAX..LONG_MAX: a count it can negate
        raise CommandError(errors.SRANDMEMBER_RANGE)
    return n


@command("srandmember", arity=-2, flags="readonly", keys=_RO, categories="read set slow", group="set", pure=True,
         summary="Get one or multiple random members from a set",
         complexity="Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed "
                    "count.")
def srandmember(sess, argv):
    """SRANDMEMBER key [count]: one member (null when missing); with a count, an array of distinct members (count
    > 0, at most the set) or of count members drawn independently (count < 0)."""
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        return then(sess.store.read(argv[1], SET), lambda s: _random_member(s) if s else None)
    count = _srandmember_count(argv[2])

    def fn(s):
        if not s or count == 0:
            return []
        if count < 0:
            if -count > RANDOM_REPLY_MAX:
                raise CommandError(errors.SRANDMEMBER_TOO_MANY % RANDOM_REPLY_MAX)
            if count == -1:
                return [_random_member(s)]
            return random.choices(list(s), k=-count)
        if count == 1:
            return [_random_member(s)]
        if count >= len(s):
            return s.ordered()
        return random.sample(list(s), count)

    return then(sess.store.read(argv[1], SET), fn)


# ------------------------------------------------------------------------------------------------ SMOVE
@command("smove", arity=4, flags="write fast", keys=(Keys(1, "RW access delete"), Keys(2, "RW insert")),
         categories="write set fast", group="set", pure=True, summary="Move a member from one set to another")
def smove(sess, argv):
    """SMOVE source destination member -> 1 when member was in source (and is now in destination), else 0.

    Redis' order: a missing source answers 0 whatever the destination holds; then the source's type, then the
    destination's; moving within one set changes nothing."""
    src, dst, member = argv[1], argv[2], argv[3]

    def fn(v):
        s = v.get(src, SET)
        if s is None:
            return 0
        d = v.get(dst, SET)
        if src == dst:
            return 1 if member in s else 0
        if member not in s:
            return 0
        if d is None:  # a new key is made before anything changes in place (the store may be full)
            d = Members()
            d.add(member)
            v.put(dst, d)
        elif member not in d:
            d.add(member)
            v.changed(dst)
        s.discard(member)
        v.changed(src)
        return 1

    writes = [src] if src == dst else [src, dst]
    return sess.store.update_many(writes, [], fn)


# ------------------------------------------------------------------------------------------------ set algebra
def _inter(sets: list) -> list:
    """The members every set has, in the order Redis answers them: it walks the smallest set (the first of equal
    sizes: a stable sort), so an intset there answers in ascending order. Any missing key: nothing."""
    if any(s is None for s in sets):
        return []
    ordered = sorted(sets, key=len)
    first = ordered[0]
    others = [s for s in ordered[1:] if s is not first]
    common = set.intersection(first, *others) if others else set(first)
    if first.intset:
        return sorted(common, key=int)
    return list(common)


def _union(sets: list) -> list:
    present = [s for s in sets if s is not None]
    return _content_order(set().union(*present))


def _diff(keys: list, sets: list) -> list:
    """The first set less the others (Redis: nothing when the first key appears again among the others)."""
    first = sets[0]
    if first is None or keys[0] in keys[1:]:
        return []
    rest = [s for s in sets[1:] if s is not None]
    return _content_order(set.difference(first, *rest) if rest else first)


def _read_sets(sess, keys: list, combine):
    """SINTER/SUNION/SDIFF: one read of every key, then combine(sets) as a RESP3 set."""
    def fn(entries):
        _check_types(entries)
        return SetReply(combine(entries))

    return then(sess.store.read_many(keys, SET), fn)


@command("sinter", arity=-2, flags="readonly", keys=_RO_ALL, categories="read set slow", group="set", pure=True,
         summary="Intersect multiple sets",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.")
def sinter(sess, argv):
    return _read_sets(sess, argv[1:], _inter)


@command("sunion", arity=-2, flags="readonly", keys=_RO_ALL, categories="read set slow", group="set", pure=True,
         summary="Add multiple sets",
         complexity="O(N) where N is the total number of elements in all given sets.")
def sunion(sess, argv):
    return _read_sets(sess, argv[1:], _union)


@command("sdiff", arity=-2, flags="readonly", keys=_RO_ALL, categories="read set slow", group="set", pure=True,
         summary="Subtract multiple sets",
         complexity="O(N) where N is the total number of elements in all given sets.")
def sdiff(sess, argv):
    keys = argv[1:]
    return _read_sets(sess, keys, lambda sets: _diff(keys, sets))


def _limit(arg: bytes) -> int:
    n = parse_int(arg, errors.LIMIT_NEGATIVE)
    if n < 0:
        raise CommandError(errors.LIMIT_NEGATIVE)
    return n


_SINTERCARD_OPTIONS = Options("[LIMIT limit]", convert={"LIMIT": _limit})


@command("sintercard", arity=-3, flags="readonly movablekeys", keys=(Keys(1, "RO access", keynum=True),),
         categories="read set slow", group="set", pure=True, since="7.0.0",
         summary="Intersect multiple sets and return the cardinality of the result",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.")
def sintercard(sess, argv):
    """SINTERCARD numkeys key [key ...] [LIMIT limit] -> the size of the intersection, at most limit (0: no limit)."""
    numkeys = parse_int(argv[1], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    if numkeys > len(argv) - 2:
        raise CommandError(errors.NUMKEYS_TOO_MANY)
    limit = _SINTERCARD_OPTIONS.parse(argv, 2 + numkeys).get("LIMIT", 0)

    def fn(entries):
        _check_types(entries)
        n = len(_inter(entries))
        return min(n, limit) if limit else n

    return then(sess.store.read_many(argv[2:2 + numkeys], SET), fn)


def _store(sess, argv, combine):
    """SINTERSTORE/SUNIONSTORE/SDIFFSTORE destination key [key ...]: the result replaces the destination whatever
    it held (a set without TTL), or deletes it when empty; the reply is its size. A source of another type answers
    WRONGTYPE with nothing changed."""
    dst, keys = argv[1], argv[2:]
    reads = list(dict.fromkeys(k for k in keys if k != dst))

    def fn(v):
        sets = [v.get(k, SET) for k in keys]
        result = Members(combine(sets))
        v.put(dst, result)
        return len(result)

    return sess.store.update_many([dst], reads, fn)


_STORE_DOC = "and store the resulting set in a key"


@command("sinterstore", arity=-3, flags="write denyoom", keys=(Keys(1, "RW update"), _STORE_SOURCES),
         categories="write set slow", group="set", pure=True, summary="Intersect multiple sets " + _STORE_DOC,
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.")
def sinterstore(sess, argv):
    return _store(sess, argv, _inter)


@command("sunionstore", arity=-3, flags="write denyoom", keys=(Keys(1, "OW update"), _STORE_SOURCES),
         categories="write set slow", group="set", pure=True, summary="Add multiple sets " + _STORE_DOC,
         complexity="O(N) where N is the total number of elements in all given sets.")
def sunionstore(sess, argv):
    return _store(sess, argv, _union)


@command("sdiffstore", arity=-3, flags="write denyoom", keys=(Keys(1, "OW update"), _STORE_SOURCES),
         categories="write set slow", group="set", pure=True, summary="Subtract multiple sets " + _STORE_DOC,
         complexity="O(N) where N is the total number of elements in all given sets.")
def sdiffstore(sess, argv):
    keys = argv[2:]
    return _store(sess, argv, lambda sets: _diff(keys, sets))


# ------------------------------------------------------------------------------------------------ SSCAN


_SSCAN_OPTIONS = Options("[MATCH pattern] [COUNT count]", convert={"COUNT": count_at_least(1)})
_EMPTY_PAGE = [b"0", []]


@command("sscan", arity=-3, flags="readonly", keys=_RO, categories="read set slow", group="set", pure=True,
         since="2.8.0", summary="Incrementally iterate Set elements",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
                    "cursor to return back to 0. N is the number of elements inside the collection..")
def sscan(sess, argv):
    """SSCAN key cursor [MATCH pattern] [COUNT count] -> [next cursor, members]: an intset answers everything with
    cursor 0; a hashtable is paged (``backends.values.scan_page``)."""
    cursor = parse_scan_cursor(argv[2])

    def fn(s):
        if s is None:
            return _EMPTY_PAGE
        opts = _SSCAN_OPTIONS.parse(argv, 3)
        nxt, page = scan_page(s, cursor, opts.get("COUNT", 10))
        pattern = opts.get("MATCH")
        if pattern is not None and pattern != b"*":
            match = compile_glob(pattern)
            page = [m for m in page if match(m)]
        return [b"%d" % nxt, page]

    return then(sess.store.read(argv[1], SET), fn)
