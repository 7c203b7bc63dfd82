"""``redis-cli --eval`` and ioredis' ``defineCommand`` on redis-server, a respd memory store and a respd SQL
store (issue 13).

ioredis lives in tests/integration/js/ (package.json and its lock file are committed, node_modules is not):
``.ci/run`` installs it with ``npm ci``; when it is missing here, the ``ioredis`` fixture runs ``npm ci`` itself.
Without node (or npm) these tests skip, except under CI=true where that is a failure.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from tests.helpers import node_package, require
from tests.integration.scripting_targets import sql_respd, target  # noqa: F401  (fixtures)



# ------------------------------------------------------------------------------------------------ redis-cli
@pytest.fixture
def eval_cli(target, tmp_path):
    require(shutil.which("redis-cli") is not None, "redis-cli is not installed")

    def run(body, *args, proto=2, raw=True):
        script = tmp_path / "script.lua"
        script.write_text(body)
        argv = ["redis-cli", "-p", str(target.port), "-n", str(target.db)]
        argv += (["-3"] if proto == 3 else []) + ([] if raw else ["--no-raw"])
        cp = subprocess.run(argv + ["--eval", str(script), *args], capture_output=True, timeout=60,
                            stdin=subprocess.DEVNULL)
        return cp.stdout.decode()
    return run


SET_AND_SHOW = """redis.call('SET', KEYS[1], ARGV[1])
return {KEYS[1], KEYS[2], redis.call('GET', KEYS[1]), #KEYS, #ARGV, tonumber(ARGV[2]) + 1}
"""


def test_redis_cli_eval(eval_cli):
    assert eval_cli(SET_AND_SHOW, "k1", "k2", ",", "value", "41") == "k1\nk2\nvalue\n2\n2\n42\n"
    assert eval_cli(SET_AND_SHOW, "k1", "k2", ",", "v2", "1", raw=False) == (
        '1) "k1"\n2) "k2"\n3) "v2"\n4) (integer) 2\n5) (integer) 2\n6) (integer) 2\n')
    assert eval_cli("return redis.call('GET', KEYS[1])", "k1", proto=3, raw=False) == '"v2"\n'
    assert eval_cli("return {ARGV[1], #KEYS}", ",", "only-args") == "only-args\n0\n"
    for body in ("local n = redis.call('INCRBY', KEYS[1], ARGV[1]) return n",
                 "return redis.call('INCRBY', KEYS[1], ARGV[1])"):  # a tail call: Lua 5.1 drops the caller's frame
        assert eval_cli(body, "k1", ",", "1") == (
            "ERR value is not an integer or out of range script: %s, on @user_script:1.\n\n"  # and an empty line
            % hashlib.sha1(body.encode()).hexdigest())


def test_redis_cli_eval_errors(eval_cli):
    out = eval_cli("return +", "k")
    assert out.startswith("ERR Error compiling script (new function): user_script:1: unexpected symbol near "), out
    assert eval_cli("return redis.error_reply('MYERR custom')") == "MYERR custom\n\n"


# ------------------------------------------------------------------------------------------------ ioredis
@pytest.fixture(scope="module")
def ioredis():
    """The directory holding ioredis (installed with npm ci when it is not there yet)."""
    return node_package("ioredis")


def test_ioredis_define_command(ioredis, target):
    cp = subprocess.run(["node", "define_command.js", str(target.port), str(target.db)], cwd=ioredis,
                        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    out = json.loads(cp.stdout)
    assert out == {
        "first": [5, 10],
        "again": [11, 12],
        "afterFlush": [13, 14],
        "dynamic": [2, 1, "k1", "a1"],
        "error": "ERR MYERR custom failure",
        "cadOther": 0,
        "cadMine": 1,
        "ownerLeft": 0,
        "buffer": ["14", "14"],
        "pipeline": ["OK", [3, 5], "ERR MYERR custom failure", "5"],
        "multi": [[6, 7], [1, 1, "x", "y"]],
        "eval": ["key", "arg", 3, None, "ok"],
        "evalsha": "ERR NOSCRIPT No matching script. Please use EVAL.",
        "loaded": "b534286061d4b9e4026607613b95c06c06015ae8",
        "exists": [1, 0],
    }, out
