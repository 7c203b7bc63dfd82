"""Hashes and sets through real clients (issue 14) on redis-server (the reference), a respd memory store and a respd
SQL store (``tests.integration.scripting_targets``):

* redis-py, sync and asyncio, RESP2 and RESP3, with hiredis' parser and redis-py's own: the hash API (``hset``
  with ``mapping=``, ``hget``, ``hgetall``, ``hincrby``, ``hincrbyfloat``, ``hdel``, ``hscan_iter``,
  ``hrandfield``...) and the set API (``sadd``, ``smembers``, ``sismember``, ``smismember``, ``spop``,
  ``srandmember``, ``sinter``/``sunion``/``sdiff`` and their STORE forms, ``sscan_iter``...), pipelines and
  transactions, WRONGTYPE as redis-py's ``ResponseError``;
* ioredis' hash and set API (``hset`` of an object, ``hgetall``, ``hscanStream``/``sscanStream``...), pipelines
  and MULTI (tests/integration/js/hashes_sets.js);
* django-redis' hash and set API (values pickled by django-redis; its hash API has no ``hget``);
* a session kept as a hash with EXPIRE, as Spring Session's Redis store keeps its sessions, and a Flask
  application whose session interface keeps them so (attributes written and read back, removed, the TTL set and
  renewed on access, an expired session gone);
* RQ: the job hash (HSET) saved and read back by RQ, and ``Queue.enqueue`` (SADD rq:queues, then HSET and RPUSH in
  one transaction); its worker is tested in test_lists_zsets_clients.py.

Before issue 14 every one of these failed with ``unknown command 'HSET'`` / ``'SADD'`` on respd.
"""
from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import time
import uuid

import pytest
import redis
import redis.asyncio

from tests.integration.scripting_targets import async_client, sql_respd, sync_client, target  # noqa: F401
from tests.integration.test_scripting_cli_node import ioredis  # noqa: F401  (fixture: npm ci'd ioredis)
from tests.integration.test_scripting_django_limits import cache  # noqa: F401  (fixture: a django-redis cache)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

matrix = pytest.mark.parametrize("proto,parser", [(2, "hiredis"), (2, "python"), (3, "hiredis"), (3, "python")])

#: more than hash-max-listpack-entries / set-max-intset-entries (512): HSCAN/SSCAN page through a hashtable
MANY = 700


def pairs_of(reply) -> list:
    """HRANDFIELD WITHVALUES as [(field, value)...]: redis-py gives a flat list on RESP2, pairs on RESP3."""
    if reply and isinstance(reply[0], list):
        return [tuple(p) for p in reply]
    return list(zip(reply[0::2], reply[1::2]))


# ------------------------------------------------------------------------------------------------ redis-py, sync
@matrix
def test_hash_api_sync(target, proto, parser):
    r = sync_client(target, proto, parser)
    try:
        assert r.hset("user:1", mapping={"name": "Ada", "lang": "en", "visits": 3}) == 3
        assert r.hset("user:1", "lang", "fr", mapping={"city": "Paris"}) == 1  # one new field, one updated
        assert r.hget("user:1", "name") == "Ada"
        assert r.hget("user:1", "nope") is None and r.hget("no-such-key", "name") is None
        assert r.hgetall("user:1") == {"name": "Ada", "lang": "fr", "visits": "3", "city": "Paris"}
        assert list(r.hgetall("user:1")) == ["name", "lang", "visits", "city"]  # a small hash keeps its order
        assert r.hgetall("no-such-key") == {}
        assert r.hmget("user:1", ["name", "nope", "city"]) == ["Ada", None, "Paris"]
        assert r.hkeys("user:1") == ["name", "lang", "visits", "city"]
        assert r.hvals("user:1") == ["Ada", "fr", "3", "Paris"]
        assert r.hlen("user:1") == 4 and r.hstrlen("user:1", "city") == 5
        assert r.hexists("user:1", "name") is True and r.hexists("user:1", "nope") is False
        assert r.hsetnx("user:1", "name", "Bob") == 0 and r.hsetnx("user:1", "email", "a@x") == 1
        assert r.hincrby("user:1", "visits", 5) == 8
        assert r.hincrby("user:1", "new-counter", -2) == -2
        assert r.hincrbyfloat("user:1", "score", 1.5) == 1.5
        assert r.hincrbyfloat("user:1", "score", "2.25") == 3.75
        assert r.hget("user:1", "score") == "3.75"
        with pytest.raises(redis.ResponseError, match="hash value is not an integer"):
            r.hincrby("user:1", "name", 1)
        with pytest.raises(redis.ResponseError, match="hash value is not a float"):
            r.hincrbyfloat("user:1", "name", 1)
        assert r.hdel("user:1", "email", "nope", "new-counter") == 2
        assert r.type("user:1") == "hash" and r.object("encoding", "user:1") == "listpack"

        assert r.hrandfield("user:1") in r.hkeys("user:1")
        fields = r.hrandfield("user:1", 3)
        assert len(fields) == 3 == len(set(fields)) and set(fields) <= set(r.hkeys("user:1"))
        assert len(r.hrandfield("user:1", -10)) == 10  # a negative count may repeat fields
        got = pairs_of(r.hrandfield("user:1", 2, withvalues=True))
        everything = r.hgetall("user:1")
        assert len(got) == 2 and all(everything[f] == v for f, v in got)
        assert r.hrandfield("no-such-key") is None and r.hrandfield("no-such-key", 3) == []

        assert dict(r.hscan_iter("user:1")) == everything
        assert dict(r.hscan_iter("user:1", match="c*")) == {"city": "Paris"}
        big = {"f%d" % i: "v%d" % i for i in range(MANY)}
        assert r.hset("big", mapping=big) == MANY
        assert r.object("encoding", "big") == "hashtable"
        assert dict(r.hscan_iter("big", count=50)) == big
        assert dict(r.hscan_iter("big", match="f1?", count=50)) == {"f%d" % i: "v%d" % i for i in range(10, 20)}

        r.set("plain", "x")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.hget("plain", "f")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.get("user:1")
        assert r.delete("user:1", "big") == 2 and r.exists("user:1") == 0
    finally:
        r.close()


@matrix
def test_set_api_sync(target, proto, parser):
    r = sync_client(target, proto, parser)
    try:
        assert r.sadd("tags", "red", "green", "blue", "red") == 3
        assert r.smembers("tags") == {"red", "green", "blue"}
        assert r.smembers("no-such-key") == set()
        assert r.sismember("tags", "red") == 1 and r.sismember("tags", "pink") == 0
        assert r.smismember("tags", ["red", "pink", "blue"]) == [1, 0, 1]
        assert r.scard("tags") == 3 and r.srem("tags", "blue", "pink") == 1
        assert r.sadd("nums", 3, 1, 2) == 3
        assert r.object("encoding", "nums") == "intset"
        assert r.sscan("nums") == (0, ["1", "2", "3"])  # an intset answers in ascending order, in one page

        assert r.srandmember("tags") in {"red", "green"}
        assert set(r.srandmember("tags", 5)) == {"red", "green"}
        assert len(r.srandmember("tags", -5)) == 5
        assert r.srandmember("no-such-key") is None and r.srandmember("no-such-key", 2) == []

        r.sadd("a", "1", "2", "3", "x")
        r.sadd("b", "2", "3", "4")
        assert r.sinter("a", "b") == {"2", "3"} and r.sinter("a", "no-such-key") == set()
        assert r.sunion("a", "b") == {"1", "2", "3", "4", "x"}
        assert r.sdiff("a", "b") == {"1", "x"}
        assert r.sinterstore("i", "a", "b") == 2 and r.smembers("i") == {"2", "3"}
        assert r.sunionstore("u", ["a", "b"]) == 5 and r.scard("u") == 5
        assert r.sdiffstore("d", "a", "b") == 2 and r.smembers("d") == {"1", "x"}
        assert r.sdiffstore("d", "b", "a") == 1 and r.smembers("d") == {"4"}  # overwritten
        assert r.sinterstore("d", "a", "no-such-key") == 0 and r.exists("d") == 0  # an empty result deletes
        assert r.sintercard(2, ["a", "b"]) == 2 and r.sintercard(2, ["a", "b"], limit=1) == 1
        assert r.smove("a", "b", "x") is True and r.smove("a", "b", "x") is False
        assert "x" in r.smembers("b") and "x" not in r.smembers("a")

        popped = r.spop("a")
        assert popped in {"1", "2", "3"} and r.scard("a") == 2
        rest = r.spop("a", 5)
        assert set(rest) | {popped} == {"1", "2", "3"} and r.exists("a") == 0  # the last member took the key
        assert r.spop("no-such-key") is None

        many = {str(i) for i in range(MANY)} | {"m%d" % i for i in range(MANY)}
        assert r.sadd("many", *many) == len(many)
        assert r.object("encoding", "many") == "hashtable"
        assert set(r.sscan_iter("many", count=100)) == many
        assert set(r.sscan_iter("many", match="m1?", count=100)) == {"m%d" % i for i in range(10, 20)}
        three = r.spop("many", 3)
        assert len(set(three)) == 3 and set(three) <= many and r.scard("many") == len(many) - 3

        r.hset("h", "f", "v")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.sadd("h", "x")
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.sinter("b", "h")
        assert r.type("b") == "set" and r.type("h") == "hash"
    finally:
        r.close()


@pytest.mark.parametrize("transaction", [True, False])
def test_pipelines_mix_hashes_sets_and_strings(target, transaction):
    with target.client(decode_responses=True) as r:
        pipe = r.pipeline(transaction=transaction)
        pipe.hset("cart:9", mapping={"apple": 2, "pear": 1})
        pipe.hincrby("cart:9", "apple", 3)
        pipe.sadd("carts", "cart:9")
        pipe.incr("carts:count")
        pipe.hgetall("cart:9")
        pipe.smembers("carts")
        pipe.get("cart:9")  # WRONGTYPE inside the pipeline: reported in place, the rest goes on
        pipe.expire("cart:9", 100)
        out = pipe.execute(raise_on_error=False)
        assert out[:6] == [2, 5, 1, 1, {"apple": "5", "pear": "1"}, {"cart:9"}]
        assert isinstance(out[6], redis.ResponseError) and str(out[6]).startswith("WRONGTYPE")
        assert out[7] is True and 0 < r.ttl("cart:9") <= 100


def test_watch_on_a_hash(target):
    """Optimistic locking on a hash (redis-py's transaction helper): a change by another client makes EXEC fail
    and the helper retry, so two writers' read-modify-write increments both count."""
    with target.client() as a, target.client() as b:
        a.hset("account", mapping={"balance": 100})
        rounds = []

        def spend(pipe):
            balance = int(pipe.hget("account", "balance"))
            if not rounds:
                b.hincrby("account", "balance", 50)  # someone else, between our read and our EXEC
            rounds.append(balance)
            pipe.multi()
            pipe.hset("account", "balance", balance - 30)

        a.transaction(spend, "account")
        assert rounds == [100, 150] and int(a.hget("account", "balance")) == 120


# ------------------------------------------------------------------------------------------------ redis-py, asyncio
@matrix
def test_hash_and_set_api_asyncio(target, proto, parser):
    asyncio.run(_asyncio_api(async_client(target, proto, parser)))  # pytest runs async tests under trio


async def _asyncio_api(r):
    try:
        assert await r.hset("profile", mapping={"theme": "dark", "fontSize": 14}) == 2
        assert await r.hgetall("profile") == {"theme": "dark", "fontSize": "14"}
        assert await r.hincrby("profile", "fontSize", 2) == 16
        assert await r.hincrbyfloat("profile", "zoom", 0.5) == 0.5
        assert await r.hdel("profile", "zoom") == 1
        assert await r.hrandfield("profile") in {"theme", "fontSize"}
        assert sorted(pairs_of(await r.hrandfield("profile", 5, withvalues=True))) == [("fontSize", "16"),
                                                                                        ("theme", "dark")]
        assert {f: v async for f, v in r.hscan_iter("profile")} == {"theme": "dark", "fontSize": "16"}
        await r.hset("wide", mapping={"f%d" % i: i for i in range(MANY)})
        assert len({f async for f, _ in r.hscan_iter("wide", count=64)}) == MANY

        assert await r.sadd("online", "u1", "u2", "u3") == 3
        assert await r.smembers("online") == {"u1", "u2", "u3"}
        assert await r.sismember("online", "u2") == 1
        assert await r.smismember("online", ["u1", "u9"]) == [1, 0]
        assert await r.sadd("away", "u3", "u4") == 2
        assert await r.sunion("online", "away") == {"u1", "u2", "u3", "u4"}
        assert await r.sinter("online", "away") == {"u3"}
        assert await r.sdiff("online", "away") == {"u1", "u2"}
        assert await r.sunionstore("seen", "online", "away") == 4
        assert await r.srandmember("seen") in {"u1", "u2", "u3", "u4"}
        popped = await r.spop("seen", 2)
        assert len(set(popped)) == 2 and await r.scard("seen") == 2
        assert {m async for m in r.sscan_iter("online", match="u[12]")} == {"u1", "u2"}

        async with r.pipeline(transaction=True) as pipe:
            pipe.hset("profile", "theme", "light").sadd("online", "u5").scard("online").hget("profile", "theme")
            assert await pipe.execute() == [0, 1, 4, "light"]

        await asyncio.gather(*(r.hincrby("hits", "page", 1) for _ in range(50)),
                             *(r.sadd("visitors", "v%d" % (i % 10)) for i in range(50)))
        assert await r.hget("hits", "page") == "50" and await r.scard("visitors") == 10
    finally:
        await r.aclose()


# ------------------------------------------------------------------------------------------------ ioredis
def test_ioredis_hash_and_set_api(ioredis, target):
    cp = subprocess.run(["node", "hashes_sets.js", str(target.port), str(target.db)], cwd=ioredis,
                        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    out = json.loads(cp.stdout)
    assert out == {
        "hset": 3, "hsetPairs": 1, "hget": "Ada",
        "hgetall": {"name": "Ada", "lang": "fr", "visits": "3", "city": "Paris"}, "hgetallMissing": {},
        "hmget": ["Ada", None], "hincrby": 7, "hincrbyfloat": "2.5",
        "hincrbyBad": "ERR ERR hash value is not an integer", "hdel": 1,
        "hkeys": ["name", "lang", "visits", "city"], "hlen": 4, "hrandfield": 3,
        "hscanFields": 600, "hscanSame": True, "hgetallBuffer": 4,
        "sadd": 3, "smembers": ["blue", "green", "red"], "sismember": 1, "smismember": [1, 0],
        "sinter": ["green"], "sunion": ["blue", "green", "pink", "red"], "sdiff": ["blue", "red"],
        "sunionstore": 4, "smove": 1, "scard": [2, 3], "spop": 2, "srandmember": 2, "sscan": ["pink"],
        "wrongtype": "ERR WRONGTYPE Operation against a key holding the wrong kind of value",
        "pipeline": [1, 1, {"a": "1"}, "ERR WRONGTYPE Operation against a key holding the wrong kind of value"],
        "multi": [3, 1],
    }, out


# ------------------------------------------------------------------------------------------------ django-redis


def test_django_redis_hash_api(cache):
    assert cache.hset("prefs", "theme", "dark") == 1
    assert cache.hset("prefs", "size", 14) == 1
    assert cache.hset("prefs", mapping={"size": 16, "tags": ["a", "b"]}) == 1
    assert cache.hlen("prefs") == 3
    assert sorted(cache.hkeys("prefs")) == ["size", "tags", "theme"]
    assert cache.hexists("prefs", "theme") is True and cache.hexists("prefs", "nope") is False
    raw = cache.client.get_client()
    key = cache.client.make_key("prefs")
    assert raw.type(key) == b"hash"
    assert cache.client.decode(raw.hget(key, "tags")) == ["a", "b"]  # what django-redis wrote: its own encoding
    assert cache.client.decode(raw.hget(key, "size")) == 16
    assert cache.hdel("prefs", "tags") == 1 and cache.hdel("prefs", "tags") == 0
    assert cache.hlen("prefs") == 2
    assert cache.delete("prefs") is True and cache.hlen("prefs") == 0


def test_django_redis_set_api(cache):
    assert cache.sadd("langs", "python", "go", ("tuple", 1)) == 3
    assert cache.smembers("langs") == {"python", "go", ("tuple", 1)}
    assert cache.scard("langs") == 3
    assert cache.sismember("langs", "go") is True and cache.sismember("langs", "c") is False
    assert cache.smismember("langs", "go", "c") == [True, False]
    assert cache.sadd("compiled", "go", "c") == 2
    assert cache.sinter("langs", "compiled") == {"go"}
    assert cache.sunion("langs", "compiled") == {"python", "go", "c", ("tuple", 1)}
    assert cache.sdiff("langs", "compiled") == {"python", ("tuple", 1)}
    assert cache.smove("langs", "compiled", "python") is True
    assert cache.srem("compiled", "python", "rust") == 1
    assert cache.srandmember("langs") in {"go", ("tuple", 1)}
    assert cache.spop("langs") in {"go", ("tuple", 1)} and cache.scard("langs") == 1
    assert set(cache.sscan("compiled")) == {"go", "c"}


# ------------------------------------------------------------------------------------------------ sessions
class HashSessions:
    """Sessions kept the way Flask-Session's and Spring Session's Redis stores keep them: one hash per session
    (creation time, last access, max inactive interval, one field per attribute) that expires after the inactive
    interval, its TTL renewed whenever the session is saved or read."""

    def __init__(self, client: redis.Redis, max_inactive: int = 1800, prefix: str = "spring:session:sessions:"):
        self.r = client
        self.max_inactive = max_inactive
        self.prefix = prefix

    def key(self, sid: str) -> str:
        return self.prefix + sid

    def create(self, **attributes) -> str:
        sid = uuid.uuid4().hex
        now = str(int(time.time() * 1000))
        self.save(sid, {"creationTime": now, "lastAccessedTime": now, "maxInactiveInterval": self.max_inactive},
                  attributes)
        return sid

    def save(self, sid: str, meta: dict, attributes: dict, removed=()) -> None:
        fields = dict(meta)
        fields.update({"sessionAttr:" + k: pickle.dumps(v) for k, v in attributes.items()})
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.key(sid), mapping=fields)
        if removed:
            pipe.hdel(self.key(sid), *["sessionAttr:" + k for k in removed])
        pipe.expire(self.key(sid), int(meta.get("maxInactiveInterval", self.max_inactive)))
        pipe.execute()

    def load(self, sid: str):
        """The attributes, or None when the session expired; touching it renews its TTL."""
        stored = self.r.hgetall(self.key(sid))
        if not stored:
            return None
        self.r.hset(self.key(sid), "lastAccessedTime", str(int(time.time() * 1000)))
        self.r.expire(self.key(sid), int(stored[b"maxInactiveInterval"]))
        return {k[len(b"sessionAttr:"):].decode(): pickle.loads(v) for k, v in stored.items()
                if k.startswith(b"sessionAttr:")}


def test_session_kept_as_a_hash(target):
    with target.client() as r:
        sessions = HashSessions(r, max_inactive=1800)
        sid = sessions.create(user_id=42, cart=["apple", "pear"], csrf="tok")
        key = sessions.key(sid)
        assert r.type(key) == b"hash" and r.hlen(key) == 6
        assert 1790 <= r.ttl(key) <= 1800
        assert sessions.load(sid) == {"user_id": 42, "cart": ["apple", "pear"], "csrf": "tok"}

        r.expire(key, 100)  # time passes...
        assert r.ttl(key) <= 100
        assert sessions.load(sid)["user_id"] == 42
        assert r.ttl(key) > 100  # ...and an access renews it
        sessions.save(sid, {"maxInactiveInterval": 600}, {"cart": []}, removed=["csrf"])
        assert 590 <= r.ttl(key) <= 600
        assert sessions.load(sid) == {"user_id": 42, "cart": []}
        assert r.hget(key, "maxInactiveInterval") == b"600"
        assert r.hexists(key, "sessionAttr:csrf") is False

        assert r.persist(key) is True and r.ttl(key) == -1  # an attribute write keeps a persisted session
        r.hset(key, "sessionAttr:x", pickle.dumps(1))
        assert r.ttl(key) == -1


def test_session_expires(target):
    """A session whose inactive interval passes is gone for every command (PEXPIRE 50 ms, then polled for up
    to 10 s: no timed assertion)."""
    with target.client() as r:
        sessions = HashSessions(r)
        sid = sessions.create(user_id=7)
        key = sessions.key(sid)
        other = sessions.create(user_id=8)
        assert r.pexpire(key, 50) is True
        deadline = time.monotonic() + 10
        while r.exists(key) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.exists(key) == 0
        assert sessions.load(sid) is None
        assert r.hgetall(key) == {} and r.hlen(key) == 0 and r.hget(key, "sessionAttr:user_id") is None
        assert r.ttl(key) == -2 and r.type(key) == b"none"
        assert sessions.load(other) == {"user_id": 8}  # the other session is untouched


def flask_app(r: redis.Redis, lifetime: int = 1800):
    """A Flask application whose session interface keeps each session as a hash (one JSON field per attribute)
    that expires ``lifetime`` seconds after the last request, renewed on every request, as Flask-Session does with
    SESSION_REFRESH_EACH_REQUEST; the cookie holds only the session id."""
    import json

    from flask import Flask, jsonify, request, session
    from flask.sessions import SessionInterface, SessionMixin
    from werkzeug.datastructures import CallbackDict

    class HashSession(CallbackDict, SessionMixin):
        def __init__(self, initial=None, sid=None, new=False):
            def on_update(s):
                s.modified = True
            super().__init__(initial, on_update)
            self.sid, self.new, self.modified, self.loaded = sid, new, False, set(initial or ())

    class HashSessionInterface(SessionInterface):
        def open_session(self, app, req):
            sid = req.cookies.get(app.config["SESSION_COOKIE_NAME"])
            if sid:
                stored = r.hgetall("session:" + sid)
                if stored:
                    return HashSession({k.decode(): json.loads(v) for k, v in stored.items()}, sid)
            return HashSession(sid=uuid.uuid4().hex, new=True)

        def save_session(self, app, sess, response):
            key = "session:" + sess.sid
            if not sess:
                if not sess.new:
                    r.delete(key)
                    response.delete_cookie(app.config["SESSION_COOKIE_NAME"])
                return
            pipe = r.pipeline(transaction=True)
            if sess.modified:
                pipe.hset(key, mapping={k: json.dumps(v) for k, v in sess.items()})
                if sess.loaded - set(sess):
                    pipe.hdel(key, *(sess.loaded - set(sess)))
            pipe.expire(key, lifetime)
            pipe.execute()
            response.set_cookie(app.config["SESSION_COOKIE_NAME"], sess.sid, httponly=True)

    app = Flask("hash-sessions")
    app.session_interface = HashSessionInterface()

    @app.get("/login")
    def login():
        session["user"] = request.args["user"]
        session["cart"] = []
        return "ok"

    @app.get("/add")
    def add():
        session["cart"] = session.get("cart", []) + [request.args["item"]]
        return jsonify(session["cart"])

    @app.get("/forget")
    def forget():
        session.pop(request.args["name"], None)
        return "ok"

    @app.get("/me")
    def me():
        return jsonify(dict(session))

    @app.get("/logout")
    def logout():
        session.clear()
        return "ok"

    return app


def test_flask_session_kept_as_a_hash(target):
    pytest.importorskip("flask")
    with target.client() as r:
        web = flask_app(r).test_client()
        assert web.get("/login?user=ada").status_code == 200
        key = "session:" + web.get_cookie("session").value
        assert r.type(key) == b"hash" and r.hgetall(key) == {b"user": b'"ada"', b"cart": b"[]"}
        assert 1790 <= r.ttl(key) <= 1800
        r.expire(key, 100)  # time passes...
        assert web.get("/me").json == {"user": "ada", "cart": []}
        assert r.ttl(key) > 100  # ...and a request renews it
        assert web.get("/add?item=apple").json == ["apple"]
        assert web.get("/add?item=pear").json == ["apple", "pear"]
        assert r.hget(key, "cart") == b'["apple", "pear"]'
        assert web.get("/forget?name=cart").status_code == 200
        assert r.hkeys(key) == [b"user"]
        assert web.get("/me").json == {"user": "ada"}
        assert web.get("/logout").status_code == 200
        assert r.exists(key) == 0

        web.get("/login?user=bob")
        key = "session:" + web.get_cookie("session").value
        assert r.pexpire(key, 50)  # the session outlives its inactive interval: polled, no timed assertion
        deadline = time.monotonic() + 10
        while r.exists(key) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.exists(key) == 0
        assert web.get("/me").json == {}  # a new, empty session


# ------------------------------------------------------------------------------------------------ RQ
def rq_task(x, y):  # what the jobs would run: never run here (no worker)
    return x + y


def test_rq_job_hash_saved_and_read_back(target):
    pytest.importorskip("rq")
    from rq.job import Job, JobStatus
    with target.client() as r:
        job = Job.create(rq_task, args=(2, 3), kwargs={}, connection=r, id="job-1", description="add",
                         meta={"owner": "tests"}, timeout=60)
        job.save()  # HSET rq:job:job-1 mapping=...
        assert r.type(job.key) == b"hash"
        assert {b"created_at", b"data", b"description"} <= set(r.hkeys(job.key))
        again = Job.fetch("job-1", connection=r)  # HGETALL, decoded by RQ
        assert again.func_name == job.func_name and list(again.args) == [2, 3]
        assert again.description == "add" and again.meta == {"owner": "tests"} and again.timeout == 60
        job.set_status(JobStatus.QUEUED)  # HSET status
        assert Job.fetch("job-1", connection=r).get_status() == JobStatus.QUEUED
        job.meta["step"] = 2
        job.save_meta()  # HSET meta
        assert Job.fetch("job-1", connection=r).meta == {"owner": "tests", "step": 2}
        assert Job.exists("job-1", connection=r) is True
        assert [j.id for j in Job.fetch_many(["job-1", "job-2"], connection=r) if j] == ["job-1"]
        assert r.delete(job.key) == 1  # (job.delete() also cleans its queue and registries: lists, sorted sets)
        assert Job.exists("job-1", connection=r) is False


def test_rq_enqueue(target):
    """RQ's enqueue: the queue registered (SADD rq:queues, a transaction of its own), then the job hash saved and its
    id pushed on the queue's list in one transaction (HSET, RPUSH). Running the job needs sorted sets (issue 15)."""
    pytest.importorskip("rq")
    from rq import Queue
    from rq.job import Job, JobStatus
    with target.client() as r:
        q = Queue("default", connection=r)
        job = q.enqueue(rq_task, 4, 5)
        assert q.count == 1 and q.job_ids == [job.id]
        assert r.smembers("rq:queues") == {b"rq:queue:default"}
        assert [x.name for x in Queue.all(connection=r)] == ["default"]
        assert Job.fetch(job.id, connection=r).get_status() == JobStatus.QUEUED
