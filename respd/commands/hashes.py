"""Hash commands: HSET, HGET, HGETALL, HINCRBY, HRANDFIELD, HSCAN... (Redis 7.0.15's t_hash.c, issue #14).

Every command makes one store call: ``store.read(key, HASH)`` for readers, ``store.update(key, HASH, fn)`` for
writers, whose ``fn`` changes the ``values.Hash`` in place (the store deletes the key when the last field goes).
Arguments are checked in Redis' order: what Redis parses before it looks the key up (HINCRBY's increment,
HRANDFIELD's count, HSCAN's cursor) raises before the store is asked, so a wrong type answers after them; HSCAN's
options are parsed after the lookup, as Redis does (a missing key answers an empty page whatever they say).

A ``Hash`` stays ``compact`` (Redis' listpack) until a field or value longer than ``hash-max-listpack-value`` is
set or it holds more than ``hash-max-listpack-entries`` fields; then it is a hashtable for good, as in Redis.
"""
from __future__ import annotations

import random
from itertools import islice

from backends.glob import compile_glob
from backends.values import HASH, HASH_MAX_LISTPACK_ENTRIES, HASH_MAX_LISTPACK_VALUE, scan_page

from .. import errors
from ..errors import CommandError
from ..replies import OK, Map
from .args import (INT64_MAX, INT64_MIN, Options, add_long_double, count_at_least, format_long_double, parse_int,
                   parse_long_double, parse_scan_cursor, try_int)
from .table import Keys, command, then

_RW_UPDATE = (Keys(1, "RW update"),)
_RO_ACCESS = (Keys(1, "RO access"),)
_RO = (Keys(1, "RO"),)
_RW_ACCESS_UPDATE = (Keys(1, "RW access update"),)

#: the most picks respd makes for a negative HRANDFIELD count (repeats allowed). Redis streams such a reply until
#: the client's output buffer limit closes it (none for normal clients by default: it grows without bound); respd
#: builds a reply whole on the event loop before sending it (about 3 µs a pick, encoding included), so it refuses
#: a larger count with an error instead of stalling every client for seconds.
HRANDFIELD_MAX_REPEATS = 100_000

#: HRANDFIELD's count is a C long within ±LONG_MAX; with WITHVALUES within ±LONG_MAX/2 (the reply counts twice)
_LONG_MAX = INT64_MAX
_HALF_LONG_MAX = INT64_MAX // 2



def _set(h, field: bytes, value: bytes) -> bool:
    """Set one field, converting the hash from listpack to hashtable as Redis' hashTypeSet does; True when the
    field is new."""
    new = field not in h
    h[field] = value
    if h.compact and (len(field) > HASH_MAX_LISTPACK_VALUE or len(value) > HASH_MAX_LISTPACK_VALUE
                      or len(h) > HASH_MAX_LISTPACK_ENTRIES):
        h.compact = False
    return new


# ---------------------------------------------------------------------------------------------- writes
def _hset(sess, argv, name: str):
    if len(argv) % 2:
        raise CommandError(errors.wrong_arity(name))
    pairs = argv[2:]

    def fn(h):
        created = 0
        for i in range(0, len(pairs), 2):
            created += _set(h, pairs[i], pairs[i + 1])
        return True, created

    return sess.store.update(argv[1], HASH, fn)


@command("hset", arity=-4, flags="write denyoom fast", keys=_RW_UPDATE, categories="write hash fast", group="hash",
         since="2.0.0", pure=True,
         complexity="O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is "
                    "called with multiple field/value pairs.",
         summary="Set the string value of a hash field")
def hset(sess, argv):
    """HSET key field value [field value ...]: the number of fields created."""
    return _hset(sess, argv, "hset")


@command("hmset", arity=-4, flags="write denyoom fast", keys=_RW_UPDATE, categories="write hash fast", group="hash",
         since="2.0.0", pure=True, complexity="O(N) where N is the number of fields being set.",
         summary="Set multiple hash fields to multiple values")
def hmset(sess, argv):
    """HMSET key field value [field value ...]: HSET answering OK."""
    return then(_hset(sess, argv, "hmset"), lambda _: OK)


@command("hsetnx", arity=4, flags="write denyoom fast", keys=(Keys(1, "RW insert"),), categories="write hash fast",
         group="hash", since="2.0.0", pure=True,
         summary="Set the value of a hash field, only if the field does not exist")
def hsetnx(sess, argv):
    field, value = argv[2], argv[3]

    def fn(h):
        if field in h:
            return False, 0
        _set(h, field, value)
        return True, 1

    return sess.store.update(argv[1], HASH, fn)


@command("hdel", arity=-3, flags="write fast", keys=(Keys(1, "RW delete"),), categories="write hash fast",
         group="hash", since="2.0.0", pure=True, complexity="O(N) where N is the number of fields to be removed.",
         summary="Delete one or more hash fields")
def hdel(sess, argv):
    """HDEL key field [field ...]: how many were removed; removing the last field removes the key."""
    fields = argv[2:]

    def fn(h):
        deleted = 0
        for f in fields:
            if f in h:
                del h[f]
                deleted += 1
                if not h:
                    break
        return deleted > 0, deleted

    return sess.store.update(argv[1], HASH, fn)


@command("hincrby", arity=4, flags="write denyoom fast", keys=_RW_ACCESS_UPDATE, categories="write hash fast",
         group="hash", since="2.0.0", pure=True,
         summary="Increment the integer value of a hash field by the given number")
def hincrby(sess, argv):
    field = argv[2]
    incr = parse_int(argv[3])

    def fn(h):
        old = h.get(field)
        cur = 0 if old is None else try_int(old)
        if cur is None:
            raise CommandError(errors.HASH_NOT_INTEGER)
        new = cur + incr
        if not INT64_MIN <= new <= INT64_MAX:
            raise CommandError(errors.OVERFLOW)
        _set(h, field, b"%d" % new)
        return True, new

    return sess.store.update(argv[1], HASH, fn)


@command("hincrbyfloat", arity=4, flags="write denyoom fast", keys=_RW_ACCESS_UPDATE, categories="write hash fast",
         group="hash", since="2.6.0", pure=True,
         summary="Increment the float value of a hash field by the given amount")
def hincrbyfloat(sess, argv):
    """HINCRBYFLOAT key field increment: the sum as an x87 long double, written as Redis' LD_STR_HUMAN (the same
    arithmetic and text as INCRBYFLOAT)."""
    field = argv[2]
    incr = parse_long_double(argv[3])
    if isinstance(incr, float):  # an explicit infinity ("nan" is no float to string2ld)
        raise CommandError(errors.HASH_INCR_NAN_OR_INF)

    def fn(h):
        old = h.get(field)
        cur = 0 if old is None else parse_long_double(old, errors.HASH_NOT_FLOAT)
        new = add_long_double(cur, incr)
        if new is None:
            raise CommandError(errors.INCR_NAN)
        text = format_long_double(new)
        _set(h, field, text)
        return True, text

    return sess.store.update(argv[1], HASH, fn)


# ---------------------------------------------------------------------------------------------- reads
@command("hget", arity=3, flags="readonly fast", keys=_RO_ACCESS, categories="read hash fast", group="hash",
         since="2.0.0", pure=True, summary="Get the value of a hash field")
def hget(sess, argv):
    field = argv[2]
    return then(sess.store.read(argv[1], HASH), lambda h: None if h is None else h.get(field))


@command("hmget", arity=-3, flags="readonly fast", keys=_RO_ACCESS, categories="read hash fast", group="hash",
         since="2.0.0", pure=True, complexity="O(N) where N is the number of fields being requested.",
         summary="Get the values of all the given hash fields")
def hmget(sess, argv):
    fields = argv[2:]
    return then(sess.store.read(argv[1], HASH),
                lambda h: [None] * len(fields) if h is None else [h.get(f) for f in fields])


@command("hgetall", arity=2, flags="readonly", keys=_RO_ACCESS, categories="read hash slow", group="hash",
         since="2.0.0", pure=True, complexity="O(N) where N is the size of the hash.",
         summary="Get all the fields and values in a hash")
def hgetall(sess, argv):
    """A map in RESP3, the flat field/value array in RESP2."""
    return then(sess.store.read(argv[1], HASH), lambda h: Map([] if h is None else list(h.items())))


@command("hkeys", arity=2, flags="readonly", keys=_RO_ACCESS, categories="read hash slow", group="hash",
         since="2.0.0", pure=True, complexity="O(N) where N is the size of the hash.",
         summary="Get all the fields in a hash")
def hkeys(sess, argv):
    return then(sess.store.read(argv[1], HASH), lambda h: [] if h is None else list(h))


@command("hvals", arity=2, flags="readonly", keys=_RO_ACCESS, categories="read hash slow", group="hash",
         since="2.0.0", pure=True, complexity="O(N) where N is the size of the hash.",
         summary="Get all the values in a hash")
def hvals(sess, argv):
    return then(sess.store.read(argv[1], HASH), lambda h: [] if h is None else list(h.values()))


@command("hlen", arity=2, flags="readonly fast", keys=_RO, categories="read hash fast", group="hash",
         since="2.0.0", pure=True, summary="Get the number of fields in a hash")
def hlen(sess, argv):
    return then(sess.store.read(argv[1], HASH), lambda h: 0 if h is None else len(h))


@command("hexists", arity=3, flags="readonly fast", keys=_RO, categories="read hash fast", group="hash",
         since="2.0.0", pure=True, summary="Determine if a hash field exists")
def hexists(sess, argv):
    field = argv[2]
    return then(sess.store.read(argv[1], HASH), lambda h: 1 if h is not None and field in h else 0)


@command("hstrlen", arity=3, flags="readonly fast", keys=_RO, categories="read hash fast", group="hash",
         since="3.2.0", pure=True, summary="Get the length of the value of a hash field")
def hstrlen(sess, argv):
    field = argv[2]
    return then(sess.store.read(argv[1], HASH), lambda h: 0 if h is None else len(h.get(field, b"")))


# ---------------------------------------------------------------------------------------------- HRANDFIELD
@command("hrandfield", arity=-2, flags="readonly", keys=_RO_ACCESS, categories="read hash slow", group="hash",
         since="6.2.0", pure=True, complexity="O(N) where N is the number of fields returned",
         summary="Get one or multiple random fields from a hash")
def hrandfield(sess, argv):
    """HRANDFIELD key [count [WITHVALUES]]: no count, one field (null when missing); a count >= 0, distinct fields
    (the whole hash in its order when count >= its size); a negative count, that many picks with repeats. With
    WITHVALUES RESP2 answers a flat field/value array, RESP3 an array of [field, value] pairs."""
    if len(argv) == 2:
        return then(sess.store.read(argv[1], HASH), _one_field)
    count = parse_int(argv[2])
    if count < -_LONG_MAX:
        raise CommandError(errors.HRANDFIELD_COUNT_RANGE)
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
        raise CommandError(errors.SYNTAX)
    withvalues = len(argv) == 4
    if withvalues and not -_HALF_LONG_MAX <= count <= _HALF_LONG_MAX:
        raise CommandError(errors.VALUE_OUT_OF_RANGE)
    pairs = sess.proto > 2
    return then(sess.store.read(argv[1], HASH), lambda h: _random_fields(h, count, withvalues, pairs))


def _one_field(h):
    """One random field: a walk to a random position (C speed, no copy of the fields)."""
    if h is None:
        return None
    return next(islice(iter(h), random.randrange(len(h)), None))


def _random_fields(h, count: int, withvalues: bool, pairs: bool) -> list:
    if h is None or count == 0:
        return []
    size = len(h)
    if count < 0 or count == 1:
        n = -count if count < 0 else 1
        if n > HRANDFIELD_MAX_REPEATS:
            raise CommandError(errors.HRANDFIELD_TOO_MANY % HRANDFIELD_MAX_REPEATS)
        if n == 1 or size == 1:
            picked = [_one_field(h)] * n
        else:
            picked = random.choices(list(h), k=n)
    elif count >= size:
        picked = list(h)
    else:
        picked = random.sample(list(h), count)
    if not withvalues:
        return picked
    if pairs:
        return [[f, h[f]] for f in picked]
    out = []
    for f in picked:
        out += (f, h[f])
    return out


# ---------------------------------------------------------------------------------------------- HSCAN
_HSCAN_OPTIONS = Options("[MATCH pattern] [COUNT count]", convert={"COUNT": count_at_least(1)})


@command("hscan", arity=-3, flags="readonly", keys=_RO_ACCESS, categories="read hash slow", group="hash",
         since="2.8.0", pure=True,
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
                    "cursor to return back to 0. N is the number of elements inside the collection..",
         summary="Incrementally iterate hash fields and associated values")
def hscan(sess, argv):
    """HSCAN key cursor [MATCH pattern] [COUNT count]: [next cursor, [field, value, ...]]. A listpack hash answers
    whole with cursor 0; a hashtable one in pages (``values.scan_page``: every field present for the whole
    iteration is returned exactly once) on a memory store, which keeps the hash and its page order between calls.
    A SQL store reads and decodes the whole row for every call, so there a page would cost as much as the whole
    hash (and the page order a sort each time): it answers everything at once with cursor 0, which SCAN's
    contract allows (COUNT is a hint)."""
    cursor = parse_scan_cursor(argv[2])
    whole = sess.store.is_async

    def fn(h):
        if h is None:
            return [b"0", []]
        opts = _HSCAN_OPTIONS.parse(argv, 3)
        if whole:
            nxt, fields = 0, list(h)
        else:
            nxt, fields = scan_page(h, cursor, opts.get("COUNT", 10))
        pattern = opts.get("MATCH")
        if pattern is not None and pattern != b"*":
            match = compile_glob(pattern)
            fields = [f for f in fields if match(f)]
        out = []
        for f in fields:
            out += (f, h[f])
        return [b"%d" % nxt, out]

    return then(sess.store.read(argv[1], HASH), fn)
