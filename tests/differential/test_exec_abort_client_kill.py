"""EXEC refused before it runs (NOAUTH, NOPERM) and CLIENT KILL's filters, compared byte for byte with a private
redis-server (issue 11, item 17).

Redis' rejectCommand answers a refused EXEC with ``EXECABORT Transaction discarded because of: <refusal>`` and
discards the transaction; CLIENT KILL's filters combine with AND, are all parsed before anything is killed, and
``SKIPME`` decides whether the caller may kill itself.
"""
from __future__ import annotations

import re
import shutil

import pytest

from tests.helpers import RawClient, RedisProcess, memory_registry, write_registry

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _both(respd_factory, scenario, redis_extra=(), respd_server=None):
    redis_proc = RedisProcess(extra=list(redis_extra)).start()
    try:
        expected = scenario(redis_proc.port)
    finally:
        redis_proc.stop()
    got = scenario(respd_factory(**(respd_server or {})).port)
    return expected, got


def _exec_refused(port: int) -> list:
    out = []
    c = RawClient(port)
    out += c.pipeline(["MULTI", "SET a b", "EXEC"])          # NOAUTH, NOAUTH, EXECABORT ... NOAUTH
    out.append(c.cmd("EXEC"))                                 # EXEC alone before AUTH: EXECABORT too
    out += c.pipeline(["MULTI", "AUTH secret", "EXEC", "DISCARD"])
    out += [c.cmd("ACL SETUSER u on nopass +@all -exec ~*"), c.cmd("ACL SETUSER v on nopass +@all ~* -watch")]
    u = RawClient(port)
    out += u.pipeline(["AUTH u x", "MULTI", "PING", "EXEC",
                       "PING",                                # the transaction is gone: PONG, not QUEUED
                       "EXEC"])                               # still refused (no MULTI needed to be refused)
    v = RawClient(port)
    out += v.pipeline(["AUTH v x", "MULTI", "WATCH a", "EXEC", "PING"])
    for x in (c, u, v):
        x.close()
    return out


def test_exec_refused_answers_execabort_like_redis(respd_factory, tmp_path):
    reg = write_registry(tmp_path, "pw.yaml", memory_registry(server={"requirepass": "secret"}))
    expected, got = _both(respd_factory, _exec_refused, ["--requirepass", "secret"], {"configs": [reg]})
    assert expected[2].startswith(b"-EXECABORT Transaction discarded because of: NOAUTH")
    assert got == expected


_LADDR = re.compile(rb" laddr=(\S+) ")


def _client_kill(port: int) -> list:
    out = []
    admin = RawClient(port)
    others = [RawClient(port) for _ in range(4)]
    ids = [int(o.cmd("CLIENT ID")[1:-2]) for o in others]
    laddr = _LADDR.search(admin.cmd("CLIENT INFO")).group(1).decode()
    own = re.search(rb" addr=(\S+) ", admin.cmd("CLIENT INFO")).group(1).decode()

    def closed(i):
        return others[i].is_closed(5.0)

    # argument errors, in Redis' order of parsing, before anything is killed
    for cmd in ("CLIENT KILL ID %d FOO bar" % ids[0], "CLIENT KILL ID %d SKIPME" % ids[0],
                "CLIENT KILL ID %d SKIPME maybe" % ids[0], "CLIENT KILL ID 0", "CLIENT KILL ID -3",
                "CLIENT KILL ID abc TYPE nope", "CLIENT KILL TYPE nope ID 1", "CLIENT KILL USER nobody",
                "CLIENT KILL ID %d USER nobody" % ids[0], "CLIENT KILL ADDR 1.2.3.4:5 ID", "CLIENT KILL",
                "CLIENT KILL 1.2.3.4:5"):
        out.append(admin.cmd(cmd))
    out.append(others[0].cmd("PING"))                         # nothing was killed by the failed commands
    # filters combine with AND
    out.append(admin.cmd("ACL SETUSER u on nopass +@all ~*"))
    out.append(others[1].cmd("AUTH u x"))
    out.append(admin.cmd("CLIENT KILL ID %d USER u" % ids[0]))            # id matches, user does not: 0
    out.append(admin.cmd("CLIENT KILL ID %d TYPE pubsub" % ids[0]))       # 0
    out.append(admin.cmd("CLIENT KILL ID %d TYPE master" % ids[0]))       # 0
    out.append(admin.cmd("CLIENT KILL ID %d LADDR 1.2.3.4:5" % ids[0]))   # 0
    out.append(admin.cmd("CLIENT KILL ID %d USER default TYPE normal LADDR %s" % (ids[0], laddr)))  # 1
    out.append(closed(0))
    out.append(admin.cmd("CLIENT KILL USER u SKIPME yes"))                 # 1
    out.append(closed(1))
    # SKIPME: the caller is skipped unless SKIPME no
    out.append(admin.cmd("CLIENT KILL ADDR %s" % own))                     # 0
    out.append(admin.cmd("CLIENT KILL ADDR %s TYPE replica" % own))        # 0
    out.append(others[2].cmd("CLIENT KILL LADDR %s" % laddr))              # admin and others[3]: 2
    out += [closed(3), admin.is_closed(5.0)]
    out.append(others[2].cmd("CLIENT KILL ID %d SKIPME no" % ids[2]))      # kills itself after its reply
    out.append(closed(2))
    last = RawClient(port)
    out.append(last.cmd("CLIENT KILL %s" % re.search(rb" addr=(\S+) ", last.cmd("CLIENT INFO")).group(1).decode()))
    out.append(last.is_closed(5.0))                                        # the old form may kill the caller
    for c in others + [admin, last]:
        c.close()
    return out


def test_client_kill_filters_like_redis(respd_factory):
    expected, got = _both(respd_factory, _client_kill)
    assert got == expected


_ENTRY = re.compile(rb"\$5\r\ncount\r\n:(\d+)\r\n\$6\r\nreason\r\n\$\d+\r\n(\w+)\r\n\$7\r\ncontext\r\n\$\d+\r\n(\w+)"
                    rb"\r\n\$6\r\nobject\r\n\$\d+\r\n([^\r]*)\r\n\$8\r\nusername\r\n\$\d+\r\n(\w+)\r\n")


def _acl_log(port: int) -> list:
    admin, u = RawClient(port), RawClient(port)
    out = [admin.cmd("ACL SETUSER u on >p +@all -get ~k*"), u.cmd("AUTH u p")]
    out += u.pipeline(["GET k1", "GET k1", "SET x v",                     # toplevel: command twice, key
                       "MULTI", "GET k1", "SET x v", "EXEC",               # refused while queued: context multi
                       "AUTH u wrong", "AUTH u wrong", "AUTH u wrong",     # one auth entry, count 3
                       "MULTI", "AUTH u wrong", "EXEC",                    # failing inside EXEC: context multi
                       "MULTI", "SET k2 v"])
    out.append(admin.cmd("ACL SETUSER u -set"))
    out.append(u.cmd("EXEC"))                                              # re-checked at EXEC: context multi
    out.append(_ENTRY.findall(admin.cmd("ACL LOG")))
    admin.close()
    u.close()
    return out


def test_acl_log_counts_and_contexts_like_redis(respd_factory):
    expected, got = _both(respd_factory, _acl_log)
    assert (b"3", b"auth", b"toplevel", b"AUTH", b"u") in expected[-1]
    assert got == expected
