"""The command table and the option parser: what other modules read from a declaration, and how options parse."""
from __future__ import annotations

import subprocess
import sys

import pytest

from respd.commands.args import Options, parse_int
from respd.commands.catalog import COMMANDS
from respd.commands.table import ACCESS, DELETE, UPDATE, Keys
from respd.errors import CommandError
from tests.helpers import REPO_ROOT


def _all():
    for c in COMMANDS.values():
        yield c
        yield from c.subcommands.values()


def _names(field):
    return {c.name for c in _all() if getattr(c, field)}


def test_table_and_args_do_not_load_the_families():
    code = ("import sys, respd.commands.table, respd.commands.args; "
            "print(sorted(m for m in sys.modules if m.startswith('respd.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert out.stdout.strip() == "['respd.commands.args', 'respd.commands.table']"


def test_declared_facts():
    assert _names("no_auth") == {"auth", "hello", "quit", "reset"}
    assert _names("multi_immediate") == {"exec", "discard", "multi", "watch", "quit", "reset"}
    assert _names("runs_queue") == {"exec"}
    assert _names("cross_store") == {"move", "copy"}
    assert _names("all_stores") == {"flushall"}
    assert _names("selects_store") == {"select"}
    assert _names("switches_store") == {"select", "copy", "move", "flushall", "auth", "hello", "eval", "evalsha",
                                        "eval_ro", "evalsha_ro"}
    assert _names("runs_script") == {"eval", "evalsha", "eval_ro", "evalsha_ro"}
    policies = {c.name: c.policy for c in _all() if c.policy is not None}
    assert {n: p for n, p in policies.items() if p != "server.admin"} == {
        "keys": "store.keys.list", "scan": "store.keys.list", "randomkey": "store.keys.list",
        "dbsize": "store.keys.count", "flushdb": "store.flush", "flushall": "store.flush"}
    assert {n for n, p in policies.items() if p == "server.admin"} == (
        {c.name for c in _all() if "admin" in c.categories} | {"swapdb"})


def test_pure_commands_are_data_commands():
    """The pipeline runs a pure command without the per-request checks: only top-level string, keyspace, hash, set,
    list and sorted set commands that touch nothing but keys may say so."""
    pure = [c for c in _all() if c.pure]
    assert {"get", "set", "mget", "del", "scan", "copy", "move"} <= {c.name for c in pure}
    for c in pure:
        assert c.container is None and not c.subcommands, c.name
        assert {"string", "keyspace", "hash", "set", "list", "sortedset"} & set(c.categories), c.name
        assert "dangerous" not in c.categories, c.name
        assert not (c.no_auth or c.multi_immediate or c.runs_queue or "admin" in c.flags), c.name


def test_key_specs_read_as_redis_writes_them():
    k = Keys(1, "RW access update")
    assert (k.first, k.last, k.step, k.flags, k.redis_flags) == (1, 0, 1, (ACCESS, UPDATE), ("RW", "access", "update"))
    assert Keys(1, "RO").flags == ()
    assert Keys(1, "RW access update", access="access delete").flags == (ACCESS, DELETE)
    assert list(Keys(1, "OW update", last=-1, step=2).positions(7)) == [1, 3, 5]
    assert COMMANDS[b"move"].keys[0].flags == (ACCESS, DELETE)


_SET = Options("[cond: NX | XX] [GET] [expire: EX seconds | PX milliseconds | KEEPTTL]")


@pytest.mark.parametrize("args,expected", [
    ([], {}),
    (["nx", "get"], {"cond": "NX", "NX": True, "GET": True}),
    (["EX", "1", "ex", "2"], {"expire": "EX", "EX": b"2"}),                        # the same option again: last wins
    (["xx", "xx", "keepttl"], {"cond": "XX", "XX": True, "expire": "KEEPTTL", "KEEPTTL": True}),
])
def test_options_parse(args, expected):
    assert _SET.parse([b"SET", b"k", b"v"] + [a.encode() for a in args], 3) == expected


@pytest.mark.parametrize("args", [["NX", "XX"], ["EX", "1", "PX", "2"], ["EX"], ["FOO"], ["KEEPTTL", "EX", "1"]])
def test_options_syntax_errors(args):
    with pytest.raises(CommandError) as e:
        _SET.parse([b"SET", b"k", b"v"] + [a.encode() for a in args], 3)
    assert e.value.text == "ERR syntax error"


def test_options_convert_in_order_and_custom_errors():
    opts = Options("[COUNT count] [AUTH username password]", convert={"COUNT": parse_int},
                   error=lambda arg: b"ERR bad " + arg)
    assert opts.parse([b"X", b"count", b"7", b"AUTH", b"u", b"p"], 1) == {"COUNT": 7, "AUTH": (b"u", b"p")}
    with pytest.raises(CommandError) as e:   # the converter's error comes before a later bad option
        opts.parse([b"X", b"COUNT", b"x", b"nope"], 1)
    assert e.value.text == "ERR value is not an integer or out of range"
    with pytest.raises(CommandError) as e:
        opts.parse([b"X", b"COUNT", b"1", b"Auth", b"u"], 1)
    assert e.value.text == b"ERR bad Auth"
    assert opts.parse([b"X", b"COUNT", b"x"], 1, convert={"COUNT": len}) == {"COUNT": 1}


def test_options_argument_names_may_hold_colons():
    opts = Options("[ADDR ip:port] [mode: ASYNC | SYNC]")
    assert opts.parse([b"X", b"addr", b"1.2.3.4:5", b"sync"], 1) == {"ADDR": b"1.2.3.4:5", "mode": "SYNC",
                                                                     "SYNC": True}
