"""Requests to replies, without I/O: ``execute(session, argv)`` runs one request (lookup, arity, authentication,
permissions, memory, MULTI queueing, execution) and EXEC's queue; ``respd.pipeline`` runs everything a client's
reader holds through it and encodes the replies for one send.

The generic checks run in Redis' order (SPEC §3): unknown command → arity → NOAUTH → NOPERM → OOM → queue in
MULTI → execute; each reads the command's declaration (``no_auth``, ``multi_immediate``, ``runs_queue``...).
Domain errors raised by stores are mapped to RESP errors here, at the edge (``errors.store_error``), and an
unexpected exception in a handler is logged and answered ``-ERR`` without harming the connection or the server.

``execute`` returns the reply directly for synchronous stores and a coroutine for async ones; the connection awaits
only in the second case, so the memory path never pays for a coroutine.
"""
from __future__ import annotations

import logging
import time
import types
from typing import Any

from backends.base import StoreError

from . import errors
from . import monitor as _monitor
from . import notify as _notify
from .notify_rules import RULES as _NOTIFY_RULES
from .pubsub import ALLOWED_SUBSCRIBED
from . import scriptcall
from . import tracking as _tracking
from .commands import catalog  # noqa: F401  (importing the catalogue declares every command)
from .commands.meta import keys_of
from .commands.table import Command, is_pending, lookup, named
from .errors import CommandError, SecurityClose, store_error
from .replies import QUEUED, Err
from .scripting.service import IN_PLACE, Job

log = logging.getLogger("respd.dispatch")
_Coroutine = types.CoroutineType
_clock = time.perf_counter_ns  # INFO commandstats' time (see run)


def execute(sess, argv: list[bytes]) -> Any:
    """Run one request for a session with every check; returns the reply value (or a coroutine resolving to it)."""
    cmd = lookup(argv)
    if type(cmd) is Err:
        if argv[0].lower() in (b"post", b"host:"):
            raise SecurityClose()
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, named(argv), cmd)
    app = sess.app
    if not sess.authenticated and not cmd.no_auth:
        if sess.multi is not None:
            sess.multi_error = True
        refusal = Err(errors.NOAUTH)
        return _rejected(sess, cmd, _exec_abort(sess, refusal) if cmd.runs_queue else refusal)
    if sess.multi is not None and "no_multi" in cmd.flags:
        sess.multi_error = True
        return _rejected(sess, cmd, Err(errors.NOT_IN_MULTI))
    if sess.permissions is not None:
        denied = sess.permissions.check(sess, cmd, argv)
        if denied is not None:
            if sess.multi is not None:
                sess.multi_error = True
            return _rejected(sess, cmd, _exec_abort(sess, denied) if cmd.runs_queue else denied)
    if app.maxmemory and (cmd.denyoom or sess.multi is not None) and not cmd.multi_immediate \
            and app.over_maxmemory():
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, cmd, Err(errors.OOM))
    if app.monitors and sess.id in app.monitors and _monitor.touches_keyspace(cmd):
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, cmd, Err(errors.MONITOR_KEYSPACE))  # Redis flags a monitor as a replica
    if sess.subs is not None and sess.proto == 2 and cmd.name not in ALLOWED_SUBSCRIBED:
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, cmd, Err(errors.pubsub_context(cmd.name)))
    if sess.multi is not None and not cmd.multi_immediate:
        sess.multi.append((cmd, argv))
        return QUEUED
    st = sess.tracking
    if st is None:
        return run(sess, cmd, argv)
    r = run(sess, cmd, argv)
    # CLIENT CACHING applies to the next command (or transaction) only, as Redis' resetClient clears it
    if st.caching and sess.multi is None and not cmd.name.startswith("client|"):
        if type(r) is _Coroutine:  # an EXEC on a SQL store: its queued reads run (and remember) when awaited
            return _end_caching(r, st)
        st.caching = False
    return r


async def _end_caching(coro, st):
    try:
        return await coro
    finally:
        st.caching = False


def _exec_abort(sess, refusal: Err) -> Err:
    """EXEC refused before it runs (NOAUTH, NOPERM): as Redis' rejectCommand, the transaction (if any) is discarded
    and the refusal comes back as ``EXECABORT Transaction discarded because of: <refusal>``."""
    sess.reset_multi()
    sess.unwatch()
    return Err(errors.EXECABORT_BECAUSE.encode() + refusal.text)


def _rejected(sess, cmd: Command | None, err: Err) -> Err:
    """A request refused before execution, counted as Redis counts it: in errorstats, and in ``rejected_calls`` of
    the command it names (cmd; None for an unknown command or subcommand). A refused request also ends what
    CLIENT CACHING asked for the next command (Redis' resetClient runs after it), unless it names CLIENT or
    comes inside MULTI."""
    count_error(sess.app, err.text)
    if cmd is not None:
        cmd.rejected_calls += 1
    st = sess.tracking
    if st is not None and st.caching and sess.multi is None \
            and (cmd is None or (cmd.name != "client" and not cmd.name.startswith("client|"))):
        st.caching = False
    return err


def count_error(app, text: bytes) -> None:
    """INFO errorstats: an error reply counts under its code, its first word when that ends within Redis' 32 bytes
    (``-WRONGTYPE ...``), else ``ERR``."""
    sp = text.find(b" ", 0, 31)
    code = text[:sp] if sp >= 0 else b"ERR"
    stats = app.error_stats
    stats[code] = stats.get(code, 0) + 1


def run(sess, cmd: Command, argv: list[bytes], notified: bool = False) -> Any:
    """Execute an already-checked command, mapping errors to replies; then show it to the monitors, if any.

    Keyspace notifications on (``notify-keyspace-events``): a command that sends events runs inside its rule
    (``respd.notify.around``), which calls back here with ``notified``; off, they cost the one test below.

    INFO commandstats: the call counts in ``cmd.calls``, its time in ``cmd.ns`` (for an async store, until its
    reply is ready), an error reply in ``cmd.failed_calls`` and in errorstats. EXEC runs its queue through here, so
    queued commands count as Redis counts them, and EXEC's time includes theirs."""
    if sess.app.notify_rules and not notified:
        rule = _NOTIFY_RULES.get(cmd.name)
        if rule is not None:
            return _notify.around(sess, cmd, argv, rule, _run_notified)
    sess.last_cmd = cmd.name
    tracking = sess.app.tracking.clients  # while any client tracks keys: who runs this command (NOLOOP...)
    if tracking:
        token = _tracking.current.set(sess)
        sess.app.tracking.seq += 1
    t0 = _clock()
    try:
        r = cmd.handler(sess, argv)
        if cmd.runs_queue and type(r) is list:  # EXEC's checks passed: its queue runs here
            r = _run_queue(sess, r)
        elif cmd.runs_script and type(r) is Job:  # EVAL's checks passed: the script runs here
            r = _run_script(sess, r)
    except Exception as e:
        r = error_reply(e, cmd, sess)
    if tracking:
        _tracking.current.reset(token)
        if sess.tracking is not None and cmd.tracks_keys and not sess.tracking.bcast:
            sess.app.tracking.remember(sess, [k for k, _ in keys_of(cmd, argv)])
    now = _clock()
    cmd.calls += 1
    cmd.ns += now - t0
    if type(r) is _Coroutine:
        return awaited(r, cmd, sess, now, argv)
    if type(r) is Err:
        count_failed(sess.app, cmd, r)
    if sess.app.monitors:
        _monitor.feed(sess, cmd, argv)
    return r


def _run_notified(sess, cmd: Command, argv: list[bytes]) -> Any:
    return run(sess, cmd, argv, True)


def count_failed(app, cmd: Command, err: Err) -> None:
    """A call that answered an error: in the command's ``failed_calls`` and in errorstats."""
    cmd.failed_calls += 1
    count_error(app, err.text)


def error_reply(e: Exception, cmd: Command, sess) -> Err:
    """The reply for an exception raised by a handler (SecurityClose closes the connection instead)."""
    if isinstance(e, CommandError):
        return Err(e.text)
    if isinstance(e, StoreError):
        return store_error(e)
    if isinstance(e, SecurityClose):
        raise e
    log.error("error in command %r", cmd.name, exc_info=e)
    return Err(errors.INTERNAL_ERROR % cmd.name)


async def awaited(coro, cmd: Command, sess, t0: int, argv=None) -> Any:
    """The reply of an async command; its waiting time (from t0) adds to the command's time in commandstats, except
    a blocking command's (BLPOP...: Redis counts the time it runs, not the time it waits). With argv (the checked
    path), the command is then shown to the monitors."""
    token = _tracking.current.set(sess) if sess.app.tracking.clients else None  # the writes after its awaits
    try:
        r = await coro
    except Exception as e:
        r = error_reply(e, cmd, sess)
    finally:
        if token is not None:
            _tracking.current.reset(token)
    if "blocking" not in cmd.flags:
        cmd.ns += _clock() - t0
    if type(r) is Err:
        count_failed(sess.app, cmd, r)
    if argv is not None and sess.app.monitors:
        _monitor.feed(sess, cmd, argv)
    return r


# ------------------------------------------------------------------------------------------ EVAL
def _run_script(sess, job: Job) -> Any:
    """A script EVAL checked: in place (its reply) or in the worker (a coroutine); see ``respd.scriptcall``."""
    def rejected(cmd, err):
        _rejected(sess, cmd, err)

    if job.place == IN_PLACE:
        return scriptcall.run_in_place(sess, job, run, rejected)
    return scriptcall.run_in_worker(sess, job, run, rejected)


# ------------------------------------------------------------------------------------------ EXEC
def _run_queue(sess, queue: list) -> Any:
    """EXEC's queue (``commands.transactions.exec_`` made its checks): every command through ``run``, its
    permissions checked again first (the user's rules may have changed since it was queued, as Redis does). On
    memory stores nothing can interleave (no await); on an async (SQL) store the queue runs inside one store
    transaction; a queue holding a command that may await elsewhere (``switches_store``) runs on the awaiting
    path."""
    def call(cmd, a):
        # while a queued command runs (its synchronous part, where ACL LOG entries are made and MONITOR answers),
        # the session says so: ACL LOG's context is "multi", MONITOR refuses as Redis' DENY BLOCKING clients do
        sess.in_exec = True
        try:
            if sess.permissions is not None:
                denied = sess.permissions.check(sess, cmd, a)
                if denied is not None:
                    return Err(errors.rules_changed(denied.text))
            return run(sess, cmd, a)
        finally:
            sess.in_exec = False

    if sess.store.is_async or any(cmd.switches_store for cmd, _ in queue):
        return _run_queue_async(sess, queue, call)
    return [call(cmd, a) for cmd, a in queue]


async def _run_queue_async(sess, queue, call):
    replies = []
    store = sess.store
    if store.is_async:
        try:
            async with store.transaction():
                for cmd, a in queue:
                    r = call(cmd, a)
                    if is_pending(r):
                        r = await r
                    replies.append(r)
        except Exception as e:  # the transaction failed to commit: report it on every reply not yet an error
            err = store_error(e) if isinstance(e, StoreError) else Err(errors.EXEC_FAILED % e)
            return [r if isinstance(r, Err) else err for r in replies] or err
        return replies
    for cmd, a in queue:
        r = call(cmd, a)
        if is_pending(r):
            r = await r
        replies.append(r)
    return replies
