"""Permissions: one engine for Redis ACL rules and registry policies (pure: no I/O, no trio).

Every user compiles to a ``Permissions`` object (``user.permissions``, assigned to ``session.acl`` at login; ``None``
for users that may do everything, so dispatch pays nothing for them). It answers ``check(sess, cmd, argv)`` with
``None`` or the ``-NOPERM`` reply Redis 7 gives for the same case, ``check_store`` for SELECT, ``filter_keys`` for
KEYS/SCAN/RANDOMKEY and ``dryrun`` for ACL DRYRUN.

Two sources, one model. A permission set (a Redis *selector*) is a command gate plus a list of statements
``(effect, actions, resources, conditions)``:

* **Redis rules** (ACL SETUSER, the aclfile, a registry user's ``rules:``) give the command gate (``+@all``,
  ``-flushall``, ``+client|getname``...) and compile key patterns to allow statements: ``~p`` grants every
  ``store.key.*`` action on keys matching ``p``, ``%R~p`` grants ``store.key.get``/``has``, ``%W~p`` grants
  ``store.key.set``/``delete``/``has``. Users defined only by Redis rules are also granted every store-level action
  below, on every store: they behave exactly as on Redis (KEYS/SCAN/DBSIZE unfiltered, SELECT any store).
* **Registry policies** (``kind: security.policy``) add statements; a registry user is in *policy mode*: it may do
  only what its policies allow (a user without policies can do nothing with data), and KEYS/SCAN/RANDOMKEY only show
  keys it may ``store.key.get``.

Actions (``ACTIONS``): ``store.get`` (SELECT a store, and use the store the connection is on: without it every
command touching that store is denied until SELECT of a permitted one), ``store.key.get|set|delete|has`` (derived
from each key spec's flags: ACCESS → get, INSERT/UPDATE → set, DELETE → delete, none → has), ``store.keys.list``
(KEYS, SCAN, RANDOMKEY), ``store.keys.count`` (DBSIZE), ``store.flush`` (FLUSHDB on the store, FLUSHALL on every
store) and ``server.admin`` (commands of the ``@admin`` category and SWAPDB; the resource is the command name, e.g.
``config|set``). Resources are store ids (``app:cache``) or fnmatch patterns (``app:*``, ``*``).

Evaluation (``_Sel.decide``): any matching deny wins; else any matching allow; else denied. Conditions on actor
fields are settled when the user is compiled, those on ``resource``/``action`` once per (store, action), and only
``meta.key`` conditions run per key, so per command the cost is one dict lookup plus, for key-dependent rules, one
predicate per key. Decisions and per-(store, command) plans are cached on the compiled object, which is rebuilt
whenever the user changes.
"""
from __future__ import annotations

import fnmatch
import re
import time
from collections import deque
from typing import Any, Callable, Optional

from backends.glob import compile_glob, translate

from . import errors
from .commands.spec import ACCESS, COMMANDS, DELETE, INSERT, UPDATE
from .errors import CommandError
from .replies import Err

# ----------------------------------------------------------------------------------------------------- actions
STORE_GET = "store.get"
KEY_GET, KEY_SET, KEY_DELETE, KEY_HAS = "store.key.get", "store.key.set", "store.key.delete", "store.key.has"
KEYS_LIST, KEYS_COUNT, FLUSH, ADMIN = "store.keys.list", "store.keys.count", "store.flush", "server.admin"
ACTIONS = (STORE_GET, KEY_GET, KEY_SET, KEY_DELETE, KEY_HAS, KEYS_LIST, KEYS_COUNT, FLUSH, ADMIN)
KEY_ACTIONS = (KEY_GET, KEY_SET, KEY_DELETE, KEY_HAS)
_STORE_LEVEL = {"keys": KEYS_LIST, "scan": KEYS_LIST, "randomkey": KEYS_LIST, "dbsize": KEYS_COUNT,
                "flushdb": FLUSH, "flushall": FLUSH}

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


def spec_actions(flags: tuple) -> tuple:
    """The policy actions a key spec's access flags require (the single source: spec.py's flags)."""
    acts = []
    if ACCESS in flags:
        acts.append(KEY_GET)
    if INSERT in flags or UPDATE in flags:
        acts.append(KEY_SET)
    if DELETE in flags:
        acts.append(KEY_DELETE)
    return tuple(acts) if acts else (KEY_HAS,)


def command_action(cmd) -> Optional[str]:
    """The store/server-level action a keyless command needs beyond the command gate (None: just the gate)."""
    act = _STORE_LEVEL.get(cmd.name)
    if act is not None:
        return act
    if "admin" in cmd.categories or cmd.name == "swapdb":
        return ADMIN
    return None


# ======================================================================================= Redis rules (selectors)
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
    from .auth import sha256_hex
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


# ============================================================================================ policy statements
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


class Statement:
    """One allow/deny rule: actions × resources × conditions (a registry policy or a compiled Redis rule)."""

    __slots__ = ("allow", "actions", "resources", "conditions", "source")

    def __init__(self, allow: bool, actions, resources, conditions=(), source: str = ""):
        self.allow = allow
        self.actions = tuple(actions)
        self.resources = tuple(resources)
        self.conditions = tuple(conditions)
        self.source = source

    def matches(self, action: str, resource: str) -> bool:
        return (any(p == "*" or p == action or fnmatch.fnmatchcase(action, p) for p in self.actions)
                and any(p == "*" or p == resource or fnmatch.fnmatchcase(resource, p) for p in self.resources))

    def for_actor(self, actor) -> Optional["Statement"]:
        """This statement with actor conditions settled: None if they fail, else one with the rest."""
        rest = []
        for c in self.conditions:
            if c.phase == 0:
                if not c.test(actor, None, None, None):
                    return None
            else:
                rest.append(c)
        return Statement(self.allow, self.actions, self.resources, rest, self.source)


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


def redis_statements(rs: RuleSet, store_level: bool) -> list:
    """Compile a Redis selector's key patterns (and, for pure Redis users, the store-level grants) to statements."""
    out = []
    if store_level:
        out.append(Statement(True, (STORE_GET, KEYS_LIST, KEYS_COUNT, FLUSH, ADMIN), ("*",), (), "redis"))
    if rs.allkeys:
        out.append(Statement(True, KEY_ACTIONS, ("*",), (), "~*"))
        return out
    grants = {"RW": KEY_ACTIONS, "R": (KEY_GET, KEY_HAS), "W": (KEY_SET, KEY_DELETE, KEY_HAS)}
    for flags, pat in rs.patterns:
        acts = grants[flags]
        if pat == b"*":
            out.append(Statement(True, acts, ("*",), (), "%" + flags + "~*"))
        else:
            out.append(Statement(True, acts, ("*",), (Condition("meta.key", "glob", pat),), "~"))
    return out


# ============================================================================================ compiled engine
DENIED_CMD, DENIED_KEY = 1, 2
_OK = "ok"            # plan: nothing to check
_DENY = "deny"        # plan: the command is denied


class _KeyRule:
    """A decision that depends on the key: deny predicates, then an unconditional allow or allow predicates."""

    __slots__ = ("denies", "allowed", "allows")

    def __init__(self, denies: list, allowed: bool, allows: list):
        self.denies, self.allowed, self.allows = denies, allowed, allows

    def __call__(self, key: bytes) -> bool:
        for p in self.denies:
            if p(key):
                return False
        if self.allowed:
            return True
        for p in self.allows:
            if p(key):
                return True
        return False


def _key_predicates(groups: list, actor, resource, action) -> list:
    """One predicate per statement (all its key conditions), except that statements whose only condition is a
    constant key glob are merged into a single regex: N Redis patterns cost one ``re.match`` per key."""
    globs, preds = [], []
    for conds in groups:
        if len(conds) == 1 and conds[0].key_glob() is not None:
            globs.append(conds[0].key_glob())
        else:
            preds.append(lambda key, conds=conds: all(c.test(actor, resource, action, key) for c in conds))
    if globs:
        if b"*" in globs:
            preds.insert(0, _always)
        elif all(_prefix_only(g) for g in globs):  # "app:*": a startswith is 4x cheaper than a regex
            prefixes = tuple(g[:-1] for g in globs)
            preds.insert(0, lambda key: key.startswith(prefixes))
        else:
            preds.insert(0, re.compile(b"|".join(translate(g) for g in globs)).match)
    return preds


def _prefix_only(pattern: bytes) -> bool:
    return pattern.endswith(b"*") and not any(c in pattern[:-1] for c in b"*?[\\")


def _always(key: bytes) -> bool:
    return True


class _Plan:
    """What a command needs on a store, settled once: per key spec, the decisions to apply to its keys."""

    __slots__ = ("checks", "firstargs", "cross", "inner")

    def __init__(self, checks=(), firstargs=None, cross=False, inner=None):
        self.checks = checks          # ((first, last, step, (decision...)), ...): False or a key predicate
        self.firstargs = firstargs    # allowed first arguments when the gate opens only for those
        self.cross = cross            # MOVE/COPY DB: also check the destination store
        self.inner = inner


class _Sel:
    """One compiled permission set: a command gate and statements, with its decision caches."""

    __slots__ = ("commands", "firstargs", "stmts", "actor", "decisions", "plans")

    def __init__(self, commands: Optional[frozenset], firstargs: dict, stmts: list, actor):
        self.commands = commands      # None = every command
        self.firstargs = firstargs
        self.stmts = stmts
        self.actor = actor
        self.decisions: dict = {}
        self.plans: dict = {}

    def decide(self, resource: str, action: str, keyed: bool = True):
        """True (allowed), False (denied), or a _KeyRule for key actions whose answer depends on the key."""
        ck = (resource, action)
        d = self.decisions.get(ck)
        if d is not None:
            return d
        deny_all = allow_all = False
        kdeny, kallow = [], []
        actor = self.actor
        for st in self.stmts:
            if not st.matches(action, resource):
                continue
            keyconds = []
            ok = True
            for c in st.conditions:
                if c.phase == 2 and keyed:
                    keyconds.append(c)
                elif not c.test(actor, resource, action, None):
                    ok = False
                    break
            if not ok:
                continue
            if keyconds:
                (kallow if st.allow else kdeny).append(keyconds)
            elif st.allow:
                allow_all = True
            else:
                deny_all = True
        if deny_all:
            d = False
        elif not kdeny and allow_all:
            d = True
        elif not kdeny and not kallow:
            d = False
        else:
            kdeny = _key_predicates(kdeny, actor, resource, action)
            kallow = [] if allow_all else _key_predicates(kallow, actor, resource, action)
            if not kdeny and len(kallow) == 1:
                d = kallow[0]  # the common case: a bare predicate (a compiled regex's match)
            else:
                d = _KeyRule(kdeny, allow_all, kallow)
        self.decisions[ck] = d
        return d

    def plan(self, app, sid: str, cmd, specs) -> Any:
        if "no_auth" in cmd.flags:
            return _OK
        firstargs = None
        if self.commands is not None and cmd.name not in self.commands:
            firstargs = self.firstargs.get(cmd.name)
            if firstargs is None:
                return _DENY
        act = command_action(cmd)
        if act is not None:
            if act == ADMIN:
                if self.decide(cmd.name, ADMIN, False) is not True:
                    return _DENY
            else:
                targets = [s for s in app.stores] if cmd.name == "flushall" else [sid]
                for t in targets:
                    if self.decide(t, act, False) is not True:
                        return _DENY
                if cmd.name != "flushall" and self.decide(sid, STORE_GET, False) is not True:
                    return _DENY
        checks = []
        if specs:
            if self.decide(sid, STORE_GET, False) is not True:
                checks = [(spec.first, spec.last, spec.step, (False,)) for spec in specs]
            else:
                for spec in specs:
                    decs = tuple(self.decide(sid, a) for a in spec_actions(spec.flags))
                    decs = tuple(d for d in decs if d is not True)
                    if decs:
                        checks.append((spec.first, spec.last, spec.step, decs))
        cross = cmd.name in ("move", "copy")
        if not checks and firstargs is None and not cross:
            return _OK
        return _Plan(tuple(checks), firstargs, cross)

    def evaluate(self, app, sid: str, cmd, argv: list) -> Any:
        """None if allowed, else (DENIED_CMD, argv index, name) / (DENIED_KEY, argv index, key)."""
        if cmd.key_flags is None:
            specs = cmd.keys
            ck = (sid, cmd.name)
        else:
            specs = cmd.key_flags(argv)
            ck = (sid, cmd.name, specs)
        plan = self.plans.get(ck)
        if plan is None:
            plan = self.plans[ck] = self.plan(app, sid, cmd, specs)
        if plan is _OK:
            return None
        if plan is _DENY:
            return DENIED_CMD, 0, cmd.name
        if plan.firstargs is not None and (len(argv) < 2 or argv[1].lower() not in plan.firstargs):
            return DENIED_CMD, 0, cmd.name
        n = len(argv)
        for first, last, step, decs in plan.checks:
            if last == 0:  # one key (arity guarantees it is there)
                key = argv[first]
                for d in decs:
                    if d is False or not d(key):
                        return DENIED_KEY, first, key
                continue
            stop = last if last > 0 else n + last
            for i in range(first, (stop if stop < n else n - 1) + 1, step):
                key = argv[i]
                for d in decs:
                    if d is False or not d(key):
                        return DENIED_KEY, i, key
        if plan.cross:
            return self._cross(app, cmd, argv)
        return None

    def _cross(self, app, cmd, argv: list):
        """MOVE k db / COPY src dst DB db: the key written into another store needs store.key.set there."""
        target = None
        if cmd.name == "move":
            target, pos = argv[2], 1
        else:
            pos = 2
            for i in range(3, len(argv) - 1):
                if argv[i].lower() == b"db":
                    target = argv[i + 1]
        if target is None:
            return None
        store = _store_for(app, target)
        if store is None:
            return None  # the command itself reports the bad index
        if self.decide(store.id, STORE_GET, False) is not True:
            return DENIED_KEY, pos, argv[pos]
        d = self.decide(store.id, KEY_SET)
        if d is False or (d is not True and not d(argv[pos])):
            return DENIED_KEY, pos, argv[pos]
        return None


def _store_for(app, arg: bytes):
    from .commands.args import try_int
    idx = try_int(arg)
    if idx is not None:
        return app.databases.get(idx)
    return app.stores.get(arg.decode("utf-8", "replace"))


class Permissions:
    """A user's compiled permissions: the object dispatch calls as ``sess.acl``."""

    def __init__(self, user, sels: list, filter_listing: bool, store_dependent: bool):
        self.user = user
        self.sels = sels
        self.filter_listing = filter_listing
        self.store_dependent = store_dependent

    # ------------------------------------------------------------------------------------------------ checks
    def evaluate(self, app, sid: str, cmd, argv: list) -> Any:
        best = None
        for sel in self.sels:
            r = sel.evaluate(app, sid, cmd, argv)
            if r is None:
                return None
            if best is None or r[0] > best[0] or (r[0] == best[0] and r[1] > best[1]):
                best = r
        return best

    def check(self, sess, cmd, argv: list) -> Optional[Err]:
        """None when allowed; else the NOPERM reply (the denial is counted and logged in ACL LOG)."""
        store = sess.store
        sid = store.id if store is not None else ""
        app = sess.app
        if len(self.sels) == 1:
            r = self.sels[0].evaluate(app, sid, cmd, argv)
        else:
            r = self.evaluate(app, sid, cmd, argv)
        if r is None and sess.multi and self.store_dependent:
            r = self._check_queued_selects(sess, cmd, argv, sid)
        if r is None:
            return None
        return deny(sess, r)

    def _check_queued_selects(self, sess, cmd, argv, sid):
        """Inside MULTI a queued SELECT changes the store later commands run on: check them against it too."""
        for qcmd, qargv in sess.multi:
            if qcmd.name == "select":
                store = _store_for(sess.app, qargv[1])
                if store is not None and store.id != sid:
                    r = self.evaluate(sess.app, store.id, cmd, argv)
                    if r is not None:
                        return r
        return None

    def check_store(self, sess, store_id: str) -> None:
        """SELECT / the starting store: raise the NOPERM 'select' error unless store.get is allowed."""
        for sel in self.sels:
            if sel.decide(store_id, STORE_GET, False) is True:
                return
        deny(sess, (DENIED_CMD, 0, "select"))
        raise CommandError(errors.NOPERM_CMD.format("select"))

    def filter_keys(self, sess, keys: list) -> list:
        """Keys the user may read (store.key.get); unfiltered for Redis-rule users, as on Redis."""
        if not self.filter_listing:
            return keys
        store = sess.store
        sid = store.id if store is not None else ""
        decs = [sel.decide(sid, KEY_GET) for sel in self.sels]
        if any(d is True for d in decs):
            return keys
        decs = [d for d in decs if d is not False]
        if not decs:
            return []
        return [k for k in keys if any(d(k) for d in decs)]

    def describe(self) -> bytes:
        return describe_user(self.user)


def deny(sess, r) -> Err:
    """Count, log and word a denial (r = (kind, index, object))."""
    app = sess.app
    kind, _, obj = r
    acl = getattr(app, "acl", None)
    if kind == DENIED_KEY:
        app.stat_denied_key += 1
        if acl is not None:
            acl.log.add("key", obj, sess.user, sess)
        return Err(errors.NOPERM_KEY)
    app.stat_denied_cmd += 1
    if acl is not None:
        acl.log.add("command", obj.encode() if isinstance(obj, str) else obj, sess.user, sess)
    return Err(errors.NOPERM_CMD.format(obj))


def compile_user(user) -> Optional[Permissions]:
    """Build a user's Permissions, or None when the user may run everything on every key and store."""
    if user.rules is None:
        user.rules = RuleSet.commands_only() if user.policy_mode else RuleSet.allow_all()
    rulesets = [user.rules] + list(user.selectors)
    if not user.policy_mode and user.rules.unrestricted():
        return None
    sels = []
    all_names = _all_names()
    for i, rs in enumerate(rulesets):
        stmts = redis_statements(rs, store_level=not user.policy_mode)
        if user.policy_mode and i == 0:
            stmts += list(user.policies)
        stmts = [s for s in (st.for_actor(user) for st in stmts) if s is not None]
        commands = None if rs.allowed >= all_names else frozenset(rs.allowed)
        sels.append(_Sel(commands, {k: frozenset(v) for k, v in rs.firstargs.items()}, stmts, user))
    if user.policy_mode and len(sels) == 1 and sels[0].commands is None and not sels[0].firstargs:
        stmts = sels[0].stmts
        if all(s.allow for s in stmts) and any("*" in s.actions and "*" in s.resources and not s.conditions
                                               for s in stmts):
            return None
    store_dependent = user.policy_mode
    return Permissions(user, sels, filter_listing=user.policy_mode, store_dependent=store_dependent)


def dryrun(user, app, store, cmd, argv: list) -> Optional[bytes]:
    """ACL DRYRUN: None if the user could run argv, else Redis' explanation text."""
    perms = user.permissions
    if perms is None:
        return None
    r = perms.evaluate(app, store.id if store is not None else "", cmd, argv)
    if r is None:
        return None
    if r[0] == DENIED_KEY:
        return b"This user has no permissions to access the '" + r[2] + b"' key"
    return ("This user has no permissions to run the '%s' command" % r[2]).encode()


# ================================================================================================= ACL LOG
class AclLog:
    """Redis' ACL LOG: recent denials, similar ones (same reason/context/object/user within 60 s) merged."""

    def __init__(self, max_len: int = 128):
        self.entries: deque = deque()
        self.max_len = max_len

    def add(self, reason: str, obj: bytes, username: str, sess=None) -> None:
        now = time.time()
        context = "toplevel"  # denials are found when a command is queued, never inside EXEC
        info = b""
        if sess is not None:
            from .commands.connection import client_line
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
                return
        self.entries.appendleft({"count": 1, "reason": reason, "context": context, "object": obj,
                                 "username": username, "created": now, "updated": now, "client-info": info})
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()

    def reply(self, count: Optional[int] = None) -> list:
        from .replies import Double, Map
        now = time.time()
        out = []
        for e in list(self.entries)[:count if count is not None else len(self.entries)]:
            out.append(Map([(b"count", e["count"]), (b"reason", e["reason"].encode()),
                            (b"context", e["context"].encode()), (b"object", e["object"]),
                            (b"username", e["username"].encode()),
                            (b"age-seconds", Double(round(now - e["created"], 3))),
                            (b"client-info", e["client-info"])]))
        return out


# ====================================================================================================== Acl
class Acl:
    """``app.acl``: the log, store checks for ``App.select``, and re-compiling users when they change."""

    def __init__(self, app):
        self.app = app
        self.log = AclLog()

    def check_store(self, sess, store_id: str) -> None:
        if sess.acl is not None:
            sess.acl.check_store(sess, store_id)

    def on_auth_failure(self, sess, username: str) -> None:
        self.log.add("auth", b"AUTH", username, sess)

    def refresh(self, user) -> None:
        """Recompile a changed user and give live connections its new permissions (as Redis does)."""
        user.permissions = compile_user(user)
        # as Redis' authRequired(): connections still unauthenticated as "default" need no AUTH once it is open
        opened = user.name == "default" and user.enabled and user.nopass
        for sess in list(self.app.clients.values()):
            if sess.user == user.name:
                sess.acl = user.permissions
                if opened:
                    sess.authenticated = True

    def set_requirepass(self, password: bytes) -> None:
        """CONFIG SET requirepass: the default user's only password ("" = nopass), as Redis does."""
        from .auth import sha256_hex
        d = self.app.auth.users["default"].copy()
        d.password_hashes = [sha256_hex(password)] if password else []
        d.nopass = not password
        self.app.auth.users["default"] = d
        self.refresh(d)

    def drop(self, name: str, current=None) -> None:
        """A deleted user: close its connections (the current one after its reply)."""
        for sess in list(self.app.clients.values()):
            if sess.user == name:
                if sess is current:
                    sess.closing = True
                else:
                    self.app.kill_client(sess)


def configure(app, reg) -> None:
    """Called by ``security.configure_security``: attach policies to users, load the aclfile, compile everyone."""
    from .security import attach_policies, load_aclfile
    acl = Acl(app)
    app.acl = acl
    app.auth.on_failure = acl.on_auth_failure
    attach_policies(app, reg)
    if app.settings.get("aclfile"):
        load_aclfile(app, app.settings["aclfile"], startup=True)
    for user in app.auth.users.values():
        user.permissions = compile_user(user)
