"""The Redis ACL rule language: what ACL SETUSER applies, the aclfile holds and ACL LIST / GETUSER print.

A ``RuleSet`` is one Redis *selector* in source form: allowed commands (``+get``, ``-@write``, ``+client|setname``,
first-argument rules ``+select|0``), key patterns (``~p``, ``%R~p``, ``%W~p``, ``allkeys``) and channels; a user has a
root ``RuleSet`` and extra selectors ``(...)``. ``apply_user_rules`` applies SETUSER arguments to a user (flags,
passwords, selectors, rules) and raises ``RuleError(rule, reason)`` with Redis' reason text on the first bad one;
``describe_user`` is its inverse, the ACL LIST line. What the rules allow is decided by ``respd.security.engine``,
which compiles them.

Command names and categories are resolved against the command table when a rule is applied (the table is filled
by then), never at import time.
"""
from __future__ import annotations

import re

from .. import errors
from ..commands.table import COMMANDS
from .model import sha256_hex

#: Redis 7.0's ACL categories, in ACL CAT order
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
              "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
              "transaction", "scripting")

_HASH_RE = re.compile(rb"^[0-9a-f]{64}$")


class RuleError(Exception):
    """A Redis ACL rule that cannot be applied; ``str()`` is Redis' reason text."""


def _universe():
    """(command, subcommands) for every top-level command of the table."""
    return [(c, list(c.subcommands.values())) for c in COMMANDS.values()]


def all_command_names() -> frozenset:
    """Every command and subcommand full name of the table ("get", "client|setname")."""
    names = set()
    for c, subs in _universe():
        names.add(c.name)
        names.update(s.name for s in subs)
    return frozenset(names)


# -------------------------------------------------------------------------------------------------- selectors
class RuleSet:
    """One Redis selector in source form: what ACL SETUSER edits and ACL LIST describes."""

    __slots__ = ("allowed", "firstargs", "future", "cmd_rules", "allkeys", "patterns", "allchannels", "channels")

    def __init__(self) -> None:
        self.allowed: set = set()          # command full names allowed ("get", "client|setname")
        self.firstargs: dict = {}          # command name -> set of allowed first arguments (+select|0)
        self.future = False                # +@all was the last reset: future commands allowed (ACL LIST "+@all")
        self.cmd_rules: list = []          # command rules since the last +@all/-@all, in order ("+get", "-@write")
        self.allkeys = False
        self.patterns: list = []           # (flags "R" | "W" | "RW", pattern bytes)
        self.allchannels = False
        self.channels: list = []

    @classmethod
    def allow_all(cls) -> "RuleSet":
        """``~* &* +@all``: the default user of a server without security configuration."""
        rs = cls()
        for r in (b"+@all", b"~*", b"&*"):
            rs.apply(r)
        return rs

    @classmethod
    def commands_only(cls) -> "RuleSet":
        """``&* +@all`` without keys: a policy user's rules when it has no ``rules:`` (policies grant the data)."""
        rs = cls()
        for r in (b"+@all", b"&*"):
            rs.apply(r)
        return rs

    def copy(self) -> "RuleSet":
        rs = RuleSet()
        rs.allowed = set(self.allowed)
        rs.firstargs = {k: set(v) for k, v in self.firstargs.items()}
        rs.future, rs.cmd_rules = self.future, list(self.cmd_rules)
        rs.allkeys, rs.patterns = self.allkeys, list(self.patterns)
        rs.allchannels, rs.channels = self.allchannels, list(self.channels)
        return rs

    # ------------------------------------------------------------------------------------- applying rules
    def apply(self, rule: bytes) -> None:
        """Apply one selector rule (commands, keys, channels) or raise RuleError."""
        low = rule.lower()
        if low in (b"allcommands", b"+@all"):
            self.allowed = set(all_command_names())
            self.firstargs = {}
            self.future, self.cmd_rules = True, []
        elif low in (b"nocommands", b"-@all"):
            self.allowed = set()
            self.firstargs = {}
            self.future, self.cmd_rules = False, []
        elif low == b"allkeys" or rule == b"~*":
            self.allkeys, self.patterns = True, []
        elif low == b"resetkeys":
            self.allkeys, self.patterns = False, []
        elif low == b"allchannels" or rule == b"&*":
            self.allchannels, self.channels = True, []
        elif low == b"resetchannels":
            self.allchannels, self.channels = False, []
        elif rule[:1] == b"~" or rule[:1] == b"%":
            self._key_pattern(rule)
        elif rule[:1] == b"&":
            if self.allchannels:
                raise RuleError(errors.ACL_CHANNELS_AFTER_ALL)
            pat = rule[1:]
            if pat == b"*":
                self.allchannels, self.channels = True, []
            elif pat not in self.channels:
                self.channels.append(pat)
        elif rule[:2] in (b"+@", b"-@"):
            self._category(low[2:].decode("latin-1"), rule[:1] == b"+")
        elif rule[:1] in (b"+", b"-"):
            self._command(low[1:].decode("latin-1"), rule[:1] == b"+")
        else:
            raise RuleError(errors.ACL_RULE_SYNTAX)

    def _key_pattern(self, rule: bytes) -> None:
        if rule[:1] == b"~":
            flags, pat = "RW", rule[1:]
        else:
            head, sep, pat = rule[1:].partition(b"~")
            if not sep or not head or any(c not in b"RWrw" for c in head):
                raise RuleError(errors.ACL_RULE_SYNTAX)
            flags = ("R" if b"R" in head.upper() else "") + ("W" if b"W" in head.upper() else "")
        if self.allkeys:
            raise RuleError(errors.ACL_KEYS_AFTER_ALL)
        if pat == b"*" and flags == "RW":
            self.allkeys, self.patterns = True, []
        elif (flags, pat) not in self.patterns:
            self.patterns.append((flags, pat))

    def _category(self, cat: str, allow: bool) -> None:
        if cat not in CATEGORIES:
            raise RuleError(errors.ACL_RULE_UNKNOWN)
        for c, subs in _universe():
            if cat in c.categories:
                self._set(c, allow)
            for s in subs:
                if cat in s.categories:
                    self._set(s, allow)
        self._rule(("+@" if allow else "-@") + cat)

    def _command(self, name: str, allow: bool) -> None:
        parent, bar, rest = name.partition("|")
        c = COMMANDS.get(parent.encode())
        if c is None:
            raise RuleError(errors.ACL_RULE_UNKNOWN)
        if not bar:
            self._set(c, allow)
        elif c.subcommands:
            sub, bar2, _ = rest.partition("|")
            s = c.subcommands.get(sub.encode())
            if s is None:
                raise RuleError(errors.ACL_RULE_UNKNOWN)
            if bar2:
                raise RuleError(errors.ACL_SUB_FIRSTARG)
            self._set(s, allow)
        else:  # first-argument rule: +select|0 (only allowing is supported, as in Redis 7.0)
            if not allow or not rest:
                raise RuleError(errors.ACL_RULE_UNKNOWN)
            if c.name not in self.allowed:
                self.firstargs.setdefault(c.name, set()).add(rest.encode("latin-1"))
        self._rule(("+" if allow else "-") + name)

    def _set(self, cmd, allow: bool) -> None:
        names = [cmd.name] + [s.name for s in cmd.subcommands.values()]
        for n in names:
            self.firstargs.pop(n, None)
            if allow:
                self.allowed.add(n)
            else:
                self.allowed.discard(n)

    def _rule(self, text: str) -> None:
        body = text[1:]
        self.cmd_rules = [r for r in self.cmd_rules if r[1:] != body]
        self.cmd_rules.append(text)

    # ------------------------------------------------------------------------------------------ describing
    def keys_text(self) -> bytes:
        if self.allkeys:
            return b"~*"
        return b" ".join((b"~" if f == "RW" else b"%" + f.encode() + b"~") + p for f, p in self.patterns)

    def channels_text(self, reset_word: bool = True) -> bytes:
        if self.allchannels:
            return b"&*"
        parts = [b"resetchannels"] if reset_word else []
        return b" ".join(parts + [b"&" + c for c in self.channels])

    def commands_text(self) -> bytes:
        return " ".join(["+@all" if self.future else "-@all"] + self.cmd_rules).encode()

    def describe(self) -> bytes:
        return b" ".join(p for p in (self.keys_text(), self.channels_text(), self.commands_text()) if p)

    def unrestricted(self) -> bool:
        return self.allkeys and self.allchannels and self.allowed >= all_command_names()


# ------------------------------------------------------------------------------------------------------ users
def ensure_rules(user) -> None:
    """Give a user without Redis rules its implicit ones: a registry user in policy mode may run every command (its
    policies grant the data), any other user may do everything (the default user of a server without security
    configuration)."""
    if user.rules is None:
        user.rules = RuleSet.commands_only() if user.policy_mode else RuleSet.allow_all()


def split_selector_args(rules: list) -> list:
    """Merge ``(`` ... ``)`` selector arguments split over several argv entries (as Redis does)."""
    out, buf = [], None
    for r in rules:
        if buf is None:
            if r[:1] == b"(" and not r.endswith(b")"):
                buf = r
            else:
                out.append(r)
        else:
            buf += b" " + r
            if r.endswith(b")"):
                out.append(buf)
                buf = None
    if buf is not None:
        out.append(buf)
    return out


def apply_user_rules(user, rules: list) -> None:
    """Apply ACL SETUSER rules to a user (mutating it); raises RuleError(rule, reason) on the first bad rule.

    Callers apply to a copy (``User.copy``) so that a failing SETUSER changes nothing, as in Redis."""
    for rule in split_selector_args(rules):
        low = rule.lower()
        try:
            if low == b"on":
                user.enabled = True
            elif low == b"off":
                user.enabled = False
            elif low == b"nopass":
                user.nopass, user.password_hashes = True, []
            elif low == b"resetpass":
                user.nopass, user.password_hashes = False, []
            elif low in (b"skip-sanitize-payload", b"sanitize-payload"):
                user.sanitize = low.decode()
            elif low == b"reset":
                user.nopass, user.password_hashes, user.enabled = False, [], False
                user.sanitize = "sanitize-payload"
                user.selectors = []
                user.rules = RuleSet()
            elif low == b"clearselectors":
                user.selectors = []
            elif rule[:1] == b">":
                h = sha256_hex(rule[1:])
                if h not in user.password_hashes:
                    user.password_hashes.append(h)
                user.nopass = False
            elif rule[:1] == b"<":
                h = sha256_hex(rule[1:])
                if h not in user.password_hashes:
                    raise RuleError(errors.ACL_NO_SUCH_PASSWORD)
                user.password_hashes.remove(h)
            elif rule[:1] in (b"#", b"!"):
                h = rule[1:]
                if not _HASH_RE.match(h):
                    raise RuleError(errors.ACL_BAD_HASH)
                h = h.decode()
                if rule[:1] == b"#":
                    if h not in user.password_hashes:
                        user.password_hashes.append(h)
                    user.nopass = False
                else:
                    if h not in user.password_hashes:
                        raise RuleError(errors.ACL_NO_SUCH_PASSWORD)
                    user.password_hashes.remove(h)
            elif rule[:1] == b"(":
                if not rule.endswith(b")"):
                    raise RuleError(errors.ACL_RULE_SYNTAX)
                sel = RuleSet()
                for part in rule[1:-1].split():
                    sel.apply(part)
                user.selectors.append(sel)
            else:
                user.rules.apply(rule)
        except RuleError as e:
            raise RuleError(rule, str(e)) from None


def describe_user(user) -> bytes:
    """The ACL LIST line: ``user <name> on|off [nopass] [#hash...] <keys> <channels> <commands> [(selector)...]``."""
    parts = [b"user", user.name.encode(), b"on" if user.enabled else b"off"]
    if user.nopass:
        parts.append(b"nopass")
    if user.sanitize:
        parts.append(user.sanitize.encode())
    parts += [b"#" + h.encode() for h in user.password_hashes]
    if user.policy_mode and user.policy_ids:
        parts.append(b"policies:" + ",".join(user.policy_ids).encode())
    parts.append(user.rules.describe())
    parts += [b"(" + s.describe() + b")" for s in user.selectors]
    return b" ".join(p for p in parts if p)
