"""A throwaway PostgreSQL server for tests (and benchmarks), plus a session-scoped pytest fixture.

``PgServer`` runs ``initdb`` in a temporary directory and ``postgres`` on 127.0.0.1 on a free port, with its
unix socket in the same directory, trust authentication on loopback and stock durability (``fsync`` on).
PostgreSQL refuses to run as root, so as root it runs as an unprivileged user (``postgres`` if it exists, else a
``respd-pg`` system user created with ``useradd``). ``stop()``/``start()`` restart it on the same port and data
directory (tests kill it under load); ``cleanup()`` stops it and removes the directory.

Use from any test directory::

    from tests.pgserver import pg_server  # noqa: F401  (the fixture)

    def test_x(pg_server):
        dsn = pg_server.dsn   # "host=127.0.0.1 port=P user=postgres dbname=postgres"

or outside pytest: ``with PgServer() as srv: ...``. When no PostgreSQL binaries exist at all the fixture skips
with the reason, except under ``CI=true`` where it fails.

A watchdog process (holding a pipe from us) stops the cluster and removes its directory when our process dies
without cleaning up (killed by a timeout, SIGKILL): no orphaned servers, even SIGSTOPped ones.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Optional

import pytest

_SEARCH_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")


def find_bindir() -> Optional[str]:
    """A directory holding initdb, pg_ctl and postgres: PATH first, then the usual install locations."""
    found = shutil.which("initdb")
    if found:
        for d in (os.path.dirname(found), os.path.dirname(os.path.realpath(found))):
            if _has_all(d):
                return d
    candidates = []
    for pattern in _SEARCH_DIRS:
        candidates.extend(sorted(glob.glob(pattern), reverse=True))  # newest version first
    for d in candidates:
        if _has_all(d):
            return d
    return None


def _has_all(d: str) -> bool:
    return all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_user() -> Optional[str]:
    """The user to run PostgreSQL as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "respd-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "respd-pg"],
                   check=True, capture_output=True)
    return "respd-pg"


def cluster_pids(data_dir: str) -> list[int]:
    """The postmaster of the cluster in data_dir and its children (empty when it is not running)."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            master = int(f.readline())
    except (OSError, ValueError):
        return []
    pids = [master]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry))
    return pids


def resume(data_dir: str) -> None:
    """SIGCONT every process of the cluster (tests SIGSTOP them to simulate a hung server)."""
    for pid in cluster_pids(data_dir):
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass


_WATCHDOG = r"""
import os, shutil, subprocess, sys
sys.path.insert(0, sys.argv[5])
from tests.pgserver import resume
data, bindir, user, top = sys.argv[1:5]
sys.stdin.buffer.read()  # EOF: our creator exited (or cleaned up)
resume(data)
cmd = [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]
if user:
    cmd = ["runuser", "-u", user, "--"] + cmd
if os.path.exists(os.path.join(data, "postmaster.pid")):
    subprocess.run(cmd, capture_output=True)
shutil.rmtree(top, ignore_errors=True)
"""


class PgServer:
    """One throwaway PostgreSQL cluster. Attributes: ``port``, ``dir``, ``dsn``, ``bindir``."""

    def __init__(self, bindir: Optional[str] = None, port: Optional[int] = None, settings: Optional[dict] = None):
        self.bindir = bindir or find_bindir()
        if self.bindir is None:
            raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl, postgres) not found on PATH or in "
                                    + ", ".join(_SEARCH_DIRS))
        self.user = _run_user()
        self.port = port or free_port()
        self.settings = {"fsync": "on", "max_connections": "100", "shared_buffers": "32MB"}
        self.settings.update(settings or {})
        self.dir = tempfile.mkdtemp(prefix="respd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.dsn = "host=127.0.0.1 port=%d user=postgres dbname=postgres" % self.port
        self.running = False
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, self.data, self.bindir, self.user or "", self.dir, root],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._cmd(["initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                   "--no-sync"])

    def _cmd(self, argv: list[str], check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        argv = [os.path.join(self.bindir, argv[0])] + argv[1:]
        if self.user:
            argv = ["runuser", "-u", self.user, "--"] + argv
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if check and proc.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s%s" % (" ".join(argv), proc.returncode, proc.stdout,
                                                         proc.stderr, self._log_tail()))
        return proc

    def _log_tail(self) -> str:
        try:
            with open(self.log) as f:
                return "\n--- postgres.log ---\n" + "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def start(self) -> None:
        """Start (or restart after ``stop()``) on the same port; returns once it accepts connections."""
        opts = ["-p %d" % self.port, "-k %s" % self.dir, "-c listen_addresses=127.0.0.1"]
        opts += ["-c %s=%s" % kv for kv in self.settings.items()]
        self._cmd(["pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", " ".join(opts), "start"])
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (clients get an admin shutdown) or ``immediate`` (like a crash)."""
        if self.running:
            resume(self.data)
            self._cmd(["pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"], check=False)
            self.running = False

    def cleanup(self) -> None:
        """Stop the server and remove its directory."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self._watchdog.stdin:
                self._watchdog.stdin.close()
                self._watchdog.wait(30)

    def __enter__(self) -> "PgServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def start_server_or_skip() -> PgServer:
    """A started PgServer; pytest.skip when no binaries exist (pytest.fail under CI=true)."""
    if find_bindir() is None:
        msg = "PostgreSQL binaries (initdb, pg_ctl, postgres) not found: SQL store tests need PostgreSQL 15"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    srv = PgServer()
    try:
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    return srv


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the whole test session (``.dsn``, ``.stop()``, ``.start()``); always removed."""
    srv = start_server_or_skip()
    try:
        yield srv
    finally:
        srv.cleanup()


def wait_until_up(srv: PgServer, timeout: float = 30.0) -> None:
    """Block until srv accepts TCP connections (after ``start()`` returned this is already true)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("PostgreSQL on port %d did not come up" % srv.port)
