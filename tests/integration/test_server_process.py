"""The respd process: command line, configuration checks, startup failures, shutdown, connection-level limits."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers import (Closed, RawClient, RespdProcess, encode_command, free_port, memory_registry,
                           run_respd_cli)


def stderr_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------ --check-config
def test_check_config_good_file(write_yaml):
    path = write_yaml("good.yaml", memory_registry("app", {"cache": {"max_size": 10}, "other": {}}))
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 0, r.stderr
    assert str(path) in r.stdout and "OK" in r.stdout


def test_check_config_embedded_default():
    from respd.registry import DEFAULT_CONFIG
    r = run_respd_cli("--check-config", DEFAULT_CONFIG)
    assert r.returncode == 0 and "16 databases" in r.stdout


@pytest.mark.parametrize("doc,entry,field", [
    (memory_registry("app", {"cache": {"max_size": -2}}), "app:cache", "max_size"),
    (memory_registry("app", {"cache": {"colour": "red"}}), "app:cache", "colour"),
    (memory_registry("app", {"cache": {}}, databases={0: "app:nope"}), None, "server.databases"),
    (memory_registry("app", {"cache": {}}, server={"notify_keyspace_events": "KEQ"}), None,
     "server.notify_keyspace_events"),
    ({"version": "1.0", "namespace": "app", "entries": [{"name": "c", "kind": "store.nosuch"}]}, "app:c", "kind"),
])
def test_check_config_bad_file_one_line(write_yaml, doc, entry, field):
    path = write_yaml("bad.yaml", doc)
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 1
    lines = stderr_lines(r)
    assert len(lines) == 1, r.stderr
    assert str(path) in lines[0] and "field '%s'" % field in lines[0]
    if entry:
        assert "entry '%s'" % entry in lines[0]
    assert "Traceback" not in r.stderr


def test_check_config_missing_file(tmp_path):
    r = run_respd_cli("--check-config", str(tmp_path / "nope.yaml"))
    assert r.returncode == 1
    lines = stderr_lines(r)
    assert len(lines) == 1 and "nope.yaml" in lines[0]


def test_check_config_directory(registry_dir, write_yaml):
    write_yaml("a.yaml", memory_registry("a", {"c": {}}))
    write_yaml("b.yaml", memory_registry("b", {"c": {}}, databases={1: "b:c"}))
    r = run_respd_cli("--check-config", str(registry_dir))
    assert r.returncode == 0, r.stderr
    assert "a.yaml" in r.stdout and "b.yaml" in r.stdout


def test_bad_config_at_startup_is_one_line(write_yaml):
    path = write_yaml("bad.yaml", memory_registry("app", {"cache": {"cleanup_interval": "soon"}}))
    r = run_respd_cli("--port", str(free_port()), "--config", str(path))
    assert r.returncode == 1
    lines = stderr_lines(r)
    assert len(lines) == 1 and "cleanup_interval" in lines[0] and str(path) in lines[0], r.stderr


# ------------------------------------------------------------------------------------------------ startup
def test_port_already_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_respd_cli("--port", str(port))
    assert r.returncode == 1
    lines = stderr_lines(r)
    assert len(lines) == 1, r.stderr
    assert str(port) in lines[0] and "in use" in lines[0].lower()


def test_config_directory_serves_its_stores(respd_factory, registry_dir, write_yaml):
    write_yaml("10-app.yaml", memory_registry("app", {"cache": {}, "small": {"max_size": 1}}))
    write_yaml("20-more.yaml", memory_registry("more", {"extra": {}}, databases={5: "more:extra"}))
    proc = respd_factory(configs=[registry_dir])
    with proc.client() as c:
        assert c.cmd("SET a 1") == b"+OK\r\n"
        assert c.cmd("SELECT 1") == b"+OK\r\n"
        assert c.cmd("SET a 1") == b"+OK\r\n"
        assert c.cmd("SET b 1").startswith(b"-OOM ")
        assert c.cmd("SELECT 5") == b"+OK\r\n"
        assert c.cmd("SELECT 2") == b"-ERR DB index is out of range\r\n"
        assert c.cmd("SELECT more:extra") == b"+OK\r\n"
        assert c.cmd("SELECT app:nosuch").startswith(b"-ERR ")
        assert c.cmd("CONFIG GET databases") == b"*2\r\n$9\r\ndatabases\r\n$1\r\n6\r\n"


def test_several_config_files(respd_factory, write_yaml):
    a = write_yaml("a.yaml", memory_registry("a", {"c": {}}))
    b = write_yaml("b.yaml", memory_registry("b", {"c": {}}, databases={1: "b:c"}))
    proc = respd_factory(configs=[a, b])
    with proc.client() as c:
        assert c.cmd("SELECT 1") == b"+OK\r\n"
        assert c.cmd("SELECT b:c") == b"+OK\r\n"


def test_python_dash_m_and_console_script(respd_factory):
    proc = respd_factory()                       # python -m respd
    with proc.client() as c:
        assert c.cmd("PING") == b"+PONG\r\n"
    exe = shutil.which("respd")
    if exe is None:
        pytest.skip("the respd console script is not installed (pip install -e .)")
    proc2 = respd_factory(executable=[exe])
    with proc2.client() as c:
        assert c.cmd("ECHO hi") == b"$2\r\nhi\r\n"


def test_version_flag():
    r = run_respd_cli("--version")
    assert r.returncode == 0 and "respd" in r.stdout


# ------------------------------------------------------------------------------------------------ shutdown
def test_sigterm_exits_zero():
    proc = RespdProcess().start()
    try:
        with proc.client() as c:
            assert c.cmd("SET a 1") == b"+OK\r\n"
            proc.proc.send_signal(signal.SIGTERM)
            assert proc.proc.wait(timeout=15) == 0
            with pytest.raises((Closed, OSError)):
                c.cmd("PING")
    finally:
        proc.stop()


def test_sigint_exits_zero():
    proc = RespdProcess().start()
    try:
        proc.proc.send_signal(signal.SIGINT)
        assert proc.proc.wait(timeout=15) == 0
    finally:
        proc.stop()


def test_shutdown_command_stops_the_server():
    """SHUTDOWN as Redis: no reply, the connection closes, other clients are closed, the process exits 0."""
    proc = RespdProcess().start()
    try:
        with proc.client() as other, proc.client() as c:
            assert other.cmd("PING") == b"+PONG\r\n"
            c.send(encode_command("SET", "a", "1") + encode_command("SHUTDOWN", "NOSAVE")
                   + encode_command("SET", "never", "1"))
            assert c.read_until_closed(wait=15) == b"+OK\r\n"
            assert proc.proc.wait(timeout=15) == 0
            assert other.is_closed(wait=5)
        assert "SHUTDOWN requested by client" in proc.stderr_text()
    finally:
        proc.stop()


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_shutdown():
    proc = RespdProcess().start()
    try:
        r = subprocess.run(["redis-cli", "-p", str(proc.port), "shutdown"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and r.stdout.strip() == "", (r.stdout, r.stderr)
        assert proc.proc.wait(timeout=15) == 0
    finally:
        proc.stop()


def test_shutdown_needs_the_admin_category(respd_factory, write_yaml):
    doc = memory_registry("t", {"db0": {}})
    path = write_yaml("acl.yaml", doc)
    proc = respd_factory(configs=[path])
    with proc.client() as c:
        assert c.cmd("ACL SETUSER app on >pw ~* +@all -@admin") == b"+OK\r\n"
        assert c.cmd("AUTH app pw") == b"+OK\r\n"
        reply = c.cmd("SHUTDOWN")
        assert reply.startswith(b"-NOPERM") and b"shutdown" in reply
        assert c.cmd("PING") == b"+PONG\r\n"


def test_sigterm_delivers_inflight_replies():
    proc = RespdProcess().start()
    try:
        c = proc.client()
        payload = b"".join(encode_command("SET", "k%d" % n, "v") for n in range(2000))
        c.send(payload)
        proc.proc.send_signal(signal.SIGTERM)
        got = 0
        try:
            while got < 2000:
                assert c.read_reply() == b"+OK\r\n"
                got += 1
        except (Closed, OSError):
            pass
        assert proc.proc.wait(timeout=15) == 0
        c.close()
    finally:
        proc.stop()


# ------------------------------------------------------------------------------------------------ connections
def _served_client(proc):
    """A client the server serves: a slot is free only once the server noticed an earlier client's disconnect (the
    start-up check's, or one the test closed), so connect until a PING is answered (bounded in attempts, not timed)."""
    for _ in range(200):
        c = proc.client()
        if c.cmd("PING") == b"+PONG\r\n":
            return c
        c.close()
        time.sleep(0.05)
    raise AssertionError("no client slot became free")


def test_maxclients_rejection(respd_factory, write_yaml):
    path = write_yaml("max.yaml", memory_registry("t", {"db0": {"max_size": 0}}, server={"maxclients": 2}))
    proc = respd_factory(configs=[path])
    a = _served_client(proc)
    b = _served_client(proc)
    try:
        with proc.client() as c:
            assert c.read_until_closed() == b"-ERR max number of clients reached\r\n"
        b.close()
        _served_client(proc).close()
        assert a.cmd("PING") == b"+PONG\r\n"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("bad", [
    b"*1\r\n$abc\r\n", b"*1\r\nfoo\r\n", b'ECHO "unbalanced\r\n', b"*abc\r\n",
    b"*3000000\r\n",                                      # refused by the count screen, after the SET before it
    b"*1\r\n*4000000000\r\n", b"*1\r\n%1\r\n*0\r\n$1\r\na\r\n",  # what hiredis fails on
])
def test_protocol_error_closes_only_that_client(respd, bad):
    with respd.client() as good, respd.client() as evil:
        assert good.cmd("SET k v") == b"+OK\r\n"
        evil.send(encode_command("SET", "e", "1") + bad + encode_command("SET", "never", "1"))
        data = evil.read_until_closed()
        assert data.startswith(b"+OK\r\n-ERR Protocol error: ")
        assert data.count(b"\r\n") == 2
        assert good.cmd("GET k") == b"$1\r\nv\r\n"
        assert good.cmd("GET e") == b"$1\r\n1\r\n"
        assert good.cmd("EXISTS never") == b":0\r\n"
        with respd.client() as again:
            assert again.cmd("PING") == b"+PONG\r\n"


def test_http_request_closes_without_reply(respd):
    with respd.client() as c:
        c.send(b"PING\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_until_closed() == b""
    with respd.client() as c:
        c.send(b"Host: example.com\r\n")
        assert c.read_until_closed() == b""


def test_quit_closes_after_reply(respd):
    with respd.client() as c:
        c.send(encode_command("PING") + encode_command("QUIT") + encode_command("SET", "after", "1"))
        assert c.read_until_closed() == b"+PONG\r\n+OK\r\n"
    with respd.client() as c:
        assert c.cmd("EXISTS after") == b":0\r\n"


def test_many_concurrent_clients(respd):
    clients = [respd.client() for _ in range(50)]
    try:
        for n, c in enumerate(clients):
            c.send(encode_command("INCR", "shared") + encode_command("SET", "c%d" % n, n))
        values = sorted(int(c.read_reply()[1:-2]) for c in clients)
        assert values == list(range(1, 51))
        assert all(c.read_reply() == b"+OK\r\n" for c in clients)
    finally:
        for c in clients:
            c.close()


def test_idle_timeout_closes_clients(respd_factory, write_yaml):
    path = write_yaml("timeout.yaml", memory_registry("t", {"db0": {}}, server={"timeout": 1}))
    proc = respd_factory(configs=[path])
    with proc.client() as c:
        assert c.cmd("PING") == b"+PONG\r\n"
        assert c.is_closed(wait=5)


def test_config_set_proto_max_bulk_len_applies_to_open_connections(respd_factory):
    proc = respd_factory()
    with proc.client() as c:
        assert c.cmd("CONFIG SET proto-max-bulk-len 1mb") == b"+OK\r\n"
        c.send(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n")
        assert c.read_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"


def test_client_kill_and_list(respd):
    with respd.client() as a, respd.client() as b:
        assert b.cmd("CLIENT SETNAME victim") == b"+OK\r\n"
        bid = int(b.cmd("CLIENT ID")[1:-2])
        listing = a.cmd("CLIENT LIST")
        assert b"name=victim" in listing
        assert a.cmd("CLIENT KILL ID %d" % bid) == b":1\r\n"
        assert b.is_closed(wait=5)
        assert b"name=victim" not in a.cmd("CLIENT LIST")


def test_info_sections(respd):
    with respd.client() as c:
        assert c.cmd("SET a 1") == b"+OK\r\n"
        info = c.cmd("INFO")
        assert b"redis_version:" in info and b"loading:0" in info
        assert b"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n" in c.cmd("INFO keyspace")
        assert c.cmd("INFO nosuchsection") == b"$0\r\n\r\n"
        assert c.cmd("HELLO 3").startswith(b"%7")
        assert c.cmd("INFO server").startswith(b"=")
