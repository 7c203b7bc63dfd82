"""Every statement of a SQL store, composed once per table with ``psycopg.sql`` (identifiers quoted by psycopg).

The texts are stable, so PostgreSQL prepares each once per connection (``backends.pg.pipeline``). Placeholders are
``%s``; the fields ``{t}``, ``{k}``, ``{v}``, ``{e}`` are the table and its key, value and expiry columns,
``{ka}`` the SQL type of a key array (``text`` or ``bytea``), and two fragments recur:

- ``{live}``: the row has not expired, ``({e} IS NULL OR {e} > %s)`` with ``now`` as its parameter;
- ``{stringish}``: the value is a string for Redis, judged by the first byte of its msgpack payload.
"""
from __future__ import annotations

from psycopg import sql

from backends.pg.pool import Merge
from backends.sql.names import validate_identifier

# First bytes of msgpack objects that are not strings for Redis: fixmap, fixarray, nil, bool, ext, array/map
# 16/32. An empty payload or 0xc1 (never used) is corrupt: treated as a string so reading it reports
# CorruptValue. Used to refuse GETDEL/GETEX on non-strings inside the single statement.
NON_STRING_TAGS = "192,194,195,199,200,201,212,213,214,215,216,220,221,222,223"


def identifier(name: str, what: str, qualified: bool = False) -> sql.Identifier:
    """``name`` as an SQL identifier (``schema.table`` when ``qualified``); ValueError naming ``what`` if invalid."""
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        validate_identifier(name, allow_schema=qualified)
    except ValueError:
        raise ValueError("invalid identifier for %s: %r (letters, digits and _, not starting with a digit, "
                         "at most 63 characters%s)" % (what, name, "; schema.table allowed" if qualified else ""))
    return sql.Identifier(*name.split("."))


class Table:
    """A store's table and its three columns: the configured names and their SQL identifiers.

    Raises ``ValueError("invalid identifier ...")`` for a name outside ``[A-Za-z_][A-Za-z0-9_]{0,62}`` (the table
    may be ``schema.table``) and when two columns have the same name."""

    __slots__ = ("name", "key_column", "value_column", "expire_column", "t", "k", "v", "e")

    def __init__(self, name: str, key_column: str, value_column: str, expire_column: str):
        self.name = name
        self.key_column = key_column
        self.value_column = value_column
        self.expire_column = expire_column
        self.t = identifier(name, "table_name", qualified=True)
        self.k = identifier(key_column, "id_column_name")
        self.v = identifier(value_column, "payload_column_name")
        self.e = identifier(expire_column, "expire_column_name")
        if len({key_column, value_column, expire_column}) != 3:
            raise ValueError("invalid identifier: id, payload and expire columns must be different")

    def regclass(self) -> str:
        """The table's name as ``to_regclass()`` reads it (quoted identifiers)."""
        return self.t.as_string(None)


class Statements:
    """The statements of one table, as bytes; ``bytea``: the key column is BYTEA (else text)."""

    def __init__(self, table: Table, bytea: bool):
        live = sql.SQL("({e} IS NULL OR {e} > %s)").format(e=table.e)
        stringish = sql.SQL("(CASE WHEN length({v}) = 0 THEN true ELSE NOT (get_byte({v}, 0) BETWEEN 128 AND 159 "
                            "OR get_byte({v}, 0) IN (" + NON_STRING_TAGS + ")) END)").format(v=table.v)
        fields = dict(t=table.t, k=table.k, v=table.v, e=table.e, ka=sql.SQL("bytea" if bytea else "text"),
                      live=live, stringish=stringish, tl=sql.Literal(table.name))

        def q(text: str, **parts) -> bytes:
            return sql.SQL(text).format(**fields, **parts).as_bytes(None)

        # Many keys: one primary-key probe per key of the array (a LATERAL subquery with LIMIT is never turned into
        # a join), whatever the table's statistics say. "{k} = ANY(array)" let the planner pick a sequential scan
        # on a table autovacuum had not analyzed yet (tests/sql/test_sql_store.py checks the plans).
        # The probes run in array order, so FOR UPDATE locks rows in the caller's (ascending) order.
        def each(cols: str, tail: str = "AND {live} LIMIT 1") -> sql.Composed:
            return sql.SQL("unnest(%s::{ka}[]) AS respd_keys(respd_key) CROSS JOIN LATERAL (SELECT {cols} "
                           "FROM {t} AS respd_t WHERE respd_t.{k} = respd_keys.respd_key {tail}) AS respd_row").format(
                cols=sql.SQL(cols).format(**fields), tail=sql.SQL(tail).format(**fields), **fields)

        ins = "INSERT INTO {t} AS t ({k}, {v}, {e}) "
        self.get = q("SELECT {v} FROM {t} WHERE {k} = %s AND {live}")
        self.get_ve = q("SELECT {v}, {e} FROM {t} WHERE {k} = %s AND {live}")
        self.exp = q("SELECT {e} FROM {t} WHERE {k} = %s AND {live}")
        self.exists1 = q("SELECT 1 FROM {t} WHERE {k} = %s AND {live}")
        self.mget = q("SELECT respd_row.* FROM {each}", each=each("{k}, {v}"))
        # Merged forms (PgDatabase.run(merge=...)): get / exp / exists1 for many keys, (key, <columns>) rows;
        # upsert for many rows.
        self.merge_get = Merge(self.mget)
        self.merge_exp = Merge(q("SELECT respd_row.* FROM {each}", each=each("{k}, {e}")))
        self.merge_exists = Merge(q("SELECT respd_row.* FROM {each}", each=each("{k}, 1")))
        self.merge_upsert = Merge(q("INSERT INTO {t} ({k}, {v}, {e}) SELECT * FROM unnest(%s::{ka}[], %s::bytea[], "
                                    "%s::bigint[]) ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, "
                                    "{e} = EXCLUDED.{e}"), writes=True)
        self.existsn = q("SELECT respd_row.* FROM {each}", each=each("{k}"))
        self.countn = q("SELECT count(*) FROM {each}", each=each("1"))
        self.lock1 = q("SELECT {v}, {e} FROM {t} WHERE {k} = %s FOR UPDATE")
        self.lockn = q("SELECT respd_row.* FROM {each}", each=each("{k}, {v}, {e}", "LIMIT 1 FOR UPDATE"))
        # a script's KEYS, for the rest of its transaction (SQLStore.lock_keys): an advisory lock per key (the table
        # and key hashed; keys that do not exist yet included) taken in one order
        self.lock_advisory = q("SELECT count(pg_advisory_xact_lock(respd_h)) FROM (SELECT DISTINCT "
                               "hashtextextended({tl} || ':' || respd_k::text, 0) AS respd_h "
                               "FROM unnest(%s::{ka}[]) AS respd_k ORDER BY 1) AS respd_hashes")
        # then hold each key's row as RENAME's hold does: the live row locked, or an expired one inserted and held
        # (a missing key gets locked too: single commands of other nodes that would create it wait)
        self.hold_rows = q(ins + "SELECT respd_k, ''::bytea, 0 FROM unnest(%s::{ka}[]) AS respd_k ORDER BY 1 "
                           "ON CONFLICT ({k}) DO UPDATE SET {e} = t.{e} WHERE false")
        self.upsert = q(ins + "VALUES (%s, %s, %s) ON CONFLICT ({k}) DO UPDATE "
                        "SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e}")
        # KEEPTTL: keep a live row's TTL; an expired row counts as absent, so it gets none.
        self.upsert_keep = q(ins + "VALUES (%s, %s, NULL) ON CONFLICT ({k}) DO UPDATE "
                             "SET {v} = EXCLUDED.{v}, {e} = CASE WHEN t.{e} > %s THEN t.{e} END")
        # NX: insert, or take over a row only if it has expired; `t.e <= now` is false for NULL (live forever).
        # ON CONFLICT locks the existing row and re-checks the WHERE on its latest version: one winner.
        self.set_nx = q(ins + "VALUES (%s, %s, %s) ON CONFLICT ({k}) DO UPDATE "
                        "SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e} WHERE t.{e} <= %s RETURNING 1")
        self.set_xx = q("UPDATE {t} SET {v} = %s, {e} = %s WHERE {k} = %s AND {live} RETURNING 1")
        self.set_xx_keep = q("UPDATE {t} SET {v} = %s WHERE {k} = %s AND {live} RETURNING 1")
        self.insert_new = q(ins + "VALUES (%s, %s, %s) ON CONFLICT ({k}) DO NOTHING RETURNING 1")
        # RENAME's hold on dst: locks its row, or inserts one that is expired at once (no reader ever sees it) when
        # there is none. DO UPDATE ... WHERE false updates nothing but locks the existing row, atomically with
        # the check (a DO NOTHING then a lock would miss a row deleted in between).
        self.hold = q(ins + "VALUES (%s, ''::bytea, 0) ON CONFLICT ({k}) DO UPDATE SET {e} = t.{e} WHERE false")
        self.update_row = q("UPDATE {t} SET {v} = %s, {e} = %s WHERE {k} = %s")
        self.del1 = q("DELETE FROM {t} WHERE {k} = %s RETURNING {live}")
        self.del1_live = q("DELETE FROM {t} WHERE {k} = %s AND {live} RETURNING 1")
        # the rows are locked in the keys' order first (FOR UPDATE in each), then deleted by ctid (TID scan)
        self.deln = q("DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT respd_row.ctid FROM {each})) "
                      "RETURNING {k}, {live}", each=each("ctid", "LIMIT 1 FOR UPDATE"))
        self.getdel = q("DELETE FROM {t} WHERE {k} = %s AND {live} AND {stringish} RETURNING {v}")
        self.getex = q("UPDATE {t} SET {e} = %s WHERE {k} = %s AND {live} AND {stringish} RETURNING {v}")
        self.persist = q("UPDATE {t} SET {e} = NULL WHERE {k} = %s AND {e} > %s RETURNING 1")
        # EXPIRE conditions: {cond: (update, delete, whether the condition takes the new time as a parameter)}.
        # No TTL counts as infinite: GT never applies to it, LT always does.
        conds = {None: ("true", False), "NX": ("{e} IS NULL", False), "XX": ("{e} IS NOT NULL", False),
                 "GT": ("{e} < %s", True), "LT": ("({e} IS NULL OR {e} > %s)", True)}
        self.expire = {c: (q("UPDATE {t} SET {e} = %s WHERE {k} = %s AND {live} AND " + text + " RETURNING 1"),
                           q("DELETE FROM {t} WHERE {k} = %s AND {live} AND " + text + " RETURNING 1"), uses_at)
                       for c, (text, uses_at) in conds.items()}
        unnest = "SELECT u.k, u.v, NULL FROM unnest(%s::{ka}[], %s::bytea[]) AS u(k, v) "
        self.mset = q(ins + unnest + "ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = NULL")
        self.msetnx = q(ins + unnest + "ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = NULL "
                        "WHERE t.{e} <= %s RETURNING 1")
        copy = (ins + "SELECT %s, s.{v}, s.{e} FROM {t} AS s WHERE s.{k} = %s AND (s.{e} IS NULL OR s.{e} > %s) "
                "ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {e} = EXCLUDED.{e}")
        self.copy = q(copy + " RETURNING 1")
        self.copy_nx = q(copy + " WHERE t.{e} <= %s RETURNING 1")
        self.keys = q("SELECT {k} FROM {t} WHERE {live}")
        self.keys_like = q("SELECT {k} FROM {t} WHERE {live} AND {k} LIKE %s")
        self.scan0 = q("SELECT {k} FROM {t} WHERE {live} ORDER BY {k} LIMIT %s")
        self.scan = q("SELECT {k} FROM {t} WHERE {k} > %s AND {live} ORDER BY {k} LIMIT %s")
        self.scan0_v = q("SELECT {k}, {v} FROM {t} WHERE {live} ORDER BY {k} LIMIT %s")
        self.scan_v = q("SELECT {k}, {v} FROM {t} WHERE {k} > %s AND {live} ORDER BY {k} LIMIT %s")
        self.random = q("SELECT {k} FROM {t} WHERE {live} OFFSET floor(random() * "
                        "(SELECT count(*) FROM {t} WHERE {live}))::bigint LIMIT 1")
        self.first = q("SELECT {k} FROM {t} WHERE {live} LIMIT 1")
        self.count = q("SELECT count(*) FROM {t} WHERE {live}")
        self.stats = q("SELECT count(*), count({e}) FROM {t} WHERE {live}")
        self.row_size = q("SELECT pg_column_size(t.*) FROM {t} AS t WHERE {k} = %s AND {live}")
        self.flush = q("DELETE FROM {t}")
        # SKIP LOCKED: never wait for (or deadlock with) a writer that is reviving an expired row; the outer
        # condition is re-checked on the row's latest version.
        self.cleanup = q("DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE {e} <= %s "
                         "LIMIT %s FOR UPDATE SKIP LOCKED)) AND {e} <= %s")
        # the same, naming the keys it removed (expired-key notifications: Store.on_expired)
        self.cleanup_keys = q("DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE {e} <= %s "
                              "LIMIT %s FOR UPDATE SKIP LOCKED)) AND {e} <= %s RETURNING {k}")
