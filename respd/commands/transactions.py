"""MULTI, EXEC, DISCARD, WATCH, UNWATCH (SPEC §7).

Queueing happens in ``respd.dispatch.execute``. EXEC's handler makes EXEC's checks and hands the queue back to
dispatch (``runs_queue``), which runs every queued command through ``dispatch.run`` so it gets exactly the checks
and error mapping it would get outside a transaction.
"""
from __future__ import annotations

from backends.base import now_ms

from .. import errors
from ..errors import CommandError
from ..replies import NULL_ARRAY, OK
from .table import Keys, command

_TX = "noscript loading stale fast allow_busy"


@command("multi", arity=1, flags=_TX, categories="fast transaction", group="transactions", since="1.2.0",
         multi_immediate=True, summary="Starts a transaction.")
def multi(sess, argv):
    if sess.multi is not None:
        raise CommandError(errors.MULTI_NESTED)
    sess.multi = []
    sess.multi_error = False
    return OK


@command("discard", arity=1, flags=_TX, categories="fast transaction", group="transactions", since="2.0.0",
         multi_immediate=True, summary="Discards a transaction.")
def discard(sess, argv):
    if sess.multi is None:
        raise CommandError(errors.DISCARD_NO_MULTI)
    sess.reset_multi()
    sess.unwatch()
    return OK


@command("watch", arity=-2, flags=_TX, keys=(Keys(1, "RO", last=-1),), categories="fast transaction",
         group="transactions", since="2.2.0", multi_immediate=True,
         summary="Monitors changes to keys to determine the execution of a transaction.")
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


@command("unwatch", arity=1, flags=_TX, categories="fast transaction", group="transactions", since="2.2.0",
         summary="Forgets about watched keys of a transaction.")
def unwatch(sess, argv):
    sess.unwatch()
    return OK


# The arity is -1 so that this handler, not the generic arity check, answers a malformed EXEC; COMMAND INFO shows
# Redis' arity (info_arity).
@command("exec", arity=-1, info_arity=1, flags="noscript loading stale skip_slowlog", categories="slow transaction",
         group="transactions", since="1.2.0", multi_immediate=True, runs_queue=True,
         summary="Executes all commands in a transaction.")
def exec_(sess, argv):
    """EXEC's checks, in Redis' order: the queue for dispatch to run (a list of (command, argv)), or the reply
    (an error raised, or the null array when a watched key changed). The transaction and the watches end here."""
    if len(argv) != 1:
        # Redis rejects a malformed EXEC with EXECABORT and discards any open transaction (SPEC §7)
        sess.reset_multi()
        sess.unwatch()
        raise CommandError(errors.EXECABORT_BECAUSE + errors.wrong_arity("exec")[4:])
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
    dirty = sess.dirty
    sess.unwatch()
    return NULL_ARRAY if dirty else queue
