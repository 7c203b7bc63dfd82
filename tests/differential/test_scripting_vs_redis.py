"""The scripting table (tests/unit/scripting_cases.py) live: each script runs with EVAL on redis-server and in
respd's runtime (a fake ``redis.call`` answering what respd's handlers return for the same data), and the reply
bytes are compared, for a RESP2 and a RESP3 caller. Catches a recorded table going stale against the installed
redis-server."""
from __future__ import annotations

import hashlib

import pytest

from respd.replies import Err, encode
from respd.scripting.runtime import ScriptRuntime
from tests.helpers import encode_command, split_command
from tests.unit.scripting_cases import BODIES, SETUP, fake_call
from tests.unit.test_scripting_convert import KNOWN


@pytest.fixture(scope="module")
def rt():
    return ScriptRuntime()


BODIES_COMPARED = [b for b in BODIES if b not in KNOWN]


@pytest.mark.parametrize("body", BODIES_COMPARED, ids=[b.decode(errors="replace")[:60] for b in BODIES_COMPARED])
@pytest.mark.parametrize("proto", [2, 3])
def test_eval_same_bytes(redis, rt, body, proto):
    with redis.client() as c:
        for cmd in SETUP:
            c.call(*split_command(cmd))
        c.send(encode_command(b"HELLO", str(proto).encode()))
        c.read_reply()
        c.send(encode_command(b"EVAL", body, b"0"))
        theirs = c.read_reply()
    reply = rt.run(rt.load(body), [], [], fake_call, proto=proto)
    ours = reply.encoded if isinstance(reply, Err) else encode(reply, proto)
    assert ours == theirs, (body, hashlib.sha1(body).hexdigest())
