"""The write operations of ``SQLStore`` (a mixin: see ``backends.sql.store`` for the attributes it uses).

A write is one statement when it can be (through the batcher, which merges the plain SETs of a write-only batch
into one upsert), else a session (``Runner.session``) that row-locks what it reads before writing. Every write
that changes a key touches its watchers. See ``backends.sql`` for the contracts (lock order, max_size, NX races).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from backends import codec
from backends.base import KEEP, NoSuchKey, StoreFull, WrongType, now_ms
from backends.sql.transactions import Abort, Retry, Session

#: Largest payload whose SET may be merged with other SETs of its batch into one multi-row upsert.
MERGE_MAX_VALUE = 16384


class Writes:
    """SET (all its forms) and the typed ``store``, MSET(NX), the read-modify-writes (``modify``), GETDEL, GETEX, DEL, EXPIRE, PERSIST,
    RENAME(NX), COPY, RESTORE and FLUSHDB."""

    async def set(self, key: bytes, value: bytes, cond: Optional[str] = None, get: bool = False,
                  expire: Any = None) -> tuple[bool, Optional[bytes]]:
        return await self._set_payload(key, codec.encode(value), cond, get, expire)

    async def store(self, key: bytes, value: Any, expire: Optional[int] = None) -> None:
        """The typed write (``backends.base.Store.store``): SET of the value's payload."""
        await self._set_payload(key, codec.pack(value), None, False, expire)

    async def _set_payload(self, key: bytes, payload: bytes, cond: Optional[str], get: bool,
                           expire: Any) -> tuple[bool, Optional[bytes]]:
        k = self._k(key)
        now = now_ms()
        if get or self.max_size:
            return await self._session(lambda s: self._set_locked(s, key, k, payload, cond, get, expire))
        if expire is not None and expire is not KEEP and expire <= now:
            # The key disappears at once: SET deletes; NX "succeeds" only when absent (nothing to write);
            # XX succeeds when the key is live (and deletes it).
            if cond is None:
                await self._one(self.q.del1, (k, now), key)
                written = True
            elif cond == "NX":
                return not await self._one(self.q.exists1, (k, now), key), None
            else:
                written = bool(await self._one(self.q.del1_live, (k, now), key))
        elif cond is None:
            if expire is KEEP:
                await self._one(self.q.upsert_keep, (k, payload, now), key)
            else:
                # large values stay binary in their own statement (merged rows travel as a hex text array)
                await self._one(self.q.upsert, (k, payload, expire), key,
                                merge=self.q.merge_upsert if len(payload) <= MERGE_MAX_VALUE else None)
            written = True
        elif cond == "NX":
            exp = None if expire is KEEP else expire
            written = bool(await self._one(self.q.set_nx, (k, payload, exp, now), key))
        elif cond == "XX":
            if expire is KEEP:
                written = bool(await self._one(self.q.set_xx_keep, (payload, k, now), key))
            else:
                written = bool(await self._one(self.q.set_xx, (payload, expire, k, now), key))
        else:
            raise ValueError("bad SET condition %r" % (cond,))
        if written:
            self.watches.touch(key)
        return written, None

    async def _set_locked(self, s: Session, key: bytes, k, payload: bytes, cond, get: bool, expire):
        """SET under a row lock: for GET (the old value must be a string before anything is written) and
        max_size (a new key needs room)."""
        rows = await s.run(self.q.lock1, (k,))
        now = now_ms()
        live = bool(rows) and (rows[0][1] is None or rows[0][1] > now)
        old = codec.decode(self.id, key, rows[0][0]) if (live and get) else None
        if (cond == "NX" and live) or (cond == "XX" and not live):
            return False, old
        if expire is KEEP:
            exp = rows[0][1] if live else None
        else:
            exp = expire
        if exp is not None and exp <= now:  # past: the key disappears
            if rows:
                await s.finish((self.q.del1, (k, now)))
            if live:
                self.watches.touch(key)
            return True, old
        if not live:
            await self._check_room(s, 1)
        if rows:
            await s.finish((self.q.update_row, (payload, exp, k)))
        else:
            (inserted,) = await s.finish((self.q.insert_new, (k, payload, exp)))
            if not inserted:
                raise Retry()  # created meanwhile by another writer: lock it and decide again
        self.watches.touch(key)
        return True, old

    async def mset(self, pairs: list[tuple[bytes, bytes]], nx: bool = False) -> bool:
        latest: dict = {}
        raw: dict = {}
        for key, value in pairs:  # the last of duplicate keys wins
            k = self._k(key)
            latest[k] = codec.encode(value)
            raw[k] = key
        ks = sorted(latest)  # key order = lock order (UTF-8 byte order equals code point order)
        vs = [latest[k] for k in ks]
        if not ks:
            return True
        if not nx and not self.max_size:
            # Not batched: a batch holds its row locks until its end, and a multi-row statement in it would
            # break the ascending key order in which every writer locks rows (deadlocks).
            await self._one(self.q.mset, (ks, vs), batch=False)
            for k in ks:
                self.watches.touch(raw[k])
            return True

        async def body(s: Session) -> bool:
            now = now_ms()
            present = (await s.run(self.q.countn, (ks, now)))[0][0]
            await self._check_room(s, len(ks) - present)
            await s.finish((self.q.mset, (ks, vs)))
            return True

        if nx:
            ok = await self._session(lambda s: self._msetnx(s, ks, vs), savepoint=True)
        else:
            ok = await self._session(body)
        if ok:
            for k in ks:
                self.watches.touch(raw[k])
        return ok

    async def _msetnx(self, s: Session, ks: list, vs: list) -> bool:
        """MSETNX: the insert that discovers a key created meanwhile must not have committed yet, so the
        commit is separate (``Abort`` rolls back, to the savepoint inside a user transaction)."""
        now = now_ms()
        if await s.run(self.q.existsn, (ks, now)):
            raise Abort(False)
        await self._check_room(s, len(ks))
        inserted = await s.run(self.q.msetnx, (ks, vs, now))
        if len(inserted) < len(ks):
            raise Abort(False)
        return True

    async def modify(self, key: bytes, fn: Callable[[Optional[bytes]], tuple[Optional[bytes], Any]]) -> Any:
        """Locked read-modify-write keeping the TTL. ``fn`` must be pure: when a concurrent writer creates the
        key between our read and our insert, the operation starts over and fn is called again."""
        k = self._k(key)

        async def body(s: Session) -> Any:
            rows = await s.run(self.q.lock1, (k,))
            now = now_ms()
            live = bool(rows) and (rows[0][1] is None or rows[0][1] > now)
            old = codec.decode(self.id, key, rows[0][0]) if live else None
            new, result = fn(old)
            if new is not None:
                await self._write_locked(s, key, k, rows, live, codec.encode(new))
            return result

        return await self._session(body)

    async def _write_locked(self, s: Session, key: bytes, k, rows: list, live: bool, payload: bytes,
                            wake: bool = False) -> None:
        """The end of a locked read-modify-write of one key (``rows``: what ``q.lock1`` found): write the payload
        and commit, keeping a live row's TTL (an expired row is revived without one); a new key needs room, and
        when another writer created it meanwhile the operation starts over (``Retry``). ``wake``: the key is a new
        list or sorted set, announced to blocked clients (``_wake``) in the same commit."""
        if not live:
            await self._check_room(s, 1)
        extra = (self._wake(key),) if wake else ()
        if rows:
            await s.finish((self.q.update_row, (payload, rows[0][1] if live else None, k)), *extra)
        else:
            (inserted, *_) = await s.finish((self.q.insert_new, (k, payload, None)), *extra)
            if not inserted:
                raise Retry()
        self.watches.touch(key)

    async def getdel(self, key: bytes) -> Optional[bytes]:
        k = self._k(key)
        rows = await self._one(self.q.getdel, (k, now_ms()), key)
        if rows:
            self.watches.touch(key)
            return codec.decode(self.id, key, rows[0][0])
        if await self._one(self.q.exists1, (k, now_ms()), key):
            raise WrongType()  # live but not a string: nothing was deleted
        return None

    async def getex(self, key: bytes, expire: Any) -> Optional[bytes]:
        if expire is KEEP:
            return await self.get(key)
        k = self._k(key)
        now = now_ms()
        if expire is not None and expire <= now:
            rows = await self._one(self.q.getdel, (k, now), key)
        else:
            rows = await self._one(self.q.getex, (expire, k, now), key)
        if rows:
            self.watches.touch(key)
            return codec.decode(self.id, key, rows[0][0])
        if await self._one(self.q.exists1, (k, now_ms()), key):
            raise WrongType()
        return None

    async def delete(self, keys: list[bytes]) -> int:
        ks = {}
        for key in keys:
            ks[self._k(key)] = key
        if len(ks) == 1:
            ((k, key),) = ks.items()
            rows = await self._one(self.q.del1, (k, now_ms()), key)
            if rows and rows[0][0]:
                self.watches.touch(key)
                return 1
            return 0
        if not ks:
            return 0
        rows = await self._one(self.q.deln, (sorted(ks), now_ms()), batch=False)  # not batched: see mset
        n = 0
        for k, live in rows:
            if live:
                n += 1
                self.watches.touch(ks[k])
        return n

    async def expire(self, key: bytes, at_ms: int, cond: Optional[str] = None) -> int:
        k = self._k(key)
        now = now_ms()
        q_update, q_delete, uses_at = self.q.expire[cond]
        if at_ms <= now:
            rows = await self._one(q_delete, (k, now, at_ms) if uses_at else (k, now), key)
        else:
            rows = await self._one(q_update, (at_ms, k, now, at_ms) if uses_at else (at_ms, k, now), key)
        if rows:
            self.watches.touch(key)
            return 1
        return 0

    async def persist(self, key: bytes) -> int:
        rows = await self._one(self.q.persist, (self._k(key), now_ms()), key)
        if rows:
            self.watches.touch(key)
            return 1
        return 0

    async def rename(self, src: bytes, dst: bytes, nx: bool = False) -> bool:
        ks, kd = self._k(src), self._k(dst)
        if nx:
            ok = await self._session(lambda s: self._renamenx(s, ks, kd, dst), savepoint=True)
        else:
            # in a user transaction, the savepoint also removes dst's placeholder when src is missing
            ok = await self._session(lambda s: self._rename(s, ks, kd, dst), savepoint=True)
        if ok and ks != kd:
            self.watches.touch(src)
            self.watches.touch(dst)
        return ok

    async def _lock_pair(self, s: Session, ks, kd) -> dict:
        """Lock src and dst rows in key order; {key: (payload, expires)} of the live ones. NoSuchKey without src.

        dst is written later, and a missing row cannot be locked: ``q.hold`` locks dst's row in its turn in key
        order, or, when there is none, inserts an expired one (invisible to every reader) in its place. So this
        transaction takes its rows in ascending order like every other writer. The rename overwrites the
        placeholder, or the rollback removes it."""
        if ks == kd:
            rows = await s.run(self.q.lockn, ([ks],))
        elif kd < ks:
            await s.run(self.q.hold, (kd,))
            rows = await s.run(self.q.lockn, ([kd, ks],))
        else:
            rows = await s.run(self.q.lockn, ([ks],))
            if not rows:
                raise NoSuchKey()
            await s.run(self.q.hold, (kd,))
            rows += await s.run(self.q.lockn, ([kd],))
        now = now_ms()
        found = {r[0]: (r[1], r[2]) for r in rows if r[2] is None or r[2] > now}
        if ks not in found:
            raise NoSuchKey()
        return found

    async def _rename(self, s: Session, ks, kd, dst: bytes) -> bool:
        found = await self._lock_pair(s, ks, kd)
        if ks != kd:
            payload, exp = found[ks]
            extra = (self._wake(dst),) if codec.is_list_or_zset(payload) else ()
            await s.finish((self.q.upsert, (kd, payload, exp)), (self.q.del1, (ks, now_ms())), *extra)
        return True

    async def _renamenx(self, s: Session, ks, kd, dst: bytes) -> bool:
        found = await self._lock_pair(s, ks, kd)
        now = now_ms()
        if ks == kd or kd in found:
            raise Abort(False)
        payload, exp = found[ks]
        # dst may have been created since the lock query (a missing row cannot be locked): insert only if
        # still absent, and undo when not.
        if not await s.run(self.q.set_nx, (kd, payload, exp, now)):
            raise Abort(False)
        await s.finish((self.q.del1, (ks, now)), *((self._wake(dst),) if codec.is_list_or_zset(payload) else ()))
        return True

    async def copy(self, src: bytes, dst: bytes, replace: bool = False) -> bool:
        ks, kd = self._k(src), self._k(dst)
        if ks == kd:
            return False
        if self.max_size:
            async def body(s: Session) -> bool:
                now = now_ms()
                if not await s.run(self.q.exists1, (kd, now)):
                    await self._check_room(s, 1)
                q, p = (self.q.copy, (kd, ks, now)) if replace else (self.q.copy_nx, (kd, ks, now, now))
                (rows,) = await s.finish((q, p))
                return bool(rows)
            ok = await self._session(body)
        else:
            now = now_ms()
            if replace:
                ok = bool(await self._one(self.q.copy, (kd, ks, now), dst))
            else:
                ok = bool(await self._one(self.q.copy_nx, (kd, ks, now, now), dst))
        if ok:
            self.watches.touch(dst)
        return ok

    async def restore(self, key: bytes, payload: bytes, expire_at: Optional[int], replace: bool) -> bool:
        written, _ = await self._set_payload(key, bytes(payload), None if replace else "NX", False, expire_at)
        return written

    async def flush(self) -> None:
        await self._one(self.q.flush, (), batch=False)
        self.watches.touch_all()

    # ------------------------------------------------------------------------------------------ transactions

    async def _check_room(self, s: Session, new_keys: int) -> None:
        """StoreFull when adding new_keys keys would pass max_size (best effort: see ``backends.sql``)."""
        if self.max_size and new_keys > 0:
            n = (await s.run(self.q.count, (now_ms(),)))[0][0]
            if n + new_keys > self.max_size:
                raise StoreFull(self.id, self.max_size)
