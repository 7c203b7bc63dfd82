"""Messages between respd nodes through one PostgreSQL database: :class:`Outbox` sends, :class:`Inbox` receives.

A message is an opaque ``bytes`` body (respd gives it meaning, ``respd.bus``). It travels as ``NOTIFY respd_bus,
'<node> <body in base64>'``: every session LISTENing on the channel gets it when the sending transaction commits,
in commit order, so one sender's messages arrive everywhere in the order it sent them. NOTIFY's payload must stay
under 8000 bytes: a body over ``INLINE`` bytes is stored as a row of ``respd_bus_bodies`` (created the first time
one is needed) in the same transaction, and the notification says ``'<node> @<row id>'``; receivers read the row,
still in order (a message waits for the bodies before it). Rows older than ``KEEP`` seconds are deleted by the
senders now and then: a node that cannot read a body by then has lost the message.

Delivery is at most once, as Redis Pub/Sub's: what is published while PostgreSQL is unreachable is dropped (the
outbox empties when sending fails), and the outbox and inbox are bounded (``MAX_QUEUED``), dropping past that.
"""
from __future__ import annotations

import base64
import logging
from collections import deque
from typing import Callable, Optional

import trio

from backends.pg.errors import DATABASE_ERRORS

log = logging.getLogger("respd.bus")

CHANNEL = "respd_bus"
BODIES = "respd_bus_bodies"
#: largest body sent inside the notification: base64 makes it 4/3 larger, plus the node id, under 8000 bytes
INLINE = 5900
#: seconds a large body stays readable
KEEP = 300.0
#: most messages (or bytes / 1024) waiting to be sent or delivered; past it new ones are dropped
MAX_QUEUED = 100_000
MAX_QUEUED_BYTES = 64 * 1024 * 1024
#: most notifications in one statement
BATCH = 1000
#: seconds between two sends of a busy node (what is queued meanwhile goes in the next one)
GAP = 0.05

_NOTIFY = ("SELECT pg_notify('%s', t) FROM unnest(%%s::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n" % CHANNEL
           ).encode()
_INSERT = ("INSERT INTO %s (body) VALUES (%%s) RETURNING id" % BODIES).encode()
_SELECT = ("SELECT body FROM %s WHERE id = %%s" % BODIES).encode()
_PURGE = ("DELETE FROM %s WHERE at < now() - make_interval(secs => %%s)" % BODIES).encode()
_CREATE = ("CREATE TABLE IF NOT EXISTS %s (id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL, "
           "at TIMESTAMPTZ NOT NULL DEFAULT now())" % BODIES).encode()
# concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: nodes take this lock around it
_CREATE_LOCK = b"SELECT pg_advisory_xact_lock(7236271659340911)"


def _backoff(b: float) -> float:
    return min(b * 2, 5.0)


class Outbox:
    """The send side: ``put(body)`` queues a message (never blocks); ``run()`` sends what is queued on a connection
    of its own, everything queued meanwhile in one transaction. ``gather()`` (optional) is asked at each send for
    bodies to send first (respd coalesces key invalidations there)."""

    def __init__(self, db, node: str, gather: Optional[Callable[[], list]] = None):
        self.db = db
        self.node = node
        self.gather = gather
        self.queue: deque = deque()
        self.queued_bytes = 0
        self.sent = 0
        self.dropped = 0
        self._wake = trio.Event()
        self._table = False
        self._purged = 0.0
        self.gap = GAP

    def put(self, body: bytes) -> None:
        if len(self.queue) >= MAX_QUEUED or self.queued_bytes + len(body) > MAX_QUEUED_BYTES:
            self.dropped += 1
            return
        self.queue.append(body)
        self.queued_bytes += len(body)
        self._wake.set()

    def poke(self) -> None:
        """Something for ``gather`` is waiting."""
        self._wake.set()

    def _take(self) -> list:
        # gathered bodies first: respd's key invalidations announce writes made before what is queued now
        batch = self.gather() if self.gather is not None else []
        batch.extend(self.queue)
        self.queue.clear()
        self.queued_bytes = 0
        return batch

    async def run(self) -> None:
        backoff = 0.05
        while True:
            await self._wake.wait()
            try:
                conn = await self.db._connect()
            except DATABASE_ERRORS as ex:
                log.debug("bus of %s cannot connect: %s", self.db.id, ex)
                self._wake = trio.Event()
                self._drop(self._take())
                await trio.sleep(backoff)
                backoff = _backoff(backoff)
                continue
            backoff = 0.05
            try:
                while True:
                    await self._wake.wait()
                    self._wake = trio.Event()
                    batch = self._take()
                    try:
                        for i in range(0, len(batch), BATCH):
                            with trio.fail_after(self.db.command_timeout):
                                await self._send(conn, batch[i:i + BATCH])
                    except BaseException:
                        self._drop(batch)
                        raise
                    self.sent += len(batch)
                    if self._wake.is_set():
                        # more came while sending: a busy node sends once per GAP, a burst of writes and messages
                        # in one statement (what announcing costs stays a few statements a second); a quiet node
                        # sends each message at once
                        await trio.sleep(self.gap)
            except DATABASE_ERRORS as ex:
                log.warning("bus of database %s could not send (%s); messages meanwhile are lost", self.db.id, ex)
            finally:
                with trio.CancelScope(shield=True):
                    try:
                        await conn.close()
                    except Exception:
                        pass

    def _drop(self, batch: list) -> None:
        self.dropped += len(batch)

    async def _send(self, conn, batch: list) -> None:
        if not batch:
            return
        node = self.node
        if all(len(body) <= INLINE for body in batch):  # the usual case: one statement, its own transaction
            await conn.execute(_NOTIFY, ([node + " " + base64.b64encode(b).decode("ascii") for b in batch],))
            return
        texts = []
        async with conn.transaction():
            for body in batch:
                if len(body) <= INLINE:
                    texts.append(node + " " + base64.b64encode(body).decode("ascii"))
                    continue
                if not self._table:
                    await conn.execute(_CREATE_LOCK)
                    await conn.execute(_CREATE)
                    self._table = True
                cur = await conn.execute(_INSERT, (body,))
                texts.append("%s @%d" % (node, (await cur.fetchone())[0]))
            await conn.execute(_NOTIFY, (texts,))
        if self._table and trio.current_time() - self._purged > KEEP / 10:
            self._purged = trio.current_time()
            await conn.execute(_PURGE, (KEEP,))


class Inbox:
    """The receive side: ``notified(payload)`` is the listener's handler (``backends.pg.listen.Listener`` on
    ``CHANNEL``); ``handle(body)`` is called for each message of another node, in the order they were sent.
    ``run()`` reads the large bodies (a message waits behind one being read)."""

    def __init__(self, db, node: str, handle: Callable[[bytes], None]):
        self.db = db
        self.node = node
        self.handle = handle
        self.pending: deque = deque()   # row ids to read and bodies behind them
        self.received = 0
        self.dropped = 0
        self._wake = trio.Event()

    def notified(self, payload: str) -> None:
        node, _, rest = payload.partition(" ")
        if node == self.node or not rest:
            return
        self.received += 1
        if rest[0] == "@":
            try:
                item = int(rest[1:])
            except ValueError:
                return
        else:
            try:
                item = base64.b64decode(rest, validate=True)
            except ValueError:
                return
            if not self.pending:
                self._deliver(item)
                return
        if len(self.pending) >= MAX_QUEUED:
            self.dropped += 1
            return
        self.pending.append(item)
        self._wake.set()

    def _deliver(self, body: bytes) -> None:
        try:
            self.handle(body)
        except Exception:
            log.exception("bus message handler failed")

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            while self.pending:
                item = self.pending[0]
                if type(item) is int:
                    item = await self._read(item)
                self.pending.popleft()
                if item is not None:
                    self._deliver(item)

    async def _read(self, row: int) -> Optional[bytes]:
        try:
            with trio.fail_after(self.db.command_timeout):
                async with self.db.connection() as conn:
                    cur = await conn.execute(_SELECT, (row,))
                    found = await cur.fetchone()
        except DATABASE_ERRORS as ex:
            log.warning("bus of database %s could not read message %d (%s): lost", self.db.id, row, ex)
            found = None
        if found is None:
            self.dropped += 1
            return None
        return bytes(found[0])
