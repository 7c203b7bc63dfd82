"""MONITOR and MEMORY over real connections: ``redis-cli monitor``, ``redis-cli --memkeys``, redis-py's monitor
over TLS, a monitor that stops reading (bounded memory, disconnected, others served), CLIENT LIST/KILL, shutdown.

Feed lines are compared with Redis' in ``tests/differential/test_introspection_vs_redis.py``.
"""
from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import time

import redis as redis_py

from tests.helpers import RawClient, encode_command, require
from tests.integration.common import tls_client


def _rss(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _readline(proc, deadline: float) -> bytes:
    """One line of a subprocess' stdout, waiting at most until ``deadline`` (a hang guard)."""
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, "no output from %s; so far %r" % (proc.args, line)
        ch = os.read(fd, 1)
        assert ch, "%s exited; so far %r" % (proc.args, line)
        line += ch
    return line


def test_redis_cli_monitor(respd):
    require(shutil.which("redis-cli") is not None, "redis-cli is not installed")
    proc = subprocess.Popen(["redis-cli", "-p", str(respd.port), "monitor"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        assert _readline(proc, deadline) == b"OK\n"
        with respd.client() as c:
            assert c.call("SET", "k", 'a "quoted"\nvalue') == b"+OK\r\n"
            assert c.call("SELECT", "3") == b"+OK\r\n"
            assert c.call("GET", "k") == b"$-1\r\n"
            addr = "%s:%d" % c.sock.getsockname()[:2]
        lines = [_readline(proc, deadline) for _ in range(3)]
        pattern = re.compile(rb"\d+\.\d{6} \[(\d+) ([^\]]+)\] (.*)\n")
        parsed = [pattern.fullmatch(line).groups() for line in lines]
        assert parsed == [(b"0", addr.encode(), b'"SET" "k" "a \\"quoted\\"\\nvalue"'),
                          (b"3", addr.encode(), b'"SELECT" "3"'),
                          (b"3", addr.encode(), b'"GET" "k"')]
    finally:
        proc.kill()
        proc.wait(10)
    with respd.client() as c:  # the monitor is gone with its connection, once respd has seen the hang-up
        deadline = time.monotonic() + 20  # a hang guard, not a bound on speed
        while b"flags=O" in c.call("CLIENT", "LIST"):
            assert time.monotonic() < deadline, "the killed monitor is still listed"
            time.sleep(0.05)


def test_redis_cli_memkeys(respd):
    require(shutil.which("redis-cli") is not None, "redis-cli is not installed")
    with respd.client() as c:
        for n in range(20):
            assert c.call("SET", "key%d" % n, "v" * (10 * n + 1)) == b"+OK\r\n"
        assert c.call("SET", "big", "x" * 100_000) == b"+OK\r\n"
        usage = int(c.call("MEMORY", "USAGE", "big")[1:-2])
    for extra in ([], ["--memkeys-samples", "3"]):
        out = subprocess.run(["redis-cli", "-p", str(respd.port), "--memkeys", *extra], capture_output=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        text = out.stdout.decode()
        assert out.returncode == 0, text + out.stderr.decode()
        assert "Sampled 21 keys in the keyspace!" in text
        assert "Biggest string found '\"big\"' has %d bytes" % usage in text
        assert "21 strings with" in text


def test_monitor_over_tls_with_redis_py(tls_server, certs):
    """TLS connections are served by their own task (net.client.client_loop with its own recv), not by the poller."""
    proc = tls_server()
    mon_client = tls_client(proc, certs)
    with mon_client.monitor() as m:
        with tls_client(proc, certs) as c:
            c.set("k", "v")
            c.get("k")
        seen = [m.next_command()]
        while seen[-1]["command"] != "GET k":  # after the client's handshake (HELLO, CLIENT SETINFO...)
            seen.append(m.next_command())
    assert [e["command"] for e in seen[-2:]] == ["SET k v", "GET k"]
    assert all(e["db"] == 0 and e["client_type"] == "tcp" for e in seen)
    mon_client.close()


def test_a_monitor_that_does_not_read_is_disconnected_with_bounded_memory(respd_factory):
    """A monitor that stops reading while another client writes 200 MB: the feed queue is capped
    (monitor.MONITOR_OUTPUT_LIMIT, 32 MiB), the monitor is closed with a log line, the writer is served throughout,
    and respd's memory does not follow the 200 MB."""
    proc = respd_factory()
    mon = socket.socket()
    mon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    mon.connect(("127.0.0.1", proc.port))
    mon.sendall(encode_command("MONITOR"))
    mon.settimeout(10)
    assert mon.recv(5) == b"+OK\r\n"
    before = _rss(proc.proc.pid)
    value = b"x" * (1 << 20)
    with proc.client(timeout=60) as w:
        for n in range(200):
            assert w.call("SET", "k%d" % (n % 4), value) == b"+OK\r\n"  # served meanwhile
        peak = _rss(proc.proc.pid)
    assert peak - before < 120 * 1024 * 1024, (before, peak)
    with proc.client() as c:
        assert b"flags=O" not in c.call("CLIENT", "LIST")  # no longer a monitor
    assert "(monitor) closed for overcoming of output buffer limits" in proc.stderr_text()
    # the monitor's socket delivers what was sent before the close, then EOF
    mon.settimeout(10)
    received = 0
    while True:
        data = mon.recv(1 << 20)
        if not data:
            break
        received += len(data)
    assert received < 100 * 1024 * 1024
    mon.close()


def test_client_list_shows_and_kill_closes_a_monitor(respd):
    with RawClient(respd.port) as mon, respd.client() as c:
        assert mon.call("MONITOR") == b"+OK\r\n"
        line = [ln for ln in c.call("CLIENT", "LIST").split(b"\n") if b"cmd=monitor" in ln]
        assert len(line) == 1 and b" flags=O " in line[0]
        mon_id = re.search(rb"id=(\d+)", line[0]).group(1)
        assert c.call("CLIENT", "KILL", "ID", mon_id) == b":1\r\n"
        assert mon.is_closed(10)
        assert c.call("SET", "k", "v") == b"+OK\r\n"


def test_shutdown_with_a_monitor_attached(respd_factory):
    proc = respd_factory()
    with RawClient(proc.port) as mon:
        assert mon.call("MONITOR") == b"+OK\r\n"
        assert proc.stop() == 0


def test_redis_py_monitor_resp3(respd):
    r = redis_py.Redis(port=respd.port, protocol=3)
    with r.monitor() as m:
        with redis_py.Redis(port=respd.port) as c:
            c.set("k", "v")
        while (cmd := m.next_command()["command"]) != "SET k v":
            assert cmd.startswith(("HELLO", "CLIENT", "SELECT")), cmd
    r.close()


def test_a_monitors_own_requests_reset_and_quit(respd):
    """A monitor's own requests are served as any client's (a pipelined chunk, each reply followed by the line about
    it); RESET in the middle of a chunk ends monitor mode and the rest of the chunk is answered as usual (the
    poller serves the client again); QUIT in monitor mode delivers its +OK, then the connection closes."""
    line = rb'\+\d+\.\d{6} \[0 [^\]]+\] %s\r\n'
    with respd.client() as m:
        assert m.call("MONITOR") == b"+OK\r\n"
        m.send(encode_command("PING") + encode_command("ECHO", "x"))
        pong, ping_line, x, echo_line = m.read_replies(4)
        assert pong == b"+PONG\r\n" and re.fullmatch(line % rb'"PING"', ping_line)
        assert x == b"$1\r\nx\r\n" and re.fullmatch(line % rb'"ECHO" "x"', echo_line)
        m.send(encode_command("RESET") + encode_command("SET", "k", "v") + encode_command("GET", "k"))
        assert m.read_replies(3) == [b"+RESET\r\n", b"+OK\r\n", b"$1\r\nv\r\n"]
        assert m.call("GET", "k") == b"$1\r\nv\r\n"
        assert m.call("MONITOR") == b"+OK\r\n"
        m.send(encode_command("QUIT"))
        assert m.read_until_closed() == b"+OK\r\n"
