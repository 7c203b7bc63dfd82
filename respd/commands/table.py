"""The command table: every command declared once, beside its handler.

A declaration carries what Redis' ``src/commands/*.json`` carries — arity, flags, ACL categories, key specs with
their access flags — and everything else is derived from it: dispatch and arity errors (``respd.dispatch``),
``COMMAND COUNT/INFO/DOCS/LIST`` (``respd.commands.server``), the keys a command touches and the policy action each
key needs (``keys_with_actions``), WATCH invalidation and ``MULTI`` queueing.

Handlers have the signature ``handler(session, argv) -> reply`` (argv includes the command name, arity already
checked). A handler either returns the reply or, when it called an async store, a coroutine resolving to it:
``then(result, fn)`` chains post-processing without creating a coroutine on the memory path.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

_Coroutine = types.CoroutineType

# Key-spec access flags (Redis 7 key_specs): ACCESS = the value is returned or used; INSERT/UPDATE/DELETE = the key
# is written; none of them = only existence or metadata is looked at.
ACCESS, INSERT, UPDATE, DELETE = "access", "insert", "update", "delete"


@dataclass(frozen=True)
class KeySpec:
    """Positions of keys in argv: ``first`` (1-based like Redis), ``last`` (negative counts from the end: -1 =
    the last argument), ``step``; ``flags`` among ACCESS/INSERT/UPDATE/DELETE (the Redis RO/RW/OW/RM flags are
    implied and listed in ``redis_flags`` for COMMAND INFO)."""

    first: int
    last: int = 0      # 0 = same as first
    step: int = 1
    flags: tuple = ()
    redis_flags: tuple = ()
    notes: str = ""

    def positions(self, argc: int) -> range:
        last = self.first if self.last == 0 else (self.last if self.last > 0 else argc + self.last)
        return range(self.first, min(last, argc - 1) + 1, self.step)


@dataclass
class Command:
    name: str                                  # lowercase; "client|setname" for subcommands
    handler: Optional[Callable]
    arity: int
    flags: tuple = ()
    keys: tuple = ()                           # KeySpec...
    categories: tuple = ()                     # ACL categories without '@'
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = "O(1)"
    arguments: tuple = ()                      # for COMMAND DOCS: (name, type, flags...) tuples
    subcommands: dict = field(default_factory=dict)
    key_flags: Optional[Callable] = None       # argv -> tuple of KeySpec, when flags depend on options (SET GET)
    container: Optional[str] = None            # "CLIENT" for client|setname
    info_arity: Optional[int] = None           # the arity COMMAND INFO reports, when dispatch is declared another

    def __post_init__(self) -> None:
        # INFO commandstats: calls, time spent (ns: the execution and the encoding of its reply), calls refused
        # before execution (arity, NOAUTH, NOPERM, OOM...) and calls that answered an error (see respd.dispatch)
        self.calls = self.ns = self.rejected_calls = self.failed_calls = 0
        # arity as two numbers for dispatch's one-line check: n == exact_args or n >= min_args
        self.exact_args = self.arity if self.arity > 0 else -1
        self.min_args = -self.arity if self.arity < 0 else 1 << 30
        # a data command: its handler reads and writes keys only, never the session's state (MULTI, AUTH, ACL,
        # CLIENT REPLY, closing) nor the server's, so run_requests may run a row of them without rechecking those
        cats = self.categories
        self.pure = ("string" in cats or "keyspace" in cats) and "dangerous" not in cats and not self.subcommands

    # -- derived
    @property
    def is_write(self) -> bool:
        return "write" in self.flags

    @property
    def denyoom(self) -> bool:
        return "denyoom" in self.flags

    def key_specs(self, argv: list[bytes]) -> tuple:
        return self.key_flags(argv) if self.key_flags is not None else self.keys

    def first_key(self) -> tuple[int, int, int]:
        """(first, last, step) as COMMAND INFO reports them."""
        if not self.keys:
            return 0, 0, 0
        first = min(k.first for k in self.keys)
        lasts = [k.last if k.last else k.first for k in self.keys]
        last = -1 if any(x < 0 for x in lasts) else max(lasts)
        step = self.keys[0].step
        return first, last, step


#: name (lowercase bytes) -> Command, the single table everything reads
COMMANDS: dict[bytes, Command] = {}
#: the same commands under their lowercase and uppercase names: dispatch finds the usual spellings in one probe
LOOKUP: dict[bytes, Command] = {}


def command(name: str, arity: int, flags: tuple = (), keys: tuple = (), categories: tuple = (), group: str = "generic",
            summary: str = "", since: str = "1.0.0", complexity: str = "O(1)", arguments: tuple = (),
            key_flags: Optional[Callable] = None, parent: Optional[str] = None):
    """Register the decorated function as a command (or as a subcommand of ``parent``)."""

    def deco(fn):
        full = f"{parent}|{name}" if parent else name
        cmd = Command(full.lower(), fn, arity, tuple(flags), tuple(keys), tuple(categories), group, summary, since,
                      complexity, tuple(arguments), key_flags=key_flags,
                      container=parent.upper() if parent else None)
        if parent:
            COMMANDS[parent.lower().encode()].subcommands[name.lower().encode()] = cmd
        else:
            _register(name, cmd)
        fn.command = cmd
        return fn

    return deco


def container(name: str, arity: int = -2, flags: tuple = (), categories: tuple = (), group: str = "generic",
              summary: str = "", since: str = "1.0.0") -> Command:
    """Declare a command with subcommands (CLIENT, CONFIG, COMMAND, ACL)."""
    cmd = Command(name.lower(), None, arity, tuple(flags), (), tuple(categories), group, summary, since)
    cmd.exact_args, cmd.min_args = -1, 1 << 30  # subcommands are resolved by the checked path
    _register(name, cmd)
    return cmd


def _register(name: str, cmd: Command) -> None:
    COMMANDS[name.lower().encode()] = cmd
    LOOKUP[name.lower().encode()] = cmd
    LOOKUP[name.upper().encode()] = cmd


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


# ------------------------------------------------------------------------------------------- key spec shorthands
def ks(first: int, last: int = 0, step: int = 1, *flags: str, redis: tuple = (), notes: str = "") -> KeySpec:
    return KeySpec(first, last, step, tuple(flags), redis, notes)


RO_ACCESS = ("RO", "ACCESS")
RW_ACCESS_UPDATE = ("RW", "ACCESS", "UPDATE")
OW_UPDATE = ("OW", "UPDATE")
RW_UPDATE = ("RW", "UPDATE")
RM_DELETE = ("RM", "DELETE")
RO = ("RO",)
