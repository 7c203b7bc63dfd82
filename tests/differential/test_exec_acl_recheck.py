"""EXEC re-checks permissions: rules changed by ACL SETUSER between queueing and EXEC turn the queued commands
into Redis' "ACLs rules changed" NOPERM errors — compared byte for byte with a private redis-server."""
from __future__ import annotations

import shutil

import pytest

from tests.helpers import RawClient, RedisProcess


def _scenario(port: int) -> list:
    admin, user = RawClient(port), RawClient(port)
    out = [admin.cmd("ACL SETUSER u on >p ~* +@all"), user.cmd("AUTH u p"), user.cmd("MULTI"),
           user.cmd("SET k v"), user.cmd("GET x:1"),
           admin.cmd("ACL SETUSER u -set resetkeys ~x:*"), user.cmd("EXEC"),          # command denied now
           user.cmd("MULTI"), user.cmd("GET x:1"), user.cmd("GET x:2"),
           admin.cmd("ACL SETUSER u resetkeys ~y:*"), user.cmd("EXEC"),               # keys denied now
           user.cmd("MULTI"), user.cmd("GET y:1"), user.cmd("EXEC")]                  # allowed again
    return out


def test_exec_rechecks_permissions_like_redis(respd_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis_proc = RedisProcess().start()
    try:
        expected = _scenario(redis_proc.port)
    finally:
        redis_proc.stop()
    assert b"ACLs rules changed" in expected[6]
    assert _scenario(respd_factory().port) == expected
