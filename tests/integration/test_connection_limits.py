"""Connection-level limits of a real respd process (issue 11 items 5, 6, 10):

* ``timeout`` closes clients that neither read nor let respd write (idle counts from the last read or write
  progress, as in Redis); ``client-output-buffer-limit`` (CONFIG GET/SET as Redis 7.0, registry setting) closes
  clients over their hard limit, or over the soft limit for longer than its seconds; CLIENT LIST reports qbuf/omem;
  a client pipelining without reading keeps respd's memory bounded.
* maxclients is fitted to the open-files limit at start (as Redis), extra clients get Redis' error, and accept()
  failing for lack of descriptors refuses clients instead of leaving them hanging, logging at a bounded rate.
* SIGTERM while big pipelined replies are being sent: every reply a client receives is whole.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from tests.helpers import (REPO_ROOT, RawClient, RespdProcess, encode_command, free_port, memory_registry,
                           reply_end, run_respd_cli)

BIG = 16 * 1024 * 1024  # more than the kernel buffers of a loopback connection hold (send + receive)


def _wait_for(predicate, timeout: float = 30.0, pause: float = 0.1) -> bool:
    """Poll ``predicate`` (a hang guard, not a time bound)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(pause)
    return predicate()


def _clients(admin: RawClient) -> dict:
    """CLIENT LIST as {id: {field: value}}."""
    reply = admin.cmd("CLIENT LIST")
    text = reply.split(b"\r\n", 1)[1].decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("id="):
            fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
            out[int(fields["id"])] = fields
    return out


def _stalled_client(port: int, *requests: bytes) -> tuple[socket.socket, int]:
    """A client with a tiny receive buffer that sends ``requests`` and then never reads: (socket, client id)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(encode_command("CLIENT", "ID"))
    reply = b""
    while not reply.endswith(b"\r\n"):
        reply += s.recv(64)
    s.sendall(b"".join(requests))
    return s, int(reply[1:-2])


def _start(respd_factory, write_yaml, server: dict, name: str = "limits.yaml") -> RespdProcess:
    path = write_yaml(name, memory_registry("t", {"db0": {"max_size": 0}}, server=server))
    return respd_factory(configs=[path])


# ------------------------------------------------------------------------------------------------ item 5
def test_timeout_closes_a_client_stalled_on_output(respd_factory, write_yaml):
    proc = _start(respd_factory, write_yaml, {"timeout": 2})
    with proc.client() as admin:
        assert admin.call("SET", "big", b"x" * BIG) == b"+OK\r\n"
        stalled, cid = _stalled_client(proc.port, encode_command("GET", "big"))
        try:
            # it receives part of the reply, then takes nothing: respd holds the rest and waits to write (the admin
            # client keeps interacting, so only the stalled client is idle)
            assert _wait_for(lambda: cid not in _clients(admin), timeout=20), \
                "a client stalled on output outlived timeout 2: %r" % _clients(admin).get(cid)
            assert admin.cmd("PING") == b"+PONG\r\n"
        finally:
            stalled.close()


def test_timeout_spares_a_slow_reader_that_makes_progress(respd_factory, write_yaml):
    """The kernel wakes a blocked sender only once much of its buffer is free, which for this reader takes longer
    than the timeout: the client still counts as active, since it keeps taking data."""
    proc = _start(respd_factory, write_yaml, {"timeout": 1})
    size = 6 * 1024 * 1024
    with proc.client() as admin:
        assert admin.call("SET", "big", b"x" * size) == b"+OK\r\n"
        slow, cid = _stalled_client(proc.port, encode_command("GET", "big"))
        try:
            got = bytearray()
            end = None
            while end is None:  # a few KiB at a time, for several times the timeout
                data = slow.recv(65536)
                assert data, "closed while the client was reading its reply"
                got += data
                if len(got) > size:
                    end = reply_end(bytes(got))
                time.sleep(0.005)
            assert got[end - 2 - size:end - 2] == b"x" * size
        finally:
            slow.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_timeout_closes_a_tls_client_stalled_on_output(tmp_path, certs):
    """TLS clients are served by their own task (not the poller): the same rule holds there."""
    tls_port = free_port()
    doc = memory_registry("t", {"db0": {"max_size": 0}}, server={
        "timeout": 2, "tls_port": tls_port, "tls_cert_file": str(certs / "server.crt"),
        "tls_key_file": str(certs / "server.key")})
    path = tmp_path / "tls.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = RespdProcess(configs=[path]).start()
    try:
        with proc.client() as admin:
            assert admin.call("SET", "big", b"x" * BIG) == b"+OK\r\n"
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", tls_port))
            ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
            tls = ctx.wrap_socket(raw, server_hostname="localhost")
            try:
                tls.sendall(encode_command("CLIENT", "ID"))
                cid = int(tls.recv(64)[1:-2])
                tls.sendall(encode_command("GET", "big"))  # and never read
                assert cid in _clients(admin)
                assert _wait_for(lambda: cid not in _clients(admin), timeout=20), \
                    "a TLS client stalled on output outlived timeout 2: %r" % _clients(admin).get(cid)
            finally:
                tls.close()
    finally:
        proc.stop()


def test_client_list_reports_pending_output_and_query_buffer(respd):
    with respd.client() as admin:
        assert admin.call("SET", "big", b"x" * BIG) == b"+OK\r\n"
        stalled, cid = _stalled_client(respd.port, encode_command("GET", "big"))
        partial, pid = _stalled_client(respd.port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + b"y" * 50000)
        try:
            assert _wait_for(lambda: int(_clients(admin).get(cid, {}).get("omem", 0)) > 1024 * 1024, timeout=10)
            row = _clients(admin)[cid]
            assert row["events"] == "w" and int(row["oll"]) >= 1
            assert int(row["tot-mem"]) >= int(row["omem"])
            assert _wait_for(lambda: int(_clients(admin).get(pid, {}).get("qbuf", 0)) >= 50000, timeout=10)
            assert _clients(admin)[pid]["omem"] == "0"
            me = admin.cmd("CLIENT INFO")
            assert b" omem=0 " in me and b" events=r " in me
        finally:
            stalled.close()
            partial.close()


def test_output_buffer_limit_config_matches_redis(respd, redis):
    """CONFIG GET/SET client-output-buffer-limit: same replies and error texts as Redis 7.0."""
    cases = [
        ["CONFIG", "GET", "client-output-buffer-limit"],
        ["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"],
        ["CONFIG", "SET", "client-output-buffer-limit", "master 1 2 3"],
        ["CONFIG", "SET", "client-output-buffer-limit", "bogus 1 2 3"],
        ["CONFIG", "SET", "client-output-buffer-limit", "normal 1x 2 3"],
        ["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 -3"],
        ["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3a"],
        ["CONFIG", "SET", "client-output-buffer-limit", "replica 1mb 2k 3 NORMAL 1gb 0 0"],
        ["CONFIG", "GET", "client-output-buffer-limit"],
        ["CONFIG", "SET", "client-output-buffer-limit", ""],
        ["CONFIG", "SET", "client-output-buffer-limit", "slave 5 6 7 pubsub 64mb 16mb 90"],
        ["CONFIG", "GET", "client-output-buffer-limit"],
        ["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60"],
        ["CONFIG", "GET", "client-output-buffer-*"],
    ]
    with respd.client() as a, redis.client() as b:
        try:
            for argv in cases:
                assert a.call(*argv) == b.call(*argv), argv
        finally:
            b.call("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60")
            a.call("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60")


def test_hard_limit_closes_the_client_and_logs_it(respd_factory, write_yaml):
    proc = _start(respd_factory, write_yaml, {})
    with proc.client() as admin:
        assert admin.call("SET", "big", b"x" * BIG) == b"+OK\r\n"
        assert admin.cmd("CONFIG SET client-output-buffer-limit 'normal 1mb 0 0'") == b"+OK\r\n"
        stalled, cid = _stalled_client(proc.port, encode_command("GET", "big"))
        try:
            assert _wait_for(lambda: cid not in _clients(admin), timeout=20)
            assert _wait_for(lambda: "closed for overcoming of output buffer limits" in proc.stderr_text())
            assert re.search(r"Client id=%d addr=\S+ .* omem=\d+ " % cid, proc.stderr_text())
            assert admin.cmd("GET nothing") == b"$-1\r\n"  # small replies stay under the limit
        finally:
            stalled.close()


def test_soft_limit_closes_a_client_over_it_for_longer_than_its_seconds(respd_factory, write_yaml):
    proc = _start(respd_factory, write_yaml, {"client_output_buffer_limit": "normal 0 1mb 1"})
    with proc.client() as admin:
        assert admin.cmd("CONFIG GET client-output-buffer-limit") == (
            b"*2\r\n$26\r\nclient-output-buffer-limit\r\n$73\r\n"
            b"normal 0 1048576 1 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n")
        assert admin.call("SET", "big", b"x" * BIG) == b"+OK\r\n"
        stalled, cid = _stalled_client(proc.port, encode_command("GET", "big"))
        try:
            assert _wait_for(lambda: cid not in _clients(admin), timeout=20)
            assert "closed for overcoming of output buffer limits" in proc.stderr_text()
        finally:
            stalled.close()


def test_registry_rejects_a_bad_output_buffer_limit(write_yaml):
    path = write_yaml("bad.yaml", memory_registry("t", {"db0": {}},
                                                  server={"client_output_buffer_limit": "normal 1 2"}))
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 1
    assert "client_output_buffer_limit" in r.stderr and "Wrong number of arguments" in r.stderr


def _rss_kb(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_pipeline_that_is_never_read_keeps_memory_bounded(respd_factory, write_yaml):
    """With the default ``normal 0 0 0`` Redis would buffer every reply; respd stops reading a client whose output
    is pending, so 400 000 pipelined GETs of 1 MiB from a client that never reads cost it about one flush."""
    proc = _start(respd_factory, write_yaml, {})
    with proc.client() as admin:
        assert admin.call("SET", "v", b"x" * (1 << 20)) == b"+OK\r\n"
        before = _rss_kb(proc.proc.pid)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", proc.port))
        s.setblocking(False)
        pipeline = encode_command("GET", "v") * 400_000  # 8 MB of requests, more than the kernel buffers hold
        sent = 0
        try:
            deadline = time.monotonic() + 30
            last_progress = time.monotonic()
            while sent < len(pipeline) and time.monotonic() < deadline:
                try:
                    sent += s.send(pipeline[sent:sent + 65536])
                    last_progress = time.monotonic()
                except BlockingIOError:  # respd stopped reading: its receive buffer and ours are full
                    if time.monotonic() - last_progress > 1.0:
                        break
                    time.sleep(0.05)
            assert sent < len(pipeline), "respd read the whole pipeline without the client reading any reply"
            assert admin.cmd("PING") == b"+PONG\r\n"  # another client is served meanwhile
            row = [r for r in _clients(admin).values() if r["cmd"] == "get"][0]
            assert int(row["omem"]) < 64 * 1024 * 1024
            assert _rss_kb(proc.proc.pid) - before < 200 * 1024  # generous: 400 GB of replies were asked for
        finally:
            s.close()


# ------------------------------------------------------------------------------------------------ item 6
def _respd_under_ulimit(nofile: int, configs=(), extra=()) -> RespdProcess:
    """A respd whose open-files limit (soft and hard) is ``nofile``, as after ``ulimit -n``."""
    return RespdProcess(configs=configs, extra=extra,
                        executable=["sh", "-c", 'ulimit -n %d && exec "$0" "$@"' % nofile, sys.executable, "-m",
                                    "respd"])


def test_maxclients_is_lowered_to_the_open_files_limit():
    proc = _respd_under_ulimit(64).start()
    clients = []
    try:
        err = proc.stderr_text()
        assert err.count("maxclients has been reduced to 32") == 1, err
        assert "You requested maxclients of 10000 requiring at least 10032 max file descriptors" in err
        with proc.client() as admin:
            assert admin.cmd("CONFIG GET maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$2\r\n32\r\n"
            assert admin.cmd("CONFIG SET maxclients 100") == (
                b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not "
                b"able to handle the specified number of clients, try with 32\r\n")
            for _ in range(31):
                c = proc.client()
                clients.append(c)
                assert c.cmd("PING") == b"+PONG\r\n"
            for _ in range(5):  # past maxclients: Redis' error, then closed (not a hang)
                with proc.client(timeout=5) as extra:
                    assert extra.read_until_closed(wait=5) == b"-ERR max number of clients reached\r\n"
            assert admin.cmd("PING") == b"+PONG\r\n"
        assert "ERROR" not in proc.stderr_text()
    finally:
        for c in clients:
            c.close()
        proc.stop()


def test_an_open_files_limit_too_low_for_one_client_stops_the_start():
    r = subprocess.run(["sh", "-c", 'ulimit -n 30 && exec "$0" -m respd --port 0', sys.executable],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=str(REPO_ROOT),
                       env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "respd: Your current 'ulimit -n' of 30 is not enough for the server to start. Please increase your open "
        "file limit to at least 10032.")


_EMFILE_DRIVER = textwrap.dedent("""
    import os, resource, sys, trio
    from respd.registry import load
    from respd.server import make_app, serve
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    app = make_app(load(None), {"port": int(sys.argv[1])})

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(serve, app)
            hog = []  # something else in the process takes every descriptor left
            try:
                while True:
                    hog.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                pass
            print("ready", flush=True)  # serve() runs until SIGTERM

    trio.run(main)
""")


def test_accept_out_of_descriptors_refuses_clients_and_logs_at_a_bounded_rate(tmp_path):
    port = free_port()
    script = tmp_path / "emfile_driver.py"
    script.write_text(_EMFILE_DRIVER)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        p = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.PIPE, stderr=err, env=env,
                             cwd=str(REPO_ROOT))
        try:
            assert p.stdout.readline().strip() == b"ready"
            for _ in range(10):
                with RawClient(port, timeout=5) as c:
                    assert c.read_until_closed(wait=5) == b"-ERR max number of clients reached\r\n"
            time.sleep(1.0)  # the old accept loop logged an ERROR every 100 ms while clients hung
        finally:
            p.terminate()
            p.wait(10)
    text = log.read_text()
    assert text.count("ERROR") <= 2, text


# ------------------------------------------------------------------------------------------------ item 10
def _read_all_replies(sock: socket.socket, pause: float) -> tuple[bytes, bool]:
    """Read until EOF (or a reset), sleeping ``pause`` between reads: (bytes, whether it ended with a reset)."""
    buf = bytearray()
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return bytes(buf), True
        if not data:
            return bytes(buf), False
        buf += data
        if pause:
            time.sleep(pause)


def _whole_replies(buf: bytes) -> tuple[int, int]:
    """(number of complete replies, bytes after the last one)."""
    pos = n = 0
    while True:
        end = reply_end(buf, pos)
        if end is None:
            return n, len(buf) - pos
        pos, n = end, n + 1


@pytest.mark.parametrize("pause, how", [(0.002, "sigterm"), (0.0, "sigterm"), (0.002, "shutdown")],
                         ids=["slow-reader", "fast-reader", "slow-reader-SHUTDOWN"])
def test_sigterm_during_big_pipelined_replies_sends_only_whole_replies(respd_factory, write_yaml, pause, how):
    proc = _start(respd_factory, write_yaml, {"shutdown_grace": "1s"})
    value = b"v" * 100_000
    with proc.client() as setup:
        assert setup.call("SET", "big", value) == b"+OK\r\n"
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(("127.0.0.1", proc.port))
    s.settimeout(30)
    try:
        # 4000 GETs: more than one receive, so respd still has unread requests when it closes
        s.sendall(encode_command("GET", "big") * 4000)
        time.sleep(0.3)
        if how == "sigterm":
            proc.proc.send_signal(signal.SIGTERM)
        else:
            with proc.client() as admin:
                admin.send(encode_command("SHUTDOWN"))
        data, reset = _read_all_replies(s, pause)
        whole, torn = _whole_replies(data)
        assert torn == 0, "a torn reply: %d bytes after %d whole replies (reset: %s)" % (torn, whole, reset)
        assert whole > 0
        assert data[:len(value) + 11] == b"$100000\r\n" + value + b"\r\n"
        assert proc.proc.wait(timeout=30) == 0
    finally:
        s.close()


def test_quit_with_more_requests_pipelined_behind_it_delivers_its_replies_whole(respd):
    """Requests after QUIT are never run; respd closes with them unread, which must not reset the connection
    before the replies before QUIT have arrived (the kernel drops its send queue on a reset)."""
    value = b"q" * (4 * 1024 * 1024)
    with respd.client() as setup:
        assert setup.call("SET", "big", value) == b"+OK\r\n"
    s = socket.socket()
    s.connect(("127.0.0.1", respd.port))
    s.settimeout(30)
    try:
        s.sendall(encode_command("GET", "big") + encode_command("QUIT"))
        s.setblocking(False)
        try:  # more requests behind QUIT, as much as the kernel takes (they stay unread on respd's side)
            for _ in range(64):
                s.send(encode_command("PING") * 4000)
        except BlockingIOError:
            pass
        s.setblocking(True)
        s.settimeout(30)
        time.sleep(0.5)  # let respd send and close before the client reads anything
        data, reset = _read_all_replies(s, 0.0)
        assert data == b"$%d\r\n" % len(value) + value + b"\r\n+OK\r\n", \
            "got %d bytes (reset: %s)" % (len(data), reset)
    finally:
        s.close()

