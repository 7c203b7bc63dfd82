"""String commands: GET, SET and its family, MGET/MSET, APPEND, ranges, counters (SPEC §5)."""
from __future__ import annotations

from backends.base import KEEP, WrongType, now_ms

from .. import errors
from ..errors import CommandError
from ..replies import OK, Map
from .args import (INT64_MAX, INT64_MIN, Options, add_long_double, format_long_double, parse_int,
                   parse_long_double, try_int)
from .table import Keys, command, is_pending, then

MAX_STRING = 512 * 1024 * 1024

_SET_KEYS_PLAIN = (Keys(1, "OW update"),)
_SET_KEYS_GET = (Keys(1, "RW access update variable_flags", notes="RW and ACCESS due to the optional `GET` argument"),)
_SET_OPTIONS = Options("[cond: NX | XX] [GET] [expire: EX seconds | PX milliseconds | EXAT unix-time-seconds "
                       "| PXAT unix-time-milliseconds | KEEPTTL]")
_GETEX_OPTIONS = Options("[expire: EX seconds | PX milliseconds | EXAT unix-time-seconds "
                         "| PXAT unix-time-milliseconds | PERSIST]")


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


def parse_expire_option(kind: str, arg: bytes, cmdname: str) -> int:
    """EX/PX/EXAT/PXAT value -> absolute ms, with Redis' checks (non-positive or overflowing → invalid expire)."""
    v = parse_int(arg)
    if v <= 0:
        raise CommandError(errors.INVALID_EXPIRE.format(cmdname))
    if kind == "EX" or kind == "EXAT":
        if v > INT64_MAX // 1000:
            raise CommandError(errors.INVALID_EXPIRE.format(cmdname))
        v *= 1000
    if kind == "EX" or kind == "PX":
        v += now_ms()
        if v > INT64_MAX:
            raise CommandError(errors.INVALID_EXPIRE.format(cmdname))
    return v


@command("get", arity=2, flags="readonly fast", keys=(Keys(1, "RO access"),), categories="read string fast",
         group="string", summary="Returns the string value of a key.", arguments=(("key", "key"),), pure=True)
def get(sess, argv):
    return sess.store.get(argv[1])  # also inline in pipeline.run_requests (tests/unit/any_store_fast_path.py compares)


@command("set", arity=-3, flags="write denyoom", keys=_SET_KEYS_GET, key_flags=_set_key_flags,
         categories="write string slow", group="string", pure=True,
         summary="Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
         arguments=(("key", "key"), ("value", "string"), ("condition", "oneof", "optional"),
                    ("get", "pure-token", "optional"), ("expiration", "oneof", "optional")))
def set_(sess, argv):
    """SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time | PXAT unix-time-ms | KEEPTTL]:
    the expiry is checked after every option was read, as Redis does."""
    if len(argv) == 3:  # also inline in pipeline.run_requests (tests/unit/any_store_fast_path.py compares)
        r = sess.store.set(argv[1], argv[2])
        return OK if type(r) is tuple else then(r, ok_or_null)
    opts = _SET_OPTIONS.parse(argv, 3)
    kind = opts.get("expire")
    expire = None if kind is None else KEEP if kind == "KEEPTTL" else parse_expire_option(kind, opts[kind], "set")
    get_old = "GET" in opts
    r = sess.store.set(argv[1], argv[2], opts.get("cond"), get_old, expire)
    return then(r, _old if get_old else ok_or_null)


@command("setnx", arity=3, flags="write denyoom fast", keys=(Keys(1, "OW insert"),), categories="write string fast",
         group="string", summary="Set the string value of a key only when the key doesn't exist.", pure=True)
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


@command("setex", arity=4, flags="write denyoom", keys=_SET_KEYS_PLAIN, categories="write string slow",
         group="string", since="2.0.0", pure=True,
         summary="Sets the string value and expiration time of a key. Creates the key if it doesn't exist.")
def setex(sess, argv):
    return _setex(sess, argv, 1000, "setex")


@command("psetex", arity=4, flags="write denyoom", keys=_SET_KEYS_PLAIN, categories="write string slow",
         group="string", since="2.6.0", pure=True,
         summary="Sets both string value and expiration time in milliseconds of a key.")
def psetex(sess, argv):
    return _setex(sess, argv, 1, "psetex")


@command("getset", arity=3, flags="write denyoom fast", keys=(Keys(1, "RW access update"),),
         categories="write string fast", group="string", pure=True,
         summary="Returns the previous string value of a key after setting it to a new value.")
def getset(sess, argv):
    return then(sess.store.set(argv[1], argv[2], None, True, None), _old)


@command("getdel", arity=2, flags="write fast", keys=(Keys(1, "RW access delete"),), categories="write string fast",
         group="string", since="6.2.0", pure=True, summary="Returns the string value of a key after deleting the key.")
def getdel(sess, argv):
    return sess.store.getdel(argv[1])


@command("getex", arity=-2, flags="write fast",
         keys=(Keys(1, "RW access update", notes="RW and UPDATE because it changes the TTL"),),
         categories="write string fast", group="string", since="6.2.0", pure=True,
         summary="Returns the string value of a key after setting its expiration time.")
def getex(sess, argv):
    opts = _GETEX_OPTIONS.parse(argv, 2)
    kind = opts.get("expire")
    expire = KEEP
    if kind == "PERSIST":
        expire = None
    elif kind is not None:
        try:
            expire = parse_expire_option(kind, opts[kind], "getex")
        except CommandError as e:
            # Redis looks the key up before validating the time: a missing key answers null, not the error
            return then(sess.store.get(argv[1]), lambda v, e=e: _fail(e) if v is not None else None)
    return sess.store.getex(argv[1], expire)


def _fail(e: CommandError):
    raise e


@command("mget", arity=-2, flags="readonly fast", keys=(Keys(1, "RO access", last=-1),), categories="read string fast",
         group="string", complexity="O(N)", pure=True,
         summary="Atomically returns the string values of one or more keys.")
def mget(sess, argv):
    return sess.store.mget(argv[1:])


def _pairs(argv, name):
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_arity(name))
    return [(argv[i], argv[i + 1]) for i in range(1, len(argv), 2)]


@command("mset", arity=-3, flags="write denyoom", keys=(Keys(1, "OW update", last=-1, step=2),),
         categories="write string slow", group="string", complexity="O(N)", pure=True,
         summary="Atomically creates or modifies the string values of one or more keys.")
def mset(sess, argv):
    return then(sess.store.mset(_pairs(argv, "mset")), lambda _: OK)


@command("msetnx", arity=-3, flags="write denyoom", keys=(Keys(1, "OW insert", last=-1, step=2),),
         categories="write string slow", group="string", complexity="O(N)", pure=True,
         summary="Atomically modifies the string values of one or more keys only when all keys don't exist.")
def msetnx(sess, argv):
    return then(sess.store.mset(_pairs(argv, "msetnx"), nx=True), lambda ok: 1 if ok else 0)


@command("append", arity=3, flags="write denyoom fast", keys=(Keys(1, "RW insert"),), categories="write string fast",
         group="string", since="2.0.0", pure=True,
         summary="Appends a string to the value of a key. Creates the key if it doesn't exist.")
def append(sess, argv):
    suffix = argv[2]

    def fn(old):
        new = suffix if old is None else old + suffix
        if len(new) > MAX_STRING:
            raise CommandError(errors.STRING_TOO_BIG)
        return new, len(new)

    return sess.store.modify(argv[1], fn)


@command("strlen", arity=2, flags="readonly fast", keys=(Keys(1, "RO"),), categories="read string fast",
         group="string", since="2.2.0", pure=True, summary="Returns the length of a string value.")
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


@command("getrange", arity=4, flags="readonly", keys=(Keys(1, "RO access"),), categories="read string slow",
         group="string", since="2.4.0", complexity="O(N)", pure=True,
         summary="Returns a substring of the string stored at a key.")
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


@command("setrange", arity=4, flags="write denyoom", keys=(Keys(1, "RW update"),), categories="write string slow",
         group="string", since="2.2.0", pure=True,
         summary="Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.")
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


_INCR_KEYS = (Keys(1, "RW access update"),)


@command("incr", arity=2, flags="write denyoom fast", keys=_INCR_KEYS, categories="write string fast", group="string",
         pure=True,
         summary="Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.")
def incr(sess, argv):
    return _incr(sess, argv[1], 1)


@command("decr", arity=2, flags="write denyoom fast", keys=_INCR_KEYS, categories="write string fast", group="string",
         pure=True,
         summary="Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.")
def decr(sess, argv):
    return _incr(sess, argv[1], -1)


@command("incrby", arity=3, flags="write denyoom fast", keys=_INCR_KEYS, categories="write string fast", group="string",
         pure=True,
         summary="Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.")
def incrby(sess, argv):
    return _incr(sess, argv[1], parse_int(argv[2]))


@command("decrby", arity=3, flags="write denyoom fast", keys=_INCR_KEYS, categories="write string fast", group="string",
         pure=True,
         summary="Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't "
                 "exist.")
def decrby(sess, argv):
    d = parse_int(argv[2])
    if d == INT64_MIN:
        raise CommandError(errors.DECR_OVERFLOW)
    return _incr(sess, argv[1], -d)


@command("incrbyfloat", arity=3, flags="write denyoom fast", keys=_INCR_KEYS, categories="write string fast",
         group="string", since="2.6.0", pure=True,
         summary="Increment the floating point value of a key by a number. Uses 0 as initial value if the key "
                 "doesn't exist.")
def incrbyfloat(sess, argv):
    """Redis checks the key's type, then the stored value, then the increment: WRONGTYPE comes before a bad
    increment."""
    def fn(old):
        cur = parse_long_double(old) if old is not None else 0
        delta = parse_long_double(argv[2])
        new = add_long_double(cur, delta)  # emulates Redis' 80-bit long double arithmetic exactly
        if new is None:
            raise CommandError(errors.INCR_NAN)
        text = format_long_double(new)
        return text, text

    return sess.store.modify(argv[1], fn)


@command("substr", arity=4, flags="readonly", keys=(Keys(1, "RO access"),), categories="read string slow",
         group="string", complexity="O(N)", pure=True, summary="Returns a substring from a string value.")
def substr(sess, argv):
    return getrange(sess, argv)


#: LCS is O(len(a) * len(b)) in Python on the event loop: larger inputs are refused rather than stall every client
LCS_MAX_CELLS = 4_000_000
_LCS_OPTIONS = Options("[LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]",
                       convert={"MINMATCHLEN": lambda arg: max(parse_int(arg), 0)})


def _lcs_get(store, key):
    try:
        r = store.get(key)
    except WrongType:
        raise CommandError(errors.LCS_TYPES) from None
    return _lcs_get_async(r) if is_pending(r) else r


async def _lcs_get_async(pending):
    try:
        return await pending
    except WrongType:
        raise CommandError(errors.LCS_TYPES) from None


@command("lcs", arity=-3, flags="readonly", keys=(Keys(1, "RO access", last=2),), categories="read string slow",
         group="string", since="7.0.0", complexity="O(N*M)", pure=True, summary="Finds the longest common substring.")
def lcs(sess, argv):
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN], with Redis' table walk and range emission."""
    store = sess.store

    def with_a(a):
        return then(_lcs_get(store, argv[2]), lambda b: _lcs_reply(argv, a or b"", b or b""))

    return then(_lcs_get(store, argv[1]), with_a)


def _lcs_reply(argv, a: bytes, b: bytes):
    opts = _LCS_OPTIONS.parse(argv, 3)
    getlen, getidx, withmatchlen = "LEN" in opts, "IDX" in opts, "WITHMATCHLEN" in opts
    minmatchlen = opts.get("MINMATCHLEN", 0)
    if getidx and getlen:
        raise CommandError(errors.LCS_LEN_AND_IDX)
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) > LCS_MAX_CELLS:
        raise CommandError(errors.LCS_TOO_LARGE % LCS_MAX_CELLS)
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
