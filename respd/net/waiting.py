"""The trio side of blocking operations (``respd.blocking`` holds who waits for what, without I/O).

``wait(blocking, w)`` is the coroutine a blocked client's reply is (installed as ``Blocking.wait`` by
``install``); the connection awaits it while watching its socket (``net.client``), so a client that hangs up is
cancelled out of it and leaves nothing behind.

- On a memory store the waiter sleeps on an event until ``Blocking.serve`` hands it a reply (set before it is
  woken), ``CLIENT UNBLOCK`` does, or its deadline passes (a null array). Sleeping costs no CPU.
- On a SQL store the waiter makes its own attempts: the first over every key (its command's non-blocking form),
  then one each time it is woken -- by its database's ``Listener`` when a node creates one of its keys, by the
  waiter before it when that one got an element (the next in line may get the next one), by the listener
  reconnecting (notifications may have been lost) -- and, for the first waiter of a key, every
  ``RECHECK`` seconds. Each attempt is one atomic store operation, so each element goes to exactly one client
  whichever node it is on. A waiter leaving for any reason wakes the next one on its keys.
"""
from __future__ import annotations

import logging
from functools import partial

import trio

from backends.base import now_ms
from backends.pg.listen import Listener, read_payload

from ..blocking import SKIP, Blocking, Waiter
from ..replies import NULL_ARRAY

log = logging.getLogger("respd.blocking")

#: seconds between the attempts of the first waiter of a SQL key when nothing wakes it (a lost notification)
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
        while True:
            if r is not None:
                return r
            if w.reply is not None:  # CLIENT UNBLOCK
                return w.reply
            with trio.move_on_at(min(deadline, trio.current_time() + RECHECK)) as scope:
                await flag.event.wait()
            if w.reply is not None:
                return w.reply
            if trio.current_time() >= deadline:
                return NULL_ARRAY
            r = None
            if scope.cancelled_caught and not any(blocking.first(store, k) is w for k in w.keys):
                continue  # a periodic look is for the first waiter of a key only
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


def _reconnected(blocking: Blocking, db) -> None:
    """Listening again after a failure: what was announced meanwhile is lost, so every first waiter looks."""
    for (store, key), queue in list(blocking.keys.items()):
        if store.is_async and getattr(store, "db", None) is db and queue and queue[0].wake is not None:
            queue[0].wake()
