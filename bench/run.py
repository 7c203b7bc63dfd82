#!/usr/bin/env python3
"""respd benchmark suite: respd against redis-server on the same machine, same clients, interleaved.

    python bench/run.py --quick          # 1 run, fewer requests, 100k keys for memory: about a minute
    python bench/run.py                  # full: 5 interleaved runs, 1M keys for memory: about 12 minutes
    python bench/run.py --runs 5 --only get,set
    RESPD_BENCH_PG_DSN=postgresql://... python bench/run.py --quick     # adds the SQL-store rows

See bench/README.md for what each workload does and how to read the results. Everything measured is written to
``bench/results/<UTC stamp>-<mode>.md`` (and ``latest.md``) plus the raw numbers as JSON beside it.

Method (PERF.md's): both servers are started once per suite on free ports and reused, with FLUSHALL (and the
workload's preload) before every measurement; within each run every workload is measured on both servers back to
back, the order alternating from run to run (A B, B A, ...); the reported figure is the median over runs, and the
ratio is the median of the per-run ratios (respd / redis-server measured in the same run). Server CPU comes from
/proc/PID/stat (utime+stime, all threads) before/after each measurement; "other load" is the machine's busy time
from /proc/stat minus the server's and the client's CPU, in cores.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from resp_load import (Client, ServerError, fill_collection, load_hashes, load_lists,  # noqa: E402
                       make_cache_mix, mass_insert, run_cache_mix, run_redis_py_mix)
from pubsub_load import CHANNEL, MESSAGE, IdleSubscribers, Subscribers, publish_sentinel  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PG_DSN_ENV = "RESPD_BENCH_PG_DSN"
PG_TABLE_ENV = "RESPD_BENCH_PG_TABLE"

# Issue #5 targets (ratio respd / redis-server): (minimum, stretch)
TARGET_P1 = (0.35, 0.45)
TARGET_P16 = (0.55, 0.70)
TARGET_EVALSHA = (0.35, 0.45)   # issue 13: EVALSHA of a GET + SET script, c50 P1 (stretch: as the P1 string rows)
TARGET_COLLECTION_P1 = (0.50, None)  # issue 14: HSET, HGET, SADD, SPOP c50 P1 (the issue names no stretch)
TARGET_LIST_ZSET_P1 = (0.50, None)   # issue 15: LPUSH, LPOP, RPOP, LRANGE_100, ZADD, ZPOPMIN c50 P1
TARGET_MEM_RATIO = 1.6      # respd RSS per key <= 1.6 x redis-server RSS per key
TARGET_FIELD_MEM_RATIO = 2.0    # issue 14: respd RSS per hash field <= 2 x redis-server RSS per field
TARGET_LIST_MEM_RATIO = 2.0     # issue 15: respd RSS per list element <= 2 x redis-server RSS per element
TARGET_STARTUP_MS = 300.0   # respd: process start -> first PING reply
PUBSUB_FANOUT = (1, 100)    # issue 16: subscribers of the one channel the PUBLISH rows publish to
IDLE_SUBSCRIBERS = 10_000   # issue 16: idle subscribed clients must cost no CPU

# Request counts per mode. P1 figures are ~20k ops/s for respd, P16 ~110k: each respd measurement lasts ~1 s in
# quick mode and ~5 s in full mode.
MODES = {
    "quick": dict(runs=1, n_p1=20_000, n_p16=100_000, n_multi=20_000, mix_ops=40_000, pymix_ops=5_000,
                  mem_keys=100_000, mem_hashes=100_000, mem_lists=100_000, startup_trials=3, idle_seconds=3.0, n_sql=3_000,
                  quiet_wait=1.0, idle_sub_seconds=10.0),
    # 5 runs: on this VM the host's load moves redis-server's figures by up to 1.5x between runs of one suite
    "full": dict(runs=5, n_p1=100_000, n_p16=500_000, n_multi=100_000, mix_ops=200_000, pymix_ops=25_000,
                 mem_keys=1_000_000, mem_hashes=100_000, mem_lists=100_000, startup_trials=5, idle_seconds=5.0, n_sql=20_000,
                 quiet_wait=5.0, idle_sub_seconds=10.0),
}
CLIENTS = 50
KEYSPACE = 100_000           # -r for redis-benchmark, keys preloaded for GET/MGET
SQL_KEY = "key:%012d"        # redis-benchmark's -r keys (key:__rand_int__), as text in the table
CEILING_SINGLE = "one statement per round trip"
CEILING_PIPELINE = "pipelines of %d" % CLIENTS
SQL_KEYSPACE = 10_000        # smaller keyspace for the SQL store (preloading 100k rows takes long)
FLOOR_PYTHON = ("python -c pass", "pass")                  # startup floor rows: (name, code)
FLOOR_TRIO = ("python -c 'import trio'", "import trio")
VALUE64 = "v" * 64           # MSET's literal value
# EVALSHA's script (issue 13): GET then SET of its one key, returning the old value
GET_SET_SCRIPT = "local old = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return old"
GET_SET_SHA = hashlib.sha1(GET_SET_SCRIPT.encode()).hexdigest()
# redis-benchmark's own names: -t hset writes HSET myhash element:__rand_int__ <data>, -t sadd SADD myset
# element:__rand_int__, -t spop SPOP myset (7.0.15's redis-benchmark.c)
BENCH_HASH, BENCH_SET, BENCH_MEMBER = b"myhash", b"myset", b"element:%012d"
# -t lpush,lpop,rpop: LPUSH mylist <data>, LPOP mylist, RPOP mylist; -t lrange_100 first LPUSHes -n elements to mylist
# (a row of its own), then LRANGE mylist 0 99; -t zadd: ZADD myzset <score> element:__rand_int__ (score
# __rand_int__ with -r), -t zpopmin: ZPOPMIN myzset. <data> is -d bytes of "x" (3 by default).
BENCH_LIST, BENCH_ZSET, BENCH_DATA = b"mylist", b"myzset", b"xxx"
LRANGE_FILL = 10_000         # elements LPUSHed to mylist before the LRANGE_100 rows
COLLECTION_COMMANDS = ("HSET", "HGET", "SADD", "SPOP", "LPUSH", "LPOP", "RPOP", "LRANGE_100", "ZADD", "ZPOPMIN")
# memory per field (issue 14): hashes x fields, 16-byte keys and field names, 32-byte values
FIELD_MEM_FIELDS = 10
FIELD_MEM_KEY, FIELD_MEM_FIELD, FIELD_MEM_VALUE = b"hash:%011d", b"field:%010d", b"value:%026d"
# memory per list element (issue 15): many short lists (16-byte keys, 16-byte elements), and one long list
LIST_MEM_LENGTH, LIST_MEM_LONG = 10, 1_000_000
LIST_MEM_KEY, LIST_MEM_ELEMENT = b"list:%011d", b"element:%08d"


# ------------------------------------------------------------------------------------------------ /proc
def proc_cpu(pid: int) -> float:
    """utime+stime of a process (all its threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK   # fields 14, 15 of stat(5), after pid and comm


def proc_rss(pid: int) -> int:
    """VmRSS of a process, bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


def machine_busy() -> float:
    """CPU-seconds the whole machine has been busy in processes (all cores), plus hypervisor steal.

    irq/softirq time is left out: loopback networking runs there and is charged to no process, so it would count
    our own traffic (~0.2 cores at 60k requests/s) as "other load"."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + steal) / CLK_TCK


def client_cpu() -> float:
    """CPU-seconds of this process plus its reaped children (redis-benchmark runs are reaped children)."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return f.read().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------- servers
class ServerDied(Exception):
    pass


class Server:
    """A server process under test, started on a free port, with its log in the suite's temp dir."""

    def __init__(self, name: str, argv_fn: Callable[[int], list], workdir: str, env: Optional[dict] = None):
        self.name, self.argv_fn, self.workdir, self.env = name, argv_fn, workdir, env
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.argv: list = []
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.restarts = -1
        self.start_cpu = 0.0             # CPU-seconds the process had used when it answered the first PING

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait for the first PONG; return seconds from spawn to that reply."""
        self.port = free_port()
        self.argv = self.argv_fn(self.port)
        log = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.restarts += 1
        wall = self._wait_ready(t0, timeout)
        self.start_cpu = self.cpu()
        return wall

    def _wait_ready(self, t0: float, timeout: float) -> float:
        while True:
            if self.proc.poll() is not None:
                raise ServerDied("%s exited with %s during startup; log tail:\n%s"
                                 % (self.name, self.proc.returncode, self.log_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    buf = b""
                    while not buf.endswith(b"\r\n"):
                        chunk = s.recv(64)
                        if not chunk:
                            break
                        buf += chunk
                    if buf == b"+PONG\r\n":
                        return time.perf_counter() - t0
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise ServerDied("%s did not answer PING within %.0f s" % (self.name, timeout))
            time.sleep(0.002)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def rss(self) -> int:
        return proc_rss(self.proc.pid)

    def call(self, *args):
        with Client(self.port) as c:
            return c.call(*args)

    def log_tail(self, n: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def respd_env(workdir: str) -> dict:
    """respd's environment: bytecode cached in the suite's temp dir, like an installed package.

    Without it, an environment with PYTHONDONTWRITEBYTECODE=1 (as on the project's machines) makes every respd
    start compile respd/ and backends/ from source, which is not what a deployment pays."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(workdir, "pycache")
    return env


def respd_argv(config: Optional[str] = None) -> Callable[[int], list]:
    def argv(port: int) -> list:
        a = [sys.executable, "-m", "respd", "--port", str(port), "--bind", "127.0.0.1"]
        return a + (["--config", config] if config else [])
    return argv


def redis_argv(workdir: str) -> Callable[[int], list]:
    def argv(port: int) -> list:
        return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", workdir]
    return argv


# -------------------------------------------------------------------------------------------- workloads
@dataclass
class Workload:
    name: str
    kind: str                                # "rb" (redis-benchmark), "mix" (raw RESP cache mix), "pymix" (redis-py),
                                             # "pubsub" (redis-benchmark PUBLISH with counting subscribers)
    args: list = field(default_factory=list)  # redis-benchmark arguments after -h/-p/-n/--csv
    n: int = 0
    preload: Optional[tuple] = None          # (keys, value_size, key_format) loaded after FLUSHALL
    fill: Optional[tuple] = None             # (command, key, members, value_size or data): one collection filled
    target: Optional[tuple] = None           # (min ratio, stretch ratio)
    setup: list = field(default_factory=list)  # commands sent after FLUSHALL and the preload (SCRIPT LOAD ...)
    check: Optional[Callable] = None         # check(server) after the measurement: raises if the run went wrong
    note: str = ""
    subscribers: int = 0                     # "pubsub": connections subscribed to the channel published to


def build_workloads(m: dict) -> list:
    wl = []
    for depth, n, target in ((1, m["n_p1"], TARGET_P1), (16, m["n_p16"], TARGET_P16)):
        for size, label in ((64, "64B"), (1024, "1KiB")):
            common = ["-c", str(CLIENTS), "-P", str(depth), "-d", str(size), "-r", str(KEYSPACE)]
            wl.append(Workload("SET %s P%d" % (label, depth), "rb", ["-t", "set"] + common, n, target=target))
            wl.append(Workload("GET %s P%d" % (label, depth), "rb", ["-t", "get"] + common, n,
                               preload=(KEYSPACE, size, b"key:%012d"), target=target))
    multi = ["-c", str(CLIENTS), "-P", "1", "-r", str(KEYSPACE)]
    wl.append(Workload("MSET 10 keys P1", "rb", multi + ["MSET"] + ["key:__rand_int__", VALUE64] * 10,
                       m["n_multi"], note="ops = MSET commands (10 keys each)"))
    wl.append(Workload("MGET 10 keys P1", "rb", multi + ["MGET"] + ["key:__rand_int__"] * 10, m["n_multi"],
                       preload=(KEYSPACE, 64, b"key:%012d"), note="ops = MGET commands (10 keys each)"))
    wl.append(Workload("INCR P1", "rb", ["-t", "incr"] + multi, m["n_multi"]))
    wl.append(Workload("EVALSHA GET+SET P1", "rb", multi + ["EVALSHA", GET_SET_SHA, "1", "key:__rand_int__", VALUE64],
                       m["n_multi"], preload=(KEYSPACE, 64, b"key:%012d"), target=TARGET_EVALSHA,
                       setup=[("SCRIPT", "LOAD", GET_SET_SCRIPT)],
                       note="a script doing GET + SET of its key (SCRIPT LOADed before each measurement)"))
    wl.append(Workload("cache mix P1", "mix", n=m["mix_ops"]))
    wl.append(Workload("redis-py mix P1", "pymix", n=m["pymix_ops"]))
    wl.extend(collection_workloads(m))
    wl.extend(list_zset_workloads(m))
    wl.extend(pubsub_workloads(m))
    return wl


def pubsub_workloads(m: dict) -> list:
    """Issue 16's PUBLISH rows: redis-benchmark publishing one 64-byte message to one channel with 1 or 100
    subscribers (raw RESP connections in a reader thread of this process, counting every message they receive;
    ``pubsub_load.Subscribers``). ops = messages delivered (publishes x subscribers). A request count that is a
    multiple of the pipeline depth makes redis-benchmark send exactly that many PUBLISHes; the subscribers must
    each count exactly that many."""
    wl = []
    for depth, n in ((1, m["n_p1"]), (16, m["n_p16"])):
        common = ["-c", str(CLIENTS), "-P", str(depth)]
        for subs in PUBSUB_FANOUT:
            # every delivery costs the server (and the subscribers' reader) about as much as a publish: fewer
            # publishes with more subscribers keep each measurement about as long as the others
            pubs = n if subs == 1 else max(16 * CLIENTS, n // (4 if depth == 1 else 5))
            pubs -= pubs % depth
            wl.append(Workload("PUBLISH %d sub%s P%d" % (subs, "" if subs == 1 else "s", depth), "pubsub",
                               common + ["PUBLISH", CHANNEL.decode(), MESSAGE.decode()], pubs, subscribers=subs,
                               note="%s PUBLISHes of a %d-byte message to `%s`, %d subscriber connection%s (RESP2) "
                                    "each counting every message" % (fmt_num(pubs), len(MESSAGE), CHANNEL.decode(),
                                                                     subs, "" if subs == 1 else "s")))
    return wl


def run_pubsub(server: "Server", w: Workload, n: int, subs: Subscribers, timeout: float) -> dict:
    """One PUBLISH row: redis-benchmark publishes ``n`` messages; then one sentinel message ends the run: every
    subscriber must have received exactly ``n`` messages, then the sentinel. ops = deliveries (n x subscribers);
    ``e2e_rps``: deliveries per second from the start of the load until the last subscriber had everything."""
    t0 = time.perf_counter()
    r = run_redis_benchmark(server.port, w, n, timeout)
    reached = publish_sentinel(server.port)
    if reached != w.subscribers:
        raise RuntimeError("the final PUBLISH reached %r subscribers, expected %d" % (reached, w.subscribers))
    done = subs.wait(n, timeout)
    return {"rps": r["rps"] * w.subscribers, "publish_rps": r["rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
            "ops": n * w.subscribers, "e2e_rps": n * w.subscribers / (done - t0)}


def collection_workloads(m: dict) -> list:
    """Issue 14's hash and set rows: redis-benchmark's own HSET, SADD and SPOP tests and a custom HGET."""
    wl = []
    for depth, n, target in ((1, m["n_p1"], TARGET_COLLECTION_P1), (16, m["n_p16"], None)):
        common = ["-c", str(CLIENTS), "-P", str(depth), "-r", str(KEYSPACE)]
        wl.append(Workload("HSET 64B P%d" % depth, "rb", ["-t", "hset", "-d", "64"] + common, n, target=target,
                           note="one hash `myhash`, fields `element:__rand_int__` (up to %s), 64-byte values"
                                % fmt_num(KEYSPACE)))
        wl.append(Workload("HGET 64B P%d" % depth, "rb", common + ["HGET", BENCH_HASH.decode(),
                                                                   "element:__rand_int__"], n, target=target,
                           fill=("HSET", BENCH_HASH, KEYSPACE, 64),
                           note="`myhash` preloaded with exactly the %s fields `element:%%012d` that `-r %d` "
                                "names (64-byte values), so every HGET hits" % (fmt_num(KEYSPACE), KEYSPACE)))
        wl.append(Workload("SADD P%d" % depth, "rb", ["-t", "sadd"] + common, n, target=target,
                           note="one set `myset`, members `element:__rand_int__` (up to %s)" % fmt_num(KEYSPACE)))
        # at most KEYSPACE pops, so the set is as big in quick and full mode (and as the other rows' keyspace);
        # redis-benchmark issues whole pipelines while fewer than -n requests went out: at most n + depth - 1 pops
        pops = min(n, KEYSPACE)
        members = pops + CLIENTS * depth
        wl.append(Workload("SPOP P%d" % depth, "rb", ["-t", "spop"] + common, pops, target=target,
                           fill=("SADD", BENCH_SET, members, 0), check=set_left,
                           note="`myset` preloaded with %s members `element:%%012d` (the run's %s requests plus "
                                "%d), so no SPOP finds it empty; SCARD checked > 0 after the run"
                                % (fmt_num(members), fmt_num(pops), CLIENTS * depth)))
    return wl


def list_zset_workloads(m: dict) -> list:
    """Issue 15's list and sorted-set rows: redis-benchmark's own LPUSH, LPOP, RPOP, LRANGE_100, ZADD and ZPOPMIN.

    The pops and LRANGE_100 need a filled key, as redis-benchmark's own runs have it (``-t lpush,lpop`` pops what
    the LPUSH test pushed; ``-t lrange_100`` first runs an LPUSH test of ``-n`` requests): here the key is filled
    before the measurement (pipelined, not measured) and the measured run sends only the row's command."""
    wl = []
    for depth, n, target in ((1, m["n_p1"], TARGET_LIST_ZSET_P1), (16, m["n_p16"], None)):
        common = ["-c", str(CLIENTS), "-P", str(depth), "-r", str(KEYSPACE)]
        pops = min(n, KEYSPACE)  # as SPOP's rows: the key holds every pop of the run and a pipeline more
        fill = pops + CLIENTS * depth
        wl.append(Workload("LPUSH P%d" % depth, "rb", ["-t", "lpush"] + common, n, target=target,
                           note="one list `mylist`, 3-byte elements (redis-benchmark's default data)"))
        for cmd in ("LPOP", "RPOP"):
            wl.append(Workload("%s P%d" % (cmd, depth), "rb", ["-t", cmd.lower()] + common, pops, target=target,
                               fill=("LPUSH", BENCH_LIST, fill, BENCH_DATA), check=list_left,
                               note="`mylist` preloaded with %s 3-byte elements (the run's %s requests plus %d), "
                                    "so no pop finds it empty; LLEN checked > 0 after the run"
                                    % (fmt_num(fill), fmt_num(pops), CLIENTS * depth)))
        wl.append(Workload("LRANGE_100 P%d" % depth, "rb", common + ["LRANGE", BENCH_LIST.decode(), "0", "99"], n,
                           target=target, fill=("LPUSH", BENCH_LIST, LRANGE_FILL, BENCH_DATA),
                           note="`LRANGE mylist 0 99` (redis-benchmark's LRANGE_100 command) on `mylist` preloaded "
                                "with %s 3-byte elements (redis-benchmark's own run first LPUSHes -n of them, "
                                "measured as a row of its own)" % fmt_num(LRANGE_FILL)))
        wl.append(Workload("ZADD P%d" % depth, "rb", ["-t", "zadd"] + common, n, target=target,
                           note="one sorted set `myzset`, `ZADD myzset __rand_int__ element:__rand_int__` "
                                "(scores and members up to %s)" % fmt_num(KEYSPACE)))
        wl.append(Workload("ZPOPMIN P%d" % depth, "rb", ["-t", "zpopmin"] + common, pops, target=target,
                           fill=("ZADD", BENCH_ZSET, fill, BENCH_MEMBER), check=zset_left,
                           note="`myzset` preloaded with %s members `element:%%012d` scored 0..%s, so no ZPOPMIN "
                                "finds it empty; ZCARD checked > 0 after the run" % (fmt_num(fill), fmt_num(fill - 1))))
    return wl


def list_left(server: "Server") -> None:
    """LPOP/RPOP's check: the preloaded list still has elements, so every pop of the run popped one."""
    left = server.call("LLEN", BENCH_LIST)
    if not left:
        raise RuntimeError("the pops emptied %s: some found no element (LLEN %r)" % (BENCH_LIST.decode(), left))


def zset_left(server: "Server") -> None:
    """ZPOPMIN's check: the preloaded sorted set still has members."""
    left = server.call("ZCARD", BENCH_ZSET)
    if not left:
        raise RuntimeError("ZPOPMIN emptied %s: some pops found no member (ZCARD %r)" % (BENCH_ZSET.decode(), left))


def set_left(server: "Server") -> None:
    """SPOP's check: the preloaded set still has members, so every SPOP of the run popped one."""
    left = server.call("SCARD", BENCH_SET)
    if not left:
        raise RuntimeError("SPOP emptied %s: some pops found no member (SCARD %r)" % (BENCH_SET.decode(), left))


def run_redis_benchmark(port: int, w: Workload, n: int, timeout: float) -> dict:
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "--csv"] + w.args
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError("redis-benchmark timed out after %.0f s (server not answering?)" % timeout)
    rows = parse_csv(cp.stdout)
    if cp.returncode != 0 or not rows or "Error from server" in cp.stdout + cp.stderr:
        raise RuntimeError("redis-benchmark failed (exit %d): %s" % (cp.returncode,
                                                                    (cp.stdout + cp.stderr).strip()[-500:]))
    row = rows[-1]
    return {"rps": row["rps"], "p50_ms": row["p50_latency_ms"], "p99_ms": row["p99_latency_ms"], "ops": n}


def parse_csv(text: str) -> list:
    """Rows of redis-benchmark --csv output: test name plus float columns (rps, *_latency_ms)."""
    import csv
    lines = [ln for ln in text.splitlines() if ln.startswith('"')]
    rows = []
    for rec in csv.DictReader(lines):
        rows.append({k: (v if k == "test" else float(v)) for k, v in rec.items()})
    return rows


def bench_command(w: Workload, n: int) -> str:
    if w.kind not in ("rb", "pubsub"):
        return "(Python, bench/resp_load.py %s)" % ("run_cache_mix" if w.kind == "mix" else "run_redis_py_mix")
    cmd = shlex.join(["redis-benchmark", "-h", "127.0.0.1", "-p", "PORT", "-n", str(n), "--csv"] + w.args)
    cmd = cmd.replace(" -p PORT ", " -p $PORT ")
    if w.kind == "pubsub":
        cmd += "   # with %d subscriber(s), bench/pubsub_load.py Subscribers" % w.subscribers
    return cmd


def measure(server: Server, fn: Callable[[], dict]) -> dict:
    """Run ``fn`` (the load), recording server CPU, client CPU, wall time and the rest of the machine's load."""
    busy0, srv0, cli0, t0 = machine_busy(), server.cpu(), client_cpu(), time.perf_counter()
    res = fn()
    wall = time.perf_counter() - t0
    busy1, cli1 = machine_busy(), client_cpu()
    if not server.alive():
        raise ServerDied("%s died during the measurement (exit %s); log tail:\n%s"
                         % (server.name, server.proc.returncode, server.log_tail()))
    srv1 = server.cpu()
    srv, cli = srv1 - srv0, cli1 - cli0
    ops = res["ops"]
    res.update(wall=wall, server_cpu=srv, client_cores=cli / wall,
               other_cores=max(0.0, (busy1 - busy0) - srv - cli) / wall,
               cpu_s_per_mops=srv / ops * 1e6 if ops else float("nan"),
               req_per_cpu_s=ops / srv if srv > 0 else float("nan"))
    return res


def prepare(server: Server, preload: Optional[tuple], setup: list = (), fill: Optional[tuple] = None) -> None:
    server.call("FLUSHALL")
    if preload:
        keys, size, fmt = preload
        errors = mass_insert(server.port, keys, fmt, size)
        if errors:
            raise RuntimeError("%s: %d error replies while preloading %d keys" % (server.name, errors, keys))
    if fill:
        command, key, members, size = fill
        if type(size) is bytes:  # a list's or sorted set's members: the one data string, or a member format
            added = fill_collection(server.port, command.encode(), key, members, size)
        else:
            added = fill_collection(server.port, command.encode(), key, members, BENCH_MEMBER, size)
        if added != members:
            raise RuntimeError("%s: %s %s added %d of %d members" % (server.name, command, key.decode(), added,
                                                                     members))
    for command in setup:
        server.call(*command)


# ------------------------------------------------------------------------------------------- the suite
class Suite:
    def __init__(self, args, mode: dict):
        self.args, self.m = args, mode
        self.workdir = tempfile.mkdtemp(prefix="respd-bench-")
        self.results: dict = {}           # workload -> server -> [per-run result dicts]
        self.errors: list = []            # human-readable failures (bugs found while benchmarking)
        self.commands: dict = {}          # workload -> exact client command
        self.servers: dict = {}
        self.extra: dict = {}
        self.respd_env = respd_env(self.workdir)
        self.quiet_waited = 0.0           # seconds spent waiting for the machine to calm down
        self.quiet_timeouts = 0           # measurements started although the machine stayed busy

    def log(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # -- servers
    def make_servers(self) -> None:
        self.servers = {"respd": Server("respd", respd_argv(self.args.config), self.workdir, self.respd_env),
                        "redis": Server("redis", redis_argv(self.workdir), self.workdir)}

    def ensure_up(self, s: Server) -> None:
        if not s.alive():
            if s.proc is not None:
                self.log("  restarting %s" % s.name)
            s.start()

    # -- throughput runs
    def run_throughput(self, workloads: list) -> None:
        mixes = {}  # workload kind -> its CacheMix
        if any(w.kind == "mix" for w in workloads):
            mixes["mix"] = make_cache_mix(self.m["mix_ops"], connections=CLIENTS)
            self.extra["cache_mix"] = mixes["mix"].describe()
        if any(w.kind == "pymix" for w in workloads):
            mixes["pymix"] = make_cache_mix(self.m["pymix_ops"], connections=CLIENTS)
            self.extra["redis_py_mix"] = mixes["pymix"].describe()
        for s in self.servers.values():
            self.ensure_up(s)
        order = ["respd", "redis"]
        for run in range(self.m["runs"]):
            self.log("run %d/%d  (loadavg %s)" % (run + 1, self.m["runs"], loadavg()))
            for w in workloads:
                self.commands[w.name] = bench_command(w, w.n)
                for name in order:
                    s = self.servers[name]
                    self.measure_one(w, s, name, mixes.get(w.kind))
            order.reverse()

    def wait_quiet(self) -> None:
        """Wait (at most --quiet-wait s) until the rest of the machine uses < --quiet-threshold cores.

        Other sessions' tests on a 2-core machine take a core away from the server or the client; waiting for a
        gap is cheaper than re-running. The time waited and the load seen are recorded either way."""
        limit, threshold = self.args.quiet_wait, self.args.quiet_threshold
        if limit <= 0:
            return
        t_end = time.perf_counter() + limit
        while True:
            ours = [s for s in self.servers.values() if s.alive()]
            b0, c0, s0, t0 = machine_busy(), client_cpu(), sum(s.cpu() for s in ours), time.perf_counter()
            time.sleep(0.5)
            dt = time.perf_counter() - t0
            other = ((machine_busy() - b0) - (client_cpu() - c0)
                     - (sum(s.cpu() for s in ours if s.alive()) - s0)) / dt
            self.quiet_waited += dt
            if other < threshold or time.perf_counter() >= t_end:
                if other >= threshold:
                    self.quiet_timeouts += 1
                return

    def measure_one(self, w: Workload, s: Server, name: str, mix, n: Optional[int] = None) -> None:
        n = n or w.n
        # generous timeout: 200 ops/s would be far slower than anything sane
        timeout = max(120.0, n / 200.0)
        try:
            self.ensure_up(s)
            prepare(s, w.preload, w.setup, w.fill)
            self.wait_quiet()
            if w.kind == "rb":
                res = measure(s, lambda: run_redis_benchmark(s.port, w, n, timeout))
                if w.check:
                    w.check(s)
            elif w.kind == "pubsub":
                subs = Subscribers(s.port, w.subscribers)
                try:
                    res = measure(s, lambda: run_pubsub(s, w, n, subs, timeout))
                finally:
                    subs.close()
            else:
                run_mix = run_cache_mix if w.kind == "mix" else run_redis_py_mix
                res = measure(s, lambda: run_mix(s.port, mix, timeout=timeout))
                if res["errors"]:
                    raise RuntimeError("%d error replies during the cache mix" % res["errors"])
        except Exception as e:  # a failure is a result: record it and go on with the rest
            msg = "%s on %s: %s" % (w.name, name, e)
            self.errors.append(msg)
            self.log("  FAILED " + msg)
            self.results.setdefault(w.name, {}).setdefault(name, []).append(None)
            return
        self.results.setdefault(w.name, {}).setdefault(name, []).append(res)
        extra = " hit %.3f" % res["hit_ratio"] if "hit_ratio" in res else ""
        self.log("  %-18s %-6s %10.0f ops/s  p50 %6.3f  p99 %7.3f ms  %8.0f req/CPU-s  other %.2f%s"
                 % (w.name, name, res["rps"], res["p50_ms"], res["p99_ms"], res["req_per_cpu_s"],
                    res["other_cores"], extra))

    # -- SQL store (optional)
    def run_sql(self) -> None:
        dsn = os.environ.get(PG_DSN_ENV)
        if not dsn:
            self.extra["sql"] = "skipped: %s not set" % PG_DSN_ENV
            self.log("SQL store: skipped (%s not set)" % PG_DSN_ENV)
            return
        table = os.environ.get(PG_TABLE_ENV, "respd_bench_kv")
        cfg = os.path.join(self.workdir, "sql-registry.yaml")
        with open(cfg, "w") as f:
            f.write(SQL_REGISTRY % {"env": PG_DSN_ENV, "table": table})
        self.extra["sql_registry"] = SQL_REGISTRY % {"env": PG_DSN_ENV, "table": table}
        s = Server("respd-sql", respd_argv(cfg), self.workdir, self.respd_env)
        self.servers["respd-sql"] = s
        try:
            s.start(timeout=60)
        except ServerDied as e:
            self.errors.append("SQL store: respd did not start: %s" % e)
            self.extra["sql"] = "failed: respd with the SQL registry did not start (see Failures)"
            return
        self.extra["sql"] = "table %s, keyspace %d, %d requests per measurement" % (table, SQL_KEYSPACE,
                                                                                    self.m["n_sql"])
        common = ["-c", str(CLIENTS), "-P", "1", "-d", "64", "-r", str(SQL_KEYSPACE)]
        wls = [Workload("SQL SET 64B P1", "rb", ["-t", "set"] + common, self.m["n_sql"]),
               Workload("SQL GET 64B P1", "rb", ["-t", "get"] + common, self.m["n_sql"],
                        preload=(SQL_KEYSPACE, 64, SQL_KEY.encode()))]
        order = ["respd-sql", "redis"]
        for run in range(self.m["runs"]):
            for w in wls:
                self.commands[w.name] = bench_command(w, w.n)
                for name in order:
                    self.measure_one(w, self.servers[name], name, None)
                self.measure_ceiling(w, s, dsn, table, run)
            order.reverse()
        try:
            s.call("FLUSHALL")
        except Exception:
            pass
        s.stop()

    def measure_ceiling(self, w: Workload, s: Server, dsn: str, table: str, run: int) -> None:
        """PostgreSQL's ceiling for ``w`` through psycopg from this process: the store's single-key statement on
        its own table, keys and values, one autocommit connection, first one statement per round trip, then in
        pipelines of CLIENTS statements (one per client of the respd run). The table starts as respd's run did
        (emptied, and preloaded for GET, through respd)."""
        from sql_ceiling import raw_pipeline, raw_single

        from backends.codec import encode
        select = " GET " in w.name
        rnd = random.Random(run)
        ks = [SQL_KEY % rnd.randrange(SQL_KEYSPACE) for _ in range(w.n)]
        value = encode(b"x" * 64)
        out = self.extra.setdefault("sql_ceiling", {}).setdefault(w.name, {})
        for variant, fn in ((CEILING_SINGLE, raw_single),
                            (CEILING_PIPELINE, lambda *a, **k: raw_pipeline(*a, batch=CLIENTS, **k))):
            try:
                prepare(s, w.preload)
                self.wait_quiet()
                c0, t0 = client_cpu(), time.perf_counter()
                rps = fn(dsn, w.n, select, table=table, ks=ks, value=value)
                cores = (client_cpu() - c0) / (time.perf_counter() - t0)
            except Exception as e:  # a failure is a result: record it and go on
                self.errors.append("psycopg ceiling %s (%s): %s" % (w.name, variant, e))
                out.setdefault(variant, []).append(None)
                continue
            out.setdefault(variant, []).append({"rps": rps, "client_cores": cores})
            self.log("  %-18s %-30s %10.0f ops/s  client %.2f cores" % (w.name, "psycopg " + variant, rps, cores))

    # -- startup and idle CPU (fresh processes)
    def run_startup(self) -> None:
        out = {}
        for name, argv_fn, env in (("respd", respd_argv(self.args.config), self.respd_env),
                                   ("redis", redis_argv(self.workdir), None)):
            times, cpus, idle = [], [], None
            # trial 0 is a warm-up, not counted: page cache, and respd's bytecode cache (see respd_env)
            for i in range(self.m["startup_trials"] + 1):
                s = Server("%s-startup" % name, argv_fn, self.workdir, env)
                try:
                    self.wait_quiet()
                    wall = s.start() * 1000
                    if i > 0:
                        times.append(wall)
                        cpus.append(s.start_cpu * 1000)
                    if i == self.m["startup_trials"]:
                        idle = self.idle_cpu(s)
                except ServerDied as e:
                    self.errors.append("startup %s: %s" % (name, e))
                finally:
                    s.stop()
            out[name] = {"startup_ms": times, "startup_cpu_ms": cpus, "idle_core_pct": idle, "argv": s.argv}
            self.log("startup %s: %s ms (CPU %s ms); idle CPU %s%% of a core"
                     % (name, ", ".join("%.0f" % t for t in times), ", ".join("%.0f" % t for t in cpus),
                        fmt_num(idle, 2)))
        self.extra["startup"] = out
        self.extra["startup_floor"] = self.startup_floor()

    def startup_floor(self) -> dict:
        """What respd's startup cannot go below on this machine, measured the same way (spawn -> exit here):
        the interpreter starting (with this Python's site-packages and .pth files), and it importing trio."""
        out = {}
        for name, code in (FLOOR_PYTHON, FLOOR_TRIO):
            times = []
            for i in range(self.m["startup_trials"] + 1):
                self.wait_quiet()
                t0 = time.perf_counter()
                r = subprocess.run([sys.executable, "-c", code], env=self.respd_env, cwd=self.workdir,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if r.returncode != 0:
                    self.errors.append("startup floor %r exited with %d" % (code, r.returncode))
                    break
                if i > 0:  # trial 0 is a warm-up, as for the servers
                    times.append((time.perf_counter() - t0) * 1000)
            out[name] = times
            self.log("startup floor %s: %s ms" % (name, ", ".join("%.0f" % t for t in times)))
        return out

    def idle_cpu(self, s: Server) -> float:
        time.sleep(1.0)
        c0, t0 = s.cpu(), time.perf_counter()
        time.sleep(self.m["idle_seconds"])
        return (s.cpu() - c0) / (time.perf_counter() - t0) * 100

    # -- memory per key (fresh processes)
    def run_memory(self) -> None:
        keys = self.m["mem_keys"] if self.args.mem_keys is None else self.args.mem_keys
        out = {"keys": keys}
        for name, argv_fn, env in (("respd", respd_argv(self.args.config), self.respd_env),
                                   ("redis", redis_argv(self.workdir), None)):
            s = Server("%s-memory" % name, argv_fn, self.workdir, env)
            try:
                s.start()
                time.sleep(0.5)
                before = s.rss()
                t0 = time.perf_counter()
                errors = mass_insert(s.port, keys, b"mem:%012d", 64, ttl_every=2, ttl_seconds=3600)
                load_s = time.perf_counter() - t0
                time.sleep(0.5)
                after = s.rss()
                dbsize = s.call("DBSIZE")
                info = s.call("INFO", "memory").decode(errors="replace")
                used = None
                for line in info.splitlines():
                    if line.startswith("used_memory:"):
                        used = int(line.split(":")[1])
                idle = self.idle_cpu(s)
                out[name] = {"rss_before": before, "rss_after": after, "per_key": (after - before) / keys,
                             "dbsize": dbsize, "errors": errors, "load_s": load_s, "used_memory": used,
                             "idle_core_pct_loaded": idle, "argv": s.argv}
                if dbsize != keys or errors:
                    self.errors.append("memory %s: DBSIZE %s after loading %d keys, %d error replies"
                                       % (name, dbsize, keys, errors))
                self.log("memory %s: %d keys, RSS %.1f -> %.1f MB, %.0f B/key, loaded in %.1f s, idle %.2f%%"
                         % (name, keys, before / 1e6, after / 1e6, (after - before) / keys, load_s, idle))
            except Exception as e:
                self.errors.append("memory %s: %s" % (name, e))
                self.log("  FAILED memory %s: %s" % (name, e))
            finally:
                s.stop()
        self.extra["memory"] = out

    # -- memory per hash field (fresh processes)
    def run_field_memory(self) -> None:
        """Issue 14: RSS growth per field after loading N hashes of FIELD_MEM_FIELDS fields each (one pipelined
        HSET per hash), in a fresh respd and a fresh redis-server."""
        hashes = self.m["mem_hashes"] if self.args.mem_hashes is None else self.args.mem_hashes
        fields = hashes * FIELD_MEM_FIELDS
        out = {"hashes": hashes, "fields_per_hash": FIELD_MEM_FIELDS, "fields": fields}
        for name, argv_fn, env in (("respd", respd_argv(self.args.config), self.respd_env),
                                   ("redis", redis_argv(self.workdir), None)):
            s = Server("%s-field-memory" % name, argv_fn, self.workdir, env)
            try:
                s.start()
                time.sleep(0.5)
                before = s.rss()
                t0 = time.perf_counter()
                bad = load_hashes(s.port, hashes, FIELD_MEM_KEY, FIELD_MEM_FIELDS, FIELD_MEM_FIELD, FIELD_MEM_VALUE)
                load_s = time.perf_counter() - t0
                time.sleep(0.5)
                after = s.rss()
                dbsize = s.call("DBSIZE")
                hlen = s.call("HLEN", FIELD_MEM_KEY % (hashes - 1)) if hashes else 0
                encoding = s.call("OBJECT", "ENCODING", FIELD_MEM_KEY % 0) if hashes else None
                info = s.call("INFO", "memory").decode(errors="replace")
                used = None
                for line in info.splitlines():
                    if line.startswith("used_memory:"):
                        used = int(line.split(":")[1])
                out[name] = {"rss_before": before, "rss_after": after, "per_field": (after - before) / fields,
                             "dbsize": dbsize, "hlen_last": hlen, "bad_replies": bad, "load_s": load_s,
                             "used_memory": used, "encoding": encoding.decode() if encoding else None,
                             "argv": s.argv}
                if dbsize != hashes or hlen != FIELD_MEM_FIELDS or bad:
                    self.errors.append("field memory %s: DBSIZE %s after loading %d hashes, HLEN of the last %s, "
                                       "%d unexpected replies" % (name, dbsize, hashes, hlen, bad))
                self.log("field memory %s: %d hashes x %d fields, RSS %.1f -> %.1f MB, %.1f B/field, %s, "
                         "loaded in %.1f s" % (name, hashes, FIELD_MEM_FIELDS, before / 1e6, after / 1e6,
                                               (after - before) / fields, out[name]["encoding"], load_s))
            except Exception as e:
                self.errors.append("field memory %s: %s" % (name, e))
                self.log("  FAILED field memory %s: %s" % (name, e))
            finally:
                s.stop()
        self.extra["field_memory"] = out

    # -- memory per list element (fresh processes)
    def run_list_memory(self) -> None:
        """Issue 15: RSS growth (and redis-server's used_memory growth) per element after loading N lists of
        LIST_MEM_LENGTH elements, and after loading one list of LIST_MEM_LONG elements, each in a fresh respd and a
        fresh redis-server (RPUSH of up to 1,000 elements per command, pipelined)."""
        lists = self.m["mem_lists"] if self.args.mem_lists is None else self.args.mem_lists
        out = {}
        for shape, count, length in (("short", lists, LIST_MEM_LENGTH), ("long", 1, LIST_MEM_LONG)):
            elements = count * length
            res = out[shape] = {"lists": count, "length": length, "elements": elements}
            for name, argv_fn, env in (("respd", respd_argv(self.args.config), self.respd_env),
                                       ("redis", redis_argv(self.workdir), None)):
                s = Server("%s-list-memory" % name, argv_fn, self.workdir, env)
                try:
                    s.start()
                    time.sleep(0.5)
                    before, used_before = s.rss(), used_memory(s)
                    t0 = time.perf_counter()
                    bad = load_lists(s.port, count, LIST_MEM_KEY, length, LIST_MEM_ELEMENT)
                    load_s = time.perf_counter() - t0
                    time.sleep(0.5)
                    after, used_after = s.rss(), used_memory(s)
                    dbsize = s.call("DBSIZE")
                    llen = s.call("LLEN", LIST_MEM_KEY % (count - 1))
                    encoding = s.call("OBJECT", "ENCODING", LIST_MEM_KEY % 0)
                    res[name] = {"rss_before": before, "rss_after": after, "per_element": (after - before) / elements,
                                 "used_before": used_before, "used_after": used_after,
                                 "used_per_element": (used_after - used_before) / elements
                                 if used_before is not None and used_after is not None else None,
                                 "dbsize": dbsize, "llen_last": llen, "bad_replies": bad, "load_s": load_s,
                                 "encoding": encoding.decode() if encoding else None, "argv": s.argv}
                    if dbsize != count or llen != length or bad:
                        self.errors.append("list memory %s: DBSIZE %s after loading %d lists, LLEN of the last %s, "
                                           "%d unexpected replies" % (name, dbsize, count, llen, bad))
                    self.log("list memory %s: %d lists x %d elements, RSS %.1f -> %.1f MB, %.1f B/element, %s, "
                             "loaded in %.1f s" % (name, count, length, before / 1e6, after / 1e6,
                                                   (after - before) / elements, res[name]["encoding"], load_s))
                except Exception as e:
                    self.errors.append("list memory %s: %s" % (name, e))
                    self.log("  FAILED list memory %s: %s" % (name, e))
                finally:
                    s.stop()
        self.extra["list_memory"] = out

    # -- idle subscribers (fresh processes)
    def run_idle_subscribers(self, n: int) -> None:
        """Issue 16: ``n`` subscribed clients doing nothing must cost no CPU. A fresh process of each server, its CPU
        per wall second empty and then with the subscribers connected; RSS per subscriber; then a check that every
        subscriber still receives."""
        out = {"subscribers": n, "maxclients": n + 100, "seconds": self.m["idle_sub_seconds"], "empty_seconds": 3.0}
        for name, argv_fn, env in (("respd", respd_argv(self.args.config), self.respd_env),
                                   ("redis", redis_argv(self.workdir), None)):
            s = Server("%s-idle-subs" % name, argv_fn, self.workdir, env)
            subs = None
            try:
                s.start()
                s.call("CONFIG", "SET", "maxclients", str(n + 100))
                time.sleep(1.0)
                self.wait_quiet()
                c0, t0 = s.cpu(), time.perf_counter()
                time.sleep(out["empty_seconds"])
                empty = (s.cpu() - c0) / (time.perf_counter() - t0)
                rss0 = s.rss()
                t0 = time.perf_counter()
                subs = IdleSubscribers(s.port, n)
                took = time.perf_counter() - t0
                time.sleep(1.0)
                self.wait_quiet()
                c0, t0 = s.cpu(), time.perf_counter()
                time.sleep(out["seconds"])
                busy = (s.cpu() - c0) / (time.perf_counter() - t0)
                rss1 = s.rss()
                ok = True
                try:
                    subs.check()
                except Exception as e:
                    ok = False
                    self.errors.append("idle subscribers %s: %s" % (name, e))
                out[name] = {"cpu_empty": empty, "cpu_idle_subs": busy, "subscribe_s": took,
                             "rss_per_sub": (rss1 - rss0) / n, "check": ok}
                self.log("idle subscribers %s: %d subscribed in %.1f s; CPU %.4f cores empty, %.4f with them; "
                         "%.0f B RSS each; check %s" % (name, n, took, empty, busy, (rss1 - rss0) / n,
                                                        "ok" if ok else "FAILED"))
            except Exception as e:
                self.errors.append("idle subscribers %s: %s" % (name, e))
                self.log("  FAILED idle subscribers %s: %s" % (name, e))
            finally:
                if subs is not None:
                    subs.close()
                s.stop()
        self.extra["idle_subscribers"] = out

    def close(self) -> None:
        for s in self.servers.values():
            s.stop()


SQL_REGISTRY = """\
# generated by bench/run.py: db 0 is a SQL store on PostgreSQL (DSN from $%(env)s)
version: "1.0"
namespace: bench
server:
  databases: {0: bench:kv}
entries:
  - {name: pg, kind: db.sql.postgres, dsn_env: %(env)s}
  - {name: kv, kind: store.sql, database: bench:pg, table_name: %(table)s, create_table: true}
"""


# ---------------------------------------------------------------------------------------------- report
def fmt_num(v, digits: int = 0) -> str:
    if v is None or v != v:
        return "–"
    return "{:,.{d}f}".format(v, d=digits)


def median(values: list):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else None


def target_status(ratio, target) -> str:
    if target is None:
        return ""
    lo, hi = target
    label = "≥ %.2f×" % lo + (" (stretch %.2f×)" % hi if hi is not None else "")
    if ratio is None:
        return label + " –"
    return label + (" **stretch met**" if hi is not None and ratio >= hi else " met" if ratio >= lo
                    else " **MISSED**")


def machine_info() -> dict:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    vers = {}
    for mod in ("trio", "hiredis", "redis", "psycopg"):
        try:
            m = __import__(mod)
            vers[mod] = getattr(m, "__version__", "?")
        except Exception:
            vers[mod] = "not installed"
    rs = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    rb = subprocess.run(["redis-benchmark", "--version"], capture_output=True, text=True).stdout.strip()
    # the last commit that changed the server code (HEAD may be a bench or test commit)
    git = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %s", "--", "respd", "backends"],
                         capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "respd", "backends"],
                           capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "cpu_model": model, "mem": mem,
            "kernel": platform.release(), "python": platform.python_version(), "versions": vers,
            "redis_server": rs, "redis_benchmark": rb, "respd_commit": git, "head": head,
            "respd_dirty": bool(dirty), "respd_dirty_files": dirty.splitlines()}


def used_memory(s: "Server") -> Optional[int]:
    """INFO memory's used_memory (respd answers it too: what its allocator reports, for the record only)."""
    info = s.call("INFO", "memory").decode(errors="replace")
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return None


def render_idle_subscribers(L: list, x: Optional[dict]) -> None:
    """Issue 16: the CPU cost of many idle subscribed clients."""
    if not x:
        return
    L.append("## Idle subscribers: %s connections, each SUBSCRIBEd to its own channel, doing nothing"
             % fmt_num(x["subscribers"]))
    L.append("")
    L.append("| server | CPU empty (cores) | CPU with the idle subscribers (cores) | subscribing took | RSS per "
             "subscriber | all still subscribed |")
    L.append("|---|---|---|---|---|---|")
    for name in ("respd", "redis"):
        y = x.get(name)
        if not y:
            continue
        L.append("| %s | %s | **%s** | %.1f s | %s bytes | %s |" % (
            name, fmt_num(y["cpu_empty"], 4), fmt_num(y["cpu_idle_subs"], 4), y["subscribe_s"],
            fmt_num(y["rss_per_sub"]), "yes" if y["check"] else "**no**"))
    L.append("")
    L.append("A fresh process of each server (`CONFIG SET maxclients %d`); its CPU time (utime + stime from "
             "/proc/PID/stat, 10 ms ticks) per wall second over %.0f s empty, then over %.0f s with the "
             "subscribers connected, from 1 s after the last confirmation. Then one PUBLISH to every channel "
             "(pipelined): each must reach its subscriber, and each subscriber must read its message."
             % (x["maxclients"], x["empty_seconds"], x["seconds"]))
    L.append("")


def render_list_memory(L: list, lm: Optional[dict]) -> None:
    """The memory-per-list-element section (issue 15): many short lists, one long list."""
    if lm is None:
        L.append("## Memory per list element: not run")
        L.append("")
        return
    L.append("## Memory per list element (16-byte keys, 16-byte elements)")
    L.append("")
    L.append("| lists × elements | server | RSS before | RSS after | RSS bytes / element | redis used_memory / element "
             "| ratio (RSS) | OBJECT ENCODING | load time |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for shape in ("short", "long"):
        x = lm.get(shape)
        if not x or "respd" not in x or "redis" not in x:
            continue  # a failed side is listed under Failures
        r, d = x["respd"], x["redis"]
        ratio = r["per_element"] / d["per_element"] if d["per_element"] > 0 else None
        label = "%s × %s" % (fmt_num(x["lists"]), fmt_num(x["length"]))
        for name, y in (("respd", r), ("redis-server", d)):
            um = fmt_num(y["used_per_element"], 1) if name == "redis-server" else "–"
            L.append("| %s | %s | %s MB | %s MB | %s | %s | %s | %s | %.1f s |" % (
                label, name, fmt_num(y["rss_before"] / 1e6, 1), fmt_num(y["rss_after"] / 1e6, 1),
                fmt_num(y["per_element"], 1), um, ("**%s×**" % fmt_num(ratio, 2)) if name == "respd" else "",
                y.get("encoding") or "–", y["load_s"]))
        verdicts.append("%s: %s" % (label, "–" if ratio is None else
                                    "met" if ratio <= TARGET_LIST_MEM_RATIO else "**MISSED**"))
    L.append("")
    L.append("respd / redis-server RSS per element, target ≤ %.1f×: %s. RSS growth / elements after RPUSH of up to "
             "1,000 elements per command, pipelined by 1,000 commands, each shape in fresh processes."
             % (TARGET_LIST_MEM_RATIO, "; ".join(verdicts) or "–"))
    L.append("")


def render_field_memory(L: list, fm: Optional[dict]) -> None:
    """The memory-per-field section (issue 14), beside the memory-per-key one."""
    if fm is None:
        L.append("## Memory per hash field: not run")
        L.append("")
        return
    if "respd" not in fm or "redis" not in fm:
        return  # a failed side is listed under Failures
    r, d = fm["respd"], fm["redis"]
    ratio = r["per_field"] / d["per_field"] if d["per_field"] > 0 else None
    L.append("## Memory per hash field: %s hashes × %d fields (16-byte keys and field names, 32-byte values)"
             % (fmt_num(fm["hashes"]), fm["fields_per_hash"]))
    L.append("")
    L.append("| server | RSS before | RSS after | RSS bytes / field | used_memory / field | DBSIZE | OBJECT ENCODING "
             "| load time |")
    L.append("|---|---|---|---|---|---|---|---|")
    for name, x in (("respd", r), ("redis-server", d)):
        um = fmt_num((x["used_memory"] or 0) / fm["fields"], 1) if name == "redis-server" else "(= RSS)"
        L.append("| %s | %s MB | %s MB | %s | %s | %s | %s | %.1f s |" % (
            name, fmt_num(x["rss_before"] / 1e6, 1), fmt_num(x["rss_after"] / 1e6, 1), fmt_num(x["per_field"], 1),
            um, fmt_num(x["dbsize"]), x.get("encoding") or "–", x["load_s"]))
    L.append("")
    status = "–" if ratio is None else ("met" if ratio <= TARGET_FIELD_MEM_RATIO else "**MISSED**")
    L.append("respd / redis-server RSS per field: **%s×** (target ≤ %.1f×: %s). Each hash written by one `HSET` "
             "of its %d fields, pipelined in batches of 1,000 commands; RSS growth / fields."
             % (fmt_num(ratio, 2), TARGET_FIELD_MEM_RATIO, status, fm["fields_per_hash"]))
    L.append("")


def render(suite: Suite, workloads: list, info: dict, started: str, mode_name: str, wall: float,
           load_before: str, load_after: str) -> str:
    m, res = suite.m, suite.results
    L = []
    L.append("# respd benchmark — %s (%s mode, %d run%s)" % (started, mode_name, m["runs"],
                                                            "" if m["runs"] == 1 else "s"))
    L.append("")
    L.append("respd code: last commit touching respd/ or backends/ `%s`, HEAD `%s`%s. Suite wall time %.0f s."
             % (info["respd_commit"], info["head"],
                " (**uncommitted changes** in respd/ or backends/)" if info["respd_dirty"] else "", wall))
    L.append("")
    L.append("## Throughput (median of %d interleaved run%s; ratio = median of per-run respd/redis)"
             % (m["runs"], "" if m["runs"] == 1 else "s"))
    L.append("")
    L.append("| workload | respd ops/s | redis ops/s | ratio | target | respd p50 / p99 ms | redis p50 / p99 ms |")
    L.append("|---|---|---|---|---|---|---|")
    rows = [w.name for w in workloads] + [k for k in res if k.startswith("SQL ")]
    targets = {w.name: w.target for w in workloads}
    csv_rows = []
    for name in rows:
        if name not in res:
            continue
        a_name = "respd-sql" if name.startswith("SQL ") else "respd"
        a, b = res[name].get(a_name, []), res[name].get("redis", [])
        ratios = [x["rps"] / y["rps"] for x, y in zip(a, b) if x and y]
        ratio = median(ratios)
        rng = " (%.2f–%.2f)" % (min(ratios), max(ratios)) if len(ratios) > 1 else ""

        def med(lst, k):
            return median([x[k] for x in lst if x])
        L.append("| %s | %s | %s | %s%s | %s | %s / %s | %s / %s |" % (
            name + (" (respd SQL store)" if a_name == "respd-sql" else ""),
            fmt_num(med(a, "rps")), fmt_num(med(b, "rps")),
            ("%.2f×" % ratio) if ratio is not None else "–", rng, target_status(ratio, targets.get(name)),
            fmt_num(med(a, "p50_ms"), 3), fmt_num(med(a, "p99_ms"), 3),
            fmt_num(med(b, "p50_ms"), 3), fmt_num(med(b, "p99_ms"), 3)))
        csv_rows.append((name, a_name, a, b))
    L.append("")
    if "cache mix P1" in res:
        hr = {k: median([x["hit_ratio"] for x in res["cache mix P1"].get(k, []) if x]) for k in ("respd", "redis")}
        L.append("Cache mix hit ratio (GETs that found a value): respd %s, redis-server %s. Mix: %s."
                 % (fmt_num(hr["respd"], 3), fmt_num(hr["redis"], 3), suite.extra.get("cache_mix", "")))
        L.append("")
    if "redis-py mix P1" in res:
        hr = {k: median([x["hit_ratio"] for x in res["redis-py mix P1"].get(k, []) if x])
              for k in ("respd", "redis")}
        L.append("redis-py mix: the same kind of mix (%s) sent through redis-py's asyncio client (hiredis parser), "
                 "one task per connection awaiting each reply, as an application does. The client uses a whole "
                 "core at a few thousand ops/s, so ops/s show what such an application gets from either server; "
                 "the servers' CPU per request (below) still compares them. Hit ratio: respd %s, redis-server %s "
                 "(the tasks' requests interleave by reply timing, so it may differ in the third digit)."
                 % (suite.extra.get("redis_py_mix", ""), fmt_num(hr["respd"], 3), fmt_num(hr["redis"], 3)))
        L.append("")
    notes = [w for w in workloads if w.name in res and w.name.split()[0] in COLLECTION_COMMANDS]
    if notes:
        L.append("Hash, set, list and sorted-set rows:")
        L.append("")
        for w in notes:
            L.append("- %s: %s" % (w.name, w.note))
        L.append("")
    pubs = [w for w in workloads if w.name in res and w.kind == "pubsub"]
    if pubs:
        L.append("PUBLISH rows (issue 16): ops/s are **messages delivered per second** (publishes/s × subscribers; "
                 "the ratio compares those). %d publisher connections (redis-benchmark `-c %d`), subscribers are "
                 "raw RESP2 connections read by one thread of the bench process, each counting the messages it "
                 "receives by content; after the load one more PUBLISH (a sentinel) ends the run, and every "
                 "subscriber must have received exactly the run's messages, then the sentinel, or the measurement "
                 "fails. End-to-end: deliveries per second from the start of the load until the last subscriber "
                 "had everything (the subscribers' reader shares the machine with the server and redis-benchmark)."
                 % (CLIENTS, CLIENTS))
        L.append("")
        L.append("| workload | respd publishes/s | redis publishes/s | respd delivered/s end-to-end "
                 "| redis delivered/s end-to-end | setup |")
        L.append("|---|---|---|---|---|---|")
        for w in pubs:
            a = [x for x in res[w.name].get("respd", []) if x]
            b = [x for x in res[w.name].get("redis", []) if x]
            L.append("| %s | %s | %s | %s | %s | %s |" % (
                w.name, fmt_num(median([x["publish_rps"] for x in a])), fmt_num(median([x["publish_rps"] for x in b])),
                fmt_num(median([x["e2e_rps"] for x in a])), fmt_num(median([x["e2e_rps"] for x in b])), w.note))
        L.append("")
    render_idle_subscribers(L, suite.extra.get("idle_subscribers"))
    L.append("MSET/MGET ops are commands of 10 keys each. SQL rows (when present) compare respd on its SQL store "
             "with redis-server running the same command. SQL store: %s." % suite.extra.get("sql", "not run"))
    L.append("")

    ceil = suite.extra.get("sql_ceiling")
    if ceil:
        L.append("## SQL store beside the psycopg ceiling (medians)")
        L.append("")
        L.append("| workload | respd SQL store ops/s | psycopg, %s | psycopg, %s | respd / pipelined ceiling |"
                 % (CEILING_SINGLE, CEILING_PIPELINE))
        L.append("|---|---|---|---|---|")
        for name, variants in ceil.items():
            a = [x for x in res.get(name, {}).get("respd-sql", []) if x]
            cells = []
            for v in (CEILING_SINGLE, CEILING_PIPELINE):
                runs = [x for x in variants.get(v, []) if x]
                cells.append("%s (client %s cores)" % (fmt_num(median([x["rps"] for x in runs])),
                                                       fmt_num(median([x["client_cores"] for x in runs]), 2))
                             if runs else "–")
            # per-run ratios, as for redis-server: the ceiling was measured right after respd in each run
            pairs = zip(res.get(name, {}).get("respd-sql", []), variants.get(CEILING_PIPELINE, []))
            ratios = [x["rps"] / y["rps"] for x, y in pairs if x and y]
            L.append("| %s | %s | %s | %s | %s |" % (
                name, fmt_num(median([x["rps"] for x in a])), cells[0], cells[1],
                ("%.2f×" % median(ratios)) if ratios else "–"))
        L.append("")
        L.append("The ceiling is psycopg in the bench process, on one autocommit connection, running the store's "
                 "single-key statement (an upsert, or a primary-key select with the expiry filter) on the store's "
                 "table with the run's keys and msgpack-encoded values, right after respd's measurement and from "
                 "the same table state. respd serves %d clients and merges their concurrent statements into one "
                 "multi-row statement per batch, so it can pass the pipelined ceiling when PostgreSQL, not respd, "
                 "is the limit." % CLIENTS)
        L.append("")

    L.append("## Server CPU efficiency (medians)")
    L.append("")
    L.append("| workload | respd CPU-s / M ops | redis CPU-s / M ops | respd req / CPU-s | redis req / CPU-s "
             "| client cores (respd / redis run) | other load, cores (max) |")
    L.append("|---|---|---|---|---|---|---|")
    for name, a_name, a, b in csv_rows:
        def med(lst, k):
            return median([x[k] for x in lst if x])
        others = [x["other_cores"] for x in a + b if x]
        L.append("| %s | %s | %s | %s | %s | %s / %s | %s |" % (
            name, fmt_num(med(a, "cpu_s_per_mops"), 1), fmt_num(med(b, "cpu_s_per_mops"), 1),
            fmt_num(med(a, "req_per_cpu_s")), fmt_num(med(b, "req_per_cpu_s")),
            fmt_num(med(a, "client_cores"), 2), fmt_num(med(b, "client_cores"), 2),
            fmt_num(max(others), 2) if others else "–"))
    L.append("")

    mem = suite.extra.get("memory")
    if mem and "respd" in mem and "redis" in mem:
        r, d = mem["respd"], mem["redis"]
        ratio = r["per_key"] / d["per_key"] if d["per_key"] > 0 else None
        L.append("## Memory: %s keys (16-byte keys, 64-byte values, EX 3600 on every second key)"
                 % fmt_num(mem["keys"]))
        L.append("")
        L.append("| server | RSS before | RSS after | RSS bytes / key | used_memory / key | DBSIZE | load time "
                 "| idle CPU with keys |")
        L.append("|---|---|---|---|---|---|---|---|")
        for name, x in (("respd", r), ("redis-server", d)):
            um = fmt_num((x["used_memory"] or 0) / mem["keys"]) if name == "redis-server" else "(= RSS)"
            L.append("| %s | %s MB | %s MB | %s | %s | %s | %.1f s | %s%% of a core |" % (
                name, fmt_num(x["rss_before"] / 1e6, 1), fmt_num(x["rss_after"] / 1e6, 1), fmt_num(x["per_key"]),
                um, fmt_num(x["dbsize"]), x["load_s"], fmt_num(x["idle_core_pct_loaded"], 2)))
        L.append("")
        status = "–" if ratio is None else ("met" if ratio <= TARGET_MEM_RATIO else "**MISSED**")
        L.append("respd / redis-server RSS per key: **%s×** (target ≤ %.1f×: %s)."
                 % (fmt_num(ratio, 2), TARGET_MEM_RATIO, status))
        L.append("")
    elif mem is None:
        L.append("## Memory: not run")
        L.append("")
    render_field_memory(L, suite.extra.get("field_memory"))
    render_list_memory(L, suite.extra.get("list_memory"))

    st = suite.extra.get("startup")
    if st:
        L.append("## Startup (spawn → first PONG) and idle CPU (fresh process, empty, %.0f s)" % m["idle_seconds"])
        L.append("")
        L.append("| server | startup median ms | all trials ms | CPU used by then, median ms | idle CPU |")
        L.append("|---|---|---|---|---|")
        for name in ("respd", "redis"):
            x = st.get(name)
            if not x:
                continue
            L.append("| %s | %s | %s | %s | %s%% of a core |" % (
                name, fmt_num(median(x["startup_ms"]), 0), ", ".join("%.0f" % t for t in x["startup_ms"]),
                fmt_num(median(x["startup_cpu_ms"]), 0), fmt_num(x["idle_core_pct"], 2)))
        floor = suite.extra.get("startup_floor") or {}
        for name, _ in (FLOOR_PYTHON, FLOOR_TRIO):
            if floor.get(name):
                L.append("| %s (floor: spawn → exit) | %s | %s | – | – |" % (
                    name, fmt_num(median(floor[name]), 0), ", ".join("%.0f" % t for t in floor[name])))
        sm = median(st.get("respd", {}).get("startup_ms", []))
        L.append("")
        L.append("respd startup target < %.0f ms: %s." % (
            TARGET_STARTUP_MS, "–" if sm is None else ("met" if sm < TARGET_STARTUP_MS else "**MISSED**")))
        tm = median(floor.get(FLOOR_TRIO[0], []))
        if sm is not None and tm is not None:
            L.append("Of that, the interpreter with trio imported takes %s ms on this machine (the floor rows, "
                     "same Python and environment); respd's own part (its imports, registry, stores, listening "
                     "socket, first reply) is the difference, %s ms." % (fmt_num(tm, 0), fmt_num(sm - tm, 0)))
        L.append("")

    L.append("## Failures")
    L.append("")
    if suite.errors:
        for e in suite.errors:
            L.append("- " + e.replace("\n", "\n  "))
    else:
        L.append("None.")
    L.append("")

    L.append("## Per-run figures (ops/s, and in brackets the other load on the machine in cores)")
    L.append("")
    n_runs = max([len(v) for wl in res.values() for v in wl.values()] or [0])
    L.append("| workload | server | " + " | ".join("run %d" % (i + 1) for i in range(n_runs)) + " |")
    L.append("|---|---|" + "---|" * n_runs)
    for name, a_name, a, b in csv_rows:
        for sname, lst in ((a_name, a), ("redis", b)):
            cells = [("%s (%.2f)" % (fmt_num(x["rps"]), x["other_cores"])) if x else "failed" for x in lst]
            L.append("| %s | %s | %s |" % (name, sname, " | ".join(cells + [""] * (n_runs - len(cells)))))
    L.append("")

    L.append("## Machine and load")
    L.append("")
    v = info["versions"]
    L.append("- nproc %s (affinity %s), CPU: %s, RAM %s, kernel %s" % (
        info["nproc"], info["affinity"], info["cpu_model"], info["mem"], info["kernel"]))
    L.append("- Python %s; trio %s, hiredis %s, redis-py %s, psycopg %s" % (
        info["python"], v["trio"], v["hiredis"], v["redis"], v["psycopg"]))
    L.append("- %s; %s" % (info["redis_server"], info["redis_benchmark"]))
    if info["respd_dirty"]:
        L.append("- uncommitted changes: " + ", ".join("`%s`" % f.strip() for f in info["respd_dirty_files"]))
    L.append("- /proc/loadavg before: `%s`; after: `%s`" % (load_before, load_after))
    others = [x["other_cores"] for wl in res.values() for lst in wl.values() for x in lst if x]
    if others:
        L.append("- other load during measurements (machine busy time in processes − server − client, in cores; "
                 "see bench/README.md): median %.2f, max %.2f" % (statistics.median(others), max(others)))
    L.append("- waited %.0f s in total for other load < %.2f cores before measurements (at most %.0f s each); "
             "%d measurement(s) started with the machine still busy" % (
                 suite.quiet_waited, suite.args.quiet_threshold, suite.args.quiet_wait, suite.quiet_timeouts))
    L.append("")

    L.append("## Commands")
    L.append("")
    L.append("Suite: `%s`" % shlex.join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]))
    L.append("")
    L.append("Servers (one process each for the throughput runs, FLUSHALL + preload before every measurement; "
             "fresh processes for startup and memory):")
    L.append("")
    L.append("```")
    for s in suite.servers.values():
        if s.argv:
            L.append(shlex.join([("python" if a == sys.executable else a) for a in s.argv]).replace(
                str(s.port), "$PORT") + ("   # restarted %d time(s)" % s.restarts if s.restarts > 0 else ""))
    L.append("```")
    L.append("")
    L.append("respd runs with `PYTHONPYCACHEPREFIX=<temp dir>/pycache` and without `PYTHONDONTWRITEBYTECODE`, so "
             "after the first start it loads cached bytecode, as an installed package does.")
    L.append("")
    L.append("Clients (GET, MGET and EVALSHA workloads first preload %s keys `key:%%012d` with values of the "
             "workload's size, pipelined raw RESP; the memory test loads `mem:%%012d` the same way; EVALSHA's "
             "script, `SCRIPT LOAD`ed after that: `%s`):" % (fmt_num(KEYSPACE), GET_SET_SCRIPT))
    L.append("")
    L.append("```")
    for name, cmd in suite.commands.items():
        L.append("%-18s %s" % (name + ":", cmd))
    L.append("```")
    if suite.extra.get("sql_registry"):
        L.append("")
        L.append("SQL registry:")
        L.append("")
        L.append("```yaml")
        L.append(suite.extra["sql_registry"].rstrip())
        L.append("```")
    L.append("")
    return "\n".join(L)


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description="respd vs redis-server benchmark suite (see bench/README.md)")
    p.add_argument("--quick", action="store_true", help="1 run, fewer requests, 100k keys for memory (~1 min)")
    p.add_argument("--runs", type=int, help="interleaved runs per workload (default 3; quick: 1)")
    p.add_argument("--only", help="comma-separated substrings: run only workloads whose name contains one "
                   "(case-insensitive), e.g. 'get,set' or 'P16' or 'mix'")
    p.add_argument("--mem-keys", type=int, help="keys for the memory test (default 1,000,000; quick: 100,000; "
                   "0 skips it)")
    p.add_argument("--mem-hashes", type=int, help="hashes of %d fields for the memory-per-field test (default "
                   "100,000, quick too; 0 skips it)" % FIELD_MEM_FIELDS)
    p.add_argument("--mem-lists", type=int, help="lists of %d elements for the memory-per-element test, which "
                   "also loads one list of %s elements (default 100,000, quick too; 0 skips both)"
                   % (LIST_MEM_LENGTH, "{:,}".format(LIST_MEM_LONG)))
    p.add_argument("--scale", type=float, default=1.0, help="multiply every request count by this factor")
    p.add_argument("--no-memory", action="store_true", help="skip the memory tests (per key, per hash field, per "
                   "list element)")
    p.add_argument("--no-startup", action="store_true", help="skip startup time and idle CPU")
    p.add_argument("--idle-subscribers", type=int, default=IDLE_SUBSCRIBERS, help="idle subscribed connections "
                   "for the idle-cost measurement (default %s; 0 skips it; with --only it runs when the list names "
                   "'idle')" % "{:,}".format(IDLE_SUBSCRIBERS))
    p.add_argument("--no-sql", action="store_true", help="skip the SQL store even when %s is set" % PG_DSN_ENV)
    p.add_argument("--sql", action="store_true", help="require the SQL-store run (fail if %s is unset)"
                   % PG_DSN_ENV)
    p.add_argument("--quiet-wait", type=float, help="before each measurement wait up to this many seconds for "
                   "the rest of the machine to go quiet (default 5; quick: 1; 0 = never wait)")
    p.add_argument("--quiet-threshold", type=float, default=0.3,
                   help="'quiet' = other processes use fewer cores than this (default 0.3)")
    p.add_argument("--config", help="registry file for respd's memory-store runs (default: embedded registry)")
    p.add_argument("--results-dir", default=os.path.join(HERE, "results"), help="where to write results")
    p.add_argument("--no-save", action="store_true", help="print the report, write nothing")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    mode_name = "quick" if args.quick else "full"
    mode = dict(MODES[mode_name])
    if args.runs:
        mode["runs"] = args.runs
    for k in ("n_p1", "n_p16", "n_multi", "mix_ops", "pymix_ops", "n_sql"):
        mode[k] = max(1000, int(mode[k] * args.scale))
    if args.quiet_wait is None:
        args.quiet_wait = mode["quiet_wait"]
    if args.sql and not os.environ.get(PG_DSN_ENV):
        print("bench: --sql needs %s (a PostgreSQL DSN)" % PG_DSN_ENV, file=sys.stderr)
        return 2
    if args.no_sql:
        os.environ.pop(PG_DSN_ENV, None)

    started = datetime.datetime.now(datetime.timezone.utc)
    stamp = started.strftime("%Y-%m-%d-%H%M%S")
    info = machine_info()
    load_before = loadavg()
    suite = Suite(args, mode)
    workloads = build_workloads(mode)
    if args.only:
        wanted = [x.strip().lower() for x in args.only.split(",") if x.strip()]
        workloads = [w for w in workloads if any(x in w.name.lower() for x in wanted)]
    t0 = time.perf_counter()
    suite.log("respd bench, %s mode, %d run(s), temp dir %s" % (mode_name, mode["runs"], suite.workdir))
    try:
        if not args.no_startup:
            suite.run_startup()
        suite.make_servers()
        if workloads:
            suite.run_throughput(workloads)
        if args.idle_subscribers and (not args.only or "idle" in args.only.lower()):
            suite.run_idle_subscribers(args.idle_subscribers)
        if args.sql or (os.environ.get(PG_DSN_ENV) and not args.no_sql):
            suite.run_sql()
        else:
            suite.extra["sql"] = "skipped: %s not set" % PG_DSN_ENV
        suite.close()
        if args.no_memory or args.mem_keys == 0:
            suite.extra["memory"] = None
        else:
            suite.run_memory()
        if args.no_memory or args.mem_hashes == 0:
            suite.extra["field_memory"] = None
        else:
            suite.run_field_memory()
        if args.no_memory or args.mem_lists == 0:
            suite.extra["list_memory"] = None
        else:
            suite.run_list_memory()
    except KeyboardInterrupt:
        suite.log("interrupted: reporting what was measured")
    finally:
        suite.close()
    wall = time.perf_counter() - t0
    report = render(suite, workloads, info, started.strftime("%Y-%m-%d %H:%M UTC"), mode_name, wall,
                    load_before, loadavg())
    print(report)
    if not args.no_save:
        os.makedirs(args.results_dir, exist_ok=True)
        base = os.path.join(args.results_dir, "%s-%s" % (stamp, mode_name))
        with open(base + ".md", "w") as f:
            f.write(report)
        with open(os.path.join(args.results_dir, "latest.md"), "w") as f:
            f.write(report)
        with open(base + ".raw.json", "w") as f:
            json.dump({"mode": mode_name, "settings": mode, "machine": info, "results": suite.results,
                       "extra": suite.extra, "errors": suite.errors, "commands": suite.commands}, f, indent=1,
                      default=str)
        suite.log("written: %s.md, %s.raw.json, %s" % (base, base, os.path.join(args.results_dir, "latest.md")))
    if suite.errors:
        suite.log("server logs kept in %s" % suite.workdir)
        return 1
    shutil.rmtree(suite.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
