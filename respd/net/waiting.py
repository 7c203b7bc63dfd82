"""The trio side of blocking operations (``respd.blocking`` holds who waits for what, without I/O).

``wait(blocking, w)`` is the coroutine a blocked client's reply is (installed as ``Blocking.wait`` by
``install``); the connection awaits it while watching its socket (``net.client``), so a client that hangs up is
cancelled out of it and leaves nothing behind.

- On a memory store the waiter sleeps on an event until ``Blocking.serve`` hands it a reply (set before it is
  woken), ``CLIENT UNBLOCK`` does, or its deadline passes (a null array). Sleeping costs no CPU.
- On a SQL store the waiter makes its own attempts: the first over every key (its command's non-blocking form), then
  one each time it is woken -- by its database's ``Listener`` when a node creates one of its keys, by the waiter
  before it when that one got an element (the next in line may get the next one), by the listener reconnecting
  (notifications may have been lost), or by a look every ``RECHECK`` seconds that asks, in one statement per store,
  whether any waited-for key exists. Each attempt is one atomic store operation, so each element goes to exactly one
  client whichever node it is on. A waiter leaving for any reason wakes the next one on its keys.
"""
from __future__ import annotations

import logging
from functools import partial

import trio

from backends.base import StoreError, now_ms
from backends.pg.listen import Listener, read_payload

from ..blocking import SKIP, Blocking, Waiter
from ..replies import NULL_ARRAY

log = logging.getLogger("respd.blocking")

#: seconds between looks at the keys clients wait for on SQL stores, in case a notification was lost
RECHECK = 5.0


def install(app, nursery=None) -> None:
    """Make ``app.blocking`` usable: its waits are this module's; listeners start in nursery (the server's)."""
    app.blocking.wait = wait
    app.blocking.nursery = nursery
    app.blocking.stores = app.stores


def _at(deadline: int) -> float:
    """A deadline in Unix ms on trio's clock (inf for none)."""
    if not deadline:
        return float("inf")
    return trio.current_time() + (deadline - now_ms()) / 1000


async def wait(blocking: Blocking, w: Waiter):
    try:
        if w.store.is_async:
            return await _wait_async(blocking, w)
        if not w.done:  # (served between the command and this task's start: the reply is there)
            event = trio.Event()
            w.wake = event.set
            with trio.move_on_at(_at(w.deadline)):
                await event.wait()
        return w.reply if w.reply is not None else NULL_ARRAY
    finally:
        blocking.leave(w)


class _Flag:
    """A wake-up that is not lost while the waiter is busy: ``set`` marks the current event, which the waiter
    replaces before each attempt."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = trio.Event()

    def set(self) -> None:
        self.event.set()


async def _wait_async(blocking: Blocking, w: Waiter):
    flag = _Flag()
    w.wake = flag.set
    store = w.store
    await _listening(blocking, store.db)
    deadline = _at(w.deadline)
    try:
        flag.event = trio.Event()
        r = await w.initial()  # errors (WRONGTYPE, a store outage) are the reply
        if r is None:
            blocking.count(w)
        while True:
            if r is not None:
                return r
            if w.reply is not None:  # CLIENT UNBLOCK
                return w.reply
            # without a listener (no server nursery: the pipeline driven alone) the waiter looks on its own
            own_look = trio.current_time() + RECHECK if blocking.nursery is None else float("inf")
            with trio.move_on_at(min(deadline, own_look)):
                await flag.event.wait()
            if w.reply is not None:
                return w.reply
            if trio.current_time() >= deadline:
                return NULL_ARRAY
            r = None
            flag.event = trio.Event()
            for key in w.keys:
                got = await w.attempt(key)
                if got is not None and got is not SKIP:
                    r = got
                    break
    finally:
        blocking.leave(w)
        for key in w.keys:  # the next in line may get what is left (or what this one was woken for)
            nxt = blocking.first(store, key)
            if nxt is not None and nxt.wake is not None:
                nxt.wake()


# ---------------------------------------------------------------------------------------------- listeners
async def _listening(blocking: Blocking, db) -> None:
    """Make sure db's listener runs (started at the first client blocking on one of its stores) and, for a bounded
    time, that it listens: a creation committed after this returns reaches the waiter."""
    listener = blocking.listeners.get(db)
    if listener is None:
        if blocking.nursery is None:  # not serving (tests driving the pipeline alone): periodic looks only
            return
        listener = Listener(db, partial(_notified, blocking, db), partial(_reconnected, blocking, db))
        blocking.listeners[db] = listener
        blocking.nursery.start_soon(listener.run)
        blocking.nursery.start_soon(_look_now_and_then, blocking, db)
    if not listener.connected.is_set():
        with trio.move_on_after(db.connect_timeout):
            await listener.connected.wait()


def _notified(blocking: Blocking, db, payload: str) -> None:
    got = read_payload(payload)
    if got is None:
        return
    oid, key = got
    for store in blocking.stores.values():
        if store.is_async and getattr(store, "db", None) is db and store.table_oid == oid:
            blocking.created(store, key)


async def _look_now_and_then(blocking: Blocking, db) -> None:
    """Every ``RECHECK`` seconds, one statement per SQL store of db that has blocked clients: do any of their keys
    exist? If so, the first waiter of each key looks (a notification was lost). Idle blocked clients cost one
    query per store per interval, however many they are."""
    while True:
        await trio.sleep(RECHECK)
        by_store: dict = {}
        for (store, key), queue in list(blocking.keys.items()):
            if store.is_async and getattr(store, "db", None) is db and queue:
                by_store.setdefault(store, []).append(key)
        for store, keys in by_store.items():
            try:
                found = await store.exists(keys)
            except StoreError:
                continue  # PostgreSQL is away: the listener's reconnection wakes everyone
            if found:
                for key in keys:
                    w = blocking.first(store, key)
                    if w is not None and w.wake is not None:
                        w.wake()


def _reconnected(blocking: Blocking, db) -> None:
    """Listening again after a failure: what was announced meanwhile is lost, so every first waiter looks."""
    for (store, key), queue in list(blocking.keys.items()):
        if store.is_async and getattr(store, "db", None) is db and queue and queue[0].wake is not None:
            queue[0].wake()
