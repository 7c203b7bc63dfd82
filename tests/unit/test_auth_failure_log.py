"""respd.security.users.FailureLog without I/O: a fake clock and a captured logger (issue 11, item 8)."""
from __future__ import annotations

import logging

from respd.security.users import FailureLog


class _Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _log(caplog, **kw):
    clock = _Clock()
    logger = logging.getLogger("test.auth.failures")
    caplog.set_level(logging.WARNING, logger=logger.name)
    return FailureLog(clock=clock, logger=logger, **kw), clock


def _lines(caplog):
    return [r.getMessage() for r in caplog.records]


def test_first_failure_in_full_then_counts_per_interval(caplog):
    fl, clock = _log(caplog, interval=60)
    for i in range(20000):
        fl.failed("10.0.0.1:%d" % (40000 + i % 1000), "default" if i % 2 else "admin")
    assert _lines(caplog) == ["failed AUTH for user 'admin' from 10.0.0.1:40000 (further failures from 10.0.0.1 "
                              "are counted and reported every 60 s)"]
    clock.t += 30
    fl.failed("10.0.0.1:1", "root")   # not due yet
    assert len(_lines(caplog)) == 1
    clock.t += 30
    fl.failed("10.0.0.1:1", "root")   # due: the summary, then this failure is counted in the next interval
    assert _lines(caplog)[1] == ("20000 failed AUTH attempts from 10.0.0.1 in the last 60 s (users: 'default' "
                                 "(10000), 'admin' (9999), 'root' (1))")
    clock.t += 60
    fl.flush()
    assert _lines(caplog)[2] == "1 failed AUTH attempts from 10.0.0.1 in the last 60 s (users: 'root' (1))"
    clock.t += 60
    fl.flush()                        # a quiet interval: no line, and the host is forgotten
    assert len(_lines(caplog)) == 3 and fl.hosts == {}
    fl.failed("10.0.0.1:2", "x")
    assert _lines(caplog)[3].startswith("failed AUTH for user 'x' from 10.0.0.1:2 ")


def test_lines_per_interval_are_bounded_by_the_host_table(caplog):
    fl, clock = _log(caplog, interval=60, max_hosts=8)
    for i in range(5000):
        fl.failed("192.0.2.%d:5000" % (i % 250), "u%d" % i)
    assert len(_lines(caplog)) == 8                      # one line per tracked host
    clock.t += 60
    fl.flush()
    lines = _lines(caplog)[8:]
    assert len(lines) == 9                               # a summary per tracked host, one for all the others
    assert lines[-1].startswith("%d failed AUTH attempts from other addresses (more than 8 hosts failed) in the "
                                "last 60 s (users: 'u8' (1), 'u9' (1), 'u10' (1), ...)" % (5000 - 8 - 8 * 19))


def test_hosts_and_names_in_lines():
    assert FailureLog.host_of("[::1]:6379") == "::1"
    assert FailureLog.host_of("127.0.0.1:50000") == "127.0.0.1"
    assert FailureLog.host_of("/tmp/respd.sock:0") == "/tmp/respd.sock"
    assert FailureLog.host_of("?") == "?"


def test_user_names_are_quoted_and_cut(caplog):
    fl, _ = _log(caplog)
    fl.failed("10.0.0.2:1", "a\r\nWARNING fake line" + "x" * 100)
    (line,) = _lines(caplog)
    assert "\n" not in line and "\r" not in line and "...(120 chars)" in line


def test_acl_log_entry_age_is_since_its_last_event(monkeypatch):
    """Redis 7.0 moves a merged ACL LOG entry's time to the newest event (addACLLogEntry: match->ctime =
    le->ctime): a steady guesser keeps one entry whose count grows and whose age-seconds stays small."""
    from respd.security import runtime
    from respd.replies import encode
    now = [1000.0]
    monkeypatch.setattr(runtime.time, "time", lambda: now[0])
    log = runtime.AclLog()
    for _ in range(4):            # every 50 s: each event within 60 s of the previous one
        log.add("auth", b"AUTH", "default")
        now[0] += 50
    now[0] -= 49                  # 1 s after the last event, 151 s after the first
    (entry,) = log.reply()
    text = encode(entry, 2)
    assert b"$5\r\ncount\r\n:4\r\n" in text and b"$11\r\nage-seconds\r\n$1\r\n1\r\n" in text, text
