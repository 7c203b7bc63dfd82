"""``--check-config`` runs every check a start runs short of listening (issue 11, item 9): several files after one
flag, TLS settings loaded into a real SSLContext (missing files, mismatched key, encrypted key, client auth without
CA, ``tls_port`` equal to ``port``), bind addresses, the aclfile; an encrypted key never prompts on a terminal.
Certificates are generated with the openssl CLI."""
from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest
import redis

from tests.helpers import REPO_ROOT, RespdProcess, free_port, memory_registry, run_respd_cli, write_registry

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Two self-signed certificates with their keys (a, b), a's key encrypted with "hunter2", and a junk file."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    d = tmp_path_factory.mktemp("tlscheck")
    for n in ("a", "b"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", n + ".key", "-out", n + ".crt",
                 "-days", "2", "-subj", "/CN=localhost", cwd=d)
    _openssl("pkey", "-in", "a.key", "-aes256", "-passout", "pass:hunter2", "-out", "a.enc.key", cwd=d)
    (d / "junk.pem").write_text("not a certificate\n")
    return d


def _lines(r) -> list:
    return [line for line in r.stderr.splitlines() if line.strip()]


def _write(tmp_path, server: dict, name="tls.yaml"):
    return write_registry(tmp_path, name, memory_registry(server=server))


def test_several_files_after_one_flag(tmp_path):
    a = write_registry(tmp_path, "a.yaml", memory_registry("a", {"c": {}}))
    b = write_registry(tmp_path, "b.yaml", memory_registry("b", {"c": {}}, databases={1: "b:c"}))
    d = tmp_path / "dir"
    write_registry(d, "c.yaml", memory_registry("c", {"x": {}}, databases={2: "c:x"}))
    r = run_respd_cli("--check-config", str(a), str(b), str(d))
    assert r.returncode == 0, r.stderr
    assert "a.yaml" in r.stdout and "b.yaml" in r.stdout and "c.yaml" in r.stdout and "3 databases" in r.stdout
    r = run_respd_cli("--check-config", str(a), "--check-config", str(b))   # the repeated flag keeps working
    assert r.returncode == 0 and "b.yaml" in r.stdout, r.stderr


@needs_openssl
@pytest.mark.parametrize("server,field,words", [
    ({"tls_port": "P"}, "tls_cert_file", "required when tls_port is set"),
    ({"tls_port": "P", "tls_cert_file": "a.crt"}, "tls_key_file", "required when tls_port is set"),
    ({"tls_port": "P", "tls_cert_file": "a.crt", "tls_key_file": "b.key"}, "tls_key_file", "does not match"),
    ({"tls_port": "P", "tls_cert_file": "a.crt", "tls_key_file": "a.enc.key"}, "tls_key_file", "is encrypted"),
    ({"tls_port": "P", "tls_cert_file": "a.crt", "tls_key_file": "a.enc.key", "tls_key_file_pass": "wrong"},
     "tls_key_file", "wrong tls_key_file_pass"),
    ({"tls_port": "P", "tls_cert_file": "junk.pem", "tls_key_file": "a.key"}, "tls_cert_file", "no PEM certificate"),
    ({"tls_port": "P", "tls_cert_file": "a.crt", "tls_key_file": "nope.key"}, "tls_key_file", "cannot read"),
    ({"tls_port": "P", "tls_cert_file": "a.crt", "tls_key_file": "a.key", "tls_auth_clients": "yes"},
     "tls_auth_clients", "needs tls_ca_cert_file"),
    ({"tls_port": "P", "tls_cert_file": "a.crt", "tls_key_file": "a.key", "tls_ca_cert_file": "junk.pem"},
     "tls_ca_cert_file", "cannot load"),
    ({"tls_port": "PORT", "tls_cert_file": "a.crt", "tls_key_file": "a.key"}, "tls_port", "must differ from port"),
])
def test_tls_configs_that_cannot_start_are_rejected(tmp_path, certs, server, field, words):
    port = free_port()
    srv = {"port": port}
    for k, v in server.items():
        srv[k] = (free_port() if v == "P" else port if v == "PORT"
                  else str(certs / v) if k.endswith("_file") else v)
    path = _write(tmp_path, srv)
    for argv in (["--check-config", str(path)], ["--config", str(path)]):   # the same error when starting
        r = run_respd_cli(*argv)
        assert r.returncode == 1, (argv, r.stdout, r.stderr)
        lines = _lines(r)
        assert len(lines) == 1, r.stderr
        assert str(path) in lines[0] and "field 'server.%s'" % field in lines[0] and words in lines[0], lines
        assert "Traceback" not in r.stderr


@needs_openssl
def test_cert_and_key_without_tls_port_warn(tmp_path, certs):
    path = _write(tmp_path, {"tls_cert_file": str(certs / "a.crt"), "tls_key_file": str(certs / "a.key")})
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 0, r.stderr
    (line,) = _lines(r)
    assert "warning" in line and "field 'server.tls_port'" in line and "will not accept TLS" in line


@needs_openssl
def test_encrypted_key_with_passphrase_serves_tls(tmp_path, certs):
    tls_port = free_port()
    path = _write(tmp_path, {"tls_port": tls_port, "tls_cert_file": str(certs / "a.crt"),
                             "tls_key_file": str(certs / "a.enc.key"), "tls_key_file_pass": "hunter2"})
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 0 and not _lines(r), r.stderr
    proc = RespdProcess(configs=[path]).start()
    try:
        c = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=str(certs / "a.crt"), socket_timeout=10)
        assert c.ping() is True
    finally:
        proc.stop()


@needs_openssl
def test_encrypted_key_never_prompts_on_the_terminal(tmp_path, certs):
    """respd started on a terminal (a pty) with an encrypted key and no passphrase: one error line and exit 1, where
    OpenSSL would otherwise ask "Enter PEM pass phrase:" and wait."""
    path = _write(tmp_path, {"tls_port": free_port(), "tls_cert_file": str(certs / "a.crt"),
                             "tls_key_file": str(certs / "a.enc.key")})
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    pid, fd = pty.fork()
    if pid == 0:  # the child: respd with the pty as its controlling terminal
        os.chdir(str(REPO_ROOT))
        os.execve(sys.executable, [sys.executable, "-m", "respd", "--port", str(free_port()), "--config", str(path)],
                  env)
    out = b""
    status = None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and b"pass phrase" not in out.lower():
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:   # EIO: the child exited and the terminal is gone
                break
            if not chunk:
                break
            out += chunk
    finally:
        # the child may close the terminal a moment before it exits: give it time, unless it is prompting
        grace = time.monotonic() + (0 if b"pass phrase" in out.lower() else 15)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() >= grace:
                break
            time.sleep(0.05)
        if not done:   # still running: waiting for a passphrase (the old behaviour), or hung
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert b"pass phrase" not in out.lower(), out
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1, (status, out)
    assert b"field 'server.tls_key_file'" in out and b"is encrypted" in out, out


def test_unresolvable_bind_address_is_a_config_error(tmp_path):
    path = _write(tmp_path, {"bind": "127.0.0.1 no-such-host.invalid"})
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 1
    (line,) = _lines(r)
    assert str(path) in line and "field 'server.bind'" in line and "no-such-host.invalid" in line


def test_unreadable_aclfile_is_one_line_not_a_traceback(tmp_path):
    path = _write(tmp_path, {"aclfile": str(tmp_path)})   # a directory
    for argv in (["--check-config", str(path)], ["--port", str(free_port()), "--config", str(path)]):
        r = run_respd_cli(*argv)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        (line,) = _lines(r)
        assert "field 'server.aclfile'" in line and "Is a directory" in line
