"""The words every security module speaks: users, actions, statements and conditions (pure data, no I/O).

* ``User``: an AUTH identity. Passwords are kept only as SHA-256 digests (``sha256_hex``) and compared in constant
  time. Its Redis rules (``rules``, ``selectors``: ``respd.security.rules.RuleSet``) and its registry policies
  (``policies``: ``Statement``) are compiled by ``respd.security.engine`` into ``permissions``.
* Actions (``ACTIONS``): ``store.get`` (SELECT a store, and use the store the connection is on: without it every
  command touching that store is denied until SELECT of a permitted one), ``store.key.get|set|delete|has`` (derived
  from each key spec's flags: ACCESS → get, INSERT/UPDATE → set, DELETE → delete, none → has), ``store.keys.list``
  (KEYS, SCAN, RANDOMKEY), ``store.keys.count`` (DBSIZE), ``store.flush`` (FLUSHDB on the store, FLUSHALL on every
  store) and ``server.admin`` (commands of the ``@admin`` category and SWAPDB; the resource is the command name, e.g.
  ``config|set``), ``pubsub.publish`` (PUBLISH, SPUBLISH) and ``pubsub.subscribe`` (SUBSCRIBE, SSUBSCRIBE,
  PSUBSCRIBE), whose resources are channel names. Resources are store ids (``app:cache``), channel names, or
  fnmatch patterns (``app:*``, ``news.*``, ``*``). A PSUBSCRIBE pattern is a resource of its own: it must be
  allowed as written (a policy resource equal to it, or ``*``), as Redis' ``&pattern`` rules require.
* ``Statement``: one allow/deny rule, actions × resources × conditions (a registry policy or a compiled Redis key
  pattern).
* ``Condition``: ``{field, operator, value | value_from}`` on ``actor.id``, ``actor.groups``,
  ``actor.meta.<name>``, ``resource``, ``action`` and ``meta.key``; operators eq ne lt gt in exists contains matches
  (full-match regex) glob (Redis key pattern). A condition on a field the request lacks (``meta.key`` for
  ``store.get``) is false, so such a statement does not apply there. Each condition knows its ``phase``: 0 settled
  per user, 1 per (store, action), 2 per key; the engine evaluates it as early as its phase allows.
"""
from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from backends.glob import compile_glob


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
    permissions: object = None                            # compiled by security.engine; None = allow everything
    rules: object = None                                  # security.rules.RuleSet: Redis command/key rules (root)
    selectors: list = field(default_factory=list)         # extra Redis selectors "(...)"
    policies: list = field(default_factory=list)          # Statements from registry policies
    policy_ids: list = field(default_factory=list)        # ids of those policies (ACL LIST / GETUSER)
    policy_mode: bool = False                             # registry user: data access only through policies
    origin: str = "runtime"                               # "registry", "aclfile", "implicit" or "runtime" (SETUSER)
    sanitize: str = ""                                    # "sanitize-payload" / "skip-sanitize-payload" flag
    entry_id: str = ""                                    # registry entry id of a registry user

    def copy(self) -> "User":
        """A copy ACL SETUSER can edit and throw away on error."""
        return User(self.name, self.enabled, self.nopass, list(self.password_hashes), list(self.groups),
                    dict(self.meta), self.permissions, self.rules.copy() if self.rules is not None else None,
                    [s.copy() for s in self.selectors], list(self.policies), list(self.policy_ids),
                    self.policy_mode, self.origin, self.sanitize, self.entry_id)

    def check_password(self, password: bytes) -> bool:
        if self.nopass:
            return True
        digest = sha256_hex(password)
        ok = False
        for h in self.password_hashes:
            ok |= hmac.compare_digest(h, digest)
        return ok


# ----------------------------------------------------------------------------------------------------- actions
STORE_GET = "store.get"
KEY_GET, KEY_SET, KEY_DELETE, KEY_HAS = "store.key.get", "store.key.set", "store.key.delete", "store.key.has"
KEYS_LIST, KEYS_COUNT, FLUSH, ADMIN = "store.keys.list", "store.keys.count", "store.flush", "server.admin"
PUBLISH, SUBSCRIBE = "pubsub.publish", "pubsub.subscribe"
ACTIONS = (STORE_GET, KEY_GET, KEY_SET, KEY_DELETE, KEY_HAS, KEYS_LIST, KEYS_COUNT, FLUSH, ADMIN, PUBLISH, SUBSCRIBE)
CHANNEL_ACTIONS = (PUBLISH, SUBSCRIBE)
KEY_ACTIONS = (KEY_GET, KEY_SET, KEY_DELETE, KEY_HAS)


class Statement:
    """One allow/deny rule: actions × resources × conditions (a registry policy or a compiled Redis rule)."""

    __slots__ = ("allow", "actions", "resources", "conditions")

    def __init__(self, allow: bool, actions, resources, conditions=()):
        self.allow = allow
        self.actions = tuple(actions)
        self.resources = tuple(resources)
        self.conditions = tuple(conditions)

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
        return Statement(self.allow, self.actions, self.resources, rest)


# -------------------------------------------------------------------------------------------------- conditions
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


def valid_field(field: Any) -> bool:
    """Whether a condition may name this field (``field`` or ``value_from``)."""
    return isinstance(field, str) and (field in _ACTOR_FIELDS or field in ("resource", "action", "meta.key")
                                       or (field.startswith("actor.meta.") and len(field) > 11))


def try_regex(src: str):
    """The compiled regular expression, or None when ``src`` is not one."""
    try:
        return re.compile(src)
    except re.error:
        return None


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
            rx = self._rx if self._rx is not None else try_regex(str(_text(v)))
            return rx is not None and rx.fullmatch(str(_text(a))) is not None
        if op == "glob":
            g = self._glob if self._glob is not None else compile_glob(str(_text(v)).encode("utf-8",
                                                                                           "surrogateescape"))
            return g(a if isinstance(a, bytes) else str(a).encode("utf-8", "surrogateescape"))
        return False


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
