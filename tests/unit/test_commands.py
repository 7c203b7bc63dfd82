"""Command semantics through ``dispatch.execute`` on each store kind (``store_kind``), table-driven.

The tables live in ``command_cases.py``; ``CASES`` are also replayed against a real redis-server by
``tests/differential/test_tables_vs_redis.py``, so the expected bytes here are Redis' own.
"""
from __future__ import annotations

import pytest

from tests.unit.command_cases import CASES, CLOCK_CASES, Advance, describe, matches, parse_step


async def run_case(app, clock, call, steps):
    sessions = {}
    for n, (cmd, expected) in enumerate(steps):
        if isinstance(cmd, Advance):
            clock.advance_ms(cmd.ms)
            continue
        conn, cmd = parse_step(cmd)
        sess = sessions.get(conn)
        if sess is None:
            sess = sessions[conn] = app.new_session("127.0.0.1:%d" % (40000 + conn), "127.0.0.1:6379", conn)
        got = await call(sess, cmd)
        assert matches(got, expected), describe(steps, n, got)


#: Cases whose Redis behaviour a SQL store knowingly does not reproduce (README, "SQL stores").
SQL_DIFFERENCES = {
    "strings/set-binary-and-empty": "a VARCHAR key column holds UTF-8 text only: binary keys are refused with "
                                    "-ERR invalid key (a BYTEA key column makes them work)",
}


def _expect_sql_difference(request, store_kind, name):
    if store_kind == "sql" and name in SQL_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=SQL_DIFFERENCES[name]))


@pytest.mark.parametrize("name", sorted(CASES))
async def test_command_case(name, app, clock, call, store_kind, request):
    _expect_sql_difference(request, store_kind, name)
    await run_case(app, clock, call, CASES[name])


@pytest.mark.parametrize("name", sorted(CLOCK_CASES))
async def test_clock_case(name, app, clock, call, store_kind, request):
    _expect_sql_difference(request, store_kind, name)
    await run_case(app, clock, call, CLOCK_CASES[name])
