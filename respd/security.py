"""Users from the registry (``security.user``), policies (``security.policy``), ``requirepass`` and the aclfile.

* A ``security.user`` entry is an AUTH user named after the entry (``username:`` overrides). It is in *policy
  mode*: it may touch stores and keys only as its policies allow (a user without policies can do nothing with
  data). An optional ``rules:`` (Redis ACL rules, a string or a list, e.g. ``"+@all -@dangerous"``) narrows the
  commands it may run; a user with ``rules:`` and no policy attached is a plain Redis-rule user.
* A ``security.policy`` entry applies to the users it names in ``users:`` (AUTH names or entry ids) and to every
  user sharing one of its ``groups:``; ``"*"`` in either means everybody.
* When registry users exist and none is called ``default``, unauthenticated connections get a disabled ``default``
  (``-NOAUTH``). ``requirepass`` gives ``default`` that password, as in Redis.
* Policy conditions (``Condition``): ``{field, operator, value | value_from}`` on ``actor.id``, ``actor.groups``,
  ``actor.meta.<name>``, ``resource``, ``action`` and ``meta.key``; operators eq ne lt gt in exists contains matches
  (full-match regex) glob (Redis key pattern). A condition on a field the request lacks (``meta.key`` for
  ``store.get``) is false, so such a statement does not apply there.
* ``aclfile`` (server setting): Redis ACL-file lines (``user <name> <rules>...``) loaded at start and by ACL LOAD,
  written by ACL SAVE. It holds the runtime users (ACL SETUSER); registry users stay in the registry.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import re
from typing import Any, Optional

from backends.glob import compile_glob

from .acl import ACTIONS, Statement
from .auth import User, sha256_hex
from .registry import ConfigError, Registry

log = logging.getLogger("respd.security")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
#: users the aclfile manages (the others come from the registry)
RUNTIME_ORIGINS = ("runtime", "aclfile", "implicit")


def _password_hashes(reg: Registry, entry) -> list:
    f = entry.fields
    hashes = []
    given = [k for k in ("password_sha256", "password", "password_env") if f.get(k) is not None]
    if len(given) > 1:
        raise reg.error(entry, given[1], "set only one of password_sha256, password and password_env")
    if f.get("password_sha256") is not None:
        vals = f["password_sha256"] if isinstance(f["password_sha256"], list) else [f["password_sha256"]]
        for v in vals:
            if not isinstance(v, str) or not _HEX64.match(v):
                raise reg.error(entry, "password_sha256", "must be a 64-character hex SHA-256 digest")
            hashes.append(v.lower())
    elif f.get("password") is not None:
        if not isinstance(f["password"], str) or not f["password"]:
            raise reg.error(entry, "password", "must be a non-empty string")
        log.warning("%s: user %s has a plain-text password in the registry; prefer password_sha256 or "
                    "password_env", entry.file, entry.id)
        hashes.append(sha256_hex(f["password"].encode()))
    elif f.get("password_env") is not None:
        value = os.environ.get(f["password_env"])
        if not value:
            raise reg.error(entry, "password_env", "environment variable %s is not set" % f["password_env"])
        hashes.append(sha256_hex(value.encode()))
    return hashes


def _rules(reg: Registry, entry):
    """The entry's ``rules:`` compiled to a RuleSet (+ selectors), or (None, []) when absent."""
    from .auth import RuleError, RuleSet, apply_user_rules
    raw = entry.fields.get("rules")
    if raw is None:
        return None, []
    if isinstance(raw, str):
        items = raw.split()
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        items = [w for x in raw for w in x.split()]
    else:
        raise reg.error(entry, "rules", "must be a string or a list of Redis ACL rules like \"+@all -@dangerous\"")
    probe = User("probe", rules=RuleSet.commands_only())
    for r in items:
        if r.lower() in ("on", "off", "nopass", "resetpass", "reset") or r[:1] in (">", "<", "#", "!"):
            raise reg.error(entry, "rules", "%r: set enabled/nopass/passwords with their own fields" % r)
    try:
        apply_user_rules(probe, [r.encode() for r in items])
    except RuleError as e:
        raise reg.error(entry, "rules", "%r: %s" % (e.args[0].decode("utf-8", "replace"), e.args[1])) from None
    return probe.rules, probe.selectors


def build_users(reg: Registry) -> dict:
    users = {}
    for entry in reg.entries.values():
        if entry.kind != "security.user":
            continue
        f = entry.fields
        name = f.get("username") or entry.id.split(":", 1)[1]
        if " " in name or "\0" in name:
            raise reg.error(entry, "username", "user names cannot contain spaces or NUL")
        hashes = _password_hashes(reg, entry)
        if not hashes and not f["nopass"]:
            raise reg.error(entry, "password_sha256", "a user needs a password (password_sha256, password_env) "
                                                      "or nopass: true")
        if name in users:
            raise reg.error(entry, "name", "user %r is defined twice" % name)
        rules, selectors = _rules(reg, entry)
        users[name] = User(name, enabled=f["enabled"], nopass=f["nopass"], password_hashes=hashes,
                           groups=list(f["groups"]), meta=dict(f["meta"]), rules=rules, selectors=selectors,
                           policy_mode=True, origin="registry", entry_id=entry.id)
    return users


# ----------------------------------------------------------------------------------------- policy conditions
_ACTOR_FIELDS = ("actor.id", "actor.name", "actor.groups")
OPERATORS = ("eq", "ne", "lt", "gt", "in", "exists", "contains", "matches", "glob")
_MISSING = object()


def _phase(field: str) -> int:
    """0: settled per user; 1: per (store, action); 2: per key."""
    if field == "meta.key":
        return 2
    if field in ("resource", "action"):
        return 1
    return 0


def _valid_field(field: Any) -> bool:
    return isinstance(field, str) and (field in _ACTOR_FIELDS or field in ("resource", "action", "meta.key")
                                       or (field.startswith("actor.meta.") and len(field) > 11))


def _text(v: Any) -> Any:
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(_text(v))
    except (TypeError, ValueError):
        return None


def _eq(a: Any, b: Any) -> bool:
    a, b = _text(a), _text(b)
    if a == b:
        return True
    if isinstance(a, str) != isinstance(b, str) and not isinstance(a, (list, dict)) \
            and not isinstance(b, (list, dict)):
        return str(a) == str(b) and not isinstance(a, bool) and not isinstance(b, bool)
    return False


class Condition:
    """``{field, operator, value | value_from}`` compiled; ``test(actor, resource, action, key)``."""

    __slots__ = ("field", "op", "value", "value_from", "phase", "_rx", "_glob", "glob_src")

    def __init__(self, field: str, op: str, value: Any = None, value_from: Optional[str] = None):
        self.field, self.op, self.value, self.value_from = field, op, value, value_from
        self.phase = max(_phase(field), _phase(value_from) if value_from else 0)
        self._rx = re.compile(value) if op == "matches" and value_from is None else None
        const = op == "glob" and value_from is None
        self.glob_src = _text(value).encode("utf-8", "surrogateescape") if const else None
        self._glob = compile_glob(self.glob_src) if const else None

    def key_glob(self) -> Optional[bytes]:
        """The pattern when this is ``meta.key glob <constant>`` (the Redis ~pattern case), else None."""
        return self.glob_src if self.field == "meta.key" else None

    def test(self, actor, resource, action, key) -> bool:
        a = _field(self.field, actor, resource, action, key)
        op = self.op
        if op == "exists":
            want = True if self.value is None else bool(self.value)
            return (a is not _MISSING) == want
        if a is _MISSING:
            return False
        v = self.value if self.value_from is None else _field(self.value_from, actor, resource, action, key)
        if v is _MISSING:
            return False
        if op == "eq":
            return _eq(a, v)
        if op == "ne":
            return not _eq(a, v)
        if op in ("lt", "gt"):
            x, y = _num(a), _num(v)
            if x is None or y is None:
                x, y = str(_text(a)), str(_text(v))
            return x < y if op == "lt" else x > y
        if op == "in":
            return isinstance(v, (list, tuple)) and any(_eq(a, x) for x in v)
        if op == "contains":
            if isinstance(a, (list, tuple)):
                return any(_eq(x, v) for x in a)
            return str(_text(v)) in str(_text(a))
        if op == "matches":
            rx = self._rx if self._rx is not None else _regex(str(_text(v)))
            return rx is not None and rx.fullmatch(str(_text(a))) is not None
        if op == "glob":
            g = self._glob if self._glob is not None else compile_glob(str(_text(v)).encode("utf-8",
                                                                                           "surrogateescape"))
            return g(a if isinstance(a, bytes) else str(a).encode("utf-8", "surrogateescape"))
        return False


def _regex(src: str):
    try:
        return re.compile(src)
    except re.error:
        return None


def _field(field: str, actor, resource, action, key) -> Any:
    if field == "meta.key":
        return key if key is not None else _MISSING
    if field == "resource":
        return resource if resource is not None else _MISSING
    if field == "action":
        return action if action is not None else _MISSING
    if field in ("actor.id", "actor.name"):
        return actor.name
    if field == "actor.groups":
        return list(actor.groups)
    cur: Any = actor.meta
    for part in field[len("actor.meta."):].split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def parse_policy(body: Any, known_resources=None) -> Statement:
    """Validate a registry ``policy:`` mapping; raises ValueError(field, message)."""
    if not isinstance(body, dict):
        raise ValueError("policy", "must be a mapping with actions, resources, effect and conditions")
    unknown = set(body) - {"actions", "resources", "effect", "conditions"}
    if unknown:
        raise ValueError("policy", "unknown field(s): " + ", ".join(sorted(map(str, unknown))))

    def str_list(name):
        v = body.get(name)
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            raise ValueError("policy.%s" % name, "must be a non-empty list of strings")
        return v

    actions = str_list("actions")
    for a in actions:
        if not any(a == "*" or fnmatch.fnmatchcase(x, a) for x in ACTIONS):
            raise ValueError("policy.actions", "%r matches no action (known: %s)" % (a, ", ".join(ACTIONS)))
    resources = str_list("resources")
    if known_resources is not None:
        for r in resources:
            if not any(c in r for c in "*?[") and r not in known_resources:
                raise ValueError("policy.resources", "%r is not a store id or command name (use a pattern such "
                                 "as \"app:*\" for stores defined later)" % r)
    effect = body.get("effect", "allow")
    if effect not in ("allow", "deny"):
        raise ValueError("policy.effect", "must be allow or deny")
    conds = body.get("conditions") or []
    if not isinstance(conds, list):
        raise ValueError("policy.conditions", "must be a list of {field, operator, value | value_from}")
    out = []
    for i, c in enumerate(conds):
        where = "policy.conditions[%d]" % i
        if not isinstance(c, dict):
            raise ValueError(where, "must be a mapping {field, operator, value | value_from}")
        bad = set(c) - {"field", "operator", "value", "value_from"}
        if bad:
            raise ValueError(where, "unknown field(s): " + ", ".join(sorted(map(str, bad))))
        field, op = c.get("field"), c.get("operator")
        if not _valid_field(field):
            raise ValueError(where + ".field", "must be one of actor.id, actor.groups, actor.meta.<name>, "
                                               "resource, action, meta.key (got %r)" % (field,))
        if op not in OPERATORS:
            raise ValueError(where + ".operator", "must be one of " + ", ".join(OPERATORS))
        if "value" in c and "value_from" in c:
            raise ValueError(where, "set only one of value and value_from")
        vf = c.get("value_from")
        if vf is not None and not _valid_field(vf):
            raise ValueError(where + ".value_from", "must name a field like actor.meta.tenant (got %r)" % (vf,))
        if op != "exists" and "value" not in c and vf is None:
            raise ValueError(where, "operator %s needs value or value_from" % op)
        v = c.get("value")
        if op == "in" and vf is None and not isinstance(v, list):
            raise ValueError(where + ".value", "operator in needs a list")
        if op == "matches" and vf is None:
            if not isinstance(v, str) or _regex(v) is None:
                raise ValueError(where + ".value", "must be a valid regular expression")
        if op == "glob" and vf is None and not isinstance(v, str):
            raise ValueError(where + ".value", "must be a Redis glob pattern string")
        out.append(Condition(field, op, v, vf))
    return Statement(effect == "allow", actions, resources, out)


def attach_policies(app, reg: Registry) -> None:
    """Validate every security.policy entry and give each registry user the statements that apply to it."""
    from .commands.table import COMMANDS
    known = set(app.stores)
    for c in COMMANDS.values():
        known.add(c.name)
        known.update(s.name for s in c.subcommands.values())
    users = app.auth.users
    by_id = {u.entry_id: u for u in users.values() if u.entry_id}
    attached = {name: [] for name in users}
    for entry in reg.entries.values():
        if entry.kind != "security.policy":
            continue
        try:
            st = parse_policy(entry.fields["policy"], known)
        except ValueError as e:
            raise reg.error(entry, e.args[0], e.args[1]) from None
        st.source = entry.id
        names, groups = entry.fields["users"], entry.fields["groups"]
        for n in names:
            if n != "*" and n not in users and n not in by_id:
                raise reg.error(entry, "users", "no security.user named %r (use the AUTH name or the entry id)" % n)
        targets = []
        for u in users.values():
            if u.origin != "registry":
                continue
            if "*" in names or u.name in names or u.entry_id in names \
                    or "*" in groups or set(groups) & set(u.groups):
                targets.append(u)
        if not targets:
            log.warning("%s: policy %s applies to no user (set users: or groups:)", entry.file, entry.id)
        for u in targets:
            attached[u.name].append((entry.id, st))
    for u in users.values():
        if u.origin != "registry":
            continue
        u.policies = [st for _, st in attached[u.name]]
        u.policy_ids = [pid for pid, _ in attached[u.name]]
        if u.rules is not None and not u.policies:
            u.policy_mode = False  # rules only: a plain Redis-rule user


def configure_security(app, reg: Registry) -> None:
    app.auth.failure_delay = app.settings.get("auth_failure_delay", 1.0)
    users = build_users(reg)
    if users:
        if "default" not in users:
            # with configured users, unauthenticated connections get nothing unless a default user is defined
            users["default"] = User("default", enabled=False, nopass=True, origin="implicit")
        app.auth.users = users
    requirepass = app.settings.get("requirepass")
    if requirepass:
        d = app.auth.users["default"]
        d.nopass = False
        d.password_hashes = [sha256_hex(requirepass.encode())]
    try:
        from . import acl
    except ImportError:
        return
    acl.configure(app, reg)


# ------------------------------------------------------------------------------------------------------ aclfile
class AclFileError(Exception):
    """ACL LOAD / startup problems, worded like Redis' (``path:line: ...``)."""


def parse_aclfile(app, path: str) -> dict:
    """Users defined by an ACL file; raises AclFileError with every problem found (nothing is applied)."""
    from .auth import RuleError, RuleSet, apply_user_rules
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    users: dict = {}
    errs = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if parts[0] != b"user" or len(parts) < 2:
            errs.append("%s:%d should start with user keyword followed by the username. " % (path, n))
            continue
        name = parts[1].decode("utf-8", "surrogateescape")
        if name in users:
            errs.append("WARNING: Duplicate user '%s' found on line %d. " % (name, n))
            continue
        existing = app.auth.users.get(name)
        if existing is not None and existing.origin == "registry":
            errs.append("%s:%d: user '%s' is defined in the registry and cannot be redefined here. " % (path, n, name))
            continue
        u = User(name, enabled=False, nopass=False, rules=RuleSet(), origin="aclfile")
        try:
            apply_user_rules(u, parts[2:])
        except RuleError as e:
            errs.append("%s:%d: Error in applying operation '%s': %s. " % (
                path, n, e.args[0].decode("utf-8", "replace"), e.args[1]))
            continue
        users[name] = u
    if errs:
        raise AclFileError("".join(errs) + "WARNING: ACL errors detected, no change to the previously active ACL "
                                           "rules was performed")
    return users


def load_aclfile(app, path: str, startup: bool = False, current=None) -> None:
    """Replace the runtime users by the file's. At startup a missing file counts as empty (ACL SAVE creates it)."""
    from .auth import RuleSet
    try:
        new = parse_aclfile(app, path)
    except FileNotFoundError:
        if not startup:
            raise AclFileError("Error loading ACLs, opening file '%s': No such file or directory" % path) from None
        log.warning("aclfile %s does not exist yet: starting without runtime users", path)
        return
    except OSError as e:
        if startup:  # a config error like any other (it used to escape as a traceback)
            raise ConfigError(path, "cannot read aclfile: %s" % (e.strerror or e), None, "server.aclfile") from None
        raise AclFileError("Error loading ACLs, opening file '%s': %s" % (path, e.strerror or e)) from None
    except AclFileError as e:
        if startup:
            raise ConfigError(path, str(e), None, None) from None
        raise
    users = app.auth.users
    removed = [n for n, u in users.items() if u.origin in RUNTIME_ORIGINS and n not in new and n != "default"]
    for n in removed:
        del users[n]
    if "default" not in new and users["default"].origin in ("runtime", "aclfile"):
        new["default"] = User("default", nopass=True, rules=RuleSet.allow_all(), origin="aclfile")
    for n, u in new.items():
        users[n] = u
    acl = getattr(app, "acl", None)
    if acl is not None and not startup:
        for n in removed:
            acl.drop(n, current=current)
        for u in new.values():
            acl.refresh(u)


def save_aclfile(app, path: str) -> None:
    """Write every runtime user (not registry ones) atomically, one ACL LIST line each."""
    from .auth import describe_user
    lines = [describe_user(u) for n, u in sorted(app.auth.users.items()) if u.origin != "registry"
             and not (n == "default" and u.origin == "implicit")]
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


__all__ = ["configure_security", "build_users", "attach_policies", "load_aclfile", "save_aclfile", "ConfigError",
           "AclFileError"]
