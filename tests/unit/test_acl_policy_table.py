"""The policy table: every command class against allowed and denied keys, for users holding each combination of
key actions — granted by registry policies and, where Redis can express it, by ACL SETUSER rules.

For every (user, command): with only permitted keys the command must not answer NOPERM; with one forbidden key
(or a missing action) it must answer exactly Redis' key NOPERM text and leave the data untouched (compared over
both stores). The expectations below are an independent oracle (written from Redis' key-spec semantics), not the
engine's own derivation. ``tests/integration/test_acl_clients.py`` replays the same table through redis-py against
memory and SQL stores, and against a real redis-server for the Redis-rule users.
"""
from __future__ import annotations

import pytest

from tests.unit.test_acl import NOPERM_KEY, build, policy, run, session, user

G, S, D, H = "get", "set", "delete", "has"

#: (command template, required actions for key {k}, for key {a})
TABLE = [
    ("GET {k}", {G}, None),
    ("GETRANGE {k} 0 1", {G}, None),
    ("MGET {k} {a}", {G}, {G}),
    ("STRLEN {k}", {H}, None),
    ("EXISTS {k} {a}", {H}, {H}),
    ("TTL {k}", {G}, None),
    ("PTTL {k}", {G}, None),
    ("TYPE {k}", {H}, None),
    ("EXPIRETIME {k}", {G}, None),
    ("TOUCH {k} {a}", {H}, {H}),
    ("SET {k} v", {S}, None),
    ("SET {k} v GET", {G, S}, None),
    ("SET {k} v NX", {S}, None),
    ("SETNX {k} v", {S}, None),
    ("SETEX {k} 100 v", {S}, None),
    ("PSETEX {k} 100000 v", {S}, None),
    ("MSET {k} 1 {a} 2", {S}, {S}),
    ("MSETNX {k} 1 {a} 2", {S}, {S}),
    ("APPEND {k} x", {S}, None),
    ("SETRANGE {k} 0 x", {S}, None),
    ("INCR {k}", {G, S}, None),
    ("DECR {k}", {G, S}, None),
    ("INCRBY {k} 2", {G, S}, None),
    ("DECRBY {k} 2", {G, S}, None),
    ("INCRBYFLOAT {k} 1.5", {G, S}, None),
    ("GETSET {k} v", {G, S}, None),
    ("GETEX {k} EX 100", {G, S}, None),
    ("GETDEL {k}", {G, D}, None),
    ("EXPIRE {k} 100", {S}, None),
    ("PEXPIRE {k} 100000", {S}, None),
    ("EXPIREAT {k} 4000000000", {S}, None),
    ("PERSIST {k}", {S}, None),
    ("DEL {k} {a}", {D}, {D}),
    ("UNLINK {k} {a}", {D}, {D}),
    ("RENAME {k} {a}", {G, D}, {S}),
    ("RENAMENX {k} {a}", {G, D}, {S}),
    ("COPY {k} {a} REPLACE", {G}, {S}),
    ("MOVE {k} 1", {G, D}, None),
]

#: users: name -> key actions granted on keys matching ok:*
POLICY_USERS = {
    "p_get": {G}, "p_has": {H}, "p_set": {S}, "p_del": {D}, "p_read": {G, H}, "p_write": {S, D, H},
    "p_all": {G, S, D, H},
}
#: Redis-rule users: name -> (rules, the key actions they amount to)
RULE_USERS = {
    "r_read": (["%R~ok:*"], {G, H}),
    "r_write": (["%W~ok:*"], {S, D, H}),
    "r_all": (["~ok:*"], {G, S, D, H}),
}
SEED = {"ok:1": "10", "ok:2": "20", "no:1": "30", "no:2": "40"}
_ACTION = {G: "store.key.get", S: "store.key.set", D: "store.key.delete", H: "store.key.has"}


def registry_entries() -> list:
    """Users and policies for POLICY_USERS (every store may be used and listed; keys only as granted)."""
    entries = [user("admin"), policy("admin-all", ["*"], users=["admin"])]
    for name, acts in POLICY_USERS.items():
        entries.append(user(name))
        entries.append(policy(name + "-stores", ["store.get", "store.keys.list"], users=[name]))
        entries.append(policy(name + "-keys", sorted(_ACTION[a] for a in acts), users=[name],
                              conditions=[{"field": "meta.key", "operator": "glob", "value": "ok:*"}]))
    return entries


def expected_allowed(acts: set, need_k: set, need_a) -> bool:
    return need_k <= acts and (need_a is None or need_a <= acts)


def cases():
    """(user, granted actions, argv, expect_allowed) for every user, command and key combination."""
    users = dict(POLICY_USERS)
    users.update({n: acts for n, (_, acts) in RULE_USERS.items()})
    for name, acts in users.items():
        for tmpl, need_k, need_a in TABLE:
            ok = tmpl.format(k="ok:1", a="ok:2").split()
            yield name, ok, expected_allowed(acts, need_k, need_a)
            yield name, tmpl.format(k="no:1", a="ok:2").split(), False
            if need_a is not None:
                yield name, tmpl.format(k="ok:1", a="no:2").split(), False


CASES = list(cases())


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
