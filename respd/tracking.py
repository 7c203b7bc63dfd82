"""Client-side caching (Redis' client tracking) on one node, without I/O: who may hold which key, and the
invalidation frames to send them.

What Redis 7.0.15 does, and respd with it (``src/tracking.c``, the CLIENT TRACKING part of ``src/networking.c``,
``call()`` in ``src/server.c``):

* **Remembering.** After a command flagged ``readonly`` runs for a tracking client (not BCAST; with OPTIN only
  right after ``CLIENT CACHING yes``, with OPTOUT not right after ``CLIENT CACHING no``), each of its keys (the
  command's key specs, ``commands.meta.keys_of``) maps to the client's id in one table. Errors included (a GET on
  a list still remembers the key). Inside MULTI each queued read remembers its keys when EXEC runs it; a script's
  read commands remember the keys the script declared (EVAL's KEYS), as Redis does; EVAL_RO/EVALSHA_RO/FCALL_RO
  themselves remember nothing beyond their reads.
* **One table for every store.** Redis keys its table by key name only, not per database: a write to ``k`` in
  db 1 invalidates ``k`` read in db 0. respd does the same across all its stores (memory and SQL): one observer
  per store (``WatchTable.observers``) feeds this table, registered while at least one client tracks (so memory
  stores pay nothing otherwise).
* **Invalidating.** A write to a remembered key sends ``invalidate [key]`` to each client the table names (and
  forgets the key: it must be read again to be tracked again), except the writer itself under NOLOOP. A message to
  the writer itself is sent *after* the reply of its command (Redis' ``tracking_pending_keys``: after EXEC's whole
  reply in a transaction). Writes made by other respd nodes (``local=False`` touches) invalidate the same way;
  NOLOOP never applies to them. A flush (FLUSHDB, FLUSHALL) sends every tracking client (BCAST ones too) a null
  instead of a key list, and empties the table.
* **Frames.** RESP3: a push ``>2 invalidate <keys>``. With ``REDIRECT id`` the message goes to that client: a push
  when it speaks RESP3, a Pub/Sub ``message`` on ``__redis__:invalidate`` when it is a RESP2 client subscribed to
  something (Redis' CLIENT_PUBSUB), else nothing. A RESP2 client without a redirect gets nothing (RESP2 has no
  pushes). The null of a flush is the *tracking* client's null (``_`` in RESP3, ``$-1`` in RESP2, even when its
  target speaks the other protocol), as Redis writes it. A redirect to a client that has gone marks the tracking
  client ``broken_redirect`` (flag R) and, for a RESP3 tracking client, sends it ``tracking-redir-broken <id>``
  each time a message could not be delivered.
* **BCAST.** A write of a key under one of a BCAST client's prefixes is remembered per prefix with its writer;
  the keys collected are sent once per batch, prefix by prefix, both sorted bytewise (Redis' radix tree order),
  to each client of the prefix (without the keys it wrote itself under NOLOOP). BCAST without PREFIX is the
  prefix "" (every key). Redis sends a batch in ``beforeSleep``, once per event loop iteration; respd sends it when the task that made the writes next yields to trio (``schedule``: the
  trio layer runs ``broadcast`` from a task woken then), which is the same thing: the poller serves every ready
  client's requests, then yields. Flush nulls to clients other than the flusher go out the same way (so FLUSHALL,
  which flushes every store, sends one null, as Redis does).
* **Limit.** ``tracking-table-max-keys`` (default 1000000, 0 = none): past it keys are forgotten, sending their
  invalidations as if they had been written. Redis picks them by a random walk; respd forgets the oldest first
  (insertion order), which keeps the cost bounded and the tests deterministic. Like Redis, at most
  ``100 * (times in a row it could not get under the limit + 1)`` keys per check; checked after each tracked read
  and at CONFIG SET.
* **State going away.** CLIENT TRACKING OFF, RESET and disconnection end a client's tracking; its ids stay in the
  table and are dropped lazily (as Redis: ``tracking_total_items`` counts them until the key is written, flushed
  or evicted); client ids are never reused, so a stale id never reaches anyone.
"""
from __future__ import annotations

import contextvars
import types
from typing import Any, Callable, Optional

from .commands.meta import keys_of

_Coroutine = types.CoroutineType

#: the session whose command runs now, when that session tracks (Redis' ``server.current_client`` as far as
#: tracking cares: NOLOOP and the messages held until after the reply). A context variable, so that a command
#: awaiting a SQL store keeps it in its own task while other clients run.
CURRENT: contextvars.ContextVar = contextvars.ContextVar("respd_tracking_current", default=None)

_NO_SELF_TRACKING = frozenset(("eval_ro", "evalsha_ro", "fcall_ro"))
CHANNEL = b"__redis__:invalidate"
_PUSH_HDR = b">2\r\n$10\r\ninvalidate\r\n"
_MSG_HDR = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def key_body(key: bytes) -> bytes:
    return b"*1\r\n" + _bulk(key)


def keys_body(keys: list) -> bytes:
    return b"*%d\r\n" % len(keys) + b"".join(_bulk(k) for k in keys)


class ClientTracking:
    """One client's tracking state (``Session.tracking``; None while tracking is off)."""

    __slots__ = ("sess", "redirect", "bcast", "optin", "optout", "noloop", "caching", "broken", "prefixes",
                 "pending", "script")

    def __init__(self, sess) -> None:
        self.sess = sess
        self.redirect = 0          # client id, 0 = none
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False       # CLIENT CACHING yes/no given for the next command (or transaction)
        self.broken = False        # the redirect target has gone
        self.prefixes: dict = {}   # BCAST prefixes (an ordered set)
        self.pending: list = []    # keys (None: a flush) for this client, held until its reply has been written
        self.script = None         # (cmd, argv) of the EVAL running for this client: what its reads remember

    def flags(self) -> list:
        """CLIENT TRACKINGINFO's flags (after ``on``)."""
        out = [b"on"]
        if self.bcast:
            out.append(b"bcast")
        if self.optin:
            out.append(b"optin")
            if self.caching:
                out.append(b"caching-yes")
        if self.optout:
            out.append(b"optout")
            if self.caching:
                out.append(b"caching-no")
        if self.noloop:
            out.append(b"noloop")
        if self.broken:
            out.append(b"broken_redirect")
        return out


class _Prefix:
    __slots__ = ("keys", "clients")

    def __init__(self) -> None:
        self.keys: dict = {}      # key -> the session that wrote it last (None: not a tracking client / remote)
        self.clients: dict = {}   # session id -> session


def _default_send(sess, data: bytes) -> None:
    """Queue data on a session's connection (no connection: dropped)."""
    c = sess.io
    if c is None or sess.closing:
        return
    c.out.append(data)
    c.size += len(data)
    notify = c.notify
    if notify is not None:
        notify()


class Tracking:
    """The server's side (``app.tracking``): the table of remembered keys, the BCAST prefixes, the limit.

    ``send(session, data)`` queues bytes on a client's connection (the trio layer installs one that also wakes an
    idle client); ``schedule()`` asks for ``broadcast()`` to run once the current task yields (installed by the
    trio layer; None: the caller runs ``broadcast`` itself, as the unit tests do)."""

    def __init__(self, app) -> None:
        self.app = app
        self.table: dict = {}        # key -> {client id: None}
        self.items = 0               # ids across the table (INFO tracking_total_items)
        self.prefixes: dict = {}     # prefix -> _Prefix (the union of every BCAST client's prefixes)
        self.clients = 0             # tracking clients (INFO tracking_clients)
        self.max_keys = 1000000
        self.send: Callable = _default_send
        self.schedule: Optional[Callable] = None
        self.flushes: dict = {}      # session id -> session: tracking clients owed a flush null (next broadcast)
        self._observer = self.touched
        self._observed: list = []    # the stores' WatchTables holding our observer
        self._over = 0               # checks in a row that could not get under max_keys

    # ------------------------------------------------------------------------------------------ modes
    def enable(self, sess, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool,
               prefixes: list) -> None:
        """CLIENT TRACKING ON with checked options (enableTracking): keeps a BCAST client's earlier prefixes."""
        tr = sess.tracking
        if tr is None:
            tr = sess.tracking = ClientTracking(sess)
            self.clients += 1
            if self.clients == 1:
                self._observe()
        tr.broken = tr.bcast = tr.optin = tr.optout = tr.noloop = False
        tr.redirect = redirect
        if bcast:
            tr.bcast = True
            for p in prefixes or [b""]:
                state = self.prefixes.get(p)
                if state is None:
                    state = self.prefixes[p] = _Prefix()
                state.clients[sess.id] = sess
                tr.prefixes[p] = None
        tr.optin, tr.optout, tr.noloop = optin, optout, noloop

    def disable(self, sess) -> None:
        """CLIENT TRACKING OFF, RESET, disconnection (disableTracking)."""
        tr = sess.tracking
        if tr is None:
            return
        sess.tracking = None
        for p in tr.prefixes:
            state = self.prefixes.get(p)
            if state is not None:
                state.clients.pop(sess.id, None)
                if not state.clients:
                    del self.prefixes[p]
        self.flushes.pop(sess.id, None)
        self.clients -= 1
        if self.clients == 0:
            self._unobserve()

    def _observe(self) -> None:
        seen = set()
        for store in self.app.stores.values():
            w = store.watches
            if id(w) not in seen:
                seen.add(id(w))
                w.observers.append(self._observer)
                self._observed.append(w)

    def _unobserve(self) -> None:
        for w in self._observed:
            try:
                w.observers.remove(self._observer)
            except ValueError:
                pass
        self._observed = []

    # ------------------------------------------------------------------------------------------ commands
    def run(self, sess, cmd, argv: list, inner: Callable) -> Any:
        """Run a command for a session that tracks (or a script's session whose caller tracks) through ``inner``
        (dispatch's execution): remember its keys, and after a top-level command write what this client is owed
        after its reply (its own invalidations, a flush null) to ``c.echo``."""
        top = CURRENT.get() is None
        tr = sess.tracking
        if not top:
            r = inner(sess, cmd, argv)
            if type(r) is _Coroutine:
                return self._finish(sess, cmd, argv, r, False)
            self._after(sess, cmd, argv, False)
            return r
        token = CURRENT.set(tr.sess)
        tr.script = (cmd, argv) if cmd.runs_script else None
        try:
            r = inner(sess, cmd, argv)
            if type(r) is _Coroutine:
                return self._finish(sess, cmd, argv, r, True)
            self._after(sess, cmd, argv, True)
            return r
        finally:
            CURRENT.reset(token)

    async def _finish(self, sess, cmd, argv, coro, top: bool) -> Any:
        if not top:
            r = await coro
            self._after(sess, cmd, argv, False)
            return r
        token = CURRENT.set(sess.tracking.sess if sess.tracking is not None else sess)
        try:
            r = await coro
            self._after(sess, cmd, argv, True)
            return r
        finally:
            CURRENT.reset(token)

    def _after(self, sess, cmd, argv: list, top: bool) -> None:
        tr = sess.tracking
        if tr is None:  # CLIENT TRACKING OFF, RESET: what it was owed still goes out after the reply
            if top:
                self._owed(sess)
            return
        if "readonly" in cmd.flags and cmd.name not in _NO_SELF_TRACKING:
            self.remember(tr, cmd, argv, sess.in_script)
        if top:
            owner = tr.sess
            if owner.multi is None and cmd.container != "CLIENT":
                tr.caching = False
            tr.script = None
            self.limit()
            self._owed(owner)

    def _owed(self, sess) -> None:
        tr = sess.tracking
        pending = tr.pending if tr is not None else None
        if not pending:
            return
        tr.pending = []
        for key in pending:
            self.message(sess, None if key is None else key_body(key), flush=key is None, after_reply=True)

    def remember(self, tr: ClientTracking, cmd, argv: list, in_script: bool = False) -> None:
        """trackingRememberKeys: the keys of a read command this client ran."""
        if tr.bcast or (tr.optin and not tr.caching) or (tr.optout and tr.caching):
            return
        if in_script:
            if tr.script is None:
                return
            cmd, argv = tr.script
        if "pubsub" in cmd.flags:
            return
        cid = tr.sess.id
        table = self.table
        for key, _spec in keys_of(cmd, argv):
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if cid not in ids:
                ids[cid] = None
                self.items += 1

    # ------------------------------------------------------------------------------------------ writes
    def touched(self, key: Optional[bytes], local: bool = True) -> None:
        """A store's observer: key written (None: the store was flushed), here (local) or by another node."""
        if key is None:
            self.flushed(local)
            return
        current = CURRENT.get() if local else None
        if self.prefixes:
            marked = False
            for p, state in self.prefixes.items():
                if key.startswith(p):
                    state.keys[key] = current
                    marked = True
            if marked and self.schedule is not None:
                self.schedule()
        self.invalidate(key, current)

    def invalidate(self, key: bytes, current=None) -> None:
        """trackingInvalidateKey: tell every client the table names for key, and forget the key."""
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        clients = self.app.clients
        for cid in ids:
            target = clients.get(cid)
            tr = target.tracking if target is not None else None
            if tr is None or tr.bcast:
                continue
            if target is current:
                if tr.noloop:
                    continue
                tr.pending.append(key)  # after its reply
                continue
            self.message(target, key_body(key))

    def flushed(self, local: bool = True) -> None:
        """trackingInvalidateKeysOnFlush: a null for every tracking client, and an empty table."""
        current = CURRENT.get() if local else None
        for sess in list(self.app.clients.values()):
            tr = sess.tracking
            if tr is None:
                continue
            if sess is current:
                if not tr.pending or tr.pending[-1] is not None:
                    tr.pending.append(None)
            else:
                self.flushes[sess.id] = sess
        self.table = {}
        self.items = 0
        if self.flushes and self.schedule is not None:
            self.schedule()

    # ------------------------------------------------------------------------------------------ delivery
    def message(self, sess, body: Optional[bytes], flush: bool = False, after_reply: bool = False) -> None:
        """sendTrackingMessage: ``body`` (a RESP array of keys; None with ``flush``: the client's null) to the
        tracking client ``sess`` or its redirect target."""
        tr = sess.tracking
        if tr is None:
            return
        if body is None:
            body = _NULL[sess.proto]
        target = sess
        redirected = False
        if tr.redirect:
            target = self.app.clients.get(tr.redirect)
            if target is None:
                tr.broken = True
                if sess.proto > 2:
                    self._out(sess, b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % tr.redirect, after_reply)
                return
            redirected = True
        if target.proto > 2:
            self._out(target, _PUSH_HDR + body, after_reply and target is sess)
        elif redirected and target.subs is not None:
            self._out(target, _MSG_HDR + body, after_reply and target is sess)

    def _out(self, target, data: bytes, after_reply: bool) -> None:
        c = target.io
        if after_reply and c is not None:  # the session running a command: after its reply (pipeline: c.echo)
            c.echo = data if c.echo is None else c.echo + data
            return
        self.send(target, data)

    def broadcast(self) -> None:
        """trackingBroadcastInvalidationMessages, and the flush nulls owed: one batch."""
        if self.flushes:
            owed, self.flushes = self.flushes, {}
            for sess in owed.values():
                if sess.tracking is not None and sess.id in self.app.clients:
                    self.message(sess, None, flush=True)
        prefixes = self.prefixes
        for p in sorted(prefixes):  # Redis' radix tree order
            state = prefixes[p]
            if not state.keys:
                continue
            keys = state.keys
            state.keys = {}
            ordered = sorted(keys)
            common = keys_body(ordered)
            for sess in list(state.clients.values()):
                tr = sess.tracking
                if tr is None:
                    continue
                if tr.noloop:
                    mine = [k for k in ordered if keys[k] is not sess]
                    if mine:
                        self.message(sess, keys_body(mine))
                else:
                    self.message(sess, common)

    # ------------------------------------------------------------------------------------------ limit
    def limit(self) -> None:
        """trackingLimitUsedSlots: forget keys (oldest first) while the table is over ``max_keys``."""
        max_keys = self.max_keys
        if not max_keys or len(self.table) <= max_keys:
            self._over = 0
            return
        effort = 100 * (self._over + 1)
        table = self.table
        current = CURRENT.get()
        while effort > 0 and table:
            effort -= 1
            self.invalidate(next(iter(table)), current)
            if len(table) <= max_keys:
                self._over = 0
                return
        self._over += 1

    # ------------------------------------------------------------------------------------------ introspection
    def total_keys(self) -> int:
        return len(self.table)

    def total_prefixes(self) -> int:
        return len(self.prefixes)
