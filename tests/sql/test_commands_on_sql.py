"""The command tables on SQL stores: ``command_cases`` (through ``dispatch.execute`` and pipelined through
``pipeline.run_requests``) and ``introspection_cases``, as tests/unit/test_commands.py, test_pipeline.py and
test_introspection.py run them on memory stores. The cases in ``SQL_DIFFERENCES`` must fail here (strict xfail):
a SQL store knowingly answers them differently. Then what only a SQL store is asked.
"""
from __future__ import annotations

import os

import pytest

from tests.unit import introspection_cases
from tests.unit.command_cases import CASES, CLOCK_CASES, SQL_DIFFERENCES, run_case
from tests.unit.pipelined import run_pipelined


def _expect_sql_difference(request, name):
    if name in SQL_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=SQL_DIFFERENCES[name]))


@pytest.mark.parametrize("name", sorted(CASES))
async def test_command_case(name, app, clock, call, request):
    _expect_sql_difference(request, name)
    await run_case(app, clock, call, CASES[name])


@pytest.mark.parametrize("name", sorted(CLOCK_CASES))
async def test_clock_case(name, app, clock, call, request):
    _expect_sql_difference(request, name)
    await run_case(app, clock, call, CLOCK_CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
async def test_command_case_pipelined(name, app, clock, request):
    _expect_sql_difference(request, name)
    await run_pipelined(app, clock, CASES[name])


@pytest.mark.parametrize("name", sorted(CLOCK_CASES))
async def test_clock_case_pipelined(name, app, clock, request):
    _expect_sql_difference(request, name)
    await run_pipelined(app, clock, CLOCK_CASES[name])


@pytest.mark.parametrize("name", sorted(introspection_cases.CASES))
async def test_introspection_case(name, app, clock, call):
    await run_case(app, clock, call, introspection_cases.CASES[name])


# ------------------------------------------------------------------------------------------------ SQL rows only
async def test_memory_usage_of_incompressible_sql_row(session, call):
    """MEMORY USAGE of a row PostgreSQL cannot compress counts at least the value (a repetitive one may count
    less: tests/unit/any_store_introspection.py)."""
    value = os.urandom(50_000)
    assert await call(session, ["SET", "r", value]) == b"+OK\r\n"
    usage = int((await call(session, "MEMORY USAGE r"))[1:-2])
    assert len(value) <= usage < len(value) + 1024
