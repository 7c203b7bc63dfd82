"""Server commands: INFO, CONFIG, TIME, SHUTDOWN and friends (SPEC §10). COMMAND is in ``commands.meta``."""
from __future__ import annotations

import logging
import os
import resource
import sys
import time

from backends.glob import compile_glob

from .. import __version__, errors, units
from ..errors import CommandError
from ..replies import NO_REPLY, OK, Map, Simple, Verbatim
from . import redis_config
from .args import Options
from .meta import all_commands, with_subcommands
from .table import COMMANDS, command, container

log = logging.getLogger("respd.commands")

# ------------------------------------------------------------------------------------------------- INFO
# INFO follows Redis 7.0.15's genRedisInfoString: the same sections in the same order, whatever order they are asked
# in, and the same fields in each. A field whose value respd knows is real; a field about a Redis mechanism respd does
# not have (RDB/AOF persistence, replication, forks, Lua, defragmentation, client tracking...) carries the value Redis
# shows while that mechanism is not in use. respd's own fields come last in their section (respd_version,
# python_version; auth_failures...protocol_errors), and its "stores" section is shown, like a Redis module's
# section, for "everything" or when asked by name.
_ORDER = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats",
          "errorstats", "latencystats", "cluster", "keyspace", "stores")
_DEFAULT = {"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats",
            "cluster", "keyspace"}
_ALL = set(_ORDER) - {"stores"}
_TITLES = {"server": "Server", "clients": "Clients", "memory": "Memory", "persistence": "Persistence",
           "stats": "Stats", "replication": "Replication", "cpu": "CPU", "modules": "Modules",
           "commandstats": "Commandstats", "errorstats": "Errorstats", "latencystats": "Latencystats",
           "cluster": "Cluster", "keyspace": "Keyspace", "stores": "Stores"}


def _uname() -> tuple:
    """INFO's os field as Redis prints it ("Linux 6.1.0 x86_64"), without importing ``platform`` at startup."""
    u = os.uname()
    return u.sysname, u.release, u.machine


def human(n: int) -> str:
    """Redis' bytesToHuman: 900B, 894.91K, 11.55M, 23.54G..."""
    for i, unit in enumerate("KMGTP", 1):
        if n < 1024 ** (i + 1):
            return "%dB" % n if n < 1024 else "%.2f%s" % (n / 1024 ** i, unit)
    return "%dB" % n


def _system_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0


def _safe(name: str) -> str:
    """Redis' getSafeInfoString: the characters that would break INFO's format become '_'."""
    for ch in "#:\n\r":
        name = name.replace(ch, "_")
    return name


def _visible_stores(sess):
    """(label, store) for INFO keyspace: the stores this user may SELECT and count (DBSIZE), as Redis shows each db."""
    perms = sess.permissions
    for label, store in sess.app.keyspace_stores():
        if perms is None or perms.may_count(store.id):
            yield label, store


def _server(sess, app, now: float) -> list[str]:
    up = int(now - app.started)
    return ["redis_version:%s" % app.redis_version, "redis_git_sha1:00000000", "redis_git_dirty:0",
            "redis_build_id:0", "redis_mode:standalone", "os:%s %s %s" % _uname(),
            "arch_bits:%d" % (64 if sys.maxsize > 2 ** 32 else 32), "monotonic_clock:POSIX clock_gettime",
            "multiplexing_api:epoll",
            "atomicvar_api:none",          # no atomics: one thread
            "gcc_version:0.0.0",           # what Redis prints when not built by GCC
            "process_id:%d" % os.getpid(), "process_supervised:no", "run_id:%s" % app.run_id,
            "tcp_port:%d" % app.port, "server_time_usec:%d" % int(now * 1e6), "uptime_in_seconds:%d" % up,
            "uptime_in_days:%d" % (up // 86400), "hz:10", "configured_hz:10",
            "lru_clock:%d" % (int(now) & ((1 << 24) - 1)),  # Redis' LRU clock: seconds, 24 bits
            "executable:%s" % os.path.abspath(sys.argv[0]), "config_file:%s" % ",".join(app.config_files),
            "io_threads_active:0",
            "respd_version:%s" % __version__, "python_version:%d.%d.%d" % sys.version_info[:3]]


def _clients(sess, app, now: float) -> list[str]:
    # client_recent_max_input/output_buffer: respd does not sample the clients' buffers (0, as on an idle Redis)
    return ["connected_clients:%d" % len(app.clients), "cluster_connections:0", "maxclients:%d" % app.maxclients,
            "client_recent_max_input_buffer:0", "client_recent_max_output_buffer:0",
            "blocked_clients:%d" % app.blocking.blocked,
            "tracking_clients:%d" % app.tracking.clients, "clients_in_timeout_table:%d" % app.blocking.timed()]


def _memory(sess, app, now: float) -> list[str]:
    # used_memory is the process' RSS: what maxmemory is compared with (App.over_maxmemory). Python's allocator
    # does not say how much of it is dataset or overhead, so those fields are 0 and the allocator figures equal RSS
    # (as Redis reports them when its allocator gives no statistics).
    rss = units.rss()
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    system = _system_memory()
    policy = app.config_params().get(b"maxmemory-policy", b"noeviction")
    policy = (policy() if callable(policy) else policy).decode()
    scripts = app.scripts
    lua = scripts.memory_used() if scripts is not None else 0
    cached = len(scripts.bodies) if scripts is not None else 0
    cache = sum(len(b) + 40 for b in scripts.bodies.values()) if scripts is not None else 0
    return ["used_memory:%d" % rss, "used_memory_human:%s" % human(rss), "used_memory_rss:%d" % rss,
            "used_memory_rss_human:%s" % human(rss), "used_memory_peak:%d" % peak,
            "used_memory_peak_human:%s" % human(peak), "used_memory_peak_perc:%.2f%%" % (rss * 100 / peak),
            "used_memory_overhead:0", "used_memory_startup:0", "used_memory_dataset:0",
            "used_memory_dataset_perc:0.00%", "allocator_allocated:%d" % rss, "allocator_active:%d" % rss,
            "allocator_resident:%d" % rss, "total_system_memory:%d" % system,
            "total_system_memory_human:%s" % human(system),
            # the Lua states (EVAL) and the script cache; no functions (FUNCTION is not implemented)
            "used_memory_lua:%d" % lua, "used_memory_vm_eval:%d" % lua, "used_memory_lua_human:%s" % human(lua),
            "used_memory_scripts_eval:%d" % cache, "number_of_cached_scripts:%d" % cached,
            "number_of_functions:0", "number_of_libraries:0", "used_memory_vm_functions:0",
            "used_memory_vm_total:%d" % lua, "used_memory_vm_total_human:%s" % human(lua),
            "used_memory_functions:0", "used_memory_scripts:%d" % cache, "used_memory_scripts_human:%s" % human(cache),
            "maxmemory:%d" % app.maxmemory, "maxmemory_human:%s" % human(app.maxmemory),
            "maxmemory_policy:%s" % policy, "allocator_frag_ratio:1.00", "allocator_frag_bytes:0",
            "allocator_rss_ratio:1.00", "allocator_rss_bytes:0", "rss_overhead_ratio:1.00", "rss_overhead_bytes:0",
            "mem_fragmentation_ratio:1.00", "mem_fragmentation_bytes:0", "mem_not_counted_for_evict:0",
            "mem_replication_backlog:0", "mem_total_replication_buffers:0", "mem_clients_slaves:0",
            "mem_clients_normal:0", "mem_cluster_links:0", "mem_aof_buffer:0", "mem_allocator:pymalloc",
            "active_defrag_running:0", "lazyfree_pending_objects:0", "lazyfreed_objects:0"]


def _persistence(sess, app, now: float) -> list[str]:
    # memory stores are not persisted and SQL stores commit every write: no RDB, no AOF, no fork. SAVE answers OK
    # without saving, so the last save time is the start time (as LASTSAVE says).
    return ["loading:0", "async_loading:0", "current_cow_peak:0", "current_cow_size:0", "current_cow_size_age:0",
            "current_fork_perc:0.00", "current_save_keys_processed:0", "current_save_keys_total:0",
            "rdb_changes_since_last_save:0", "rdb_bgsave_in_progress:0", "rdb_last_save_time:%d" % int(app.started),
            "rdb_last_bgsave_status:ok", "rdb_last_bgsave_time_sec:-1", "rdb_current_bgsave_time_sec:-1",
            "rdb_saves:0", "rdb_last_cow_size:0", "rdb_last_load_keys_expired:0", "rdb_last_load_keys_loaded:0",
            "aof_enabled:0", "aof_rewrite_in_progress:0", "aof_rewrite_scheduled:0", "aof_last_rewrite_time_sec:-1",
            "aof_current_rewrite_time_sec:-1", "aof_last_bgrewrite_status:ok", "aof_rewrites:0",
            "aof_rewrites_consecutive_failures:0", "aof_last_write_status:ok", "aof_last_cow_size:0",
            "module_fork_in_progress:0", "module_fork_last_cow_size:0"]


def _ops_per_sec(app, now: float) -> int:
    """Commands per second since the previous INFO stats (since the start for the first): Redis samples every
    100 ms in its cron, respd has no cron, so the window is the polling interval of whoever reads INFO."""
    last = getattr(app, "_ops_sample", None) or (app.started, 0)
    app._ops_sample = (now, app.stat_commands)
    elapsed = now - last[0]
    return int((app.stat_commands - last[1]) / elapsed) if elapsed > 0 else 0


def _stats(sess, app, now: float) -> list[str]:
    # not counted by respd (0): network bytes, reads/writes, keyspace hits and misses
    return ["total_connections_received:%d" % app.stat_connections,
            "total_commands_processed:%d" % app.stat_commands,
            "instantaneous_ops_per_sec:%d" % _ops_per_sec(app, now), "total_net_input_bytes:0",
            "total_net_output_bytes:0", "total_net_repl_input_bytes:0", "total_net_repl_output_bytes:0",
            "instantaneous_input_kbps:0.00", "instantaneous_output_kbps:0.00", "instantaneous_input_repl_kbps:0.00",
            "instantaneous_output_repl_kbps:0.00", "rejected_connections:%d" % app.stat_rejected, "sync_full:0",
            "sync_partial_ok:0", "sync_partial_err:0", "expired_keys:%d" % app.expired_keys(),
            "expired_stale_perc:0.00", "expired_time_cap_reached_count:0", "expire_cycle_cpu_milliseconds:0",
            "evicted_keys:0", "evicted_clients:0", "total_eviction_exceeded_time:0",
            "current_eviction_exceeded_time:0", "keyspace_hits:0", "keyspace_misses:0",
            "pubsub_channels:%d" % len(app.pubsub.channels), "pubsub_patterns:%d" % len(app.pubsub.patterns),
            "pubsubshard_channels:%d" % len(app.pubsub.shards), "latest_fork_usec:0", "total_forks:0",
            "migrate_cached_sockets:0", "slave_expires_tracked_keys:0", "active_defrag_hits:0",
            "active_defrag_misses:0", "active_defrag_key_hits:0", "active_defrag_key_misses:0",
            "total_active_defrag_time:0", "current_active_defrag_time:0",
            "tracking_total_keys:%d" % len(app.tracking.table), "tracking_total_items:%d" % app.tracking.items,
            "tracking_total_prefixes:%d" % len(app.tracking.prefixes), "unexpected_error_replies:0",
            "total_error_replies:%d" % sum(app.error_stats.values()), "dump_payload_sanitizations:0",
            "total_reads_processed:0", "total_writes_processed:0", "io_threaded_reads_processed:0",
            "io_threaded_writes_processed:0", "reply_buffer_shrinks:0", "reply_buffer_expands:0",
            "auth_failures:%d" % app.auth.failures, "acl_access_denied_auth:%d" % app.auth.failures,
            "acl_access_denied_cmd:%d" % app.stat_denied_cmd, "acl_access_denied_key:%d" % app.stat_denied_key,
            "acl_access_denied_channel:%d" % app.stat_denied_channel,
            "protocol_errors:%d" % app.stat_protocol_errors]


def _replication(sess, app, now: float) -> list[str]:
    # a master without replicas and without a backlog (repl_backlog_size is the config default, as Redis shows it)
    if not hasattr(app, "_replid"):
        app._replid = os.urandom(20).hex()
    return ["role:master", "connected_slaves:0", "master_failover_state:no-failover",
            "master_replid:%s" % app._replid, "master_replid2:%s" % ("0" * 40), "master_repl_offset:0",
            "second_repl_offset:-1", "repl_backlog_active:0", "repl_backlog_size:1048576",
            "repl_backlog_first_byte_offset:0", "repl_backlog_histlen:0"]


def _cpu(sess, app, now: float) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    main = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return ["used_cpu_sys:%.6f" % me.ru_stime, "used_cpu_user:%.6f" % me.ru_utime,
            "used_cpu_sys_children:%.6f" % children.ru_stime, "used_cpu_user_children:%.6f" % children.ru_utime,
            "used_cpu_sys_main_thread:%.6f" % main.ru_stime, "used_cpu_user_main_thread:%.6f" % main.ru_utime]


def _commandstats(sess, app, now: float) -> list[str]:
    lines = []
    for cmd in with_subcommands(all_commands()):
        if cmd.calls or cmd.failed_calls or cmd.rejected_calls:
            usec = cmd.ns // 1000
            lines.append("cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d" % (
                _safe(cmd.name), cmd.calls, usec, usec / cmd.calls if cmd.calls else 0, cmd.rejected_calls,
                cmd.failed_calls))
    return lines


def _errorstats(sess, app, now: float) -> list[str]:
    return ["errorstat_%s:count=%d" % (_safe(code.decode("latin-1")), n) for code, n in sorted(app.error_stats.items())]


def _keyspace(sess, app, now: float, stats: dict) -> list[str]:
    lines = []
    for label, store in _visible_stores(sess):
        keys, expires = store.stats() if not store.is_async else stats.get(store.id, (0, 0))
        if keys:
            lines.append("%s:keys=%d,expires=%d,avg_ttl=0" % (label, keys, expires))
    return lines


def _stores(sess, app, now: float) -> list[str]:
    visible = {s.id for _, s in _visible_stores(sess)}
    return ["store_%s:kind=%s,max_size=%d,dbs=%s" % (s.id, s.kind, s.max_size,
                                                    "/".join(str(i) for i in app.indexes_of(s)))
            for s in app.stores.values() if s.id in visible]


_SECTIONS = {"server": _server, "clients": _clients, "memory": _memory, "persistence": _persistence,
             "stats": _stats, "replication": _replication, "cpu": _cpu, "modules": lambda *a: [],
             "commandstats": _commandstats, "errorstats": _errorstats,
             "latencystats": lambda *a: [],  # respd keeps no latency histograms: latency-tracking is "no"
             "cluster": lambda *a: ["cluster_enabled:0"], "stores": _stores}


def _wanted(argv) -> set:
    """The sections asked for, as Redis' genInfoSectionDict reads the arguments (names without case)."""
    if len(argv) == 1:
        return _DEFAULT
    out = set()
    for a in argv[1:]:
        w = a.decode("latin-1").lower()
        if w == "default":
            out |= _DEFAULT
        elif w == "all":
            out |= _ALL
        elif w == "everything":
            out |= _ALL | {"stores"}
        elif w == "module_list":
            out.add("modules")
        elif w in _TITLES:
            out.add(w)
    return out


@command("info", arity=-1, flags="loading stale", categories="slow dangerous", group="server",
         summary="Returns information and statistics about the server.")
def info(sess, argv):
    wanted = _wanted(argv)
    if "keyspace" in wanted and any(s.is_async for _, s in _visible_stores(sess)):
        return _info_async(sess, wanted)
    return _info_text(sess, wanted, {})


async def _info_async(sess, wanted):
    """INFO keyspace with SQL stores: their key counts need a query each (a failure shows as no keys, not as an
    error)."""
    stats = {}
    for _, store in _visible_stores(sess):
        if store.is_async:
            try:
                stats[store.id] = await store.stats()
            except Exception:
                stats[store.id] = (0, 0)
    return _info_text(sess, wanted, stats)


def _info_text(sess, wanted: set, stats: dict) -> Verbatim:
    app = sess.app
    now = time.time()
    out = []
    for name in _ORDER:
        if name not in wanted:
            continue
        if out:
            out.append("")
        out.append("# " + _TITLES[name])
        out += _keyspace(sess, app, now, stats) if name == "keyspace" else _SECTIONS[name](sess, app, now)
    return Verbatim(("\r\n".join(out) + "\r\n").encode() if out else b"")


# ------------------------------------------------------------------------------------------------- CONFIG
container("CONFIG", arity=-2, categories="slow", group="server", since="2.0.0",
          summary="A container for server configuration commands.")


@command("get", parent="CONFIG", arity=-3, flags="admin noscript loading stale", categories="admin slow dangerous",
         group="server", since="2.0.0", summary="Returns the effective values of configuration parameters.")
def config_get(sess, argv):
    """CONFIG GET parameter|pattern...: respd's settings and Redis 7.0's other parameters (see redis_config)."""
    params, hidden = redis_config.parameters(sess.app)
    out = {}  # lowercase name -> (name as replied, value); the first spelling of a name wins, as in Redis
    for pat in argv[2:]:
        p = pat.lower()
        if b"*" in p or b"?" in p or b"[" in p:
            m = compile_glob(p)
            for name in params:
                if m(name) and name not in out:
                    out[name] = (name, params[name])
        elif p not in out:
            value = params.get(p, hidden.get(p))
            if value is not None:
                out[p] = (pat, value)  # Redis replies an exact name as it was sent (CONFIG GET MAXMEMORY)
    return Map([(k, v() if callable(v) else v) for k, v in out.values()])


@command("set", parent="CONFIG", arity=-4, flags="admin noscript loading stale", categories="admin slow dangerous",
         group="server", since="2.0.0", summary="Sets configuration parameters in-flight.")
def config_set(sess, argv):
    if len(argv) % 2 == 1:
        raise CommandError(errors.wrong_arity("config|set"))
    pairs = [(argv[i].lower(), argv[i + 1]) for i in range(2, len(argv), 2)]
    sess.app.config_set(pairs)
    return OK


@command("resetstat", parent="CONFIG", arity=2, flags="admin noscript loading stale", categories="admin slow dangerous",
         group="server", since="2.0.0", summary="Resets the server's statistics.")
def config_resetstat(sess, argv):
    app = sess.app
    app.stat_commands = app.stat_connections = app.stat_rejected = 0
    app.error_stats.clear()
    for cmd in with_subcommands(COMMANDS.values()):
        cmd.calls = cmd.ns = cmd.rejected_calls = cmd.failed_calls = 0
    return OK


@command("rewrite", parent="CONFIG", arity=2, flags="admin noscript loading stale", categories="admin slow dangerous",
         group="server", since="2.8.0", summary="Persists the effective configuration to file.")
def config_rewrite(sess, argv):
    raise CommandError(errors.CONFIG_REWRITE_UNSUPPORTED)


@command("help", parent="CONFIG", arity=2, flags="loading stale", categories="slow", group="server", since="5.0.0",
         summary="Returns helpful text about the different subcommands.")
def config_help(sess, argv):
    return [Simple(s) for s in ("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their "
                                "values.", "SET <directive> <value>", "    Set the configuration <directive> to "
                                "<value>.", "RESETSTAT", "    Reset statistics reported by the INFO command.",
                                "HELP", "    Print this help.")]


# ------------------------------------------------------------------------------------------------- misc
@command("time", arity=1, flags="loading stale fast", categories="fast", group="server", since="2.6.0",
         summary="Returns the server time.")
def time_(sess, argv):
    t = time.time()
    s = int(t)
    return [b"%d" % s, b"%d" % int((t - s) * 1e6)]


@command("lastsave", arity=1, flags="loading stale fast", categories="admin fast dangerous", group="server",
         summary="Returns the Unix timestamp of the last successful save to disk.")
def lastsave(sess, argv):
    return int(sess.app.started)


@command("role", arity=1, flags="noscript loading stale fast", categories="admin fast dangerous", group="server",
         since="2.8.12", summary="Returns the replication role.")
def role(sess, argv):
    return [b"master", 0, []]


@command("save", arity=1, flags="admin noscript no_async_loading no_multi", categories="admin slow dangerous",
         group="server", summary="Synchronously saves the database(s) to disk.")
def save(sess, argv):
    return OK  # memory stores are not persisted by design; SQL stores are durable on every write


_SHUTDOWN_OPTIONS = Options("[NOSAVE] [SAVE] [NOW] [FORCE] [ABORT]")


@command("shutdown", arity=-1, flags="admin noscript loading stale no_multi allow_busy",
         categories="admin slow dangerous", group="server",
         complexity="O(N) when saving, where N is the total number of keys in all databases when saving data, "
                    "otherwise O(1)",
         arguments=(("save-selector", "oneof", "optional"), ("now", "pure-token", "optional"),
                    ("force", "pure-token", "optional"), ("abort", "pure-token", "optional")),
         summary="Synchronously saves the database(s) to disk and shuts down the Redis server.")
def shutdown(sess, argv):
    """Stop respd as SIGTERM does: stop accepting, let open clients finish their replies, exit 0. Nothing to save:
    memory stores are not persisted by design and SQL stores are durable on every write, so SAVE/NOSAVE/NOW/FORCE
    are accepted and change nothing. The client gets no reply: its connection closes."""
    opts = _SHUTDOWN_OPTIONS.parse(argv, 1)
    abort = opts.pop("ABORT", False)
    if (abort and opts) or ("SAVE" in opts and "NOSAVE" in opts):  # Redis' illegal combinations
        raise CommandError(errors.SYNTAX)
    if abort:
        raise CommandError(errors.NO_SHUTDOWN)
    scripts = sess.app.scripts
    if scripts is not None and scripts.busy():  # a script past busy-reply-threshold: only NOSAVE stops it
        if "NOSAVE" not in opts:
            raise CommandError(errors.BUSY_SCRIPT)
        scripts.stop()
    request = sess.app.request_shutdown
    if request is None:  # not served by respd.server (an embedded App)
        raise CommandError(errors.SHUTDOWN_FAILED)
    log.warning("SHUTDOWN requested by client id=%d addr=%s user=%s", sess.id, sess.addr, sess.user)
    request()
    sess.closing = True
    return NO_REPLY


@command("debug", arity=-2, flags="admin noscript loading stale", categories="admin slow dangerous", group="server",
         summary="A container for debugging commands.")
def debug(sess, argv):
    raise CommandError(errors.DEBUG_NOT_ALLOWED)


@command("cluster", arity=-2, categories="slow", group="cluster", since="3.0.0",
         summary="A container for Redis Cluster commands.")
def cluster(sess, argv):
    raise CommandError(errors.NO_CLUSTER)


@command("readonly", arity=1, flags="loading stale fast", categories="fast connection", group="cluster", since="3.0.0",
         summary="Enables read-only queries for a connection to a Redis Cluster replica node.")
def readonly(sess, argv):
    raise CommandError(errors.NO_CLUSTER)
