"""List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS,
LMOVE, RPOPLPUSH, LMPOP (Redis 7.0.15's t_list.c, reply for reply; the blocking pops come later).

Values are ``backends.values.ListValue`` (``backends.quicklist``: packed chunks with a buffer at each end, as Redis'
quicklist: O(1) amortized at both ends, O(N / chunk + chunk) by index, deque's methods plus ``slice`` and ``trim``).
Readers make one ``store.read``; writers one ``store.update`` whose fn changes the list in place (an emptied list deletes the key, as Redis does); LMOVE, RPOPLPUSH and LMPOP one ``store.update_many``.

Order of checks, as Redis makes them: LRANGE, LTRIM, LREM, LPOS, LPOP's count and LMPOP's arguments are parsed
before the key is looked up (so they answer their errors even for a key of another type); LINDEX and LSET look the
key up first and parse the index after (LINDEX of a missing key answers null whatever the index says; LSET of one
answers "no such key"); LINSERT checks BEFORE/AFTER first; LMOVE both directions first, then the source, then the
destination's type. Writes that change nothing leave the key untouched (no WATCH invalidation: LPUSHX of a missing
key, LREM or LINSERT finding nothing, LPOP with count 0), except LTRIM, which Redis counts as a modification
whenever the key exists.
"""
from __future__ import annotations

from itertools import islice

from backends.values import LIST, ListValue

from .. import errors
from ..errors import CommandError
from ..replies import NULL_ARRAY, OK
from .args import INT64_MIN, Options, parse_int
from .table import Keys, command, then

_RO = (Keys(1, "RO"),)                           # LLEN: only the length is looked at
_RO_ACCESS = (Keys(1, "RO access"),)
_PUSH_KEYS = (Keys(1, "RW insert"),)
_POP_KEYS = (Keys(1, "RW access delete"),)
_MOVE_KEYS = (Keys(1, "RW access delete"), Keys(2, "RW insert"))

_PUSH_COMPLEXITY = ("O(1) for each element added, so O(N) to add N elements when the command is called with "
                    "multiple arguments.")
_POP_COMPLEXITY = "O(N) where N is the number of elements returned"


# ---------------------------------------------------------------------------------------------- helpers
def _bounds(llen: int, start: int, end: int):
    """Redis' LRANGE/LTRIM range: negative indexes count from the tail; (start, end) inclusive, or None when
    empty."""
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return None
    return start, min(end, llen - 1)


def where(arg: bytes) -> bool:
    """LEFT/RIGHT (any case): True for LEFT (the head)."""
    low = arg.lower()
    if low == b"left":
        return True
    if low == b"right":
        return False
    raise CommandError(errors.SYNTAX)


def _positive(arg: bytes, error: str) -> int:
    """Redis' getPositiveLongFromObjectOrReply: an integer >= 0; the same text for one that is no integer."""
    n = parse_int(arg, error)
    if n < 0:
        raise CommandError(error)
    return n


def _pop(lst, left: bool, count: int) -> list:
    """Take up to count elements from one end, in the order they leave (the tail first for the right end)."""
    take = lst.popleft if left else lst.pop
    return [take() for _ in range(min(count, len(lst)))]


def pop_from(lst, left: bool) -> bytes:
    """One element from the head (left) or the tail."""
    return lst.popleft() if left else lst.pop()


# ---------------------------------------------------------------------------------------------- push
def _push(sess, argv, left: bool, only_existing: bool):
    elements = argv[2:]

    def fn(lst):
        if only_existing and not lst:
            return False, 0
        if left:
            lst.extendleft(elements)
        else:
            lst.extend(elements)
        return True, len(lst)

    return sess.store.update(argv[1], LIST, fn)


@command("lpush", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, categories="write list fast",
         group="list", pure=True, summary="Prepend one or multiple elements to a list", complexity=_PUSH_COMPLEXITY)
def lpush(sess, argv):
    """LPUSH key element [element ...] -> the length after; each element goes to the head in turn."""
    return _push(sess, argv, True, False)


@command("rpush", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, categories="write list fast",
         group="list", pure=True, summary="Append one or multiple elements to a list", complexity=_PUSH_COMPLEXITY)
def rpush(sess, argv):
    return _push(sess, argv, False, False)


@command("lpushx", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, categories="write list fast",
         group="list", pure=True, since="2.2.0", summary="Prepend an element to a list, only if the list exists",
         complexity=_PUSH_COMPLEXITY)
def lpushx(sess, argv):
    """LPUSHX key element [element ...] -> the length after, 0 (nothing made) when the key is missing."""
    return _push(sess, argv, True, True)


@command("rpushx", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, categories="write list fast",
         group="list", pure=True, since="2.2.0", summary="Append an element to a list, only if the list exists",
         complexity=_PUSH_COMPLEXITY)
def rpushx(sess, argv):
    return _push(sess, argv, False, True)


# ---------------------------------------------------------------------------------------------- pop
def _pop_command(sess, argv, left: bool):
    """LPOP/RPOP key [count]: no count, one element (null when missing); a count, an array of up to count elements
    (a null array when the key is missing, an empty array for count 0 on an existing list)."""
    if len(argv) > 3:
        raise CommandError(errors.wrong_arity("lpop" if left else "rpop"))
    if len(argv) == 2:
        def one(lst):
            if not lst:
                return False, None
            return True, lst.popleft() if left else lst.pop()

        return sess.store.update(argv[1], LIST, one)
    count = _positive(argv[2], errors.POP_COUNT)

    def many(lst):
        if not lst:
            return False, NULL_ARRAY
        if count == 0:
            return False, []
        return True, _pop(lst, left, count)

    return sess.store.update(argv[1], LIST, many)


@command("lpop", arity=-2, flags="write fast", keys=_POP_KEYS, categories="write list fast", group="list",
         pure=True, summary="Remove and get the first elements in a list", complexity=_POP_COMPLEXITY)
def lpop(sess, argv):
    return _pop_command(sess, argv, True)


@command("rpop", arity=-2, flags="write fast", keys=_POP_KEYS, categories="write list fast", group="list",
         pure=True, summary="Remove and get the last elements in a list", complexity=_POP_COMPLEXITY)
def rpop(sess, argv):
    return _pop_command(sess, argv, False)


# ---------------------------------------------------------------------------------------------- reads
@command("llen", arity=2, flags="readonly fast", keys=_RO, categories="read list fast", group="list", pure=True,
         summary="Get the length of a list")
def llen(sess, argv):
    return then(sess.store.read(argv[1], LIST), lambda lst: len(lst) if lst else 0)


@command("lrange", arity=4, flags="readonly", keys=_RO_ACCESS, categories="read list slow", group="list",
         pure=True, summary="Get a range of elements from a list",
         complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end "
                    "(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.")
def lrange(sess, argv):
    """LRANGE key start stop -> the elements from start to stop inclusive (negative: from the tail)."""
    start, end = parse_int(argv[2]), parse_int(argv[3])

    def fn(lst):
        if not lst:
            return []
        span = _bounds(len(lst), start, end)
        return [] if span is None else lst.slice(span[0], span[1] + 1)

    return then(sess.store.read(argv[1], LIST), fn)


@command("lindex", arity=3, flags="readonly", keys=_RO_ACCESS, categories="read list slow", group="list",
         pure=True, summary="Get an element from a list by its index",
         complexity="O(N) where N is the number of elements to traverse to get to the element at index. This makes "
                    "asking for the first or the last element of the list O(1).")
def lindex(sess, argv):
    """LINDEX key index -> the element (null out of range or when missing; the index is parsed after the
    lookup)."""
    def fn(lst):
        if not lst:
            return None
        index = parse_int(argv[2])
        if index < 0:
            index += len(lst)
        return lst[index] if 0 <= index < len(lst) else None

    return then(sess.store.read(argv[1], LIST), fn)


def _rank(arg: bytes) -> int:
    n = parse_int(arg)
    if n == 0:
        raise CommandError(errors.LPOS_RANK_ZERO)
    return n


# each option may come again (the last one counts); each value is checked where it is met
_LPOS_OPTIONS = Options("[RANK rank] [COUNT num-matches] [MAXLEN len]", convert={
    "RANK": _rank,
    "COUNT": lambda a: _positive(a, errors.LPOS_COUNT_NEGATIVE),
    "MAXLEN": lambda a: _positive(a, errors.LPOS_MAXLEN_NEGATIVE)})


def _lpos_scan(lst, element: bytes, rank: int, count: int, maxlen: int) -> list:
    """The indexes of matches from the rank-th on (from the tail when rank < 0), at most count of them (0: all),
    looking at the first maxlen elements of the walk (0: all)."""
    llen = len(lst)
    from_tail = rank < 0
    skip = -rank if from_tail else rank
    if rank == INT64_MIN:  # Redis negates it in a C long, where it stays negative: every match counts, and
        skip, count = 1, 0  # its COUNT test overflows, so COUNT never stops the walk
    found = []
    matches = 0
    if not from_tail:  # ListValue.index finds each match at C speed
        stop = min(maxlen, llen) if maxlen else llen
        at = 0
        while True:
            try:
                at = lst.index(element, at, stop)
            except ValueError:
                return found
            matches += 1
            if matches >= skip:
                found.append(at)
                if count and len(found) >= count:
                    return found
            at += 1
    walk = reversed(lst)
    if maxlen:
        walk = islice(walk, maxlen)
    for i, e in enumerate(walk):
        if e == element:
            matches += 1
            if matches >= skip:
                found.append(llen - 1 - i)
                if count and len(found) >= count:
                    break
    return found


@command("lpos", arity=-3, flags="readonly", keys=_RO_ACCESS, categories="read list slow", group="list",
         pure=True, since="6.0.6", summary="Return the index of matching elements on a list",
         complexity="O(N) where N is the number of elements in the list, for the average case. When searching for "
                    "elements near the head or the tail of the list, or when the MAXLEN option is provided, the "
                    "command may run in constant time.")
def lpos(sess, argv):
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: without COUNT the index of the rank-th match
    (null when none), with COUNT an array of indexes (COUNT 0: every match). Indexes count from the head whatever
    the direction."""
    element = argv[2]
    opts = _LPOS_OPTIONS.parse(argv, 3)
    rank = opts.get("RANK", 1)
    count = opts.get("COUNT")
    maxlen = opts.get("MAXLEN", 0)

    def fn(lst):
        if not lst:
            return None if count is None else []
        if count is None:
            found = _lpos_scan(lst, element, rank, 1, maxlen)
            return found[0] if found else None
        return _lpos_scan(lst, element, rank, count, maxlen)

    return then(sess.store.read(argv[1], LIST), fn)


# ---------------------------------------------------------------------------------------------- writes by index
@command("lset", arity=4, flags="write denyoom", keys=(Keys(1, "RW update"),), categories="write list slow",
         group="list", pure=True, summary="Set the value of an element in a list by its index",
         complexity="O(N) where N is the length of the list. Setting either the first or the last element of the "
                    "list is O(1).")
def lset(sess, argv):
    """LSET key index element -> OK; "no such key" when missing (before the index is parsed), "index out of
    range" outside the list."""
    value = argv[3]

    def fn(lst):
        if not lst:
            raise CommandError(errors.NO_SUCH_KEY)
        index = parse_int(argv[2])
        if index < 0:
            index += len(lst)
        if not 0 <= index < len(lst):
            raise CommandError(errors.INDEX_OUT_OF_RANGE)
        lst[index] = value
        return True, OK

    return sess.store.update(argv[1], LIST, fn)


@command("linsert", arity=5, flags="write denyoom", keys=(Keys(1, "RW insert"),), categories="write list slow",
         group="list", pure=True, since="2.2.0", summary="Insert an element before or after another element in a list",
         complexity="O(N) where N is the number of elements to traverse before seeing the value pivot. This means "
                    "that inserting somewhere on the left end on the list (head) can be considered O(1) and "
                    "inserting somewhere on the right end (tail) is O(N).")
def linsert(sess, argv):
    """LINSERT key BEFORE|AFTER pivot element -> the length after, -1 without the pivot, 0 when missing."""
    where = argv[2].lower()
    if where not in (b"before", b"after"):
        raise CommandError(errors.SYNTAX)
    pivot, element = argv[3], argv[4]

    def fn(lst):
        if not lst:
            return False, 0
        try:
            at = lst.index(pivot)
        except ValueError:
            return False, -1
        lst.insert(at if where == b"before" else at + 1, element)
        return True, len(lst)

    return sess.store.update(argv[1], LIST, fn)


@command("lrem", arity=4, flags="write", keys=(Keys(1, "RW delete"),), categories="write list slow", group="list",
         pure=True, summary="Remove elements from a list",
         complexity="O(N+M) where N is the length of the list and M is the number of elements removed.")
def lrem(sess, argv):
    """LREM key count element -> how many were removed: the first count from the head (count > 0), from the tail
    (count < 0), or all (0)."""
    count = parse_int(argv[2])
    element = argv[3]

    def fn(lst):
        if not lst:
            return False, 0
        limit = abs(count)
        walk = reversed(lst) if count < 0 else iter(lst)
        kept = []
        removed = 0
        for e in walk:
            if e == element and (not limit or removed < limit):
                removed += 1
            else:
                kept.append(e)
        if not removed:
            return False, 0
        if count < 0:
            kept.reverse()
        lst.clear()
        lst.extend(kept)
        return True, removed

    return sess.store.update(argv[1], LIST, fn)


@command("ltrim", arity=4, flags="write", keys=(Keys(1, "RW delete"),), categories="write list slow", group="list",
         pure=True, summary="Trim a list to the specified range",
         complexity="O(N) where N is the number of elements to be removed by the operation.")
def ltrim(sess, argv):
    """LTRIM key start stop -> OK; keeps start..stop inclusive (an empty range deletes the key)."""
    start, end = parse_int(argv[2]), parse_int(argv[3])

    def fn(lst):
        if not lst:
            return False, OK
        span = _bounds(len(lst), start, end)
        if span is None:
            lst.clear()
            return True, OK
        lst.trim(*span)
        return True, OK

    return sess.store.update(argv[1], LIST, fn)


# ---------------------------------------------------------------------------------------------- LMOVE
def move_in(v, src: bytes, dst: bytes, from_left: bool, to_left: bool):
    """In an ``update_many`` view: pop one element from src's end and push it on dst's; the element, or None when
    src is missing. A destination of another type raises WrongType with nothing changed; src == dst rotates the
    list."""
    s = v.get(src, LIST)
    if not s:
        return None
    if src == dst:
        value = s.popleft() if from_left else s.pop()
        if to_left:
            s.appendleft(value)
        else:
            s.append(value)
        v.changed(src)
        return value
    d = v.get(dst, LIST)
    value = s[0] if from_left else s[-1]
    if d is None:  # the new key first: the store may have no room, and nothing has changed yet
        v.put(dst, ListValue((value,)))
    else:
        if to_left:
            d.appendleft(value)
        else:
            d.append(value)
        v.changed(dst)
    if from_left:
        s.popleft()
    else:
        s.pop()
    v.changed(src)
    return value


def _move(sess, src: bytes, dst: bytes, from_left: bool, to_left: bool):
    return sess.store.update_many([src] if src == dst else [src, dst], [],
                                  lambda v: move_in(v, src, dst, from_left, to_left))


@command("lmove", arity=5, flags="write denyoom", keys=_MOVE_KEYS, categories="write list slow", group="list",
         pure=True, since="6.2.0", summary="Pop an element from a list, push it to another list and return it")
def lmove(sess, argv):
    """LMOVE source destination LEFT|RIGHT LEFT|RIGHT -> the element moved (null when source is missing)."""
    from_left = where(argv[3])
    to_left = where(argv[4])
    return _move(sess, argv[1], argv[2], from_left, to_left)


@command("rpoplpush", arity=3, flags="write denyoom", keys=_MOVE_KEYS, categories="write list slow", group="list",
         pure=True, since="1.2.0",
         summary="Remove the last element in a list, prepend it to another list and return it")
def rpoplpush(sess, argv):
    return _move(sess, argv[1], argv[2], False, True)


# ---------------------------------------------------------------------------------------------- LMPOP
def lmpop_arguments(argv: list, at: int) -> tuple:
    """LMPOP's (and BLMPOP's) ``numkeys key [key ...] LEFT|RIGHT [COUNT count]`` from argv[at]: (keys, left,
    count), in Redis' order of checks."""
    numkeys = parse_int(argv[at], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    where_at = at + 1 + numkeys
    if where_at >= len(argv):
        raise CommandError(errors.SYNTAX)
    left = where(argv[where_at])
    count = None
    i = where_at + 1
    while i < len(argv):
        if count is None and argv[i].upper() == b"COUNT" and i + 1 < len(argv):
            count = _mpop_count(argv[i + 1])
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[at + 1:where_at], left, count or 1


def _mpop_count(arg: bytes) -> int:
    n = parse_int(arg, errors.LMPOP_COUNT_POSITIVE)
    if n < 1:
        raise CommandError(errors.LMPOP_COUNT_POSITIVE)
    return n


@command("lmpop", arity=-4, flags="write movablekeys", keys=(Keys(1, "RW access delete", keynum=True),),
         categories="write list slow", group="list", pure=True, since="7.0.0", summary="Pop elements from a list",
         complexity="O(N+M) where N is the number of provided keys and M is the number of elements returned.")
def lmpop(sess, argv):
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] -> [key, [elements]] from the first key holding a list
    (up to count elements, 1 by default), or a null array when none does. Keys are looked at in order: a key of
    another type before the first list answers WRONGTYPE."""
    keys, left, count = lmpop_arguments(argv, 1)

    def fn(v):
        for key in keys:
            lst = v.get(key, LIST)
            if lst:
                popped = _pop(lst, left, count)
                v.changed(key)
                return [key, popped]
        return NULL_ARRAY

    return sess.store.update_many(list(dict.fromkeys(keys)), [], fn)
