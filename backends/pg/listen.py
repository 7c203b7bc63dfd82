"""PostgreSQL's LISTEN/NOTIFY as the bus between respd nodes: :class:`Listener`.

A SQL store that creates a key clients may block on (a list, a sorted set) sends ``NOTIFY respd_wake, '<table oid>
<key in hex>'`` in the transaction that creates it (``wake_payload``); PostgreSQL delivers it when that transaction
commits, to every session listening on the channel, in commit order. A node keeps one listening connection per
database (``Listener``), opened when a client first blocks on one of its stores and kept for the life of the
server. While idle it costs nothing but its socket: the task sleeps in trio's wait for the socket to turn
readable, and sends a ``SELECT 1`` after ``heartbeat`` seconds of silence, so a connection that died silently is
noticed.

When the connection fails, the listener reconnects with a growing pause (up to ``max_backoff``) and, once
listening again, calls ``on_connect``: notifications sent meanwhile are lost, so whoever waits must look again.
"""
from __future__ import annotations

import logging
from typing import Callable

import trio

from backends.pg.connection import consume_notifies
from backends.pg.errors import DATABASE_ERRORS

log = logging.getLogger("respd.store")

#: the channel every respd node listens on and SQL stores notify
CHANNEL = "respd_wake"
#: the statement announcing a key's creation (one parameter: ``wake_payload``)
NOTIFY = b"SELECT pg_notify('" + CHANNEL.encode() + b"', %s)"


def wake_payload(table_oid: int, key: bytes) -> str:
    """What a notification says: which table (its oid: the same whatever name a node's registry gives it) and
    which key (hex: any bytes, far within NOTIFY's 8000-byte limit for a 255-byte key)."""
    return "%d %s" % (table_oid, key.hex())


def read_payload(payload: str):
    """``wake_payload``'s (table oid, key); None for a payload that is not one."""
    oid, _, key = payload.partition(" ")
    try:
        return int(oid), bytes.fromhex(key)
    except ValueError:
        return None


class Listener:
    """One connection of a database LISTENing on ``channel`` (``CHANNEL`` unless told; ``backends.pg.bus`` listens
    on its own). ``on_notify(payload)`` is called for each
    notification, ``on_connect()`` each time listening (re)starts; ``connected`` is set while it listens."""

    heartbeat = 30.0
    max_backoff = 5.0

    def __init__(self, db, on_notify: Callable[[str], None], on_connect: Callable[[], None],
                 channel: str = CHANNEL):
        self.db = db
        self.channel = channel
        self.on_notify = on_notify
        self.on_connect = on_connect
        self.connected = trio.Event()
        self.connects = 0

    async def run(self) -> None:
        """Listen forever (cancelled at server stop), reconnecting after failures."""
        backoff = 0.05
        while True:
            try:
                conn = await self.db._connect()
            except DATABASE_ERRORS as ex:
                log.debug("listener of %s cannot connect: %s", self.db.id, ex)
            else:
                try:
                    await self._listen(conn)
                except DATABASE_ERRORS as ex:
                    log.warning("listener of database %s lost its connection (%s); reconnecting", self.db.id, ex)
                    backoff = 0.05
                finally:
                    if self.connected.is_set():
                        self.connected = trio.Event()
                    with trio.CancelScope(shield=True):
                        try:
                            await conn.close()
                        except Exception:
                            pass
            await trio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _notified(self, n) -> None:
        try:
            self.on_notify(n.payload)
        except Exception:
            log.exception("notification handler failed")

    async def _listen(self, conn) -> None:
        # psycopg hands every notification it reads (during a statement, or in consume_notifies below) to the
        # handler; with a handler registered it keeps no backlog
        conn.add_notify_handler(self._notified)
        with trio.fail_after(self.db.command_timeout):
            await conn.execute("LISTEN " + self.channel)
        self.connects += 1
        self.connected.set()
        self.on_connect()
        pgconn = conn.pgconn
        while True:
            with trio.move_on_after(self.heartbeat) as idle:
                await trio.lowlevel.wait_readable(pgconn.socket)
            if idle.cancelled_caught:
                with trio.fail_after(self.db.command_timeout):
                    await conn.execute("SELECT 1")
                continue
            pgconn.consume_input()  # raises OperationalError when the server is gone
            consume_notifies(pgconn)
