"""Accepting TLS clients at the limits (issue 11 item 6, the TLS port): past the open-files limit a TLS client is
closed at once (Redis sends nothing before the handshake) instead of hanging, the failure is logged at a bounded
rate, and the clients already connected keep being served; past maxclients a TLS client gets Redis' error after
its handshake, as a plain-TCP client does.

Clients still in their handshake are not clients yet (maxclients does not count them), so a crowd of connections
that never say hello is what runs respd out of descriptors on the TLS port; each holds one for up to
``tls.HANDSHAKE_TIMEOUT``.
"""
from __future__ import annotations

import shutil
import socket
import ssl
import sys
import time

import pytest
import yaml

from tests.helpers import RespdProcess, free_port, memory_registry

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")

NOFILE = 64          # respd lowers maxclients to 64 - 32 reserved descriptors
SILENT_CLIENTS = 120  # more than the descriptors respd has left: connect, then never start the handshake
HANG_GUARD = 60.0


def _tls_respd(tmp_path, certs, nofile=None, server=None) -> RespdProcess:
    tls_port = free_port()
    settings = {"tls_port": tls_port, "tls_cert_file": str(certs / "server.crt"),
                "tls_key_file": str(certs / "server.key")}
    settings.update(server or {})
    path = tmp_path / "tls.yaml"
    path.write_text(yaml.safe_dump(memory_registry("t", {"db0": {}}, server=settings), sort_keys=False))
    executable = None
    if nofile is not None:  # as after ``ulimit -n``
        executable = ["sh", "-c", 'ulimit -n %d && exec "$0" "$@"' % nofile, sys.executable, "-m", "respd"]
    proc = RespdProcess(configs=[path], executable=executable).start()
    proc.tls_port = tls_port
    return proc


class _TLSClient:
    """A blocking TLS connection that reads whole simple replies (enough for PING and error lines)."""

    def __init__(self, port: int, certs, timeout: float = HANG_GUARD):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")  # the handshake, or an error

    def cmd(self, request: bytes) -> bytes:
        self.sock.sendall(request)
        return self.read_line()

    def read_line(self) -> bytes:
        buf = b""
        while not buf.endswith(b"\r\n"):
            data = self.sock.recv(4096)
            if not data:
                break
            buf += data
        return buf

    def read_until_closed(self) -> bytes:
        buf = b""
        while True:
            try:
                data = self.sock.recv(4096)
            except (ssl.SSLEOFError, ConnectionResetError):
                return buf
            if not data:
                return buf
            buf += data

    def close(self) -> None:
        self.sock.close()


def _refused_before_handshake(port: int, certs) -> str:
    """Connect and handshake: how respd ended it ('closed' on EOF or a reset); fails if the handshake completed."""
    try:
        c = _TLSClient(port, certs)
    except (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
        return "closed"
    except ssl.SSLError as e:  # an EOF in the middle of the handshake, as OpenSSL words it
        if "EOF" in str(e) or "UNEXPECTED_EOF" in str(e):
            return "closed"
        raise
    except socket.timeout:
        pytest.fail("a TLS client past the open-files limit hung for %.0f s" % HANG_GUARD)
    c.close()
    pytest.fail("a TLS client past the open-files limit completed its handshake: it was not refused")


def test_tls_clients_past_the_open_files_limit_are_closed_and_logged_at_a_bounded_rate(tmp_path, certs):  # noqa
    proc = _tls_respd(tmp_path, certs, nofile=NOFILE)
    silent = []
    existing = None
    try:
        existing = _TLSClient(proc.tls_port, certs)
        assert existing.cmd(b"PING\r\n") == b"+PONG\r\n"
        with proc.client() as admin:
            assert admin.cmd("PING") == b"+PONG\r\n"  # accepted before respd runs out of descriptors
            for _ in range(SILENT_CLIENTS):
                s = socket.create_connection(("127.0.0.1", proc.tls_port), timeout=HANG_GUARD)
                silent.append(s)
            # behind every silent client in the accept queue: respd is out of descriptors when it gets to it
            for _ in range(3):
                assert _refused_before_handshake(proc.tls_port, certs) == "closed"
            assert existing.cmd(b"PING\r\n") == b"+PONG\r\n"  # the clients already connected are served
            assert admin.cmd("PING") == b"+PONG\r\n"
            time.sleep(1.0)  # the old loop logged an ERROR every 100 ms while it left clients hanging
            stats = admin.cmd("INFO stats")
        assert int(stats.split(b"rejected_connections:")[1].split(b"\r\n")[0]) >= 3
        text = proc.stderr_text(limit=10 ** 7)
        failures = [line for line in text.splitlines() if " ERROR " in line]
        assert 1 <= len(failures) <= 2, text[-4000:]
        assert "accepting client connections failed" in failures[0] and "Too many open files" in failures[0]
    finally:
        for s in silent:
            s.close()
        if existing is not None:
            existing.close()
        proc.stop()


def test_tls_clients_past_maxclients_get_redis_error_after_the_handshake(tmp_path, certs):
    proc = _tls_respd(tmp_path, certs, server={"maxclients": 2})
    first = None
    try:
        with proc.client() as admin:  # one of the two
            first = _TLSClient(proc.tls_port, certs)
            assert first.cmd(b"PING\r\n") == b"+PONG\r\n"
            for _ in range(3):
                extra = _TLSClient(proc.tls_port, certs)
                try:
                    assert extra.read_until_closed() == b"-ERR max number of clients reached\r\n"
                finally:
                    extra.close()
            assert first.cmd(b"PING\r\n") == b"+PONG\r\n"
            assert admin.cmd("PING") == b"+PONG\r\n"
    finally:
        if first is not None:
            first.close()
        proc.stop()
