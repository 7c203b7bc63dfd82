"""MONITOR's feed (sans-I/O parts), MEMORY and OBJECT through ``dispatch`` on memory stores; what every store kind
shares is in ``any_store_introspection.py``, the case tables on SQL stores in tests/sql/test_commands_on_sql.py.

The byte-level cases are in ``introspection_cases.py`` (replayed on a real redis-server by
``tests/differential/test_introspection_vs_redis.py``); the feed over real sockets, redis-cli and the bounded
monitor queue are in ``tests/integration/test_monitor.py``.
"""
from __future__ import annotations

import pytest

from respd import monitor
from respd.commands.introspection import encoding, refcount
from tests.unit.acl_cases import build, noperm_cmd, policy, run, session, user
from tests.unit.command_cases import run_case
from tests.unit.introspection_cases import CASES, ENCODINGS


@pytest.mark.parametrize("name", sorted(CASES))
async def test_introspection_case(name, app, clock, call):
    await run_case(app, clock, call, CASES[name])


# ------------------------------------------------------------------------------------------------ OBJECT
@pytest.mark.parametrize("value", sorted(ENCODINGS))
def test_encoding_rules(value):
    enc, ref = ENCODINGS[value]
    assert encoding(value.encode()) == enc.encode()
    assert refcount(value.encode()) == ref


# ------------------------------------------------------------------------------------------------ the feed
def test_quote_is_sdscatrepr():
    assert monitor.quote(b"plain text") == b'"plain text"'
    assert monitor.quote(b"") == b'""'
    assert monitor.quote(b'q"\\\n\r\t\x07\x08\x00\xff\x7f~ ') == b'"q\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff\\x7f~ "'
    assert monitor.quote(bytes(range(256))).count(b"\\x") == 256 - 95 - 5  # 95 printable, 5 letter escapes


@pytest.mark.parametrize("argv, shown", [
    ([b"AUTH", b"pw"], [b"AUTH", b"(redacted)"]),
    ([b"auth", b"user", b"pw"], [b"auth", b"(redacted)", b"(redacted)"]),
    ([b"AUTH", b"a", b"b", b"c"], [b"AUTH", b"a", b"b", b"c"]),  # a syntax error, answered before redaction
    ([b"HELLO", b"3", b"AUTH", b"u", b"p"], [b"HELLO", b"3", b"AUTH", b"(redacted)", b"(redacted)"]),
    ([b"HELLO", b"2", b"SETNAME", b"n", b"auth", b"u", b"p"],
     [b"HELLO", b"2", b"SETNAME", b"n", b"auth", b"(redacted)", b"(redacted)"]),
    ([b"HELLO", b"3", b"AUTH", b"u"], [b"HELLO", b"3", b"AUTH", b"u"]),  # syntax error
    ([b"HELLO", b"4", b"AUTH", b"u", b"p"], [b"HELLO", b"4", b"AUTH", b"u", b"p"]),  # NOPROTO first
    ([b"HELLO", b"3", b"SETNAME", b"a b", b"AUTH", b"u", b"p"],
     [b"HELLO", b"3", b"SETNAME", b"a b", b"AUTH", b"u", b"p"]),  # the bad name is answered first
    ([b"SET", b"AUTH", b"pw"], [b"SET", b"AUTH", b"pw"]),
])
def test_redaction_as_redis(argv, shown):
    assert monitor.redact(argv) == shown


def test_monitor_needs_server_admin_in_registry_policies(tmp_path):
    """MONITOR is an @admin command: a policy user needs ``server.admin`` on ``monitor``."""
    app = build(tmp_path, [user("u"), user("v"),
                           policy("p", ["store.get", "store.key.*"], users=["u", "v"]),
                           policy("q", ["server.admin"], ["monitor"], users=["v"])])
    assert run(session(app, "u"), "MONITOR") == noperm_cmd("monitor")
    assert run(session(app, "v"), "MONITOR") == b"+OK\r\n"
