"""The network layer's place in the floors (issue 12): ``server`` imports ``net/``, ``net/`` never imports
``server`` (or the CLI); the sans-I/O floors below (pipeline, dispatch, session, outbuf, monitor) import neither;
and of respd's own modules only ``net/``, ``server`` and the CLI import trio. Read from the source (every import,
in functions too), so a lazy import cannot hide a way back up."""
from __future__ import annotations

import ast
from pathlib import Path

RESPD = Path(__file__).resolve().parents[2] / "respd"


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules a respd module imports (relative imports resolved)."""
    rel = path.relative_to(RESPD.parent).with_suffix("")
    package = list(rel.parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(module + "." + a.name for a in node.names)
    return names


def _module_files(*globs: str) -> list[Path]:
    return sorted(p for g in globs for p in RESPD.glob(g))


def test_net_never_imports_the_server_or_the_cli():
    for path in _module_files("net/*.py"):
        up = {n for n in _imports(path) if n in ("respd.server", "respd.__main__")}
        assert not up, "%s imports %s" % (path.name, up)


def test_the_sans_io_floors_import_no_network_code():
    for path in _module_files("pipeline.py", "dispatch.py", "session.py", "outbuf.py", "monitor.py"):
        up = {n for n in _imports(path) if n.startswith(("respd.net", "respd.server", "trio"))}
        assert not up, "%s imports %s" % (path.name, up)


def test_only_the_network_layer_the_server_and_the_cli_import_trio():
    allowed = set(_module_files("net/*.py", "server.py", "__main__.py"))
    for path in _module_files("*.py", "*/*.py"):
        if path not in allowed:
            assert not {n for n in _imports(path) if n == "trio" or n.startswith("trio.")}, path
