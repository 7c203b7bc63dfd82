"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD, EXISTS, FLUSH, KILL, HELP), as Redis 7.0.

EVAL's handler makes Redis' checks (numkeys, the script's compile errors or NOSCRIPT, its shebang flags against
*_RO and maxmemory) and hands back a ``Job``; ``respd.dispatch`` runs it through ``respd.scriptcall`` (this floor
cannot reach dispatch's ``run``, which ``redis.call`` needs). The server's scripting state is ``app.scripts``
(``respd.scripting.service``), made on first use so that a server that runs no script never builds a Lua state.
"""
from __future__ import annotations

import logging

from .. import errors, monitor
from ..errors import CommandError
from ..replies import OK, Simple
from ..scripting.service import IN_PLACE, IN_WORKER, Job, Scripts
from .args import try_int
from .table import Keys, command, container

log = logging.getLogger("respd.scripting")

_EVAL_FLAGS = "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys"
_EVAL_RO_FLAGS = "noscript skip_monitor no_mandatory_keys stale readonly movablekeys"
_WORST = "We cannot tell how the keys will be used so we assume the worst, %s"
_EVAL_KEYS = (Keys(2, "RW access update", keynum=True, notes=_WORST % "RW and UPDATE"),)
_EVAL_RO_KEYS = (Keys(2, "RO access", keynum=True, notes=_WORST % "RO and ACCESS"),)
_RW_KEYS = (Keys(2, "RW access update", keynum=True),)   # EVALSHA: Redis' key spec has no notes
_RO_KEYS = (Keys(2, "RO access", keynum=True),)
_EVAL_ARGS = (("script", "string"), ("numkeys", "integer"), ("key", "key", "optional", "multiple"),
              ("arg", "string", "optional", "multiple"))
_SHA_ARGS = (("sha1", "string"),) + _EVAL_ARGS[1:]
_COMPLEXITY = "Depends on the script that is executed."


def scripts_of(app) -> Scripts:
    """The server's scripting state, made on first use."""
    s = app.scripts
    if s is None:
        s = app.scripts = Scripts(max_memory=app.settings.get("lua_max_memory"))
        s.busy_threshold = app.busy_threshold_ms / 1000
        s.has_sql = any(st.is_async for st in app.stores.values())
        threads = app.threads
        if threads is not None:
            s.worker_lock = threads.lock()
            s.on_slow = threads.on_slow
    return s


def _job(sess, argv: list, by_sha: bool, ro: bool) -> Job:
    numkeys = try_int(argv[2])
    if numkeys is None:
        raise CommandError(errors.NOT_INTEGER)
    if numkeys > len(argv) - 3:
        raise CommandError(errors.NUMKEYS_TOO_MANY)
    if numkeys < 0:
        raise CommandError(errors.NUMKEYS_NEGATIVE)
    app = sess.app
    scripts = scripts_of(app)
    sha = scripts.find(argv[1]) if by_sha else scripts.load(argv[1], by_eval=True)
    flags = scripts.flags[sha]  # None: no shebang (Redis' compatibility mode)
    over = bool(app.maxmemory) and app.over_maxmemory()
    if flags is not None:
        no_writes = "no-writes" in flags
        if ro and not no_writes:
            raise CommandError(errors.SCRIPT_RO_WRITE_FLAG)
        if over and not (no_writes or "allow-oom" in flags):
            raise CommandError(errors.SCRIPT_OOM_FLAG)
        read_only = ro or no_writes
        oom = over and not (no_writes or "allow-oom" in flags)
    else:
        read_only, oom = ro, over
    if app.monitors:  # EVAL is skip_monitor: shown here, before the commands of its script (Redis' order)
        monitor.show(sess, argv)
    store = sess.store
    place = IN_WORKER if store.is_async or (scripts.has_sql and scripts.names_store(sha)) else IN_PLACE
    if place == IN_WORKER and app.threads is None:  # an App embedded without the trio layer
        place = IN_PLACE
    return Job(sha, argv[3:3 + numkeys], argv[3 + numkeys:], read_only, oom, place)


@command("eval", arity=-3, flags=_EVAL_FLAGS, keys=_EVAL_KEYS, categories="slow scripting", group="scripting",
         since="2.6.0", complexity=_COMPLEXITY, arguments=_EVAL_ARGS, runs_script=True, switches_store=True,
         summary="Execute a Lua script server side")
def eval_(sess, argv):
    return _job(sess, argv, by_sha=False, ro=False)


@command("evalsha", arity=-3, flags=_EVAL_FLAGS, keys=_RW_KEYS, categories="slow scripting", group="scripting",
         since="2.6.0", complexity=_COMPLEXITY, arguments=_SHA_ARGS, runs_script=True, switches_store=True,
         summary="Execute a Lua script server side")
def evalsha(sess, argv):
    return _job(sess, argv, by_sha=True, ro=False)


@command("eval_ro", arity=-3, flags=_EVAL_RO_FLAGS, keys=_EVAL_RO_KEYS, categories="slow scripting",
         group="scripting", since="7.0.0", complexity=_COMPLEXITY, arguments=_EVAL_ARGS, runs_script=True,
         switches_store=True, summary="Execute a read-only Lua script server side")
def eval_ro(sess, argv):
    return _job(sess, argv, by_sha=False, ro=True)


@command("evalsha_ro", arity=-3, flags=_EVAL_RO_FLAGS, keys=_RO_KEYS, categories="slow scripting",
         group="scripting", since="7.0.0", complexity=_COMPLEXITY, arguments=_SHA_ARGS, runs_script=True,
         switches_store=True, summary="Execute a read-only Lua script server side")
def evalsha_ro(sess, argv):
    return _job(sess, argv, by_sha=True, ro=True)


container("SCRIPT", categories="slow", group="scripting", since="2.6.0", summary="A container for Lua scripts management commands")


@command("load", parent="SCRIPT", arity=3, flags="noscript stale", categories="slow scripting", group="scripting",
         since="2.6.0", complexity="O(N) with N being the length in bytes of the script body.",
         arguments=(("script", "string"),), summary="Load the specified Lua script into the script cache.")
def script_load(sess, argv):
    return scripts_of(sess.app).load(argv[2], by_eval=False).encode()


@command("exists", parent="SCRIPT", arity=-3, flags="noscript", categories="slow scripting", group="scripting",
         since="2.6.0", complexity="O(N) with N being the number of scripts to check (so checking a single script "
                                   "is an O(1) operation).",
         arguments=(("sha1", "string", "multiple"),), summary="Check existence of scripts in the script cache.")
def script_exists(sess, argv):
    scripts = sess.app.scripts
    return [1 if scripts is not None and scripts.exists(sha) else 0 for sha in argv[2:]]


@command("flush", parent="SCRIPT", arity=-2, flags="noscript", categories="slow scripting", group="scripting",
         since="2.6.0", complexity="O(N) with N being the number of scripts in cache",
         arguments=(("async", "oneof", "optional"),), summary="Remove all the scripts from the script cache.")
def script_flush(sess, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise CommandError(errors.SCRIPT_FLUSH_MODE)
    scripts = sess.app.scripts
    if scripts is not None:
        scripts.flush()
    return OK


@command("kill", parent="SCRIPT", arity=2, flags="noscript allow_busy", categories="slow scripting",
         group="scripting", since="2.6.0", summary="Kill the script currently in execution.")
def script_kill(sess, argv):
    scripts = sess.app.scripts
    w = scripts.current() if scripts is not None else None
    if w is None:
        raise CommandError(errors.NOTBUSY)
    if w.dirty:
        raise CommandError(errors.UNKILLABLE)
    w.kill()
    log.warning("SCRIPT KILL by client id=%d addr=%s", sess.id, sess.addr)
    return OK


_HELP = ("SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
         "DEBUG (YES|SYNC|NO)",
         "    Set the debug mode for subsequent scripts executed.",
         "EXISTS <sha1> [<sha1> ...]",
         "    Return information about the existence of the scripts in the script cache.",
         "FLUSH [ASYNC|SYNC]",
         "    Flush the Lua scripts cache. Very dangerous on replicas.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the scripts cache.",
         "    * SYNC: Synchronously flush the scripts cache.",
         "KILL",
         "    Kill the currently executing Lua script.",
         "LOAD <script>",
         "    Load a script into the scripts cache without executing it.",
         "HELP",
         "    Prints this help.")


@command("help", parent="SCRIPT", arity=2, flags="loading stale", categories="slow scripting", group="scripting",
         since="5.0.0", summary="Show helpful text about the different subcommands")
def script_help(sess, argv):
    return [Simple(s) for s in _HELP]
