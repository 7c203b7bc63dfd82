"""The library table (tests/unit/scripting_libs_cases.py: cjson, cmsgpack, struct, tail calls into the API) live:
each script runs with EVAL on redis-server and in respd's runtime, and the reply bytes are compared for a RESP2 and
a RESP3 caller. Catches the recorded table going stale against the installed redis-server. None of the scripts
changes the shared cjson settings (they configure ``cjson.new()`` copies), so their order does not matter."""
from __future__ import annotations

import hashlib
import random

import pytest

from respd.replies import Err, encode
from respd.scripting.runtime import ScriptRuntime
from tests.helpers import encode_command
from tests.unit.scripting_libs_cases import BODIES
from tests.unit.test_scripting_libs import no_call


def _random_scripts(seed: int, count: int) -> list[bytes]:
    """Short random inputs for the decoders and random struct formats (a fixed seed: the same list every run)."""
    rnd = random.Random(seed)

    def lua(data: bytes) -> str:
        return "'" + "".join("\\%d" % c for c in data) + "'"

    def pick(alphabet: bytes, low: int, high: int) -> bytes:
        return bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(low, high)))

    json_chars = b'[]{},:"\\ 0123456789-+.eEtrufalsninfxINFAu/bnrt\t\n'
    mp_bytes = bytes([0, 1, 0x7f, 0x80, 0x81, 0x90, 0x91, 0x92, 0xa0, 0xa3, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xca,
                      0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde,
                      0xdf, 0xe0, 0xff, 0x41, 0x3f, 0xf0])
    formats = b"bBhHlLTiIfdxcs<>! 0123489z"
    values = ["1", "-1", "2^40", "0.5", "'abc'", "-0.0", "1e300", "0/0", "'12'", "300", "-70000"]
    out = []
    for _ in range(count):
        kind = rnd.randrange(4)
        if kind == 0:
            out.append("return {pcall(cjson.decode, %s)}" % lua(pick(json_chars, 1, 14)))
        elif kind == 1:
            out.append("local ok, v = pcall(cmsgpack.unpack, %s) return {ok, cjson.encode({v})}"
                       % lua(pick(mp_bytes, 1, 12)))
        elif kind == 2:
            args = "".join(", " + rnd.choice(values) for _ in range(rnd.randrange(4)))
            out.append("return {pcall(struct.pack, %s%s)}" % (lua(pick(formats, 1, 7)), args))
        else:
            out.append("return {pcall(struct.unpack, %s, %s)}"
                       % (lua(pick(formats, 1, 7)), lua(bytes(rnd.randrange(256) for _ in range(rnd.randrange(20))))))
    return [s.encode() for s in out]


RANDOM = _random_scripts(13, 400)


@pytest.fixture(scope="module")
def rt():
    return ScriptRuntime()


@pytest.mark.parametrize("body", BODIES, ids=[b.decode(errors="replace")[:70] for b in BODIES])
@pytest.mark.parametrize("proto", [2, 3])
def test_eval_same_bytes(redis, rt, body, proto):
    with redis.client() as c:
        c.send(encode_command(b"HELLO", str(proto).encode()))
        c.read_reply()
        c.send(encode_command(b"EVAL", body, b"0"))
        theirs = c.read_reply()
    reply = rt.run(rt.load(body), [], [], no_call, proto=proto)
    ours = reply.encoded if isinstance(reply, Err) else encode(reply, proto)
    assert ours == theirs, (body, hashlib.sha1(body).hexdigest())


def test_random_inputs_same_bytes(redis, rt):
    """400 random decoder inputs and struct formats (seeded), RESP3."""
    with redis.client() as c:
        c.send(encode_command(b"HELLO", b"3"))
        c.read_reply()
        for body in RANDOM:
            c.send(encode_command(b"EVAL", body, b"0"))
            theirs = c.read_reply()
            reply = rt.run(rt.load(body), [], [], no_call, proto=3)
            ours = reply.encoded if isinstance(reply, Err) else encode(reply, 3)
            assert ours == theirs, body


def test_cjson_settings_last_until_script_flush(redis):
    """What tests/unit/test_scripting_libs.py asserts of respd, checked on redis-server itself."""
    with redis.client() as c:
        try:
            assert c.call(b"EVAL", b"return cjson.encode_max_depth(2)", b"0") == b":2\r\n"
            assert c.call(b"EVAL", b"return cjson.encode_max_depth()", b"0") == b":2\r\n"
        finally:
            assert c.call(b"SCRIPT", b"FLUSH") == b"+OK\r\n"
        assert c.call(b"EVAL", b"return cjson.encode_max_depth()", b"0") == b":1000\r\n"
