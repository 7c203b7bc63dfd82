"""Users and authentication: who a connection is (AUTH, HELLO AUTH, RESET), independent of what it may do.

Passwords are kept only as SHA-256 digests and compared in constant time. What an authenticated user may do is
decided by ``respd.acl`` from the same ``User`` objects.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Optional

from . import errors
from .errors import CommandError

log = logging.getLogger("respd.auth")


def sha256_hex(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


@dataclass
class User:
    name: str
    enabled: bool = True
    nopass: bool = False
    password_hashes: list = field(default_factory=list)   # hex SHA-256 digests
    groups: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    permissions: object = None                            # compiled by respd.acl; None = allow everything
    rules: object = None                                  # respd.acl.RuleSet: Redis command/key rules (root)
    selectors: list = field(default_factory=list)         # extra Redis selectors "(...)"
    policies: list = field(default_factory=list)          # respd.acl.Statement from registry policies
    policy_ids: list = field(default_factory=list)        # ids of those policies (ACL LIST / GETUSER)
    policy_mode: bool = False                             # registry user: data access only through policies
    origin: str = "runtime"                               # "registry", "aclfile" or "runtime" (ACL SETUSER)
    sanitize: str = ""                                    # "sanitize-payload" / "skip-sanitize-payload" flag
    entry_id: str = ""                                    # registry entry id of a registry user

    def copy(self) -> "User":
        """A copy ACL SETUSER can edit and throw away on error."""
        u = User(self.name, self.enabled, self.nopass, list(self.password_hashes), list(self.groups),
                 dict(self.meta), self.permissions, self.rules.copy() if self.rules is not None else None,
                 [s.copy() for s in self.selectors], list(self.policies), list(self.policy_ids),
                 self.policy_mode, self.origin, self.sanitize, self.entry_id)
        return u

    def check_password(self, password: bytes) -> bool:
        if self.nopass:
            return True
        digest = sha256_hex(password)
        ok = False
        for h in self.password_hashes:
            ok |= hmac.compare_digest(h, digest)
        return ok


class Auth:
    """The user table and the login logic shared by AUTH and HELLO."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {"default": User("default", nopass=True)}
        self.failures = 0
        self.on_failure = None   # respd.acl records failed AUTHs in ACL LOG through this hook

    @property
    def default(self) -> User:
        return self.users["default"]

    def default_open(self) -> bool:
        """True when new connections are authenticated as ``default`` without AUTH."""
        d = self.users.get("default")
        return d is not None and d.enabled and d.nopass

    def attach_default(self, sess) -> None:
        d = self.users.get("default")
        sess.user = "default"
        sess.authenticated = self.default_open()
        sess.acl = d.permissions if d is not None else None

    def login(self, sess, username: bytes, password: bytes, one_arg: bool = False) -> None:
        """Authenticate sess as username or raise WRONGPASS (the session keeps its current user)."""
        if one_arg:
            d = self.users.get("default")
            if d is not None and d.nopass:
                raise CommandError(errors.AUTH_NO_PASSWORD)
        name = username.decode("utf-8", "surrogateescape")
        user = self.users.get(name)
        if user is None or not user.enabled or not user.check_password(password):
            self.failures += 1
            log.warning("failed AUTH for user %r from %s", name, getattr(sess, "addr", "?"))
            if self.on_failure is not None:
                self.on_failure(sess, name)
            raise CommandError(errors.WRONGPASS)
        sess.user = user.name
        sess.authenticated = True
        sess.acl = user.permissions

    def reset(self, sess) -> None:
        self.attach_default(sess)

    def find(self, name: str) -> Optional[User]:
        return self.users.get(name)
