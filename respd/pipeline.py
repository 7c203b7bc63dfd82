"""A client's requests to replies, without I/O: ``run_requests(client)`` runs everything the client's reader holds
(through ``dispatch``) and encodes the replies for one send; its outcome tells the network layer (``respd.net``)
what to do next.
"""
from __future__ import annotations

import logging
import time
import types

from .commands.catalog import LOOKUP
from .commands.introspection import MONITOR_OK
from .commands.strings import ok_or_null
from .commands.table import lookup, then
from .dispatch import awaited, count_error, count_failed, error_reply, execute
from .errors import BUSY_SCRIPT, PROTOCOL_ERROR, ProtocolError, SecurityClose
from .replies import _BULK_HDR, _INTS, NO_REPLY, OK, Err, Push, Simple, encode

log = logging.getLogger("respd.dispatch")  # the name its log lines had before run_requests left dispatch.py
_Coroutine = types.CoroutineType
_lookup = LOOKUP.get
_clock = time.perf_counter_ns  # INFO commandstats' time (as dispatch.run)
# the two commonest commands run inline on plain sessions, saving a Python call each: their handlers' bodies, in
# step with strings.get and strings.set_ (tests/unit/any_store_fast_path.py compares the bytes)
_GET = LOOKUP[b"GET"]
_SET = LOOKUP[b"SET"]

FLUSH_AT = 256 * 1024  # replies to one received chunk are sent at once unless they pass this size

# run_requests() outcomes
DONE = 0     # every buffered request ran; c.out holds the replies to send
AWAIT = 1    # a reply is a coroutine (c.coro), to await before going on
FLUSH = 2    # c.out passed FLUSH_AT: send it, then go on
CLOSE = 3    # send c.out, then close (QUIT, protocol error, CLIENT KILL of itself...)
DROP = 4     # close without sending anything more


class ClientState:
    """A client's request pipeline without I/O: its session, its reader, and the encoded replies not sent yet.
    The trio layer (``net.client.Conn``) adds the socket side."""

    __slots__ = ("app", "sess", "reader", "out", "size", "coro", "mode", "batch", "pos", "notify", "echo",
                 "soft_since")

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
        self.notify = None           # MONITOR, Pub/Sub: called when others add to out (set by the trio layer)
        self.echo = None             # MONITOR: the line about this client's own command, sent after its reply
        self.soft_since = 0.0        # when pending output first reached the soft limit (outbuf.over), 0 = below


def run_requests(c: ClientState) -> int:
    """Run the requests buffered in the reader, appending their encoded replies to ``c.out``, until they are all
    done or something needs the caller (see the outcomes above).

    The common case, a data command (``Command.pure``) with a valid arity on a plain session (``is_plain``), runs its
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
    blocking = app.blocking
    reader = c.reader
    drain = reader.drain
    batch = c.batch
    i = c.pos
    out = c.out
    append = out.append
    size = c.size
    count = 0
    status = DONE
    plain = is_plain(sess, app)
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
                        if blocking.ready:  # it created a key clients wait for: they are served before what follows
                            blocking.serve()
                except Exception as e:
                    reply = error_reply(e, cmd, sess)
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
                    c.coro = awaited(reply, cmd, sess, _clock())
                    c.mode = 0
                    status = AWAIT
                    break
                else:
                    if t is Err:
                        count_failed(app, cmd, reply)
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
            if blocking.ready:
                blocking.serve()
            plain = is_plain(sess, app)
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
            if (sess.subs is not None or sess.tracking is not None) and c.notify is None:
                # now subscribed or tracking (others' commands write to it): FLUSH hands it to its task (_monitor)
                c.size = size
                c.mode = mode
                status = add_reply(c, reply)
                size = c.size
                if status == DONE:
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
        append(PROTOCOL_ERROR + e.text.encode() + b"\r\n")
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


def run_busy(c: ClientState) -> int:
    """``run_requests`` while a script runs on the server's thread past ``busy-reply-threshold`` (called from its
    count hook, through the poller): as Redis' processCommand then, a request is answered ``-BUSY`` unless it
    fails earlier checks (unknown command, arity, NOAUTH) or its command is ``allow_busy`` (SCRIPT KILL, SHUTDOWN,
    AUTH, HELLO, MULTI...), which runs. Nothing here reaches a store the script may be using."""
    sess = c.sess
    app = c.app
    reader = c.reader
    status = DONE
    try:
        while True:
            if c.pos == len(c.batch):
                c.batch = reader.drain()
                c.pos = 0
                if not c.batch:
                    break
            argv = c.batch[c.pos]
            c.pos += 1
            app.stat_commands += 1
            cmd = lookup(argv)
            mode = sess.reply_mode
            if type(cmd) is Err or "allow_busy" in cmd.flags or (not sess.authenticated and not cmd.no_auth):
                reply = execute(sess, argv)
                if type(reply) is _Coroutine:  # cannot wait now
                    reply.close()
                    reply = Err(BUSY_SCRIPT)
            else:
                reply = Err(BUSY_SCRIPT)
                cmd.rejected_calls += 1
                count_error(app, reply.text)
                if sess.multi is not None:
                    sess.multi_error = True
            c.mode = mode
            status = add_reply(c, reply)
            if status != DONE:
                break
    except ProtocolError as e:
        app.stat_protocol_errors += 1
        count_error(app, b"ERR")
        c.out.append(PROTOCOL_ERROR + e.text.encode() + b"\r\n")
        status = CLOSE
    except SecurityClose:
        status = DROP
    return status


def is_plain(sess, app) -> bool:
    """Whether data commands may skip the per-request checks: nothing to check (authenticated, no ACL but on
    channels, no MULTI, no maxmemory), nothing special about replies (CLIENT REPLY ON, not closing) and nobody to show
    commands to (no MONITOR: the direct path does not feed monitors), no Pub/Sub subscription (RESP2's restrictions)
    and no keyspace notifications (their rules run in ``dispatch.run``)."""
    return (sess.multi is None and (sess.permissions is None or sess.permissions.channels_only)
            and sess.authenticated and not app.maxmemory
            and not sess.reply_mode and not sess.closing and not app.monitors and sess.subs is None
            and sess.tracking is None and not app.notify_rules)


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
        return type(reply) is not Push
    return mode == 1 and sess.reply_mode == 1 and type(reply) is not Push
