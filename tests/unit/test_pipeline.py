"""The command tables again, pipelined (``pipelined.run_pipelined``: every run of consecutive steps on one
connection is one chunk through ``pipeline.run_requests`` and ``net.client.finish_chunk``), on memory stores; the
same on SQL stores is in tests/sql/test_commands_on_sql.py.

``run_requests`` runs data commands without the per-request checks while nothing needs checking, and decides
that once per chunk and again after every other command. These cases put MULTI, AUTH, ACL, CLIENT REPLY, QUIT
and CONFIG SET in the middle of a chunk of data commands, so a state change that the fast path missed would
show up here as a wrong reply.
"""
from __future__ import annotations

import pytest

from respd import errors
from respd.net.client import Conn
from respd.pipeline import DONE, FLUSH, FLUSH_AT, run_requests
from tests.helpers import encode_command, split_command
from tests.unit.acl_cases import build
from tests.unit.command_cases import CASES, CLOCK_CASES
from tests.unit.pipelined import client_conn, run_chunk, run_pipelined


@pytest.mark.parametrize("name", sorted(CASES))
async def test_command_case_pipelined(name, app, clock):
    await run_pipelined(app, clock, CASES[name])


@pytest.mark.parametrize("name", sorted(CLOCK_CASES))
async def test_clock_case_pipelined(name, app, clock):
    await run_pipelined(app, clock, CLOCK_CASES[name])


# ----------------------------------------------------------------- state changes in the middle of a chunk
# Each chunk below starts with data commands running on the fast path, changes what must be checked with a
# command in the middle, and goes on with data commands that must now see the change.
def _client(app) -> Conn:
    return client_conn(app, app.new_session("127.0.0.1:41000", "127.0.0.1:6379", 11))


async def _send(c: Conn, *cmds) -> tuple[bytes, bool]:
    c.reader.feed(b"".join(encode_command(*split_command(cmd)) for cmd in cmds))
    return await run_chunk(c)


@pytest.fixture
def mem_app(tmp_path):
    return build(tmp_path)


async def test_client_reply_off_and_skip_mid_chunk(mem_app):
    c = _client(mem_app)
    got, _ = await _send(c, "SET a 1", "CLIENT REPLY OFF", "SET b 2", "GET a", "CLIENT REPLY ON", "GET b",
                         "CLIENT REPLY SKIP", "GET a", "GET b")
    assert got == b"+OK\r\n" + b"+OK\r\n" + b"$1\r\n2\r\n" + b"$1\r\n2\r\n"


async def test_quit_mid_chunk_stops_the_rest(mem_app):
    c = _client(mem_app)
    got, keep = await _send(c, "SET a 1", "QUIT", "SET b 2")
    assert (got, keep) == (b"+OK\r\n+OK\r\n", False)
    got, _ = await _send(_client(mem_app), "MGET a b")
    assert got == b"*2\r\n$1\r\n1\r\n$-1\r\n"


async def test_killed_before_the_chunk_runs_one_request(mem_app):
    c = _client(mem_app)
    mem_app.kill_client(c.sess)
    got, keep = await _send(c, "SET a 1", "SET b 2")
    assert (got, keep) == (b"+OK\r\n", False)


async def test_multi_mid_chunk_queues(mem_app):
    c = _client(mem_app)
    got, _ = await _send(c, "SET a 1", "MULTI", "INCR a", "GET a", "EXEC", "GET a")
    assert got == b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:2\r\n$1\r\n2\r\n$1\r\n2\r\n"


async def test_maxmemory_set_mid_chunk_refuses_writes(mem_app):
    c = _client(mem_app)
    got, _ = await _send(c, "SET a 1", "CONFIG SET maxmemory 1", "SET b 2", "GET a", "CONFIG SET maxmemory 0",
                         "SET b 2")
    oom = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    assert got == b"+OK\r\n+OK\r\n" + oom + b"$1\r\n1\r\n+OK\r\n+OK\r\n"


async def test_auth_mid_chunk(tmp_path):
    app = build(tmp_path, server={"requirepass": "sekret"})
    c = _client(app)
    got, _ = await _send(c, "GET k", "AUTH sekret", "SET k v", "GET k")
    assert got == b"-NOAUTH Authentication required.\r\n+OK\r\n+OK\r\n$1\r\nv\r\n"


async def test_acl_user_mid_chunk(mem_app):
    c = _client(mem_app)
    got, _ = await _send(c, "SET b 1", "ACL SETUSER u on >pw ~a* +@all", "AUTH u pw", "GET b", "GET a", "SET b 2",
                         "AUTH default x", "GET b")
    noperm = b"-" + errors.NOPERM_KEY.encode() + b"\r\n"
    assert got == (b"+OK\r\n+OK\r\n+OK\r\n" + noperm + b"$-1\r\n" + noperm + b"+OK\r\n" + b"$1\r\n1\r\n")


async def test_a_pipeline_of_big_replies_is_sent_in_pieces(mem_app):
    """Replies are handed out for sending every FLUSH_AT bytes, so a long pipeline cannot pile up memory."""
    c = _client(mem_app)
    value = b"v" * 4000  # the largest kind of bulk the fast path encodes itself
    await _send(c, ["SET", "k", value])
    c.reader.feed(encode_command("GET", "k") * 200)
    pieces = []
    status = run_requests(c)
    while status == FLUSH:
        assert FLUSH_AT < c.size <= FLUSH_AT + 4100
        pieces.append(b"".join(c.out))
        c.out.clear()
        c.size = 0
        status = run_requests(c)
    pieces.append(b"".join(c.out))
    assert status == DONE and len(pieces) == 4
    assert b"".join(pieces) == (b"$4000\r\n" + value + b"\r\n") * 200
