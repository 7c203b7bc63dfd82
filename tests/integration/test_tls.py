"""The TLS listener with certificates generated at test time (openssl CLI): redis-py ``ssl=True`` / ``rediss://``,
``redis-cli --tls``, client certificates (``tls_auth_clients``), and users authenticating over TLS.
"""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.helpers import RespdProcess, free_port, run_respd_cli

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by the CA."""
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=respd test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                 "-subj", "/CN=" + name, cwd=d)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", name + ".crt", "-days", "2", *ext, cwd=d)
    return d


def _registry(tmp_path, certs, tls_port, auth_clients="no", entries=()):
    doc = {"version": "1.0", "namespace": "t",
           "server": {"databases": {0: "t:db0"}, "tls_port": tls_port,
                      "tls_cert_file": str(certs / "server.crt"), "tls_key_file": str(certs / "server.key"),
                      "tls_ca_cert_file": str(certs / "ca.crt"), "tls_auth_clients": auth_clients},
           "entries": [{"name": "db0", "kind": "store.memory"}] + list(entries)}
    path = tmp_path / "tls.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def tls_server(tmp_path, certs):
    started = []

    def start(auth_clients="no", entries=()):
        port = free_port()
        proc = RespdProcess(configs=[_registry(tmp_path, certs, port, auth_clients, entries)]).start()
        proc.tls_port = port
        started.append(proc)
        return proc

    yield start
    for p in started:
        p.stop()


def _tls_client(proc, certs, **kw):
    return redis.Redis(host="127.0.0.1", port=proc.tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       socket_timeout=10, retry=Retry(NoBackoff(), 0), **kw)


def test_redis_py_over_tls(tls_server, certs):
    proc = tls_server()
    c = _tls_client(proc, certs)
    assert c.set("k", "v") is True and c.get("k") == b"v"
    r3 = _tls_client(proc, certs, protocol=3)
    assert r3.get("k") == b"v"
    url = redis.Redis.from_url("rediss://localhost:%d/0?ssl_ca_certs=%s" % (proc.tls_port, certs / "ca.crt"))
    assert url.get("k") == b"v"
    # the plain port keeps working next to the TLS one, on the same data
    assert redis.Redis(port=proc.port).get("k") == b"v"
    # plain RESP on the TLS port is a failed handshake, logged, and does not disturb the server
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(port=proc.tls_port, socket_timeout=5, retry=Retry(NoBackoff(), 0)).ping()
    assert c.ping() is True
    assert "TLS handshake with 127.0.0.1:" in proc.stderr_text()


def test_redis_cli_tls(tls_server, certs):
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    proc = tls_server()
    out = subprocess.run(["redis-cli", "-p", str(proc.tls_port), "--tls", "--cacert", str(certs / "ca.crt"),
                          "SET", "a", "1"], capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "OK", out.stderr


def test_client_certificates_required(tls_server, certs):
    proc = tls_server(auth_clients="yes")
    with pytest.raises((redis.exceptions.ConnectionError, ssl.SSLError)):
        _tls_client(proc, certs).ping()
    c = _tls_client(proc, certs, ssl_certfile=str(certs / "client.crt"), ssl_keyfile=str(certs / "client.key"))
    assert c.ping() is True


def test_users_authenticate_over_tls(tls_server, certs):
    proc = tls_server(entries=[
        {"name": "app", "kind": "security.user", "password": "pw"},
        {"name": "p", "kind": "security.policy", "users": ["app"],
         "policy": {"actions": ["store.get", "store.key.*"], "resources": ["t:db0"],
                    "conditions": [{"field": "meta.key", "operator": "glob", "value": "app:*"}]}},
        {"name": "s", "kind": "security.policy", "users": ["app"],
         "policy": {"actions": ["store.get"], "resources": ["t:db0"]}},
    ])
    with pytest.raises(redis.exceptions.AuthenticationError):
        _tls_client(proc, certs).ping()
    c = _tls_client(proc, certs, username="app", password="pw")
    assert c.set("app:1", "v") is True
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.get("other")
    if shutil.which("redis-cli"):
        out = subprocess.run(["redis-cli", "-p", str(proc.tls_port), "--tls", "--cacert", str(certs / "ca.crt"),
                              "--user", "app", "--pass", "pw", "--no-auth-warning", "GET", "app:1"],
                             capture_output=True, text=True, timeout=20)
        assert out.stdout.strip() == "v", out.stderr


def test_bad_tls_settings_refuse_to_start(tmp_path, certs):
    path = _registry(tmp_path, certs, free_port())
    doc = yaml.safe_load(path.read_text())
    doc["server"]["tls_key_file"] = str(tmp_path / "missing.key")
    path.write_text(yaml.safe_dump(doc))
    res = run_respd_cli("--config", str(path), "--port", str(free_port()))
    assert res.returncode == 1 and "field 'server.tls_key_file': cannot read" in res.stderr
    doc["server"]["tls_key_file"] = str(certs / "server.key")
    doc["server"]["tls_auth_clients"] = "yes"
    del doc["server"]["tls_ca_cert_file"]
    path.write_text(yaml.safe_dump(doc))
    res = run_respd_cli("--config", str(path), "--port", str(free_port()))
    assert res.returncode == 1 and "field 'server.tls_auth_clients': 'yes' needs tls_ca_cert_file" in res.stderr
