"""Raw-RESP load tools for the benchmark suite (no redis-py, so the client adds as little CPU as possible).

- ``Client``: a tiny blocking RESP2 client (hiredis parser) for control commands (PING, FLUSHALL, DBSIZE, INFO).
- ``mass_insert``: pipelined SETs in batches, for preloading keys and for the memory measurement.
- ``fill_collection``: one hash or set filled by pipelined multi-member HSET/SADD (the HGET and SPOP preloads).
- ``load_hashes``: many small hashes, one pipelined HSET each (the memory-per-field measurement).
- ``CacheMix`` / ``run_cache_mix``: the cache workload (default 90% GET / 10% SET EX over 100k keys, Zipf-like key
  popularity), driven from one epoll loop over N connections, one request in flight per connection (like
  ``redis-benchmark -P 1``). The request sequence is generated once from a fixed seed and replayed identically
  against every server, so both see the same mix; the hit ratio (GETs that found a value) is reported.

Used by ``bench/run.py``; importable on its own.
"""
from __future__ import annotations

import itertools
import random
import select
import socket
import time
from dataclasses import dataclass, field

import hiredis


def encode(*args) -> bytes:
    """One RESP2 multibulk request from str/bytes/int arguments."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = b"%d" % a
        elif isinstance(a, str):
            a = a.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class ServerError(Exception):
    """The server answered a control command with an error reply."""


class Client:
    """Blocking RESP2 client: ``call()`` for one command, ``pipeline()`` for many at once."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 60.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read(self):
        """Next reply (error replies are returned as ``hiredis.ReplyError`` objects, not raised)."""
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.reader.feed(data)

    def call(self, *args):
        """Send one command; raise ServerError on an error reply."""
        self.sock.sendall(encode(*args))
        reply = self.read()
        if isinstance(reply, hiredis.ReplyError):
            raise ServerError("%s: %s" % (args[0], reply))
        return reply

    def pipeline(self, payload: bytes, count: int) -> list:
        """Send pre-encoded ``payload`` holding ``count`` requests; return the ``count`` replies."""
        self.sock.sendall(payload)
        return [self.read() for _ in range(count)]


def mass_insert(port: int, keys: int, key_format: bytes, value_size: int, ttl_every: int = 0,
                ttl_seconds: int = 3600, batch: int = 2000) -> int:
    """SET ``keys`` keys ``key_format % i`` (i = 0..keys-1) to ``value_size`` bytes, pipelined by ``batch``.

    With ``ttl_every=2`` every second key gets ``EX ttl_seconds``. Returns the number of error replies (0 expected).
    """
    value = b"v" * value_size
    vhdr = b"$%d\r\n" % value_size
    errors = 0
    with Client(port) as c:
        for start in range(0, keys, batch):
            stop = min(keys, start + batch)
            parts = []
            for i in range(start, stop):
                k = key_format % i
                if ttl_every and i % ttl_every == 0:
                    parts.append(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n%s%s\r\n$2\r\nEX\r\n$%d\r\n%d\r\n"
                                 % (len(k), k, vhdr, value, len(str(ttl_seconds)), ttl_seconds))
                else:
                    parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n%s%s\r\n" % (len(k), k, vhdr, value))
            for reply in c.pipeline(b"".join(parts), stop - start):
                if reply != b"OK":
                    errors += 1
    return errors


def _bulks(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def fill_collection(port: int, command: bytes, key: bytes, count: int, member_format: bytes, value_size: int = 0,
                    per_command: int = 1000, batch: int = 10) -> int:
    """Fill one collection: ``command`` (``HSET``, ``SADD``, ``ZADD``, ``LPUSH`` or ``RPUSH``) of ``key`` with members
    ``member_format % i`` (i = 0..count-1; a format without ``%`` is every member as it is, as redis-benchmark pushes
    one data string), ``per_command`` members per command and ``batch`` commands per pipeline; for ``HSET`` each
    member (a field) gets a ``value_size``-byte value, for ``ZADD`` the score i. Returns how many members the
    replies say were added (``count`` on an empty key; a push answers the list's length); an error reply raises
    ServerError."""
    value = b"h" * value_size
    name = command.upper()
    added = 0
    with Client(port) as c:
        commands = []
        for start in range(0, count, per_command):
            span = range(start, min(count, start + per_command))
            members = [member_format % i for i in span] if b"%" in member_format else [member_format] * len(span)
            if name == b"HSET":
                args = [a for m in members for a in (m, value)]
            elif name == b"ZADD":
                args = [a for i, m in zip(span, members) for a in (b"%d" % i, m)]
            else:
                args = members
            commands.append(_bulks(command, key, *args))
        for start in range(0, len(commands), batch):
            chunk = commands[start:start + batch]
            for reply in c.pipeline(b"".join(chunk), len(chunk)):
                if isinstance(reply, hiredis.ReplyError):
                    raise ServerError("%s %s: %s" % (command.decode(), key.decode(errors="replace"), reply))
                added = reply if name in (b"LPUSH", b"RPUSH") else added + reply
    return added


def load_lists(port: int, lists: int, key_format: bytes, length: int, element_format: bytes, batch: int = 1000,
               per_command: int = 1000) -> int:
    """``lists`` lists ``key_format % i``, each of ``length`` elements ``element_format % (i * length + j)``
    (j = 0..length-1) written by RPUSH commands of at most ``per_command`` elements, pipelined by ``batch``
    commands. Returns the number of replies that are not the list's length after the push (0 expected)."""
    bad = 0
    with Client(port) as c:
        parts, want = [], []
        for i in range(lists):
            key = key_format % i
            base = i * length
            for j in range(0, length, per_command):
                stop = min(length, j + per_command)
                parts.append(_bulks(b"RPUSH", key, *[element_format % (base + x) for x in range(j, stop)]))
                want.append(stop)
                if len(parts) >= batch:
                    bad += sum(r != w for r, w in zip(c.pipeline(b"".join(parts), len(parts)), want))
                    parts, want = [], []
        if parts:
            bad += sum(r != w for r, w in zip(c.pipeline(b"".join(parts), len(parts)), want))
    return bad


def load_hashes(port: int, hashes: int, key_format: bytes, fields: int, field_format: bytes,
                value_format: bytes, batch: int = 1000) -> int:
    """``hashes`` hashes ``key_format % i``, each written by one ``HSET`` of ``fields`` fields ``field_format % j``
    (j = 0..fields-1) with the values ``value_format % (i * fields + j)``, pipelined by ``batch`` commands. Returns
    the number of replies other than ``fields`` (0 expected)."""
    names = [field_format % j for j in range(fields)]
    bad = 0
    with Client(port) as c:
        for start in range(0, hashes, batch):
            stop = min(hashes, start + batch)
            parts = []
            for i in range(start, stop):
                pairs = [a for j, f in enumerate(names) for a in (f, value_format % (i * fields + j))]
                parts.append(_bulks(b"HSET", key_format % i, *pairs))
            for reply in c.pipeline(b"".join(parts), stop - start):
                if reply != fields:
                    bad += 1
    return bad


# ------------------------------------------------------------------------------------------------- cache mix
@dataclass
class CacheMix:
    """A fixed request sequence: ``requests[c]`` is connection c's list of (encoded request, is_get, key)."""
    ops: int
    keys: int
    connections: int
    get_ratio: float
    value_size: int
    ttl: int
    zipf_s: float
    seed: int
    requests: list = field(repr=False, default_factory=list)

    def describe(self) -> str:
        return ("%d ops over %d connections (one in flight each), %d%% GET / %d%% SET key value EX %d, "
                "%d keys `cache:%%010d`, Zipf-like popularity (s=%.2f), %d-byte values, seed %d, cold start "
                "(FLUSHALL before)" % (self.ops, self.connections, round(self.get_ratio * 100),
                                       round((1 - self.get_ratio) * 100), self.ttl, self.keys, self.zipf_s,
                                       self.value_size, self.seed))


def make_cache_mix(ops: int, keys: int = 100_000, connections: int = 50, get_ratio: float = 0.9,
                   value_size: int = 128, ttl: int = 300, zipf_s: float = 0.99, seed: int = 42) -> CacheMix:
    """Build the request sequence (deterministic for given arguments)."""
    rng = random.Random(seed)
    cum = list(itertools.accumulate(1.0 / (i + 1) ** zipf_s for i in range(keys)))
    picks = rng.choices(range(keys), cum_weights=cum, k=ops)
    # Popularity rank -> key id through a fixed permutation, so hot keys are spread over the key space.
    perm = list(range(keys))
    rng.shuffle(perm)
    value = b"c" * value_size
    ttl_b = b"%d" % ttl
    set_tail = b"$%d\r\n%s\r\n$2\r\nEX\r\n$%d\r\n%s\r\n" % (value_size, value, len(ttl_b), ttl_b)
    mix = CacheMix(ops, keys, connections, get_ratio, value_size, ttl, zipf_s, seed,
                   [[] for _ in range(connections)])
    for i, rank in enumerate(picks):
        k = b"cache:%010d" % perm[rank]
        if rng.random() < get_ratio:
            req = (b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k), True, k)
        else:
            req = (b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n" % (len(k), k) + set_tail, False, k)
        mix.requests[i % connections].append(req)
    return mix


def _percentile(sorted_values: list, p: float) -> float:
    if not sorted_values:
        return float("nan")
    idx = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[idx]


def run_cache_mix(port: int, mix: CacheMix, host: str = "127.0.0.1", timeout: float = 600.0) -> dict:
    """Replay ``mix`` against the server; return ops/s, p50/p99 latency (ms), hit ratio and error count."""
    socks, readers = [], []
    for _ in range(mix.connections):
        s = socket.create_connection((host, port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
        readers.append(hiredis.Reader())
    ep = select.epoll()
    by_fd = {}
    for i, s in enumerate(socks):
        ep.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = i
    pos = [0] * mix.connections
    sent_at = [0] * mix.connections
    latencies = []
    gets = hits = errors = 0
    active = 0
    now = time.perf_counter_ns
    t0 = time.perf_counter()
    deadline = t0 + timeout
    try:
        for i, s in enumerate(socks):
            if mix.requests[i]:
                sent_at[i] = now()
                s.sendall(mix.requests[i][0][0])
                active += 1
        while active:
            events = ep.poll(1.0)
            if not events and time.perf_counter() > deadline:
                raise TimeoutError("cache mix: no reply within %.0f s" % timeout)
            for fd, _ in events:
                i = by_fd[fd]
                data = socks[i].recv(65536)
                if not data:
                    raise ConnectionError("server closed connection %d" % i)
                reader = readers[i]
                reader.feed(data)
                reply = reader.gets()
                while reply is not False:
                    latencies.append(now() - sent_at[i])
                    reqs = mix.requests[i]
                    if isinstance(reply, hiredis.ReplyError):
                        errors += 1
                    elif reqs[pos[i]][1]:
                        gets += 1
                        if reply is not None:
                            hits += 1
                    elif reply != b"OK":
                        errors += 1
                    pos[i] += 1
                    if pos[i] < len(reqs):
                        sent_at[i] = now()
                        socks[i].sendall(reqs[pos[i]][0])
                    else:
                        active -= 1
                    reply = reader.gets()
        wall = time.perf_counter() - t0
    finally:
        ep.close()
        for s in socks:
            s.close()
    latencies.sort()
    return {"ops": len(latencies), "wall": wall, "rps": len(latencies) / wall,
            "p50_ms": _percentile(latencies, 50) / 1e6, "p99_ms": _percentile(latencies, 99) / 1e6,
            "hit_ratio": hits / gets if gets else float("nan"), "gets": gets, "errors": errors}


def run_redis_py_mix(port: int, mix: CacheMix, host: str = "127.0.0.1", timeout: float = 600.0) -> dict:
    """Replay ``mix`` through redis-py's asyncio client, as an application's request handlers would: one task
    per mix connection, each awaiting its reply before the next request, over one ``BlockingConnectionPool`` of
    that many connections (redis-py parses with hiredis when it is installed). Same result keys as
    ``run_cache_mix``; the latencies include redis-py's own time per call."""
    import asyncio

    import redis.asyncio as aioredis
    from redis.exceptions import ResponseError

    value = b"c" * mix.value_size
    now = time.perf_counter_ns
    latencies: list = []
    counts = {"gets": 0, "hits": 0, "errors": 0}

    async def client(r, reqs: list) -> None:
        for _, is_get, key in reqs:
            t = now()
            try:
                if is_get:
                    reply = await r.get(key)
                    counts["gets"] += 1
                    counts["hits"] += reply is not None
                elif await r.set(key, value, ex=mix.ttl) is not True:
                    counts["errors"] += 1
            except ResponseError:
                counts["errors"] += 1
            latencies.append(now() - t)

    async def main() -> float:
        pool = aioredis.BlockingConnectionPool(host=host, port=port, max_connections=mix.connections, timeout=30)
        r = aioredis.Redis(connection_pool=pool)
        try:
            await r.ping()
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(client(r, reqs) for reqs in mix.requests)), timeout)
            return time.perf_counter() - t0
        finally:
            await r.aclose()
            await pool.disconnect()

    wall = asyncio.run(main())
    latencies.sort()
    gets = counts["gets"]
    return {"ops": len(latencies), "wall": wall, "rps": len(latencies) / wall,
            "p50_ms": _percentile(latencies, 50) / 1e6, "p99_ms": _percentile(latencies, 99) / 1e6,
            "hit_ratio": counts["hits"] / gets if gets else float("nan"), "gets": gets, "errors": counts["errors"]}
