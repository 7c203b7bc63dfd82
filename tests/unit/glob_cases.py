"""Redis glob matching (KEYS, SCAN MATCH): every pattern below was run through KEYS on redis-server 7.0.15 with
the keys of ``GLOB_KEYS``; ``GLOB_CASES`` lists what Redis returned. The unit tests check respd's matchers against
it and ``tests/differential/test_keyspace_vs_redis.py`` re-checks it against a live redis-server.

Quirks of ``stringmatchlen`` recorded here: the empty key matches only ``*`` (KEYS' "all keys" shortcut) and the
empty pattern (so ``**`` and ``?*`` leave it out); range ends compare as signed ``char`` (``[a-\xff]`` is 0xFF and
0x00..``a``).
"""

GLOB_KEYS = [b"", b"a", b"b", b"ab", b"abc", b"A", b"!", b"^", b"]", b"[", b"-", b"\\", b"*", b"?", b"a*", b"a?",
             b"x\ny", b"x\x00y", b"_", b"`", b"z", b"hello", b"hallo", b"hllo", b"heeello", b"a\\", b"\xff",
             b"\x00", b"\x7f", b"\x80", b"\xfe"]

GLOB_CASES = [
    (b'*', [b'', b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'a*', [b'a', b'a*', b'a?', b'a\\', b'ab', b'abc']),
    (b'*c', [b'abc']),
    (b'?', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'??', [b'a*', b'a?', b'a\\', b'ab']),
    (b'[ab]', [b'a', b'b']),
    (b'[^a]', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'b', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
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
    (b'[^]', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'[abc', [b'a', b'b']),
    (b'[^', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'h*llo', [b'hallo', b'heeello', b'hello', b'hllo']),
    (b'h?llo', [b'hallo', b'hello']),
    (b'h[^e]llo', [b'hallo']),
    (b'h[a-b]llo', [b'hallo']),
    (b'x?y', [b'x\x00y', b'x\ny']),
    (b'A*', [b'A']),
    (b'[[]', [b'[']),
    (b'[\\-]', [b'-']),
    (b'**', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'*a*b*', [b'ab', b'abc']),
    (b'\\a', [b'a']),
    (b'[a\\-c]', [b'-', b'a']),
    (b'\xff', [b'\xff']),
    (b'?*', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'*?*', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'', [b'']),
    (b'[a-\xff]', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'\xff']),
    (b'[\xff-a]', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'\xff']),
    (b'[\x80-\xff]', [b'\x80', b'\xfe', b'\xff']),
    (b'[\x7f-\x80]', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'b', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'[^a-\xff]', [b'b', b'z', b'\x7f', b'\x80', b'\xfe']),
    (b'[a-]b', [b']', b'^', b'_', b'`', b'a', b'b']),
    (b'[]-a]', []),
    (b'[a-\\]', [b'\\', b']', b'^', b'_', b'`', b'a']),
    (b'*\\', [b'\\', b'a\\']),
    (b'[', []),
    (b'[\\', [b'\\']),
    (b'a[', []),
    (b'**?', [b'\x00', b'!', b'*', b'-', b'?', b'A', b'[', b'\\', b']', b'^', b'_', b'`', b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'b', b'hallo', b'heeello', b'hello', b'hllo', b'x\x00y', b'x\ny', b'z', b'\x7f', b'\x80', b'\xfe', b'\xff']),
    (b'ab*ba', []),
    (b'*a*', [b'a', b'a*', b'a?', b'a\\', b'ab', b'abc', b'hallo']),
]
