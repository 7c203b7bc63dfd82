"""Fixtures shared by the integration tests: TLS certificates and servers, a factory of respd processes."""
from __future__ import annotations

import pytest

from tests.helpers import RespdProcess, free_port
from tests.integration.common import openssl, tls_registry


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by the CA."""
    d = tmp_path_factory.mktemp("tls")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=respd test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "2", *ext, cwd=d)
    return d


@pytest.fixture
def tls_server(tmp_path, certs):
    started = []

    def start(auth_clients="no", entries=()):
        port = free_port()
        proc = RespdProcess(configs=[tls_registry(tmp_path, certs, port, auth_clients, entries)]).start()
        proc.tls_port = port
        started.append(proc)
        return proc

    yield start
    for p in started:
        p.stop()


@pytest.fixture
def server_factory():
    started = []

    def start(configs, extra=()):
        proc = RespdProcess(configs=configs, extra=list(extra)).start()
        started.append(proc)
        return proc

    yield start
    for p in started:
        p.stop()
