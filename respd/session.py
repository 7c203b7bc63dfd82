"""Per-client state, without I/O: protocol version, user, selected store, MULTI queue, WATCHed keys, name."""
from __future__ import annotations

import time
from typing import Any, Optional


class Session:
    """One client connection's state. The trio layer owns the socket; everything else lives here."""

    __slots__ = ("app", "id", "proto", "store", "db", "name", "lib_name", "lib_ver", "user", "authenticated", "multi",
                 "multi_error", "watched", "watch_deadline", "dirty", "in_exec", "in_script", "created", "last_cmd",
                 "last_cmd_time", "addr", "laddr", "fd", "closing", "idle", "reply_mode", "no_evict", "no_touch",
                 "permissions", "io", "blocked", "subs", "tracking", "__weakref__")

    def __init__(self, app: Any, client_id: int, addr: str = "", laddr: str = "", fd: int = -1):
        self.app = app
        self.id = client_id
        self.proto = 2
        self.db: Optional[int] = None       # SELECT index, or None when selected by store id
        self.store = None                   # backends.base.Store
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.user = "default"
        self.authenticated = False
        self.multi: Optional[list] = None   # queued argv lists while in MULTI
        self.multi_error = False            # an error while queueing: EXEC answers EXECABORT
        self.watched: list = []             # (store, key) pairs
        self.watch_deadline = 0             # earliest expiry (ms) of a key watched on an async store, 0 = none
        self.dirty = False                  # a watched key changed: EXEC answers a null array
        self.in_exec = False                # running a command of EXEC's queue (ACL LOG context, MONITOR refusal)
        self.in_script = False              # the session a script's redis.call runs in (ACL LOG context "lua")
        self.created = time.time()
        self.last_cmd = b"NULL"
        self.last_cmd_time = self.created   # last interaction: a read, or progress writing replies (idle, timeout)
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.closing = False                # QUIT: close after this reply
        self.idle = False                   # waiting for a request (safe to close at shutdown)
        self.reply_mode = 0                 # 0 on, 1 off, 2 skip next
        self.no_evict = False
        self.no_touch = False
        self.permissions = None             # the user's compiled Permissions (security.engine), None = allow all
        self.io = None                      # the connection's buffers (net.client.Conn), None without one
        self.subs = None                    # respd.pubsub.Subscriptions while it holds any (Pub/Sub)
        self.blocked = None                 # the Waiter while blocked in BLPOP and its kin (respd.blocking)
        self.tracking = None                # respd.tracking.ClientTracking while tracking is on (client caching)

    # ----------------------------------------------------------------------------------------- WATCH
    def watch(self, store, key: bytes) -> None:
        for s, k in self.watched:
            if s is store and k == key:
                return
        store.watches.add(key, self)
        self.watched.append((store, key))

    def unwatch(self) -> None:
        for store, key in self.watched:
            store.watches.remove(key, self)
        self.watched = []
        self.watch_deadline = 0
        self.dirty = False

    def reset_multi(self) -> None:
        self.multi = None
        self.multi_error = False

    def close(self) -> None:
        """Release everything the session registered elsewhere (called when the connection ends)."""
        self.unwatch()
        self.multi = None
        self.io = None
        if self.blocked is not None:
            self.app.blocking.leave(self.blocked)


def client_line(sess: Session, now: float) -> bytes:
    """One CLIENT LIST line (CLIENT LIST/INFO, ACL LOG's client-info, the output buffer limit's log line).
    Buffers (``sess.io.buffers()``): qbuf = bytes received and not parsed yet, argv-mem = arguments of requests
    parsed and not run yet, oll/omem = reply pieces/bytes respd holds because the client has not taken them,
    tot-mem = their sum (respd has no fixed per-client buffers: qbuf-free, rbs, rbp, obl are 0). Flags: O for a
    monitor, P holding Pub/Sub subscriptions, x in MULTI, b blocked (BLPOP...), t tracking (R: its redirect target
    is gone, B: BCAST), N for none; redir= the tracking redirection (-1: none)."""
    db = sess.db if sess.db is not None else -1
    io = sess.io
    qbuf, argv_mem, oll, omem, events = io.buffers() if io is not None else (0, 0, 0, 0, b"r")
    subs = sess.subs
    sub, psub, ssub = (len(subs.channels), len(subs.patterns), len(subs.shards)) if subs is not None else (0, 0, 0)
    flags = ((b"O" if sess.id in sess.app.monitors else b"") + (b"P" if subs is not None else b"")
             + (b"x" if sess.multi is not None else b"")
             + (b"b" if sess.blocked is not None else b"") + _tracking_flags(sess.tracking)) or b"N"
    return (b"id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d "
            b"qbuf=%d qbuf-free=0 argv-mem=%d multi-mem=0 rbs=0 rbp=0 obl=0 oll=%d omem=%d tot-mem=%d events=%s "
            b"cmd=%s user=%s redir=%d lib-name=%s lib-ver=%s store=%s resp=%d\n") % (
        sess.id, sess.addr.encode(), sess.laddr.encode(), sess.fd, sess.name, int(now - sess.created),
        int(now - sess.last_cmd_time), flags, db, sub, psub, ssub,
        -1 if sess.multi is None else len(sess.multi), qbuf, argv_mem, oll, omem, qbuf + argv_mem + omem, events,
        sess.last_cmd.encode() if isinstance(sess.last_cmd, str) else sess.last_cmd, sess.user.encode(),
        sess.tracking.redirect if sess.tracking is not None else -1, sess.lib_name, sess.lib_ver, sess.store.id.encode() if sess.store is not None else b"", sess.proto)


def _tracking_flags(st) -> bytes:
    """CLIENT LIST's tracking flags: t (tracking), R (its redirect target is gone), B (BCAST)."""
    if st is None:
        return b""
    return b"t" + (b"R" if st.broken else b"") + (b"B" if st.bcast else b"")
