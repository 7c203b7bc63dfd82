"""Helpers shared by the integration tests (their fixtures are in conftest.py).

* ``registry``: write a registry of memory stores plus extra entries (users, policies) and server settings.
* ``client``: a redis-py client on a respd process that does not retry (failures are what the tests look at).
* ``tls_registry`` / ``tls_client``: the same for the TLS listener, with the ``certs`` fixture's files.
* ``openssl``: run the openssl CLI (certificates are generated at test time).
"""
from __future__ import annotations

import subprocess

import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry


def registry(tmp_path, entries=(), server=None, stores=None, name="reg.yaml"):
    stores = stores if stores is not None else [{"name": "db0", "kind": "store.memory", "max_size": 0},
                                                {"name": "db1", "kind": "store.memory", "max_size": 0}]
    doc = {"version": "1.0", "namespace": "t",
           "server": dict({"databases": {i: "t:" + s["name"] for i, s in enumerate(
               s for s in stores if s["kind"].startswith("store."))}}, **(server or {})),
           "entries": list(stores) + list(entries)}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def client(proc, **kw):
    """A redis-py client that does not retry (failures are what these tests look at)."""
    kw.setdefault("socket_timeout", 10)
    kw.setdefault("retry", Retry(NoBackoff(), 0))
    return redis.Redis(host="127.0.0.1", port=proc.port, **kw)


def tls_registry(tmp_path, certs, tls_port, auth_clients="no", entries=()):
    doc = {"version": "1.0", "namespace": "t",
           "server": {"databases": {0: "t:db0"}, "tls_port": tls_port,
                      "tls_cert_file": str(certs / "server.crt"), "tls_key_file": str(certs / "server.key"),
                      "tls_ca_cert_file": str(certs / "ca.crt"), "tls_auth_clients": auth_clients},
           "entries": [{"name": "db0", "kind": "store.memory"}] + list(entries)}
    path = tmp_path / "tls.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def tls_client(proc, certs, **kw):
    return redis.Redis(host="127.0.0.1", port=proc.tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       socket_timeout=10, retry=Retry(NoBackoff(), 0), **kw)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)
