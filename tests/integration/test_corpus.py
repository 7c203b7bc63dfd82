"""The recorded Redis 7.0.15 corpus (``../shared/compat/cases.json``) replayed against respd, one test per case.

The corpus tool runs once per session against a dedicated respd (cases create ACL users and flush everything);
each test then reports its own case. Skipped cleanly when the shared folder is not beside the repository.
Filters as agreed for respd's scope: no list commands, no ``optional`` or ``quirk`` cases.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import SHARED_DIR, RespdProcess

CORPUS_TOOL = SHARED_DIR / "compat" / "corpus.py"
CASES_FILE = SHARED_DIR / "compat" / "cases.json"
FILTERS = ["--skip-needs", "lists", "--skip-tag", "optional", "--skip-tag", "quirk"]

#: cases respd is known to fail, with the reason (each becomes a strict xfail)
KNOWN_FAILURES = {
}


def _selected_cases() -> list[str]:
    if not CASES_FILE.exists():
        return []
    cases = json.loads(CASES_FILE.read_text())["cases"]
    out = []
    for c in cases:
        if "lists" in c.get("needs", []) or {"optional", "quirk"} & set(c.get("tags", [])):
            continue
        out.append(c["name"])
    return out


CASE_NAMES = _selected_cases()


@pytest.fixture(scope="module")
def corpus_results():
    if not CORPUS_TOOL.exists() or not CASES_FILE.exists():
        pytest.skip("shared corpus not found at %s" % CASES_FILE)
    proc = RespdProcess().start()
    try:
        r = subprocess.run([sys.executable, str(CORPUS_TOOL), "--port", str(proc.port), "--check", str(CASES_FILE),
                            "-v", *FILTERS], capture_output=True, text=True, timeout=600)
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


def _params():
    if not CASE_NAMES:
        return [pytest.param("<no corpus>", marks=pytest.mark.skip(reason="shared corpus not found at %s"
                                                                            % CASES_FILE))]
    out = []
    for name in CASE_NAMES:
        marks = ()
        if name in KNOWN_FAILURES:
            marks = (pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]),)
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("case", _params())
def test_corpus_case(case, corpus_results):
    if case not in corpus_results:
        pytest.skip("not run by the corpus tool with these filters")
    status, details = corpus_results[case]
    assert status == "PASS", "\n".join(details)
