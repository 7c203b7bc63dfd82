"""The trio side of one client connection: receive → parse → execute → one send per received chunk.

Everything protocol- or command-related is sans-I/O (``protocol``, ``dispatch``); this loop only moves bytes. All
requests parsed from one receive are executed in order and their replies leave in a single send, so a pipeline of
N commands costs one ``recv`` and one ``send``. No exception escapes ``handle``: trio's ``serve_listeners`` would
otherwise cancel every other connection.
"""
from __future__ import annotations

import logging
import time
import types

import trio

from .dispatch import execute
from .errors import MAX_CLIENTS, ProtocolError, SecurityClose
from .protocol import RequestReader
from .replies import NO_REPLY, encode

log = logging.getLogger("respd.connection")
_Coroutine = types.CoroutineType
_now = time.time
RECV_SIZE = 65536

PROTECTED_MODE = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    b"default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    b"from external computers to respd you may adopt one of the following solutions: 1) Set protected_mode: false "
    b"in the server section of the registry, MAKING SURE respd is not publicly accessible from internet if you do "
    b"so. 2) Set up an authentication password for the default user (requirepass, or a security.user entry named "
    b"default with a password). NOTE: You only need to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n")


def _addr(sockaddr) -> str:
    if isinstance(sockaddr, tuple):
        host, port = sockaddr[0], sockaddr[1]
        return ("[%s]:%d" % (host, port)) if ":" in host else "%s:%d" % (host, port)
    return str(sockaddr) or "unix"


def _is_loopback(sockaddr) -> bool:
    if not isinstance(sockaddr, tuple):
        return True
    host = sockaddr[0]
    return host.startswith("127.") or host == "::1" or host.startswith("::ffff:127.")


async def handle(app, stream: trio.SocketStream) -> None:
    """Serve one client until it disconnects, QUITs, is killed or breaks the protocol."""
    try:
        await _serve(app, stream)
    except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
        pass
    except Exception:  # never let one connection's failure reach serve_listeners
        log.exception("connection handler failed")
    finally:
        with trio.CancelScope(shield=True):
            try:
                await stream.aclose()
            except Exception:
                pass


async def _serve(app, stream: trio.SocketStream) -> None:
    sock = stream.socket
    try:
        peer = sock.getpeername()
        local = sock.getsockname()
    except OSError:
        return
    if len(app.clients) >= app.maxclients:
        app.stat_rejected += 1
        await stream.send_all(b"-" + MAX_CLIENTS.encode() + b"\r\n")
        return
    if app.protected_mode() and not _is_loopback(peer):
        app.stat_rejected += 1
        await stream.send_all(PROTECTED_MODE)
        return
    sess = app.new_session(_addr(peer), _addr(local), sock.fileno())
    reader = RequestReader(max_bulk_len=app.proto_max_bulk_len, max_query_buffer=app.client_query_buffer_limit,
                           authenticated=sess.authenticated)
    scope = trio.CancelScope()
    app.killers[sess.id] = scope.cancel
    try:
        with scope:
            await _loop(app, sess, reader, sock, stream)
    finally:
        app.end_session(sess)


async def _loop(app, sess, reader: RequestReader, sock, stream) -> None:
    recv = sock.recv
    send_all = stream.send_all
    feed = reader.feed
    next_request = reader.next
    timeout = app.timeout
    while True:
        sess.idle = True
        if timeout:
            with trio.move_on_after(timeout) as idle:
                data = await recv(RECV_SIZE)
            if idle.cancelled_caught:
                return
        else:
            data = await recv(RECV_SIZE)
        sess.idle = False
        if not data:
            return
        sess.last_cmd_time = _now()
        feed(data)
        out = []
        close = False
        while True:
            try:
                argv = next_request()
            except ProtocolError as e:
                app.stat_protocol_errors += 1
                out.append(b"-ERR Protocol error: " + e.text.encode() + b"\r\n")
                close = True
                break
            if argv is None:
                break
            mode = sess.reply_mode
            try:
                reply = execute(sess, argv)
                if type(reply) is _Coroutine:
                    reply = await reply
            except SecurityClose:
                log.warning("possible SECURITY ATTACK detected from %s: HTTP request on the Redis port", sess.addr)
                return
            if reply is NO_REPLY:
                continue
            if mode:  # CLIENT REPLY OFF / SKIP in effect
                if mode == 2:
                    sess.reply_mode = 0
                    continue
                if sess.reply_mode == 1:
                    continue
            out.append(encode(reply, sess.proto))
            if sess.closing:
                close = True
                break
        if out:
            await send_all(out[0] if len(out) == 1 else b"".join(out))
        if close or app.draining:
            return
        if reader.authenticated != sess.authenticated:
            reader.authenticated = sess.authenticated
        if reader.max_bulk_len != app.proto_max_bulk_len:
            reader.max_bulk_len = app.proto_max_bulk_len
            reader.max_query_buffer = app.client_query_buffer_limit
