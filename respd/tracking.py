"""Client-side caching (Redis' client tracking, ``src/tracking.c`` of 7.0.15), without I/O.

A client turns tracking on with ``CLIENT TRACKING ON`` (``commands.tracking``); from then on the server tells it
when a key it may have cached changes, so its cache can drop it:

* **Default mode**: the keys of every read-only command the client runs (``remember``, called by
  ``dispatch.run``, so in MULTI and scripts too) go in the tracking table, key -> ids of the clients that read
  it. A write that touches the key (every store's ``WatchTable`` observer: ``touched``) sends each of them one
  ``invalidate`` message and forgets the key: a client hears once, until it reads the key again. OPTIN remembers
  only after ``CLIENT CACHING YES`` (for the next command, or the next transaction), OPTOUT all but after
  ``CLIENT CACHING NO``. With NOLOOP a client is not told of its own writes.
* **BCAST**: no table; the client hears of every key written whose name starts with one of its prefixes (none:
  every key). The keys written meanwhile are gathered per prefix and sent as one message per prefix when the
  event loop is next idle (``schedule``, installed by the network layer: Redis sends them in beforeSleep).
* The table is keyed by name only, as Redis' (whose table ignores the db): a write of ``k`` in any store
  invalidates ``k`` for every client that read a ``k``. Writes reported by other nodes sharing a SQL store
  (``respd.bus``) invalidate alike. A flush (FLUSHDB, FLUSHALL, a store announced flushed) sends every tracking
  client a null invalidation: everything it cached is stale.
* **Delivery**: RESP3 clients get a push ``>2 invalidate [keys]``; with ``REDIRECT id`` the messages go to that
  client instead: as a push when it speaks RESP3, as a Pub/Sub message on ``__redis__:invalidate`` when it is a
  RESP2 client in Pub/Sub mode; otherwise (RESP2, no redirection) nothing can be sent. A redirect target that has
  gone marks the client ``broken_redirect`` and a RESP3 client gets ``tracking-redir-broken``. A client's own
  invalidation caused by its own command follows that command's reply (``Conn.echo``), as Redis defers it.
* ``tracking-table-max-keys`` (default 1,000,000; 0 = no limit): past it, keys are invalidated (oldest first)
  until the table fits again, before the next command of a tracking client runs.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Optional

from .replies import CRLF

log = logging.getLogger("respd.tracking")

#: the session whose command runs now (set by dispatch while any client tracks): NOLOOP, and deferring a client's
#: own invalidations after its reply. A ContextVar: a command on a SQL store touches keys after awaiting, in its
#: client's task.
current: ContextVar = ContextVar("tracking_current", default=None)

_INVALIDATE3 = b">2\r\n$10\r\ninvalidate\r\n"
_INVALIDATE2 = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n" % len(b) + b + CRLF


class ClientTracking:
    """One client's tracking state (``Session.tracking``, None while off)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken", "prefixes")

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False     # CLIENT CACHING YES (optin) / NO (optout) given for the next command
        self.broken = False
        self.prefixes: list = []


class _Prefix:
    __slots__ = ("keys", "clients")

    def __init__(self) -> None:
        self.keys: dict = {}      # key written since the last broadcast -> the session that wrote it (or None)
        self.clients: dict = {}   # session id -> session


class Tracking:
    """The server's side (``app.tracking``)."""

    def __init__(self, app) -> None:
        self.app = app
        self.clients = 0                 # sessions with tracking on
        self.table: dict = {}            # key -> {client id: None}
        self.items = 0                   # client ids in the table
        self.prefixes: dict = {}         # prefix -> _Prefix (BCAST)
        self.max_keys = 1_000_000
        self.schedule = None             # callable(fn): run fn once the event loop is idle (net layer)
        self.wake = None                 # callable(sess): let an idle client receive out-of-band output (net layer)
        self.targets: dict = {}          # client id -> how many tracking clients redirect to it
        self._flush_pending = False
        self._observed: list = []        # stores whose WatchTable we observe
        self._flushed = None             # (session, seq) of the last flush: one null per command
        self.seq = 0                     # commands run while anyone tracks (dispatch counts them)

    # ------------------------------------------------------------------------------------------ on / off
    def enable(self, sess, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool,
               prefixes: list) -> None:
        st = sess.tracking
        if st is None:
            st = sess.tracking = ClientTracking()
            self.clients += 1
            if not self._observed:
                self._observe()
        if st.redirect != redirect:
            self._untarget(st.redirect)
            if redirect:
                self.targets[redirect] = self.targets.get(redirect, 0) + 1
                target = self.app.clients.get(redirect)
                if target is not None and self.wake is not None:
                    self.wake(target)  # its output now gets invalidations at any time: out-of-band mode
        st.redirect = redirect
        st.broken = False
        st.optin, st.optout, st.noloop = optin, optout, noloop
        if bcast:
            st.bcast = True
            for p in (prefixes or [b""]):
                state = self.prefixes.get(p)
                if state is None:
                    state = self.prefixes[p] = _Prefix()
                if sess.id not in state.clients:
                    state.clients[sess.id] = sess
                    st.prefixes.append(p)
        else:
            st.bcast = False

    def disable(self, sess) -> None:
        st = sess.tracking
        if st is None:
            return
        for p in st.prefixes:
            state = self.prefixes.get(p)
            if state is not None:
                state.clients.pop(sess.id, None)
                if not state.clients:
                    del self.prefixes[p]
        self._untarget(st.redirect)
        sess.tracking = None
        self.clients -= 1
        self._idle()

    def _idle(self) -> None:
        """Stop observing the stores' writes once nobody tracks and the table is empty (the keys read by clients
        gone are still invalidated, or flushed, as Redis keeps them until then): memory stores then pay
        nothing."""
        if self.clients == 0 and not self.table and self._observed:
            self._unobserve()

    def _untarget(self, redirect: int) -> None:
        n = self.targets.get(redirect)
        if n is not None:
            if n > 1:
                self.targets[redirect] = n - 1
            else:
                del self.targets[redirect]

    def _observe(self) -> None:
        for store in self.app.stores.values():
            store.watches.observers.append(self.touched)
            self._observed.append(store)

    def _unobserve(self) -> None:
        for store in self._observed:
            try:
                store.watches.observers.remove(self.touched)
            except ValueError:
                pass
        self._observed = []

    # ------------------------------------------------------------------------------------------ reads
    def remember(self, sess, keys) -> None:
        """A tracking client (default mode) read keys: it hears when they change. Past tracking-table-max-keys the
        table is trimmed at once (``limit``), whichever path read them (a command, a script's redis.call)."""
        st = sess.tracking
        if (st.optin and not st.caching) or (st.optout and st.caching):
            return
        table = self.table
        sid = sess.id
        for key in keys:
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if sid not in ids:
                ids[sid] = None
                self.items += 1
        if self.max_keys and len(table) > self.max_keys:
            # forget keys now (this client's own invalidations after its reply; Redis does it before the next
            # command of any client, or in its cron within 100 ms)
            self.limit(sess)

    def limit(self, running=None) -> None:
        """tracking-table-max-keys: invalidate keys (oldest first) until the table fits. ``running``: the session
        whose command runs (default: ``current``): its own invalidations follow its reply. An eviction is nobody's
        write, so NOLOOP does not spare it (Redis skips a NOLOOP client when the eviction happens to run before
        that client's own next command, leaving an entry in its cache the server no longer tracks)."""
        if not self.max_keys:
            return
        if running is None:
            running = current.get()
        while len(self.table) > self.max_keys:
            self.invalidate(next(iter(self.table)), None, False, running)

    # ------------------------------------------------------------------------------------------ writes
    def touched(self, key: Optional[bytes], local: bool) -> None:
        """A store's WatchTable observer: key was written (None: the store was flushed)."""
        if key is None:
            self.flush()
            return
        self.invalidate(key, current.get() if local else None, True)

    def invalidate(self, key: bytes, writer, bcast: bool, running=None) -> None:
        """Tell the clients that read key (and gather it for BCAST when ``bcast``). ``writer``: the session whose
        write this is (NOLOOP; its own message after its reply); ``running``: a session whose messages must follow
        its reply without being a writer (an eviction during its command)."""
        if bcast and self.prefixes:
            for p, state in self.prefixes.items():
                if key.startswith(p):
                    state.keys[key] = writer
                    if not self._flush_pending:
                        self._flush_pending = True
                        if self.schedule is not None:
                            self.schedule(self.broadcast)
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        if not self.table:
            self._idle()
        frame = b"*1\r\n" + _bulk(key)
        clients = self.app.clients
        for sid in ids:
            target = clients.get(sid)
            if target is None:
                continue
            st = target.tracking
            if st is None or st.bcast:
                continue
            if st.noloop and target is writer:
                continue
            self.send(target, frame, target is writer or target is running)

    def flush(self) -> None:
        """FLUSHDB/FLUSHALL (or a store flushed on another node): every tracking client gets a null invalidation,
        and the table empties."""
        writer = current.get()
        # one null per command, however many stores it flushed (FLUSHALL touches each)
        mark = (writer, self.seq) if writer is not None else None
        if mark is None or mark != self._flushed:
            self._flushed = mark
            if self.clients:
                for target in list(self.app.clients.values()):
                    if target.tracking is not None:
                        self.send(target, _NULL[target.proto], target is writer)
        self.table = {}
        self.items = 0
        self._idle()

    def broadcast(self) -> None:
        """Send the keys gathered per BCAST prefix (Redis' trackingBroadcastInvalidationMessages). Run by the event
        loop (``schedule``): it must not raise."""
        self._flush_pending = False
        try:
            self._broadcast()
        except Exception:
            log.exception("client tracking: broadcasting invalidations failed")

    def _broadcast(self) -> None:
        for p in sorted(self.prefixes):  # Redis walks its prefix table (a radix tree) in byte order
            state = self.prefixes[p]
            keys = state.keys
            if not keys:
                continue
            keys = dict(sorted(keys.items()))  # and the keys of each message likewise
            state.keys = {}
            common = None
            for target in list(state.clients.values()):
                st = target.tracking
                if st is None:
                    continue
                if st.noloop:
                    mine = [k for k, w in keys.items() if w is not target]
                    if mine:
                        self.send(target, _array(mine), False)
                else:
                    if common is None:
                        common = _array(list(keys))
                    self.send(target, common, False)

    def send(self, sess, payload: bytes, deferred: bool) -> None:
        """One invalidation (payload: the encoded keys array, or a null) for a tracking client, to it or to the
        client it redirects to (Redis' sendTrackingMessage)."""
        st = sess.tracking
        target = sess
        redirected = False
        if st.redirect:
            target = self.app.clients.get(st.redirect)
            if target is None or target.closing:
                st.broken = True
                if sess.proto == 3:
                    _push(sess, b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % st.redirect, deferred)
                return
            redirected = True
        if target.proto == 3:
            data = _INVALIDATE3 + payload
        elif redirected and target.subs is not None:
            data = _INVALIDATE2 + payload
        else:
            return
        _push(target, data, deferred and target is sess)

    # ------------------------------------------------------------------------------------------ introspection
    def info(self, sess) -> list:
        """CLIENT TRACKINGINFO's map: flags, redirect, prefixes."""
        st = sess.tracking
        if st is None:
            return [b"flags", ["off"], b"redirect", -1, b"prefixes", []]
        flags = ["on"]
        if st.bcast:
            flags.append("bcast")
        if st.optin:
            flags.append("optin")
            if st.caching:
                flags.append("caching-yes")
        if st.optout:
            flags.append("optout")
            if st.caching:
                flags.append("caching-no")
        if st.noloop:
            flags.append("noloop")
        if st.broken:
            flags.append("broken_redirect")
        return [b"flags", flags, b"redirect", st.redirect, b"prefixes", sorted(st.prefixes)]


def _array(keys: list) -> bytes:
    return b"*%d\r\n" % len(keys) + b"".join(_bulk(k) for k in keys)


def _push(sess, data: bytes, deferred: bool) -> None:
    """Append to a client's output: after its current reply when ``deferred`` (``Conn.echo``), else now, waking
    its writer (the out-of-band path Pub/Sub uses)."""
    c = sess.io
    if c is None or sess.closing:
        return
    if deferred:
        c.echo = data if c.echo is None else c.echo + data
        return
    c.out.append(data)
    c.size += len(data)
    if c.notify is not None:
        if not c.woken:
            c.notify()
    else:
        wake = sess.app.tracking.wake
        if wake is not None:
            wake(sess)


def prefix_conflict(existing: list, new: list) -> Optional[bytes]:
    """Redis' checkPrefixCollisionsOrReply: the error text when prefixes overlap (one starts with another), None
    when they do not."""
    for i, p in enumerate(new):
        for q in sorted(existing):
            if q.startswith(p) or p.startswith(q):
                return (b"ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must "
                        b"not overlap." % (p, q))
        for q in new[i + 1:]:
            if q.startswith(p) or p.startswith(q):
                return (b"ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client "
                        b"must not overlap." % (p, q))
    return None
