"""Command semantics through ``dispatch.execute`` on memory stores, table-driven (the same tables on SQL stores:
tests/sql/test_commands_on_sql.py).

The tables live in ``command_cases.py``; ``CASES`` are also replayed against a real redis-server by
``tests/differential/test_tables_vs_redis.py``, so the expected bytes here are Redis' own.
"""
from __future__ import annotations

import pytest

from tests.unit.command_cases import CASES, CLOCK_CASES, run_case


@pytest.mark.parametrize("name", sorted(CASES))
async def test_command_case(name, app, clock, call):
    await run_case(app, clock, call, CASES[name])


@pytest.mark.parametrize("name", sorted(CLOCK_CASES))
async def test_clock_case(name, app, clock, call):
    await run_case(app, clock, call, CLOCK_CASES[name])
