"""Security configuration: registry users and policies, ``requirepass`` and the aclfile, put together at startup.

* A ``security.user`` entry is an AUTH user named after the entry (``username:`` overrides). It is in *policy
  mode*: it may touch stores and keys only as its policies allow (a user without policies can do nothing with
  data). An optional ``rules:`` (Redis ACL rules, a string or a list, e.g. ``"+@all -@dangerous"``) narrows the
  commands it may run; a user with ``rules:`` and no policy attached is a plain Redis-rule user.
* A ``security.policy`` entry applies to the users it names in ``users:`` (AUTH names or entry ids) and to every
  user sharing one of its ``groups:``; ``"*"`` in either means everybody. Its ``policy:`` is a ``Statement``
  (``parse_policy``; conditions as described in ``respd.security.model``).
* When registry users exist and none is called ``default``, unauthenticated connections get a disabled ``default``
  (``-NOAUTH``). ``requirepass`` gives ``default`` that password, as in Redis.
* ``aclfile`` (server setting): Redis ACL-file lines (``user <name> <rules>...``) loaded at start and by ACL LOAD,
  written by ACL SAVE. It holds the runtime users (ACL SETUSER); registry users stay in the registry.

``configure_security(app, reg)`` runs once from ``make_app``: it fills ``app.auth``, installs ``app.security``,
attaches policies, loads the aclfile and compiles every user. Registry problems raise ``ConfigError`` naming the
file, entry and field; aclfile problems raise ``AclFileError`` (ACL LOAD) or, at startup, ``ConfigError``.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import re
from typing import Any

from .. import errors
from ..commands.table import COMMANDS
from ..registry import ConfigError, Registry
from .engine import compile_user
from .model import ACTIONS, OPERATORS, Condition, Statement, User, sha256_hex, try_regex, valid_field
from .rules import RuleError, RuleSet, apply_user_rules, describe_user, ensure_rules
from .runtime import Security

log = logging.getLogger("respd.security")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
#: users the aclfile manages (the others come from the registry)
RUNTIME_ORIGINS = ("runtime", "aclfile", "implicit")


# ------------------------------------------------------------------------------------------------ registry users
def _password_hashes(reg: Registry, entry) -> list:
    f = entry.fields
    hashes = []
    given = [k for k in ("password_sha256", "password", "password_env") if f.get(k) is not None]
    if len(given) > 1:
        raise reg.error(entry, given[1], errors.USER_ONE_PASSWORD)
    if f.get("password_sha256") is not None:
        vals = f["password_sha256"] if isinstance(f["password_sha256"], list) else [f["password_sha256"]]
        for v in vals:
            if not isinstance(v, str) or not _HEX64.match(v):
                raise reg.error(entry, "password_sha256", errors.USER_PASSWORD_SHA256)
            hashes.append(v.lower())
    elif f.get("password") is not None:
        if not isinstance(f["password"], str) or not f["password"]:
            raise reg.error(entry, "password", errors.USER_PASSWORD_EMPTY)
        log.warning("%s: user %s has a plain-text password in the registry; prefer password_sha256 or "
                    "password_env", entry.file, entry.id)
        hashes.append(sha256_hex(f["password"].encode()))
    elif f.get("password_env") is not None:
        value = os.environ.get(f["password_env"])
        if not value:
            raise reg.error(entry, "password_env", errors.USER_PASSWORD_ENV % f["password_env"])
        hashes.append(sha256_hex(value.encode()))
    return hashes


def _rules(reg: Registry, entry):
    """The entry's ``rules:`` compiled to a RuleSet (+ selectors), or (None, []) when absent."""
    raw = entry.fields.get("rules")
    if raw is None:
        return None, []
    if isinstance(raw, str):
        items = raw.split()
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        items = [w for x in raw for w in x.split()]
    else:
        raise reg.error(entry, "rules", errors.USER_RULES_TYPE)
    probe = User("probe", rules=RuleSet.commands_only())
    for r in items:
        if r.lower() in ("on", "off", "nopass", "resetpass", "reset") or r[:1] in (">", "<", "#", "!"):
            raise reg.error(entry, "rules", errors.USER_RULES_NOT_HERE % r)
    try:
        apply_user_rules(probe, [r.encode() for r in items])
    except RuleError as e:
        raise reg.error(entry, "rules", "%r: %s" % (e.args[0].decode("utf-8", "replace"), e.args[1])) from None
    return probe.rules, probe.selectors


def build_users(reg: Registry) -> dict:
    """The registry's security.user entries as Users (name -> User), validated."""
    users = {}
    for entry in reg.entries.values():
        if entry.kind != "security.user":
            continue
        f = entry.fields
        name = f.get("username") or entry.id.split(":", 1)[1]
        if " " in name or "\0" in name:
            raise reg.error(entry, "username", errors.USER_NAME_CHARS)
        hashes = _password_hashes(reg, entry)
        if not hashes and not f["nopass"]:
            raise reg.error(entry, "password_sha256", errors.USER_NO_PASSWORD)
        if name in users:
            raise reg.error(entry, "name", errors.USER_TWICE % name)
        rules, selectors = _rules(reg, entry)
        users[name] = User(name, enabled=f["enabled"], nopass=f["nopass"], password_hashes=hashes,
                           groups=list(f["groups"]), meta=dict(f["meta"]), rules=rules, selectors=selectors,
                           policy_mode=True, origin="registry", entry_id=entry.id)
    return users


# ------------------------------------------------------------------------------------------------------ policies
def parse_policy(body: Any, known_resources=None) -> Statement:
    """Validate a registry ``policy:`` mapping; raises ValueError(field, message)."""
    if not isinstance(body, dict):
        raise ValueError("policy", errors.POLICY_NOT_MAPPING)
    unknown = set(body) - {"actions", "resources", "effect", "conditions"}
    if unknown:
        raise ValueError("policy", errors.POLICY_UNKNOWN_FIELDS % ", ".join(sorted(map(str, unknown))))

    def str_list(name):
        v = body.get(name)
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            raise ValueError("policy.%s" % name, errors.POLICY_STRINGS)
        return v

    actions = str_list("actions")
    for a in actions:
        if not any(a == "*" or fnmatch.fnmatchcase(x, a) for x in ACTIONS):
            raise ValueError("policy.actions", errors.POLICY_NO_ACTION % (a, ", ".join(ACTIONS)))
    resources = str_list("resources")
    # resources of channel actions are channel names, not stores
    channels_only = all(a.startswith("pubsub.") for a in actions)
    if known_resources is not None and not channels_only:
        for r in resources:
            if not any(c in r for c in "*?[") and r not in known_resources:
                raise ValueError("policy.resources", errors.POLICY_NO_RESOURCE % r)
    effect = body.get("effect", "allow")
    if effect not in ("allow", "deny"):
        raise ValueError("policy.effect", errors.POLICY_EFFECT)
    conds = body.get("conditions") or []
    if not isinstance(conds, list):
        raise ValueError("policy.conditions", errors.POLICY_CONDITIONS)
    out = []
    for i, c in enumerate(conds):
        where = "policy.conditions[%d]" % i
        if not isinstance(c, dict):
            raise ValueError(where, errors.POLICY_CONDITION)
        bad = set(c) - {"field", "operator", "value", "value_from"}
        if bad:
            raise ValueError(where, errors.POLICY_UNKNOWN_FIELDS % ", ".join(sorted(map(str, bad))))
        field, op = c.get("field"), c.get("operator")
        if not valid_field(field):
            raise ValueError(where + ".field", errors.POLICY_FIELD % (field,))
        if op not in OPERATORS:
            raise ValueError(where + ".operator", errors.POLICY_OPERATOR % ", ".join(OPERATORS))
        if "value" in c and "value_from" in c:
            raise ValueError(where, errors.POLICY_VALUE_TWICE)
        vf = c.get("value_from")
        if vf is not None and not valid_field(vf):
            raise ValueError(where + ".value_from", errors.POLICY_VALUE_FROM % (vf,))
        if op != "exists" and "value" not in c and vf is None:
            raise ValueError(where, errors.POLICY_NO_VALUE % op)
        v = c.get("value")
        if op == "in" and vf is None and not isinstance(v, list):
            raise ValueError(where + ".value", errors.POLICY_IN_LIST)
        if op == "matches" and vf is None:
            if not isinstance(v, str) or try_regex(v) is None:
                raise ValueError(where + ".value", errors.POLICY_REGEX)
        if op == "glob" and vf is None and not isinstance(v, str):
            raise ValueError(where + ".value", errors.POLICY_GLOB)
        out.append(Condition(field, op, v, vf))
    return Statement(effect == "allow", actions, resources, out)


def attach_policies(app, reg: Registry) -> None:
    """Validate every security.policy entry and give each registry user the statements that apply to it."""
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
        names, groups = entry.fields["users"], entry.fields["groups"]
        for n in names:
            if n != "*" and n not in users and n not in by_id:
                raise reg.error(entry, "users", errors.POLICY_NO_USER % n)
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
    """At startup: the users (registry, requirepass, aclfile), their policies, ``app.security``, every user compiled."""
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
    security = Security(app)
    app.security = security
    app.auth.on_failure = security.on_auth_failure
    attach_policies(app, reg)
    if app.settings.get("aclfile"):
        load_aclfile(app, app.settings["aclfile"], startup=True)
    for user in app.auth.users.values():
        user.permissions = compile_user(user)


# ------------------------------------------------------------------------------------------------------ aclfile
class AclFileError(Exception):
    """ACL LOAD / startup problems, worded like Redis' (``path:line: ...``)."""


def parse_aclfile(app, path: str) -> dict:
    """Users defined by an ACL file; raises AclFileError with every problem found (nothing is applied)."""
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
            errs.append(errors.ACLFILE_NO_USER_KEYWORD % (path, n))
            continue
        name = parts[1].decode("utf-8", "surrogateescape")
        if name in users:
            errs.append(errors.ACLFILE_DUPLICATE % (name, n))
            continue
        existing = app.auth.users.get(name)
        if existing is not None and existing.origin == "registry":
            errs.append(errors.ACLFILE_REGISTRY_USER % (path, n, name))
            continue
        u = User(name, enabled=False, nopass=False, rules=RuleSet(), origin="aclfile")
        try:
            apply_user_rules(u, parts[2:])
        except RuleError as e:
            errs.append(errors.ACLFILE_BAD_RULE % (path, n, e.args[0].decode("utf-8", "replace"), e.args[1]))
            continue
        users[name] = u
    if errs:
        raise AclFileError("".join(errs) + errors.ACLFILE_NO_CHANGE)
    return users


def load_aclfile(app, path: str, startup: bool = False, current=None) -> None:
    """Replace the runtime users by the file's. At startup a missing file counts as empty (ACL SAVE creates it)."""
    try:
        new = parse_aclfile(app, path)
    except FileNotFoundError:
        if not startup:
            raise AclFileError(errors.ACLFILE_OPEN % (path, errors.ACLFILE_MISSING)) from None
        log.warning("aclfile %s does not exist yet: starting without runtime users", path)
        return
    except OSError as e:
        if startup:  # a config error like any other
            raise ConfigError(path, errors.ACLFILE_UNREADABLE % (e.strerror or e), None, "server.aclfile") from None
        raise AclFileError(errors.ACLFILE_OPEN % (path, e.strerror or e)) from None
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
    security = getattr(app, "security", None)
    if security is not None and not startup:
        for n in removed:
            security.drop(n, current=current)
        for u in new.values():
            security.refresh(u)


def save_aclfile(app, path: str) -> None:
    """Write every runtime user (not registry ones) atomically, one ACL LIST line each."""
    for u in app.auth.users.values():
        ensure_rules(u)
    lines = [describe_user(u) for n, u in sorted(app.auth.users.items()) if u.origin != "registry"
             and not (n == "default" and u.origin == "implicit")]
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

