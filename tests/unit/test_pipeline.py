"""The command tables again, pipelined: every run of consecutive steps on one connection is sent as one chunk
and run by ``dispatch.run_requests`` (the server's path), not one ``execute`` call per step.

``run_requests`` runs data commands without the per-request checks while nothing needs checking, and decides
that once per chunk and again after every other command. These cases put MULTI, AUTH, ACL, CLIENT REPLY, QUIT
and CONFIG SET in the middle of a chunk of data commands, so a state change that the fast path missed would
show up here as a wrong reply.
"""
from __future__ import annotations

import re

import pytest

from respd import errors
from respd.dispatch import AWAIT, CLOSE, DONE, DROP, FLUSH, FLUSH_AT, ClientState, add_reply, run_requests
from respd.protocol import RequestReader
from tests.helpers import encode_command, split_command
from tests.unit.command_cases import CASES, CLOCK_CASES, Advance, parse_step
from tests.unit.test_acl import build
from tests.unit.test_commands import SQL_DIFFERENCES


def _runs(steps):
    """Steps grouped into maximal runs on one connection; Advance steps stay on their own."""
    runs = []
    for cmd, expected in steps:
        if isinstance(cmd, Advance):
            runs.append(cmd)
            continue
        conn, cmd = parse_step(cmd)
        if runs and isinstance(runs[-1], tuple) and runs[-1][0] == conn:
            runs[-1][1].append((cmd, expected))
        else:
            runs.append((conn, [(cmd, expected)]))
    return runs


def _expected(items) -> re.Pattern:
    parts = [e.pattern if isinstance(e, re.Pattern) else re.escape(e) for _, e in items]
    return re.compile(b"".join(parts), re.S)


async def _chunk(c: ClientState) -> tuple[bytes, int]:
    """What the connection layer does with one received chunk, without sockets (connection.finish_chunk)."""
    status = run_requests(c)
    while status in (AWAIT, FLUSH):
        if status == AWAIT:
            coro, c.coro = c.coro, None
            status = add_reply(c, await coro)
            if status == DONE:
                status = run_requests(c)
        else:
            status = run_requests(c)
    out = b"".join(c.out)
    c.out.clear()
    c.size = 0
    c.reader.authenticated = c.sess.authenticated
    return out, status


async def run_pipelined(app, clock, steps) -> int:
    clients = {}
    chunks = 0
    for run in _runs(steps):
        if isinstance(run, Advance):
            clock.advance_ms(run.ms)
            continue
        conn, items = run
        c = clients.get(conn)
        if c is None:
            sess = app.new_session("127.0.0.1:%d" % (40000 + conn), "127.0.0.1:6379", conn)
            c = clients[conn] = ClientState(app, sess, RequestReader(authenticated=sess.authenticated))
        c.reader.feed(b"".join(encode_command(*split_command(cmd)) for cmd, _ in items))
        got, status = await _chunk(c)
        assert status in (DONE, CLOSE, DROP)
        want = _expected(items)
        assert want.fullmatch(got), "connection %d, chunk of %d steps %r:\n want %r\n got  %r" % (
            conn, len(items), [cmd for cmd, _ in items], want.pattern, got)
        chunks += 1
    return chunks


@pytest.mark.parametrize("name", sorted(CASES))
async def test_command_case_pipelined(name, app, clock, store_kind, request):
    if store_kind == "sql" and name in SQL_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=SQL_DIFFERENCES[name]))
    await run_pipelined(app, clock, CASES[name])


@pytest.mark.parametrize("name", sorted(CLOCK_CASES))
async def test_clock_case_pipelined(name, app, clock, store_kind, request):
    if store_kind == "sql" and name in SQL_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=SQL_DIFFERENCES[name]))
    await run_pipelined(app, clock, CLOCK_CASES[name])


# ----------------------------------------------------------------- state changes in the middle of a chunk
# Each chunk below starts with data commands running on the fast path, changes what must be checked with a
# command in the middle, and goes on with data commands that must now see the change.
def _client(app) -> ClientState:
    sess = app.new_session("127.0.0.1:41000", "127.0.0.1:6379", 11)
    return ClientState(app, sess, RequestReader(authenticated=sess.authenticated))


async def _send(c: ClientState, *cmds) -> tuple[bytes, int]:
    c.reader.feed(b"".join(encode_command(*split_command(cmd)) for cmd in cmds))
    return await _chunk(c)


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
    got, status = await _send(c, "SET a 1", "QUIT", "SET b 2")
    assert (got, status) == (b"+OK\r\n+OK\r\n", CLOSE)
    got, _ = await _send(_client(mem_app), "MGET a b")
    assert got == b"*2\r\n$1\r\n1\r\n$-1\r\n"


async def test_killed_before_the_chunk_runs_one_request(mem_app):
    c = _client(mem_app)
    mem_app.kill_client(c.sess)
    got, status = await _send(c, "SET a 1", "SET b 2")
    assert (got, status) == (b"+OK\r\n", CLOSE)


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
