"""The TLS listener with certificates generated at test time (openssl CLI): redis-py ``ssl=True`` / ``rediss://``,
``redis-cli --tls``, client certificates (``tls_auth_clients``), and users authenticating over TLS. The ``certs``
and ``tls_server`` fixtures are in conftest.py.
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

from tests.helpers import free_port, run_respd_cli
from tests.integration.common import tls_client, tls_registry

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


def test_redis_py_over_tls(tls_server, certs):
    proc = tls_server()
    c = tls_client(proc, certs)
    assert c.set("k", "v") is True and c.get("k") == b"v"
    r3 = tls_client(proc, certs, protocol=3)
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
        tls_client(proc, certs).ping()
    c = tls_client(proc, certs, ssl_certfile=str(certs / "client.crt"), ssl_keyfile=str(certs / "client.key"))
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
        tls_client(proc, certs).ping()
    c = tls_client(proc, certs, username="app", password="pw")
    assert c.set("app:1", "v") is True
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.get("other")
    if shutil.which("redis-cli"):
        out = subprocess.run(["redis-cli", "-p", str(proc.tls_port), "--tls", "--cacert", str(certs / "ca.crt"),
                              "--user", "app", "--pass", "pw", "--no-auth-warning", "GET", "app:1"],
                             capture_output=True, text=True, timeout=20)
        assert out.stdout.strip() == "v", out.stderr


def test_bad_tls_settings_refuse_to_start(tmp_path, certs):
    path = tls_registry(tmp_path, certs, free_port())
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
