"""Command semantics through ``dispatch.execute`` on each store kind (``store_kind``), table-driven.

The tables live in ``command_cases.py``; ``CASES`` are also replayed against a real redis-server by
``tests/differential/test_tables_vs_redis.py``, so the expected bytes here are Redis' own.
"""
from __future__ import annotations

import pytest

from tests.unit.command_cases import CASES, CLOCK_CASES, SQL_DIFFERENCES, run_case


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
