"""Requests to replies, without I/O: ``execute(session, argv)`` runs one request (lookup, arity, authentication,
permissions, memory, MULTI queueing, execution); ``respd.pipeline`` runs everything a client's reader holds through
it and encodes the replies for one send.

The generic checks run in Redis' order (SPEC §3): unknown command → arity → NOAUTH → NOPERM → OOM → queue in
MULTI → execute. Domain errors raised by stores are mapped to RESP errors here, at the edge, and an unexpected
exception in a handler is logged and answered ``-ERR`` without harming the connection or the server.

``execute`` returns the reply directly for synchronous stores and a coroutine for async ones; the connection awaits
only in the second case, so the memory path never pays for a coroutine.
"""
from __future__ import annotations

import logging
import time
import types
from typing import Any

from backends.base import (CorruptValue, InvalidKey, NoSuchKey, StoreError, StoreFull, StoreUnavailable,
                           WrongType)

from . import errors
from . import monitor as _monitor
from .commands import COMMANDS
from .commands.spec import LOOKUP, Command
from .errors import CommandError, SecurityClose
from .replies import QUEUED, Err

log = logging.getLogger("respd.dispatch")
_Coroutine = types.CoroutineType
_clock = time.perf_counter_ns  # INFO commandstats' time (see run)

#: commands that run immediately even inside MULTI
_MULTI_IMMEDIATE = frozenset((b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"))
#: commands allowed before authentication (SPEC §8)
_NO_AUTH_NEEDED = frozenset((b"auth", b"hello", b"quit"))


def lookup(argv: list[bytes]) -> Command | Err:
    """The command for argv (resolving subcommands), or the error reply for unknown names and wrong arity."""
    name = argv[0]
    cmd = LOOKUP.get(name) or COMMANDS.get(name.lower())
    if cmd is None:
        return Err(errors.unknown_command(argv))
    if cmd.subcommands:
        if len(argv) < 2:
            if cmd.handler is not None:  # COMMAND alone: a container that is also a command
                return cmd
            return Err(errors.wrong_arity(cmd.name))
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            return Err(errors.unknown_subcommand(argv[1], cmd.name.upper()))
        cmd = sub
    n = len(argv)
    if (cmd.arity > 0 and n != cmd.arity) or n < -cmd.arity:
        return Err(errors.wrong_arity(cmd.name))
    return cmd


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
    name = argv[0].lower() if cmd.container is None else cmd.container.lower().encode()
    if not sess.authenticated and name not in _NO_AUTH_NEEDED:
        if sess.multi is not None:
            sess.multi_error = True
        refusal = Err(errors.NOAUTH)
        return _rejected(sess, cmd, _exec_abort(sess, refusal) if name == b"exec" else refusal)
    if sess.multi is not None and "no_multi" in cmd.flags:
        sess.multi_error = True
        return _rejected(sess, cmd, Err("ERR Command not allowed inside a transaction"))
    if sess.acl is not None:
        denied = sess.acl.check(sess, cmd, argv)
        if denied is not None:
            if sess.multi is not None:
                sess.multi_error = True
            return _rejected(sess, cmd, _exec_abort(sess, denied) if name == b"exec" else denied)
    if app.maxmemory and (cmd.denyoom or sess.multi is not None) and name not in _MULTI_IMMEDIATE \
            and app.over_maxmemory():
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, cmd, Err(errors.OOM))
    if app.monitors and sess.id in app.monitors and _monitor.touches_keyspace(cmd):
        if sess.multi is not None:
            sess.multi_error = True
        return _rejected(sess, cmd, Err(errors.MONITOR_KEYSPACE))  # Redis flags a monitor as a replica
    if sess.multi is not None and name not in _MULTI_IMMEDIATE:
        sess.multi.append((cmd, argv))
        return QUEUED
    return run(sess, cmd, argv)


def _exec_abort(sess, refusal: Err) -> Err:
    """EXEC refused before it runs (NOAUTH, NOPERM): as Redis' rejectCommand, the transaction (if any) is discarded
    and the refusal comes back as ``EXECABORT Transaction discarded because of: <refusal>``."""
    sess.reset_multi()
    sess.unwatch()
    return Err(b"EXECABORT Transaction discarded because of: " + refusal.text)


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
    queued commands count as Redis counts them."""
    sess.last_cmd = cmd.name
    t0 = _clock()
    try:
        r = cmd.handler(sess, argv)
    except Exception as e:
        r = error_reply(e, cmd, sess)
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


def count_failed(app, cmd: Command, err: Err) -> None:
    """A call that answered an error: in the command's ``failed_calls`` and in errorstats."""
    cmd.failed_calls += 1
    count_error(app, err.text)


def error_reply(e: Exception, cmd: Command, sess) -> Err:
    """The reply for an exception raised by a handler (SecurityClose closes the connection instead)."""
    if isinstance(e, CommandError):
        return Err(e.text)
    if isinstance(e, StoreError):
        return store_error(e, sess)
    if isinstance(e, SecurityClose):
        raise e
    log.error("error in command %r", cmd.name, exc_info=e)
    return Err("ERR internal error while executing '%s'" % cmd.name)


async def awaited(coro, cmd: Command, sess, t0: int, argv=None) -> Any:
    """The reply of an async command; its waiting time (from t0) adds to the command's time in commandstats. With
    argv (the checked path), the command is then shown to the monitors."""
    try:
        r = await coro
    except Exception as e:
        r = error_reply(e, cmd, sess)
    cmd.ns += _clock() - t0
    if type(r) is Err:
        count_failed(sess.app, cmd, r)
    if argv is not None and sess.app.monitors:
        _monitor.feed(sess, cmd, argv)
    return r


def store_error(e: StoreError, sess=None) -> Err:
    """Domain errors from backends, as the RESP errors clients act on."""
    if isinstance(e, WrongType):
        return Err(errors.WRONGTYPE)
    if isinstance(e, StoreFull):
        return Err("OOM command not allowed when store '%s' is full (max_size %d)" % (e.store_id, e.limit))
    if isinstance(e, NoSuchKey):
        return Err(errors.NO_SUCH_KEY)
    if isinstance(e, InvalidKey):
        return Err("ERR invalid key for store '%s': %s" % (e.store_id, e.reason))
    if isinstance(e, CorruptValue):
        return Err(b"ERR undecodable value for key '" + e.key[:128] + b"' in store '" + e.store_id.encode()
                   + b"': " + e.reason.encode())
    if isinstance(e, StoreUnavailable):
        return Err("ERR store '%s' is unavailable: %s" % (e.store_id, e.reason))
    return Err("ERR store error: %s" % e)
