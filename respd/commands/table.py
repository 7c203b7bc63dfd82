"""The command table: every command declared once, beside its handler (a leaf: it imports no family).

A declaration carries what Redis' ``src/commands/*.json`` carries (arity, flags, ACL categories, key specs) plus
what respd decides per command (``Command``'s fields below: whether it runs before AUTH or inside MULTI, the
store-level policy action it needs, whether run_requests may run it directly...). Everything reads these fields:
dispatch and its arity errors (``respd.dispatch``), ``COMMAND COUNT/INFO/DOCS/LIST`` (``commands.meta``), the
permissions engine, WATCH, MONITOR, EXEC. Importing this module does not load the families: ``commands.catalog``
does.

Handlers have the signature ``handler(session, argv) -> reply`` (argv includes the command name, arity already
checked). A handler either returns the reply or, when it called an async store, a coroutine resolving to it:
``then(result, fn)`` chains post-processing without creating a coroutine on the memory path.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .. import errors
from ..replies import Err

_Coroutine = types.CoroutineType

# The access flags of a key spec (Redis 7 key_specs) the permissions engine reads: ACCESS = the value is returned or
# used; INSERT/UPDATE/DELETE = the key is written; none of them = only existence or metadata is looked at.
ACCESS, INSERT, UPDATE, DELETE = "access", "insert", "update", "delete"
_ACCESS_FLAGS = (ACCESS, INSERT, UPDATE, DELETE)

#: the policy action of a command of the @admin category that declares none (see ``Command.policy``)
ADMIN_POLICY = "server.admin"


@dataclass(frozen=True)
class KeySpec:
    """Positions of keys in argv: ``first`` (1-based like Redis), ``last`` (0 = same as first; negative counts from
    the end: -1 = the last argument), ``step``. ``redis_flags`` are the key-spec flags COMMAND INFO shows (RO/RW/OW/RM
    and access/insert/update/delete/variable_flags); ``flags`` the access flags the permissions engine reads, among
    ACCESS/INSERT/UPDATE/DELETE. Declare them with ``Keys``."""

    first: int
    last: int = 0
    step: int = 1
    flags: tuple = ()
    redis_flags: tuple = ()
    notes: str = ""
    keynum: bool = False

    def positions(self, argc: int, argv: Optional[list] = None) -> range:
        if self.keynum:  # argv[first] is the number of keys that follow it (EVAL's numkeys)
            n = keynum_count(argv, self.first) if argv is not None else 0
            return range(self.first + 1, self.first + 1 + n)
        last = self.first if self.last == 0 else (self.last if self.last > 0 else argc + self.last)
        return range(self.first, min(last, argc - 1) + 1, self.step)


def keynum_count(argv: list, at: int) -> int:
    """The number of keys a keynum spec finds: argv[at] when it is a count that fits in argv, else 0."""
    try:
        n = int(argv[at])
    except (ValueError, IndexError):
        return 0
    return n if 0 <= n <= len(argv) - at - 1 else 0


def Keys(first: int, flags: str, last: int = 0, step: int = 1, notes: str = "",
         access: Optional[str] = None, keynum: bool = False) -> KeySpec:
    """A key spec as Redis writes it: ``Keys(1, "RW access update")`` is the key at argv[1], read and written;
    ``Keys(1, "OW update", last=-1, step=2)`` every other argument from argv[1] (MSET). The access flags the
    permissions engine reads are the Redis flags' access/insert/update/delete, unless ``access`` names others (MOVE:
    Redis says "update" for the key it removes, the engine asks for delete)."""
    words = tuple(flags.split())
    chosen = (access.split() if access is not None else [w.lower() for w in words])
    return KeySpec(first, last, step, tuple(f for f in _ACCESS_FLAGS if f in chosen), words, notes, keynum)


def _words(value) -> tuple:
    return tuple(value.split()) if isinstance(value, str) else tuple(value)


@dataclass
class Command:
    """One command (or subcommand) and everything respd knows about it.

    Redis' declaration: ``name`` (lowercase; "client|setname" for a subcommand), ``arity`` (the name counted;
    negative = at least), ``flags`` (Redis command flags: write, readonly, denyoom, admin, no_auth, no_multi...),
    ``keys`` (KeySpec...; ``key_flags(argv)`` picks them when they depend on options, as SET's GET), ``categories``
    (ACL categories without '@'), and the documentation (group, summary, since, complexity, arguments).

    respd's facts about it:

    * ``no_auth``: runs before authentication (Redis' no_auth flag: AUTH, HELLO, QUIT, RESET).
    * ``multi_immediate``: runs at once inside MULTI instead of being queued (MULTI, EXEC, DISCARD, WATCH, QUIT,
      RESET), and is never refused for memory.
    * ``runs_queue``: EXEC: its handler makes EXEC's checks and hands back the queue, which dispatch runs.
    * ``pure``: a data command: its handler reads and writes keys only, never the session's state (MULTI, AUTH, ACL,
      CLIENT REPLY, closing) nor the server's, so the pipeline may run a row of them without rechecking those.
    * ``policy``: the store- or server-level policy action a registry user needs beyond the command gate and the
      key actions ("store.keys.list", "store.keys.count", "store.flush", "server.admin"; None: none). Commands of
      the @admin category default to "server.admin".
    * ``cross_store``: argv → (the argument naming a second store the call writes to, the position of the key
      written there), or None when the call stays in one store (MOVE, COPY ... DB n): permissions check that key
      in the destination store too.
    * ``all_stores``: acts on every store (FLUSHALL): its policy action is checked on each of them.
    * ``selects_store``: argv[1] names the store the session's later commands run on (SELECT): permissions check
      the commands queued after it in MULTI against that store too.
    * ``switches_store``: may answer with a coroutine even on a memory store (it reaches another store, or answers
      a failed login after a delay): EXEC runs a queue holding one on its awaiting path.
    * ``info_arity``: the arity COMMAND INFO shows when dispatch's is declared otherwise (EXEC).
    * ``runs_script``: EVAL and its kin: the handler makes the command's checks and hands back a script job,
      which dispatch runs (``respd.scriptcall``: ``redis.call`` needs dispatch's ``run``).
    """

    name: str
    handler: Optional[Callable]
    arity: int
    flags: tuple = ()
    keys: tuple = ()
    categories: tuple = ()
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = "O(1)"
    arguments: tuple = ()                      # for COMMAND DOCS: (name, type, flags...) tuples
    subcommands: dict = field(default_factory=dict)
    key_flags: Optional[Callable] = None
    container: Optional[str] = None            # "CLIENT" for client|setname
    info_arity: Optional[int] = None
    multi_immediate: bool = False
    runs_queue: bool = False
    pure: bool = False
    policy: Optional[str] = None
    cross_store: Optional[Callable] = None
    all_stores: bool = False
    selects_store: bool = False
    switches_store: bool = False
    runs_script: bool = False

    def __post_init__(self) -> None:
        # INFO commandstats: calls, time spent (ns: the execution and the encoding of its reply), calls refused
        # before execution (arity, NOAUTH, NOPERM, OOM...) and calls that answered an error (see respd.dispatch)
        self.calls = self.ns = self.rejected_calls = self.failed_calls = 0
        # arity as two numbers for the pipeline's one-line check: n == exact_args or n >= min_args
        self.exact_args = self.arity if self.arity > 0 else -1
        self.min_args = -self.arity if self.arity < 0 else 1 << 30
        self.no_auth = "no_auth" in self.flags
        # the specs that name keys: Redis' key extraction (GETKEYS, ACL) leaves out not_key specs (shard channels)
        self.arg_keys = tuple(k for k in self.keys if "not_key" not in k.redis_flags)
        self.denyoom = "denyoom" in self.flags
        # client tracking remembers the keys of a read-only command (Redis' call(): not EVAL_RO and its kin, whose
        # reads inside the script are remembered, nor Pub/Sub's shard channels)
        self.tracks_keys = ("readonly" in self.flags and bool(self.keys) and "pubsub" not in self.flags
                            and self.name not in ("eval_ro", "evalsha_ro", "fcall_ro"))
        if self.policy is None and "admin" in self.categories:
            self.policy = ADMIN_POLICY

    def key_specs(self, argv: list[bytes]) -> tuple:
        return self.key_flags(argv) if self.key_flags is not None else self.arg_keys

    def first_key(self) -> tuple[int, int, int]:
        """(first, last, step) as COMMAND INFO reports them: from the range specs (Redis'
        populateCommandLegacyRangeSpec skips keynum ones: ZUNIONSTORE's destination gives 1 1 1)."""
        ranges = [k for k in self.keys if not k.keynum]
        if not ranges:
            return 0, 0, 0
        first = min(k.first for k in ranges)
        lasts = [k.last if k.last else k.first for k in ranges]
        negative = [x for x in lasts if x < 0]
        last = min(negative) if negative else max(lasts)  # BLPOP's -2: every argument but the timeout
        step = ranges[0].step
        return first, last, step


#: name (lowercase bytes) -> Command, the single table everything reads
COMMANDS: dict[bytes, Command] = {}
#: the same commands under their lowercase and uppercase names: dispatch finds the usual spellings in one probe
LOOKUP: dict[bytes, Command] = {}


def command(name: str, *, arity: int, flags=(), keys: tuple = (), categories=(), group: str = "generic",
            summary: str = "", since: str = "1.0.0", complexity: str = "O(1)", arguments: tuple = (),
            key_flags: Optional[Callable] = None, parent: Optional[str] = None, info_arity: Optional[int] = None,
            multi_immediate: bool = False, runs_queue: bool = False, pure: bool = False,
            policy: Optional[str] = None, cross_store: Optional[Callable] = None, all_stores: bool = False,
            selects_store: bool = False, switches_store: bool = False, runs_script: bool = False):
    """Register the decorated function as a command (or, with ``parent``, as a subcommand of that container).
    ``flags`` and ``categories`` are words ("write denyoom"); the other fields are described on ``Command``."""

    def deco(fn):
        full = f"{parent}|{name}" if parent else name
        cmd = Command(full.lower(), fn, arity, _words(flags), tuple(keys), _words(categories), group, summary, since,
                      complexity, tuple(arguments), key_flags=key_flags,
                      container=parent.upper() if parent else None, info_arity=info_arity,
                      multi_immediate=multi_immediate, runs_queue=runs_queue, pure=pure, policy=policy,
                      cross_store=cross_store, all_stores=all_stores, selects_store=selects_store,
                      switches_store=switches_store, runs_script=runs_script)
        if parent:
            COMMANDS[parent.lower().encode()].subcommands[name.lower().encode()] = cmd
        else:
            _register(name, cmd)
        fn.command = cmd
        return fn

    return deco


def container(name: str, *, arity: int = -2, flags=(), categories=(), group: str = "generic", summary: str = "",
              since: str = "1.0.0", handler: Optional[Callable] = None) -> Command:
    """Declare a command with subcommands (CLIENT, CONFIG, COMMAND, ACL); ``handler`` answers it alone (COMMAND)."""
    cmd = Command(name.lower(), handler, arity, _words(flags), (), _words(categories), group, summary, since)
    cmd.exact_args, cmd.min_args = -1, 1 << 30  # subcommands are resolved by the checked path
    _register(name, cmd)
    return cmd


def _register(name: str, cmd: Command) -> None:
    COMMANDS[name.lower().encode()] = cmd
    LOOKUP[name.lower().encode()] = cmd
    LOOKUP[name.upper().encode()] = cmd


def lookup(argv: list[bytes]) -> Command | Err:
    """The command for argv (resolving subcommands), or the error reply for unknown names and wrong arity."""
    name = argv[0]
    cmd = LOOKUP.get(name) or COMMANDS.get(name.lower())
    if cmd is None:
        return Err(errors.unknown_command(argv))
    if cmd.subcommands:
        if len(argv) < 2:
            if cmd.handler is not None:  # COMMAND alone: a container that is also a command
                return cmd
            return Err(errors.wrong_arity(cmd.name))
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            return Err(errors.unknown_subcommand(argv[1], cmd.name.upper()))
        cmd = sub
    n = len(argv)
    if (cmd.arity > 0 and n != cmd.arity) or n < -cmd.arity:
        return Err(errors.wrong_arity(cmd.name))
    return cmd


def named(argv: list[bytes]) -> Command | None:
    """The command a request that ``lookup`` refused names, if any: for a wrong arity the command or subcommand,
    ``CLIENT`` alone the container; None for an unknown command or subcommand."""
    cmd = LOOKUP.get(argv[0]) or COMMANDS.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower())
    return cmd


def then(result: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply fn to a store result that may be a coroutine (async store) or a value (memory store)."""
    if type(result) is _Coroutine:
        return _then(result, fn)
    return fn(result)


async def _then(coro, fn):
    r = fn(await coro)
    if type(r) is _Coroutine:  # fn itself called the async store again
        r = await r
    return r


def is_pending(result: Any) -> bool:
    return type(result) is _Coroutine
