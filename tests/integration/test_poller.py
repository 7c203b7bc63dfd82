"""The connection poller (respd/net/poller.py): plain TCP clients are served from one task, and a client's own task
takes over when it must wait (a coroutine reply from a SQL store, a send that would block, a big reply, closing),
then gives the client back. These tests drive those hand-overs with real sockets."""
from __future__ import annotations

import threading
import time

from tests.helpers import encode_command, memory_registry, sql_registry
from tests.pgserver import pg_server  # noqa: F401  (session fixture)


def _wait_for(predicate, attempts: int = 100, pause: float = 0.05) -> bool:
    for _ in range(attempts):
        if predicate():
            return True
        time.sleep(pause)
    return False


def _client_count(c) -> int:
    reply = c.cmd("CLIENT LIST")
    return reply.count(b"id=")


def test_slow_reader_is_handed_over_and_others_keep_being_served(respd):
    big = b"x" * (1 << 20)
    with respd.client() as slow, respd.client() as other:
        assert slow.call("SET", "big", big) == b"+OK\r\n"
        # 64 MiB of replies that the client does not read yet: the server's send blocks, its task waits
        slow.send(encode_command("GET", "big") * 64 + encode_command("PING"))
        for i in range(300):
            assert other.cmd("INCR counter") == b":%d\r\n" % (i + 1)
        expected = b"$%d\r\n" % len(big) + big + b"\r\n"
        for _ in range(64):
            assert slow.read_reply() == expected
        assert slow.read_reply() == b"+PONG\r\n"
        # back with the poller: still served, in order
        assert slow.pipeline(["PING", "GET counter"]) == [b"+PONG\r\n", b"$3\r\n300\r\n"]


def test_client_gone_mid_pipeline_is_forgotten(respd):
    with respd.client() as watcher:
        base = _client_count(watcher)
        gone = respd.client()
        gone.send(b"".join(encode_command("SET", "k%d" % i, "v" * 200) for i in range(20000)))
        gone.close()
        assert _wait_for(lambda: _client_count(watcher) == base)
        assert watcher.cmd("PING") == b"+PONG\r\n"
        with respd.client() as fresh:
            assert fresh.cmd("SET after 1") == b"+OK\r\n"


def test_pipelines_from_many_clients_keep_their_order(respd):
    clients = [respd.client() for _ in range(30)]
    try:
        for n, c in enumerate(clients):
            c.send(b"".join(encode_command("APPEND", "log%d" % n, "%d," % i)
                            for i in range(200)))
        for n, c in enumerate(clients):
            lengths = [int(r[1:-2]) for r in c.read_replies(200)]
            assert lengths == [len("".join("%d," % j for j in range(i + 1))) for i in range(200)]
        with respd.client() as check:
            for n in range(30):
                got = check.call("GET", "log%d" % n)
                assert got.endswith(b"199,\r\n") and got.count(b",") == 200
    finally:
        for c in clients:
            c.close()


def test_config_set_timeout_reaches_polled_clients(respd_factory, write_yaml):
    proc = respd_factory(configs=[write_yaml("t.yaml", memory_registry("t", {"db0": {}}))])
    with proc.client() as idle, proc.client() as admin:
        assert idle.cmd("PING") == b"+PONG\r\n"
        assert admin.cmd("CONFIG SET timeout 1") == b"+OK\r\n"
        assert idle.is_closed(wait=6.0)
        assert admin.is_closed(wait=6.0)
    with proc.client() as busy:  # a client that keeps talking stays
        for _ in range(8):
            assert busy.cmd("PING") == b"+PONG\r\n"
            time.sleep(0.3)
        assert busy.cmd("CONFIG SET timeout 0") == b"+OK\r\n"


def test_memory_and_sql_commands_in_one_pipeline(pg_server, write_yaml, respd_factory):  # noqa: F811
    """Each SQL command hands the client to its task and back; replies must still come in request order, and
    other clients must be served meanwhile."""
    proc = respd_factory(configs=[write_yaml("mixed.yaml", sql_registry(pg_server.dsn, "poller_mixed"))])
    with proc.client() as setup:
        assert setup.pipeline(["SELECT 1", "FLUSHDB", "SELECT 0", "FLUSHDB"]) == [b"+OK\r\n"] * 4
    errors = []

    def work(n: int) -> None:
        try:
            with proc.client() as c:
                for round_ in range(10):
                    cmds = []
                    expected = []
                    for i in range(5):
                        key = "c%d:%d:%d" % (n, round_, i)
                        cmds += ["SET %s mem" % key, "SELECT 1", "SET %s sql" % key, "GET %s" % key, "SELECT 0",
                                 "GET %s" % key]
                        expected += [b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"$3\r\nsql\r\n", b"+OK\r\n",
                                     b"$3\r\nmem\r\n"]
                    got = c.pipeline(cmds)
                    if got != expected:
                        errors.append((n, round_, got))
                        return
        except Exception as e:  # reported below
            errors.append((n, repr(e)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    with proc.client() as other:
        for i in range(100):
            assert other.cmd("INCR busy") == b":%d\r\n" % (i + 1)
    for t in threads:
        t.join(60)
    assert errors == []
    with proc.client() as c:
        assert c.cmd("DBSIZE") == b":301\r\n"  # and the counter "busy"
        assert c.pipeline(["SELECT 1", "DBSIZE"]) == [b"+OK\r\n", b":300\r\n"]


def test_client_killing_itself_inside_a_pipeline(respd):
    """The reply to the kill is the last one sent; the requests after it are not run (as Redis; QUIT has the same
    shape and is tested in test_server_process.py)."""
    with respd.client() as c:
        host, port = c.sock.getsockname()[:2]
        c.send(encode_command("SET", "before", "1") + encode_command("CLIENT", "KILL", "%s:%d" % (host, port))
               + encode_command("SET", "after", "1"))
        assert c.read_until_closed() == b"+OK\r\n+OK\r\n"
    with respd.client() as check:
        assert check.pipeline(["GET before", "EXISTS after"]) == [b"$1\r\n1\r\n", b":0\r\n"]


def test_sql_client_hanging_up_while_handed_over(pg_server, write_yaml, respd_factory):  # noqa: F811
    """A client whose task awaits the database and whose socket turns readable meanwhile (more requests, then a
    hang-up) leaves the poller's set until its task gives it back; then the hang-up is seen and it is forgotten."""
    proc = respd_factory(configs=[write_yaml("mixed.yaml", sql_registry(pg_server.dsn, "poller_gone"))])
    with proc.client() as watcher:
        base = _client_count(watcher)
        for _ in range(5):
            gone = proc.client()
            gone.send(encode_command("SELECT", "1"))
            assert gone.read_reply() == b"+OK\r\n"
            gone.send(encode_command("SET", "first", "v"))
            time.sleep(0.001)  # most likely handed over by now, awaiting the database
            gone.send(b"".join(encode_command("SET", "k%d" % i, "v") for i in range(200)))
            gone.close()
        assert _wait_for(lambda: _client_count(watcher) == base)
        assert watcher.pipeline(["SELECT 1", "GET first", "PING"]) == [b"+OK\r\n", b"$1\r\nv\r\n", b"+PONG\r\n"]
