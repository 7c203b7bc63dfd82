"""The recorded Redis 7.0.15 corpora replayed against respd, one test per case: ``../shared/compat/cases.json``
(strings, keyspace, transactions, ACL, limits) and, of ``cases-types.json``, the groups of the families respd
implements (``TYPES_GROUPS``).

The corpus tool runs once per file against a dedicated respd (cases create ACL users and flush everything);
each test then reports its own case. Skipped cleanly when the shared folder is not beside the repository.
Filters as agreed for respd's scope: no ``optional`` or ``quirk`` cases.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import SHARED_DIR, RespdProcess

CORPUS_TOOL = SHARED_DIR / "compat" / "corpus.py"
CASES_FILE = SHARED_DIR / "compat" / "cases.json"
TYPES_FILE = SHARED_DIR / "compat" / "cases-types.json"
FILTERS = ["--skip-tag", "optional", "--skip-tag", "quirk"]
#: the groups of cases-types.json whose family respd implements
TYPES_GROUPS = ("scripting", "hashes", "sets", "lists", "zsets", "pubsub", "tracking")

#: cases respd is known to fail, with the reason (each becomes a strict xfail)
KNOWN_FAILURES = {
    "scripting/lua-stdlib": "issue 13 asks for os.clock in scripts; Redis 7.0.15 has no os table at all",
}


def _selected_cases(path, groups=None) -> list[str]:
    if not path.exists():
        return []
    cases = json.loads(path.read_text())["cases"]
    out = []
    for c in cases:
        if {"optional", "quirk"} & set(c.get("tags", [])):
            continue
        if groups is not None and c.get("group") not in groups:
            continue
        out.append(c["name"])
    return out


CASE_NAMES = _selected_cases(CASES_FILE)
TYPES_CASE_NAMES = _selected_cases(TYPES_FILE, TYPES_GROUPS)


@pytest.fixture(scope="module")
def corpus_results():
    return _run_corpus(CASES_FILE, FILTERS)


@pytest.fixture(scope="module")
def types_results():
    return _run_corpus(TYPES_FILE, [a for g in TYPES_GROUPS for a in ("--group", g)])


def _run_corpus(path, filters) -> dict:
    if not CORPUS_TOOL.exists() or not path.exists():
        pytest.skip("shared corpus not found at %s" % path)
    proc = RespdProcess().start()
    try:
        r = subprocess.run([sys.executable, str(CORPUS_TOOL), "--port", str(proc.port), "--check", str(path),
                            "-v", *filters], capture_output=True, text=True, timeout=600)
    finally:
        proc.stop()
    results: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in r.stdout.splitlines():
        if line.startswith(("PASS ", "FAIL ")):
            status, rest = line.split(" ", 1)
            current = rest.split(" [", 1)[0].strip()
            results[current] = (status, [])
        elif line.startswith(" ") and current is not None:
            results[current][1].append(line)
    if not results:
        pytest.fail("corpus tool produced no results:\n%s\n%s\n%s" % (r.stdout[-3000:], r.stderr[-3000:],
                                                                      proc.stderr_text()))
    return results


def _params(names, path):
    if not names:
        return [pytest.param("<no corpus>", marks=pytest.mark.skip(reason="shared corpus not found at %s" % path))]
    out = []
    for name in names:
        marks = ()
        if name in KNOWN_FAILURES:
            marks = (pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]),)
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("case", _params(CASE_NAMES, CASES_FILE))
def test_corpus_case(case, corpus_results):
    _check(case, corpus_results)


@pytest.mark.parametrize("case", _params(TYPES_CASE_NAMES, TYPES_FILE))
def test_types_corpus_case(case, types_results):
    _check(case, types_results)


def _check(case, results):
    if case not in results:
        pytest.skip("not run by the corpus tool with these filters")
    status, details = results[case]
    assert status == "PASS", "\n".join(details)
