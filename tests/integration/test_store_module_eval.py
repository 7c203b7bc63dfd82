"""The ``store`` module inside EVAL scripts, end to end: redis-py against a real respd, on a memory store and a SQL
store (``tests.helpers.sql_registry``: ``app:cache`` is a memory store, ``app:persistent`` a SQL store on the test
PostgreSQL), plus a memory-only server (scripts run in place there). The scripts are the README's examples (basic
operations, TTL, error handling, batch processing); values written by scripts are read with plain commands and the
other way round.
"""
from __future__ import annotations

import threading

import pytest
import redis

from tests.helpers import sql_registry
from tests.pgserver import pg_server  # noqa: F401  (fixture)

BASIC = """
local cache = store.get(KEYS[1])
cache:set("user:1", "Alice")
cache:set("user:1:visits", 3)
cache:set("user:1:profile", {name = "Alice", roles = {"admin", "dev"}})
local name = cache:get("user:1")
local profile = cache:get("user:1:profile")
local existed = cache:has("user:1")
local deleted = cache:delete("user:1")
local gone = cache:exists("user:1")
cache:release()
return {name, profile.name, profile.roles[2], tostring(existed), tostring(deleted), tostring(gone),
        cache:get("user:1:visits") == nil and "released" or "open"}
"""

TTL = """
local sessions = store.get(KEYS[1])
local ok, err = sessions:set("session:" .. ARGV[1], ARGV[2], tonumber(ARGV[3]))
if not ok then return redis.error_reply(err) end
return sessions:get("session:" .. ARGV[1])
"""

ERRORS = """
local out = {}
local missing, err = store.get("app:nope")
out[#out + 1] = tostring(missing) .. ": " .. err
local s = store.get(KEYS[1])
local v, e = s:get("no-such-key")
out[#out + 1] = tostring(v) .. ": " .. e
local ok, e2 = s:set("k", function() end)
out[#out + 1] = tostring(ok) .. ": " .. e2
local ok3, e3 = s:set("k", "v", -5)
out[#out + 1] = tostring(ok3) .. ": " .. e3
s:release()
local r, e4 = s:get("k")
out[#out + 1] = tostring(r) .. ": " .. e4
return out
"""

BATCH = """
local s = store.get(KEYS[1])
local written, failed = 0, {}
for i = 1, #ARGV, 2 do
  local ok, err = s:set(ARGV[i], ARGV[i + 1], 60)
  if ok then written = written + 1 else failed[#failed + 1] = ARGV[i] .. ": " .. err end
end
local total = 0
for i = 1, #ARGV, 2 do total = total + (tonumber(s:get(ARGV[i])) or 0) end
s:release()
return {written, total, #failed}
"""


@pytest.fixture(scope="module")
def sql_server(pg_server, tmp_path_factory):  # noqa: F811
    from tests.helpers import RespdProcess, write_registry
    d = tmp_path_factory.mktemp("storemod")
    config = write_registry(d, "reg.yaml", sql_registry(pg_server.dsn, "storemod_e2e"))
    proc = RespdProcess(configs=[config]).start()
    yield proc
    proc.stop()


@pytest.fixture(params=["memory", "sql", "memory-only"])
def target(request):
    """(redis-py client on the store's db, store id)."""
    if request.param == "memory-only":
        proc = request.getfixturevalue("respd")
        c = redis.Redis(port=proc.port, db=0)
        sid = "default:db0"
    else:
        proc = request.getfixturevalue("sql_server")
        db = 0 if request.param == "memory" else 1
        c = redis.Redis(port=proc.port, db=db)
        sid = "app:cache" if db == 0 else "app:persistent"
    c.flushdb()
    yield c, sid
    c.close()


def test_basic_operations(target):
    c, sid = target
    got = c.eval(BASIC, 1, sid)
    assert got == [b"Alice", b"Alice", b"dev", b"true", b"true", b"false", b"released"]
    assert c.get("user:1") is None
    assert c.get("user:1:visits") == b"3"
    assert c.incr("user:1:visits") == 4
    assert c.type("user:1:profile") == b"hash"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        c.get("user:1:profile")


def test_ttl(target):
    c, sid = target
    assert c.eval(TTL, 1, sid, "abc", "payload", "100") == b"payload"
    assert 99 <= c.ttl("session:abc") <= 100
    assert c.get("session:abc") == b"payload"
    with pytest.raises(redis.ResponseError, match="ttl must be a positive number of seconds"):
        c.eval(TTL, 1, sid, "bad", "payload", "0")
    assert c.eval(TTL, 1, sid, "short", "x", "0.05") == b"x"
    assert c.pttl("session:short") <= 50


def test_error_handling(target):
    c, sid = target
    assert c.eval(ERRORS, 1, sid) == [
        b"nil: no such store 'app:nope'", b"nil: key not found", b"nil: cannot store a function",
        b"nil: ttl must be a positive number of seconds", b"nil: store released"]
    assert c.exists("k") == 0


def test_batch_processing(target):
    c, sid = target
    args = []
    for i in range(1, 51):
        args += ["item:%d" % i, str(i)]
    assert c.eval(BATCH, 1, sid, *args) == [50, 1275, 0]
    assert c.mget("item:1", "item:50") == [b"1", b"50"]
    assert 59 <= c.ttl("item:7") <= 60


def test_values_set_by_clients_read_in_scripts(target):
    c, sid = target
    c.set("plain", b"bin\x00ary")
    c.incrby("n", 41)
    script = c.register_script("local s = store.get(KEYS[1]) return {s:get('plain'), s:get('n'), type(s:get('n'))}")
    assert script(keys=[sid]) == [b"bin\x00ary", b"41", b"string"]


def test_read_only_scripts_cannot_write(target):
    c, sid = target
    got = c.eval_ro("local s = store.get(KEYS[1]) local ok, e = s:set('k', 'v') return {tostring(ok), e, "
                    "tostring(s:has('k'))}", 1, sid)
    assert got == [b"nil", b"Write commands are not allowed from read-only scripts.", b"false"]


def test_require_and_other_modules(target):
    c, sid = target
    assert c.eval("return require('store') == store and 1 or 0", 0) == 1
    with pytest.raises(redis.ResponseError, match="module 'os' not found"):
        c.eval("local m = require('os') return 1", 0)


INCR_THROUGH_MODULE = """
local s = store.get(KEYS[1])
local v = s:get(KEYS[2])
local n = (tonumber(v) or 0) + 1
s:set(KEYS[2], n)
return n
"""


@pytest.mark.parametrize("first", ["existing", "missing"])
@pytest.mark.parametrize("db", [0, 1])
def test_racing_increments_through_the_module_add_up(sql_server, db, first):
    """Read-then-write through the module from 4 scripts' clients, racing 4 clients' INCRs on the same key: a
    script's operations on the store it runs on are atomic with respect to other clients, on a memory store of a
    server with SQL stores (the script runs in the worker: it holds the server exclusively) and on a SQL store
    (the script's KEYS are held, a missing one too)."""
    _race(sql_server, db, "app:cache" if db == 0 else "app:persistent", missing=first == "missing")


def test_racing_increments_on_a_memory_only_server(respd):
    _race(respd, 0, "default:db0")


def _race(server, db, sid, missing=False):
    if missing:
        redis.Redis(port=server.port, db=db).delete("counter")
    else:
        redis.Redis(port=server.port, db=db).set("counter", 0)
    errors = []

    def work(use_script):
        c = redis.Redis(port=server.port, db=db)
        try:
            for _ in range(100):
                if use_script:
                    c.eval(INCR_THROUGH_MODULE, 2, sid, "counter")
                else:
                    c.incr("counter")
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            c.close()

    ts = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert errors == []
    assert int(redis.Redis(port=server.port, db=db).get("counter")) == 800


def _script_kill_reply(c) -> str:
    """SCRIPT KILL's answer once the script is running (NOTBUSY until then)."""
    for _ in range(400):
        try:
            c.script_kill()
            return "OK"
        except redis.ResponseError as e:
            if "No scripts in execution" not in str(e):
                return str(e).split()[0]
        threading.Event().wait(0.05)
    raise AssertionError("the script never started")


def test_a_write_through_the_module_makes_the_script_unkillable(respd_factory):
    server = respd_factory()
    admin = redis.Redis(port=server.port)
    admin.config_set("busy-reply-threshold", 50)
    outcome = []

    def run(body):
        c = redis.Redis(port=server.port)
        try:
            outcome.append(c.eval(body, 0))
        except Exception as e:  # noqa: BLE001
            outcome.append(e)

    reader = threading.Thread(target=run, args=("local s = store.get('default:db0') s:get('x') while true do end",))
    reader.start()
    assert _script_kill_reply(admin) == "OK"
    reader.join(30)
    assert "Script killed by user" in str(outcome[0])
    writer = threading.Thread(target=run, args=("local s = store.get('default:db0') s:set('x', 1) while true do end",))
    writer.start()
    assert _script_kill_reply(admin) == "UNKILLABLE"
    admin.shutdown(nosave=True)  # redis-py returns when the server closed the connection
    writer.join(30)
    assert isinstance(outcome[1], redis.RedisError)  # stopped by SHUTDOWN NOSAVE (killed, or the connection closed)


def test_key_rules_over_the_wire_and_acl_log(respd_factory):
    server = respd_factory()
    admin = redis.Redis(port=server.port)
    admin.acl_setuser("app", enabled=True, passwords=["+pw"], commands=["+@all"], keys=["%R~ok:*", "%W~ok:w*"])
    admin.set("ok:1", "one")
    c = redis.Redis(port=server.port, username="app", password="pw")
    got = c.eval("local s = store.get('default:db0') "
                 "return {s:get('ok:1'), select(2, s:get('no:1')), tostring(s:set('ok:w1', 'x')), "
                 "select(2, s:set('ok:1', 'x'))}", 0)
    assert got == [b"one", b"NOPERM this user has no permissions to access the 'no:1' key", b"true",
                   b"NOPERM this user has no permissions to access the 'ok:1' key"]
    entry = admin.acl_log(count=1)[0]
    assert entry["context"] == "lua" and entry["object"] == "ok:1" and entry["username"] == "app"
    assert admin.get("ok:1") == b"one" and admin.get("ok:w1") == b"x"
