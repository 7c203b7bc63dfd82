"""Pub/Sub across respd nodes sharing one PostgreSQL (issue 16): a PUBLISH on node A reaches subscribers on node B
(channels, patterns, shard channels), in order per publisher, large messages included, once; a PostgreSQL restart
loses at most what was published while it was down, and delivery resumes on its own."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from tests.helpers import RespdProcess, sql_registry, write_registry
from tests.integration.test_sql_nodes import nodes  # noqa: F401  (fixture: two respd on one table)
from tests.pgserver import pg_server  # noqa: F401  (fixture)
from tests.sql.test_outage import own_server  # noqa: F401  (fixture: a PostgreSQL of the test's own)

GUARD = 60  # seconds a test waits for messages before giving up (a hang guard, not a measurement)


def connected(publisher: redis.Redis, sub, channel: str = "probe") -> None:
    """Publish probes on the publisher's node until the subscriber (on another node, subscribed to ``channel``)
    hears one: the nodes' bus is up. Then drain the probes."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        publisher.publish(channel, "hello?")
        msg = sub.get_message(timeout=0.2)
        while msg is not None:
            if msg["type"] == "message" and msg["channel"] == channel.encode():
                time.sleep(0.3)
                while sub.get_message(timeout=0.1) is not None:
                    pass
                return
            msg = sub.get_message(timeout=0.05)
    raise AssertionError("the nodes' bus never carried a message")


def test_publish_on_one_node_reaches_channel_pattern_and_shard_subscribers_on_the_other(nodes):
    a, b, ca, cb, _ = nodes
    sub = cb.pubsub()
    sub.subscribe("probe", "news")
    sub.psubscribe("n*")
    while sub.get_message(timeout=1) is not None:
        pass
    connected(ca, sub)
    # the reply counts the receivers on the publishing node only (none here)
    assert ca.publish("news", "hello") == 0
    got = [sub.get_message(timeout=GUARD) for _ in range(2)]
    assert {(m["type"], m["channel"], m["data"]) for m in got} == {
        ("message", b"news", b"hello"), ("pmessage", b"news", b"hello")}
    # shard channels: SPUBLISH reaches SSUBSCRIBE, not SUBSCRIBE nor patterns
    with socket.create_connection(("127.0.0.1", b.port), timeout=GUARD) as raw:
        raw.sendall(b"SSUBSCRIBE news\r\n")
        assert raw.recv(100) == b"*3\r\n$10\r\nssubscribe\r\n$4\r\nnews\r\n:1\r\n"
        # the subscription above reached node B before the SPUBLISH below leaves node A: it is delivered
        assert ca.execute_command("SPUBLISH", "news", "sharded") == 0
        want = b"*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$7\r\nsharded\r\n"
        data = b""
        while len(data) < len(want):
            data += raw.recv(100)
        assert data == want
    assert sub.get_message(timeout=0.5) is None
    sub.close()


def test_a_local_subscriber_gets_one_copy_and_a_remote_one_too(nodes):
    a, b, ca, cb, _ = nodes
    here, there = ca.pubsub(), cb.pubsub()
    for s in (here, there):
        s.subscribe("probe", "c")
        while s.get_message(timeout=1) is not None:
            pass
    connected(ca, there)
    while here.get_message(timeout=0.2) is not None:
        pass
    assert ca.publish("c", "m1") == 1
    assert cb.publish("c", "m2") == 1
    got_here = [here.get_message(timeout=GUARD)["data"] for _ in range(2)]
    got_there = [there.get_message(timeout=GUARD)["data"] for _ in range(2)]
    assert sorted(got_here) == sorted(got_there) == [b"m1", b"m2"]
    # no echo: nothing more arrives on either node
    assert here.get_message(timeout=0.5) is None
    assert there.get_message(timeout=0.5) is None
    here.close()
    there.close()


def test_ten_thousand_messages_over_ten_channels_arrive_in_order_none_lost(nodes):
    a, b, ca, cb, _ = nodes
    channels = ["ch%d" % i for i in range(10)]
    sub = cb.pubsub()
    sub.subscribe("probe", *channels)
    for _ in range(11):
        sub.get_message(timeout=GUARD)
    connected(ca, sub)
    total = 10_000
    received: dict = {c.encode(): [] for c in channels}
    done = threading.Event()

    def read():
        n = 0
        deadline = time.monotonic() + 5 * GUARD
        while n < total and time.monotonic() < deadline:
            m = sub.get_message(timeout=1)
            if m is not None and m["type"] == "message":
                received[m["channel"]].append(int(m["data"]))
                n += 1
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with ca.pipeline(transaction=False) as p:
        for i in range(total):
            p.publish(channels[i % 10], str(i))
            if i % 500 == 499:
                p.execute()
        p.execute()
    assert done.wait(6 * GUARD)
    for i, c in enumerate(channels):
        assert received[c.encode()] == list(range(i, total, 10)), c
    sub.close()


def test_large_messages_travel_in_order_with_small_ones(nodes):
    a, b, ca, cb, _ = nodes
    sub = cb.pubsub()
    sub.subscribe("probe", "big")
    while sub.get_message(timeout=1) is not None:
        pass
    connected(ca, sub)
    # around NOTIFY's 8000-byte payload limit, and far past it (binary, every byte value)
    sizes = [0, 1, 5899, 5900, 5901, 7999, 8000, 8001, 100_000, 3, 2_000_000, 5]
    payloads = [bytes((i + j) % 256 for j in range(n)) for i, n in enumerate(sizes)]
    with ca.pipeline(transaction=False) as p:
        for x in payloads:
            p.publish("big", x)
        p.execute()
    got = []
    deadline = time.monotonic() + GUARD
    while len(got) < len(payloads) and time.monotonic() < deadline:
        m = sub.get_message(timeout=1)
        if m is not None and m["type"] == "message":
            got.append(m["data"])
    assert [len(x) for x in got] == sizes
    assert got == payloads
    sub.close()


def test_delivery_resumes_after_a_postgresql_restart(own_server, tmp_path):
    config = write_registry(tmp_path, "reg.yaml", sql_registry(own_server.dsn, "pubsub_outage", command_timeout="2s",
                                                                 connect_timeout="2s"))
    a = RespdProcess(configs=[config]).start(60)
    b = RespdProcess(configs=[config]).start(60)
    try:
        ca = redis.Redis(port=a.port)
        with redis.Redis(port=b.port) as cb:
            sub = cb.pubsub()
            sub.subscribe("probe", "c")
            while sub.get_message(timeout=1) is not None:
                pass
            connected(ca, sub)
            own_server.stop()
            ca.publish("c", "while-down")  # lost (at most once), and the publisher is not harmed
            own_server.start()
            # node A's sender and node B's listener reconnect on their own
            connected(ca, sub)
            ca.publish("c", "after")
            m = sub.get_message(timeout=GUARD)
            while m is not None and m["data"] != b"after":
                assert m["data"] in (b"hello?",)
                m = sub.get_message(timeout=GUARD)
            assert m is not None and m["data"] == b"after"
            sub.close()
        ca.close()
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("proto", [2, 3])
def test_keys_written_on_one_node_dirty_a_watch_on_the_other(nodes, proto):
    """A write through node B of a SQL store's key reaches node A's WATCH (through the bus): EXEC fails there, as
    it would had the write come through node A. Node B announces the keys it wrote before what it publishes after
    them, so a message published after the write, once heard on A, tells the write has arrived."""
    a, b, ca, cb, _ = nodes
    sub = ca.pubsub()
    sub.subscribe("probe")
    while sub.get_message(timeout=1) is not None:
        pass
    connected(cb, sub)
    with redis.Redis(port=a.port, db=1, protocol=proto) as wa:
        ca.set("w", "0")
        with wa.pipeline() as p:
            p.watch("w")
            cb.set("w", "1")
            cb.publish("probe", "after-write")
            m = sub.get_message(timeout=GUARD)
            assert m is not None and m["data"] == b"after-write"
            p.multi()
            p.get("w")
            with pytest.raises(redis.WatchError):
                p.execute()
        # unchanged keys do not fail a transaction
        with wa.pipeline() as p:
            p.watch("w")
            cb.set("other", "1")
            cb.publish("probe", "after-other")
            m = sub.get_message(timeout=GUARD)
            assert m is not None and m["data"] == b"after-other"
            p.multi()
            p.get("w")
            assert p.execute() == [b"1"]
    sub.close()
