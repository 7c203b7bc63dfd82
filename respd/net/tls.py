"""The TLS listener: a second port whose connections are ``trio.SSLStream``s over TCP (redis-cli --tls, redis-py
``ssl=True``, ``rediss://`` URLs).

Server settings (registry ``server:`` section, as Redis names them):

* ``tls_port`` — the TLS port (0 = no TLS listener); it listens on the same ``bind`` addresses as ``port``.
* ``tls_cert_file`` / ``tls_key_file`` — the server certificate chain and its private key (PEM).
* ``tls_ca_cert_file`` — CA bundle used to verify client certificates.
* ``tls_auth_clients`` — ``yes`` (default in Redis; here ``no``): clients must present a certificate signed by
  that CA; ``optional``: verified when presented; ``no``: not asked for.
* ``tls_key_file_pass`` — the passphrase of an encrypted ``tls_key_file`` (Redis' ``tls-key-file-pass``). Without
  it an encrypted key is a configuration error: respd never prompts for a passphrase on the terminal.

``check_settings`` runs every check a start makes short of listening (``--check-config`` and every start call it
before anything is opened): the files are read and loaded into a real ``SSLContext``, the key must match the
certificate, ``tls_port`` must differ from ``port``. Each problem is a ``TLSConfigError`` naming the setting.

A certificate only proves the client's identity to TLS; the client still authenticates as a user with AUTH/HELLO
(or is the ``default`` user). Plain-TCP and TLS connections are served by the same ``client.handle`` through
``StreamTransport``; the handshake happens in the connection's own task (bounded by ``HANDSHAKE_TIMEOUT``), so a
slow or broken client never stalls the accept loop.

Accepting is ``listen.accept_loop``, as for plain TCP, sharing its ``AcceptTrouble``: should accept() fail for lack
of descriptors (clients still in their handshake are not counted by maxclients, so a crowd of them can get there),
the spare descriptor is given up to accept the waiting client and close it at once (as Redis, nothing is sent
before the handshake), and the failure is logged at most once per ``listen.ACCEPT_LOG_EVERY`` seconds. A client
past ``maxclients`` gets Redis' ``-ERR max number of clients reached`` over TLS once its handshake is done
(``client.handle``), then is closed.
"""
from __future__ import annotations

import logging
import ssl
from functools import partial

import trio

from ..errors import (TLS_CANNOT_LOAD, TLS_CANNOT_LOAD_KEY, TLS_CANNOT_LOAD_PAIR, TLS_CANNOT_READ, TLS_KEY_ENCRYPTED,
                      TLS_KEY_MISMATCH, TLS_KEY_NOT_PEM, TLS_KEY_WRONG_PASS, TLS_NEEDS_CA, TLS_NEEDS_PORT, TLS_NO_CERT,
                      TLS_REQUIRED, TLS_SAME_PORT, StartupError)
from .client import handle
from .listen import accept_loop, open_listeners
from .transport import StreamTransport

log = logging.getLogger("respd.tls")  # the name its log lines had before respd/net/
HANDSHAKE_TIMEOUT = 10.0


class TLSConfigError(Exception):
    """A TLS setting that prevents starting the TLS listener; ``field`` is the server setting at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("%s: %s" % (field, message))
        self.field = field
        self.message = message


class _EncryptedKey(Exception):
    """Raised from the passphrase callback: OpenSSL must not prompt on the terminal."""


def _no_passphrase():
    raise _EncryptedKey()


def check_settings(settings: dict) -> list:
    """Validate the TLS settings as a start would (loading every file, without listening); returns warnings (text)
    for settings that have no effect, raises TLSConfigError for settings that would keep respd from starting."""
    port = settings.get("port", 6379)
    tls_port = settings.get("tls_port", 0)
    if not tls_port:
        unused = [k for k in ("tls_cert_file", "tls_key_file", "tls_ca_cert_file", "tls_key_file_pass")
                  if settings.get(k)]
        if unused:
            return [TLS_NEEDS_PORT % ", ".join(unused)]
        return []
    if tls_port == port:
        raise TLSConfigError("tls_port", TLS_SAME_PORT % port)
    make_context(settings)
    return []


def make_context(settings: dict) -> ssl.SSLContext:
    """The server-side SSLContext for the settings; TLSConfigError names the bad setting."""
    cert, key = settings.get("tls_cert_file"), settings.get("tls_key_file")
    for name, path in (("tls_cert_file", cert), ("tls_key_file", key)):
        if not path:
            raise TLSConfigError(name, TLS_REQUIRED)
        _readable(name, path)
    mode = settings.get("tls_auth_clients", "no")
    ca = settings.get("tls_ca_cert_file")
    if mode in ("yes", "optional") and not ca:
        raise TLSConfigError("tls_auth_clients", TLS_NEEDS_CA % mode)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:  # the certificate file alone first, so that a problem there is not blamed on the key
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_verify_locations(cert)
    except ssl.SSLError as e:
        raise TLSConfigError("tls_cert_file", TLS_NO_CERT % (cert, _ssl_reason(e))) from None
    passphrase = settings.get("tls_key_file_pass")
    try:
        ctx.load_cert_chain(cert, key, password=passphrase if passphrase else _no_passphrase)
    except _EncryptedKey:
        raise TLSConfigError("tls_key_file", TLS_KEY_ENCRYPTED % key) from None
    except ssl.SSLError as e:
        if getattr(e, "reason", None) == "KEY_VALUES_MISMATCH":
            raise TLSConfigError("tls_key_file", TLS_KEY_MISMATCH % (key, cert)) from None
        why = TLS_KEY_WRONG_PASS if passphrase else TLS_KEY_NOT_PEM
        raise TLSConfigError("tls_key_file", TLS_CANNOT_LOAD_KEY % (key, why, _ssl_reason(e))) from None
    except OSError as e:
        raise TLSConfigError("tls_cert_file", TLS_CANNOT_LOAD_PAIR % (cert, key, e.strerror or e)) from None
    if mode in ("yes", "optional"):
        ctx.verify_mode = ssl.CERT_REQUIRED if mode == "yes" else ssl.CERT_OPTIONAL
    if ca:
        _readable("tls_ca_cert_file", ca)
        try:
            ctx.load_verify_locations(ca)
        except (OSError, ssl.SSLError) as e:
            raise TLSConfigError("tls_ca_cert_file", TLS_CANNOT_LOAD % (ca, _ssl_reason(e))) from None
    return ctx


def _readable(field: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise TLSConfigError(field, TLS_CANNOT_READ % (path, e.strerror or e)) from None


def _ssl_reason(e: Exception) -> str:
    return getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)


async def _handle_socket(app, ctx: ssl.SSLContext, conn) -> None:
    """Serve one accepted (stdlib, non-blocking) socket as a TLS client."""
    await _handle(app, ctx, trio.SocketStream(trio.socket.from_stdlib_socket(conn)))


async def _handle(app, ctx: ssl.SSLContext, tcp: trio.SocketStream) -> None:
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
    """The TLS context and listening sockets (non-blocking stdlib sockets), opened before the server's nurseries
    start; ``serve`` accepts on them until cancelled, then closes them."""

    def __init__(self, ctx: ssl.SSLContext, listeners: list):
        self.ctx = ctx
        self.listeners = listeners

    async def serve(self, app, connections, trouble=None) -> None:
        """Accept TLS clients, starting each one's handler (handshake, then ``client.handle``) in
        ``connections``; ``trouble`` is the process's ``listen.AcceptTrouble`` (spare descriptor, rate-limited log)."""
        serve_client = partial(_handle_socket, app, self.ctx)
        async with trio.open_nursery() as nursery:
            for listener in self.listeners:
                nursery.start_soon(partial(accept_loop, app, listener, connections, trouble, serve_client=serve_client,
                                           refusal=b""))


async def open_tls(app) -> TLSListeners:
    """Build the context and listen on ``tls_port`` on every ``bind`` address; StartupError on failure."""
    try:
        ctx = make_context(app.settings)
    except TLSConfigError as e:
        raise StartupError(str(e)) from None
    port = app.settings["tls_port"]
    listeners = open_listeners(app, tls=True)
    log.info("respd accepting TLS connections on port %d (client certificates: %s)", port,
             app.settings.get("tls_auth_clients", "no"))
    return TLSListeners(ctx, listeners)
