"""The collection operations of ``SQLStore`` (a mixin: ``read``, ``read_many``, ``update``, ``update_many``).

A collection is one row whose payload is the whole value (``backends.codec``: a hash is a msgpack map, a set an ext
object holding an array, a list an array). A read is one statement (batched with the GETs of other clients); a write locks the row
(``SELECT ... FOR UPDATE``), decodes it, lets the command change the object, and writes the whole payload back in the
same transaction, so each command is atomic across nodes. The cost of a change is the size of the value: it is read,
decoded, encoded and written whole. ``max_value_size`` bounds it: a write whose payload would pass it raises
``ValueTooLarge`` with nothing written.
"""
from __future__ import annotations

from typing import Any, Callable

from backends import codec, values
from backends.base import WRONG, ValueTooLarge, Values, now_ms
from backends.pg.listen import NOTIFY, wake_payload
from backends.sql.transactions import Retry, Session

#: Default bound of a collection's encoded size on a SQL store (registry field ``max_value_size``).
MAX_VALUE_SIZE = 16 * 1024 * 1024


class Collections:
    """Mixed into ``SQLStore`` (its attributes: ``backends.sql.store``)."""

    max_value_size = MAX_VALUE_SIZE

    def _wake(self, key: bytes) -> tuple:
        """The statement telling every node's listener (``backends.pg.listen``) that key was created, sent in the
        transaction that creates it: clients blocked on the key anywhere look at it once it commits."""
        return (NOTIFY, (wake_payload(self.table_oid, key),))

    def _collection_payload(self, key: bytes, obj) -> bytes:
        payload = codec.pack_value(obj)
        if len(payload) > self.max_value_size:
            raise ValueTooLarge(self.id, key, len(payload), self.max_value_size)
        return payload

    async def read(self, key: bytes, kind: bytes) -> Any:
        rows = await self._one(self.q.get, (self._k(key), now_ms()), key, merge=self.q.merge_get)
        return codec.as_kind(self.id, key, rows[0][0], kind) if rows else None

    async def read_many(self, keys: list[bytes], kind: bytes) -> list:
        return await self._read_each(keys, lambda key, payload: codec.as_kind(self.id, key, payload, kind), WRONG)

    async def update(self, key: bytes, kind: bytes, fn: Callable[[Any], tuple[bool, Any]]) -> Any:
        k = self._k(key)

        async def body(s: Session) -> Any:
            rows = await s.run(self.q.lock1, (k,))
            now = now_ms()
            live = bool(rows) and (rows[0][1] is None or rows[0][1] > now)
            obj = codec.as_kind(self.id, key, rows[0][0], kind) if live else values.empty(kind)
            changed, result = fn(obj)
            if not changed:
                return result
            if not obj:
                if live:
                    await s.finish((self.q.del1, (k, now)))
                    self.watches.touch(key)
                return result
            payload = self._collection_payload(key, obj)
            wake = not live and codec.is_list_or_zset(payload)
            await self._write_locked(s, key, k, rows, live, payload, wake)
            return result

        return await self._session(body)

    async def update_many(self, writes: list[bytes], reads: list[bytes], fn: Callable[[Values], Any]) -> Any:
        wk = {}
        for key in writes:
            wk[self._k(key)] = key
        rk = {}
        for key in reads:
            k = self._k(key)
            if k not in wk:
                rk[k] = key

        async def body(s: Session) -> Any:
            # write keys locked in ascending order (every writer's lock order), then the others read in the same
            # transaction
            locked = await s.run(self.q.lockn, (sorted(wk),)) if wk else []
            now = now_ms()
            rows = {r[0]: (r[1], r[2]) for r in locked}
            live = {k: p for k, (p, e) in rows.items() if e is None or e > now}
            if rk:
                live.update(await s.run(self.q.mget, (list(rk), now)))
            view = _SQLValues(self, wk, live)
            result = fn(view)
            await self._write_back(s, view, rows, live, now)
            return result

        return await self._session(body, savepoint=True)

    async def _write_back(self, s: Session, view: "_SQLValues", rows: dict, live: dict, now: int) -> None:
        """Store what ``update_many``'s fn changed: inserts first (a lost race starts over with nothing written),
        then the updates and deletions with the COMMIT."""
        inserts, last, touched = [], [], []
        new_keys = 0
        for k, (obj, keep_ttl) in view.writes.items():
            if not obj:
                if k in rows:
                    last.append((self.q.del1, (k, now)))
                if k in live:  # an empty result onto a missing key changes nothing (no watcher is touched)
                    touched.append(view.keys[k])
                continue
            payload = self._collection_payload(view.keys[k], obj)
            if k not in live:
                new_keys += 1
                if codec.is_list_or_zset(payload):
                    last.append(self._wake(view.keys[k]))
            if k in rows:
                exp = rows[k][1] if (keep_ttl and k in live) else None
                last.append((self.q.update_row, (payload, exp, k)))
            else:
                inserts.append((self.q.insert_new, (k, payload, None)))
            touched.append(view.keys[k])
        await self._check_room(s, new_keys)
        for q, params in inserts:
            if not await s.run(q, params):
                raise Retry()
        if last:
            await s.finish(*last)
        for key in touched:
            self.watches.touch(key)


class _SQLValues(Values):
    """``update_many``'s view: the payloads read under lock, decoded on first use; writes collected for the end."""

    __slots__ = ("store", "keys", "payloads", "got", "writes")

    def __init__(self, store, keys: dict, payloads: dict):
        self.store = store
        self.keys = keys          # key parameter -> key, for the keys that may be written
        self.payloads = payloads  # key parameter -> payload of every live key read
        self.got: dict = {}
        self.writes: dict = {}    # key parameter -> (value, keep its TTL)

    def get(self, key: bytes, kind: bytes) -> Any:
        k = self.store._k(key)
        if k in self.got:
            return self.got[k]
        payload = self.payloads.get(k)
        obj = None if payload is None else codec.as_kind(self.store.id, key, payload, kind)
        self.got[k] = obj
        return obj

    def put(self, key: bytes, value: Any) -> None:
        k = self.store._k(key)
        self.writes[k] = (value, False)
        self.got[k] = value

    def changed(self, key: bytes) -> None:
        k = self.store._k(key)
        self.writes[k] = (self.got[k], True)
