"""Compiling a user into ``Permissions``, and the checks dispatch runs per request (pure: no I/O, no trio).

Every user compiles to a ``Permissions`` object (``compile_user``; kept in ``user.permissions`` and given to a
session at login as ``sess.permissions``; ``None`` for users that may do everything, so dispatch pays nothing for
them). It answers ``check(sess, cmd, argv)`` with ``None`` or the ``-NOPERM`` reply Redis 7 gives for the same case
(counted, and logged in ACL LOG through ``app.security``), ``check_store`` for SELECT, ``may_count`` for INFO
keyspace, ``filter_keys`` for KEYS/SCAN/RANDOMKEY and ``evaluate`` for ACL DRYRUN (``dryrun``).

Two sources, one model (``respd.security.model``). A permission set (a Redis *selector*) is a command gate plus a
list of statements ``(effect, actions, resources, conditions)``:

* **Redis rules** (ACL SETUSER, the aclfile, a registry user's ``rules:``) give the command gate (``+@all``,
  ``-flushall``, ``+client|getname``...) and compile key patterns to allow statements: ``~p`` grants every
  ``store.key.*`` action on keys matching ``p``, ``%R~p`` grants ``store.key.get``/``has``, ``%W~p`` grants
  ``store.key.set``/``delete``/``has``. Users defined only by Redis rules are also granted every store-level action,
  on every store: they behave exactly as on Redis (KEYS/SCAN/DBSIZE unfiltered, SELECT any store).
* **Registry policies** (``kind: security.policy``) add statements; a registry user is in *policy mode*: it may do
  only what its policies allow (a user without policies can do nothing with data), and KEYS/SCAN/RANDOMKEY only show
  keys it may ``store.key.get``.

Evaluation (``_Sel.decide``): any matching deny wins; else any matching allow; else denied. Conditions on actor
fields are settled when the user is compiled, those on ``resource``/``action`` once per (store, action), and only
``meta.key`` conditions run per key, so per command the cost is one dict lookup plus, for key-dependent rules, one
predicate per key. Decisions and per-(store, command) plans are cached on the compiled object, which is rebuilt
whenever the user changes (``respd.security.runtime``).
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Optional

from backends.glob import LONG_PATTERN, compile_glob, translate

from .. import errors
from ..commands.args import try_int
from ..commands.table import ACCESS, DELETE, INSERT, UPDATE, keynum_count
from ..errors import CommandError
from ..replies import Err
from .model import (ADMIN, FLUSH, KEY_ACTIONS, KEY_DELETE, KEY_GET, KEY_HAS, KEY_SET, KEYS_COUNT, KEYS_LIST,
                    PUBLISH, STORE_GET, SUBSCRIBE, Condition, Statement)
from .rules import RuleSet, all_command_names, ensure_rules

def spec_actions(flags: tuple) -> tuple:
    """The policy actions a key spec's access flags require (the single source: the command table's key specs)."""
    acts = []
    if ACCESS in flags:
        acts.append(KEY_GET)
    if INSERT in flags or UPDATE in flags:
        acts.append(KEY_SET)
    if DELETE in flags:
        acts.append(KEY_DELETE)
    return tuple(acts) if acts else (KEY_HAS,)


def command_action(cmd) -> Optional[str]:
    """The store/server-level action a keyless command needs beyond the command gate (None: just the gate): its
    declared ``policy``."""
    return cmd.policy


def redis_statements(rs: RuleSet, store_level: bool) -> list:
    """Compile a Redis selector's key patterns (and, for pure Redis users, the store-level grants) to statements."""
    out = []
    if store_level:
        out.append(Statement(True, (STORE_GET, KEYS_LIST, KEYS_COUNT, FLUSH, ADMIN), ("*",)))
    if rs.allkeys:
        out.append(Statement(True, KEY_ACTIONS, ("*",)))
        return out
    grants = {"RW": KEY_ACTIONS, "R": (KEY_GET, KEY_HAS), "W": (KEY_SET, KEY_DELETE, KEY_HAS)}
    for flags, pat in rs.patterns:
        acts = grants[flags]
        if pat == b"*":
            out.append(Statement(True, acts, ("*",)))
        else:
            out.append(Statement(True, acts, ("*",), (Condition("meta.key", "glob", pat),)))
    return out


# ============================================================================================ compiled engine
DENIED_CMD, DENIED_KEY, DENIED_CHANNEL = 1, 2, 3
#: the channel arguments of the pub/sub commands Redis checks against a user's ``&pattern`` rules: (first argument,
#: whether they are patterns). A pattern (PSUBSCRIBE) must equal one of the user's patterns; a channel must match
#: one (Redis' ACLCheckChannelAgainstList). UNSUBSCRIBE and its kin are never refused.
_CHANNEL_ARGS = {"publish": (1, 2, False), "spublish": (1, 2, False), "subscribe": (1, None, False),
                 "ssubscribe": (1, None, False), "psubscribe": (1, None, True)}
#: the same commands' registry policy action
_CHANNEL_ACTION = {"publish": PUBLISH, "spublish": PUBLISH, "subscribe": SUBSCRIBE, "ssubscribe": SUBSCRIBE,
                   "psubscribe": SUBSCRIBE}
#: ``_Sel.channels`` of a registry (policy-mode) user: its channels are decided by its policy statements
POLICY = "policy"
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
        if len(conds) == 1 and conds[0].key_glob() is not None and len(conds[0].key_glob()) <= LONG_PATTERN:
            globs.append(conds[0].key_glob())  # (a longer one keeps its own lazily prepared matcher)
        else:
            preds.append(lambda key, conds=conds: all(c.test(actor, resource, action, key) for c in conds))
    if globs:
        if b"*" in globs:
            preds.insert(0, _always)
        elif all(_prefix_only(g) for g in globs):  # "app:*": a startswith is cheaper than a regex match
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

    __slots__ = ("checks", "firstargs", "cross")

    def __init__(self, checks=(), firstargs=None, cross=False):
        self.checks = checks          # ((first, last, step, (decision...)), ...): False or a key predicate
        self.firstargs = firstargs    # allowed first arguments when the gate opens only for those
        self.cross = cross            # MOVE/COPY DB: also check the destination store


class _Sel:
    """One compiled permission set: a command gate and statements, with its decision caches."""

    __slots__ = ("commands", "firstargs", "stmts", "actor", "decisions", "plans", "channels")

    def __init__(self, commands: Optional[frozenset], firstargs: dict, stmts: list, actor,
                 channels: Optional[list] = None):
        self.commands = commands      # None = every command
        self.firstargs = firstargs
        self.stmts = stmts
        self.actor = actor
        self.decisions: dict = {}
        self.plans: dict = {}
        self.channels = channels      # None = every channel (allchannels), else the &patterns

    def channel_denied(self, cmd, argv: list):
        """(DENIED_CHANNEL, index, channel) for the first channel argument the user's &patterns do not allow."""
        spec = _CHANNEL_ARGS.get(cmd.name) if self.channels is not None else None
        if spec is None:
            return None
        first, stop, is_pattern = spec
        policy = self.channels is POLICY
        for i in range(first, len(argv) if stop is None else min(stop, len(argv))):
            ch = argv[i]
            if policy:
                if not self.channel_allowed(_CHANNEL_ACTION[cmd.name], ch, is_pattern):
                    return DENIED_CHANNEL, i, ch
            elif is_pattern:
                if ch not in self.channels:
                    return DENIED_CHANNEL, i, ch
            elif not any(compile_glob(p, allkeys_star=False)(ch) for p in self.channels):
                return DENIED_CHANNEL, i, ch
        return None

    def channel_allowed(self, action: str, channel: bytes, literal: bool) -> bool:
        """A registry user's policies on a channel (or, ``literal``, a PSUBSCRIBE pattern, which only a resource
        equal to it or ``*`` allows): any matching deny wins, else any matching allow. Not cached: channel names
        are the client's to choose."""
        name = channel.decode("utf-8", "surrogateescape")
        allowed = False
        for st in self.stmts:
            if not any(p == "*" or p == action or fnmatch.fnmatchcase(action, p) for p in st.actions):
                continue
            if not any(p == "*" or p == name or (not literal and fnmatch.fnmatchcase(name, p))
                       for p in st.resources):
                continue
            if not all(c.test(self.actor, name, action, None) for c in st.conditions):
                continue
            if not st.allow:
                return False
            allowed = True
        return allowed

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
                targets = list(app.stores) if cmd.all_stores else [sid]
                for t in targets:
                    if self.decide(t, act, False) is not True:
                        return _DENY
                if not cmd.all_stores and self.decide(sid, STORE_GET, False) is not True:
                    return _DENY
        checks = []
        if specs:
            if self.decide(sid, STORE_GET, False) is not True:
                checks = [(spec.first, None if spec.keynum else spec.last, spec.step, (False,)) for spec in specs]
            else:
                for spec in specs:
                    decs = tuple(self.decide(sid, a) for a in spec_actions(spec.flags))
                    decs = tuple(d for d in decs if d is not True)
                    if decs:
                        checks.append((spec.first, None if spec.keynum else spec.last, spec.step, decs))
        cross = cmd.cross_store is not None
        if not checks and firstargs is None and not cross:
            return _OK
        return _Plan(tuple(checks), firstargs, cross)

    def evaluate(self, app, sid: str, cmd, argv: list) -> Any:
        """None if allowed, else (DENIED_CMD, argv index, name) / (DENIED_KEY, argv index, key)."""
        if cmd.key_flags is None:
            specs = cmd.arg_keys
            ck = (sid, cmd.name)
        else:
            specs = cmd.key_flags(argv)
            ck = (sid, cmd.name, specs)
        plan = self.plans.get(ck)
        if plan is None:
            plan = self.plans[ck] = self.plan(app, sid, cmd, specs)
        if plan is _OK:
            return self.channel_denied(cmd, argv)
        if plan is _DENY:
            return DENIED_CMD, 0, cmd.name
        if plan.firstargs is not None and (len(argv) < 2 or argv[1].lower() not in plan.firstargs):
            return DENIED_CMD, 0, cmd.name
        n = len(argv)
        for first, last, step, decs in plan.checks:
            if last is None:  # a keynum spec (EVAL): argv[first] says how many keys follow it
                for i in range(first + 1, first + 1 + keynum_count(argv, first)):
                    key = argv[i]
                    for d in decs:
                        if d is False or not d(key):
                            return DENIED_KEY, i, key
                continue
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
            r = self._cross(app, cmd, argv)
            if r is not None:
                return r
        return self.channel_denied(cmd, argv)

    def _cross(self, app, cmd, argv: list):
        """MOVE k db / COPY src dst DB db: the key written into another store (the command's ``cross_store`` says
        which argument names that store and where the key is) needs store.key.set there."""
        dest = cmd.cross_store(argv)
        if dest is None:
            return None
        target, pos = dest
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
    idx = try_int(arg)
    if idx is not None:
        return app.databases.get(idx)
    return app.stores.get(arg.decode("utf-8", "replace"))


class Permissions:
    """A user's compiled permissions: the object dispatch calls as ``sess.permissions``."""

    def __init__(self, user, sels: list, filter_listing: bool, store_dependent: bool, channels_only: bool = False):
        self.user = user
        self.sels = sels
        self.filter_listing = filter_listing
        self.store_dependent = store_dependent
        #: every command on every key, only some channels (``~* +@all`` without ``&*``, Redis 7's default for a new
        #: user): only the Pub/Sub commands are checked, and data commands keep the pipeline's direct path
        self.channels_only = channels_only

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
        if self.channels_only and cmd.name not in _CHANNEL_ARGS:
            return None
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
            if qcmd.selects_store:
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

    def allows(self, sess, store_id: str, action: str, key: Optional[bytes] = None,
               command: Optional[str] = None) -> bool:
        """One policy action on a store (and key), as a command's plan decides it: some permission set allows
        ``store.get`` on the store and the action (on the key, for key actions), and its command gate lets
        ``command`` (a command name, e.g. "flushdb") through when one is given. A denial is counted and logged in
        ACL LOG (the key; else the action) as a denied command's is. For callers that act on stores without a
        command (the ``store`` module of EVAL scripts)."""
        for sel in self.sels:
            if command is not None and sel.commands is not None and command not in sel.commands:
                continue
            if sel.decide(store_id, STORE_GET, False) is not True:
                continue
            if action == STORE_GET:
                return True
            d = sel.decide(store_id, action, key is not None)
            if d is True or (d is not False and key is not None and d(key)):
                return True
        deny(sess, (DENIED_KEY, 0, key) if key is not None else (DENIED_CMD, 0, action))
        return False

    def may_count(self, store_id: str) -> bool:
        """Whether INFO keyspace shows this store's counts: the user may SELECT it (store.get) and count its keys
        (store.keys.count, DBSIZE's action), both in one permission set."""
        return any(sel.decide(store_id, STORE_GET, False) is True and sel.decide(store_id, KEYS_COUNT, False) is True
                   for sel in self.sels)

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


def deny(sess, r) -> Err:
    """Count, log and word a denial (r = (kind, index, object))."""
    app = sess.app
    kind, _, obj = r
    security = getattr(app, "security", None)
    if kind == DENIED_KEY:
        app.stat_denied_key += 1
        if security is not None:
            security.log.add("key", obj, sess.user, sess)
        return Err(errors.NOPERM_KEY)
    if kind == DENIED_CHANNEL:
        app.stat_denied_channel += 1
        if security is not None:
            security.log.add("channel", obj, sess.user, sess)
        return Err(errors.NOPERM_CHANNEL)
    app.stat_denied_cmd += 1
    if security is not None:
        security.log.add("command", obj.encode() if isinstance(obj, str) else obj, sess.user, sess)
    return Err(errors.NOPERM_CMD.format(obj))


def compile_user(user) -> Optional[Permissions]:
    """Build a user's Permissions, or None when the user may run everything on every key and store."""
    ensure_rules(user)
    rulesets = [user.rules] + list(user.selectors)
    if not user.policy_mode and user.rules.unrestricted():
        return None
    sels = []
    all_names = all_command_names()
    for i, rs in enumerate(rulesets):
        stmts = redis_statements(rs, store_level=not user.policy_mode)
        if user.policy_mode and i == 0:
            stmts += list(user.policies)
        stmts = [s for s in (st.for_actor(user) for st in stmts) if s is not None]
        commands = None if rs.allowed >= all_names else frozenset(rs.allowed)
        # channels: Redis' &patterns for users of ACL rules, the policies' pubsub.* statements for registry users
        if user.policy_mode and i == 0:
            channels = POLICY
        else:
            channels = None if rs.allchannels else list(rs.channels)
        sels.append(_Sel(commands, {k: frozenset(v) for k, v in rs.firstargs.items()}, stmts, user, channels))
    if user.policy_mode and len(sels) == 1 and sels[0].commands is None and not sels[0].firstargs:
        stmts = sels[0].stmts
        if all(s.allow for s in stmts) and any("*" in s.actions and "*" in s.resources and not s.conditions
                                               for s in stmts):
            return None
    store_dependent = user.policy_mode
    rs = user.rules
    channels_only = (not user.policy_mode and not user.selectors and rs.allkeys and not rs.allchannels
                     and rs.allowed >= all_names)
    return Permissions(user, sels, filter_listing=user.policy_mode, store_dependent=store_dependent,
                       channels_only=channels_only)


def dryrun(user, app, store, cmd, argv: list) -> Optional[bytes]:
    """ACL DRYRUN: None if the user could run argv on ``store``, else Redis' explanation text."""
    perms = user.permissions
    if perms is None:
        return None
    r = perms.evaluate(app, store.id if store is not None else "", cmd, argv)
    if r is None:
        return None
    if r[0] == DENIED_KEY:
        return errors.ACL_DRYRUN_KEY % r[2]
    if r[0] == DENIED_CHANNEL:
        return errors.ACL_DRYRUN_CHANNEL % r[2]
    return (errors.ACL_DRYRUN_COMMAND % r[2]).encode()
