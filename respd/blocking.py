"""Blocking operations without I/O: who waits for which keys, and how elements reach them (Redis' blocked.c).

A client whose BLPOP (BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP) finds nothing to take becomes a
``Waiter``, registered under each of its keys in arrival order (``Blocking.keys``). Its command's reply is the
coroutine ``Blocking.block`` returns, which the trio layer installs (``respd.net.waiting``) and the connection
awaits; the connection keeps watching the socket meanwhile, so a client that hangs up leaves nothing behind.

How a waiter gets something depends on its store:

- **Memory stores, at once, as Redis.** The store reports every key it creates (``Store.on_created``: a push onto
  a missing list, ZADD onto a missing sorted set, LMOVE's destination, RENAME...). After the command that created
  it -- after EXEC for a transaction, after a script -- ``serve`` hands the key's elements to its waiters in the
  order they blocked, each through the waiter's own ``attempt`` on the store, before the next command runs. So a
  key filled and emptied within one transaction wakes nobody, and a pipelined LPOP after an LPUSH finds the element
  already taken by the blocked client, as in Redis.
- **SQL stores, across nodes.** A creation is announced through PostgreSQL (``NOTIFY``, delivered on commit to
  every node's listener), which calls ``created`` too; the trio layer then wakes the first waiter on the key
  (``first``), which makes its own attempt -- one atomic store operation under the row's lock, so each element goes
  to exactly one waiter whatever the node -- and, when it got something, wakes the next one. A waiter also tries
  again when the listener reconnects and, for the first waiter of a key, at a bounded interval, so a lost
  notification never strands it.

A waiter's ``attempt(key)`` is its command's non-blocking form applied to one key: the reply, ``None`` when the
key has nothing for it, or ``SKIP`` when the key holds another type (Redis leaves such a waiter blocked).
"""
from __future__ import annotations

import logging
from collections import deque
from functools import partial
from typing import Any, Callable, Optional

from .errors import INTERNAL_ERROR, UNBLOCKED
from .replies import NULL_ARRAY, Err

#: ``Waiter.attempt``'s answer when the key holds a type the waiter does not wait for
SKIP = object()
log = logging.getLogger("respd.blocking")


class Waiter:
    """One blocked client: its session, store and keys, what it does with a key that has something
    (``attempt``), its reply once it has one (``reply``) and the deadline (Unix ms, 0 = none)."""

    __slots__ = ("sess", "store", "keys", "attempt", "initial", "deadline", "reply", "wake", "done", "counted")

    def __init__(self, sess, keys: list[bytes], attempt: Callable[[bytes], Any], deadline: int):
        self.sess = sess
        self.store = sess.store
        seen = set()
        self.keys = [k for k in keys if not (k in seen or seen.add(k))]  # BLPOP k k blocks once on k
        self.attempt = attempt
        self.initial = None             # async stores: the first attempt over every key, made by the waiting task
        self.deadline = deadline
        self.reply: Any = None          # set once served, unblocked or timed out
        self.wake: Optional[Callable[[], None]] = None  # set by the trio layer: wakes the waiting task
        self.done = False               # left the registry (served, unblocked, timed out, gone)
        self.counted = False            # in INFO blocked_clients: once a look found nothing (``count``)


class Blocking:
    """The registry of blocked clients: ``keys`` maps (store, key) to the waiters on it, first blocked first."""

    def __init__(self) -> None:
        self.keys: dict[tuple, deque] = {}
        self.ready: list[tuple] = []    # (store, key) created since the last ``serve`` (memory stores)
        self._ready_set: set = set()
        self.blocked = 0                # INFO blocked_clients
        #: installed by the trio layer (respd.net.waiting.install): the coroutine a blocked client's reply is, the
        #: nursery database listeners run in, the stores notifications are matched to; the listeners it started
        self.wait: Optional[Callable[["Blocking", Waiter], Any]] = None
        self.nursery = None
        self.stores: dict = {}
        self.listeners: dict = {}

    # ------------------------------------------------------------------------------------------ blocking
    def block(self, w: Waiter) -> Any:
        """Register w and return the coroutine that resolves to its reply (see ``respd.net.waiting``)."""
        store = w.store
        if store.on_created is None:
            store.on_created = partial(self.created, store)
        for key in w.keys:
            queue = self.keys.get((store, key))
            if queue is None:
                queue = self.keys[(store, key)] = deque()
            queue.append(w)
        if not store.is_async:  # (a memory store's waiter looked already; a SQL store's looks in its task: count)
            self.count(w)
        w.sess.blocked = w
        return self.wait(self, w)

    def count(self, w: Waiter) -> None:
        """w is blocked for INFO's blocked_clients: its first look found nothing. A SQL store's waiter is registered
        before that look (a creation meanwhile is not missed) but counted only after it, as Redis counts a client
        once it blocks: whoever sees it counted knows its first look is done."""
        if not w.counted and not w.done:
            w.counted = True
            self.blocked += 1

    def leave(self, w: Waiter) -> None:
        """Take w out of the registry (served, unblocked, timed out, disconnected); idempotent."""
        if w.done:
            return
        w.done = True
        if w.counted:
            self.blocked -= 1
        if w.sess.blocked is w:
            w.sess.blocked = None
        for key in w.keys:
            queue = self.keys.get((w.store, key))
            if queue is not None:
                try:
                    queue.remove(w)
                except ValueError:
                    pass
                if not queue:
                    del self.keys[(w.store, key)]

    def finish(self, w: Waiter, reply: Any) -> None:
        """w has its reply: out of the registry, and its task woken to send it."""
        w.reply = reply
        self.leave(w)
        if w.wake is not None:
            w.wake()

    def first(self, store, key: bytes) -> Optional[Waiter]:
        queue = self.keys.get((store, key))
        return queue[0] if queue else None

    # ------------------------------------------------------------------------------------------ waking
    def created(self, store, key: bytes) -> None:
        """``Store.on_created``: store created key. Memory stores: queued for ``serve``; async stores: the first
        waiter on the key is woken to try."""
        if (store, key) not in self.keys:
            return
        if store.is_async:
            w = self.first(store, key)
            if w is not None and w.wake is not None:
                w.wake()
            return
        if (store, key) not in self._ready_set:
            self._ready_set.add((store, key))
            self.ready.append((store, key))

    def serve(self) -> None:
        """Hand the keys created since the last call to their waiters (memory stores; called after each command
        that is not part of a transaction or a script): for each key in the order it was created, each waiter in
        the order it blocked gets what its attempt takes, until the key has nothing left. A waiter's attempt may
        create another key (BLMOVE's destination), served in turn."""
        while self.ready:
            ready, self.ready = self.ready, []
            for store, key in ready:
                self._ready_set.discard((store, key))
                queue = self.keys.get((store, key))
                if not queue:
                    continue
                for w in list(queue):
                    if w.done:
                        continue
                    try:
                        r = w.attempt(key)
                    except Exception:  # a defect: the blocked client gets an error, the pushing client nothing
                        log.exception("serving a blocked client failed")
                        self.finish(w, Err(INTERNAL_ERROR % w.sess.last_cmd.decode(errors="replace")))
                        continue
                    if r is SKIP:
                        continue
                    if r is None:
                        break
                    self.finish(w, r)

    def timed(self) -> int:
        """INFO clients_in_timeout_table: blocked clients with a deadline."""
        return len({id(w) for queue in self.keys.values() for w in queue if w.deadline})

    # ------------------------------------------------------------------------------------------ CLIENT UNBLOCK
    def unblock(self, sess, error: bool) -> bool:
        """CLIENT UNBLOCK: end sess's wait as a timeout (a null reply) or with ``-UNBLOCKED``; False if it was not
        blocked."""
        w = getattr(sess, "blocked", None)
        if w is None or w.done:
            return False
        self.finish(w, Err(UNBLOCKED) if error else NULL_ARRAY)
        return True
