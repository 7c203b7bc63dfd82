"""The read operations of ``SQLStore`` (a mixin: see ``backends.sql.store`` for the attributes it uses).

Reads run single statements, never a transaction of their own. Single-key reads go through the database's
batcher, which merges the GETs (and EXISTS, TTL, TYPE) of a batch into one statement; whole-table reads (KEYS,
SCAN, DBSIZE...) run alone.
"""
from __future__ import annotations

import functools
from typing import Optional

from backends import codec
from backends.base import CorruptValue, WrongType, now_ms
from backends.glob import compile_glob
from backends.sql.keys import NO_MATCH

#: Largest SCAN COUNT honoured (rows examined per page).
SCAN_MAX_COUNT = 10_000


class Reads:
    """GET, the typed ``load``, MGET, EXISTS, TTL, TYPE, KEYS, SCAN, RANDOMKEY, DBSIZE, MEMORY USAGE, DUMP and INFO's counts."""

    async def get(self, key: bytes) -> Optional[bytes]:
        rows = await self._one(self.q.get, (self._k(key), now_ms()), key, merge=self.q.merge_get)
        return codec.decode(self.id, key, rows[0][0]) if rows else None

    async def load(self, key: bytes):
        rows = await self._one(self.q.get, (self._k(key), now_ms()), key, merge=self.q.merge_get)
        return codec.unpack(self.id, key, rows[0][0]) if rows else None

    async def mget(self, keys: list[bytes]) -> list[Optional[bytes]]:
        return await self._read_each(keys, functools.partial(codec.decode, self.id), None)

    async def _read_each(self, keys: list[bytes], decode, wrong) -> list:
        """Several keys read by one statement: per key ``decode(key, payload)``, None when missing, ``wrong`` when
        decode raises WrongType (MGET's nil, read_many's WRONG)."""
        ks = [self._k(k) for k in keys]
        if not ks:
            return []
        if len(ks) == 1:
            rows = await self._one(self.q.get, (ks[0], now_ms()), keys[0], merge=self.q.merge_get)
            found = {ks[0]: rows[0][0]} if rows else {}
        else:
            rows = await self._one(self.q.mget, (list(set(ks)), now_ms()), keys[0])
            found = dict(rows)
        out = []
        for key, k in zip(keys, ks):
            payload = found.get(k)
            if payload is None:
                out.append(None)
                continue
            try:
                out.append(decode(key, payload))
            except WrongType:
                out.append(wrong)
        return out

    async def exists(self, keys: list[bytes]) -> int:
        ks = [self._k(k) for k in keys]
        if not ks:
            return 0
        if len(set(ks)) == 1:
            rows = await self._one(self.q.exists1, (ks[0], now_ms()), keys[0], merge=self.q.merge_exists)
            return len(ks) if rows else 0
        rows = await self._one(self.q.existsn, (list(set(ks)), now_ms()), keys[0] if keys else b"")
        found = {r[0] for r in rows}
        return sum(1 for k in ks if k in found)

    async def expire_time(self, key: bytes) -> int:
        rows = await self._one(self.q.exp, (self._k(key), now_ms()), key, merge=self.q.merge_exp)
        if not rows:
            return -2
        return -1 if rows[0][0] is None else int(rows[0][0])

    async def type(self, key: bytes) -> bytes:
        rows = await self._one(self.q.get, (self._k(key), now_ms()), key, merge=self.q.merge_get)
        if not rows:
            return b"none"
        return codec.type_name(self.id, key, rows[0][0])

    async def keys(self, pattern: bytes) -> list[bytes]:
        """Every live key matching the glob. The pattern's literal prefix filters in SQL (LIKE), the glob itself
        in Python."""
        match = compile_glob(pattern)
        like = self.key_column.like(pattern)
        if like is NO_MATCH:
            return []
        now = now_ms()
        if like is None:
            rows = await self._one(self.q.keys, (now,), batch=False)
        else:
            rows = await self._one(self.q.keys_like, (now, like), batch=False)
        out = []
        for (k,) in rows:
            kb = self.key_column.key(k)
            if match(kb):
                out.append(kb)
        return out

    async def scan(self, cursor: int, pattern: Optional[bytes], count: int,
                   type_: Optional[bytes]) -> tuple[int, list[bytes]]:
        """One page: ``count`` live keys in key order after the cursor's position, filtered by pattern and type.
        See ``backends.sql.cursors`` for how cursors map to positions."""
        after = self._cursors.position(cursor)
        n = max(1, min(int(count), SCAN_MAX_COUNT))
        now = now_ms()
        if type_ is None:
            rows = await (self._one(self.q.scan, (after, now, n), batch=False) if after is not None
                          else self._one(self.q.scan0, (now, n), batch=False))
        else:
            rows = await (self._one(self.q.scan_v, (after, now, n), batch=False) if after is not None
                          else self._one(self.q.scan0_v, (now, n), batch=False))
        next_cursor = self._cursors.issue(rows[-1][0]) if len(rows) >= n else 0
        match = compile_glob(pattern) if pattern is not None and pattern != b"*" else None
        want = type_.lower() if type_ is not None else None
        out = []
        for row in rows:
            kb = self.key_column.key(row[0])
            if match is not None and not match(kb):
                continue
            if want is not None:
                try:
                    if codec.type_name(self.id, kb, row[1]) != want:
                        continue
                except CorruptValue:
                    continue
            out.append(kb)
        return next_cursor, out

    async def randomkey(self) -> Optional[bytes]:
        """A random live key (uniform; costs a count of the table: O(n))."""
        now = now_ms()
        rows = await self._one(self.q.random, (now, now), batch=False)
        if not rows:  # rows deleted between the count and the offset
            rows = await self._one(self.q.first, (now,), batch=False)
        return self.key_column.key(rows[0][0]) if rows else None

    async def dbsize(self) -> int:
        return int((await self._one(self.q.count, (now_ms(),), batch=False))[0][0])

    async def stats(self) -> tuple[int, int]:
        n, e = (await self._one(self.q.stats, (now_ms(),), batch=False))[0]
        return int(n), int(e)

    async def memory_usage(self, key: bytes) -> Optional[int]:
        """The size of the key's row as PostgreSQL stores it (``pg_column_size`` of the row: header, key, encoded
        value, expiry), without the index entry."""
        rows = await self._one(self.q.row_size, (self._k(key), now_ms()), key)
        return int(rows[0][0]) if rows else None

    async def dump(self, key: bytes) -> Optional[tuple[bytes, Optional[int]]]:
        rows = await self._one(self.q.get_ve, (self._k(key), now_ms()), key)
        if not rows:
            return None
        payload, exp = rows[0]
        return bytes(payload), (None if exp is None else int(exp))

    # ------------------------------------------------------------------------------------------ writes
