"""An EVAL script's run: where it runs, and what ``redis.call`` checks before running a command from it.

``commands.scripting`` makes EVAL's own checks and hands back a ``Job``; ``respd.dispatch`` runs it here with its
``run`` (the same execution, stats and error mapping as a client's command) and ``rejected`` (how a refusal is
counted). The two places a script runs are described in ``respd.scripting.service``.

``redis.call`` makes Redis' scriptCall checks, in its order: the command exists and its arity (Redis' script
texts), not ``noscript``, the user's permissions (ACL rules and registry policies, per key; logged in ACL LOG with
the context "lua"), no write from a read-only script (EVAL_RO, ``#!lua flags=no-writes``), the memory limit (only
before the script's first write), then the command runs on the script's own session: SELECT inside a script
changes the store its later calls use, never the caller's.
"""
from __future__ import annotations

import functools
import types
from typing import Any, Callable

from . import errors
from .commands.table import lookup, named
from .replies import Err
from .scripting.service import IN_PLACE, Job, Watch
from .scripting.storelib import ScriptStores
from .session import Session

_Coroutine = types.CoroutineType
_DENIED_KEY_PREFIX = errors.NOPERM_KEY.encode()


def _session(scripts, sess, place: int) -> Session:
    """The session a script's calls run in (one per place, reused): the caller's user, permissions and store."""
    s = scripts.sessions[place]
    if s is None:
        s = scripts.sessions[place] = Session(sess.app, 0, addr="lua")
        s.in_script = True
    s.user = sess.user
    s.authenticated = True
    s.permissions = sess.permissions
    s.store = sess.store
    s.db = sess.db
    s.proto = 2
    s.multi = None
    s.reply_mode = 0
    s.closing = False
    return s


def _refused(cmd, text: str, rejected) -> Err:
    err = Err(text)
    rejected(cmd, err)
    return err


def checked_call(ssess: Session, w: Watch, job: Job, argv: list, run: Callable, rejected: Callable) -> Any:
    """One ``redis.call``: Redis' checks, then the command (its reply, or a coroutine on an async store)."""
    cmd = lookup(argv)
    if type(cmd) is Err:
        base = named(argv)
        return _refused(base, errors.CALL_ARITY if base is not None else errors.CALL_UNKNOWN, rejected)
    flags = cmd.flags
    if "noscript" in flags:
        return _refused(cmd, errors.CALL_NOSCRIPT, rejected)
    perms = ssess.permissions
    if perms is not None:
        denied = perms.check(ssess, cmd, argv)
        if denied is not None:
            key = denied.text.startswith(_DENIED_KEY_PREFIX)
            return _refused(cmd, errors.CALL_DENIED_KEY if key else errors.CALL_DENIED_CMD, rejected)
    write = "write" in flags
    if job.read_only and (write or "may_replicate" in flags):
        return _refused(cmd, errors.CALL_RO_WRITE, rejected)
    if job.oom and not w.dirty and "denyoom" in flags:
        return _refused(cmd, errors.OOM, rejected)
    if write:
        w.dirty = True
    caller = w.sess
    if cmd.tracks_keys and caller.tracking is not None and not caller.tracking.bcast:
        # client tracking: a read inside a script remembers the script's declared keys for its caller (Redis'
        # call() with server.script_caller)
        caller.app.tracking.remember(caller, job.keys)
    return run(ssess, cmd, argv)


def run_in_place(sess, job: Job, run: Callable, rejected: Callable) -> Any:
    """Run a script on the server's thread: its reply (``Raw``) or an ``Err``."""
    scripts = sess.app.scripts
    rt = scripts.prepared(IN_PLACE, job.sha)
    ssess = _session(scripts, sess, IN_PLACE)
    w = scripts.watch(sess, IN_PLACE)

    def call(argv):
        if ssess.store.is_async:  # SELECT of a SQL store inside the script: it cannot wait here
            return Err(errors.CALL_NOT_IN_PLACE % ssess.store.id)
        r = checked_call(ssess, w, job, argv, run, rejected)
        if type(r) is _Coroutine:  # a command that reached another store (COPY ... DB n)
            r.close()
            return Err(errors.CALL_NOT_IN_PLACE % "")
        return r

    try:
        return rt.run(job.sha, job.keys, job.args, call, proto=sess.proto, control=w,
                      stores=ScriptStores(ssess, _in_place_resolve, read_only=job.read_only,
                                          on_write=functools.partial(_dirty, w)),
                      on_resp=functools.partial(setattr, ssess, "proto"))
    finally:
        scripts.done(w)


def _dirty(w: Watch) -> None:
    w.dirty = True


def _in_place_resolve(result):
    if type(result) is _Coroutine:
        result.close()
        raise RuntimeError("this script runs on the server's thread and cannot wait for a SQL store")
    return result


async def run_in_worker(sess, job: Job, run: Callable, rejected: Callable) -> Any:
    """Run a script in the worker thread (its calls hop back to this thread), in one transaction of the session's
    SQL store with the script's KEYS locked: its reply or an ``Err``."""
    app = sess.app
    scripts = app.scripts
    threads = app.threads
    async with scripts.worker_lock:
        rt = scripts.prepared(job.place, job.sha)
        ssess = _session(scripts, sess, job.place)
        w = scripts.watch(sess, job.place)

        async def resolve_async(result):
            return await result if type(result) is _Coroutine else result

        async def one(argv):
            return await resolve_async(checked_call(ssess, w, job, argv, run, rejected))

        def call(argv):
            return threads.back(one, argv)

        def resolve(result):
            return threads.back(resolve_async, result) if type(result) is _Coroutine else result

        async def store_op(op):  # the store module's operations run here, on the server's thread
            return await resolve_async(op())

        stores = ScriptStores(ssess, resolve, on_loop=lambda op: threads.back(store_op, op),
                              read_only=job.read_only, on_write=functools.partial(_dirty, w))
        body = functools.partial(rt.run, job.sha, job.keys, job.args, call, proto=sess.proto, control=w,
                                 stores=stores, on_resp=functools.partial(setattr, ssess, "proto"))
        store = sess.store
        try:
            if store.is_async:
                async with store.transaction():
                    await store.lock_keys(job.keys)
                    return await threads.run(body)
            # on a memory store, as in place: nothing else runs until the script is over
            return await threads.run(body, exclusive=True)
        finally:
            scripts.done(w)
