"""redis-py against a real respd process: sync and asyncio × RESP2 and RESP3 × hiredis and pure-Python parsers.

Every scenario also runs against a real redis-server (``server`` parameter), so a failure on respd alone is a
respd difference, not a wrong test.
"""
from __future__ import annotations

import asyncio
import time

import pytest
import redis
import redis.asyncio
from redis._parsers import (_AsyncHiredisParser, _AsyncRESP2Parser, _AsyncRESP3Parser, _HiredisParser,
                            _RESP2Parser, _RESP3Parser)

try:
    import hiredis  # noqa: F401
    HAVE_HIREDIS = True
except ImportError:  # pragma: no cover
    HAVE_HIREDIS = False

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SYNC_PARSERS = {("hiredis", 2): _HiredisParser, ("hiredis", 3): _HiredisParser,
                ("python", 2): _RESP2Parser, ("python", 3): _RESP3Parser}
ASYNC_PARSERS = {("hiredis", 2): _AsyncHiredisParser, ("hiredis", 3): _AsyncHiredisParser,
                 ("python", 2): _AsyncRESP2Parser, ("python", 3): _AsyncRESP3Parser}


@pytest.fixture(params=["respd", "redis"])
def server(request):
    if request.param == "respd":
        return request.getfixturevalue("respd")
    return request.getfixturevalue("redis")


def client_kwargs(server, proto, parser, **extra):
    if parser == "hiredis" and not HAVE_HIREDIS:
        pytest.skip("hiredis not installed")
    kw = dict(host="127.0.0.1", port=server.port, protocol=proto, decode_responses=True, socket_timeout=10)
    kw.update(extra)
    return kw


def sync_client(**kw) -> redis.Redis:
    """redis.Redis with an explicit parser (redis-py takes parser_class on the connection pool only)."""
    return redis.Redis(connection_pool=redis.ConnectionPool(**kw))


def async_client(**kw) -> "redis.asyncio.Redis":
    return redis.asyncio.Redis(connection_pool=redis.asyncio.ConnectionPool(**kw))


def client_info_field(info, field):
    """CLIENT INFO as redis-py returns it (dict), or raw text."""
    if isinstance(info, dict):
        return str(info.get(field, ""))
    text = info.decode() if isinstance(info, bytes) else info
    for part in text.split():
        k, _, v = part.partition("=")
        if k == field:
            return v
    return ""


# ------------------------------------------------------------------------------------------------ sync
@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("parser", ["hiredis", "python"])
def test_sync_matrix(server, proto, parser):
    kw = client_kwargs(server, proto, parser, parser_class=SYNC_PARSERS[(parser, proto)])
    r = sync_client(db=1, client_name="matrix", lib_name="respd-tests", lib_version="9.9", **kw)
    r0 = sync_client(db=0, **kw)
    try:
        assert r.ping() is True
        assert r.set("k", "v", ex=100) is True
        assert r.get("k") == "v"
        assert r.ttl("k") == 100
        assert r.get("missing") is None
        assert r.set("k", "w", nx=True) is None
        assert r.set("k", "w", xx=True, get=True) == "v"
        assert r.set("n", 1) is True
        assert r.incr("n", 5) == 6
        assert r.decr("n") == 5
        assert r.incrbyfloat("f", 1.5) == 1.5
        assert r.append("s", "ab") == 2 and r.strlen("s") == 2
        assert r.mset({"a": "1", "b": "2"}) is True
        assert r.mget("a", "missing", "b") == ["1", None, "2"]
        assert r.exists("a", "b", "missing") == 2
        assert r.delete("a", "b", "missing") == 2
        assert r.getdel("s") == "ab"
        assert r.getex("k", px=5000) == "w" and 0 < r.pttl("k") <= 5000
        assert r.expire("k", 50) is True and r.ttl("k") == 50
        assert r.persist("k") is True and r.ttl("k") == -1
        assert r.type("k") == "string"
        assert r.rename("k", "k2") is True and r.get("k2") == "w"
        assert r.copy("k2", "k3") is True
        assert r.setex("se", 10, "x") is True and r.ttl("se") == 10
        assert r.setnx("k2", "z") is False
        # db=1 is this connection's database only
        assert r0.get("k2") is None
        assert r.dbsize() >= 3 and r0.dbsize() == 0
        # transaction pipeline (MULTI/EXEC) and plain pipeline
        with r.pipeline() as p:
            p.set("p", 1).incr("p").get("p")
            assert p.execute() == [True, 2, "2"]
        with r.pipeline(transaction=False) as p:
            for n in range(50):
                p.set("scan:%d" % n, n)
            p.get("scan:7")
            res = p.execute()
            assert res[:50] == [True] * 50 and res[50] == "7"
        assert sorted(r.scan_iter(match="scan:*", count=7)) == sorted("scan:%d" % n for n in range(50))
        assert sorted(r.keys("scan:1*")) == sorted(["scan:1"] + ["scan:1%d" % n for n in range(10)])
        # errors come back as exceptions, the connection stays usable
        with pytest.raises(redis.ResponseError, match="unknown command"):
            r.execute_command("NOPE")
        with pytest.raises(redis.ResponseError, match="not an integer"):
            r.incr("k2")
        with pytest.raises(redis.ResponseError, match="syntax error"):
            r.execute_command("SET", "x", "y", "NX", "XX")
        # connection metadata: name, library, db, protocol
        assert r.client_getname() == "matrix"
        info = r.client_info()
        assert client_info_field(info, "name") == "matrix"
        assert client_info_field(info, "db") == "1"
        assert client_info_field(info, "resp") == str(proto)
        if server.name == "respd":  # Redis 7.0 answers SETINFO with an error, which redis-py ignores
            assert client_info_field(info, "lib-name") == "respd-tests"
            assert client_info_field(info, "lib-ver") == "9.9"
        assert r.echo("hé") == "hé"
        # real expiry
        assert r.set("short", "v", px=100) is True
        time.sleep(0.25)
        assert r.get("short") is None and r.exists("short") == 0
    finally:
        r.close()
        r0.close()


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("parser", ["hiredis", "python"])
def test_sync_watch_optimistic_locking(server, proto, parser):
    kw = client_kwargs(server, proto, parser, parser_class=SYNC_PARSERS[(parser, proto)])
    a, b = sync_client(**kw), sync_client(**kw)
    try:
        a.set("counter", 10)
        with a.pipeline() as p:
            p.watch("counter")
            value = int(p.get("counter"))
            b.set("counter", 100)                   # another client changes it
            p.multi()
            p.set("counter", value + 1)
            with pytest.raises(redis.WatchError):
                p.execute()
        assert a.get("counter") == "100"

        calls = []

        def incr(pipe):
            v = int(pipe.get("counter"))
            if not calls:
                b.incr("counter")                    # interfere once: the transaction retries
            calls.append(v)
            pipe.multi()
            pipe.set("counter", v + 1)

        a.transaction(incr, "counter")
        assert calls == [100, 101]
        assert a.get("counter") == "102"
    finally:
        a.close()
        b.close()


def test_sync_health_check_interval(server):
    r = redis.Redis(host="127.0.0.1", port=server.port, health_check_interval=1, decode_responses=True)
    try:
        assert r.set("h", "1")
        time.sleep(1.1)                              # the next command is preceded by a PING
        assert r.get("h") == "1"
    finally:
        r.close()


def test_sync_from_url_and_resp3_types(server):
    r = redis.Redis.from_url("redis://127.0.0.1:%d/2?protocol=3" % server.port, decode_responses=True)
    try:
        hello = r.execute_command("HELLO", "3")
        assert hello["proto"] == 3 and hello["server"] == "redis"
        assert r.config_get("databases") == {"databases": "16"}
        assert client_info_field(r.client_info(), "db") == "2"
    finally:
        r.close()


def test_sync_oom_and_errors_map_to_exceptions(respd_factory, write_yaml):
    path = write_yaml("small.yaml", {"version": "1.0", "namespace": "t",
                                     "entries": [{"name": "s", "kind": "store.memory", "max_size": 1}],
                                     "server": {"databases": {0: "t:s"}}})
    proc = respd_factory(configs=[path])
    r = redis.Redis(port=proc.port, decode_responses=True)
    try:
        assert r.set("a", 1)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            r.set("b", 1)
        assert r.set("a", 2)
        with pytest.raises(redis.ResponseError, match="DB index is out of range"):
            r.execute_command("SELECT", "1")
    finally:
        r.close()


# ------------------------------------------------------------------------------------------------ asyncio
# The suite runs async tests under trio (pytest-trio); redis.asyncio needs asyncio, so these tests are sync and
# drive their own event loop.
@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("parser", ["hiredis", "python"])
def test_asyncio_matrix(server, proto, parser):
    kw = client_kwargs(server, proto, parser, parser_class=ASYNC_PARSERS[(parser, proto)])

    async def main():
        r = async_client(db=1, client_name="amatrix", lib_name="respd-async", lib_version="1.0", **kw)
        r0 = async_client(db=0, **kw)
        try:
            assert await r.ping() is True
            assert await r.set("k", "v", ex=100) is True
            assert await r.get("k") == "v"
            assert await r.ttl("k") == 100
            assert await r.get("missing") is None
            assert await r.incr("n", 3) == 3
            assert await r.mget("k", "n", "missing") == ["v", "3", None]
            assert await r0.exists("k") == 0
            async with r.pipeline() as p:
                p.set("p", 1).incr("p").get("p")
                assert await p.execute() == [True, 2, "2"]
            async with r.pipeline(transaction=False) as p:
                for n in range(20):
                    p.set("scan:%d" % n, n)
                assert await p.execute() == [True] * 20
            found = [k async for k in r.scan_iter(match="scan:*", count=5)]
            assert sorted(found) == sorted("scan:%d" % n for n in range(20))
            # concurrent commands on a pool
            results = await asyncio.gather(*(r.incr("conc") for _ in range(50)))
            assert sorted(results) == list(range(1, 51))
            with pytest.raises(redis.ResponseError, match="unknown command"):
                await r.execute_command("NOPE")
            assert await r.client_getname() == "amatrix"
            info = await r.client_info()
            assert client_info_field(info, "db") == "1"
            assert client_info_field(info, "resp") == str(proto)
            if server.name == "respd":
                assert client_info_field(info, "lib-name") == "respd-async"
            # WATCH with two clients
            await r.set("w", 1)
            async with r.pipeline() as p:
                await p.watch("w")
                other = async_client(db=1, **kw)
                await other.set("w", 5)
                await other.aclose()
                p.multi()
                p.set("w", 2)
                with pytest.raises(redis.WatchError):
                    await p.execute()
            assert await r.get("w") == "5"
            assert await r.set("short", "v", px=100)
            await asyncio.sleep(0.25)
            assert await r.get("short") is None
        finally:
            await r.aclose()
            await r0.aclose()

    asyncio.run(main())


def test_asyncio_health_check_interval(server):
    async def main():
        r = redis.asyncio.Redis(port=server.port, health_check_interval=1, decode_responses=True)
        try:
            assert await r.set("h", "1")
            await asyncio.sleep(1.1)
            assert await r.get("h") == "1"
        finally:
            await r.aclose()

    asyncio.run(main())


def test_handshake_commands_pipelined_in_one_write(server):
    """ioredis 6 sends its whole handshake in one write; every reply must come back in order."""
    from tests.helpers import encode_command
    with server.client() as c:
        c.send(b"".join(encode_command(*a) for a in (
            ["hello", "3"], ["select", "1"], ["client", "setname", "x"], ["client", "SETINFO", "LIB-VER", "6.0.0"],
            ["client", "SETINFO", "LIB-NAME", "ioredis"], ["info"])))
        replies = c.read_replies(6)
    assert replies[0].startswith(b"%7\r\n")
    assert replies[1] == b"+OK\r\n" and replies[2] == b"+OK\r\n"
    assert replies[5].startswith(b"=") and b"redis_version:" in replies[5]
