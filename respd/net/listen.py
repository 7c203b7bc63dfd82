"""Listening and accepting: the listening sockets for ``bind`` (plain TCP and TLS) and the accept loop that starts a
client's handler for each accepted socket.

Descriptors (as Redis): clients past maxclients get ``-ERR max number of clients reached`` (``client.handle``);
should accept() still fail for lack of descriptors, a spare descriptor is given up to accept and refuse the client
the same way, and the failure is logged at most once per ``ACCEPT_LOG_EVERY`` seconds (``AcceptTrouble``).
"""
from __future__ import annotations

import errno
import logging
import os
import socket
import time
from typing import Optional

import trio

from ..errors import CANNOT_LISTEN, StartupError
from .client import MAX_CLIENTS_REPLY, start_plain
from .transport import accepted

log = logging.getLogger("respd.server")  # the name its log lines had before respd/net/


def open_listeners(app, tls: bool = False) -> list:
    """Listening sockets (non-blocking) for every address in ``bind``, on ``port`` or with ``tls`` on ``tls_port``;
    StartupError names what failed."""
    binds = app.settings.get("bind", "127.0.0.1").split()
    port = app.settings["tls_port"] if tls else app.port
    listeners: list = []
    try:
        for host in binds:
            for family, type_, proto, _, addr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                    flags=socket.AI_PASSIVE):
                sock = socket.socket(family, type_, proto)
                listeners.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(addr)
                sock.listen(socket.SOMAXCONN)
                sock.setblocking(False)
                if port == 0 and not tls:
                    app.port = port = sock.getsockname()[1]
    except OSError as e:
        for sock in listeners:
            sock.close()
        raise StartupError(CANNOT_LISTEN % (" (TLS)" if tls else "", host, port, e.strerror or e)) from None
    return listeners


_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
_NO_FDS = {errno.EMFILE, errno.ENFILE}
ACCEPT_LOG_EVERY = 10.0


class AcceptTrouble:
    """What the accept loops share when accept() fails for lack of resources: a spare descriptor, given up to
    accept a client and refuse it with Redis' error instead of leaving it hanging, and a rate-limited log. One per
    process, shared by the plain-TCP and TLS accept loops (the spare and the log are the process's)."""

    def __init__(self, app) -> None:
        self.app = app
        self.spare = self._open_spare()
        self.failures = 0
        self.refused = 0
        self.last_log = 0.0
        self.last_error = ""

    @staticmethod
    def _open_spare() -> int:
        try:
            return os.open(os.devnull, os.O_RDONLY)
        except OSError:
            return -1

    def refuse_one(self, listener: socket.socket, reply: bytes = MAX_CLIENTS_REPLY) -> bool:
        """Out of descriptors: free the spare, accept one client, send it ``reply`` (nothing if empty: a TLS client
        gets nothing before its handshake), close it, take the spare back.
        Whether a client was refused (False: the spare is gone too, or nobody was waiting)."""
        if self.spare < 0:
            self.spare = self._open_spare()
            return False
        os.close(self.spare)
        self.spare = -1
        try:
            conn, _ = listener.accept()
        except OSError:
            self.spare = self._open_spare()
            return False
        try:
            conn.setblocking(False)
            if reply:
                conn.send(reply)  # best effort, as Redis
        except OSError:
            pass
        conn.close()
        self.spare = self._open_spare()  # after the close: the descriptor it frees is the one to keep
        self.refused += 1
        self.app.stat_rejected += 1
        return True

    def failed(self, e: OSError) -> None:
        self.failures += 1
        self.last_error = e.strerror or str(e)
        now = time.monotonic()
        if now - self.last_log >= ACCEPT_LOG_EVERY:
            log.error("accepting client connections failed %d time(s) (%s); %d client(s) refused with 'max number "
                      "of clients reached' (this message repeats at most every %.0f s)",
                      self.failures, self.last_error, self.refused, ACCEPT_LOG_EVERY)
            self.last_log = now
            self.failures = self.refused = 0

    def close(self) -> None:
        if self.spare >= 0:
            os.close(self.spare)
            self.spare = -1


async def accept_loop(app, listener: socket.socket, nursery, trouble: Optional[AcceptTrouble] = None, *,
                      serve_client=None, refusal: bytes = MAX_CLIENTS_REPLY) -> None:
    """Accept clients on one listening socket and start a handler for each in ``nursery``: by default the plain-TCP
    one; ``serve_client`` (an async function of the accepted socket) for other kinds (TLS). ``refusal`` is what a
    client refused for lack of descriptors is sent before it is closed."""
    trouble = trouble or AcceptTrouble(app)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(listener)
                continue
            except OSError as e:
                if e.errno in _ACCEPT_RETRY:  # out of descriptors or memory
                    refused = e.errno in _NO_FDS and trouble.refuse_one(listener, refusal)
                    trouble.failed(e)
                    if not refused:
                        await trio.sleep(0.1)  # back off, as trio does
                    continue
                if e.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                raise
            accepted(conn)
            if serve_client is None:
                start_plain(app, conn, nursery)
            else:
                nursery.start_soon(serve_client, conn)
    finally:
        trio.lowlevel.notify_closing(listener)
        listener.close()
