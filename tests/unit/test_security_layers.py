"""respd/security/ imports one way: each module only the ones before it in LAYERS, and from the rest of respd only
the floors below security (the command table and converters, state, session, registry, replies, errors); no
import inside a function. Read from the source (ast), so a cycle is reported even where it would import."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "respd" / "security"
LAYERS = ("model", "rules", "users", "engine", "runtime", "loading")
#: what security may import from the rest of respd (commands.table is the table's name until it is renamed)
BELOW = ("respd.errors", "respd.replies", "respd.session", "respd.registry", "respd.state", "respd.units",
         "respd.commands.table", "respd.commands.table", "respd.commands.args")


def _imports(tree: ast.Module, module: str):
    """(absolute module name, line, top level?) for every import statement of the module."""
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[:-node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            if node.module is None:
                for a in node.names:  # from . import x / from .. import errors: the names are modules
                    yield name + "." + a.name, node.lineno, id(node) in top
            else:
                yield name, node.lineno, id(node) in top


def test_every_module_is_in_a_layer():
    assert sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__") == sorted(LAYERS)
    assert not list(_imports(ast.parse((PACKAGE / "__init__.py").read_text()), "respd.security.__init__"))


@pytest.mark.parametrize("name", LAYERS)
def test_imports_go_down_only(name):
    module = "respd.security." + name
    below = {"respd.security." + m for m in LAYERS[:LAYERS.index(name)]}
    for imported, line, top_level in _imports(ast.parse((PACKAGE / (name + ".py")).read_text()), module):
        assert top_level, "%s:%d imports %s inside a function" % (module, line, imported)
        if imported.startswith("respd.security."):
            assert imported in below, "%s:%d imports %s (not below it in LAYERS)" % (module, line, imported)
        elif imported.startswith("respd"):
            assert imported in BELOW, "%s:%d imports %s, which is not below security" % (module, line, imported)
