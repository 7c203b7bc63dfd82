"""EVAL over real connections: busy scripts (-BUSY to others, SCRIPT KILL, UNKILLABLE, SHUTDOWN NOSAVE), scripts
in pipelines, MULTI, CLIENT REPLY OFF and RESP3, permissions inside scripts, hostile scripts, INFO.

Each behaviour that redis-server also has is checked against it too (``server`` runs on both); the byte-exact
replies of the scripting commands are in tests/differential/test_scripting_commands_vs_redis.py.
"""
from __future__ import annotations

import hashlib
import shutil
import signal
import threading
import time

import pytest
import redis as redis_py
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.helpers import RedisProcess, require
from tests.integration.common import registry


LOOP = "while true do end"
DIRTY_LOOP = "redis.call('set', KEYS[1], 'written') while true do end"


@pytest.fixture(params=["respd", "redis"])
def server(request):
    """A fresh server of each kind (busy tests change CONFIG and may shut it down)."""
    if request.param == "redis":
        require(shutil.which("redis-server") is not None, "redis-server is not installed")
        proc = RedisProcess().start()
        request.addfinalizer(proc.stop)
    else:
        proc = request.getfixturevalue("respd_factory")()
    c = redis_py.Redis(port=proc.port)
    c.config_set("busy-reply-threshold", 200)
    yield proc
    c.close()


def _run_in_thread(fn):
    box = {}

    def target():
        try:
            box["value"] = fn()
        except Exception as e:  # noqa: BLE001 - the test reads what the script's client got
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def _until_busy(c, deadline_s: float = 60.0) -> redis_py.exceptions.ResponseError:
    """PING until the server answers -BUSY (the script passed the threshold); the BUSY error."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            c.ping()
        except redis_py.exceptions.BusyLoadingError as e:
            return e
        except redis_py.exceptions.ResponseError as e:
            return e
        time.sleep(0.05)
    raise AssertionError("the server never answered BUSY")


def test_busy_script_is_killed_and_others_are_served_again(server):
    runner = redis_py.Redis(port=server.port, socket_timeout=120)
    other = redis_py.Redis(port=server.port, socket_timeout=120)
    t, box = _run_in_thread(lambda: runner.eval(LOOP, 0))
    err = _until_busy(other)
    assert str(err) == "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    assert other.execute_command("SCRIPT", "KILL") == b"OK"
    t.join(60)
    assert "Script killed by user with SCRIPT KILL" in str(box["error"])
    assert other.ping() is True
    assert runner.ping() is True


def test_script_that_wrote_is_unkillable_and_shutdown_nosave_stops_the_server(server):
    runner = redis_py.Redis(port=server.port, socket_timeout=120)
    other = redis_py.Redis(port=server.port, socket_timeout=120)
    t, box = _run_in_thread(lambda: runner.eval(DIRTY_LOOP, 1, "k"))
    _until_busy(other)
    with pytest.raises(redis_py.exceptions.ResponseError) as e:
        other.execute_command("SCRIPT", "KILL")
    assert str(e.value).startswith("UNKILLABLE Sorry the script already executed write commands")
    with pytest.raises(redis_py.exceptions.ResponseError) as e:
        other.execute_command("SHUTDOWN")
    assert str(e.value).startswith("BUSY Redis is busy running a script")
    try:
        other.execute_command("SHUTDOWN", "NOSAVE")
    except redis_py.exceptions.ConnectionError:
        pass  # the connection closes: no reply, as Redis
    assert server.proc.wait(60) is not None
    t.join(60)
    assert "error" in box


def test_clients_connecting_as_the_script_starts_get_busy_and_can_kill_it(respd_factory):
    """A client accepted just before a script starts (its task not run yet) is served by the busy round too: it
    gets -BUSY and its SCRIPT KILL stops the script, whose own client gets the kill error (before, such a client
    waited for the script's end; redis-py then timed out and retried the EVAL on a new connection, which got
    BUSY). Ten rounds: the race used to be lost about one round in three."""
    proc = respd_factory()
    no_retry = Retry(NoBackoff(), 0)
    redis_py.Redis(port=proc.port).config_set("busy-reply-threshold", 50)
    for _ in range(10):
        runner = redis_py.Redis(port=proc.port, socket_timeout=60, retry=no_retry)
        other = redis_py.Redis(port=proc.port, socket_timeout=60, retry=no_retry)
        runner.ping()  # connected: its EVAL goes out at once, while other connects
        t, box = _run_in_thread(lambda: runner.eval(LOOP, 0))
        _until_busy(other)
        assert other.execute_command("SCRIPT", "KILL") == b"OK"
        t.join(60)
        assert "Script killed by user with SCRIPT KILL" in str(box.get("error")), box
        runner.close()
        other.close()


@pytest.mark.parametrize("script", [LOOP, DIRTY_LOOP])
def test_sigterm_stops_a_server_running_an_endless_script(respd_factory, script):
    proc = respd_factory()
    runner = redis_py.Redis(port=proc.port, socket_timeout=120)
    other = redis_py.Redis(port=proc.port, socket_timeout=120)
    other.config_set("busy-reply-threshold", 100)
    t, box = _run_in_thread(lambda: runner.eval(script, 1, "k"))
    _until_busy(other)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(60) == 0
    t.join(60)
    assert "error" in box


def test_busy_server_still_answers_auth_and_unknown_commands_before_busy(respd_factory):
    proc = respd_factory()
    runner = redis_py.Redis(port=proc.port, socket_timeout=120)
    runner.config_set("busy-reply-threshold", 100)
    other = redis_py.Redis(port=proc.port, socket_timeout=120)
    t, box = _run_in_thread(lambda: runner.eval(LOOP, 0))
    _until_busy(other)
    with pytest.raises(redis_py.exceptions.ResponseError, match="unknown command 'NOSUCH'"):
        other.execute_command("NOSUCH")
    with pytest.raises(redis_py.exceptions.ResponseError, match="wrong number of arguments for 'get'"):
        other.execute_command("GET")
    assert other.execute_command("HELLO", "2")[0] == b"server"  # allow_busy
    assert other.execute_command("SCRIPT", "KILL") == b"OK"
    t.join(60)
    info = other.info("errorstats")
    assert info["errorstat_BUSY"]["count"] >= 1


def test_scripts_in_pipelines_multi_reply_off_and_resp3(server):
    c = redis_py.Redis(port=server.port)
    c.flushall()
    p = c.pipeline(transaction=False)
    p.eval("return redis.call('set', KEYS[1], ARGV[1])", 1, "a", "1")
    p.eval("return redis.call('incr', KEYS[1])", 1, "a")
    sha = hashlib.sha1(b"return ARGV[1]").hexdigest()
    p.execute_command("SCRIPT", "LOAD", "return ARGV[1]")
    p.evalsha(sha, 0, "x")
    assert p.execute() == [b"OK", 2, sha.encode(), b"x"]
    m = c.pipeline(transaction=True)
    m.eval("return redis.call('incr', KEYS[1])", 1, "a")
    m.eval("return redis.call('get', KEYS[1])", 1, "a")
    assert m.execute() == [3, b"3"]
    raw = server.client()
    raw.send(b"CLIENT REPLY OFF\r\nEVAL \"return redis.call('incr','a')\" 0\r\nCLIENT REPLY ON\r\n")
    assert raw.read_reply() == b"+OK\r\n"
    assert c.get("a") == b"4"
    r3 = redis_py.Redis(port=server.port, protocol=3)
    assert r3.eval("return {1, 'x', {ok='fine'}}", 0) == [1, b"x", b"fine"]
    assert r3.eval("return {double=3.5}", 0) == 3.5


def test_permissions_inside_scripts(respd_factory):
    proc = respd_factory()
    admin = redis_py.Redis(port=proc.port)
    admin.execute_command("ACL", "SETUSER", "scripter", "on", ">pw", "+eval", "+get", "~allowed:*")
    u = redis_py.Redis(port=proc.port, username="scripter", password="pw")
    assert u.eval("return redis.call('get', KEYS[1])", 1, "allowed:x") is None
    with pytest.raises(redis_py.exceptions.ResponseError) as e:
        u.eval("return redis.call('get', 'secret')", 0)
    assert str(e.value).startswith("The user executing the script can't access at least one of the keys")
    with pytest.raises(redis_py.exceptions.ResponseError) as e:
        u.eval("redis.call('set', 'allowed:x', '1')", 0)
    assert str(e.value).startswith("The user executing the script can't run this command or subcommand")
    with pytest.raises(redis_py.exceptions.NoPermissionError):
        u.eval("return 1", 1, "secret")  # EVAL's own keys are checked before it runs
    entries = admin.acl_log()
    assert {e["context"] for e in entries} >= {"lua"}


@pytest.mark.parametrize("script, expect", [
    ("local t = {} while true do t[#t + 1] = string.rep('x', 4096) .. #t end", "not enough memory"),
    ("local function f(n) return 1 + f(n + 1) end return f(1)", "stack overflow"),
    ("return string.rep('x', 1024 * 1024 * 1024)", "not enough memory"),
    ("return assert(loadstring(string.dump(function() end)))", "char(27)"),
    ("return python", "nonexistent global variable 'python'"),
    ("os.execute('true')", "attempt to call field 'execute'"),
    ("x = 1", "Attempt to modify a readonly table"),
    ("return (", "Error compiling script"),
])
def test_hostile_scripts_get_an_error_and_leave_data_and_others_alone(respd_factory, tmp_path, script, expect):
    # a small Lua memory cap (lua_max_memory) keeps the memory bombs quick; the default is 64 MiB
    proc = respd_factory(configs=[registry(tmp_path, server={"lua_max_memory": "4mb"})])
    c = redis_py.Redis(port=proc.port)
    c.set("keep", "me")
    with pytest.raises(redis_py.exceptions.ResponseError) as e:
        c.eval(script, 0)
    assert expect in str(e.value)
    assert c.get("keep") == b"me"
    assert c.eval("return redis.call('get', 'keep')", 0) == b"me"
    assert c.ping() is True


def test_info_counts_scripts_and_lua_memory(respd_factory):
    proc = respd_factory()
    c = redis_py.Redis(port=proc.port)
    assert c.info("memory")["number_of_cached_scripts"] == 0
    c.eval("return 1", 0)
    c.script_load("return 2")
    mem = c.info("memory")
    assert mem["number_of_cached_scripts"] == 2
    assert mem["used_memory_lua"] > 0
    assert c.script_flush() is True
    assert c.info("memory")["number_of_cached_scripts"] == 0
    assert c.config_get("lua-time-limit") == {"lua-time-limit": "5000"}
    c.config_set("lua-time-limit", 1234)
    assert c.config_get("busy-reply-threshold") == {"busy-reply-threshold": "1234"}


def test_eval_cache_is_bounded(respd_factory):
    proc = respd_factory()
    c = redis_py.Redis(port=proc.port)
    kept = c.script_load("return 'kept'")
    p = c.pipeline(transaction=False)
    for i in range(700):
        p.eval("return %d" % i, 0)
    p.execute()
    assert c.info("memory")["number_of_cached_scripts"] == 501  # 500 EVAL-loaded + 1 SCRIPT LOAD-ed
    assert c.evalsha(kept, 0) == b"kept"
    assert c.script_exists(hashlib.sha1(b"return 0").hexdigest()) == [False]  # the least recently used went
    assert c.script_exists(hashlib.sha1(b"return 699").hexdigest()) == [True]

