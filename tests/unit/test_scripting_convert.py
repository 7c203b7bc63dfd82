"""Conversions and the redis.* API against the bytes redis-server 7.0.15 sent for the same scripts
(tests/unit/scripting_cases.py): each script runs in respd's runtime with a fake ``redis.call`` answering the
reply values respd's handlers return, for a RESP2 and a RESP3 caller."""
from __future__ import annotations

import hashlib

import pytest

from respd.replies import Err, encode
from respd.scripting.runtime import ScriptRuntime

from .scripting_cases import RECORDED, fake_call

#: where respd differs from Redis 7.0.15 (none left: a script's tail call into respd's Lua API kept no frame to
#: name until notail.py; those scripts are now compared like the rest)
KNOWN: frozenset = frozenset()


@pytest.fixture(scope="module")
def rt():
    return ScriptRuntime()


def run_bytes(rt, body: bytes, proto: int) -> bytes:
    sha = rt.load(body)
    reply = rt.run(sha, [], [], fake_call, proto=proto)
    out = reply.encoded if isinstance(reply, Err) else encode(reply, proto)
    return out.replace(hashlib.sha1(body).hexdigest().encode(), b"{sha}")


#: math.random's state is the server's: this one is not in the table (it would consume a value)
MATH_RANDOM_0 = (b"-ERR user_script:1: bad argument #1 to 'random' (interval is empty) script: {sha}, "
                 b"on @user_script:1.\r\n")
CASES = [c for c in RECORDED if c[0] not in KNOWN]


@pytest.mark.parametrize("body,resp2,resp3", CASES, ids=[c[0].decode(errors="replace")[:60] for c in CASES])
def test_same_bytes_as_redis(rt, body, resp2, resp3):
    assert run_bytes(rt, body, 2) == resp2
    assert run_bytes(rt, body, 3) == resp3


def test_tail_called_api_error_names_the_line(rt):
    """``return math.random(0)``: the error raised in respd's Lua API, tail-called by the script, carries Redis'
    ``user_script:1:`` prefix and ``script: <sha>, on @user_script:1.`` suffix (before notail.py it had neither;
    not in the recorded table because math.random's state is the server's)."""
    assert run_bytes(rt, b"return math.random(0)", 2) == MATH_RANDOM_0
