"""Turn the registry's security entries and server settings into users (and policies, when configured)."""
from __future__ import annotations

import logging
import os
import re

from .auth import User, sha256_hex
from .registry import ConfigError, Registry

log = logging.getLogger("respd.security")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


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
        users[name] = User(name, enabled=f["enabled"], nopass=f["nopass"], password_hashes=hashes,
                           groups=list(f["groups"]), meta=dict(f["meta"]))
    return users


def configure_security(app, reg: Registry) -> None:
    users = build_users(reg)
    if users:
        if "default" not in users:
            # with configured users, unauthenticated connections get nothing unless a default user is defined
            users["default"] = User("default", enabled=False, nopass=True)
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


__all__ = ["configure_security", "build_users", "ConfigError"]
