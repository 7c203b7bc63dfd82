"""Table-driven command cases: scenario name → steps of (command, expected reply bytes).

Each scenario runs on a fresh keyspace. A step is ``(cmd, expected)`` where ``cmd`` is a string split shell-style or
an argv list (for binary/empty arguments), optionally prefixed ``"@2 "`` to run on a second connection, and
``expected`` is the exact reply bytes or an ``re.Pattern`` the bytes must fully match. ``Advance(ms)`` moves the
fake clock (unit tests only).

* ``CASES`` hold only Redis behaviour without clock dependence: ``tests/unit/test_commands.py`` runs them through
  ``dispatch.execute`` on memory stores (``tests/sql/test_commands_on_sql.py`` on SQL stores), and
  ``tests/differential/test_tables_vs_redis.py`` runs the same steps on a real redis-server, which proves every
  expected byte string is what Redis 7.0.15 sends.
* ``CLOCK_CASES`` use ``Advance`` or exact TTL values (fake clock); unit tests only.
* ``run_case`` runs one scenario through the ``call`` fixture; ``SQL_DIFFERENCES`` names the cases a SQL store
  knowingly answers differently.
"""
from __future__ import annotations

import re

from tests.unit.hash_command_cases import HASHES
from tests.unit.list_command_cases import LISTS
from tests.unit.scripting_command_cases import SCRIPTING
from tests.unit.set_command_cases import SETS
from tests.unit.zset_command_cases import ZSETS


class Advance:
    """Move the fake clock forward by ``ms`` milliseconds."""

    def __init__(self, ms: int):
        self.ms = ms

    def __repr__(self):
        return "Advance(%d)" % self.ms


OK = b"+OK\r\n"
NULL = b"$-1\r\n"
NULL3 = b"_\r\n"
QUEUED = b"+QUEUED\r\n"
EMPTY = b"$0\r\n\r\n"


def i(n: int) -> bytes:
    return b":%d\r\n" % n


def bulk(s) -> bytes:
    if isinstance(s, str):
        s = s.encode()
    return b"$%d\r\n%s\r\n" % (len(s), s)


def err(text: str) -> bytes:
    return b"-" + text.encode() + b"\r\n"


def arr(*items: bytes) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(items)


def simple(s: str) -> bytes:
    return b"+" + s.encode() + b"\r\n"


SYNTAX = err("ERR syntax error")
NOT_INT = err("ERR value is not an integer or out of range")
NOT_FLOAT = err("ERR value is not a valid float")
OVERFLOW = err("ERR increment or decrement would overflow")


def arity(name: str) -> bytes:
    return err("ERR wrong number of arguments for '%s' command" % name)


def invalid_expire(name: str) -> bytes:
    return err("ERR invalid expire time in '%s' command" % name)


_HELLO2 = re.compile(rb"\*14\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$6\r\n7\.0\.15\r\n"
                     rb"\$5\r\nproto\r\n:2\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n"
                     rb"\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n")
_HELLO3 = re.compile(rb"%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$6\r\n7\.0\.15\r\n"
                     rb"\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n"
                     rb"\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n")


# ------------------------------------------------------------------------------------------------ strings
STRINGS = {
    "get-missing": [("GET k", NULL)],
    "get-arity": [("GET", arity("get")), ("GET a b", arity("get"))],
    "set-get": [("SET k v", OK), ("GET k", bulk("v"))],
    "set-binary-and-empty": [(["SET", b"k\x00\xff", b"\r\n\x00"], OK), (["GET", b"k\x00\xff"], bulk(b"\r\n\x00")),
                             (["SET", "e", ""], OK), ("GET e", EMPTY), ("STRLEN e", i(0)), ("EXISTS e", i(1))],
    "set-arity": [("SET k", arity("set")), ("SET", arity("set"))],
    "set-nx-xx": [("SET k v XX", NULL), ("EXISTS k", i(0)), ("SET k v NX", OK), ("SET k w NX", NULL),
                  ("GET k", bulk("v")), ("SET k w XX", OK), ("GET k", bulk("w"))],
    "set-options-case-insensitive": [("SET k v nx", OK), ("SET k w xX", OK), ("GET k", bulk("w")),
                                     ("SET k x ex 100", OK), ("TTL k", i(100))],
    "set-get-option": [("SET k v GET", NULL), ("SET k w GET", bulk("v")), ("GET k", bulk("w"))],
    "set-nx-get": [("SET k v", OK), ("SET k w NX GET", bulk("v")), ("GET k", bulk("v")),
                   ("SET n w NX GET", NULL), ("GET n", bulk("w"))],
    "set-xx-get": [("SET k v XX GET", NULL), ("EXISTS k", i(0)), ("SET k v", OK), ("SET k w XX GET", bulk("v")),
                   ("GET k", bulk("w"))],
    "set-conflicts": [("SET k v NX XX", SYNTAX), ("SET k v XX NX", SYNTAX), ("SET k v EX 10 PX 100", SYNTAX),
                      ("SET k v EX 10 KEEPTTL", SYNTAX), ("SET k v KEEPTTL EX 10", SYNTAX),
                      ("SET k v PXAT 10 EXAT 10", SYNTAX), ("SET k v EX", SYNTAX), ("SET k v FOO", SYNTAX),
                      ("SET k v EX 10 NX XX", SYNTAX), ("EXISTS k", i(0))],
    "set-syntax-before-value": [("SET k v EX abc PX 1", SYNTAX), ("SET k v EX abc", NOT_INT),
                                ("SET k v EX 1.5", NOT_INT), ("SET k v PX 01", NOT_INT), ("SET k v EX +1", NOT_INT)],
    "set-invalid-expire": [("SET k v EX 0", invalid_expire("set")), ("SET k v EX -1", invalid_expire("set")),
                           ("SET k v PX 0", invalid_expire("set")), ("SET k v EXAT 0", invalid_expire("set")),
                           ("SET k v EX 9223372036854775807", invalid_expire("set")),
                           ("SET k v EX 9223372036854775", invalid_expire("set")), ("EXISTS k", i(0))],
    "set-huge-absolute-accepted": [("SET k v EXAT 9223372036854775", OK), ("EXISTS k", i(1)),
                                   ("SET j v PXAT 9223372036854775807", OK), ("EXISTS j", i(1))],
    "set-past-absolute-deletes": [("SET k v", OK), ("SET k w EXAT 1", OK), ("GET k", NULL), ("EXISTS k", i(0)),
                                  ("SET k w PXAT 1 GET", NULL)],
    "set-repeated-option-last-wins": [("SET k v EX 10 EX 20", OK), ("TTL k", i(20)), ("SET k v NX NX", NULL),
                                      ("SET j v GET GET", NULL)],
    "set-clears-ttl": [("SET k v EX 100", OK), ("SET k w", OK), ("TTL k", i(-1))],
    "set-keepttl": [("SET k v EX 100", OK), ("SET k w KEEPTTL", OK), ("TTL k", i(100)), ("GET k", bulk("w")),
                    ("SET n v KEEPTTL", OK), ("TTL n", i(-1))],
    "setnx": [("SETNX k v", i(1)), ("SETNX k w", i(0)), ("GET k", bulk("v")), ("SETNX k", arity("setnx"))],
    "setex": [("SETEX k 100 v", OK), ("TTL k", i(100)), ("GET k", bulk("v")),
              ("SETEX k 0 v", invalid_expire("setex")), ("SETEX k -5 v", invalid_expire("setex")),
              ("SETEX k x v", NOT_INT), ("SETEX k 10", arity("setex"))],
    "psetex": [("PSETEX k 100000 v", OK), ("TTL k", i(100)), ("PSETEX k 0 v", invalid_expire("psetex")),
               ("PSETEX k abc v", NOT_INT)],
    "getset": [("GETSET k v", NULL), ("GETSET k w", bulk("v")), ("GET k", bulk("w")),
               ("SET t v EX 100", OK), ("GETSET t x", bulk("v")), ("TTL t", i(-1)), ("GETSET k", arity("getset"))],
    "getdel": [("GETDEL k", NULL), ("SET k v", OK), ("GETDEL k", bulk("v")), ("EXISTS k", i(0)),
               ("GETDEL", arity("getdel"))],
    "getex-basic": [("GETEX k", NULL), ("GETEX k EX 10", NULL), ("EXISTS k", i(0)), ("SET k v", OK),
                    ("GETEX k", bulk("v")), ("TTL k", i(-1)), ("GETEX k EX 100", bulk("v")), ("TTL k", i(100)),
                    ("GETEX k PERSIST", bulk("v")), ("TTL k", i(-1)), ("GETEX k PX 50000", bulk("v")),
                    ("TTL k", i(50))],
    "getex-errors": [("SET k v", OK), ("GETEX k KEEPTTL", SYNTAX), ("GETEX k EX 10 PX 10", SYNTAX),
                     ("GETEX k FOO", SYNTAX), ("GETEX k EX", SYNTAX), ("GETEX k EX 0", invalid_expire("getex")),
                     ("GETEX k EX x", NOT_INT), ("GETEX k PERSIST EX 10", SYNTAX), ("TTL k", i(-1))],
    "getex-missing-key-before-expire-validation": [("GETEX k EX 0", NULL), ("GETEX k PX x", NULL),
                                                   ("GETEX k EX 9223372036854775807", NULL),
                                                   ("GETEX k EX 0 PX 1", SYNTAX), ("SET k v", OK),
                                                   ("GETEX k EX 0", invalid_expire("getex")),
                                                   ("GETEX k PX x", NOT_INT)],
    "getex-repeated-option": [("SET k v", OK), ("GETEX k EX 10 EX 20", bulk("v")), ("TTL k", i(20)),
                              ("GETEX k PERSIST PERSIST", bulk("v")), ("TTL k", i(-1)),
                              ("GETEX k EX 10 PX 10", SYNTAX), ("GETEX k EX 10 EX", SYNTAX)],
    "getex-past-deletes": [("SET k v", OK), ("GETEX k EXAT 1", bulk("v")), ("EXISTS k", i(0))],
    "mget": [("MSET a 1 b 2", OK), ("MGET a x b", arr(bulk("1"), NULL, bulk("2"))), ("MGET", arity("mget"))],
    "mset": [("MSET a 1 a 2", OK), ("GET a", bulk("2")), ("MSET a 1 b", arity("mset")), ("MSET", arity("mset")),
             ("SET t v EX 100", OK), ("MSET t w", OK), ("TTL t", i(-1))],
    "msetnx": [("MSETNX a 1 b 2", i(1)), ("MSETNX b 3 c 4", i(0)), ("EXISTS c", i(0)), ("GET b", bulk("2")),
               ("MSETNX a", arity("msetnx")), ("MSETNX a 1 b", arity("msetnx"))],
    "append": [("APPEND k ab", i(2)), ("APPEND k cd", i(4)), ("GET k", bulk("abcd")), ("APPEND k", arity("append")),
               ("SET t v EX 100", OK), ("APPEND t w", i(2)), ("TTL t", i(100)), (["APPEND", "e", ""], i(0)),
               ("EXISTS e", i(1))],
    "strlen": [("STRLEN k", i(0)), ("SET k hello", OK), ("STRLEN k", i(5)), ("STRLEN", arity("strlen"))],
    "lcs": [("MSET key1 ohmytext key2 mynewtext", OK), ("LCS key1 key2", bulk("mytext")), ("LCS key1 key2 LEN", b":6\r\n"),
            ("LCS key1 key2 IDX", b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
                                  b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"),
            ("LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
             b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"),
            ("LCS key1 nokey", EMPTY), ("LCS key1 key2 IDX LEN",
                                       b"-ERR If you want both the length and indexes, please just use IDX.\r\n"),
            ("LCS key1 key2 FOO", b"-ERR syntax error\r\n"), ("LCS key1", arity("lcs")),
            ("SUBSTR key1 2 3", bulk("my"))],
    "getrange": [("SET k Hello", OK), ("GETRANGE k 0 3", bulk("Hell")), ("GETRANGE k -3 -1", bulk("llo")),
                 ("GETRANGE k 0 -1", bulk("Hello")), ("GETRANGE k 10 100", EMPTY), ("GETRANGE k 3 1", EMPTY),
                 ("GETRANGE k -100 1", bulk("He")), ("GETRANGE k 0 100", bulk("Hello")), ("GETRANGE k -1 -3", EMPTY),
                 ("GETRANGE x 0 -1", EMPTY), ("GETRANGE k a 1", NOT_INT), ("GETRANGE k 0", arity("getrange"))],
    "setrange": [("SETRANGE k 3 abc", i(6)), (["GET", "k"], bulk(b"\x00\x00\x00abc")), ("SETRANGE k 1 X", i(6)),
                 (["GET", "k"], bulk(b"\x00X\x00abc")), ("SETRANGE k -1 x", err("ERR offset is out of range")),
                 (["SETRANGE", "n", "5", ""], i(0)), ("EXISTS n", i(0)), (["SETRANGE", "k", "100", ""], i(6)),
                 ("SETRANGE k x y", NOT_INT), ("SETRANGE k 536870912 x",
                                                err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")),
                 ("SETRANGE k 1", arity("setrange"))],
    "incr-family": [("INCR c", i(1)), ("INCR c", i(2)), ("DECR c", i(1)), ("INCRBY c 10", i(11)),
                    ("DECRBY c 20", i(-9)), ("GET c", bulk("-9")), ("INCRBY c -1", i(-10)), ("INCR", arity("incr")),
                    ("INCRBY c", arity("incrby"))],
    "incr-not-integer": [("SET k abc", OK), ("INCR k", NOT_INT), ("SET k 1.5", OK), ("INCR k", NOT_INT),
                         ("SET k ' 1'", OK), ("INCR k", NOT_INT), ("SET k 01", OK), ("INCR k", NOT_INT),
                         ("SET k +1", OK), ("INCR k", NOT_INT), (["SET", "k", ""], OK), ("INCR k", NOT_INT),
                         ("SET k 00", OK), ("INCR k", NOT_INT), ("SET k -01", OK), ("INCR k", NOT_INT),
                         ("INCRBY x 1.0", NOT_INT), ("INCRBY x 0x1", NOT_INT), ("INCRBY x 1e3", NOT_INT),
                         ("INCRBY x -0", NOT_INT), ("INCRBY x 9223372036854775808", NOT_INT), ("EXISTS x", i(0))],
    "incr-canonical-values": [("SET k 0", OK), ("INCR k", i(1)), ("SET k 999999999999999999", OK),
                              ("INCR k", i(10**18)), ("SET k 1000000000000000000", OK), ("INCR k", i(10**18 + 1)),
                              ("SET k -5", OK), ("INCR k", i(-4)), ("SET k 12", OK), ("INCRBY k 30", i(42))],
    "incr-overflow": [("SET k 9223372036854775807", OK), ("INCR k", OVERFLOW), ("GET k", bulk("9223372036854775807")),
                      ("SET m -9223372036854775808", OK), ("DECR m", OVERFLOW),
                      ("DECRBY m -9223372036854775808", err("ERR decrement would overflow")),
                      ("INCRBY m 9223372036854775807", i(-1))],
    "incr-keeps-ttl": [("SET c 1 EX 100", OK), ("INCR c", i(2)), ("TTL c", i(100))],
    "incrbyfloat": [("INCRBYFLOAT f 1.5", bulk("1.5")), ("INCRBYFLOAT f 2.6", bulk("4.1")),
                    ("INCRBYFLOAT g 0.1", bulk("0.1")), ("INCRBYFLOAT g 0.2", bulk("0.3")),
                    ("INCRBYFLOAT h 1e20", bulk("100000000000000000000")), ("INCRBYFLOAT i 1e-5", bulk("0.00001")),
                    ("INCRBYFLOAT j 0x10", bulk("16")), ("INCRBYFLOAT j -18.5", bulk("-2.5")),
                    ("SET n 3", OK), ("INCRBYFLOAT n 2", bulk("5")), ("INCRBYFLOAT n 1.0", bulk("6"))],
    "incrbyfloat-long-double": [("SET a 9223372036854775807", OK), ("INCRBYFLOAT a 1", bulk("9223372036854775808")),
                                ("SET b 9223372036854775807", OK), ("INCRBYFLOAT b 0.5",
                                                                    bulk("9223372036854775807.5")),
                                ("INCRBYFLOAT c 1.23456789012345678", bulk("1.23456789012345678")),
                                ("INCRBYFLOAT d 1e-20", bulk("0")), ("INCRBYFLOAT e 0.1", bulk("0.1")),
                                ("INCRBYFLOAT e 1e30", bulk("1000000000000000000024696061952")),
                                ("SET f 10", OK), ("INCRBYFLOAT f -10.1", bulk("-0.1")),
                                ("INCRBYFLOAT g 1e308", re.compile(rb"\$308\r\n99999999999999999996685879\d{282}\r\n")),
                                ("INCRBYFLOAT g 1e308", re.compile(rb"\$309\r\n19999999999999999999337\d{286}\r\n")),
                                ("INCRBYFLOAT h 1e-5000", NOT_FLOAT), ("INCRBYFLOAT h 1e5000", NOT_FLOAT),
                                ("INCRBYFLOAT h 0x1p3", bulk("8")), ("INCRBYFLOAT h -inf",
                                                                     err("ERR increment would produce NaN or "
                                                                         "Infinity")),
                                ("INCRBYFLOAT i 1e4932", re.compile(rb"\$4933\r\n1000000000000000000006\d+\r\n")),
                                ("INCRBYFLOAT i 1e4932", err("ERR increment would produce NaN or Infinity"))],
    "incrbyfloat-errors": [("INCRBYFLOAT f abc", NOT_FLOAT), ("INCRBYFLOAT f nan", NOT_FLOAT),
                           ("INCRBYFLOAT f '1 '", NOT_FLOAT), ("INCRBYFLOAT f 1,5", NOT_FLOAT),
                           (["INCRBYFLOAT", "f", ""], NOT_FLOAT),
                           ("INCRBYFLOAT f inf", err("ERR increment would produce NaN or Infinity")),
                           ("SET s abc", OK), ("INCRBYFLOAT s 1", NOT_FLOAT), ("EXISTS f", i(0)),
                           ("INCRBYFLOAT f", arity("incrbyfloat"))],
}

# ------------------------------------------------------------------------------------------------ keyspace
KEYSPACE = {
    "exists-counts-duplicates": [("MSET a 1 b 2", OK), ("EXISTS a a a", i(3)), ("EXISTS a b x", i(2)),
                                 ("EXISTS", arity("exists"))],
    "del-unlink": [("MSET a 1 b 2 c 3", OK), ("DEL a a x", i(1)), ("UNLINK b c c", i(2)), ("DBSIZE", i(0)),
                   ("DEL", arity("del")), ("UNLINK", arity("unlink"))],
    "touch": [("SET a 1", OK), ("TOUCH a a b", i(2))],
    "ttl-states": [("TTL k", i(-2)), ("PTTL k", i(-2)), ("SET k v", OK), ("TTL k", i(-1)), ("PTTL k", i(-1)),
                   ("EXPIRETIME k", i(-1)), ("PEXPIRETIME k", i(-1)), ("EXPIRETIME x", i(-2)),
                   ("PEXPIRETIME x", i(-2)), ("TTL", arity("ttl"))],
    "expire-basic": [("EXPIRE k 100", i(0)), ("SET k v", OK), ("EXPIRE k 100", i(1)), ("TTL k", i(100)),
                     ("PEXPIRE k 50000", i(1)), ("TTL k", i(50)), ("PERSIST k", i(1)), ("PERSIST k", i(0)),
                     ("TTL k", i(-1)), ("PERSIST x", i(0))],
    "expire-non-positive-deletes": [("SET k v", OK), ("EXPIRE k 0", i(1)), ("EXISTS k", i(0)), ("SET k v", OK),
                                    ("PEXPIRE k -10", i(1)), ("EXISTS k", i(0)), ("SET k v", OK),
                                    ("EXPIREAT k 1", i(1)), ("EXISTS k", i(0)), ("SET k v", OK),
                                    ("PEXPIREAT k 1", i(1)), ("GET k", NULL)],
    "expire-conditions": [("SET k v", OK), ("EXPIRE k 100 XX", i(0)), ("EXPIRE k 100 GT", i(0)),
                          ("EXPIRE k 100 NX", i(1)), ("EXPIRE k 200 NX", i(0)), ("EXPIRE k 50 GT", i(0)),
                          ("EXPIRE k 200 GT", i(1)), ("TTL k", i(200)), ("EXPIRE k 300 LT", i(0)),
                          ("EXPIRE k 100 LT", i(1)), ("TTL k", i(100)), ("EXPIRE k 150 XX", i(1)),
                          ("TTL k", i(150)), ("SET p v", OK), ("EXPIRE p 100 LT", i(1)), ("TTL p", i(100)),
                          ("SET q v", OK), ("EXPIRE q 100 XX LT", i(0)), ("EXPIRE q 100 XX GT", i(0)),
                          ("EXPIRE q 100 nx", i(1))],
    "expire-errors": [("SET k v", OK), ("EXPIRE k 10 NX XX", err("ERR NX and XX, GT or LT options at the same time "
                                                                 "are not compatible")),
                      ("EXPIRE k 10 NX GT", err("ERR NX and XX, GT or LT options at the same time are not "
                                                "compatible")),
                      ("EXPIRE k 10 GT LT", err("ERR GT and LT options at the same time are not compatible")),
                      ("EXPIRE k 10 FOO", err("ERR Unsupported option FOO")), ("EXPIRE k abc", NOT_INT),
                      ("EXPIRE k 1.5", NOT_INT), ("EXPIRE k", arity("expire")),
                      ("EXPIRE k abc NX XX", err("ERR NX and XX, GT or LT options at the same time are not "
                                                 "compatible")),
                      ("EXPIRE k abc FOO", err("ERR Unsupported option FOO")),
                      ("PEXPIREAT k abc GT LT", err("ERR GT and LT options at the same time are not compatible")),
                      ("EXPIRE k 9223372036854775807", invalid_expire("expire")),
                      ("PEXPIRE k 9223372036854775807", invalid_expire("pexpire")),
                      ("EXPIREAT k 9223372036854775807", invalid_expire("expireat")), ("TTL k", i(-1))],
    "type": [("TYPE k", simple("none")), ("SET k v", OK), ("TYPE k", simple("string")), ("TYPE", arity("type"))],
    "rename": [("RENAME a b", err("ERR no such key")), ("SET a 1 EX 100", OK), ("RENAME a b", OK),
               ("EXISTS a", i(0)), ("GET b", bulk("1")), ("TTL b", i(100)), ("RENAME b b", OK), ("GET b", bulk("1")),
               ("SET c 2", OK), ("RENAME c b", OK), ("GET b", bulk("2")), ("TTL b", i(-1)),
               ("RENAME a", arity("rename"))],
    "renamenx": [("RENAMENX a b", err("ERR no such key")), ("MSET a 1 b 2", OK), ("RENAMENX a b", i(0)),
                 ("RENAMENX a a", i(0)), ("RENAMENX a c", i(1)), ("GET c", bulk("1")), ("EXISTS a", i(0))],
    "keys-basic": [("MSET hello 1 hallo 2 hxllo 3 world 4", OK), ("KEYS w*", arr(bulk("world"))),
                   ("KEYS h?llo", re.compile(rb"\*3\r\n(\$5\r\nh[aex]llo\r\n){3}")), ("KEYS nothing", b"*0\r\n"),
                   ("KEYS", arity("keys"))],
    "dbsize-flushdb": [("DBSIZE", i(0)), ("MSET a 1 b 2", OK), ("DBSIZE", i(2)), ("FLUSHDB", OK), ("DBSIZE", i(0)),
                       ("SET a 1", OK), ("FLUSHDB ASYNC", OK), ("FLUSHDB sync", OK), ("FLUSHDB FOO", SYNTAX),
                       ("FLUSHDB SYNC ASYNC", SYNTAX), ("FLUSHALL FOO", SYNTAX), ("DBSIZE x", arity("dbsize"))],
    "flushall-all-dbs": [("SET a 1", OK), ("SELECT 1", OK), ("SET b 1", OK), ("FLUSHALL", OK), ("DBSIZE", i(0)),
                         ("SELECT 0", OK), ("DBSIZE", i(0))],
    "flushdb-only-current": [("SET a 1", OK), ("SELECT 1", OK), ("SET b 1", OK), ("FLUSHDB", OK),
                             ("SELECT 0", OK), ("DBSIZE", i(1))],
    "copy": [("SET a 1 EX 100", OK), ("COPY a b", i(1)), ("GET b", bulk("1")), ("TTL b", i(100)),
             ("COPY a b", i(0)), ("SET a 2", OK), ("COPY a b REPLACE", i(1)), ("GET b", bulk("2")),
             ("COPY x y", i(0)), ("COPY a a", err("ERR source and destination objects are the same")),
             ("COPY a b FOO", SYNTAX), ("COPY a", arity("copy"))],
    "copy-resp3-integers": [("HELLO 3", _HELLO3), ("SET a 1", OK), ("COPY a b", i(1)), ("COPY a b", i(0)),
                            ("COPY a c DB 1", i(1)), ("MOVE a 2", i(1)), ("RENAMENX b c", i(1)),
                            ("EXPIRE c 100", i(1)), ("PERSIST c", i(1)), ("SETNX c 1", i(0)),
                            ("MSETNX c 1", i(0)), ("EXISTS c", i(1))],
    "copy-db": [("SET a 1", OK), ("COPY a a DB 1", i(1)), ("SELECT 1", OK), ("GET a", bulk("1")), ("SELECT 0", OK),
                ("COPY a a DB 0", err("ERR source and destination objects are the same")),
                ("COPY a b DB 99", err("ERR DB index is out of range")), ("COPY a b DB x", NOT_INT),
                ("COPY a b DB", SYNTAX)],
    "move": [("SET a 1", OK), ("MOVE a 1", i(1)), ("EXISTS a", i(0)), ("MOVE a 1", i(0)), ("SELECT 1", OK),
             ("GET a", bulk("1")), ("SET b 2", OK), ("SELECT 0", OK), ("SET b 3", OK), ("MOVE b 1", i(0)),
             ("GET b", bulk("3")), ("MOVE b 0", err("ERR source and destination objects are the same")),
             ("MOVE b 99", err("ERR DB index is out of range")), ("MOVE b x", NOT_INT), ("MOVE b", arity("move"))],
    "scan-small": [("MSET a 1 b 2", OK), ("SCAN 0 MATCH a", arr(bulk("0"), arr(bulk("a")))),
                   ("SCAN 0 MATCH a COUNT 100", arr(bulk("0"), arr(bulk("a")))),
                   ("SCAN 0 TYPE list", arr(bulk("0"), b"*0\r\n")), ("SCAN 0 TYPE nosuch", arr(bulk("0"), b"*0\r\n")),
                   ("SCAN 0 TYPE string MATCH b", arr(bulk("0"), arr(bulk("b"))))],
    "scan-errors": [("SCAN x", err("ERR invalid cursor")), ("SCAN 1.5", err("ERR invalid cursor")),
                    ("SCAN 18446744073709551616", err("ERR invalid cursor")), ("SCAN 0 COUNT 0", SYNTAX),
                    ("SCAN 0 COUNT x", NOT_INT), ("SCAN 0 MATCH", SYNTAX), ("SCAN 0 FOO bar", SYNTAX),
                    ("SCAN", arity("scan"))],
    "scan-minus-one-cursor": [("SCAN -1", re.compile(rb"\*2\r\n\$\d+\r\n\d+\r\n\*0\r\n"))],
    # Redis reads a cursor with strtoul: leading zeros, a sign, the empty string and negatives down to -(2^64-1)
    # are cursors (respd answered "invalid cursor" to these)
    "scan-cursor-forms": [(["SCAN", c], arr(bulk("0"), arr())) for c in ("007", "+0", "", "-18446744073709551615")]
                         + [(["SCAN", c], err("ERR invalid cursor")) for c in ("-18446744073709551616", " 1", "1 ")],
}

# ------------------------------------------------------------------------------------------------ connection
CONNECTION = {
    "ping-echo": [("PING", simple("PONG")), ("PING hi", bulk("hi")), ("ping", simple("PONG")),
                  ("PiNg", simple("PONG")), ("PING a b", arity("ping")), ("ECHO x", bulk("x")),
                  (["ECHO", ""], EMPTY), ("ECHO", arity("echo")), ("ECHO a b", arity("echo"))],
    "unknown-command": [("FOO", err("ERR unknown command 'FOO', with args beginning with: ")),
                        ("foo a b", err("ERR unknown command 'foo', with args beginning with: 'a' 'b' ")),
                        (["NOPE", "x" * 200], err("ERR unknown command 'NOPE', with args beginning with: '%s' "
                                                  % ("x" * 128))),
                        (["NOPE", "a\r\nb"], err("ERR unknown command 'NOPE', with args beginning with: 'a  b' "))],
    "unknown-subcommand": [("CLIENT FOO", err("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")),
                           ("CONFIG foo", err("ERR unknown subcommand 'foo'. Try CONFIG HELP.")),
                           ("COMMAND FOO", err("ERR unknown subcommand 'FOO'. Try COMMAND HELP.")),
                           ("CLIENT", arity("client")),
                           ("CLIENT SETNAME", arity("client|setname")),
                           ("CONFIG GET", arity("config|get"))],
    "select": [("SELECT 1", OK), ("SET a 1", OK), ("SELECT 0", OK), ("EXISTS a", i(0)), ("SELECT 1", OK),
               ("GET a", bulk("1")), ("SELECT 16", err("ERR DB index is out of range")),
               ("SELECT -1", err("ERR DB index is out of range")), ("SELECT abc", NOT_INT), ("SELECT 01", NOT_INT),
               ("SELECT", arity("select")), ("GET a", bulk("1"))],
    "select-per-connection": [("SELECT 1", OK), ("SET a 1", OK), ("@2 GET a", NULL), ("@2 SELECT 1", OK),
                              ("@2 GET a", bulk("1"))],
    "hello": [("HELLO", _HELLO2), ("HELLO 2", _HELLO2), ("HELLO 3", _HELLO3), ("HELLO", _HELLO3),
              ("GET missing", NULL3), ("HELLO 2", _HELLO2), ("GET missing", NULL)],
    "hello-errors": [("HELLO 1", err("NOPROTO unsupported protocol version")),
                     ("HELLO 4", err("NOPROTO unsupported protocol version")),
                     ("HELLO 0", err("NOPROTO unsupported protocol version")),
                     ("HELLO -1", err("NOPROTO unsupported protocol version")),
                     ("HELLO abc", err("ERR Protocol version is not an integer or out of range")),
                     ("HELLO 3.0", err("ERR Protocol version is not an integer or out of range")),
                     ("HELLO 3 FOO", err("ERR Syntax error in HELLO option 'FOO'")),
                     ("HELLO 3 AUTH x", err("ERR Syntax error in HELLO option 'AUTH'")),
                     ("HELLO 3 SETNAME", err("ERR Syntax error in HELLO option 'SETNAME'")),
                     ("GET missing", NULL)],
    "hello-setname": [("HELLO 2 SETNAME myname", _HELLO2), ("CLIENT GETNAME", bulk("myname")),
                      ("HELLO 3 SETNAME 'a b'", err("ERR Client names cannot contain spaces, newlines or special "
                                                    "characters.")), ("CLIENT GETNAME", bulk("myname"))],
    "client-name": [("CLIENT GETNAME", NULL), ("CLIENT SETNAME app", OK), ("CLIENT GETNAME", bulk("app")),
                    ("client setname other", OK), ("CLIENT GETNAME", bulk("other")),
                    ("CLIENT SETNAME 'a b'", err("ERR Client names cannot contain spaces, newlines or special "
                                                 "characters.")),
                    (["CLIENT", "SETNAME", "a\nb"], err("ERR Client names cannot contain spaces, newlines or "
                                                         "special characters.")),
                    (["CLIENT", "SETNAME", ""], OK), ("CLIENT GETNAME", NULL)],
    "client-kill-list-id-errors": [("CLIENT KILL ID 0", err("ERR client-id should be greater than 0")),
                                   ("CLIENT KILL ID x", err("ERR client-id should be greater than 0")),
                                   ("CLIENT KILL ID 99999", i(0)), ("CLIENT LIST ID x", err("ERR Invalid client ID")),
                                   ("CLIENT LIST ID 0", EMPTY)],
    "command-getkeys": [("COMMAND GETKEYS GET", arity("command|getkeys")), ("COMMAND GETKEYS GET a", arr(bulk("a"))),
                        ("COMMAND GETKEYS MSET a 1 b 2", arr(bulk("a"), bulk("b"))),
                        ("COMMAND GETKEYS PING x", err("ERR The command has no key arguments")),
                        ("COMMAND GETKEYS PING x y z", err("ERR The command has no key arguments")),
                        ("COMMAND GETKEYS GET a b", err("ERR Invalid number of arguments specified for command")),
                        ("COMMAND GETKEYS MSET a 1 b", arr(bulk("a"), bulk("b"))),
                        ("COMMAND GETKEYS nosuch a", err("ERR Invalid command specified")),
                        ("COMMAND GETKEYS CLIENT SETNAME x", err("ERR The command has no key arguments"))],
    "config-get": [("CONFIG GET maxmemory", arr(bulk("maxmemory"), bulk("0"))),
                   ("CONFIG GET MAXMEMORY", arr(bulk("MAXMEMORY"), bulk("0"))),
                   ("CONFIG GET maxmemory MaxMemory", arr(bulk("maxmemory"), bulk("0"))),
                   ("CONFIG GET nosuch", b"*0\r\n"), ("CONFIG GET save", arr(bulk("save"), EMPTY)),
                   ("CONFIG GET appendonly", arr(bulk("appendonly"), bulk("no"))),
                   ("CONFIG GET maxmemory-policy", arr(bulk("maxmemory-policy"), bulk("noeviction"))),
                   ("HELLO 3", _HELLO3), ("CONFIG GET databases", b"%1\r\n" + bulk("databases") + bulk("16"))],
    "client-id": [("CLIENT ID", re.compile(rb":\d+\r\n")), ("CLIENT ID x", arity("client|id"))],
    "client-maint-notifications-is-error": [
        ("CLIENT MAINT_NOTIFICATIONS ON moving-endpoint-type internal-fqdn",
         err("ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."))],
    "auth-without-password": [("AUTH x", err("ERR AUTH <password> called without any password configured for the "
                                             "default user. Are you sure your configuration is correct?")),
                              ("AUTH default anything", OK), ("AUTH a b c", SYNTAX), ("AUTH", arity("auth"))],
    "reset": [("SELECT 2", OK), ("CLIENT SETNAME n", OK), ("HELLO 3", _HELLO3), ("MULTI", OK),
              ("RESET", simple("RESET")), ("CLIENT GETNAME", NULL), ("EXEC", err("ERR EXEC without MULTI")),
              ("SET a 1", OK), ("SELECT 2", OK), ("EXISTS a", i(0))],
}

# ------------------------------------------------------------------------------------------------ transactions
EXECABORT = err("EXECABORT Transaction discarded because of previous errors.")

TRANSACTIONS = {
    "multi-exec": [("MULTI", OK), ("SET a 1", QUEUED), ("INCR a", QUEUED), ("GET a", QUEUED),
                   ("EXEC", arr(OK, i(2), bulk("2")))],
    "multi-empty": [("MULTI", OK), ("EXEC", b"*0\r\n")],
    "multi-nested": [("MULTI", OK), ("MULTI", err("ERR MULTI calls can not be nested")), ("SET a 1", QUEUED),
                     ("EXEC", arr(OK))],
    "exec-discard-without-multi": [("EXEC", err("ERR EXEC without MULTI")),
                                   ("DISCARD", err("ERR DISCARD without MULTI"))],
    "discard": [("MULTI", OK), ("SET a 1", QUEUED), ("DISCARD", OK), ("EXISTS a", i(0))],
    "multi-exec-runtime-errors-inline": [("SET s abc", OK), ("MULTI", OK), ("INCR s", QUEUED),
                                         ("SET k v EX 0", QUEUED), ("SET k v FOO", QUEUED), ("SET ok 1", QUEUED),
                                         ("EXEC", arr(NOT_INT, invalid_expire("set"), SYNTAX, OK)),
                                         ("GET ok", bulk("1"))],
    "multi-queue-errors-abort": [("MULTI", OK), ("SET a 1", QUEUED),
                                 ("NOPE", err("ERR unknown command 'NOPE', with args beginning with: ")),
                                 ("GET", arity("get")), ("EXEC", EXECABORT), ("EXISTS a", i(0)),
                                 ("EXEC", err("ERR EXEC without MULTI"))],
    "exec-with-args": [("EXEC x", err("EXECABORT Transaction discarded because of: wrong number of arguments for "
                                          "'exec' command")),
                       ("MULTI", OK), ("SET a 1", QUEUED),
                       ("EXEC x", err("EXECABORT Transaction discarded because of: wrong number of arguments for "
                                      "'exec' command")),
                       ("EXEC", err("ERR EXEC without MULTI")), ("EXISTS a", i(0))],
    "no-multi-command-aborts-transaction": [("MULTI", OK), ("SET a 1", QUEUED),
                                            ("SHUTDOWN", err("ERR Command not allowed inside a transaction")),
                                            ("EXEC", EXECABORT), ("EXISTS a", i(0))],
    "shutdown-option-errors": [("SHUTDOWN ABORT", err("ERR No shutdown in progress.")),
                               ("SHUTDOWN FOO", SYNTAX), ("SHUTDOWN SAVE NOSAVE", SYNTAX),
                               ("SHUTDOWN ABORT NOW", SYNTAX), ("PING", simple("PONG"))],
    "watch-inside-multi": [("MULTI", OK), ("WATCH a", err("ERR WATCH inside MULTI is not allowed")),
                           ("SET a 1", QUEUED), ("EXEC", arr(OK))],
    "watch-unchanged": [("WATCH a", OK), ("MULTI", OK), ("SET a 1", QUEUED), ("EXEC", arr(OK))],
    "watch-changed-by-self": [("WATCH a", OK), ("SET a 0", OK), ("MULTI", OK), ("SET a 1", QUEUED),
                              ("EXEC", b"*-1\r\n"), ("GET a", bulk("0"))],
    "watch-changed-by-other": [("SET a 0", OK), ("WATCH a", OK), ("@2 SET a 5", OK), ("MULTI", OK),
                               ("INCR a", QUEUED), ("EXEC", b"*-1\r\n"), ("GET a", bulk("5"))],
    "watch-del-expire-flush": [("SET a 0", OK), ("WATCH a", OK), ("@2 EXPIRE a 100", i(1)), ("MULTI", OK),
                               ("EXEC", b"*-1\r\n"), ("WATCH a", OK), ("@2 DEL a", i(1)), ("MULTI", OK),
                               ("EXEC", b"*-1\r\n"), ("SET a 1", OK), ("WATCH a", OK), ("@2 FLUSHALL", OK),
                               ("MULTI", OK), ("EXEC", b"*-1\r\n")],
    "watch-creation-of-missing": [("WATCH a", OK), ("@2 SET a 1", OK), ("MULTI", OK), ("EXEC", b"*-1\r\n")],
    "watch-other-db-not-counted": [("WATCH a", OK), ("@2 SELECT 1", OK), ("@2 SET a 1", OK), ("MULTI", OK),
                                   ("SET b 1", QUEUED), ("EXEC", arr(OK))],
    "unwatch": [("WATCH a", OK), ("@2 SET a 1", OK), ("UNWATCH", OK), ("MULTI", OK), ("EXEC", b"*0\r\n")],
    "watch-cleared-by-exec": [("WATCH a", OK), ("MULTI", OK), ("EXEC", b"*0\r\n"), ("@2 SET a 1", OK),
                              ("MULTI", OK), ("EXEC", b"*0\r\n")],
    "watch-cleared-by-discard": [("WATCH a", OK), ("MULTI", OK), ("DISCARD", OK), ("@2 SET a 1", OK),
                                 ("MULTI", OK), ("EXEC", b"*0\r\n")],
    "multi-select-at-exec": [("MULTI", OK), ("SELECT 1", QUEUED), ("SET a 1", QUEUED), ("EXEC", arr(OK, OK)),
                             ("GET a", bulk("1")), ("SELECT 0", OK), ("EXISTS a", i(0))],
    "queued-invisible-to-others": [("MULTI", OK), ("SET a 1", QUEUED), ("@2 EXISTS a", i(0)), ("EXEC", arr(OK)),
                                   ("@2 GET a", bulk("1"))],
    "exec-resp3-watch-null": [("HELLO 3", _HELLO3), ("WATCH a", OK), ("@2 SET a 1", OK), ("MULTI", OK),
                              ("EXEC", NULL3)],
    "watch-arity": [("WATCH", arity("watch"))],
}

CASES = {}
for _group, _table in (("strings", STRINGS), ("keyspace", KEYSPACE), ("connection", CONNECTION),
                       ("transactions", TRANSACTIONS), ("scripting", SCRIPTING),
                       ("hashes", HASHES), ("sets", SETS), ("lists", LISTS), ("zsets", ZSETS)):
    for _name, _steps in _table.items():
        CASES["%s/%s" % (_group, _name)] = _steps

# ------------------------------------------------------------------------------------------------ fake clock only
T0 = 1_700_000_000_000  # the FakeClock's start, in ms

CLOCK_CASES = {
    "expiry/get-after-deadline": [("SET k v PX 100", OK), (Advance(99), None), ("GET k", bulk("v")),
                                  (Advance(1), None), ("GET k", NULL), ("EXISTS k", i(0)), ("TTL k", i(-2))],
    "expiry/pttl-exact": [("SET k v PX 1500", OK), ("PTTL k", i(1500)), ("TTL k", i(2)), (Advance(1000), None),
                          ("PTTL k", i(500)), ("TTL k", i(1)), (Advance(101), None), ("TTL k", i(0)),
                          ("PTTL k", i(399))],
    "expiry/expiretime-exact": [("SET k v EX 10", OK), ("EXPIRETIME k", i(T0 // 1000 + 10)),
                                ("PEXPIRETIME k", i(T0 + 10000)), ("PEXPIREAT k %d" % (T0 + 5), i(1)),
                                ("PTTL k", i(5)), ("EXPIREAT k %d" % (T0 // 1000 + 100), i(1)), ("TTL k", i(100))],
    "expiry/expiretime-rounds": [("SET k v", OK), ("PEXPIREAT k %d" % (T0 + 10499), i(1)),
                                 ("EXPIRETIME k", i(T0 // 1000 + 10)), ("PEXPIREAT k %d" % (T0 + 10500), i(1)),
                                 ("EXPIRETIME k", i(T0 // 1000 + 11)), ("PEXPIRETIME k", i(T0 + 10500))],
    "expiry/absolute-now-deletes": [("SET k v", OK), ("PEXPIREAT k %d" % T0, i(1)), ("EXISTS k", i(0)),
                                    ("SET k v PXAT %d" % T0, OK), ("EXISTS k", i(0)),
                                    ("SET k v PXAT %d" % (T0 + 1), OK), ("EXISTS k", i(1))],
    "expiry/invisible-everywhere": [("SET k v PX 10", OK), ("SET c 5 PX 10", OK), ("SET a x PX 10", OK),
                                    ("SET r x PX 10", OK), (Advance(10), None), ("GET k", NULL), ("EXISTS k", i(0)),
                                    ("TTL k", i(-2)), ("TYPE k", simple("none")), ("STRLEN k", i(0)),
                                    ("MGET k", arr(NULL)), ("KEYS *", b"*0\r\n"), ("SCAN 0", arr(bulk("0"), b"*0\r\n")),
                                    ("INCR c", i(1)), ("TTL c", i(-1)), ("APPEND a y", i(1)), ("GET a", bulk("y")),
                                    ("RENAME r z", err("ERR no such key"))],
    "expiry/set-nx-xx-on-expired": [("SET k v PX 10", OK), (Advance(10), None), ("SET k w XX", NULL),
                                    ("SET k w NX", OK), ("GET k", bulk("w")), ("TTL k", i(-1))],
    "expiry/setex-psetex": [("SETEX k 2 v", OK), (Advance(1999), None), ("GET k", bulk("v")), (Advance(1), None),
                            ("GET k", NULL), ("PSETEX p 5 v", OK), ("PTTL p", i(5)), (Advance(5), None),
                            ("EXISTS p", i(0))],
    "expiry/getex-sets-ttl": [("SET k v", OK), ("GETEX k PX 100", bulk("v")), ("PTTL k", i(100)),
                              ("GETEX k EXAT %d" % (T0 // 1000 + 50), bulk("v")), ("PTTL k", i(50000)),
                              ("GETEX k PERSIST", bulk("v")), (Advance(60000), None), ("GET k", bulk("v"))],
    "expiry/expire-conditions-exact": [("SET k v PX 1000", OK), ("PEXPIRE k 500 GT", i(0)),
                                       ("PEXPIRE k 2000 GT", i(1)), ("PTTL k", i(2000)), ("PEXPIRE k 3000 LT", i(0)),
                                       ("PEXPIRE k 100 LT", i(1)), ("PTTL k", i(100)), (Advance(100), None),
                                       ("EXISTS k", i(0))],
    "expiry/keepttl-incr-append-keep": [("SET k 1 PX 1000", OK), ("INCR k", i(2)), ("APPEND k 0", i(2)),
                                        ("SET k 5 KEEPTTL", OK), ("SETRANGE k 0 7", i(1)),
                                        ("INCRBYFLOAT k 0.5", bulk("7.5")), ("PTTL k", i(1000)),
                                        (Advance(1000), None), ("GET k", NULL)],
    "expiry/rename-copy-keep-deadline": [("SET a v PX 1000", OK), (Advance(400), None), ("RENAME a b", OK),
                                         ("PTTL b", i(600)), ("COPY b c", i(1)), ("PTTL c", i(600)),
                                         ("MOVE c 1", i(1)), ("SELECT 1", OK), ("PTTL c", i(600)),
                                         (Advance(600), None), ("EXISTS c", i(0))],
    "expiry/watch-key-expiring-counts": [("SET a 1 PX 10", OK), ("WATCH a", OK), (Advance(10), None),
                                         ("MULTI", OK), ("SET b 1", QUEUED), ("EXEC", b"*-1\r\n")],
    "expiry/watch-already-expired-key": [("SET a 1 PX 10", OK), (Advance(10), None), ("WATCH a", OK),
                                         ("MULTI", OK), ("SET b 1", QUEUED), ("EXEC", arr(OK))],
    "expiry/dbsize-may-count-then-reclaims": [("SET a 1 PX 10", OK), ("SET b 1", OK), (Advance(10), None),
                                              ("GET a", NULL), ("DBSIZE", i(1))],
}


# ------------------------------------------------------------------------------------------------ runner
def parse_step(cmd):
    """(connection number, command) from a step's command ("@2 GET a" → (2, "GET a"))."""
    if isinstance(cmd, str) and cmd.startswith("@"):
        conn, _, rest = cmd.partition(" ")
        return int(conn[1:]), rest
    return 1, cmd


def matches(got: bytes, expected) -> bool:
    if isinstance(expected, re.Pattern):
        return expected.fullmatch(got) is not None
    return got == expected


def describe(steps, index: int, got: bytes) -> str:
    lines = []
    for n, (cmd, exp) in enumerate(steps[:index + 1]):
        mark = ">>" if n == index else "  "
        lines.append("%s %r -> %r" % (mark, cmd, exp.pattern if isinstance(exp, re.Pattern) else exp))
    lines.append("   got %r" % got)
    return "\n".join(lines)


async def run_case(app, clock, call, steps):
    sessions = {}
    for n, (cmd, expected) in enumerate(steps):
        if isinstance(cmd, Advance):
            clock.advance_ms(cmd.ms)
            continue
        conn, cmd = parse_step(cmd)
        sess = sessions.get(conn)
        if sess is None:
            sess = sessions[conn] = app.new_session("127.0.0.1:%d" % (40000 + conn), "127.0.0.1:6379", conn)
        got = await call(sess, cmd)
        assert matches(got, expected), describe(steps, n, got)


#: Cases whose Redis behaviour a SQL store knowingly does not reproduce (README, "SQL stores").
SQL_DIFFERENCES = {
    "strings/set-binary-and-empty": "a VARCHAR key column holds UTF-8 text only: binary keys are refused with "
                                    "-ERR invalid key (a BYTEA key column makes them work)",
    "zsets/encoding-stays-skiplist": "a SQL store judges a sorted set's encoding by its contents each time it "
                                     "decodes the row, as Redis judges a value it loads: a skiplist shrunk below the "
                                     "listpack limits reads as listpack",
}
