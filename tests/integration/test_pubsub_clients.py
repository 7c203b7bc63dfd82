"""Pub/Sub with real clients on one respd node: redis-py's PubSub (sync ``get_message``/``listen``, patterns,
``run_in_thread``, asyncio, RESP3), ioredis (tests/integration/js/pubsub.js), ``redis-cli SUBSCRIBE``, a subscriber that disconnects (no subscription left
behind) and a subscriber that stops reading (disconnected by ``client-output-buffer-limit pubsub`` while the
publisher and a reading subscriber go on).

Waiting is done on conditions with a hang guard (``_until``), never on durations.
"""
from __future__ import annotations

import asyncio
import json
import os
import queue
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis as redis_py
import redis.asyncio as redis_aio

from tests.helpers import REPO_ROOT, RawClient, encode_command, require
from tests.integration.common import tls_client
from tests.integration.scripting_targets import sql_respd  # noqa: F401  (fixture)
from tests.pgserver import pg_server  # noqa: F401  (fixture)
from tests.integration.test_scripting_cli_node import ioredis  # noqa: F401  (fixture: npm ci'd ioredis)

GUARD = 20.0  # seconds: a hang guard, never a measured expectation


def _until(check, what: str):
    deadline = time.monotonic() + GUARD
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "never happened: " + what
        time.sleep(0.01)


def _message(p, **kw):
    """The next message (not a confirmation) redis-py's PubSub gets."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        m = p.get_message(ignore_subscribe_messages=True, timeout=1.0, **kw)
        if m is not None:
            return m
    raise AssertionError("no message")


def _numsub(r, channel: str) -> int:
    return dict(r.pubsub_numsub(channel)).get(channel.encode(), 0)


def test_redis_py_get_message_and_patterns(respd):
    r = redis_py.Redis(port=respd.port)
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("sport.*")
    confirmations = [p.get_message(timeout=GUARD) for _ in range(2)]
    assert [(m["type"], m["channel"], m["data"]) for m in confirmations] == [
        ("subscribe", b"news", 1), ("psubscribe", b"sport.*", 2)]
    assert r.publish("news", "hello") == 1
    assert r.publish("sport.tennis", b"\x00\xff") == 1
    assert r.publish("weather", "x") == 0
    m = _message(p)
    assert (m["type"], m["channel"], m["data"], m["pattern"]) == ("message", b"news", b"hello", None)
    m = _message(p)
    assert (m["type"], m["channel"], m["data"], m["pattern"]) == ("pmessage", b"sport.tennis", b"\x00\xff",
                                                                  b"sport.*")
    assert r.pubsub_numpat() == 1 and _numsub(r, "news") == 1
    assert sorted(r.pubsub_channels()) == [b"news"]
    p.unsubscribe("news")
    p.punsubscribe()
    _until(lambda: _numsub(r, "news") == 0 and r.pubsub_numpat() == 0, "unsubscribed")
    p.close()
    r.close()


def test_redis_py_listen_and_handlers(respd):
    r = redis_py.Redis(port=respd.port, decode_responses=True)
    p = r.pubsub()
    p.subscribe("jobs")
    for i in range(5):
        r.publish("jobs", "job-%d" % i)
    got = []
    for m in p.listen():
        if m["type"] == "message":
            got.append(m["data"])
            if len(got) == 5:
                break
    assert got == ["job-%d" % i for i in range(5)]
    p.close()
    r.close()


def test_redis_py_run_in_thread(respd):
    r = redis_py.Redis(port=respd.port)
    received: queue.Queue = queue.Queue()
    p = r.pubsub()
    p.subscribe(**{"events": lambda m: received.put(("c", m["data"]))})
    p.psubscribe(**{"ev*": lambda m: received.put(("p", m["data"]))})
    worker = p.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        _until(lambda: _numsub(r, "events") == 1 and r.pubsub_numpat() == 1, "subscribed")
        for i in range(20):
            assert r.publish("events", i) == 2
        got = [received.get(timeout=GUARD) for _ in range(40)]
    finally:
        worker.stop()
        worker.join(GUARD)
    assert [d for k, d in got if k == "c"] == [b"%d" % i for i in range(20)]
    assert [d for k, d in got if k == "p"] == [b"%d" % i for i in range(20)]
    p.close()
    _until(lambda: _numsub(r, "events") == 0, "the closed PubSub's subscription is gone")
    r.close()


def test_redis_py_resp3_pubsub(respd):
    r = redis_py.Redis(port=respd.port, protocol=3)
    p = r.pubsub()
    p.subscribe("r3")
    assert p.get_message(timeout=GUARD)["type"] == "subscribe"
    assert r.publish("r3", "pushed") == 1
    m = _message(p)
    assert (m["type"], m["data"]) == ("message", b"pushed")
    p.close()
    r.close()


def test_redis_py_asyncio(respd):
    async def main():
        r = redis_aio.Redis(port=respd.port)
        p = r.pubsub()
        await p.subscribe("aio")
        await p.psubscribe("aio.*")
        assert (await p.get_message(timeout=GUARD))["type"] == "subscribe"
        assert (await p.get_message(timeout=GUARD))["type"] == "psubscribe"
        assert await r.publish("aio", "one") == 1
        assert await r.publish("aio.x", "two") == 1
        got = []
        async for m in p.listen():
            if m["type"] in ("message", "pmessage"):
                got.append((m["type"], m["data"]))
                if len(got) == 2:
                    break
        assert got == [("message", b"one"), ("pmessage", b"two")]
        await p.unsubscribe()
        await p.punsubscribe()
        await p.aclose()
        await r.aclose()
    asyncio.run(asyncio.wait_for(main(), GUARD * 2))


def _readline(proc, deadline: float) -> bytes:
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, "no output from redis-cli; so far %r" % line
        ch = os.read(fd, 1)
        assert ch, "redis-cli exited; so far %r" % line
        line += ch
    return line


def test_redis_cli_subscribe(respd):
    require(shutil.which("redis-cli") is not None, "redis-cli is not installed")
    r = redis_py.Redis(port=respd.port)
    proc = subprocess.Popen(["redis-cli", "-p", str(respd.port), "SUBSCRIBE", "cli-ch"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + GUARD
        assert [_readline(proc, deadline) for _ in range(3)] == [b"subscribe\n", b"cli-ch\n", b"1\n"]
        assert r.publish("cli-ch", "hi there") == 1
        assert [_readline(proc, deadline) for _ in range(3)] == [b"message\n", b"cli-ch\n", b"hi there\n"]
    finally:
        proc.kill()
        proc.wait()
    _until(lambda: _numsub(r, "cli-ch") == 0, "redis-cli's subscription gone with its connection")
    assert r.publish("cli-ch", "x") == 0
    r.close()


def test_disconnected_subscriber_leaves_nothing(respd):
    r = redis_py.Redis(port=respd.port)
    with RawClient(respd.port) as sub:
        sub.send(encode_command("SUBSCRIBE", "gone1", "gone2") + encode_command("PSUBSCRIBE", "gone*"))
        sub.read_replies(3)
        assert r.publish("gone1", "x") == 2
    _until(lambda: r.pubsub_numpat() == 0 and _numsub(r, "gone1") == 0 and _numsub(r, "gone2") == 0,
           "subscriptions dropped with the connection")
    assert r.publish("gone1", "x") == 0
    r.close()


def test_slow_subscriber_is_disconnected_by_the_pubsub_limit(respd_factory):
    server = respd_factory()
    r = redis_py.Redis(port=server.port)
    assert r.config_set("client-output-buffer-limit", "pubsub 4mb 1mb 60")
    # a subscriber that never reads, with a small receive buffer so the kernel holds little for it
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(encode_command("SUBSCRIBE", "flood"))
    # a subscriber that reads everything, in a thread
    fast = RawClient(server.port)
    fast.call("SUBSCRIBE", "flood")
    _until(lambda: _numsub(r, "flood") == 2, "both subscribed")
    n, size = 400, 64 * 1024
    heard = []

    def read_all():
        for _ in range(n):
            heard.append(fast.read_reply())
    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    payload = b"m" * size
    counts = [r.publish("flood", payload) for _ in range(n)]
    reader.join(GUARD * 3)
    assert not reader.is_alive(), "the reading subscriber did not get every message"
    assert len(heard) == n and all(h.endswith(payload + b"\r\n") for h in heard)
    # the publisher was answered every time: 2 receivers until the slow one was dropped, then 1
    assert counts[0] == 2 and counts[-1] == 1
    assert counts == sorted(counts, reverse=True)
    assert _numsub(r, "flood") == 1
    # the slow subscriber's connection was closed by the server
    slow.settimeout(GUARD)
    while True:
        try:
            data = slow.recv(1 << 20)
        except ConnectionResetError:
            break
        if not data:
            break
    slow.close()
    fast.close()
    r.close()


def test_ioredis_subscribe(ioredis, respd):
    cp = subprocess.run(["node", "pubsub.js", str(respd.port)], cwd=ioredis, capture_output=True, text=True,
                        timeout=120, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    out = json.loads(cp.stdout)
    assert sorted(map(tuple, out.pop("messages"))) == [
        ("message", "js-news", "hello"), ("message", "js-other", "x"), ("pmessage", "js-n*", "js-news", "hello")]
    assert out == {"subscribed": 2, "psubscribed": 3, "receivers": [2, 1], "unsubscribed": 1, "punsubscribed": 0,
                   "after": "PONG", "afterPublish": 0}


def test_subscribers_do_not_time_out(respd_factory):
    """With ``timeout`` set, an idle plain client is closed by the clients cron, a subscriber is not (Redis exempts
    Pub/Sub clients). Once the plain client is gone the cron has run past the timeout for both."""
    server = respd_factory()
    admin = RawClient(server.port)
    sub = RawClient(server.port)
    sub.call("SUBSCRIBE", "still-here")
    idle = RawClient(server.port)
    idle.call("PING")
    assert admin.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
    assert idle.is_closed(GUARD), "the idle plain client was never closed"
    with RawClient(server.port) as pub:
        assert pub.call("PUBLISH", "still-here", "yes") == b":1\r\n"
    assert sub.read_reply() == b"*3\r\n$7\r\nmessage\r\n$10\r\nstill-here\r\n$3\r\nyes\r\n"
    for c in (admin, sub, idle):
        c.close()


def test_pubsub_over_tls_with_redis_py(tls_server, certs):
    """TLS connections are served by their own task, not by the poller: the out-of-band path works there too."""
    proc = tls_server()
    sub_client = tls_client(proc, certs)
    p = sub_client.pubsub()
    p.subscribe("tls-ch")
    assert p.get_message(timeout=GUARD)["type"] == "subscribe"
    with tls_client(proc, certs) as c:
        assert [c.publish("tls-ch", "m%d" % i) for i in range(3)] == [1, 1, 1]
    assert [_message(p)["data"] for _ in range(3)] == [b"m0", b"m1", b"m2"]
    p.unsubscribe("tls-ch")
    assert p.get_message(timeout=GUARD)["type"] == "unsubscribe"
    assert sub_client.set("k", "v") and sub_client.get("k") == b"v"  # the connection pool's own connection
    p.close()
    sub_client.close()


def test_celery_redis_result_backend(respd, tmp_path):
    """Celery with Redis as broker and result backend (results: SET + PUBLISH in MULTI, waited for with SUBSCRIBE)
    and its remote control (a fanout exchange over Pub/Sub): a real worker's results and its ping reply."""
    pytest.importorskip("celery")
    from tests.integration.celery_pubsub_tasks import make_app  # lazy: only this test needs Celery
    url = "redis://127.0.0.1:%d/3" % respd.port
    env = dict(os.environ, RESPD_CELERY_URL=url, PYTHONPATH=str(REPO_ROOT))
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tests.integration.celery_pubsub_tasks",
                                   "worker", "--pool", "solo", "--loglevel", "INFO", "--hostname", "pubsub@%h"],
                                  cwd=str(REPO_ROOT), env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
    app = make_app(url)
    try:
        results = [app.tasks["respd.pubsub.add"].delay(i, 1) for i in range(5)]
        assert [r.get(timeout=GUARD * 3) for r in results] == [1, 2, 3, 4, 5], log.read_text()[-3000:]
        replies = _until(lambda: app.control.ping(timeout=1.0), "the worker answers a remote-control ping")
        assert any("ok" in next(iter(r.values())) for r in replies)
    finally:
        worker.terminate()
        try:
            worker.wait(GUARD)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        app.close()


def test_resp3_subscriber_runs_commands_on_a_sql_store(sql_respd):
    """A RESP3 subscriber may run any command; on a SQL store its replies are awaited (PostgreSQL) while messages
    keep arriving: replies and messages come in the order they happened, none lost."""
    with RawClient(sql_respd.port) as sub, RawClient(sql_respd.port) as pub:
        sub.call("HELLO", "3")
        assert sub.call("SELECT", "1") == b"+OK\r\n"
        sub.call("SUBSCRIBE", "sql-ch")
        sub.send(b"".join(encode_command("SET", "ps:k%d" % i, "v%d" % i) for i in range(20))
                 + encode_command("MGET", "ps:k0", "ps:k19"))
        for i in range(20):
            assert pub.call("PUBLISH", "sql-ch", "m%d" % i) == b":1\r\n"
        replies = sub.read_replies(41)
        messages = [r for r in replies if r.startswith(b">3")]
        others = [r for r in replies if not r.startswith(b">3")]
        assert messages == [b">3\r\n$7\r\nmessage\r\n$6\r\nsql-ch\r\n$%d\r\nm%d\r\n" % (len(b"m%d" % i), i)
                            for i in range(20)]
        assert others == [b"+OK\r\n"] * 20 + [b"*2\r\n$2\r\nv0\r\n$3\r\nv19\r\n"]
        sub.call("DEL", *["ps:k%d" % i for i in range(20)])
