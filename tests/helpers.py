"""Test helpers shared by unit, integration and differential tests.

* ``RespdProcess`` / ``RedisProcess``: a real server process on a free loopback port (``start`` waits for PING).
* ``RawClient``: a blocking socket that sends bytes and reads whole RESP replies back as raw bytes, for
  byte-for-byte comparisons (``reply_end`` knows every RESP2/RESP3 type, so pipelined replies split cleanly).
* ``memory_registry`` / ``sql_registry`` / ``write_registry``: registry documents, and a YAML file of one for
  ``respd --config``.
* ``encode_command`` / ``split_command``: build multibulk requests from readable strings; ``execute_bytes`` runs
  one through ``dispatch.execute`` in-process (the ``call`` fixture).
* ``FakeClock``: replaces ``backends.base.clock`` so expiry is tested without sleeping.
* ``require`` / ``IN_CI``: skip when a needed program is missing, fail instead under CI=true.

Nothing here imports pytest fixtures; ``tests/conftest.py`` wraps these in fixtures.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
#: shared docs/corpus live beside the repository (``../shared``); absent in some checkouts
SHARED_DIR = REPO_ROOT.parent / "shared"

Arg = Union[str, bytes, int]

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when a needed program is missing; in CI (CI=true) that is a failure instead."""
    if not condition:
        if IN_CI:
            pytest.fail("required in CI: " + reason)
        pytest.skip(reason)


JS_DIR = REPO_ROOT / "tests" / "integration" / "js"


def node_package(name: str) -> Path:
    """The directory of the Node.js clients (tests/integration/js), with package ``name`` installed by ``npm ci``
    when it is not there yet; skips without node (or without npm and the registry, outside CI)."""
    require(shutil.which("node") is not None, "node is not installed (%s tests)" % name)
    if not (JS_DIR / "node_modules" / name).is_dir():
        require(shutil.which("npm") is not None, "npm is not installed (needed to install %s)" % name)
        cp = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL)
        if cp.returncode != 0:
            if IN_CI:
                pytest.fail("npm ci failed in %s:\n%s" % (JS_DIR, cp.stdout + cp.stderr))
            pytest.skip("npm ci could not install %s (offline?): %s" % (name, cp.stderr.strip()[-300:]))
    return JS_DIR


# ------------------------------------------------------------------------------------------------ requests
def to_bytes(a: Arg) -> bytes:
    if isinstance(a, bytes):
        return a
    if isinstance(a, int):
        return b"%d" % a
    return a.encode("utf-8", "surrogateescape")


def split_command(cmd: Union[str, bytes, Sequence[Arg]]) -> list[bytes]:
    """A readable command to argv: a string is split shell-style (``'SET k "a b"'``), a sequence is used as is.

    Use the sequence form for binary or empty arguments (``["SET", "k", b""]``)."""
    if isinstance(cmd, (str, bytes)):
        text = cmd.decode() if isinstance(cmd, bytes) else cmd
        return [to_bytes(a) for a in shlex.split(text)]
    return [to_bytes(a) for a in cmd]


def encode_command(*args: Arg) -> bytes:
    """One multibulk request."""
    argv = [to_bytes(a) for a in args]
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


async def execute_bytes(sess, argv) -> bytes:
    """Run one request through ``dispatch.execute`` in-process and return the encoded reply (awaiting async
    stores): the ``call`` fixture."""
    # lazy: the tests that only run server processes need not load the server's modules
    from respd.dispatch import execute
    from respd.replies import encode
    reply = execute(sess, split_command(argv))
    if type(reply) is types.CoroutineType:
        reply = await reply
    return encode(reply, sess.proto)


# ------------------------------------------------------------------------------------------------ replies
_LINE_TYPES = b"+-:_,#("
_BULK_TYPES = b"$=!"
_AGG_TYPES = b"*~>"
_PAIR_TYPES = b"%|"


def reply_end(buf: bytes, pos: int = 0) -> Optional[int]:
    """Index just past the complete RESP2/RESP3 reply starting at ``pos``, or None when more bytes are needed."""
    if pos >= len(buf):
        return None
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    t = buf[pos]
    head = buf[pos + 1:nl]
    after = nl + 2
    if t in _LINE_TYPES:
        return after
    if t in _BULK_TYPES:
        n = int(head)
        if n < 0:
            return after
        end = after + n + 2
        return end if len(buf) >= end else None
    if t in _AGG_TYPES or t in _PAIR_TYPES:
        n = int(head)
        if n < 0:
            return after
        if t in _PAIR_TYPES:
            n *= 2
        p = after
        for _ in range(n):
            p = reply_end(buf, p)
            if p is None:
                return None
        return p
    raise ValueError("not a RESP reply at %d: %r" % (pos, buf[pos:pos + 40]))


def split_replies(buf: bytes) -> list[bytes]:
    """Split a buffer holding only complete replies into one bytes object per reply."""
    out, pos = [], 0
    while pos < len(buf):
        end = reply_end(buf, pos)
        if end is None:
            raise ValueError("incomplete reply at %d: %r" % (pos, buf[pos:pos + 40]))
        out.append(buf[pos:end])
        pos = end
    return out


class Closed(Exception):
    """The server closed the connection."""


class RawClient:
    """A blocking loopback socket speaking raw RESP: ``send`` bytes, ``read_reply`` one whole reply as bytes."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv(self) -> bytes:
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        return data

    def read_reply(self) -> bytes:
        """The next complete reply (raw bytes). Raises Closed on EOF, socket.timeout when nothing comes."""
        while True:
            end = reply_end(self.buf) if self.buf else None
            if end is not None:
                r, self.buf = self.buf[:end], self.buf[end:]
                return r
            data = self._recv()
            if not data:
                raise Closed(self.buf)
            self.buf += data

    def read_replies(self, n: int) -> list[bytes]:
        return [self.read_reply() for _ in range(n)]

    def call(self, *args: Arg) -> bytes:
        """Send one multibulk command and return its raw reply."""
        self.send(encode_command(*args))
        return self.read_reply()

    def cmd(self, text: str) -> bytes:
        return self.call(*split_command(text))

    def pipeline(self, commands: Iterable) -> list[bytes]:
        """Send several commands in one write; return their replies."""
        cmds = [split_command(c) for c in commands]
        self.send(b"".join(encode_command(*c) for c in cmds))
        return self.read_replies(len(cmds))

    def is_closed(self, wait: float = 2.0) -> bool:
        """True when the server closes the connection within ``wait`` seconds (pending data is discarded)."""
        self.sock.settimeout(wait)
        try:
            while True:
                data = self._recv()
                if not data:
                    return True
                self.buf += data
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def read_until_closed(self, wait: float = 5.0) -> bytes:
        """Everything the server sends until it closes (AssertionError if it stays open)."""
        assert self.is_closed(wait), "connection still open; received %r" % self.buf
        data, self.buf = self.buf, b""
        return data

    def nothing_within(self, wait: float = 0.3) -> bool:
        """True when no byte arrives within ``wait`` seconds and the connection stays open."""
        self.sock.settimeout(wait)
        try:
            data = self._recv()
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        self.buf += data
        return False


# ------------------------------------------------------------------------------------------------ processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping_ok(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(64)
                if not chunk:
                    return False
                data += chunk
            return data.startswith(b"+PONG") or data.startswith(b"-NOAUTH")
    except OSError:
        return False


class ServerProcess:
    """A server subprocess on a loopback port; stderr goes to a temp file shown when a test fails."""

    name = "server"

    def __init__(self, argv: list[str], port: int, env: Optional[dict] = None, cwd: Optional[str] = None):
        self.argv = argv
        self.port = port
        self.host = "127.0.0.1"
        self.env = env
        self.cwd = cwd
        self.proc: Optional[subprocess.Popen] = None
        self._err = tempfile.TemporaryFile()

    def start(self, timeout: float = 20.0) -> "ServerProcess":
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err,
                                     env=self.env, cwd=self.cwd or str(REPO_ROOT))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s before answering PING:\n%s"
                                   % (self.name, self.proc.returncode, self.stderr_text()))
            if ping_ok(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer PING within %.0fs:\n%s" % (self.name, timeout, self.stderr_text()))

    def stderr_text(self, limit: int = 6000) -> str:
        self._err.seek(0)
        data = self._err.read()
        self._err.seek(0, os.SEEK_END)
        text = data.decode("utf-8", "replace")
        return text if len(text) <= limit else "...\n" + text[-limit:]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def client(self, timeout: float = 10.0) -> RawClient:
        return RawClient(self.port, timeout=timeout)


class RespdProcess(ServerProcess):
    name = "respd"

    def __init__(self, configs: Sequence[Union[str, Path]] = (), port: Optional[int] = None,
                 extra: Sequence[str] = (), executable: Optional[Sequence[str]] = None):
        port = port or free_port()
        argv = list(executable or [sys.executable, "-m", "respd"]) + ["--port", str(port)]
        for c in configs:
            argv += ["--config", str(c)]
        argv += list(extra)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        super().__init__(argv, port, env=env)


class RedisProcess(ServerProcess):
    name = "redis-server"

    def __init__(self, port: Optional[int] = None, extra: Sequence[str] = ()):
        port = port or free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir.name] + list(extra)
        super().__init__(argv, port)

    def stop(self, timeout: float = 10.0):
        try:
            return super().stop(timeout)
        finally:
            self.dir.cleanup()


def run_respd_cli(*args: str, timeout: float = 30.0, executable: Optional[Sequence[str]] = None
                  ) -> subprocess.CompletedProcess:
    """Run ``python -m respd ARGS`` to completion (for --check-config and startup failures)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(list(executable or [sys.executable, "-m", "respd"]) + list(args), capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------------------ registry files
def memory_registry(namespace: str = "t", stores: Optional[dict] = None, databases: Optional[dict] = None,
                    server: Optional[dict] = None) -> dict:
    """A registry document: ``stores`` maps name -> extra fields of a store.memory entry."""
    stores = {"db0": {}} if stores is None else stores
    doc = {"version": "1.0", "namespace": namespace,
           "entries": [dict({"name": n, "kind": "store.memory"}, **(f or {})) for n, f in stores.items()]}
    srv = dict(server or {})
    if databases is None:
        databases = {i: "%s:%s" % (namespace, n) for i, n in enumerate(stores)}
    if databases:
        srv["databases"] = databases
    if srv:
        doc["server"] = srv
    return doc


def sql_registry(dsn: str, table: str, pool_max: int = 4, **db_fields) -> dict:
    """A registry document with a memory store ``app:cache`` (SELECT 0) and a SQL store ``app:persistent``
    (SELECT 1) on ``table`` (created at start) of the PostgreSQL at ``dsn``; ``db_fields`` are extra fields of its
    ``db.sql.postgres`` entry (``command_timeout="3s"``...)."""
    return {
        "version": "1.0",
        "namespace": "app",
        "server": {"databases": {0: "app:cache", 1: "app:persistent"}},
        "entries": [
            {"name": "cache", "kind": "store.memory"},
            dict({"name": "postgres", "kind": "db.sql.postgres", "dsn": dsn, "pool": {"min": 1, "max": pool_max}},
                 **db_fields),
            {"name": "persistent", "kind": "store.sql", "database": "app:postgres", "table_name": table,
             "create_table": True},
        ],
    }


def write_registry(directory: Union[str, Path], name: str, doc: Union[dict, str]) -> Path:
    """Write ``doc`` (a dict dumped as YAML, or YAML text as is) to ``directory/name``; returns the path."""
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------ time
class _Instant(float):
    """A time in seconds that multiplies by 1000 exactly (``int(clock() * 1000)`` must give the set ms)."""

    def __new__(cls, ms: int):
        obj = super().__new__(cls, ms / 1000.0)
        obj.ms = ms
        return obj

    def __mul__(self, other):
        if other == 1000:
            return float(self.ms)
        return float(self) * other

    __rmul__ = __mul__


class FakeClock:
    """A settable stand-in for ``time.time``, kept in whole milliseconds so expiry arithmetic is exact."""

    def __init__(self, start_ms: int = 1_700_000_000_000):
        self.ms = start_ms

    def __call__(self) -> float:
        return _Instant(self.ms)

    def advance(self, seconds: float) -> None:
        self.ms += int(round(seconds * 1000))

    def advance_ms(self, ms: int) -> None:
        self.ms += ms
