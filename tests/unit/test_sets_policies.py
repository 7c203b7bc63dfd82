"""Registry policies and ACL key rules on the set commands: each key of a set command needs the key actions its key
spec implies (Redis' key-spec semantics: ``access`` -> store.key.get, ``insert``/``update`` -> store.key.set,
``delete`` -> store.key.delete, none of them -> store.key.has), for users granted actions by registry policies and
by ACL SETUSER rules (``acl_cases``' users). A refused command answers Redis' key NOPERM and changes nothing.

The expectations below are written from the key specs redis-server 7.0.15 declares (COMMAND INFO), not read from
respd's table.
"""
from __future__ import annotations

import pytest

from tests.unit.acl_cases import (NOPERM_KEY, POLICY_USERS, RULE_USERS, build, expected_allowed, registry_entries,
                                  run, session)

G, S, D, H = "get", "set", "delete", "has"

#: (command template, actions needed on {k}, on {a})
SET_TABLE = [
    ("SADD {k} m", {S}, None),                   # RW insert
    ("SREM {k} 1", {D}, None),                   # RW delete
    ("SMEMBERS {k}", {G}, None),                 # RO access
    ("SISMEMBER {k} 1", {H}, None),              # RO
    ("SMISMEMBER {k} 1 2", {G}, None),           # RO access
    ("SCARD {k}", {H}, None),                    # RO
    ("SPOP {k}", {G, D}, None),                  # RW access delete
    ("SPOP {k} 2", {G, D}, None),
    ("SRANDMEMBER {k} -2", {G}, None),           # RO access
    ("SSCAN {k} 0", {G}, None),                  # RO access
    ("SMOVE {k} {a} 1", {G, D}, {S}),            # RW access delete, RW insert
    ("SINTER {k} {a}", {G}, {G}),                # RO access
    ("SUNION {k} {a}", {G}, {G}),
    ("SDIFF {k} {a}", {G}, {G}),
    ("SINTERCARD 2 {k} {a} LIMIT 1", {G}, {G}),  # RO access, keynum
    ("SINTERSTORE {k} {a}", {S}, {G}),           # RW update; RO access
    ("SUNIONSTORE {k} {a}", {S}, {G}),           # OW update; RO access
    ("SDIFFSTORE {k} {a}", {S}, {G}),
]

SEED = {"ok:1": ["1", "2", "3"], "ok:2": ["2", "x"], "no:1": ["1", "5"], "no:2": ["y"]}


def _cases():
    users = dict(POLICY_USERS)
    users.update({n: acts for n, (_, acts) in RULE_USERS.items()})
    for name, acts in users.items():
        for tmpl, need_k, need_a in SET_TABLE:
            yield name, tmpl.format(k="ok:1", a="ok:2").split(), expected_allowed(acts, need_k, need_a)
            yield name, tmpl.format(k="no:1", a="ok:2").split(), False
            if need_a is not None:
                yield name, tmpl.format(k="ok:1", a="no:2").split(), False


CASES = list(_cases())


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory):
    app = build(tmp_path_factory.mktemp("sets-policies"), registry_entries())
    admin = session(app, "admin")
    for name, (rules, _) in RULE_USERS.items():
        assert run(admin, "ACL", "SETUSER", name, "on", ">pw", "+@all", *rules) == b"+OK\r\n"
    sessions = {name: session(app, name) for name in list(POLICY_USERS) + list(RULE_USERS)}
    return admin, sessions


def _snapshot(admin) -> list:
    return [(k, sorted(run(admin, "SMEMBERS", k).split(b"\r\n"))) for k in sorted(SEED)]


@pytest.mark.parametrize("name, argv, allowed", CASES, ids=["%s:%s" % (c[0], " ".join(c[1])) for c in CASES])
def test_set_commands_need_the_key_actions_of_their_key_specs(policy_app, name, argv, allowed):
    admin, sessions = policy_app
    assert run(admin, "FLUSHALL") == b"+OK\r\n"
    for key, members in SEED.items():
        assert run(admin, "SADD", key, *members) == b":%d\r\n" % len(members)
    before = _snapshot(admin)
    got = run(sessions[name], *argv)
    if allowed:
        assert not got.startswith(b"-NOPERM") and not got.startswith(b"-ERR"), got
    else:
        assert got == NOPERM_KEY, got
        assert _snapshot(admin) == before, "a refused command changed data"
