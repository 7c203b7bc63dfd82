"""Behaviour that follows from a command's declaration and its options, compared byte for byte with a private
redis-server (issue 12): RESET runs before AUTH (its no_auth flag), HELLO checks a SETNAME name where it meets it
(before later options and before NOAUTH), a CLIENT KILL filter given twice counts with its last value, SHUTDOWN ABORT
may be repeated."""
from __future__ import annotations

import shutil

import pytest

from tests.helpers import RawClient, RedisProcess, memory_registry, write_registry

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _both(respd_factory, tmp_path, scenario) -> tuple[list, list]:
    redis_proc = RedisProcess(extra=["--requirepass", "secret"]).start()
    try:
        expected = scenario(redis_proc.port)
    finally:
        redis_proc.stop()
    reg = write_registry(tmp_path, "pw.yaml", memory_registry(server={"requirepass": "secret"}))
    return expected, scenario(respd_factory(configs=[reg]).port)


def _before_auth(port: int) -> list:
    c = RawClient(port)
    out = [c.cmd("RESET"), c.cmd("GET k"),                            # +RESET, then still NOAUTH
           c.cmd("HELLO 3 SETNAME \"a b\""), c.cmd("HELLO 3 SETNAME ok"),  # the name error before NOAUTH
           c.cmd("AUTH secret"), c.cmd("SET k v"), c.cmd("RESET"), c.cmd("GET k"),  # RESET logs out again
           c.cmd("MULTI"), c.cmd("AUTH secret"), c.cmd("MULTI"), c.cmd("RESET"), c.cmd("PING")]
    c.close()
    return out


def test_reset_runs_before_auth_like_redis(respd_factory, tmp_path):
    expected, got = _both(respd_factory, tmp_path, _before_auth)
    assert expected[0] == b"+RESET\r\n" and expected[1].startswith(b"-NOAUTH")
    assert got == expected


def _options(port: int) -> list:
    c = RawClient(port)
    other = RawClient(port)
    out = [c.cmd("AUTH secret"), other.cmd("AUTH secret")]
    other_id = int(other.cmd("CLIENT ID")[1:-2])
    out += [c.cmd("HELLO 2 SETNAME \"a b\" FOO"), c.cmd("HELLO 2 FOO"), c.cmd("HELLO 2 AUTH default"),
            c.cmd("CLIENT KILL ID 999999 ID %d" % other_id),             # the last ID counts: kills the other
            other.cmd("PING") if not other.is_closed(5.0) else b"closed",
            c.cmd("SHUTDOWN ABORT ABORT"), c.cmd("SHUTDOWN ABORT NOW"), c.cmd("SHUTDOWN SAVE NOSAVE FOO"),
            c.cmd("SET k v EX 10 NX XX"), c.cmd("SET k v EX x PX 5"), c.cmd("SET k v EX x"),
            c.cmd("SCAN 0 COUNT x FOO"), c.cmd("SCAN 0 COUNT 0 FOO"), c.cmd("SCAN 0 MATCH"),
            c.cmd("EXPIRE k 10 NX FOO"), c.cmd("EXPIRE k 10 NX GT"), c.cmd("EXPIRE k x FOO"),
            c.cmd("COPY k j DB x REPLACE"), c.cmd("COPY k j DB 99 FOO"), c.cmd("COPY k j DB 0 FOO"),
            c.cmd("COPY k j REPLACE REPLACE")]
    c.close()
    return out


def test_options_parse_like_redis(respd_factory, tmp_path):
    expected, got = _both(respd_factory, tmp_path, _options)
    assert got == expected
