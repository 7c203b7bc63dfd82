"""The policy table: every command class against allowed and denied keys, for users holding each combination of
key actions — granted by registry policies and, where Redis can express it, by ACL SETUSER rules.

For every (user, command): with only permitted keys the command must not answer NOPERM; with one forbidden key
(or a missing action) it must answer exactly Redis' key NOPERM text and leave the data untouched (compared over
both stores). The table and its expectations (an independent oracle, written from Redis' key-spec semantics, not the
engine's own derivation) are in ``acl_cases.py``; ``tests/integration/test_acl_clients.py`` replays the same table through redis-py against
memory and SQL stores, and against a real redis-server for the Redis-rule users.
"""
from __future__ import annotations

import pytest

from tests.unit.acl_cases import (CASES, NOPERM_KEY, POLICY_USERS, RULE_USERS, SEED, build, registry_entries, run,
                                  session)


def snapshot(run_admin) -> list:
    """Every key of db0 and db1 with its value and TTL (seconds)."""
    out = []
    for db in ("0", "1"):
        run_admin("SELECT", db)
        for k in sorted(run_admin("KEYS", "*")):
            out.append((db, k, run_admin("GET", k), run_admin("TTL", k)))
    run_admin("SELECT", "0")
    return out


def seed(run_admin) -> None:
    run_admin("FLUSHALL")
    run_admin("MSET", *[x for kv in SEED.items() for x in kv])
    run_admin("EXPIRE", "ok:1", "1000")
    run_admin("EXPIRE", "no:1", "1000")


# ------------------------------------------------------------------------------------------------ in-process
@pytest.fixture(scope="module")
def table_app(tmp_path_factory):
    app = build(tmp_path_factory.mktemp("acl-table"), registry_entries())
    admin = session(app, "admin")
    for name, (rules, _) in RULE_USERS.items():
        assert run(admin, "ACL", "SETUSER", name, "on", ">pw", "+@all", *rules) == b"+OK\r\n"
    sessions = {name: session(app, name) for name in list(POLICY_USERS) + list(RULE_USERS)}
    return app, admin, sessions


def _decode(reply: bytes):
    """Just enough RESP for snapshots: bulk, integer, null, arrays of bulks."""
    if reply.startswith(b"*"):
        parts = reply.split(b"\r\n")
        return [parts[i + 1].decode() for i in range(1, len(parts) - 1, 2) if parts[i].startswith(b"$")]
    if reply.startswith(b"$-1"):
        return None
    if reply.startswith(b"$"):
        return reply.split(b"\r\n")[1].decode()
    return reply.decode().strip()


@pytest.mark.parametrize("name, argv, allowed", CASES,
                         ids=["%s:%s" % (c[0], " ".join(c[1])) for c in CASES])
def test_policy_table(table_app, name, argv, allowed):
    app, admin, sessions = table_app

    def run_admin(*a):
        return _decode(run(admin, *a))

    seed(run_admin)
    before = snapshot(run_admin)
    s = sessions[name]
    got = run(s, *argv)
    run(s, "SELECT", "0")
    if allowed:
        assert not got.startswith(b"-NOPERM"), got
    else:
        assert got == NOPERM_KEY
        assert snapshot(run_admin) == before, "a denied command changed data"
