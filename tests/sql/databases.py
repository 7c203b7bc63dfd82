"""``make_db``: a ``PgDatabase`` with the settings of the SQL tests (a plain module, so tests need not import the
conftest)."""
from __future__ import annotations

from backends.pg.pool import PgDatabase


def make_db(dsn: str, **kw) -> PgDatabase:
    kw.setdefault("pool_max", 8)
    kw.setdefault("command_timeout", 5.0)
    kw.setdefault("connect_timeout", 5.0)
    return PgDatabase("db:test", dsn, **kw)
