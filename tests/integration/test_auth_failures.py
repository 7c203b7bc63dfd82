"""Failed AUTHs against a real respd (issue 11, item 8): the log stays bounded whatever the guessing rate, ACL LOG and
INFO keep the counts, and past a few failures on one connection its WRONGPASS replies are delayed in that client's
own task while other clients are served."""
from __future__ import annotations

import signal
import threading
import time

from tests.helpers import RawClient, memory_registry, write_registry

WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def _server(respd_factory, tmp_path, **server):
    reg = write_registry(tmp_path, "pw.yaml", memory_registry(server=dict({"requirepass": "secret"}, **server)))
    return respd_factory(configs=[reg])


def _failures(admin) -> int:
    info = admin.cmd("INFO stats")
    return int(info.split(b"auth_failures:")[1].split(b"\r\n")[0])


def _auth_lines(proc) -> list:
    return [line for line in proc.stderr_text(limit=10 ** 8).splitlines() if "AUTH" in line]


def test_many_bad_auths_log_bounded_lines_and_keep_counts(respd_factory, tmp_path):
    proc = _server(respd_factory, tmp_path)
    per_conn, conns, threads = 3, 680, 4   # 2040 failures, none of them delayed (3 per connection)
    errors = []

    def guess(n):
        try:
            for _ in range(n):
                with RawClient(proc.port) as c:
                    assert c.pipeline(["AUTH nope"] * per_conn) == [WRONGPASS] * per_conn
        except Exception as e:  # reported by the main thread
            errors.append(e)

    workers = [threading.Thread(target=guess, args=(conns // threads,)) for _ in range(threads)]
    for w in workers:
        w.start()
    with RawClient(proc.port) as other:   # another client is served while the guessing goes on
        assert other.cmd("AUTH secret") == b"+OK\r\n"
        assert other.cmd("PING") == b"+PONG\r\n"
    for w in workers:
        w.join(120)
    assert not errors, errors
    total = per_conn * conns
    with RawClient(proc.port) as admin:
        assert admin.cmd("AUTH secret") == b"+OK\r\n"
        info = admin.cmd("INFO stats").decode()
        assert "auth_failures:%d\r\n" % total in info
        log = admin.cmd("ACL LOG")
        assert b"$5\r\ncount\r\n:%d\r\n$6\r\nreason\r\n$4\r\nauth\r\n" % total in log   # one aggregated entry
    lines = _auth_lines(proc)
    assert len(lines) == 1 and "failed AUTH for user 'default' from 127.0.0.1:" in lines[0], lines
    assert proc.stop() == 0
    lines = _auth_lines(proc)   # the summary of what was counted comes at the latest at shutdown
    assert len(lines) == 2, lines
    assert "%d failed AUTH attempts from 127.0.0.1 in the last" % (total - 1) in lines[1], lines


def test_repeated_failures_on_one_connection_are_answered_late_without_blocking_others(respd_factory, tmp_path):
    proc = _server(respd_factory, tmp_path)   # default auth_failure_delay: 1 s after 3 failures on a connection
    guesser = RawClient(proc.port, timeout=30)
    start = time.monotonic()
    guesser.send(b"AUTH a\r\n" * 3 + b"AUTH default b\r\nHELLO 3 AUTH default c\r\nPING\r\n")
    with RawClient(proc.port) as other:                       # served while the guesser's task sleeps
        assert other.pipeline(["AUTH secret", "SET k v", "GET k"]) == [b"+OK\r\n", b"+OK\r\n", b"$1\r\nv\r\n"]
    # the replies of one received chunk leave together, after its last delay
    assert guesser.read_replies(6) == [WRONGPASS] * 5 + [b"-NOAUTH Authentication required.\r\n"]
    assert time.monotonic() - start >= 1.9   # two delayed failures (a lower bound: the server slept that long)
    # inside MULTI the delay applies at EXEC; the transaction's replies keep their order
    guesser.send(b"AUTH secret\r\nMULTI\r\nAUTH x\r\nPING\r\nEXEC\r\n")
    assert guesser.read_replies(5) == [b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n",
                                       b"*2\r\n" + WRONGPASS + b"+PONG\r\n"]
    guesser.close()


def test_shutdown_does_not_wait_for_delayed_failures(respd_factory, tmp_path):
    """SIGTERM while a guesser's pipeline of delayed failures is being answered: the rest is answered at once, so
    the whole pipeline gets its replies before the close, instead of the connection being cut after the grace."""
    proc = _server(respd_factory, tmp_path)
    guesser = RawClient(proc.port, timeout=30)
    guesser.send(b"AUTH a\r\n" * 100)   # 97 delays of 1 s: far beyond the 5 s shutdown grace
    with RawClient(proc.port) as admin:
        assert admin.cmd("AUTH secret") == b"+OK\r\n"
        deadline = time.monotonic() + 30   # a hang guard: wait until the guesser is in its delayed failures
        while _failures(admin) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    proc.proc.send_signal(signal.SIGTERM)
    assert guesser.read_replies(100) == [WRONGPASS] * 100
    assert guesser.is_closed(10)
    assert proc.proc.wait(30) == 0
    guesser.close()
