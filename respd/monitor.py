"""MONITOR: the feed of executed commands, without I/O.

What Redis 7.0 does, and respd with it (``src/server.c`` ``call()``, ``src/replication.c``
``replicationFeedMonitors``):

* A command is fed to the monitors **after** it ran (so ``SELECT 1`` shows db 1, and a transaction shows
  ``MULTI`` when it is sent, then the queued commands and ``EXEC`` when EXEC runs), whatever its reply, errors
  included. Requests refused before execution are not fed: unknown command, wrong arity, NOAUTH, NOPERM, OOM,
  ``QUEUED`` in a transaction, and a monitor's own keyspace commands.
* Commands flagged ``admin`` (CONFIG, ACL SETUSER, CLIENT LIST, DEBUG, MONITOR...) or ``skip_monitor`` are never
  fed: they are too dangerous to show.
* Secrets are redacted as Redis' ``redactClientCommandArgument`` does: both arguments of ``AUTH`` (unless it has
  more than two, a syntax error), the user and password of each ``HELLO ... AUTH user pass`` option, shown as
  ``"(redacted)"``. (Redis stops redacting HELLO at the first option that fails, so a second AUTH option after a
  failed one shows; respd redacts every well-formed AUTH option, never less than Redis.)
* One line per command, sent as a status reply in both RESP2 and RESP3 (not a push)::

      +1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"\\r\\n

  time with microseconds, the client's db index (``-1`` for a connection on a store selected by id, as CLIENT LIST
  shows it) and address, then each argument quoted as ``sdscatrepr`` does: ``\\\\ \\" \\n \\r \\t \\a \\b``
  escaped, other bytes outside ``0x20..0x7e`` as ``\\xhh``. (Redis' ``lua`` and ``unix:`` forms do not occur:
  respd has neither scripting nor Unix sockets.)

Where the lines go: ``app.monitors`` maps a monitoring client's id to its ``pipeline.ClientState``; a line is
appended to that client's pending output (``out``/``size``, the same queue its own replies use, so its replies and
the lines about its own commands stay in order) and ``notify()`` wakes the connection's writer
(``net.client._monitor``). While nobody monitors, the cost is one test of ``app.monitors`` per received chunk on
the direct path (``pipeline.is_plain``: sessions with something to check take the checked path, which tests it
once per command); the direct path never feeds, so a monitor turns it off for everyone (bench/README.md: its
cost).

A monitor that does not read must not grow memory without bound: when its pending output passes
``output_limit(app)`` it is disconnected, as Redis closes a client past its ``client-output-buffer-limit`` (Redis
applies the ``normal`` class to monitors).
"""
from __future__ import annotations

import logging
import re
import time

from .commands.args import try_int

log = logging.getLogger("respd.monitor")

#: Pending output a monitor may hold before it is disconnected (bytes). Redis applies the ``normal`` class of
#: client-output-buffer-limit to monitors, whose default is no limit; respd always bounds it. See output_limit.
MONITOR_OUTPUT_LIMIT = 32 * 1024 * 1024

REDACTED = b"(redacted)"

# sdscatrepr: printable ASCII as is, except backslash and double quote; C escapes; \xhh for the rest
_ESCAPES = {0x5C: b"\\\\", 0x22: b'\\"', 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x07: b"\\a", 0x08: b"\\b"}
_REPR = [_ESCAPES.get(i) or (bytes((i,)) if 0x20 <= i <= 0x7E else b"\\x%02x" % i) for i in range(256)]
_SPECIAL = re.compile(rb'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def output_limit(app) -> int:
    """The most bytes of pending output a monitor may hold before it is disconnected.

    The one place to connect ``client-output-buffer-limit``: once respd has that setting, return its ``normal``
    hard limit here when it is non-zero (Redis' rule for monitors); until then the fixed ``MONITOR_OUTPUT_LIMIT``."""
    return MONITOR_OUTPUT_LIMIT


def quote(arg: bytes) -> bytes:
    """One argument as Redis' ``sdscatrepr`` writes it, quotes included."""
    if _SPECIAL.search(arg) is None:
        return b'"' + arg + b'"'
    return b'"' + _SPECIAL.sub(lambda m: _REPR[m.group()[0]], arg) + b'"'


def redact(argv: list) -> list:
    """argv with secrets replaced by ``(redacted)``, as Redis 7.0 shows AUTH and HELLO ... AUTH to monitors."""
    name = argv[0].lower()
    if name == b"auth":
        if len(argv) > 3:  # a syntax error, answered before Redis redacts anything
            return argv
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == b"hello" and len(argv) > 3:
        if try_int(argv[1]) not in (2, 3):  # rejected before the options are read
            return argv
        out = list(argv)
        j, n = 2, len(argv)
        while j < n:
            opt = argv[j].lower()
            if opt == b"auth" and j + 2 < n:
                out[j + 1] = out[j + 2] = REDACTED
                j += 3
            elif opt == b"setname" and j + 1 < n and all(0x21 <= c <= 0x7E for c in argv[j + 1]):
                j += 2
            else:  # a syntax error or a bad name: Redis answers before reading further options
                break
        return out
    return argv


def line(sess, argv: list) -> bytes:
    """The feed line for a command of ``sess``, as a RESP status reply."""
    us = time.time_ns() // 1000
    db = sess.db if sess.db is not None else -1
    if argv[0][:1] in (b"a", b"A", b"h", b"H"):
        argv = redact(argv)
    return (b"+%d.%06d [%d %s] " % (us // 1000000, us % 1000000, db, sess.addr.encode())
            + b" ".join([quote(a) for a in argv]) + b"\r\n")


def feed(sess, cmd, argv: list) -> None:
    """Show a command that just ran to every monitor (call only when ``app.monitors`` is not empty)."""
    if "admin" in cmd.flags or "skip_monitor" in cmd.flags:
        return
    show(sess, argv)


def show(sess, argv: list) -> None:
    """Show a request to every monitor (EVAL shows itself before its script runs, as Redis' evalCommand does)."""
    app = sess.app
    data = line(sess, argv)
    n = len(data)
    limit = output_limit(app)
    for c in list(app.monitors.values()):
        if c.sess.closing:  # QUIT or killed: Redis adds nothing after the last reply of a closing client
            continue
        if c.sess is sess:  # its own command: the line follows the reply (pipeline appends c.echo)
            c.echo = data if c.echo is None else c.echo + data  # (several: the commands of its EXEC)
            continue
        c.out.append(data)
        c.size += n
        if c.size > limit:
            drop(c, limit)
        elif c.notify is not None:
            c.notify()


def drop(c, limit: int) -> None:
    """Disconnect a monitor whose pending output passed the limit, and free that output now."""
    sess = c.sess
    app = c.app
    app.monitors.pop(sess.id, None)
    log.warning("client id=%d addr=%s (monitor) closed for overcoming of output buffer limits: %d bytes pending, "
                "limit %d", sess.id, sess.addr, c.size, limit)
    c.out.clear()
    c.size = 0
    app.kill_client(sess)


def is_monitor(c) -> bool:
    """Whether the client behind ClientState ``c`` is in MONITOR mode."""
    return c.app.monitors.get(c.sess.id) is c


def touches_keyspace(cmd) -> bool:
    """Commands a monitor may not run (Redis: ``Replica can't interact with the keyspace``)."""
    flags = cmd.flags
    return "readonly" in flags or "write" in flags or "may_replicate" in flags
