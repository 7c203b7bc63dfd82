"""The app's security object (``app.security``): what changes users while the server runs, and ACL LOG.

``Security`` keeps live connections in step with the user table, as Redis does: a changed user is recompiled and
every connection logged in as it gets the new permissions at once (``refresh``; ``set_user`` for ACL SETUSER,
``set_requirepass`` for CONFIG SET requirepass); a deleted user's connections are closed, the current one after its
reply (``delete_user``, ``drop``). It checks SELECT (``check_store``) and records failed AUTHs and denials in
``log``, an ``AclLog``. It does not decide anything itself: decisions are ``respd.security.engine``'s.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Optional

from ..replies import Double, Map
from ..session import client_line
from .engine import compile_user
from .model import User, sha256_hex
from .rules import RuleSet, apply_user_rules, ensure_rules


class AclLog:
    """Redis' ACL LOG: recent denials, similar ones (same reason/context/object/user within 60 s of the entry's last
    event, among the 10 newest entries) merged into one entry with a count. As in Redis 7.0, a merge moves the
    entry's time to the new event: ``age-seconds`` is the time since its last event, so an entry kept alive by a
    steady stream of failed AUTHs stays one entry with a growing count."""

    def __init__(self, max_len: int = 128):
        self.entries: deque = deque()
        self.max_len = max_len

    def add(self, reason: str, obj: bytes, username: str, sess=None) -> None:
        now = time.time()
        # Redis' context: "multi" for a command refused while queued in MULTI or re-checked (or AUTH failing) in EXEC
        in_multi = sess is not None and (getattr(sess, "multi", None) is not None or getattr(sess, "in_exec", False))
        context = "lua" if getattr(sess, "in_script", False) else "multi" if in_multi else "toplevel"
        info = b""
        if sess is not None:
            try:
                info = client_line(sess, now).rstrip(b"\n")
            except Exception:  # a half-initialised session must never break a denial
                info = b""
        for e in list(self.entries)[:10]:
            if e["reason"] == reason and e["context"] == context and e["object"] == obj \
                    and e["username"] == username and now - e["updated"] < 60:
                e["count"] += 1
                e["updated"] = now
                e["client-info"] = info
                self.entries.remove(e)  # an entry seen again moves to the head, as Redis' addACLLogEntry does
                self.entries.appendleft(e)
                return
        self.entries.appendleft({"count": 1, "reason": reason, "context": context, "object": obj,
                                 "username": username, "updated": now, "client-info": info})
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()

    def reply(self, count: Optional[int] = None) -> list:
        now = time.time()
        out = []
        for e in list(self.entries)[:count if count is not None else len(self.entries)]:
            out.append(Map([(b"count", e["count"]), (b"reason", e["reason"].encode()),
                            (b"context", e["context"].encode()), (b"object", e["object"]),
                            (b"username", e["username"].encode()),
                            (b"age-seconds", Double(round(now - e["updated"], 3))),
                            (b"client-info", e["client-info"])]))
        return out


class Security:
    """``app.security``: the ACL LOG, store checks for ``App.select``, and users changed at runtime."""

    def __init__(self, app):
        self.app = app
        self.log = AclLog()

    def check_store(self, sess, store_id: str) -> None:
        if sess.permissions is not None:
            sess.permissions.check_store(sess, store_id)

    def on_auth_failure(self, sess, username: str) -> None:
        self.log.add("auth", b"AUTH", username, sess)

    def refresh(self, user) -> None:
        """Recompile a changed user and give live connections its new permissions (as Redis does)."""
        user.permissions = compile_user(user)
        # as Redis' authRequired(): connections still unauthenticated as "default" need no AUTH once it is open
        opened = user.name == "default" and user.enabled and user.nopass
        for sess in list(self.app.clients.values()):
            if sess.user == user.name:
                sess.permissions = user.permissions
                if opened:
                    sess.authenticated = True

    def set_user(self, name: str, rules: list) -> None:
        """ACL SETUSER: apply rules to a copy of the user (a new, disabled user without rules if there is none),
        and only if every rule applies, put it in the table and refresh it; raises RuleError(rule, reason)."""
        users = self.app.auth.users
        existing = users.get(name)
        if existing is not None:
            ensure_rules(existing)
            user = existing.copy()
        else:
            user = User(name, enabled=False, nopass=False, rules=RuleSet(), origin="runtime")
        apply_user_rules(user, rules)
        if user.origin == "implicit":
            user.origin = "runtime"
        users[name] = user
        self.refresh(user)

    def set_requirepass(self, password: bytes) -> None:
        """CONFIG SET requirepass: the default user's only password ("" = nopass), as Redis does."""
        d = self.app.auth.users["default"].copy()
        d.password_hashes = [sha256_hex(password)] if password else []
        d.nopass = not password
        self.app.auth.users["default"] = d
        self.refresh(d)

    def delete_user(self, name: str, current=None) -> bool:
        """ACL DELUSER of one name: whether it existed; its connections are closed (``drop``)."""
        if self.app.auth.users.pop(name, None) is None:
            return False
        self.drop(name, current=current)
        return True

    def drop(self, name: str, current=None) -> None:
        """A deleted user: close its connections (the current one after its reply)."""
        for sess in list(self.app.clients.values()):
            if sess.user == name:
                if sess is current:
                    sess.closing = True
                else:
                    self.app.kill_client(sess)
