"""The TLS listener: a second port whose connections are ``trio.SSLStream``s over TCP (redis-cli --tls, redis-py
``ssl=True``, ``rediss://`` URLs).

Server settings (registry ``server:`` section, as Redis names them):

* ``tls_port`` — the TLS port (0 = no TLS listener); it listens on the same ``bind`` addresses as ``port``.
* ``tls_cert_file`` / ``tls_key_file`` — the server certificate chain and its private key (PEM).
* ``tls_ca_cert_file`` — CA bundle used to verify client certificates.
* ``tls_auth_clients`` — ``yes`` (default in Redis; here ``no``): clients must present a certificate signed by
  that CA; ``optional``: verified when presented; ``no``: not asked for.

A certificate only proves the client's identity to TLS; the client still authenticates as a user with AUTH/HELLO
(or is the ``default`` user). Plain-TCP and TLS connections are served by the same ``connection.handle`` through
``StreamTransport``; the handshake happens in the connection's own task (bounded by ``HANDSHAKE_TIMEOUT``), so a
slow or broken client never stalls the accept loop.
"""
from __future__ import annotations

import logging
import ssl
from functools import partial

import trio

log = logging.getLogger("respd.tls")
HANDSHAKE_TIMEOUT = 10.0


class TLSConfigError(Exception):
    """A TLS setting that prevents starting the TLS listener."""


def make_context(settings: dict) -> ssl.SSLContext:
    """The server-side SSLContext for the settings; TLSConfigError names the bad setting."""
    cert, key = settings.get("tls_cert_file"), settings.get("tls_key_file")
    if not cert or not key:
        raise TLSConfigError("tls_port needs tls_cert_file and tls_key_file")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise TLSConfigError("cannot load tls_cert_file %s / tls_key_file %s: %s" % (cert, key, e)) from None
    mode = settings.get("tls_auth_clients", "no")
    ca = settings.get("tls_ca_cert_file")
    if mode in ("yes", "optional"):
        if not ca:
            raise TLSConfigError("tls_auth_clients: %s needs tls_ca_cert_file" % mode)
        ctx.verify_mode = ssl.CERT_REQUIRED if mode == "yes" else ssl.CERT_OPTIONAL
    if ca:
        try:
            ctx.load_verify_locations(ca)
        except (OSError, ssl.SSLError) as e:
            raise TLSConfigError("cannot load tls_ca_cert_file %s: %s" % (ca, e)) from None
    return ctx


async def _handle(app, ctx: ssl.SSLContext, tcp: trio.SocketStream) -> None:
    from .connection import StreamTransport, handle
    stream = trio.SSLStream(tcp, ctx, server_side=True)
    try:
        with trio.fail_after(HANDSHAKE_TIMEOUT):
            await stream.do_handshake()
    except (trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError, OSError) as e:
        peer = _peer(tcp)
        log.info("TLS handshake with %s failed: %s", peer, _reason(e))
        await trio.aclose_forcefully(stream)
        return
    await handle(app, StreamTransport(stream, tcp.socket))


def _peer(tcp) -> str:
    try:
        host, port = tcp.socket.getpeername()[:2]
        return "%s:%d" % (host, port)
    except OSError:
        return "?"


def _reason(e: BaseException) -> str:
    cause = e.__cause__ or e.__context__
    return str(cause or e) or type(e).__name__


class TLSListeners:
    """The TLS context and listening sockets, opened before the server's nurseries start."""

    def __init__(self, ctx: ssl.SSLContext, listeners: list):
        self.ctx = ctx
        self.listeners = listeners

    async def serve(self, app, connections) -> None:
        await trio.serve_listeners(partial(_handle, app, self.ctx), self.listeners, handler_nursery=connections)


async def open_tls(app) -> TLSListeners:
    """Build the context and listen on ``tls_port`` on every ``bind`` address; StartupError on failure."""
    from .server import StartupError
    try:
        ctx = make_context(app.settings)
    except TLSConfigError as e:
        raise StartupError(str(e)) from None
    port = app.settings["tls_port"]
    listeners = []
    for host in app.settings.get("bind", "127.0.0.1").split():
        try:
            listeners += await trio.open_tcp_listeners(port, host=host)
        except OSError as e:
            for lst in listeners:
                await lst.aclose()
            raise StartupError("cannot listen (TLS) on %s port %d: %s" % (host, port, e.strerror or e)) from None
    log.info("respd accepting TLS connections on port %d (client certificates: %s)", port,
             app.settings.get("tls_auth_clients", "no"))
    return TLSListeners(ctx, listeners)
