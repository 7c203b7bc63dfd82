"""The stores' fast path: statements run on libpq directly, in pipeline mode, one round trip per call.

psycopg's cursors cost a lot of Python per statement (bench/README.md, "Measured facts"). The stores' statements
are few, fixed and take simple parameters, so they run here on libpq directly: prepared once per connection,
parameters dumped by hand, results loaded by psycopg's C Transformer, every call one pipeline ending in one Sync
(one round trip). psycopg's generators and ``TrioConnection.wait`` still do the waiting, so cancellation behaves
as for any psycopg call.

:func:`run_statements` runs several statements in one round trip, :func:`execute` one.
"""
from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq

from backends.pg.connection import READY_R, WAIT_R, WAIT_RW, TrioConnection

_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
_PIPELINE_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_BAD = pq.ConnStatus.BAD
_BINARY = pq.Format.BINARY
BEGIN = b"BEGIN"
COMMIT = b"COMMIT"
ROLLBACK = b"ROLLBACK"
#: Most statements prepared per connection; beyond, statements run unnamed (parsed each time).
MAX_PREPARED = 512
_pg_queries: dict[bytes, bytes] = {}
_stmt_names = itertools.count(1)


def _pg_query(query: bytes) -> bytes:
    """``%s`` placeholders as ``$1, $2...`` (statements here hold no other ``%``)."""
    q = _pg_queries.get(query)
    if q is None:
        parts = query.split(b"%s")
        q = parts[0] + b"".join(b"$%d%s" % (i, p) for i, p in enumerate(parts[1:], 1))
        if len(_pg_queries) < 10_000:
            _pg_queries[query] = q
    return q


def _array_literal(items: list) -> bytes:
    """A text-format array of str, bytes, int or None (for ``%s::text[]``, ``::bytea[]``, ``::bigint[]``)."""
    out = []
    for x in items:
        if type(x) is str:
            out.append(b'"' + x.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
        elif x is None:
            out.append(b"NULL")
        elif type(x) is int:
            out.append(b"%d" % x)
        else:  # bytea hex input, its backslash escaped for the array syntax
            out.append(b'"\\\\x' + bytes(x).hex().encode() + b'"')
    return b"{" + b",".join(out) + b"}"


def _dump(params: tuple) -> tuple[list, list]:
    """Parameter values and formats: bytes travel binary, everything else as text (types are inferred by the
    server when the statement is prepared)."""
    values = []
    formats = []
    for p in params:
        t = type(p)
        if t is bytes or t is bytearray or t is memoryview:
            values.append(bytes(p))
            formats.append(1)
            continue
        formats.append(0)
        if p is None:
            values.append(None)
        elif t is str:
            values.append(p.encode())
        elif t is bool:
            values.append(b"t" if p else b"f")
        elif t is int:
            values.append(b"%d" % p)
        elif t is list or t is tuple:
            values.append(_array_literal(p))
        else:
            raise TypeError("unsupported parameter type %s" % t.__name__)
    return values, formats


def _pipeline_gen(pgconn, sends: list):
    """libpq generator: queue every send, Sync, flush, and collect results up to the Sync.

    Returns one list of PGresults per queued command (prepares included), in order."""
    for send in sends:
        send()
    pgconn.pipeline_sync()
    while pgconn.flush():
        ready = yield WAIT_RW  # the server may be answering while we still send: read too, or both block
        if ready & READY_R:
            pgconn.consume_input()
    results: list = []
    current: list = []
    while True:
        while pgconn.is_busy():
            yield WAIT_R
            pgconn.consume_input()
        r = pgconn.get_result()
        if r is None:  # end of one command's results
            results.append(current)
            current = []
        elif r.status == _PIPELINE_SYNC:
            return results
        else:
            current.append(r)


async def run_statements(conn: TrioConnection, stmts: list) -> list:
    """Run ``[(query, params), ...]`` in one pipeline with one Sync: one round trip.

    Returns, per statement, its rows (list of tuples, values loaded as psycopg would) when it returns rows, else
    its rowcount. Outside an explicit transaction the statements form one implicit transaction, committed by the
    Sync. Raises the first statement's error (a ``psycopg.Error``): then, outside a transaction, none of the
    statements took effect; inside one, the transaction is aborted (as with psycopg)."""
    pgconn = conn.pgconn
    prepared = conn.respd_prepared
    sends = []
    kinds = []  # per queued command: (query, name) for a prepare, or None for a statement to run
    new: dict = {}
    for query, params in stmts:
        values, formats = _dump(params)
        name = prepared.get(query) or new.get(query)
        if name is None and len(prepared) + len(new) < MAX_PREPARED:
            name = new[query] = b"respd_%d" % next(_stmt_names)
            sends.append(partial(pgconn.send_prepare, name, _pg_query(query), None))
            kinds.append((query, name))
        if name is None:
            sends.append(partial(pgconn.send_query_params, _pg_query(query), values, None, formats, _BINARY))
        else:
            sends.append(partial(pgconn.send_query_prepared, name, values, formats, _BINARY))
        kinds.append(None)
    async with conn.lock:
        conn._check_connection_ok()
        pgconn.enter_pipeline_mode()
        try:
            results = await conn.wait(_pipeline_gen(pgconn, sends))
        finally:
            if pgconn.status != _BAD and pgconn.pipeline_status:
                try:
                    pgconn.exit_pipeline_mode()
                except psycopg.Error:
                    conn.abort()  # results left unread: the connection cannot be reused
    out = []
    error = None
    for kind, res in zip(kinds, results):
        r = res[-1] if res else None
        status = r.status if r is not None else None
        if kind is not None:  # a prepare
            if status == _COMMAND_OK:
                prepared[kind[0]] = kind[1]
            elif error is None and r is not None and status != _PIPELINE_ABORTED:
                error = pg_errors.error_from_result(r, encoding=conn.pgconn._encoding)
            continue
        if status == _TUPLES_OK:
            conn.respd_loader.set_pgresult(r)
            out.append(conn.respd_loader.load_rows(0, r.ntuples, tuple))
        elif status == _COMMAND_OK:
            out.append(r.command_tuples or 0)
        else:
            if error is None and status != _PIPELINE_ABORTED and r is not None:
                error = pg_errors.error_from_result(r, encoding=conn.pgconn._encoding)
            out.append(None)
    if error is not None:
        if isinstance(error, pg_errors.InvalidSqlStatementName):
            prepared.clear()  # someone ran DEALLOCATE/DISCARD ALL: prepare again next time
        raise error
    if len(out) != len(stmts):
        raise psycopg.InterfaceError("pipeline returned %d results for %d statements" % (len(out), len(stmts)))
    return out


async def execute(conn: TrioConnection, query: bytes, params: tuple) -> Any:
    """Run one statement; its rows (list of tuples) when it returns rows, else its rowcount."""
    return (await run_statements(conn, [(query, params)]))[0]

