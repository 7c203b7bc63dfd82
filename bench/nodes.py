"""Across respd nodes sharing one PostgreSQL: how long a message published on node A takes to reach a subscriber
on node B, how many messages per second flow from A to B, and how long a write on node B takes to invalidate a key
that a tracking client read through node A (client-side caching).

    python bench/nodes.py                      # starts a throwaway PostgreSQL (tests/pgserver.py) and two respd
    RESPD_BENCH_PG_DSN=postgresql://... python bench/nodes.py
    python bench/nodes.py --trials 500 --messages 20000

Prints a Markdown report and saves it as ``bench/results/<UTC date-time>-nodes.md`` (``--no-save``: print only).
Latencies are wall-clock times measured by this one client process (both nodes on this machine), one trial at a
time: a distribution (p50/p90/p99/max), not a throughput figure. Not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import redis  # noqa: E402

from tests.helpers import RespdProcess, sql_registry, write_registry  # noqa: E402

PG_DSN_ENV = "RESPD_BENCH_PG_DSN"


def pct(xs: list, p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def dist(xs: list) -> str:
    ms = [x * 1000 for x in xs]
    return "%.1f | %.1f | %.1f | %.1f | %.1f | %d" % (statistics.median(ms), pct(ms, 90), pct(ms, 99), max(ms),
                                                       min(ms), len(ms))


class Raw:
    """A RESP client on a plain socket, reading replies and pushes with hiredis."""

    def __init__(self, port: int):
        import hiredis
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def send(self, *argv) -> None:
        out = b"*%d\r\n" % len(argv)
        for a in argv:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)

    def read(self, timeout: float = 30.0):
        self.sock.settimeout(timeout)
        while True:
            r = self.reader.gets()
            if r is not False:
                return r
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.reader.feed(data)

    def call(self, *argv):
        self.send(*argv)
        return self.read()


def wait_bus(pub: redis.Redis, sub: Raw) -> None:
    """Until a probe published on A reaches B's subscriber (the nodes' bus is up); then drain."""
    sub.call("SUBSCRIBE", "probe")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pub.publish("probe", "x")
        try:
            m = sub.read(0.2)
        except socket.timeout:
            continue
        if isinstance(m, list) and m[0] == b"message":
            break
    sub.call("UNSUBSCRIBE", "probe")
    time.sleep(0.3)
    sub.sock.settimeout(0.2)
    try:
        while sub.sock.recv(65536):
            pass
    except socket.timeout:
        pass
    sub.reader = type(sub.reader)()


def publish_latency(a: int, b: int, trials: int) -> list:
    pub = redis.Redis(port=a)
    sub = Raw(b)
    wait_bus(pub, sub)
    sub.call("SUBSCRIBE", "lat")
    out = []
    for i in range(trials):
        t0 = time.perf_counter()
        pub.publish("lat", str(i))
        while True:
            m = sub.read()
            if m[0] == b"message" and m[2] == str(i).encode():
                break
        out.append(time.perf_counter() - t0)
        time.sleep(0.005)
    pub.close()
    return out


def publish_flow(a: int, b: int, n: int) -> tuple:
    """n messages pipelined on A over 10 channels; seconds until B's subscriber has them all, and how many."""
    pub = redis.Redis(port=a)
    sub = Raw(b)
    wait_bus(pub, sub)
    chans = ["flow%d" % i for i in range(10)]
    sub.send("SUBSCRIBE", *chans)
    for _ in chans:
        sub.read()
    t0 = time.perf_counter()
    with pub.pipeline(transaction=False) as p:
        for i in range(n):
            p.publish(chans[i % 10], "m%d" % i)
            if i % 1000 == 999:
                p.execute()
        p.execute()
    got = 0
    try:
        while got < n:
            m = sub.read(10)
            if m[0] == b"message":
                got += 1
    except socket.timeout:
        pass
    return time.perf_counter() - t0, got


def invalidation_latency(a: int, b: int, trials: int) -> list:
    """A RESP3 client on A tracks key k of the SQL store (db 1): GET k, then SET k through B; time until A's client
    gets the invalidate push."""
    reader = Raw(a)
    if reader.call("HELLO", "3") is None:
        raise RuntimeError("HELLO 3 failed")
    reader.call("SELECT", "1")
    r = reader.call("CLIENT", "TRACKING", "ON")
    if r != b"OK":
        raise RuntimeError("CLIENT TRACKING ON answered %r" % (r,))
    writer = redis.Redis(port=b, db=1)
    reader.call("SUBSCRIBE", "sync")  # RESP3: commands still run while subscribed
    out = []
    for i in range(trials):
        key = "track:%d" % (i % 10)
        writer.set(key, "v")
        # node B announces what it wrote before what it publishes after: once "sync" is here, the announcement of
        # the SET above has been handled on A (an invalidation of a value A has not read yet), so the GET below
        # tracks the key afresh
        writer.publish("sync", str(i))
        while True:
            m = reader.read()
            if isinstance(m, list) and m[0] == b"message" and m[2] == str(i).encode():
                break
        reader.call("GET", key)  # now tracked on node A
        t0 = time.perf_counter()
        writer.set(key, str(i))
        while True:
            m = reader.read()
            if isinstance(m, list) and m and m[0] == b"invalidate" and m[1] and key.encode() in m[1]:
                break
        out.append(time.perf_counter() - t0)
    writer.close()
    return out


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d cores, %s, Python %s, %s" % (os.cpu_count() or 0, model, platform.python_version(), platform.platform())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--results-dir", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    srv = None
    dsn = os.environ.get(PG_DSN_ENV)
    if not dsn:
        from tests.pgserver import PgServer
        srv = PgServer()
        srv.start()
        dsn = srv.dsn
    work = tempfile.mkdtemp(prefix="respd-bench-nodes-")
    nodes = []
    rows = {}
    try:
        config = write_registry(work, "reg.yaml", sql_registry(dsn, "bench_nodes_%d" % os.getpid(), pool_max=8))
        nodes = [RespdProcess(configs=[config]).start(60) for _ in range(2)]
        a, b = nodes[0].port, nodes[1].port
        print("publish latency A -> B ...", file=sys.stderr)
        rows["PUBLISH on A, message at a subscriber on B"] = dist(publish_latency(a, b, args.trials))
        print("publish flow ...", file=sys.stderr)
        secs, got = publish_flow(a, b, args.messages)
        flow = "%d messages over 10 channels: %d received on B in %.2f s (%.0f messages/s)" % (
            args.messages, got, secs, got / secs if secs else 0)
        print("invalidation latency ...", file=sys.stderr)
        try:
            rows["SET on B, invalidation at a tracking client on A"] = dist(
                invalidation_latency(a, b, args.trials))
        except Exception as e:  # noqa: BLE001  (reported, not fatal: tracking may be off in this build)
            rows["SET on B, invalidation at a tracking client on A"] = "failed: %s" % e
    finally:
        for n in nodes:
            n.stop()
        if srv is not None:
            srv.cleanup()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    stamp = time.strftime("%Y-%m-%d-%H%M%S", time.gmtime())
    lines = ["# respd across nodes (%s, commit %s)" % (stamp, commit), "",
             "Two respd nodes on one PostgreSQL (%s), this machine: %s." % (
                 "RESPD_BENCH_PG_DSN" if srv is None else "a throwaway cluster, tests/pgserver.py", machine()), "",
             "| what (ms) | p50 | p90 | p99 | max | min | trials |", "|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append("| %s | %s |" % (name, row))
    lines += ["", "Flow A -> B: " + flow, ""]
    report = "\n".join(lines)
    print(report)
    if not args.no_save:
        os.makedirs(args.results_dir, exist_ok=True)
        with open(os.path.join(args.results_dir, stamp + "-nodes.md"), "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
