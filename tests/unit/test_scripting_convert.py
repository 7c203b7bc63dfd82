"""Conversions and the redis.* API against the bytes redis-server 7.0.15 sent for the same scripts
(tests/unit/scripting_cases.py): each script runs in respd's runtime with a fake ``redis.call`` answering the
reply values respd's handlers return, for a RESP2 and a RESP3 caller."""
from __future__ import annotations

import hashlib

import pytest

from respd.replies import Err, encode
from respd.scripting.runtime import ScriptRuntime

from .scripting_cases import RECORDED, fake_call

#: where respd differs from Redis 7.0.15 for now: the error location of a script that tail-calls respd's Lua API
#: (Redis names the script's line; see respd/scripting/runtime.py's docstring)
KNOWN = {
    b"return redis.call('incr', 's')", b"return redis.call()", b"return redis.call({})", b"return rawset(_G, 'a', 1)",
    b"return redis.log(99, 'x')", b"return redis.log(1)", b"return redis.log('x', 'y')", b"return redis.setresp(4)",
    b"return redis.setresp()",
    b"return redis.set_repl(8)", b"return redis.set_repl()", b"return redis.sha1hex()", b"return bit.band()",
    b"return bit.band('x')", b"return math.random(0)",
}


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


@pytest.mark.parametrize("body", sorted(KNOWN))
def test_known_differences_are_only_the_location(rt, body):
    """Redis appends ``script: <sha>, on @user_script:1.`` (and for argument errors prefixes ``user_script:1:``);
    respd cannot name a frame that a tail call removed, the message itself is the same."""
    recorded = {c[0]: c[1] for c in RECORDED}.get(body, MATH_RANDOM_0)
    ours = run_bytes(rt, body, 2)
    assert recorded.endswith(b" script: {sha}, on @user_script:1.\r\n"), recorded
    core = ours[len(b"-ERR "):-2]
    assert ours.startswith(b"-ERR ") and core in recorded and b"script:" not in ours, (ours, recorded)
