"""Introspection commands: MONITOR, MEMORY (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP) and OBJECT (ENCODING,
FREQ, IDLETIME, REFCOUNT, HELP), with Redis 7.0's flags, ACL categories, replies and error texts.

What respd can and cannot know, stated where it answers:

* ``MEMORY USAGE`` is each store's own estimate (``Store.memory_usage``): for a memory store the sizes of the key
  and value objects plus the key's share of the store's hash tables; for a SQL store the size of the row
  (``pg_column_size``). Strings have no nested values, so ``SAMPLES`` is validated and otherwise ignored.
* ``MEMORY STATS`` and ``DOCTOR`` work on the process's resident set size: respd cannot see what CPython's
  allocators hold, so ``total.allocated`` is the RSS, ``startup.allocated`` the RSS when the command table was
  loaded, and the ``allocator.*`` figures (jemalloc's in Redis) are 0. ``clients.normal`` counts the output queued
  for monitors. Keys of SQL stores live in PostgreSQL and are not counted.
* ``OBJECT ENCODING`` and ``REFCOUNT`` answer what Redis answers for the same string written by SET: ``int`` for a
  canonical 64-bit integer of at most 20 bytes (refcount 2147483647 for 0..9999, Redis' shared integers),
  ``embstr`` up to 44 bytes, ``raw`` above. respd keeps plain bytes, so a string that Redis would hold ``raw``
  because APPEND or SETRANGE modified it, or ``embstr`` because INCRBYFLOAT wrote an integral result, is reported
  by its content.
* ``OBJECT FREQ``: respd never evicts (policy ``noeviction``), so Redis' "not tracked" error, as Redis gives it.
* ``OBJECT IDLETIME``: respd does not record key access times (a dict of access times beside a memory store's
  data would cost every GET a write and every key a third more memory; README, "Known differences"). So it answers an
  error saying so, the way Redis answers when its policy does not track a statistic, rather than a number it does
  not know.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource

from backends import values

from .. import errors, units
from ..errors import CommandError
from ..replies import NO_REPLY, OK, Double, Map, Simple, Verbatim
from .args import Options, count_at_least, try_int
from .table import Keys, command, container, then

# ------------------------------------------------------------------------------------------------- MONITOR


#: MONITOR's ``+OK``, its own instance: pipeline.run_requests recognises it and attaches the client's output queue
#: to the feed (only run_requests knows the client's ``ClientState``)
MONITOR_OK = Simple("OK")


@command("monitor", arity=1, flags="admin noscript loading stale", categories="admin slow dangerous", group="server",
         since="1.0.0", summary="Listens for all requests received by the server in real-time.")
def monitor(sess, argv):
    """MONITOR → ``+OK``, then a line per command any client runs (see ``respd.monitor``). Again on a monitor: no
    reply at all (Redis ignores it). Inside MULTI it is queued, and run by EXEC it answers ``MONITOR isn't allowed
    for DENY BLOCKING client`` (an EXEC client expects one reply per command). ``RESET`` leaves monitor mode,
    ``QUIT`` closes; meanwhile the client may run commands that do not touch the keyspace (PING, CLIENT, INFO...)."""
    if sess.in_exec:
        raise CommandError(errors.MONITOR_IN_EXEC)
    if sess.id in sess.app.monitors:
        return NO_REPLY
    return MONITOR_OK


# ------------------------------------------------------------------------------------------------- MEMORY
container("MEMORY", arity=-2, categories="slow", group="server", since="4.0.0",
          summary="A container for memory diagnostics commands.")


_STARTUP_RSS = units.rss()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_USAGE_OPTIONS = Options("[SAMPLES count]", convert={"SAMPLES": count_at_least(0)})


@command("usage", parent="MEMORY", arity=-3, flags="readonly", keys=(Keys(2, "RO"),), categories="read slow",
         group="server", since="4.0.0", complexity="O(N) where N is the number of samples.",
         arguments=(("key", "key"), ("count", "integer", "optional")), summary="Estimates the memory usage of a key.")
def memory_usage(sess, argv):
    """MEMORY USAGE key [SAMPLES count] → bytes (integer), or null for a missing key."""
    _USAGE_OPTIONS.parse(argv, 3)
    return sess.store.memory_usage(argv[2])


def _visible(sess, store) -> bool:
    """Whether the session's user may see this store (the rule of SELECT)."""
    security = sess.app.security
    if security is None or sess.permissions is None:
        return True
    try:
        security.check_store(sess, store.id)
    except CommandError:
        return False
    return True


def _overhead(sess):
    """(memory figures, [(db label, main, expires)]) for STATS and DOCTOR, from the RSS and the stores."""
    app = sess.app
    total = units.rss()
    peak = max(_peak_rss(), total)
    clients = sum(c.size for c in app.monitors.values())
    overhead = _STARTUP_RSS + clients
    keys = 0
    dbs = []
    for label, store in app.keyspace_stores():
        if not _visible(sess, store):
            continue
        main, expires, n = store.memory_overhead()
        if n == 0:
            continue
        keys += n
        overhead += main + expires
        dbs.append(("db." + label[2:] if label.startswith("db") and label[2:].isdigit() else label, main, expires))
    net = total - _STARTUP_RSS if total > _STARTUP_RSS else 1
    dataset = max(total - overhead, 0)
    figures = dict(total=total, peak=peak, startup=_STARTUP_RSS, clients=clients, overhead=overhead, keys=keys,
                   net=net, dataset=dataset)
    return figures, dbs


@command("stats", parent="MEMORY", arity=2, categories="slow", group="server", since="4.0.0",
         summary="Returns details about memory usage.")
def memory_stats(sess, argv):
    """MEMORY STATS → map in Redis 7.0's order (see the module docstring for what each figure is in respd)."""
    f, dbs = _overhead(sess)
    items = [(b"peak.allocated", f["peak"]), (b"total.allocated", f["total"]),
             (b"startup.allocated", f["startup"]), (b"replication.backlog", 0), (b"clients.slaves", 0),
             (b"clients.normal", f["clients"]), (b"cluster.links", 0), (b"aof.buffer", 0), (b"lua.caches", 0),
             (b"functions.caches", 0)]
    for label, main, expires in dbs:
        items.append((label.encode(), Map([(b"overhead.hashtable.main", main),
                                           (b"overhead.hashtable.expires", expires),
                                           (b"overhead.hashtable.slot-to-keys", 0)])))
    items += [(b"overhead.total", f["overhead"]), (b"keys.count", f["keys"]),
              (b"keys.bytes-per-key", f["net"] // f["keys"] if f["keys"] else 0), (b"dataset.bytes", f["dataset"]),
              (b"dataset.percentage", Double(f["dataset"] * 100 / f["net"])),
              (b"peak.percentage", Double(f["total"] * 100 / f["peak"])),
              (b"allocator.allocated", 0), (b"allocator.active", 0), (b"allocator.resident", 0),
              (b"allocator-fragmentation.ratio", Double(0.0)), (b"allocator-fragmentation.bytes", 0),
              (b"allocator-rss.ratio", Double(0.0)), (b"allocator-rss.bytes", 0),
              (b"rss-overhead.ratio", Double(0.0)), (b"rss-overhead.bytes", 0),
              (b"fragmentation", Double(1.0)), (b"fragmentation.bytes", 0)]
    return Map(items)


_DOCTOR_NONE = ("Hi Sam, I can't find any memory issue in your instance. "
                "I can only account for what occurs on this base.\n")
_DOCTOR_EMPTY = ("Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used "
                 "in these conditions. Please, leave for your mission on Earth and fill it with some data. The new "
                 "Sam and I will be back to our programming as soon as I finished rebooting.\n")
_DOCTOR_PEAK = (" * Peak memory: In the past this instance used more than 150% the memory that is currently using. "
                "The allocator is normally not able to release memory after a peak, so you can expect to see a big "
                "fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if "
                "the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be "
                "used as soon as you fill the Redis instance with more data. If the memory peak was only occasional "
                "and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only "
                "other option is to shutdown and restart the instance.\n\n")
_DOCTOR_CLIENTS = (" * Big client buffers: The clients output buffers in this instance are greater than 200K per "
                   "client (on average). This may result from different causes, like Pub/Sub clients subscribed to "
                   "channels bot not receiving data fast enough, so that data piles on the Redis instance output "
                   "buffer, or clients sending commands with large replies or very large sequences of commands in "
                   "the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it "
                   "causes problems in your instance, or to understand better why certain clients are using a big "
                   "amount of memory.\n\n")


@command("doctor", parent="MEMORY", arity=2, categories="slow", group="server", since="4.0.0",
         summary="Outputs a memory problems report.")
def memory_doctor(sess, argv):
    """MEMORY DOCTOR → text. Redis' checks that respd can make: an (almost) empty instance (less than 5 MB above
    the startup RSS, where Redis counts 5 MB allocated), a peak over 150% of the current RSS, client output buffers
    over 200 KB on average. Redis' fragmentation and allocator checks need jemalloc's figures and are not made."""
    f, _ = _overhead(sess)
    if f["total"] - f["startup"] < 5 * 1024 * 1024:
        return Verbatim(_DOCTOR_EMPTY.encode())
    found = []
    if f["peak"] / f["total"] > 1.5:
        found.append(_DOCTOR_PEAK)
    if f["clients"] / max(len(sess.app.clients), 1) > 200 * 1024:
        found.append(_DOCTOR_CLIENTS)
    if not found:
        return Verbatim(_DOCTOR_NONE.encode())
    return Verbatim(("Sam, I detected a few issues in this Redis instance memory implants:\n\n" + "".join(found)
                     + "I'm here to keep you safe, Sam. I want to help you.\n").encode())


@command("malloc-stats", parent="MEMORY", arity=2, categories="slow", group="server", since="4.0.0",
         summary="Returns the allocator statistics.")
def memory_malloc_stats(sess, argv):
    """What Redis built without jemalloc answers: respd has no allocator report to give."""
    return b"Stats not supported for the current allocator"


_libc = None


@command("purge", parent="MEMORY", arity=2, categories="slow", group="server", since="4.0.0",
         summary="Asks the allocator to release memory.")
def memory_purge(sess, argv):
    """Collect garbage and give free heap pages back to the system (glibc ``malloc_trim``) → ``+OK``."""
    global _libc
    gc.collect()
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the garbage collection is all respd can do
    return OK


_MEMORY_HELP = ("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR", "    Return memory problems reports.",
                "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
                "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS", "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP", "    Prints this help.")


@command("help", parent="MEMORY", arity=2, flags="loading stale", categories="slow", group="server", since="4.0.0",
         summary="Returns helpful text about the different subcommands.")
def memory_help(sess, argv):
    return [Simple(s) for s in _MEMORY_HELP]


# ------------------------------------------------------------------------------------------------- OBJECT
container("OBJECT", arity=-2, categories="slow", group="generic", since="2.2.3",
          summary="A container for object introspection commands.")

_OBJ = "keyspace read slow"
_OBJ_KEY = (Keys(2, "RO"),)
SHARED_REFCOUNT = 2147483647  # Redis' OBJ_SHARED_REFCOUNT (INT_MAX), the refcount of its shared integers


def encoding(value: bytes) -> bytes:
    """Redis' encoding for a string written by SET (``tryObjectEncoding``): ``int`` when string2l accepts it
    (at most 20 bytes, optional '-', digits, no leading zero, no '+' or spaces, fits a 64-bit long), else
    ``embstr`` up to 44 bytes (OBJ_ENCODING_EMBSTR_SIZE_LIMIT), else ``raw``."""
    if len(value) <= 20 and try_int(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"


def refcount(value: bytes) -> int:
    """1, or Redis' shared-object refcount for the integers 0..9999 it shares (OBJ_SHARED_INTEGERS; with
    ``noeviction`` Redis always shares them)."""
    if len(value) <= 20:
        n = try_int(value)
        if n is not None and 0 <= n < 10000:
            return SHARED_REFCOUNT
    return 1


def _object(sess, key: bytes, answer):
    """Null for a missing key (Redis looks the key up first), else answer(value): the string, or for a value of
    another type the object ``read`` gives (a ``Hash``, ``Members``), or its type name when it has no commands yet."""
    store = sess.store

    def typed(t):
        if t == b"none":
            return None
        if t == b"string":
            return then(store.get(key), lambda v: None if v is None else answer(v))
        if t in (values.HASH, values.SET, values.LIST, values.ZSET):
            return then(store.read(key, t), lambda v: None if v is None else answer(v))
        return answer(t)

    return then(store.type(key), typed)


def _encoding(value) -> bytes:
    """OBJECT ENCODING of any value: Redis' names (``encoding`` for strings)."""
    t = type(value)
    if t is bytes:
        return encoding(value)
    if t is values.Hash:
        return b"listpack" if value.compact else b"hashtable"
    if t is values.Members:
        return b"intset" if value.intset else b"hashtable"
    if t is values.ListValue:
        return b"quicklist"  # Redis 7.0 keeps every list as a quicklist
    if t is values.ZSet:
        return b"listpack" if value.compact else b"skiplist"
    return b"listpack"  # a type respd has no commands for yet (its TYPE name: a sorted set is small at first)


def _refcount(value) -> int:
    return refcount(value) if type(value) is bytes else 1


def _lfu_error(value):
    raise CommandError(errors.LFU_NOT_SELECTED)


def _idle_error(value):
    raise CommandError(errors.IDLETIME_NOT_TRACKED)


@command("encoding", parent="OBJECT", arity=3, flags="readonly", keys=_OBJ_KEY, categories=_OBJ, group="generic",
         since="2.2.3", arguments=(("key", "key"),), summary="Returns the internal encoding of a Redis object.")
def object_encoding(sess, argv):
    return _object(sess, argv[2], _encoding)


@command("freq", parent="OBJECT", arity=3, flags="readonly", keys=_OBJ_KEY, categories=_OBJ, group="generic",
         since="4.0.0", arguments=(("key", "key"),),
         summary="Returns the logarithmic access frequency counter of a Redis object.")
def object_freq(sess, argv):
    return _object(sess, argv[2], _lfu_error)


@command("idletime", parent="OBJECT", arity=3, flags="readonly", keys=_OBJ_KEY, categories=_OBJ, group="generic",
         since="2.2.3", arguments=(("key", "key"),),
         summary="Returns the time since the last access to a Redis object.")
def object_idletime(sess, argv):
    return _object(sess, argv[2], _idle_error)


@command("refcount", parent="OBJECT", arity=3, flags="readonly", keys=_OBJ_KEY, categories=_OBJ, group="generic",
         since="2.2.3", arguments=(("key", "key"),), summary="Returns the reference count of a value of a key.")
def object_refcount(sess, argv):
    return _object(sess, argv[2], _refcount)


_OBJECT_HELP = ("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>",
                "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP", "    Prints this help.")


@command("help", parent="OBJECT", arity=2, flags="loading stale", categories="keyspace slow", group="generic",
         since="6.2.0", summary="Returns helpful text about the different subcommands.")
def object_help(sess, argv):
    return [Simple(s) for s in _OBJECT_HELP]
