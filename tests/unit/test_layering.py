"""The house's rules on imports, checked from the source (no import is executed):

- every module sits on a floor (``FLOORS``, top first) and imports only from its own floor or those below, lazy
  imports included: the house is one-way;
- no import cycle among the modules of ``respd`` and ``backends``, lazy imports included (importing ``a.b`` also
  runs ``a/__init__.py``, so a package's ``__init__`` counts as a module, except for the modules inside it: it is
  initialised first);
- no import inside a function, unless a ``# lazy`` comment on its line or right above its group of imports says
  why (saving startup time);
- ``backends`` never imports ``respd``; trio only where ``TRIO_ALLOWED`` says;
- no module over ``MAX_LINES`` lines.

A failure names the modules involved, so the fix can start from the message.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("respd", "backends")
MAX_LINES = 550
#: the floors, top first: a module imports only from its own floor and the floors after it. A name ending with '.'
#: is a package prefix; the security package's modules are floors of their own, in the order they build on each
#: other.
FLOORS = (
    ("respd.__main__",),
    ("respd.server",),
    ("respd.net.",),                                   # the trio layer: transports, the client loop, the poller
    ("respd.pipeline",),                               # a received chunk's requests -> encoded replies
    ("respd.dispatch",),                               # one request: the generic checks, run, EXEC's queue
    ("respd.scriptcall",),                             # an EVAL script's run and its redis.call checks
    ("respd.commands.catalog",),
    ("respd.commands.", "respd.monitor"),              # the command families
    ("respd.security.loading",), ("respd.security.runtime",), ("respd.security.engine",),
    ("respd.security.users",), ("respd.security.rules",), ("respd.security.model", "respd.security"),
    ("respd.commands.table", "respd.commands.args", "respd.commands"),  # the table leaf the rules read
    ("respd.scripting.",),                             # the Lua runtime (sans-I/O), below the command families
    ("respd.state", "respd.registry", "respd.session", "respd.outbuf", "respd.units", "respd.blocking",
     "respd.pubsub", "respd.bus", "respd.notify_rules", "respd.notify", "respd.tracking"),
    ("respd.protocol.", "respd.replies", "respd.errors", "respd"),
    ("backends.",),
)
#: modules allowed to import trio (a module name, or a package prefix ending with '.'): the network floor, the
#: server and the CLI that runs it, the PostgreSQL driver, and the stores' own async parts (the memory store's
#: cleanup task; the SQL store's deadline on every statement and its cleanup task). The sans-I/O floors
#: (protocol, replies, dispatch, commands, security, state) never do.
TRIO_ALLOWED = ("respd.net.", "respd.server", "respd.__main__", "backends.pg.", "backends.memory",
                "backends.sql.store", "backends.sql.transactions")


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(importer: str, node: ast.ImportFrom) -> list[str]:
    """The modules of ours an ``from X import a, b`` statement runs (X, and X.a when that is a module)."""
    if node.level:
        base = importer.split(".")
        if not _is_package(importer):
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = [target] if target in MODULES else []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in MODULES:
            out.append(sub)
    return out


def _with_parents(name: str) -> list[str]:
    """Importing a.b.c runs a, a.b and a.b.c."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in MODULES]


class _Imports(ast.NodeVisitor):
    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.lines = source.splitlines()
        self.depth = 0            # inside a function
        self.top: set[str] = set()
        self.every: set[str] = set()  # top-level and lazy
        self.external: set[str] = set()
        self.unexplained: list[str] = []

    def _note(self, node, targets: list[str], external: list[str]) -> None:
        for t in targets:
            self.every.update(_with_parents(t))
        if self.depth:
            if not self._explained(node.lineno - 1):
                self.unexplained.append(f"{self.name}:{node.lineno}: {self.lines[node.lineno - 1].strip()}")
            return
        for t in targets:
            self.top.update(_with_parents(t))
        self.external.update(external)

    def _explained(self, i: int) -> bool:
        """Whether line i (0-based), or the imports, blank lines and comments right above it, say ``# lazy``."""
        while i >= 0:
            text = self.lines[i].strip()
            if "# lazy" in text:
                return True
            if text and not text.startswith(("import ", "from ", "#")):
                return False
            i -= 1
        return False

    def visit_Import(self, node: ast.Import) -> None:
        ours = [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
        self._note(node, [t for t in ours if t in MODULES], [a.name.split(".")[0] for a in node.names])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        external = [] if node.level else [(node.module or "").split(".")[0]]
        self._note(node, _resolve(self.name, node), external)

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING":
            for child in node.orelse:  # only the else branch runs
                self.visit(child)
            return
        self.generic_visit(node)


def _scan() -> dict[str, _Imports]:
    out = {}
    for name, path in MODULES.items():
        source = path.read_text()
        v = _Imports(name, source)
        v.visit(ast.parse(source, str(path)))
        # a module's own packages are initialised before it runs: an edge to them is no cycle (a package's
        # __init__ may re-export its modules)
        v.top.difference_update(_with_parents(name))
        v.every.difference_update(_with_parents(name))
        out[name] = v
    return out


SCANNED = _scan()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def _path_within(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One concrete cycle inside a component, for the message."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return [start] + path[::-1][1:] + [start] if len(path) > 1 else [start, node, start]
            if child not in prev:
                prev[child] = node
                queue.append(child)
    return comp


def test_checker_sees_a_cycle():
    """The cycle finder itself: a → b → c → a is one component, d alone is none."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _path_within(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_checker_sees_an_unexplained_import():
    source = "def f():\n    x = 1\n    import os\n\n\ndef g():\n    # lazy: startup\n\n    import json\n"
    v = _Imports("m", source)
    v.visit(ast.parse(source))
    assert v.unexplained == ["m:3: import os"]


def _floor(name: str) -> int:
    """The floor of the most specific entry of FLOORS naming the module (its exact name, else the longest prefix)."""
    best, where = -1, None
    for i, floor in enumerate(FLOORS):
        for entry in floor:
            exact = name == entry
            if exact or name == entry.rstrip(".") or (entry.endswith(".") and name.startswith(entry)):
                score = len(entry) + (1000 if exact else 0)
                if score > best:
                    best, where = score, i
    assert where is not None, f"{name} is on no floor: add it to FLOORS"
    return where


def test_every_module_is_on_a_floor():
    for name in MODULES:
        _floor(name)


def _upward(imports: dict[str, set[str]]) -> list[str]:
    return sorted(f"{n} imports {t}" for n, targets in imports.items() for t in targets if _floor(t) < _floor(n))


def test_checker_sees_an_import_up_the_floors():
    assert _upward({"respd.state": {"respd.units"}, "respd.session": {"respd.dispatch"}}) == \
        ["respd.session imports respd.dispatch"]


def test_imports_go_down_only():
    up = _upward({n: v.every for n, v in SCANNED.items()})
    assert not up, "imports up the floors: " + "; ".join(up)


def test_no_import_cycles():
    graph = {name: v.every & set(MODULES) for name, v in SCANNED.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(_path_within(graph, c)) for c in cycles)


def test_no_unexplained_imports_inside_functions():
    found = [line for v in SCANNED.values() for line in v.unexplained]
    assert not found, "imports inside functions without a '# lazy:' reason:\n" + "\n".join(found)


def test_backends_never_import_respd():
    bad = sorted(f"{n} imports {t}" for n, v in SCANNED.items() if n.startswith("backends")
                 for t in v.top if t.startswith("respd"))
    assert not bad, bad


def test_trio_only_in_the_io_floors():
    bad = sorted(n for n, v in SCANNED.items() if "trio" in v.external
                 and not any(n == a or (a.endswith(".") and n.startswith(a)) for a in TRIO_ALLOWED))
    assert not bad, f"modules importing trio outside {TRIO_ALLOWED}: {bad}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    lines = MODULES[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"
