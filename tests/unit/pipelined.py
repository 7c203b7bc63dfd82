"""The command tables, pipelined: ``run_pipelined`` sends every run of consecutive steps on one connection as one
chunk, run by ``pipeline.run_requests`` through ``net.client.finish_chunk`` (the server's path, with the socket's
send collected), not one ``execute`` call per step. ``client_conn`` and ``run_chunk`` are that connection and one
received chunk, for tests that build their own chunks; ``bare_client`` and ``run_bare`` a connection without a
socket and one request (Pub/Sub, tracking, cron tests read what others' commands wrote to it).

Used by tests/unit/test_pipeline.py (memory stores) and tests/sql/test_commands_on_sql.py (SQL stores).
"""
from __future__ import annotations

import re

from respd.net.client import Conn, finish_chunk
from respd.pipeline import run_requests
from respd.protocol import RequestReader
from tests.helpers import encode_command, split_command
from tests.unit.command_cases import Advance, parse_step


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


class _Sent:
    """The socket side of a connection, reduced to what ``finish_chunk`` sends."""

    def __init__(self) -> None:
        self.data: list[bytes] = []

    async def send_all(self, data: bytes, c=None) -> None:
        self.data.append(data)


def client_conn(app, sess) -> Conn:
    return Conn(app, sess, RequestReader(authenticated=sess.authenticated), _Sent())


def bare_client(app) -> Conn:
    """A new session with the network layer's state and no socket: what other clients' commands write to it (Pub/Sub
    messages, invalidations) stays in its ``out`` for the test to read."""
    sess = app.new_session("127.0.0.1:5%04d" % len(app.clients), "127.0.0.1:6379", -1)
    c = Conn(app, sess, RequestReader(authenticated=sess.authenticated), None)
    sess.io = c
    return c


def run_bare(c: Conn, *argv) -> bytes:
    """One request through ``pipeline.run_requests`` on a ``bare_client``; everything its output got meanwhile."""
    c.reader.feed(encode_command(*argv))
    run_requests(c)
    data = b"".join(c.out)
    c.out.clear()
    c.size = 0
    return data


async def run_chunk(c: Conn) -> tuple[bytes, bool]:
    """One received chunk through the connection layer's own ``finish_chunk``: what was sent, and whether the
    connection stays open."""
    keep = await finish_chunk(c, run_requests(c))
    got = b"".join(c.transport.data)
    c.transport.data.clear()
    return got, keep


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
            c = clients[conn] = client_conn(app, sess)
        c.reader.feed(b"".join(encode_command(*split_command(cmd)) for cmd, _ in items))
        got, _ = await run_chunk(c)
        want = _expected(items)
        assert want.fullmatch(got), "connection %d, chunk of %d steps %r:\n want %r\n got  %r" % (
            conn, len(items), [cmd for cmd, _ in items], want.pattern, got)
        chunks += 1
    return chunks
