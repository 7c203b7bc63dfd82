"""Helpers shared by the SQL store tests (fixtures are in conftest.py)."""
from __future__ import annotations

from backends.pg_trio import PgDatabase


def make_db(dsn: str, **kw) -> PgDatabase:
    kw.setdefault("pool_max", 8)
    kw.setdefault("command_timeout", 5.0)
    kw.setdefault("connect_timeout", 5.0)
    return PgDatabase("db:test", dsn, **kw)
