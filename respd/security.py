"""Users from the registry (``security.user``), policies (``security.policy``), ``requirepass`` and the aclfile.

* A ``security.user`` entry is an AUTH user named after the entry (``username:`` overrides). It is in *policy
  mode*: it may touch stores and keys only as its policies allow (a user without policies can do nothing with
  data). An optional ``rules:`` (Redis ACL rules, a string or a list, e.g. ``"+@all -@dangerous"``) narrows the
  commands it may run; a user with ``rules:`` and no policy attached is a plain Redis-rule user.
* A ``security.policy`` entry applies to the users it names in ``users:`` (AUTH names or entry ids) and to every
  user sharing one of its ``groups:``; ``"*"`` in either means everybody.
* When registry users exist and none is called ``default``, unauthenticated connections get a disabled ``default``
  (``-NOAUTH``). ``requirepass`` gives ``default`` that password, as in Redis.
* ``aclfile`` (server setting): Redis ACL-file lines (``user <name> <rules>...``) loaded at start and by ACL LOAD,
  written by ACL SAVE. It holds the runtime users (ACL SETUSER); registry users stay in the registry.
"""
from __future__ import annotations

import logging
import os
import re

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
    from .acl import RuleError, RuleSet, apply_user_rules
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


def attach_policies(app, reg: Registry) -> None:
    """Validate every security.policy entry and give each registry user the statements that apply to it."""
    from .acl import parse_policy
    from .commands.spec import COMMANDS
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
    from .acl import RuleError, RuleSet, apply_user_rules
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


def load_aclfile(app, path: str, startup: bool = False) -> None:
    """Replace the runtime users by the file's. At startup a missing file counts as empty (ACL SAVE creates it)."""
    from .acl import RuleSet
    try:
        new = parse_aclfile(app, path)
    except FileNotFoundError:
        if not startup:
            raise AclFileError("Error loading ACLs, opening file '%s': No such file or directory" % path) from None
        log.warning("aclfile %s does not exist yet: starting without runtime users", path)
        return
    except OSError as e:
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
            acl.drop(n)
        for u in new.values():
            acl.refresh(u)


def save_aclfile(app, path: str) -> None:
    """Write every runtime user (not registry ones) atomically, one ACL LIST line each."""
    from .acl import describe_user
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
