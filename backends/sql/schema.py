"""A SQL store's table: the DDL that creates it (``respd sql-schema``) and the checks ``SQLStore.start()`` runs.

Schema (names configurable)::

    key VARCHAR(255) PRIMARY KEY, value BYTEA NOT NULL, expires_at BIGINT
    + CREATE INDEX ... ON table (expires_at) WHERE expires_at IS NOT NULL

The key column may also be TEXT or BYTEA (see ``backends.sql.keys``); it needs a PRIMARY KEY or UNIQUE index
(``INSERT ... ON CONFLICT``).
"""
from __future__ import annotations

from typing import Optional

from psycopg import errors as pg_errors
from psycopg import sql

from backends.pg.connection import TrioConnection
from backends.pg.pipeline import execute
from backends.sql.errors import SchemaError
from backends.sql.keys import KeyColumn
from backends.sql.statements import Table


def ddl(table: Table) -> list:
    """The CREATE TABLE and CREATE INDEX statements of a table (composed, not yet rendered)."""
    t, k, v, e = table.t, table.k, table.v, table.e
    base = table.name.split(".")[-1]
    index = sql.Identifier(("%s_%s_idx" % (base, table.expire_column))[:63])
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {t} (\n"
                "    {k} VARCHAR(255) PRIMARY KEY,\n"
                "    {v} BYTEA NOT NULL,\n"
                "    {e} BIGINT\n"
                ")").format(t=t, k=k, v=v, e=e),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} ({e}) WHERE {e} IS NOT NULL").format(t=t, e=e, i=index),
    ]


def schema_ddl(store) -> str:
    """The CREATE TABLE and CREATE INDEX statements for a store's table (``respd sql-schema STORE_ID``)."""
    return "".join(stmt.as_string(None) + ";\n" for stmt in ddl(store.table))


async def prepare(conn: TrioConnection, store_id: str, table: Table, create: bool) -> KeyColumn:
    """Create the table when it does not exist and ``create`` is set, then check it: how its key column holds keys.

    Raises SchemaError (naming the store, table and column) when the table or a column is missing or unusable."""
    cols = await _inspect(conn, table)
    if cols is None and create:
        try:
            for stmt in ddl(table):
                await execute(conn, stmt.as_bytes(None), ())
        except (pg_errors.UniqueViolation, pg_errors.DuplicateTable, pg_errors.DuplicateObject):
            pass  # another node created it at the same moment
        cols = await _inspect(conn, table)
    key_column = _check_columns(store_id, table, cols)
    if not await _has_unique_key(conn, table):
        raise SchemaError(store_id, 'table "%s": column "%s" has no PRIMARY KEY or UNIQUE index '
                          "(needed for INSERT ... ON CONFLICT)" % (table.name, table.key_column))
    return key_column


async def _inspect(conn: TrioConnection, table: Table) -> Optional[dict]:
    """{column: (type name, typmod)} of the table, or None when it does not exist."""
    rows = await execute(conn, b"SELECT to_regclass(%s) IS NOT NULL", (table.regclass(),))
    if not rows[0][0]:
        return None
    rows = await execute(conn, b"SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a "
                               b"JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass(%s) "
                               b"AND a.attnum > 0 AND NOT a.attisdropped", (table.regclass(),))
    return {name: (typ, mod) for name, typ, mod in rows}


def _check_columns(store_id: str, table: Table, cols: Optional[dict]) -> KeyColumn:
    t = table.name
    if cols is None:
        raise SchemaError(store_id, 'table "%s" does not exist (create it with `respd sql-schema %s`, or set '
                          "create_table: true)" % (t, store_id))
    for col in (table.key_column, table.value_column, table.expire_column):
        if col not in cols:
            raise SchemaError(store_id, 'table "%s" has no column "%s"' % (t, col))
    ktype, kmod = cols[table.key_column]
    if ktype == "varchar":
        key_column = KeyColumn(store_id, "varchar", kmod - 4 if kmod >= 4 else None)
    elif ktype in ("text", "bytea"):
        key_column = KeyColumn(store_id, ktype, None)
    else:
        raise SchemaError(store_id, 'table "%s": column "%s" is %s; the key column must be VARCHAR, TEXT or '
                          "BYTEA" % (t, table.key_column, ktype))
    if cols[table.value_column][0] != "bytea":
        raise SchemaError(store_id, 'table "%s": column "%s" is %s; the payload column must be BYTEA'
                          % (t, table.value_column, cols[table.value_column][0]))
    if cols[table.expire_column][0] != "int8":
        raise SchemaError(store_id, 'table "%s": column "%s" is %s; the expire column must be BIGINT (Unix ms)'
                          % (t, table.expire_column, cols[table.expire_column][0]))
    return key_column


async def _has_unique_key(conn: TrioConnection, table: Table) -> bool:
    rows = await execute(conn, b"SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a "
                               b"ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                               b"WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnkeyatts = 1 "
                               b"AND i.indpred IS NULL AND a.attname = %s)",
                         (table.regclass(), table.key_column))
    return bool(rows[0][0])
