"""What a libpq connection string designates, for comparing stores and for log lines (no connection made)."""
from __future__ import annotations

import os

try:
    import pwd
except ImportError:  # not on every platform
    pwd = None

import psycopg
from psycopg.conninfo import conninfo_to_dict

from backends.pg.errors import one_line


def database_target(dsn: str) -> tuple:
    """``(host, port, dbname)`` a libpq connection string designates, defaults filled in as libpq does
    (``PGHOST``/``PGPORT``/``PGDATABASE``/``PGUSER``, unix socket, port 5432, database named after the user).
    Two stores compare these to find that they would share a table. Raises ValueError for an unparsable DSN."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as ex:
        raise ValueError("invalid connection string: %s" % one_line(ex)) from None
    env = os.environ
    host = params.get("host") or params.get("hostaddr") or env.get("PGHOST") or "/var/run/postgresql"
    port = str(params.get("port") or env.get("PGPORT") or "5432")
    if host in ("localhost", "::1"):
        host = "127.0.0.1"
    user = params.get("user") or env.get("PGUSER") or _os_user()
    dbname = params.get("dbname") or env.get("PGDATABASE") or user
    return host, port, dbname


def _os_user() -> str:
    if pwd is None:
        return ""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return ""


def database_where(dsn: str) -> str:
    """``host:port`` (or the socket directory and port) of a DSN, for log lines. Never raises."""
    try:
        host, port, _ = database_target(dsn)
    except ValueError:
        return "?"
    return ("[%s]:%s" if ":" in host else "%s:%s") % (host, port)

