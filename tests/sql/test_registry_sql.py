"""Registry rules for SQL stores (issue 11 item 16): ``table_name`` is required, and two stores of one registry
may not use the same table of the same database, however their DSNs spell it. Pure configuration: no database
is contacted, so these run without PostgreSQL."""
from __future__ import annotations

import os

import pytest

from respd.registry import ConfigError, build_stores, load
from tests.helpers import run_respd_cli

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "conf", "examples", "sql.yaml")


def registry(stores: dict, dbs: dict = None) -> dict:
    """``stores``: name -> extra fields of a store.sql entry (``database`` defaults to t:pg); ``dbs``: name ->
    DSN of a db.sql.postgres entry."""
    dbs = dbs or {"pg": "host=127.0.0.1 port=5432 dbname=app user=respd"}
    entries = [{"name": n, "kind": "db.sql.postgres", "dsn": dsn} for n, dsn in dbs.items()]
    entries += [dict({"name": n, "kind": "store.sql", "database": "t:pg"}, **f) for n, f in stores.items()]
    return {"version": "1.0", "namespace": "t", "server": {"databases": {i: "t:" + n for i, n in enumerate(stores)}},
            "entries": entries}


def config_error(path) -> str:
    with pytest.raises(ConfigError) as ei:
        build_stores(load([str(path)]))
    msg = str(ei.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_table_name_is_required(write_yaml):
    path = write_yaml("r.yaml", registry({"a": {"table_name": "kv_a"}, "b": {}}))
    msg = config_error(path)
    assert "entry 't:b'" in msg and "field 'table_name'" in msg and "required" in msg
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 1 and "entry 't:b', field 'table_name'" in r.stderr, r.stderr


@pytest.mark.parametrize("a, b, dbs", [
    # the same database entry, the same table
    ({"table_name": "kv"}, {"table_name": "kv"}, None),
    # an unqualified table is public's
    ({"table_name": "kv"}, {"table_name": "public.kv"}, None),
    # two database entries whose DSNs lead to the same database
    ({"table_name": "kv"}, {"table_name": "kv", "database": "t:pg2"},
     {"pg": "host=localhost port=5432 dbname=app user=respd",
      "pg2": "postgresql://other@127.0.0.1:5432/app?connect_timeout=3"}),
])
def test_two_stores_on_one_table_rejected(write_yaml, a, b, dbs):
    path = write_yaml("r.yaml", registry({"a": a, "b": b}, dbs))
    load([str(path)])  # each entry is valid on its own
    msg = config_error(path)
    assert "entry 't:b'" in msg and "field 'table_name'" in msg and "'t:a'" in msg and "public.kv" in msg, msg
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 1 and "already used by store 't:a'" in r.stderr, r.stderr


@pytest.mark.parametrize("a, b, dbs", [
    ({"table_name": "kv"}, {"table_name": "kv2"}, None),
    ({"table_name": "kv"}, {"table_name": "other.kv"}, None),
    ({"table_name": "kv"}, {"table_name": "kv", "database": "t:pg2"},
     {"pg": "host=127.0.0.1 port=5432 dbname=app", "pg2": "host=127.0.0.1 port=5433 dbname=app"}),
    ({"table_name": "kv"}, {"table_name": "kv", "database": "t:pg2"},
     {"pg": "host=127.0.0.1 port=5432 dbname=app", "pg2": "host=127.0.0.1 port=5432 dbname=app2"}),
])
def test_stores_on_distinct_tables_accepted(write_yaml, a, b, dbs):
    path = write_yaml("r.yaml", registry({"a": a, "b": b}, dbs))
    stores, _ = build_stores(load([str(path)]))
    assert stores["t:a"].table_name == a["table_name"] and stores["t:b"].table_name == b["table_name"]


def test_example_registry_is_valid(monkeypatch):
    monkeypatch.setenv("RESPD_PG_DSN", "host=127.0.0.1 dbname=respd")
    stores, _ = build_stores(load([EXAMPLE]))
    assert stores["app:persistent"].table_name == "kv_store"


def test_max_value_size_is_a_memory_size(write_yaml):
    """``max_value_size`` bounds a hash or set's payload on a SQL store: Redis' memory units, checked at load."""
    stores, _ = build_stores(load([str(write_yaml("ok.yaml", registry({"a": {"table_name": "kv_a",
                                                                         "max_value_size": "1mb"}})))]))
    assert stores["t:a"].max_value_size == 1024 * 1024
    path = write_yaml("bad.yaml", registry({"a": {"table_name": "kv_a", "max_value_size": "lots"}}))
    msg = config_error(path)
    assert "entry 't:a'" in msg and "field 'max_value_size'" in msg
    r = run_respd_cli("--check-config", str(path))
    assert r.returncode == 1 and "field 'max_value_size'" in r.stderr, r.stderr
