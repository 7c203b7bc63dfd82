"""The trio side of the bus between nodes (``respd.bus``): per database, a sender, a listener and a reader of large
bodies (``backends.pg.bus``), started with the server when it has SQL stores."""
from __future__ import annotations

from functools import partial


def start(app, nursery) -> None:
    """Make ``app.bus`` and start its tasks in nursery (the server's main one); nothing without SQL stores."""
    by_db: dict = {}
    for store in app.stores.values():
        db = getattr(store, "db", None)
        if store.is_async and db is not None and hasattr(store, "table_oid"):
            by_db.setdefault(db, []).append(store)
    if not by_db:
        return
    # lazy: only a server with SQL stores loads the PostgreSQL side
    from backends.pg.bus import CHANNEL, Inbox, Outbox
    from backends.pg.listen import Listener

    from ..bus import Bus

    bus = app.bus = Bus(app)
    for db in sorted(by_db, key=lambda d: d.id):
        link = bus.add_link(db, by_db[db])
        link.outbox = Outbox(db, bus.node, gather=partial(bus.gather, link))
        inbox = Inbox(db, bus.node, partial(bus.received, link))
        listener = Listener(db, inbox.notified, partial(bus.reconnected, link), channel=CHANNEL)
        nursery.start_soon(link.outbox.run)
        nursery.start_soon(inbox.run)
        nursery.start_soon(listener.run)
        for store in link.stores:
            store.watches.observers.append(bus.observer(link, store))
