"""String commands: GET, SET and its family, MGET/MSET, APPEND, ranges, counters (SPEC §5)."""
from __future__ import annotations

from backends.base import KEEP, WrongType, now_ms

from .. import errors
from ..errors import CommandError
from ..replies import OK, Map
from .args import (INT64_MAX, INT64_MIN, add_long_double, format_long_double, parse_int, parse_long_double,
                   try_int)
from .table import ACCESS, DELETE, INSERT, RW_ACCESS_UPDATE, UPDATE, command, is_pending, ks, then

_W = ("write", "denyoom")
_WF = ("write", "denyoom", "fast")
_RF = ("readonly", "fast")
MAX_STRING = 512 * 1024 * 1024

_SET_KEYS_PLAIN = (ks(1, 0, 1, UPDATE, redis=("OW", "UPDATE")),)
_SET_KEYS_GET = (ks(1, 0, 1, ACCESS, UPDATE, redis=("RW", "access", "update", "variable_flags"),
                    notes="RW and ACCESS due to the optional `GET` argument"),)


def _set_key_flags(argv):
    """SET needs read access to its key only with the GET option (Redis' VARIABLE_FLAGS key spec)."""
    for a in argv[3:]:
        if a.upper() == b"GET":
            return _SET_KEYS_GET
    return _SET_KEYS_PLAIN


def ok_or_null(r):
    return OK if r[0] else None


def _old(r):
    return r[1]


def parse_expire_option(kind: bytes, arg: bytes, cmdname: str) -> int:
    """EX/PX/EXAT/PXAT value -> absolute ms, with Redis' checks (non-positive or overflowing → invalid expire)."""
    v = parse_int(arg)
    if v <= 0:
        raise CommandError(errors.INVALID_EXPIRE.format(cmdname))
    if kind == b"EX" or kind == b"EXAT":
        if v > INT64_MAX // 1000:
            raise CommandError(errors.INVALID_EXPIRE.format(cmdname))
        v *= 1000
    if kind == b"EX" or kind == b"PX":
        v += now_ms()
        if v > INT64_MAX:
            raise CommandError(errors.INVALID_EXPIRE.format(cmdname))
    return v


@command("GET", 2, _RF, (ks(1, 0, 1, ACCESS, redis=("RO", "ACCESS")),), ("read", "string", "fast"), "string",
         "Returns the string value of a key.", arguments=(("key", "key"),))
def get(sess, argv):
    return sess.store.get(argv[1])  # also inline in dispatch.run_requests: keep them in step


@command("SET", -3, _W, _SET_KEYS_GET, ("write", "string", "slow"), "string",
         "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
         complexity="O(1)", key_flags=_set_key_flags,
         arguments=(("key", "key"), ("value", "string"), ("condition", "oneof", "optional"),
                    ("get", "pure-token", "optional"), ("expiration", "oneof", "optional")))
def set_(sess, argv):
    if len(argv) == 3:  # also inline in dispatch.run_requests: keep them in step
        r = sess.store.set(argv[1], argv[2])
        return OK if type(r) is tuple else then(r, ok_or_null)
    cond = None
    get_old = False
    expire = None
    exp_kind = None
    exp_arg = None
    i, n = 3, len(argv)
    while i < n:
        opt = argv[i].upper()
        if opt == b"NX" and cond != "XX":
            cond = "NX"
        elif opt == b"XX" and cond != "NX":
            cond = "XX"
        elif opt == b"GET":
            get_old = True
        elif opt == b"KEEPTTL" and exp_kind in (None, b"KEEPTTL"):
            exp_kind = b"KEEPTTL"
        elif opt in (b"EX", b"PX", b"EXAT", b"PXAT") and exp_kind in (None, opt) and i + 1 < n:
            exp_kind = opt
            i += 1
            exp_arg = argv[i]
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if exp_kind == b"KEEPTTL":
        expire = KEEP
    elif exp_kind is not None:
        expire = parse_expire_option(exp_kind, exp_arg, "set")
    r = sess.store.set(argv[1], argv[2], cond, get_old, expire)
    return then(r, _old if get_old else ok_or_null)


@command("SETNX", 3, _WF, (ks(1, 0, 1, INSERT, redis=("OW", "INSERT")),), ("write", "string", "fast"), "string",
         "Set the string value of a key only when the key doesn't exist.")
def setnx(sess, argv):
    return then(sess.store.set(argv[1], argv[2], "NX"), lambda r: 1 if r[0] else 0)


def _setex(sess, argv, unit: int, name: str):
    v = parse_int(argv[2])
    if v <= 0 or v > INT64_MAX // unit:
        raise CommandError(errors.INVALID_EXPIRE.format(name))
    at = v * unit + now_ms()
    if at > INT64_MAX:
        raise CommandError(errors.INVALID_EXPIRE.format(name))
    return then(sess.store.set(argv[1], argv[3], None, False, at), ok_or_null)


@command("SETEX", 4, _W, _SET_KEYS_PLAIN, ("write", "string", "slow"), "string",
         "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
         since="2.0.0")
def setex(sess, argv):
    return _setex(sess, argv, 1000, "setex")


@command("PSETEX", 4, _W, _SET_KEYS_PLAIN, ("write", "string", "slow"), "string",
         "Sets both string value and expiration time in milliseconds of a key.", since="2.6.0")
def psetex(sess, argv):
    return _setex(sess, argv, 1, "psetex")


@command("GETSET", 3, _WF, (ks(1, 0, 1, ACCESS, UPDATE, redis=RW_ACCESS_UPDATE),), ("write", "string", "fast"),
         "string",
         "Returns the previous string value of a key after setting it to a new value.")
def getset(sess, argv):
    return then(sess.store.set(argv[1], argv[2], None, True, None), _old)


@command("GETDEL", 2, ("write", "fast"), (ks(1, 0, 1, ACCESS, DELETE, redis=("RW", "ACCESS", "DELETE")),),
         ("write", "string", "fast"), "string", "Returns the string value of a key after deleting the key.",
         since="6.2.0")
def getdel(sess, argv):
    return sess.store.getdel(argv[1])


@command("GETEX", -2, ("write", "fast"), (ks(1, 0, 1, ACCESS, UPDATE, redis=RW_ACCESS_UPDATE,
                                               notes="RW and UPDATE because it changes the TTL"),),
         ("write", "string", "fast"), "string", "Returns the string value of a key after setting its expiration time.",
         since="6.2.0")
def getex(sess, argv):
    expire = KEEP
    kind = arg = None
    i, n = 2, len(argv)
    while i < n:  # one kind of option; repeating the same one is accepted and the last value wins (as SET)
        opt = argv[i].upper()
        if opt == b"PERSIST" and kind in (None, opt):
            kind = opt
        elif opt in (b"EX", b"PX", b"EXAT", b"PXAT") and kind in (None, opt) and i + 1 < n:
            kind = opt
            i += 1
            arg = argv[i]
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if kind == b"PERSIST":
        expire = None
    elif kind is not None:
        try:
            expire = parse_expire_option(kind, arg, "getex")
        except CommandError as e:
            # Redis looks the key up before validating the time: a missing key answers null, not the error
            return then(sess.store.get(argv[1]), lambda v, e=e: _fail(e) if v is not None else None)
    return sess.store.getex(argv[1], expire)


def _fail(e: CommandError):
    raise e


@command("MGET", -2, _RF, (ks(1, -1, 1, ACCESS, redis=("RO", "ACCESS")),), ("read", "string", "fast"), "string",
         "Atomically returns the string values of one or more keys.", complexity="O(N)")
def mget(sess, argv):
    return sess.store.mget(argv[1:])


def _pairs(argv, name):
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_arity(name))
    return [(argv[i], argv[i + 1]) for i in range(1, len(argv), 2)]


@command("MSET", -3, _W, (ks(1, -1, 2, UPDATE, redis=("OW", "UPDATE")),), ("write", "string", "slow"), "string",
         "Atomically creates or modifies the string values of one or more keys.", complexity="O(N)")
def mset(sess, argv):
    return then(sess.store.mset(_pairs(argv, "mset")), lambda _: OK)


@command("MSETNX", -3, _W, (ks(1, -1, 2, INSERT, redis=("OW", "INSERT")),), ("write", "string", "slow"), "string",
         "Atomically modifies the string values of one or more keys only when all keys don't exist.",
         complexity="O(N)")
def msetnx(sess, argv):
    return then(sess.store.mset(_pairs(argv, "msetnx"), nx=True), lambda ok: 1 if ok else 0)


@command("APPEND", 3, _WF, (ks(1, 0, 1, INSERT, redis=("RW", "INSERT")),), ("write", "string", "fast"), "string",
         "Appends a string to the value of a key. Creates the key if it doesn't exist.", since="2.0.0")
def append(sess, argv):
    suffix = argv[2]

    def fn(old):
        new = suffix if old is None else old + suffix
        if len(new) > MAX_STRING:
            raise CommandError(errors.STRING_TOO_BIG)
        return new, len(new)

    return sess.store.modify(argv[1], fn)


@command("STRLEN", 2, _RF, (ks(1, 0, 1, redis=("RO",)),), ("read", "string", "fast"), "string",
         "Returns the length of a string value.", since="2.2.0")
def strlen(sess, argv):
    return then(sess.store.get(argv[1]), lambda v: 0 if v is None else len(v))


def _range(length: int, start: int, end: int):
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= length:
        end = length - 1
    return start, end


@command("GETRANGE", 4, ("readonly",), (ks(1, 0, 1, ACCESS, redis=("RO", "ACCESS")),), ("read", "string", "slow"),
         "string", "Returns a substring of the string stored at a key.", since="2.4.0", complexity="O(N)")
def getrange(sess, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])

    def fn(v):
        if v is None:
            return b""
        if start < 0 and end < 0 and start > end:
            return b""
        s, e = _range(len(v), start, end)
        if s > e or not v:
            return b""
        return v[s:e + 1]

    return then(sess.store.get(argv[1]), fn)


@command("SETRANGE", 4, _W, (ks(1, 0, 1, UPDATE, redis=("RW", "UPDATE")),), ("write", "string", "slow"), "string",
         "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
         since="2.2.0")
def setrange(sess, argv):
    offset = parse_int(argv[2])
    piece = argv[3]
    if offset < 0:
        raise CommandError(errors.OFFSET_RANGE)

    def fn(old):
        cur = old or b""
        if not piece:
            return None, len(cur)
        if offset + len(piece) > MAX_STRING:
            raise CommandError(errors.STRING_TOO_BIG)
        if len(cur) < offset:
            cur = cur + b"\0" * (offset - len(cur))
        new = cur[:offset] + piece + cur[offset + len(piece):]
        return new, len(new)

    return sess.store.modify(argv[1], fn)


def _incr(sess, key: bytes, delta: int):
    def fn(old):
        if old is None:
            cur = 0
        else:
            cur = try_int(old)
            if cur is None:
                raise CommandError(errors.NOT_INTEGER)
        new = cur + delta
        if not INT64_MIN <= new <= INT64_MAX:
            raise CommandError(errors.OVERFLOW)
        return b"%d" % new, new

    return sess.store.modify(key, fn)


_INCR_KEYS = (ks(1, 0, 1, ACCESS, UPDATE, redis=("RW", "ACCESS", "UPDATE")),)


@command("INCR", 2, _WF, _INCR_KEYS, ("write", "string", "fast"), "string",
         "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.")
def incr(sess, argv):
    return _incr(sess, argv[1], 1)


@command("DECR", 2, _WF, _INCR_KEYS, ("write", "string", "fast"), "string",
         "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.")
def decr(sess, argv):
    return _incr(sess, argv[1], -1)


@command("INCRBY", 3, _WF, _INCR_KEYS, ("write", "string", "fast"), "string",
         "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.")
def incrby(sess, argv):
    return _incr(sess, argv[1], parse_int(argv[2]))


@command("DECRBY", 3, _WF, _INCR_KEYS, ("write", "string", "fast"), "string",
         "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.")
def decrby(sess, argv):
    d = parse_int(argv[2])
    if d == INT64_MIN:
        raise CommandError(errors.DECR_OVERFLOW)
    return _incr(sess, argv[1], -d)


@command("INCRBYFLOAT", 3, _WF, _INCR_KEYS, ("write", "string", "fast"), "string",
         "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
         since="2.6.0")
def incrbyfloat(sess, argv):
    delta = parse_long_double(argv[2])

    def fn(old):
        cur = parse_long_double(old) if old is not None else 0
        new = add_long_double(cur, delta)  # emulates Redis' 80-bit long double arithmetic exactly
        if new is None:
            raise CommandError(errors.INCR_NAN)
        text = format_long_double(new)
        return text, text

    return sess.store.modify(argv[1], fn)



@command("SUBSTR", 4, ("readonly",), (ks(1, 0, 1, ACCESS, redis=("RO", "ACCESS")),), ("read", "string", "slow"),
         "string", "Returns a substring from a string value.", complexity="O(N)")
def substr(sess, argv):
    return getrange(sess, argv)


_LCS_TYPES = "ERR The specified keys must contain string values"
#: LCS is O(len(a) * len(b)) in Python on the event loop: larger inputs are refused rather than stall every client
LCS_MAX_CELLS = 4_000_000


def _lcs_get(store, key):
    try:
        r = store.get(key)
    except WrongType:
        raise CommandError(_LCS_TYPES) from None
    return _lcs_get_async(r) if is_pending(r) else r


async def _lcs_get_async(pending):
    try:
        return await pending
    except WrongType:
        raise CommandError(_LCS_TYPES) from None


@command("LCS", -3, ("readonly",), (ks(1, 2, 1, ACCESS, redis=("RO", "ACCESS")),), ("read", "string", "slow"),
         "string", "Finds the longest common substring.", since="7.0.0", complexity="O(N*M)")
def lcs(sess, argv):
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN], with Redis' table walk and range emission."""
    store = sess.store

    def with_a(a):
        return then(_lcs_get(store, argv[2]), lambda b: _lcs_reply(argv, a or b"", b or b""))

    return then(_lcs_get(store, argv[1]), with_a)


def _lcs_reply(argv, a: bytes, b: bytes):
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j, n = 3, len(argv)
    while j < n:
        opt = argv[j].upper()
        if opt == b"IDX":
            getidx = True
        elif opt == b"LEN":
            getlen = True
        elif opt == b"WITHMATCHLEN":
            withmatchlen = True
        elif opt == b"MINMATCHLEN" and j + 1 < n:
            minmatchlen = max(parse_int(argv[j + 1]), 0)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    if getidx and getlen:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) > LCS_MAX_CELLS:
        raise CommandError("ERR LCS inputs too large for respd (at most %d table cells)" % LCS_MAX_CELLS)
    # table[i][j] = LCS length of a[:i], b[:j]
    table = [[0] * (blen + 1)]
    for i in range(1, alen + 1):
        prev, row, ai = table[-1], [0] * (blen + 1), a[i - 1]
        for jj in range(1, blen + 1):
            row[jj] = prev[jj - 1] + 1 if ai == b[jj - 1] else (prev[jj] if prev[jj] > row[jj - 1] else row[jj - 1])
        table.append(row)
    total = table[alen][blen]
    if getlen:
        return total
    result = bytearray(total)
    idx = total
    matches = []
    a_start, a_end, b_start, b_end = alen, 0, 0, 0   # a_start == alen: no range open
    i, jj = alen, blen
    while i > 0 and jj > 0:
        emit = False
        if a[i - 1] == b[jj - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = jj - 1
            elif a_start == i and b_start == jj:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            jj -= 1
        else:
            if table[i - 1][jj] > table[i][jj - 1]:
                i -= 1
            else:
                jj -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if minmatchlen == 0 or match_len >= minmatchlen:
                entry = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    entry.append(match_len)
                matches.append(entry)
            a_start = alen
    if getidx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(result)
