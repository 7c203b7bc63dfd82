"""The boundaries of the SQL backends, read from the source: ``backends.pg`` is the only package that knows
psycopg's internals, ``backends.sql`` uses only its public names, ``backends.sql.names`` loads without psycopg
(``respd --check-config``). No PostgreSQL needed. (The floors every module keeps, backends never importing respd,
and where trio may be imported: ``tests/unit/test_layering.py``.)"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ROOT / "backends"


def _imports(path: Path):
    """(module, imported name or None) for every import of a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: backends.<package>
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-node.level]) + (
                    "." + module if module else "")
            for a in node.names:
                yield module, a.name


def _files():
    return sorted(p for p in BACKENDS.rglob("*.py"))




def test_only_backends_pg_knows_psycopg_internals():
    bad = []
    for p in _files():
        rel = str(p.relative_to(ROOT))
        for module, name in _imports(p):
            private = (name or "").startswith("_") or any(part.startswith("_") for part in module.split("."))
            if module.startswith("backends.pg") and private and not rel.startswith("backends/pg/"):
                bad.append((rel, module, name))
            if module.split(".")[0] == "psycopg" and private and not rel.startswith("backends/pg/"):
                bad.append((rel, module, name))
            if module.split(".")[0] == "psycopg" and rel.startswith("backends/sql/") and module not in (
                    "psycopg.sql", "psycopg.errors", "psycopg"):
                bad.append((rel, module, name))  # libpq-level modules (pq, waiting, generators) stay in pg/
    assert bad == []




def test_identifier_checks_load_without_psycopg():
    code = ("import sys; from backends.sql.names import validate_identifier; validate_identifier('kv'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'trio')))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
