"""redis-cli against respd: one-shot commands, interactive mode through a pty, stdin scripts, --pipe."""
from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time

import pytest

from tests.helpers import require
from tests.helpers import encode_command


@pytest.fixture
def cli(respd):
    require(shutil.which("redis-cli") is not None, "redis-cli is not installed")

    def run(*args, input=None, timeout=60):
        return subprocess.run(["redis-cli", "-p", str(respd.port), *args], input=input, capture_output=True,
                              timeout=timeout)
    run.server = respd
    return run


def test_one_shot_commands(cli):
    r = cli("-n", "1", "SET", "k", "v", "EX", "10")
    assert (r.returncode, r.stdout) == (0, b"OK\n")
    assert cli("-n", "1", "TTL", "k").stdout == b"10\n"
    assert cli("-n", "1", "GET", "k").stdout == b"v\n"
    assert cli("-n", "0", "EXISTS", "k").stdout == b"0\n"
    assert cli("INCRBY", "c", "5").stdout == b"5\n"
    assert cli("MGET", "c", "nope").stdout == b"5\n\n"
    assert cli("--no-raw", "GET", "nope").stdout == b"(nil)\n"
    assert cli("--no-raw", "-n", "1", "GET", "k").stdout == b'"v"\n'
    assert cli("-3", "--no-raw", "GET", "nope").stdout == b"(nil)\n"


def test_one_shot_errors(cli):
    r = cli("NOPE")
    assert b"ERR unknown command 'NOPE'" in r.stdout
    r = cli("-e", "NOPE")
    assert r.returncode != 0
    r = cli("-n", "99", "PING")
    assert b"DB index is out of range" in r.stdout + r.stderr


def test_stdin_script(cli):
    r = cli(input=b"SET a 1\nINCR a\nGET a\nSELECT 2\nGET a\n")
    assert r.returncode == 0
    assert r.stdout == b"OK\n2\n2\nOK\n\n"


def test_pipe_mass_insertion(cli):
    n = 100_000
    data = b"".join(encode_command("SET", "key:%d" % i, "value:%d" % i) for i in range(n))
    r = cli("--pipe", input=data, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout.decode()
    assert "errors: 0, replies: %d" % n in out, out
    assert cli("DBSIZE").stdout == b"%d\n" % n
    assert cli("GET", "key:99999").stdout == b"value:99999\n"


class Pty:
    """A program running on a pseudo-terminal; ``expect`` reads until a regex matches the output."""

    def __init__(self, argv):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                     env=dict(os.environ, TERM="dumb"))
        os.close(slave)
        self.out = b""

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def expect(self, pattern: bytes, timeout: float = 15.0) -> bytes:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.out)
            if m:
                self.out = self.out[m.end():]
                return m.group(0)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; output so far: %r" % (pattern, self.out))
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("program exited waiting for %r; output: %r" % (pattern, self.out))
                self.out += chunk

    def close(self):
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.master)


def test_interactive_mode_through_a_pty(cli):
    port = cli.server.port
    prompt = rb"127\.0\.0\.1:%d(\[\d+\])?> " % port
    p = Pty(["redis-cli", "-p", str(port)])
    try:
        p.expect(prompt)                           # startup (COMMAND DOCS) did not break it
        p.send("SET greeting hello\r")
        p.expect(rb"OK")
        p.expect(prompt)
        p.send("GET greeting\r")
        p.expect(rb'"hello"')
        p.send("INCR n\r")
        p.expect(rb"\(integer\) 1")
        p.send("GET nope\r")
        p.expect(rb"\(nil\)")
        p.send("SELECT 3\r")
        p.expect(rb"OK")
        p.expect(rb"127\.0\.0\.1:%d\[3\]> " % port)
        p.send("NOPE x\r")
        p.expect(rb"\(error\) ERR unknown command 'NOPE'")
        p.send("MULTI\r")
        p.expect(rb"OK")
        p.send("SET a 1\r")
        p.expect(rb"QUEUED")
        p.send("EXEC\r")
        p.expect(rb"1\) OK")
        p.send("quit\r")
        p.proc.wait(timeout=10)
        assert p.proc.returncode == 0
    finally:
        p.close()
    assert cli("-n", "3", "GET", "a").stdout == b"1\n"


def test_interactive_mode_resp3(cli):
    port = cli.server.port
    p = Pty(["redis-cli", "-p", str(port), "-3"])
    try:
        p.expect(rb"> ")
        p.send("HELLO\r")
        p.expect(rb"\"proto\" => \(integer\) 3")
        p.send("GET nope\r")
        p.expect(rb"\(nil\)")
        p.send("quit\r")
        p.proc.wait(timeout=10)
    finally:
        p.close()


def test_redis_benchmark_runs(cli):
    require(shutil.which("redis-benchmark") is not None, "redis-benchmark is not installed")
    r = subprocess.run(["redis-benchmark", "-p", str(cli.server.port), "-n", "2000", "-c", "10", "-t",
                        "set,get,incr,mset", "-q"], capture_output=True, timeout=120)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0, out
    for name in ("SET:", "GET:", "INCR:", "MSET"):
        assert name in out, out
    assert "WARNING: Could not fetch server CONFIG" not in out
    assert "ERR" not in out
