"""Users and authentication: who a connection is (AUTH, HELLO AUTH, RESET), and the Redis ACL rules that define
a user (``RuleSet``: what ACL SETUSER edits and ACL LIST prints).

Passwords are kept only as SHA-256 digests and compared in constant time. What a user may do is decided by
``respd.acl``, which compiles these rules (and registry policies) into a ``Permissions`` object per user.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
import weakref
from dataclasses import dataclass, field
from typing import Optional

from . import errors
from .commands.table import COMMANDS
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
    rules: object = None                                  # RuleSet (below): Redis command/key rules (root)
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


class AuthFailure(CommandError):
    """WRONGPASS for a failed AUTH / HELLO AUTH, with the delay its reply is owed (seconds, 0 = answer at once)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(errors.WRONGPASS)
        self.delay = delay


#: failed AUTHs a connection may make before the replies to its further failures are delayed
FREE_FAILURES = 3


class Auth:
    """The user table and the login logic shared by AUTH and HELLO.

    A failed login is counted (INFO ``auth_failures``), recorded in ACL LOG (``on_failure``), reported through the
    rate-limited ``FailureLog``, and, past ``FREE_FAILURES`` on one connection, answered only after
    ``failure_delay`` seconds: the handler returns a coroutine that sleeps in that client's own task
    (``answer_failure``), so other clients are served meanwhile and the client's later requests wait their turn."""

    def __init__(self, failure_delay: float = 1.0) -> None:
        self.users: dict[str, User] = {"default": User("default", nopass=True)}
        self.failures = 0
        self.on_failure = None   # respd.acl records failed AUTHs in ACL LOG through this hook
        self.failure_log = FailureLog()
        self.failure_delay = failure_delay
        self.sleep = None        # an async sleep(seconds) while the server runs (trio.sleep), else no delay
        self._conn_failures: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # session -> failures

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
        """Authenticate sess as username, or raise AuthFailure (WRONGPASS; the session keeps its current user)."""
        if one_arg:
            d = self.users.get("default")
            if d is not None and d.nopass:
                raise CommandError(errors.AUTH_NO_PASSWORD)
        name = username.decode("utf-8", "surrogateescape")
        user = self.users.get(name)
        if user is None or not user.enabled or not user.check_password(password):
            self.failures += 1
            self.failure_log.failed(getattr(sess, "addr", "?"), name)
            if self.on_failure is not None:
                self.on_failure(sess, name)
            n = self._conn_failures.get(sess, 0) + 1
            self._conn_failures[sess] = n
            raise AuthFailure(self.failure_delay if n > FREE_FAILURES else 0.0)
        sess.user = user.name
        sess.authenticated = True
        sess.acl = user.permissions

    def answer_failure(self, sess, e: CommandError):
        """What a handler gives back for a failed login: re-raises ``e`` at once, or returns a coroutine raising it
        after the delay the connection is owed (dispatch maps either to the error reply). No delay once the server
        is shutting down, so that a guesser's pipeline does not hold the shutdown until its grace period ends."""
        delay = getattr(e, "delay", 0.0)
        if not delay or self.sleep is None or getattr(sess.app, "draining", False):
            raise e
        return self._answer_later(e, delay)

    async def _answer_later(self, e: CommandError, delay: float):
        await self.sleep(delay)
        raise e

    def reset(self, sess) -> None:
        self.attach_default(sess)

    def find(self, name: str) -> Optional[User]:
        return self.users.get(name)


class FailureLog:
    """Failed AUTHs in the server log, bounded: a guesser must not be able to fill the disk.

    The first failure from a host (the client address without its port) is logged on its own WARNING line; further
    failures from that host are only counted, and every ``interval`` seconds (``flush``, run by the server) each
    such host gets one line: ``N failed AUTH attempts from HOST in the last S s (users: ...)``. A host with no
    failure during a whole interval is forgotten, so its next failure is logged in full again. At most
    ``max_hosts`` hosts are tracked per interval; failures from further hosts are counted together on one line.
    So the log grows by at most about ``2 * max_hosts + 1`` lines per interval, whatever the guessing rate;
    a last ``flush`` at shutdown reports what is still counted."""

    MAX_USERS = 3   # user names quoted per summary line

    def __init__(self, interval: float = 60.0, max_hosts: int = 256, clock=time.monotonic,
                 logger: logging.Logger = log) -> None:
        self.interval = interval
        self.max_hosts = max_hosts
        self.clock = clock
        self.log = logger
        self.hosts: dict = {}            # host -> [failures since its last line, time of that line, {user: n}]
        self.others = [0, 0.0, {}]       # failures from hosts beyond max_hosts, same shape
        self.next_flush = clock() + interval

    @staticmethod
    def host_of(addr: str) -> str:
        if addr.startswith("["):
            return addr[1:addr.find("]")]
        host, sep, port = addr.rpartition(":")
        return host if sep and port.isdigit() else addr

    def failed(self, addr: str, user: str) -> None:
        now = self.clock()
        if now >= self.next_flush:
            self.flush()
        host = self.host_of(addr)
        rec = self.hosts.get(host)
        if rec is None and len(self.hosts) < self.max_hosts:
            self.hosts[host] = [0, now, {}]
            self.log.warning("failed AUTH for user %s from %s (further failures from %s are counted and "
                             "reported every %d s)", _shown(user), addr, host, self.interval)
            return
        if rec is None:
            rec = self.others
            if not rec[0]:
                rec[1] = now
        rec[0] += 1
        users = rec[2]
        if user in users or len(users) < self.MAX_USERS:
            users[user] = users.get(user, 0) + 1

    def flush(self) -> None:
        """One summary line per host with failures counted since its last line; hosts without any are dropped."""
        now = self.clock()
        self.next_flush = now + self.interval
        for host, rec in list(self.hosts.items()):
            if rec[0]:
                self._summary(rec, "from " + host, now)
            else:
                del self.hosts[host]
        if self.others[0]:
            self._summary(self.others, "from other addresses (more than %d hosts failed)" % self.max_hosts, now)

    def _summary(self, rec: list, source: str, now: float) -> None:
        users = ", ".join("%s (%d)" % (_shown(u), n) for u, n in rec[2].items())
        more = sum(rec[2].values()) < rec[0]
        self.log.warning("%d failed AUTH attempts %s in the last %d s (users: %s%s)", rec[0], source,
                         max(1, round(now - rec[1])), users, ", ..." if more else "")
        rec[0], rec[1], rec[2] = 0, now, {}

    async def run(self, sleep) -> None:
        """Flush every interval until cancelled; a last flush on the way out (shutdown) reports what is left."""
        try:
            while True:
                await sleep(max(0.0, self.next_flush - self.clock()))
                if self.clock() >= self.next_flush:
                    self.flush()
        finally:
            self.flush()


def _shown(name: str) -> str:
    """A user name for the log: repr-quoted (no control characters reach the log) and cut to 64 characters."""
    return repr(name) if len(name) <= 64 else repr(name[:64]) + "...(%d chars)" % len(name)


# ------------------------------------------------------------------------------------------------ Redis rules
#: Redis 7.0's ACL categories, in ACL CAT order
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
              "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
              "transaction", "scripting")

# ------------------------------------------------------------------------------------------------ SETUSER errors
E_SYNTAX = "Syntax error"
E_UNKNOWN = "Unknown command or category name in ACL"
E_KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have "
                    "any effect. Try 'resetkeys' to start with an empty list of patterns")
E_CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
                        "have any effect. Try 'resetchannels' to start with an empty list of channels")
E_NO_PASSWORD = "The password you are trying to remove from the user does not exist"
E_BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
E_SUB_FIRSTARG = "Allowing first-arg of a subcommand is not supported"
_HASH_RE = re.compile(rb"^[0-9a-f]{64}$")


class RuleError(Exception):
    """A Redis ACL rule that cannot be applied; ``str()`` is Redis' reason text."""


# ------------------------------------------------------------------------------------ Redis rules (selectors)
def _universe():
    """(command, subcommands) for every top-level command of the table."""
    return [(c, list(c.subcommands.values())) for c in COMMANDS.values()]


def _all_names() -> frozenset:
    names = set()
    for c, subs in _universe():
        names.add(c.name)
        names.update(s.name for s in subs)
    return frozenset(names)


def find_command(name: str):
    """The Command for 'get' or 'client|setname' (lowercase), or None."""
    parent, _, sub = name.partition("|")
    c = COMMANDS.get(parent.encode())
    if c is None or not sub:
        return c
    return c.subcommands.get(sub.encode())


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
            self.allowed = set(_all_names())
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
                raise RuleError(E_CHANNELS_AFTER_ALL)
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
            raise RuleError(E_SYNTAX)

    def _key_pattern(self, rule: bytes) -> None:
        if rule[:1] == b"~":
            flags, pat = "RW", rule[1:]
        else:
            head, sep, pat = rule[1:].partition(b"~")
            if not sep or not head or any(c not in b"RWrw" for c in head):
                raise RuleError(E_SYNTAX)
            flags = ("R" if b"R" in head.upper() else "") + ("W" if b"W" in head.upper() else "")
        if self.allkeys:
            raise RuleError(E_KEYS_AFTER_ALL)
        if pat == b"*" and flags == "RW":
            self.allkeys, self.patterns = True, []
        elif (flags, pat) not in self.patterns:
            self.patterns.append((flags, pat))

    def _category(self, cat: str, allow: bool) -> None:
        if cat not in CATEGORIES:
            raise RuleError(E_UNKNOWN)
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
            raise RuleError(E_UNKNOWN)
        if not bar:
            self._set(c, allow)
        elif c.subcommands:
            sub, bar2, _ = rest.partition("|")
            s = c.subcommands.get(sub.encode())
            if s is None:
                raise RuleError(E_UNKNOWN)
            if bar2:
                raise RuleError(E_SUB_FIRSTARG)
            self._set(s, allow)
        else:  # first-argument rule: +select|0 (only allowing is supported, as in Redis 7.0)
            if not allow or not rest:
                raise RuleError(E_UNKNOWN)
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
        return self.allkeys and self.allowed >= _all_names()


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

    Callers apply to a copy (``copy_user``) so that a failing SETUSER changes nothing, as in Redis."""
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
                    raise RuleError(E_NO_PASSWORD)
                user.password_hashes.remove(h)
            elif rule[:1] in (b"#", b"!"):
                h = rule[1:]
                if not _HASH_RE.match(h):
                    raise RuleError(E_BAD_HASH)
                h = h.decode()
                if rule[:1] == b"#":
                    if h not in user.password_hashes:
                        user.password_hashes.append(h)
                    user.nopass = False
                else:
                    if h not in user.password_hashes:
                        raise RuleError(E_NO_PASSWORD)
                    user.password_hashes.remove(h)
            elif rule[:1] == b"(":
                if not rule.endswith(b")"):
                    raise RuleError(E_SYNTAX)
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
