"""The unit tests' command tables (``tests/unit/command_cases.py``) replayed on a real redis-server.

This proves that every expected reply in the tables is what Redis 7.0.15 sends, so the unit tests pin Redis
behaviour rather than respd's own idea of it. Each case starts from FLUSHALL on fresh connections.
"""
from __future__ import annotations

import pytest

from tests.unit.command_cases import CASES, describe, matches, parse_step
from tests.helpers import split_command


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_matches_redis(name, redis):
    steps = CASES[name]
    conns = {}
    try:
        for n, (cmd, expected) in enumerate(steps):
            conn, cmd = parse_step(cmd)
            c = conns.get(conn)
            if c is None:
                c = conns[conn] = redis.client()
            got = c.call(*split_command(cmd))
            assert matches(got, expected), describe(steps, n, got)
    finally:
        for c in conns.values():
            c.close()
