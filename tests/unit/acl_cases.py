"""ACL test helpers and the policy table, shared by the unit tests (test_acl, test_acl_policy_table,
test_introspection, test_pipeline) and ``tests/integration/test_acl_clients.py``.

* helpers: ``build`` an App from registry entries (memory stores), ``session`` (optionally AUTHed), ``run`` a
  command and get its encoded reply, ``user`` / ``policy`` registry entries, the NOPERM replies.
* the policy table: every command class against allowed and denied keys, for users holding each combination of
  key actions granted by registry policies (``POLICY_USERS``) and by ACL SETUSER rules (``RULE_USERS``); ``CASES``
  are (user, argv, expect_allowed). The expectations are an independent oracle (written from Redis' key-spec
  semantics), not the engine's own derivation.
"""
from __future__ import annotations

import types

import yaml

from respd import errors
from respd.dispatch import execute
from respd.registry import load
from respd.replies import encode
from respd.server import make_app

# ------------------------------------------------------------------------------------------------ helpers
NOPERM_KEY = b"-" + errors.NOPERM_KEY.encode() + b"\r\n"


def noperm_cmd(name: str) -> bytes:
    return b"-" + errors.NOPERM_CMD.format(name).encode() + b"\r\n"


def build(tmp_path, entries=(), server=None, stores=("db0", "db1", "other")):
    doc = {"version": "1.0", "namespace": "t",
           "server": dict({"databases": {i: "t:" + s for i, s in enumerate(stores)}}, **(server or {})),
           "entries": [{"name": s, "kind": "store.memory", "max_size": 0} for s in stores] + list(entries)}
    path = tmp_path / ("reg%d.yaml" % len(list(tmp_path.iterdir())))
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return make_app(load([str(path)]))


def run(sess, *argv) -> bytes:
    if len(argv) == 1 and isinstance(argv[0], str):
        argv = argv[0].split()
    r = execute(sess, [a.encode() if isinstance(a, str) else a for a in argv])
    assert not isinstance(r, types.CoroutineType), "memory stores answer synchronously"
    return encode(r, sess.proto)


def session(app, user=None, password="pw"):
    s = app.new_session("127.0.0.1:40000", "127.0.0.1:6379", 9)
    if user is not None:
        assert run(s, "AUTH", user, password) == b"+OK\r\n"
    return s


def user(name, groups=(), meta=None, **extra):
    e = {"name": name, "kind": "security.user", "password": "pw", "groups": list(groups)}
    if meta:
        e["meta"] = meta
    e.update(extra)
    return e


def policy(name, actions, resources=("*",), effect="allow", conditions=None, groups=(), users=()):
    body = {"actions": list(actions), "resources": list(resources), "effect": effect}
    if conditions:
        body["conditions"] = conditions
    return {"name": name, "kind": "security.policy", "policy": body, "groups": list(groups), "users": list(users)}


# ------------------------------------------------------------------------------------------------ policy table
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
