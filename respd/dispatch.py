"""``execute(session, argv)``: lookup, arity, authentication, permissions, memory, MULTI queueing, execution.

The generic checks run in Redis' order (SPEC §3): unknown command → arity → NOAUTH → NOPERM → OOM → queue in
MULTI → execute. Domain errors raised by stores are mapped to RESP errors here, at the edge, and an unexpected
exception in a handler is logged and answered ``-ERR`` without harming the connection or the server.

``execute`` returns the reply directly for synchronous stores and a coroutine for async ones; the connection awaits
only in the second case, so the memory path never pays for a coroutine.
"""
from __future__ import annotations

import logging
import types
from typing import Any

from backends.base import (CorruptValue, InvalidKey, NoSuchKey, StoreError, StoreFull, StoreUnavailable,
                           WrongType)

from . import errors
from .commands import COMMANDS
from .commands.spec import LOOKUP
from .commands.spec import Command
from .errors import CommandError, SecurityClose
from .replies import QUEUED, Err

log = logging.getLogger("respd.dispatch")
_Coroutine = types.CoroutineType
_lookup = LOOKUP.get

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
    """Run one request for a session; returns the reply value (or a coroutine resolving to it)."""
    cmd = _lookup(argv[0])
    if cmd is not None and sess.multi is None and sess.acl is None and sess.authenticated \
            and not sess.app.maxmemory:
        # the common case: a plain command on an unrestricted connection (containers never match here)
        n = len(argv)
        if n == cmd.exact_args or n >= cmd.min_args:
            # run(), inlined: one call less per request (try costs nothing until something raises)
            sess.last_cmd = cmd.name
            try:
                r = cmd.handler(sess, argv)
            except Exception as e:
                return _failed(e, cmd, sess)
            if type(r) is _Coroutine:
                return _await(r, cmd, sess)
            return r
    return _execute_checked(sess, argv)


def _execute_checked(sess, argv: list[bytes]) -> Any:
    cmd = lookup(argv)
    if type(cmd) is Err:
        if argv[0].lower() in (b"post", b"host:"):
            raise SecurityClose()
        if sess.multi is not None:
            sess.multi_error = True
        return cmd
    app = sess.app
    name = argv[0].lower() if cmd.container is None else cmd.container.lower().encode()
    if not sess.authenticated and name not in _NO_AUTH_NEEDED:
        if sess.multi is not None:
            sess.multi_error = True
        return Err(errors.NOAUTH)
    if sess.acl is not None:
        denied = sess.acl.check(sess, cmd, argv)
        if denied is not None:
            if sess.multi is not None:
                sess.multi_error = True
            return denied
    if app.maxmemory and (cmd.denyoom or sess.multi is not None) and name not in _MULTI_IMMEDIATE \
            and app.over_maxmemory():
        if sess.multi is not None:
            sess.multi_error = True
        return Err(errors.OOM)
    if sess.multi is not None and name not in _MULTI_IMMEDIATE:
        sess.multi.append((cmd, argv))
        return QUEUED
    return run(sess, cmd, argv)


def run(sess, cmd: Command, argv: list[bytes]) -> Any:
    """Execute an already-checked command, mapping errors to replies."""
    sess.last_cmd = cmd.name
    try:
        r = cmd.handler(sess, argv)
    except Exception as e:
        return _failed(e, cmd, sess)
    if type(r) is _Coroutine:
        return _await(r, cmd, sess)
    return r


def _failed(e: Exception, cmd: Command, sess) -> Err:
    """The reply for an exception raised by a handler (SecurityClose closes the connection instead)."""
    if isinstance(e, CommandError):
        return Err(e.text)
    if isinstance(e, StoreError):
        return store_error(e, sess)
    if isinstance(e, SecurityClose):
        raise e
    log.error("error in command %r", cmd.name, exc_info=e)
    return Err("ERR internal error while executing '%s'" % cmd.name)


async def _await(coro, cmd: Command, sess) -> Any:
    try:
        return await coro
    except Exception as e:
        return _failed(e, cmd, sess)


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
