"""Table-driven cases for OBJECT and MEMORY (same format as ``command_cases.py``).

``tests/unit/test_introspection.py`` runs them through ``dispatch.execute`` on memory stores,
``tests/sql/test_commands_on_sql.py`` on SQL stores and
``tests/differential/test_introspection_vs_redis.py`` on a real redis-server, so every expected byte string is what
Redis 7.0.15 sends. Where respd only estimates (MEMORY USAGE's byte count, MEMORY STATS' figures) the expectation is
a pattern pinning the reply's type; where respd knowingly answers otherwise (OBJECT IDLETIME) the case is not here
but in the tests, beside the reason.
"""
from __future__ import annotations

import re

from tests.unit.command_cases import NOT_INT, NULL, NULL3, OK, SYNTAX, arity, arr, bulk, err, i, simple

SHARED = i(2147483647)  # OBJ_SHARED_REFCOUNT: Redis' shared integers 0..9999
ANY_INT = re.compile(rb":\d+\r\n")


def _unknown(sub: str, container: str) -> bytes:
    return err("ERR unknown subcommand '%s'. Try %s HELP." % (sub, container))


# value -> (encoding, refcount) as Redis 7.0 reports a string written by SET
ENCODINGS = {
    "v": ("embstr", 1),
    "": ("embstr", 1),
    "0": ("int", 2147483647),
    "123": ("int", 2147483647),
    "9999": ("int", 2147483647),
    "10000": ("int", 1),
    "-5": ("int", 1),
    "-0": ("embstr", 1),
    "0123": ("embstr", 1),
    "+1": ("embstr", 1),
    " 1": ("embstr", 1),
    "1.5": ("embstr", 1),
    "9223372036854775807": ("int", 1),
    "-9223372036854775808": ("int", 1),
    "9223372036854775808": ("embstr", 1),
    "12345678901234567890": ("embstr", 1),
    "x" * 44: ("embstr", 1),
    "x" * 45: ("raw", 1),
    "1" * 45: ("raw", 1),
}

_encoding_steps = []
for _n, (_v, (_enc, _ref)) in enumerate(ENCODINGS.items()):
    _encoding_steps += [(["SET", "k%d" % _n, _v], OK), ("OBJECT ENCODING k%d" % _n, bulk(_enc)),
                        ("OBJECT REFCOUNT k%d" % _n, i(_ref))]

OBJECT_HELP = arr(*(simple(s) for s in (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.")))

MEMORY_HELP = arr(*(simple(s) for s in (
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.")))

LFU = err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
          "switching between policies at runtime LRU and LFU data will take some time to adjust.")

CASES = {
    "object/encoding-and-refcount-of-set-values": _encoding_steps,
    "object/incr-results": [
        ("INCR c", i(1)), ("OBJECT ENCODING c", bulk("int")), ("OBJECT REFCOUNT c", SHARED),
        ("INCRBY c 20000", i(20001)), ("OBJECT ENCODING c", bulk("int")), ("OBJECT REFCOUNT c", i(1)),
        ("SET m 9223372036854775806", OK), ("INCR m", i(9223372036854775807)), ("OBJECT ENCODING m", bulk("int")),
    ],
    "object/missing-key-is-null": [
        ("OBJECT ENCODING nosuch", NULL), ("OBJECT REFCOUNT nosuch", NULL), ("OBJECT FREQ nosuch", NULL),
        ("OBJECT IDLETIME nosuch", NULL),
        ("SET gone v", OK), ("DEL gone", i(1)), ("OBJECT ENCODING gone", NULL),
    ],
    "object/missing-key-is-null-resp3": [
        ("HELLO 3", re.compile(rb"%7\r\n.*", re.S)),
        ("OBJECT ENCODING nosuch", NULL3), ("OBJECT REFCOUNT nosuch", NULL3), ("OBJECT FREQ nosuch", NULL3),
        ("SET k v", OK), ("OBJECT ENCODING k", bulk("embstr")),
    ],
    "object/freq-without-lfu-policy": [("SET k v", OK), ("OBJECT FREQ k", LFU), ("object freq k", LFU)],
    "object/help-and-errors": [
        ("OBJECT HELP", OBJECT_HELP), ("object help", OBJECT_HELP),
        ("OBJECT HELP x", arity("object|help")),
        ("OBJECT", arity("object")),
        ("OBJECT ENCODING", arity("object|encoding")),
        ("OBJECT ENCODING a b", arity("object|encoding")),
        ("OBJECT REFCOUNT", arity("object|refcount")),
        ("OBJECT FOO k", _unknown("FOO", "OBJECT")),
        ("OBJECT foo", _unknown("foo", "OBJECT")),
    ],
    "memory/usage": [
        ("MEMORY USAGE nosuch", NULL),
        ("MEMORY USAGE nosuch SAMPLES 5", NULL),
        ("SET k v", OK),
        ("MEMORY USAGE k", ANY_INT),
        ("MEMORY USAGE k SAMPLES 0", ANY_INT),
        ("MEMORY USAGE k SAMPLES 5 SAMPLES 3", ANY_INT),
        ("memory usage k samples 1", ANY_INT),
        ("MEMORY USAGE k SAMPLES -1", SYNTAX),
        ("MEMORY USAGE nosuch SAMPLES -1", SYNTAX),
        ("MEMORY USAGE k SAMPLES x", NOT_INT),
        ("MEMORY USAGE k SAMPLES 01", NOT_INT),
        ("MEMORY USAGE k SAMPLES", SYNTAX),
        ("MEMORY USAGE k FOO", SYNTAX),
        ("MEMORY USAGE k extra x", SYNTAX),
        ("MEMORY USAGE", arity("memory|usage")),
    ],
    "memory/usage-resp3-null": [("HELLO 3", re.compile(rb"%7\r\n.*", re.S)), ("MEMORY USAGE nosuch", NULL3)],
    "memory/other-subcommands": [
        ("MEMORY HELP", MEMORY_HELP),
        ("MEMORY PURGE", OK),
        ("MEMORY STATS", re.compile(rb"\*\d+\r\n\$14\r\npeak\.allocated\r\n:\d+\r\n\$15\r\ntotal\.allocated\r\n.*",
                                    re.S)),
        ("MEMORY DOCTOR", re.compile(rb"\$\d+\r\n(Hi Sam|Sam, I detected).*\n\r\n", re.S)),
        ("MEMORY MALLOC-STATS", re.compile(rb"\$\d+\r\n.+\r\n", re.S)),
        ("MEMORY STATS x", arity("memory|stats")),
        ("MEMORY DOCTOR x", arity("memory|doctor")),
        ("MEMORY MALLOC-STATS x", arity("memory|malloc-stats")),
        ("MEMORY PURGE x", arity("memory|purge")),
        ("MEMORY HELP x", arity("memory|help")),
        ("MEMORY", arity("memory")),
        ("MEMORY FOO", _unknown("FOO", "MEMORY")),
    ],
}
