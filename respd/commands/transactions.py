"""MULTI, EXEC, DISCARD, WATCH, UNWATCH (SPEC §7).

Queueing happens in ``respd.dispatch.execute``; EXEC runs the queue through ``dispatch.run`` so every queued command
gets exactly the checks and error mapping it would get outside a transaction. On memory stores nothing can
interleave with EXEC (no await); on an async (SQL) store EXEC runs inside one store transaction.
"""
from __future__ import annotations

from backends.base import now_ms

from .. import errors
from ..errors import CommandError
from ..replies import NULL_ARRAY, OK, Err
from .table import command, is_pending, ks

_TX = ("noscript", "loading", "stale", "fast", "allow_busy")


@command("MULTI", 1, _TX, (), ("fast", "transaction"), "transactions", "Starts a transaction.", since="1.2.0")
def multi(sess, argv):
    if sess.multi is not None:
        raise CommandError(errors.MULTI_NESTED)
    sess.multi = []
    sess.multi_error = False
    return OK


@command("DISCARD", 1, _TX, (), ("fast", "transaction"), "transactions", "Discards a transaction.", since="2.0.0")
def discard(sess, argv):
    if sess.multi is None:
        raise CommandError(errors.DISCARD_NO_MULTI)
    sess.reset_multi()
    sess.unwatch()
    return OK


@command("WATCH", -2, _TX, (ks(1, -1, 1, redis=("RO",)),), ("fast", "transaction"), "transactions",
         "Monitors changes to keys to determine the execution of a transaction.", since="2.2.0")
def watch(sess, argv):
    if sess.multi is not None:
        raise CommandError(errors.WATCH_IN_MULTI)
    store = sess.store
    if store.is_async:
        return _watch_async(sess, store, argv[1:])
    store.exists(argv[1:])  # reclaim keys already expired, so their removal does not count as a change
    for key in argv[1:]:
        sess.watch(store, key)
    return OK


async def _watch_async(sess, store, keys):
    """On a SQL store expiry removes nothing to notice: remember the earliest deadline of the watched keys, and
    EXEC treats it passing as a change (as Redis does for a watched key that expires)."""
    for key in keys:
        at = await store.expire_time(key)
        sess.watch(store, key)
        if at > 0 and (not sess.watch_deadline or at < sess.watch_deadline):
            sess.watch_deadline = at
    return OK


@command("UNWATCH", 1, _TX, (), ("fast", "transaction"), "transactions",
         "Forgets about watched keys of a transaction.", since="2.2.0")
def unwatch(sess, argv):
    sess.unwatch()
    return OK


@command("EXEC", -1, ("noscript", "loading", "stale", "skip_slowlog"), (), ("slow", "transaction"), "transactions",
         "Executes all commands in a transaction.", since="1.2.0")
def exec_(sess, argv):
    if len(argv) != 1:
        # Redis rejects a malformed EXEC with EXECABORT and discards any open transaction (SPEC §7); the arity is
        # declared -1 so that this handler, not the generic arity check, answers it.
        sess.reset_multi()
        sess.unwatch()
        raise CommandError("EXECABORT Transaction discarded because of: " + errors.wrong_arity("exec")[4:])
    if sess.multi is None:
        raise CommandError(errors.EXEC_NO_MULTI)
    queue = sess.multi
    aborted = sess.multi_error
    sess.reset_multi()
    if aborted:
        sess.unwatch()
        raise CommandError(errors.EXECABORT)
    for store, key in sess.watched:
        if not store.is_async:
            store.exists([key])  # a watched key that expired since WATCH counts as changed
    if sess.watch_deadline and sess.watch_deadline <= now_ms():
        sess.dirty = True
    if sess.dirty:
        sess.unwatch()
        return NULL_ARRAY
    sess.unwatch()
    from ..dispatch import run as run_unchecked  # late import: dispatch imports the command table

    executing = sess.app.acl.log.executing if getattr(sess.app, "acl", None) is not None else set()

    def run(sess, cmd, a):
        if cmd.name == "monitor":  # Redis: an EXEC client expects one reply per command ("DENY BLOCKING")
            return Err(errors.MONITOR_IN_EXEC)
        # ACL LOG entries made while this runs (a denial, a failed AUTH) have Redis' context "multi"; the synchronous
        # part of a command is where they are made
        executing.add(sess)
        try:
            # permissions are checked again at EXEC, in case the user's rules changed after queueing (as Redis does)
            if sess.acl is not None:
                denied = sess.acl.check(sess, cmd, a)
                if denied is not None:
                    return _rules_changed(denied)
            return run_unchecked(sess, cmd, a)
        finally:
            executing.discard(sess)

    if sess.store.is_async or any(_may_switch(cmd) for cmd, _ in queue):
        return _exec_async(sess, queue, run)
    return [run(sess, cmd, a) for cmd, a in queue]


exec_.command.info_arity = 1  # COMMAND INFO shows Redis' arity; dispatch's is -1 (see above)


_RULES_CHANGED = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
                  "This command is no longer allowed for the following reason: ")


def _rules_changed(denied: Err) -> Err:
    text = denied.text
    if text.startswith(b"NOPERM this user has no permissions to run"):
        reason = "no permission to execute the command or subcommand"
    elif text.startswith(b"NOPERM this user has no permissions to access one of the keys"):
        reason = "no permission to touch the specified keys"
    else:
        reason = "no permission"
    return Err(_RULES_CHANGED + reason)


def _may_switch(cmd) -> bool:
    """Whether a queued command needs the awaiting path: it may reach another store (an async one), or it is a
    login whose WRONGPASS may be answered after a delay (``Auth.answer_failure``)."""
    return cmd.name in ("select", "copy", "move", "flushall", "auth", "hello")


async def _exec_async(sess, queue, run):
    replies = []
    store = sess.store
    if store.is_async:
        try:
            async with store.transaction():
                for cmd, a in queue:
                    r = run(sess, cmd, a)
                    if is_pending(r):
                        r = await r
                    replies.append(r)
        except Exception as e:  # the transaction failed to commit: report it on every reply not yet an error
            from ..dispatch import store_error
            from backends.base import StoreError
            err = store_error(e) if isinstance(e, StoreError) else Err("ERR transaction failed: %s" % e)
            return [r if isinstance(r, Err) else err for r in replies] or err
        return replies
    for cmd, a in queue:
        r = run(sess, cmd, a)
        if is_pending(r):
            r = await r
        replies.append(r)
    return replies
