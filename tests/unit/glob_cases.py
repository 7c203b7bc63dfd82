"""Redis glob matching (KEYS, SCAN MATCH): every pattern below was run through KEYS on redis-server 7.0.15 with
the keys of ``GLOB_KEYS``; ``GLOB_CASES`` lists what Redis returned. The unit test checks respd's matcher against
it and ``tests/differential/test_keyspace_diff.py`` re-checks it against a live redis-server.

(The empty key is left out: Redis 7.0 matches it only with ``*``, a quirk of ``stringmatchlen`` respd need not copy.)
"""

GLOB_KEYS = [b"a", b"b", b"ab", b"abc", b"A", b"!", b"^", b"]", b"[", b"-", b"\\", b"*", b"?", b"a*", b"a?",
             b"x\ny", b"x\x00y", b"_", b"`", b"z", b"hello", b"hallo", b"hllo", b"heeello", b"a\\", b"\xff"]

GLOB_CASES = [
    (b'*', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\xff']),
    (b'a*', [b'a', b'a*', b'a?', b'a\\', b'ab', b'abc']),
    (b'*c', [b'abc']),
    (b'?', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\xff']),
    (b'??', [b'a*', b'a?', b'a\\', b'ab']),
    (b'[ab]', [b'a', b'b']),
    (b'[^a]', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'b', b'z', b'\xff']),
    (b'[!a]', [b'!', b'a']),
    (b'[a-c]', [b'a', b'b']),
    (b'[c-a]', [b'a', b'b']),
    (b'[a-]', [b']', b'^', b'_', b'`', b'a']),
    (b'[-a]', [b'-', b'a']),
    (b'\\*', [b'*']),
    (b'a\\*', [b'a*']),
    (b'a\\?', [b'a?']),
    (b'a\\', [b'a\\']),
    (b'[\\]]', [b']']),
    (b'[]]', []),
    (b'[]', []),
    (b'[^]', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\xff']),
    (b'[abc', [b'a', b'b']),
    (b'[^', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\xff']),
    (b'h*llo', [b'hallo', b'heeello', b'hello', b'hllo']),
    (b'h?llo', [b'hallo', b'hello']),
    (b'h[^e]llo', [b'hallo']),
    (b'h[a-b]llo', [b'hallo']),
    (b'x?y', [b'x\x00y', b'x\ny']),
    (b'A*', [b'A']),
    (b'[[]', [b'[']),
    (b'[\\-]', [b'-']),
    (b'**', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\xff']),
    (b'*a*b*', [b'ab', b'abc']),
    (b'\\a', [b'a']),
    (b'[a\\-c]', [b'-', b'a']),
    (b'\xff', [b'\xff']),
    (b'?*', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\xff']),
    (b'*?*', [b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\xff']),
]
