"""Requests to replies, without I/O: ``execute(session, argv)`` runs one request (lookup, arity, authentication,
permissions, memory, MULTI queueing, execution) and EXEC's queue; ``run_requests(client)`` runs everything a
client's reader holds and encodes the replies for one send.

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
from .commands.catalog import COMMANDS, LOOKUP
from .commands.introspection import MONITOR_OK
from .commands.strings import ok_or_null
from .commands.table import Command, is_pending, lookup, then
from .errors import CommandError, ProtocolError, SecurityClose, store_error
from .replies import _BULK_HDR, _INTS, NO_REPLY, OK, QUEUED, Err, Simple, encode

log = logging.getLogger("respd.dispatch")
_Coroutine = types.CoroutineType
_lookup = LOOKUP.get
_clock = time.perf_counter_ns  # INFO commandstats' time (see run)
# the two commonest commands run inline on plain sessions, saving a Python call each (about 4% of a request's
# instructions): their handlers' bodies, in step with strings.get and strings.set_
_GET = LOOKUP[b"GET"]
_SET = LOOKUP[b"SET"]


def execute(sess, argv: list[bytes]) -> Any:
    """Run one request for a session with every check; returns the reply value (or a coroutine resolving to it)."""
    cmd = lookup(argv)
    if type(cmd) is Err:
        if argv[0].lower() in (b"post", b"host:"):
            raise SecurityClose()
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, _named(argv), cmd)
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
    if sess.multi is not None and not cmd.multi_immediate:
        sess.multi.append((cmd, argv))
        return QUEUED
    return run(sess, cmd, argv)


def _exec_abort(sess, refusal: Err) -> Err:
    """EXEC refused before it runs (NOAUTH, NOPERM): as Redis' rejectCommand, the transaction (if any) is discarded
    and the refusal comes back as ``EXECABORT Transaction discarded because of: <refusal>``."""
    sess.reset_multi()
    sess.unwatch()
    return Err(errors.EXECABORT_BECAUSE.encode() + refusal.text)


def _rejected(sess, cmd: Command | None, err: Err) -> Err:
    """A request refused before execution, counted as Redis counts it: in errorstats, and in ``rejected_calls`` of
    the command it names (cmd; None for an unknown command or subcommand)."""
    count_error(sess.app, err.text)
    if cmd is not None:
        cmd.rejected_calls += 1
    return err


def _named(argv: list[bytes]) -> Command | None:
    """The command a request that ``lookup`` refused names, if any: for a wrong arity the command or subcommand,
    ``CLIENT`` alone the container; None for an unknown command or subcommand."""
    cmd = LOOKUP.get(argv[0]) or COMMANDS.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower())
    return cmd


def count_error(app, text: bytes) -> None:
    """INFO errorstats: an error reply counts under its code, its first word when that ends within Redis' 32 bytes
    (``-WRONGTYPE ...``), else ``ERR``."""
    sp = text.find(b" ", 0, 31)
    code = text[:sp] if sp >= 0 else b"ERR"
    stats = app.error_stats
    stats[code] = stats.get(code, 0) + 1


def run(sess, cmd: Command, argv: list[bytes]) -> Any:
    """Execute an already-checked command, mapping errors to replies; then show it to the monitors, if any.

    INFO commandstats: the call counts in ``cmd.calls``, its time in ``cmd.ns`` (for an async store, until its
    reply is ready), an error reply in ``cmd.failed_calls`` and in errorstats. EXEC runs its queue through here, so
    queued commands count as Redis counts them, and EXEC's time includes theirs."""
    sess.last_cmd = cmd.name
    t0 = _clock()
    try:
        r = cmd.handler(sess, argv)
        if cmd.runs_queue and type(r) is list:  # EXEC's checks passed: its queue runs here
            r = _run_queue(sess, r)
    except Exception as e:
        r = _failed(e, cmd, sess)
    now = _clock()
    cmd.calls += 1
    cmd.ns += now - t0
    if type(r) is _Coroutine:
        return _await(r, cmd, sess, now, argv)
    if type(r) is Err:
        _failed_call(sess.app, cmd, r)
    if sess.app.monitors:
        _monitor.feed(sess, cmd, argv)
    return r


def _failed_call(app, cmd: Command, err: Err) -> None:
    cmd.failed_calls += 1
    count_error(app, err.text)


def _failed(e: Exception, cmd: Command, sess) -> Err:
    """The reply for an exception raised by a handler (SecurityClose closes the connection instead)."""
    if isinstance(e, CommandError):
        return Err(e.text)
    if isinstance(e, StoreError):
        return store_error(e)
    if isinstance(e, SecurityClose):
        raise e
    log.error("error in command %r", cmd.name, exc_info=e)
    return Err(errors.INTERNAL_ERROR % cmd.name)


async def _await(coro, cmd: Command, sess, t0: int, argv=None) -> Any:
    """The reply of an async command; its waiting time (from t0) adds to the command's time in commandstats. With
    argv (the checked path), the command is then shown to the monitors."""
    try:
        r = await coro
    except Exception as e:
        r = _failed(e, cmd, sess)
    cmd.ns += _clock() - t0
    if type(r) is Err:
        _failed_call(sess.app, cmd, r)
    if argv is not None and sess.app.monitors:
        _monitor.feed(sess, cmd, argv)
    return r


# ------------------------------------------------------------------------------------------ EXEC
def _run_queue(sess, queue: list) -> Any:
    """EXEC's queue (``commands.transactions.exec_`` made its checks): every command through ``run``, its
    permissions checked again first (the user's rules may have changed since it was queued, as Redis does). On
    memory stores nothing can interleave (no await); on an async (SQL) store the queue runs inside one store
    transaction; a queue holding a command that may await elsewhere (``switches_store``) runs on the awaiting
    path."""
    security = getattr(sess.app, "security", None)
    executing = security.log.executing if security is not None else set()

    def call(cmd, a):
        if cmd.name == "monitor":  # Redis: an EXEC client expects one reply per command ("DENY BLOCKING")
            return Err(errors.MONITOR_IN_EXEC)
        # ACL LOG entries made while this runs (a denial, a failed AUTH) have Redis' context "multi"; the synchronous
        # part of a command is where they are made
        executing.add(sess)
        try:
            if sess.permissions is not None:
                denied = sess.permissions.check(sess, cmd, a)
                if denied is not None:
                    return Err(errors.rules_changed(denied.text))
            return run(sess, cmd, a)
        finally:
            executing.discard(sess)

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


# ------------------------------------------------------------------------------------------ pipelines
FLUSH_AT = 256 * 1024  # replies to one received chunk are sent at once unless they pass this size

# run_requests() outcomes
DONE = 0     # every buffered request ran; c.out holds the replies to send
AWAIT = 1    # a reply is a coroutine (c.coro), to await before going on
FLUSH = 2    # c.out passed FLUSH_AT: send it, then go on
CLOSE = 3    # send c.out, then close (QUIT, protocol error, CLIENT KILL of itself...)
DROP = 4     # close without sending anything more


class ClientState:
    """A client's request pipeline without I/O: its session, its reader, and the encoded replies not sent yet.
    The trio layer (``connection.Conn``) adds the socket side."""

    __slots__ = ("app", "sess", "reader", "out", "size", "coro", "mode", "batch", "pos", "notify", "echo")

    def __init__(self, app, sess, reader) -> None:
        self.app = app
        self.sess = sess
        self.reader = reader
        self.out: list[bytes] = []   # encoded replies not sent yet
        self.size = 0                # their total length
        self.coro = None             # the reply coroutine to await (AWAIT)
        self.mode = 0                # reply mode before the awaited command (CLIENT REPLY)
        self.batch: list = []        # requests taken from the reader (reader.drain()), run up to batch[pos]
        self.pos = 0
        self.notify = None           # MONITOR: called when the feed adds to out (set by the trio layer)
        self.echo = None             # MONITOR: the line about this client's own command, sent after its reply


def run_requests(c: ClientState) -> int:
    """Run the requests buffered in the reader, appending their encoded replies to ``c.out``, until they are all
    done or something needs the caller (see the outcomes above).

    The common case, a data command (``Command.pure``) with a valid arity on a ``_plain`` session, runs its
    handler directly (GET and 3-argument SET: the handler's body, inline); everything else goes through
    ``execute`` and its checks, in Redis' order. Both give the same replies: the direct path only skips checks that
    cannot fail. Whether the session is plain is decided on entry and again after every command that is not a data
    command, the only ones that can change it (other clients' commands run between calls, never during one);
    tests/unit/test_pipeline.py holds chunks that change each condition between data commands.

    INFO commandstats on the direct path: consecutive calls of one command form a row (``row``, begun at
    ``mark`` after ``row_at`` requests of this call), counted and timed when the row ends (another command, the end
    of the received requests, a request taking the checked path, or leaving): a pipeline of GETs reads the clock
    twice, not once per GET. A call's time is its share of its row: handler, reply encoding, the loop's own work."""
    sess = c.sess
    app = c.app
    reader = c.reader
    drain = reader.drain
    batch = c.batch
    i = c.pos
    out = c.out
    append = out.append
    size = c.size
    count = 0
    status = DONE
    plain = _plain(sess, app)
    row = None
    row_at = mark = 0
    try:
        while True:
            if i == len(batch):
                if row is not None:
                    row.calls += count - row_at
                    row.ns += _clock() - mark
                    row = None
                if reader.authenticated is not sess.authenticated:  # AUTH, HELLO: the limits for what follows
                    reader.authenticated = sess.authenticated
                batch = drain()
                i = 0
                if not batch:
                    break
            argv = batch[i]
            i += 1
            count += 1
            cmd = _lookup(argv[0])
            if plain and cmd is not None and cmd.pure and (len(argv) == cmd.exact_args or len(argv) >= cmd.min_args):
                if cmd is not row:
                    now = _clock()
                    if row is not None:
                        row.calls += count - 1 - row_at
                        row.ns += now - mark
                    row = cmd
                    row_at = count - 1
                    mark = now
                sess.last_cmd = cmd.name
                try:
                    if cmd is _GET:
                        reply = sess.store.get(argv[1])
                    elif cmd is _SET and len(argv) == 3:
                        reply = sess.store.set(argv[1], argv[2])
                        reply = OK if type(reply) is tuple else then(reply, ok_or_null)
                    else:
                        reply = cmd.handler(sess, argv)
                except Exception as e:
                    reply = _failed(e, cmd, sess)
                # the commonest replies (+OK, short bulks, integers) encoded here, saving a call (as replies.encode)
                t = type(reply)
                if t is Simple:
                    data = reply.encoded
                elif t is bytes and len(reply) < 4096:
                    append(_BULK_HDR[len(reply)])
                    append(reply)
                    append(b"\r\n")
                    size += len(reply) + 8  # bounds the pending replies (FLUSH_AT), so it need not be exact
                    if size > FLUSH_AT:
                        status = FLUSH
                        break
                    continue
                elif t is int:
                    data = _INTS[reply] if 0 <= reply < 10000 else b":%d\r\n" % reply
                elif t is _Coroutine:
                    c.coro = _await(reply, cmd, sess, _clock())
                    c.mode = 0
                    status = AWAIT
                    break
                else:
                    if t is Err:
                        _failed_call(app, cmd, reply)
                    data = encode(reply, sess.proto)
                append(data)
                size += len(data)
                if size > FLUSH_AT:  # big replies: send as we go, so one pipeline cannot pile up memory
                    status = FLUSH
                    break
                continue
            if row is not None:
                row.calls += count - 1 - row_at
                row.ns += _clock() - mark
                row = None
            mode = sess.reply_mode
            reply = execute(sess, argv)
            plain = _plain(sess, app)
            if type(reply) is _Coroutine:
                c.coro = reply
                c.mode = mode
                status = AWAIT
                break
            if reply is MONITOR_OK:  # this client now gets the feed in its output; FLUSH hands it to its task
                app.monitors[sess.id] = c
                c.size = size
                c.mode = mode
                add_reply(c, reply)
                size = c.size
                status = FLUSH
                break
            if mode or reply is NO_REPLY:  # CLIENT REPLY OFF/SKIP, or no reply: add_reply decides
                c.size = size
                c.mode = mode
                status = add_reply(c, reply)
                size = c.size
                if status != DONE:
                    break
                continue
            data = encode(reply, sess.proto)
            append(data)
            size += len(data)
            if c.echo is not None:
                append(c.echo)
                size += len(c.echo)
                c.echo = None
            if sess.closing:
                status = CLOSE
                break
            if size > FLUSH_AT:
                status = FLUSH
                break
    except ProtocolError as e:
        app.stat_protocol_errors += 1
        count_error(app, b"ERR")
        append(b"-ERR Protocol error: " + e.text.encode() + b"\r\n")
        status = CLOSE
    except SecurityClose:
        log.warning("possible SECURITY ATTACK detected from %s: HTTP request on the Redis port", sess.addr)
        status = DROP
    if row is not None:  # left right after a direct-path command
        row.calls += count - row_at
        row.ns += _clock() - mark
    app.stat_commands += count
    c.size = size
    c.batch = batch
    c.pos = i
    return status


def _plain(sess, app) -> bool:
    """Whether data commands may skip the per-request checks: nothing to check (authenticated, no ACL, no MULTI,
    no maxmemory), nothing special about replies (CLIENT REPLY ON, not closing) and nobody to show commands to
    (no MONITOR: the direct path does not feed monitors)."""
    return (sess.multi is None and sess.permissions is None and sess.authenticated and not app.maxmemory
            and not sess.reply_mode and not sess.closing and not app.monitors)


def add_reply(c: ClientState, reply) -> int:
    """Append a reply that took the slow way (awaited, or under CLIENT REPLY OFF/SKIP, or none at all); the outcome
    for what follows it (DONE meaning: go on with run_requests)."""
    sess = c.sess
    if not ((c.mode or reply is NO_REPLY) and _suppressed(sess, c.mode, reply)):
        data = encode(reply, sess.proto)
        c.out.append(data)
        c.size += len(data)
    if c.echo is not None:
        c.out.append(c.echo)
        c.size += len(c.echo)
        c.echo = None
    if sess.closing:  # QUIT, SHUTDOWN, a client killing itself: even when its reply is suppressed
        return CLOSE
    return FLUSH if c.size > FLUSH_AT else DONE


def _suppressed(sess, mode: int, reply) -> bool:
    """CLIENT REPLY OFF/SKIP: whether this reply is dropped (``mode`` is the setting before the command)."""
    if reply is NO_REPLY:
        return True
    if mode == 2:
        sess.reply_mode = 0
        return True
    return mode == 1 and sess.reply_mode == 1
