"""COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP): the command table as clients see it."""
from __future__ import annotations

import json
import os

from backends.glob import compile_glob

from .. import errors
from ..security.rules import CATEGORIES
from ..errors import CommandError
from ..replies import Map, SetReply, Simple
from .table import COMMANDS, Command, command, container

# ------------------------------------------------------------------------------------------------- COMMAND
container("COMMAND", arity=-1, flags="loading stale", categories="slow connection", group="server", since="2.8.13",
          summary="Returns detailed information about all commands.",
          handler=lambda sess, argv: [_info(c) for c in all_commands()])

# What COMMAND INFO/DOCS show. Arity, flags, key positions, key specs and ACL categories come from the command table
# (the declarations dispatch and ACL use); the documentation (summary, since, group, complexity, arguments, history)
# and the tips come from Redis 7.0.15 itself, recorded by tools/record_redis_commands.py into redis_commands.json,
# read on the first COMMAND DOCS/INFO. tests/differential/test_command_meta_vs_redis.py compares both with
# redis-server for every command respd implements.
_META_FILE = os.path.join(os.path.dirname(__file__), "redis_commands.json")
_meta = None

# Redis' order of command flags and key-spec flags in its replies; flags Redis never shows are left out ("sentinel"
# and "only_sentinel" are hidden on purpose in Redis, see addReplyFlagsForCommand).
_CMD_FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading",
                   "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "no_mandatory_keys",
                   "no_async_loading", "no_multi", "movablekeys", "allow_busy")
_KEY_FLAG_ORDER = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
                   "variable_flags")


def _redis_meta() -> dict:
    global _meta
    if _meta is None:
        with open(_META_FILE, encoding="utf-8") as f:
            _meta = json.load(f)
    return _meta


def all_commands():
    return sorted(COMMANDS.values(), key=lambda c: c.name)


def _ordered(flags, order) -> SetReply:
    return SetReply([Simple(f) for f in order if f in flags])


def _key_flag_names(k) -> set:
    return {f if f in ("RO", "RW", "OW", "RM") else f.lower() for f in k.redis_flags}


def _key_spec_reply(k) -> Map:
    items = []
    if k.notes:
        items.append((b"notes", k.notes.encode()))
    items += [(b"flags", _ordered(_key_flag_names(k), _KEY_FLAG_ORDER)),
              (b"begin_search", Map([(b"type", b"index"), (b"spec", Map([(b"index", k.first)]))])),
              (b"find_keys", _find_keys(k))]
    return Map(items)


def _find_keys(k) -> Map:
    if k.keynum:
        return Map([(b"type", b"keynum"), (b"spec", Map([(b"keynumidx", 0), (b"firstkey", 1), (b"keystep", 1)]))])
    return Map([(b"type", b"range"), (b"spec", Map([
        (b"lastkey", 0 if k.last == 0 else (k.last if k.last < 0 else k.last - k.first)),
        (b"keystep", k.step), (b"limit", 0)]))])


def _info(cmd: Command) -> list:
    """One COMMAND INFO entry: name, arity, flags, first/last/step, ACL categories, tips, key specs, subcommands."""
    first, last, step = cmd.first_key()
    tips = _redis_meta()["tips"].get(cmd.name, ())
    return [cmd.name.encode(), cmd.info_arity if cmd.info_arity is not None else cmd.arity,
            _ordered(cmd.flags, _CMD_FLAG_ORDER), first, last, step,
            SetReply([Simple("@" + c) for c in CATEGORIES if c in cmd.categories]),
            SetReply([t.encode() for t in tips]), SetReply([_key_spec_reply(k) for k in cmd.keys]),
            [_info(s) for s in cmd.subcommands.values()] if cmd.subcommands else SetReply([])]


_DOC_SETS = ("flags", "doc_flags")


def _docs_value(key: str, value):
    """A recorded COMMAND DOCS value as the reply Redis sends: its type follows from the field name."""
    if isinstance(value, dict):
        return Map([(k.encode(), _docs_value(k, v)) for k, v in value.items()])
    if key in _DOC_SETS:
        return SetReply([Simple(f) for f in value])
    if key == "history":
        return SetReply([[since.encode(), change.encode()] for since, change in value])
    if isinstance(value, list):
        return [_docs_value(key, v) for v in value]
    if isinstance(value, str):
        return value.encode()
    return value


def _docs(cmd: Command) -> Map:
    recorded = _redis_meta()["docs"].get(cmd.name)
    if recorded is not None:
        items = [(k.encode(), _docs_value(k, v)) for k, v in recorded.items()]
    else:
        items = _table_docs(cmd)
    if cmd.subcommands:
        items.append((b"subcommands", Map([(s.name.encode(), _docs(s)) for s in cmd.subcommands.values()])))
    return Map(items)


def _table_docs(cmd: Command) -> list:
    """DOCS of a command Redis 7.0 does not have (CLIENT SETINFO is 7.2's), from its declaration."""
    items = [(b"summary", cmd.summary.encode()), (b"since", cmd.since.encode()), (b"group", cmd.group.encode()),
             (b"complexity", cmd.complexity.encode())]
    if cmd.arguments:
        args = []
        key_index = 0
        for a in cmd.arguments:
            name, typ = a[0], a[1]
            entry = [(b"name", name.encode()), (b"type", typ.encode())]
            if typ == "key":
                entry.append((b"key_spec_index", key_index))
                key_index += 1
            elif typ == "pure-token":
                entry.append((b"token", name.upper().encode()))
            if "optional" in a[2:]:
                entry.append((b"flags", SetReply([Simple("optional")])))
            if typ in ("oneof", "block"):
                # redis-cli 7.0 dereferences the nested "arguments" of oneof/block entries unconditionally
                # (cliConcatArguments): without them it crashes on startup
                entry.append((b"arguments", []))
            args.append(Map(entry))
        items.append((b"arguments", args))
    return items


@command("count", parent="COMMAND", arity=2, flags="loading stale", categories="slow connection", group="server",
         since="2.8.13", summary="Returns a count of commands.")
def command_count(sess, argv):
    return len(COMMANDS)


@command("info", parent="COMMAND", arity=-2, flags="loading stale", categories="slow connection", group="server",
         since="2.8.13", summary="Returns information about one, multiple or all commands.")
def command_info(sess, argv):
    if len(argv) == 2:
        return [_info(c) for c in all_commands()]
    return [_info(c) if c is not None else None for c in (_find(a) for a in argv[2:])]


def _find(name: bytes):
    name = name.lower()
    if b"|" in name:
        parent, _, sub = name.partition(b"|")
        p = COMMANDS.get(parent)
        return p.subcommands.get(sub) if p is not None else None
    return COMMANDS.get(name)


@command("docs", parent="COMMAND", arity=-2, flags="loading stale", categories="slow connection", group="server",
         since="7.0.0", summary="Returns documentary information about one, multiple or all commands.")
def command_docs(sess, argv):
    cmds = all_commands() if len(argv) == 2 else [c for c in (_find(a) for a in argv[2:]) if c is not None]
    return Map([(c.name.encode(), _docs(c)) for c in cmds])


def with_subcommands(cmds):
    for c in cmds:
        yield c
        yield from c.subcommands.values()


@command("list", parent="COMMAND", arity=-2, flags="loading stale", categories="slow connection", group="server",
         since="7.0.0", summary="Returns a list of command names.")
def command_list(sess, argv):
    """COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every command and subcommand
    (``client|setname``), as Redis 7.0 lists them; an unknown category or any module matches nothing."""
    cmds = with_subcommands(all_commands())
    if len(argv) > 2:
        if len(argv) != 5 or argv[2].lower() != b"filterby":
            raise CommandError(errors.SYNTAX)
        kind, val = argv[3].lower(), argv[4]
        if kind == b"pattern":
            m = compile_glob(val.lower())  # Redis matches names without case; respd's are lowercase
            cmds = [c for c in cmds if m(c.name.encode())]
        elif kind == b"aclcat":
            cat = val.decode("latin-1").lower()
            cmds = [c for c in cmds if cat in c.categories]
        elif kind == b"module":
            cmds = []
        else:
            raise CommandError(errors.SYNTAX)
    return [c.name.encode() for c in cmds]


def _getkeys_target(inner: list):
    """The command COMMAND GETKEYS[ANDFLAGS] asks about, with Redis' errors (in Redis' order)."""
    cmd = _find(inner[0]) if b"|" not in inner[0] else None
    if cmd is not None and cmd.subcommands and len(inner) > 1:
        cmd = cmd.subcommands.get(inner[1].lower())
    if cmd is None:
        raise CommandError(errors.GETKEYS_INVALID_COMMAND)
    if not cmd.arg_keys and cmd.key_flags is None:
        raise CommandError(errors.GETKEYS_NO_KEYS)
    arity = cmd.info_arity if cmd.info_arity is not None else cmd.arity
    if (arity > 0 and len(inner) != arity) or len(inner) < -arity:
        raise CommandError(errors.GETKEYS_ARITY)
    found = keys_of(cmd, inner)
    if not found and "no_mandatory_keys" not in cmd.flags:  # EVAL ... 0 has no keys, and that is fine
        raise CommandError(errors.GETKEYS_NOT_FOUND)
    return found


@command("getkeys", parent="COMMAND", arity=-4, flags="loading stale", categories="slow connection", group="server",
         since="2.8.13", summary="Extracts the key names from an arbitrary command.")
def command_getkeys(sess, argv):
    return [k for k, _ in _getkeys_target(argv[2:])]


@command("getkeysandflags", parent="COMMAND", arity=-4, flags="loading stale", categories="slow connection",
         group="server", since="7.0.0", summary="Extracts the key names and access flags for an arbitrary command.")
def command_getkeysandflags(sess, argv):
    # a key's flags are its key spec's, less VARIABLE_FLAGS, which describes the spec (SET picks its spec by GET)
    return [[k, _ordered(_key_flag_names(spec) - {"variable_flags"}, _KEY_FLAG_ORDER)]
            for k, spec in _getkeys_target(argv[2:])]


def keys_of(cmd: Command, argv: list[bytes]) -> list:
    """(key, KeySpec) for every key argument of a request, from the declared key specs."""
    out = []
    for spec in cmd.key_specs(argv):
        for i in spec.positions(len(argv), argv):
            out.append((argv[i], spec))
    return out


@command("help", parent="COMMAND", arity=2, flags="loading stale", categories="slow connection", group="server",
         since="5.0.0", summary="Returns helpful text about the different subcommands.")
def command_help(sess, argv):
    return [Simple(s) for s in (
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)", "    Return details about all Redis commands.",
        "COUNT", "    Return the total number of commands in this Redis server.",
        "LIST", "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all", "    commands are returned.",
        "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all", "    commands are returned.",
        "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
        "HELP", "    Prints this help.")]
