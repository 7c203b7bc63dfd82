"""Server-wide state without I/O: stores, database mapping, settings, clients, statistics.

The trio layer (``respd.server``) creates one ``App`` from a loaded registry, registers sessions in it and runs the
stores' background tasks; commands reach everything through ``session.app``.
"""
from __future__ import annotations

import logging
import resource
import time
import uuid

from . import REDIS_VERSION, errors, notify, outbuf, pubsub, tracking, units
from .blocking import Blocking
from .errors import CommandError, StartupError
from .protocol import string2ll
from .session import Session
from .units import parse_memory

log = logging.getLogger("respd.server")
#: descriptors kept for respd itself beyond one per client (listeners, epoll, logs, /proc reads): Redis'
#: CONFIG_MIN_RESERVED_FDS; SQL pool connections are added on top (App.reserved_fds)
RESERVED_FDS = 32


def _nr_open() -> int:
    try:
        with open("/proc/sys/fs/nr_open") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1024 * 1024


def raise_open_files_limit(need: int) -> tuple[int, int]:
    """Raise RLIMIT_NOFILE's soft limit towards ``need`` (the hard limit too when privileged), as Redis'
    adjustOpenFilesLimit; returns (the limit now, the limit before). Never lowers a limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return need, soft
    if hard == resource.RLIM_INFINITY or hard >= need:
        attempts = [(need, hard)]
    else:
        attempts = [(need, need)]  # raising the hard limit needs CAP_SYS_RESOURCE
    # else as high as allowed: the hard limit, or the kernel's cap on descriptors when there is none
    cap = hard if hard != resource.RLIM_INFINITY else _nr_open()
    if soft < cap < need:
        attempts.append((cap, hard))
    for new in attempts:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, new)
            return new[0], soft
        except (ValueError, OSError):
            continue
    return soft, soft


class App:
    """Everything commands may consult or change beyond their own connection."""

    def __init__(self, stores: dict, databases: dict, settings: dict, auth, config_files: tuple = ()):
        self.stores = stores                      # store id -> Store
        self.databases = databases                # SELECT index -> Store
        self.settings = settings                  # validated server settings (see registry.SERVER_FIELDS)
        self.config_files = list(config_files)
        self.auth = auth                          # security.users.Auth: the users and logins
        self.security = None                      # security.runtime.Security, installed by configure_security
        self.clients: dict[int, Session] = {}
        self.monitors: dict = {}                  # client id -> ClientState of clients in MONITOR (respd.monitor)
        self.pubsub = pubsub.PubSub()             # who listens to which channel and pattern (respd.pubsub)
        #: the Redis version HELLO and INFO report (``redis_version``; default the 7.0.15 whose behaviour respd
        #: follows: clients that enable features by version, e.g. redis-py's client-side cache from 7.4.0, may be
        #: told more by a deployment that accepts what respd lacks of later versions)
        self.redis_version = settings.get("redis_version", REDIS_VERSION)
        self.tracking = tracking.Tracking(self)   # client-side caching: who cached which key (respd.tracking)
        self.bus = None                           # respd.bus.Bus: messages between nodes sharing PostgreSQL
        self.next_client_id = 1
        self.started = time.time()
        self.run_id = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        self.port = settings.get("port", 6379)
        self.maxclients = settings.get("maxclients", 10000)
        self.maxmemory = settings.get("maxmemory", 0)
        self.proto_max_bulk_len = settings.get("proto_max_bulk_len", 512 * 1024 * 1024)
        self.client_query_buffer_limit = settings.get("client_query_buffer_limit", 1024 * 1024 * 1024)
        self.timeout = settings.get("timeout", 0)
        #: client-output-buffer-limit per client class (respd.outbuf)
        self.obuf_limits = outbuf.parse(settings.get("client_output_buffer_limit", "").encode())
        self.stat_obuf_disconnections = 0
        self.obuf_watch: set = set()              # clients clients_cron looks at without timeout (net.cron)
        self.default_db = settings.get("default_db", 0)
        self.stat_commands = 0
        self.stat_connections = 0
        self.stat_rejected = 0
        self.stat_denied_cmd = 0
        self.stat_denied_key = 0
        self.stat_denied_channel = 0
        self.stat_protocol_errors = 0
        self.error_stats: dict[bytes, int] = {}   # error code (ERR, WRONGTYPE...) -> replies (INFO errorstats)
        self._mem_checked = 0.0
        self._mem_over = False
        self.blocking = Blocking()                # clients blocked in BLPOP and its kin (respd.blocking)
        self.killers: dict[int, object] = {}   # client id -> kill(graceful) closing its connection (trio layer)
        self.draining = False      # shutting down: no more reading from clients
        self.draining_late = False  # shutting down, past the grace period: no more executing either
        self.poller = None         # connection.Poller serving the plain TCP clients, while serve() runs
        self.request_shutdown = None  # callable starting a graceful shutdown (SHUTDOWN), while serve() runs
        self.threads = None        # net.threads.Threads: worker threads for scripts on SQL stores, while serve() runs
        self.scripts = None        # scripting.service.Scripts, made by the first script (commands.scripting)
        self.script_gate = None    # while a script runs in a worker with exclusive access: an event other clients wait at
        self.busy_threshold_ms = int(settings.get("busy_reply_threshold", 5.0) * 1000)
        self.save = settings.get("save", "")
        self.loglevel = settings.get("log_level", "notice")
        #: notify-keyspace-events as Redis' class flags (respd.notify); 0 = off, the one test commands pay
        self.notify_flags = notify.parse(settings.get("notify_keyspace_events", "").encode()) or 0
        notify.install(self)

    # ------------------------------------------------------------------------------------------ clients
    def new_session(self, addr: str = "", laddr: str = "", fd: int = -1) -> Session:
        sess = Session(self, self.next_client_id, addr, laddr, fd)
        self.next_client_id += 1
        self.clients[sess.id] = sess
        self.stat_connections += 1
        self.auth.attach_default(sess)
        self.select_default(sess)
        return sess

    def end_session(self, sess: Session) -> None:
        self.monitors.pop(sess.id, None)
        if sess.tracking is not None:
            self.tracking.disable(sess)
        if sess.subs is not None:
            pubsub.leave(sess)
        sess.close()
        self.clients.pop(sess.id, None)
        self.killers.pop(sess.id, None)

    def drain(self) -> None:
        """Shutdown: close idle connections now (gracefully: what was sent still arrives); busy ones stop reading,
        and close once the replies to what they had read are sent (see server.serve for the deadlines)."""
        self.draining = True
        for sess in list(self.clients.values()):
            if sess.idle or sess.blocked is not None:
                self.kill_client(sess, graceful=True)

    def protected_mode(self) -> bool:
        """Refuse non-loopback clients: protected mode on and no authentication required (as Redis)."""
        return self.settings.get("protected_mode", True) and self.auth.default_open()

    def kill_client(self, sess: Session, graceful: bool = False) -> None:
        """Close a client's connection. ``graceful``: it has nothing in flight, so close it the way that lets the
        kernel deliver what was sent (shutdown drain); otherwise at once (CLIENT KILL, timeout, buffer limits)."""
        sess.closing = True  # a client killing itself gets this reply, and nothing after it runs (as Redis)
        if sess.subs is not None:  # gone from Pub/Sub at once, as Redis frees a client (its task closes later)
            pubsub.leave(sess)
        kill = self.killers.get(sess.id)
        if kill is not None:
            if graceful:
                kill(True)
            else:
                kill()

    # ------------------------------------------------------------------------------------------ descriptors
    def reserved_fds(self) -> int:
        """Descriptors respd needs beside one per client: RESERVED_FDS plus every SQL pool's connections."""
        pools = {id(db): getattr(db, "pool_max", 0) for db in (getattr(s, "db", None) for s in self.stores.values())
                 if db is not None}
        return RESERVED_FDS + sum(pools.values())

    def fit_open_files(self) -> None:
        """At start, as Redis: raise the open-files limit to maxclients + reserved descriptors, or lower maxclients
        to what the limit allows (one log line); too low a limit to serve one client is a StartupError."""
        reserve = self.reserved_fds()
        need = self.maxclients + reserve
        limit, before = raise_open_files_limit(need)
        if limit >= need:
            if before < need:
                log.info("Increased maximum number of open files to %d (it was originally set to %d).", need, before)
            return
        if limit <= reserve:
            raise StartupError(errors.STARTUP_ULIMIT.format(before, need))
        requested, self.maxclients = self.maxclients, limit - reserve
        log.warning("You requested maxclients of %d requiring at least %d max file descriptors, but the maximum "
                    "open files is %d: maxclients has been reduced to %d to compensate for low ulimit. If you need "
                    "higher maxclients increase 'ulimit -n'.", requested, need, limit, self.maxclients)

    # ------------------------------------------------------------------------------------------ stores
    def select_default(self, sess: Session) -> None:
        store = self.databases.get(self.default_db)
        if store is None and self.databases:
            store = self.databases[min(self.databases)]
        sess.store = store
        sess.db = self.default_db if store is not None else None

    def store_for_index(self, index: int):
        store = self.databases.get(index)
        if store is None:
            raise CommandError(errors.DB_RANGE)
        return store

    def select(self, sess: Session, arg: bytes) -> None:
        """SELECT n (the store mapped to index n) or SELECT ns:name (a store by id)."""
        index = string2ll(arg)
        if index is not None:
            store = self.store_for_index(index)
            if self.security is not None:
                self.security.check_store(sess, store.id)
            sess.store = store
            sess.db = index
            return
        if b":" in arg:
            store_id = arg.decode("utf-8", "replace")
            store = self.stores.get(store_id)
            if store is None:
                raise CommandError(errors.NO_SUCH_STORE % arg[:200])
            if self.security is not None:
                self.security.check_store(sess, store.id)
            sess.store = store
            idx = self.indexes_of(store)
            sess.db = idx[0] if idx else None
            return
        raise CommandError(errors.NOT_INTEGER)

    def indexes_of(self, store) -> list[int]:
        return sorted(i for i, s in self.databases.items() if s is store)

    def keyspace_stores(self):
        """(label, store) pairs for INFO keyspace: ``dbN`` for mapped stores, the id for the others."""
        seen = set()
        for i in sorted(self.databases):
            s = self.databases[i]
            if id(s) not in seen:
                seen.add(id(s))
                yield "db%d" % i, s
        for s in self.stores.values():
            if id(s) not in seen:
                seen.add(id(s))
                yield s.id, s

    def flushable_stores(self) -> list:
        return list(self.stores.values())

    def expired_keys(self) -> int:
        return sum(getattr(s, "expired_keys", 0) for s in self.stores.values())

    # ------------------------------------------------------------------------------------------ memory
    def over_maxmemory(self) -> bool:
        """Whether the process uses more than maxmemory (RSS, re-read at most every 100 ms)."""
        now = time.monotonic()
        if now - self._mem_checked > 0.1:
            self._mem_over = units.rss() > self.maxmemory
            self._mem_checked = now
        return self._mem_over

    # ------------------------------------------------------------------------------------------ CONFIG
    def config_params(self) -> dict:
        """CONFIG GET names -> value (bytes) or a callable producing it."""
        n = max(self.databases) + 1 if self.databases else 0
        return {
            b"maxmemory": lambda: b"%d" % self.maxmemory,
            b"maxmemory-policy": b"noeviction",
            b"maxmemory-samples": b"5",
            b"maxmemory-clients": b"0",
            b"maxmemory-eviction-tenacity": b"10",
            b"databases": b"%d" % n,
            b"save": lambda: self.save.encode(),
            b"appendonly": b"no",
            b"timeout": lambda: b"%d" % self.timeout,
            b"maxclients": lambda: b"%d" % self.maxclients,
            b"client-output-buffer-limit": lambda: outbuf.format_limits(self.obuf_limits),
            b"proto-max-bulk-len": lambda: b"%d" % self.proto_max_bulk_len,
            b"client-query-buffer-limit": lambda: b"%d" % self.client_query_buffer_limit,
            b"port": b"%d" % self.port,
            b"bind": self.settings.get("bind", "127.0.0.1").encode(),
            b"protected-mode": b"yes" if self.settings.get("protected_mode", True) else b"no",
            b"loglevel": lambda: self.loglevel.encode(),
            b"requirepass": b"",
            b"cluster-enabled": b"no",
            b"notify-keyspace-events": lambda: notify.to_string(self.notify_flags),
            b"lua-time-limit": lambda: b"%d" % self.busy_threshold_ms,
            b"busy-reply-threshold": lambda: b"%d" % self.busy_threshold_ms,
            b"tcp-keepalive": b"300",
            b"slowlog-log-slower-than": b"10000",
            b"slowlog-max-len": b"128",
            b"hz": b"10",
            b"tracking-table-max-keys": lambda: b"%d" % self.tracking.max_keys,
        }

    _IMMUTABLE = (b"databases", b"port", b"bind", b"cluster-enabled", b"appendonly")

    def config_set(self, pairs: list) -> None:
        """Validate every pair first, then apply them all (CONFIG SET is all or nothing)."""
        params = self.config_params()
        updates = []
        for name, value in pairs:
            if name not in params:
                raise CommandError(errors.CONFIG_SET_UNKNOWN % name)
            if name in self._IMMUTABLE:
                raise CommandError(errors.CONFIG_SET_FAILED % (name, errors.CONFIG_IMMUTABLE.encode()))
            updates.append((name, self._convert(name, value)))
        for name, value in updates:
            if name == b"maxmemory":
                self.maxmemory = value
                self._mem_checked = 0.0
            elif name == b"maxclients":
                self.maxclients = value
            elif name == b"client-output-buffer-limit":
                self.obuf_limits = value
            elif name == b"timeout":
                self.timeout = value
            elif name == b"proto-max-bulk-len":
                self.proto_max_bulk_len = value  # connections pick it up after their current chunk
            elif name == b"client-query-buffer-limit":
                self.client_query_buffer_limit = value
            elif name == b"save":
                self.save = value.decode()
            elif name == b"loglevel":
                self.loglevel = value.decode()
            elif name in (b"lua-time-limit", b"busy-reply-threshold"):
                self.busy_threshold_ms = value
                if self.scripts is not None:
                    self.scripts.busy_threshold = value / 1000
            elif name == b"tracking-table-max-keys":
                self.tracking.max_keys = value
                self.tracking.limit()  # Redis: before the next command, or in its cron within 100 ms
            elif name == b"notify-keyspace-events":
                self.notify_flags = value
                notify.install(self)
            elif name == b"requirepass" and self.security is not None:
                self.security.set_requirepass(value)

    def _convert(self, name: bytes, value: bytes):
        def fail(why: str):
            raise CommandError(errors.CONFIG_SET_FAILED % (name, why.encode()))

        if name in (b"maxmemory", b"proto-max-bulk-len", b"client-query-buffer-limit"):
            v = parse_memory(value)
            if v is None:
                fail(errors.CONFIG_NOT_MEMORY)
            if name == b"proto-max-bulk-len" and v < 1024 * 1024:
                fail(errors.CONFIG_BULK_LEN_RANGE)
            return v
        if name in (b"lua-time-limit", b"busy-reply-threshold"):
            v = string2ll(value)
            if v is None or v < 0:
                fail(errors.CONFIG_NOT_INTEGER)
            return v
        if name == b"tracking-table-max-keys":
            v = string2ll(value)
            if v is None or v < 0:
                fail(errors.CONFIG_NOT_INTEGER)
            return v
        if name in (b"maxclients", b"timeout"):
            v = string2ll(value)
            if v is None or v < (1 if name == b"maxclients" else 0):
                fail(errors.CONFIG_NOT_INTEGER)
            if name == b"maxclients" and v > self.maxclients:
                reserve = self.reserved_fds()
                limit, _ = raise_open_files_limit(v + reserve)
                if limit < v + reserve:
                    fail(errors.CONFIG_MAXCLIENTS_OS.format(limit - reserve))
            return v
        if name == b"client-output-buffer-limit":
            try:
                return outbuf.parse(value, self.obuf_limits)
            except ValueError as e:
                fail(str(e))
        if name == b"maxmemory-policy":
            if value.lower() != b"noeviction":
                fail(errors.CONFIG_NOEVICTION_ONLY)
            return value
        if name == b"loglevel":
            if value.lower() not in (b"debug", b"verbose", b"notice", b"warning", b"nothing"):
                fail(errors.CONFIG_LOGLEVEL)
            return value.lower()
        if name == b"notify-keyspace-events":
            flags = notify.parse(value)
            if flags is None:
                fail(errors.NOTIFY_BAD_CLASS)
            return flags
        if name in (b"save", b"requirepass"):
            return value
        fail(errors.CONFIG_NOT_AT_RUNTIME)

