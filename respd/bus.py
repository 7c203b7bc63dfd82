"""What respd nodes tell each other, without I/O: Pub/Sub messages and the keys written on shared SQL stores.

Nodes sharing a PostgreSQL database (a ``db.sql.postgres`` entry used by SQL stores) exchange messages through it
(``backends.pg.bus``: NOTIFY, large bodies in a table; ``net.bus`` runs it). A deployment of memory stores only has
no bus and needs no database. ``app.bus`` is the :class:`Bus` (None without one); one :class:`Link` per database.

What travels (a msgpack list ``[seq, kind, ...]``; ``seq`` counts a node's messages, so two equal messages in one
transaction stay two: PostgreSQL folds identical notifications of a transaction into one):

* ``p``/``s`` channel message — PUBLISH / SPUBLISH on another node. Every node delivers it to its own subscribers
  (channels, patterns, shard channels, as its own PUBLISH would; ``pubsub.publish`` with ``spread=False``). Pub/Sub
  uses one database: of those the SQL stores use, the first by id. PUBLISH's reply counts the receivers on the
  publishing node only, as PUBLISH in a Redis Cluster does (the other nodes' are not known when it answers). One
  publisher's messages reach every node in the order published.
* ``k`` table-oid keys / ``f`` table-oid — keys written (``f``: flushed) on a SQL store's table by another node.
  The node touches them on each of its stores on that table (``WatchTable.touch(key, local=False)``): client
  tracking sends its invalidations and WATCHed keys turn dirty, as for a local write. A node gathers the keys its
  clients write between two sends (at most ``MAX_KEYS`` per table; past that, the table is announced flushed), so
  a burst of writes costs one notification per send, not one per write. When a node's listening connection
  (re)connects, notifications may have been lost: it takes every table of that database as flushed.
"""
from __future__ import annotations

import os
from typing import Optional

import msgpack

from . import pubsub

PUBLISH, SPUBLISH, KEYS, FLUSH = "p", "s", "k", "f"
#: most keys of one table gathered for one send; past it the table is announced as flushed
MAX_KEYS = 10_000
#: bytes of keys in one ``k`` message (so that it fits in a notification: ``backends.pg.bus.INLINE``)
KEYS_BYTES = 5000


class Link:
    """One database: its SQL stores on this node, the sender (``outbox``: an object with ``put(body)`` and
    ``poke()``, set by ``net.bus``) and the keys written since the last send."""

    __slots__ = ("db", "stores", "outbox", "keys", "flushed")

    def __init__(self, db, stores: list):
        self.db = db
        self.stores = stores
        self.outbox = None
        self.keys: dict[int, set] = {}   # table oid -> keys written
        self.flushed: set = set()        # table oids flushed


class Bus:
    __slots__ = ("app", "node", "seq", "links", "pubsub_link")

    def __init__(self, app, node: Optional[str] = None):
        self.app = app
        self.node = node or os.urandom(6).hex()
        self.seq = 0
        self.links: list[Link] = []
        self.pubsub_link: Optional[Link] = None

    def body(self, kind: str, *fields) -> bytes:
        self.seq += 1
        return msgpack.packb([self.seq, kind, *fields], use_bin_type=True)

    def add_link(self, db, stores: list) -> Link:
        link = Link(db, stores)
        self.links.append(link)
        if self.pubsub_link is None:
            self.pubsub_link = link
        return link

    # -- sending
    def publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        link = self.pubsub_link
        if link is not None and link.outbox is not None:
            link.outbox.put(self.body(SPUBLISH if shard else PUBLISH, channel, message))

    def observer(self, link: Link, store):
        """The ``WatchTable`` observer of a SQL store: gathers the keys this node writes there."""
        def written(key, local):
            if not local:
                return
            oid = store.table_oid
            if not oid:
                return
            if key is None:
                link.flushed.add(oid)
                link.keys.pop(oid, None)
            elif oid not in link.flushed:
                keys = link.keys.get(oid)
                if keys is None:
                    keys = link.keys[oid] = set()
                keys.add(key)
                if len(keys) > MAX_KEYS:
                    link.flushed.add(oid)
                    del link.keys[oid]
            if link.outbox is not None:
                link.outbox.poke()
        return written

    def gather(self, link: Link) -> list:
        """The bodies announcing what was written since the last send (the outbox asks at each send)."""
        out = [self.body(FLUSH, oid) for oid in link.flushed]
        for oid, keys in link.keys.items():
            chunk, size = [], 0
            for key in keys:
                if chunk and size + len(key) > KEYS_BYTES:
                    out.append(self.body(KEYS, oid, chunk))
                    chunk, size = [], 0
                chunk.append(key)
                size += len(key) + 3
            if chunk:
                out.append(self.body(KEYS, oid, chunk))
        link.keys = {}
        link.flushed = set()
        return out

    # -- receiving
    def received(self, link: Link, body: bytes) -> None:
        """A message of another node (in the order that node sent them)."""
        try:
            msg = msgpack.unpackb(body, raw=True, use_list=True)
            kind = msg[1]
        except Exception:
            return
        if kind == b"p" or kind == b"s":
            pubsub.publish(self.app, msg[2], msg[3], kind == b"s", spread=False)
        elif kind == b"k":
            oid = msg[2]
            for store in link.stores:
                if store.table_oid == oid:
                    touch = store.watches.touch
                    for key in msg[3]:
                        touch(key, False)
        elif kind == b"f":
            oid = msg[2]
            for store in link.stores:
                if store.table_oid == oid:
                    store.watches.touch_all(False)

    def reconnected(self, link: Link) -> None:
        """The link's listener (re)connected: what was sent meanwhile is lost, so every table counts as flushed."""
        for store in link.stores:
            store.watches.touch_all(False)
