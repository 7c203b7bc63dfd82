"""Dispatch order (SPEC §3): unknown command → arity → NOAUTH → execution, with a password on the default user.

A suite for every store kind: collected where it is imported, by tests/unit/test_any_store.py (memory stores) and
tests/sql/test_any_store.py (SQL stores)."""
from __future__ import annotations

import re

import pytest

from respd.security.model import sha256_hex
from tests.unit.command_cases import NULL, OK, arity, err

NOAUTH = err("NOAUTH Authentication required.")
WRONGPASS = err("WRONGPASS invalid username-password pair or user is disabled.")


@pytest.fixture
def locked(app):
    d = app.auth.users["default"]
    d.nopass = False
    d.password_hashes = [sha256_hex(b"secret")]
    return app.new_session()


async def test_order_unknown_arity_noauth(locked, call):
    assert await call(locked, "NOPE x") == err("ERR unknown command 'NOPE', with args beginning with: 'x' ")
    assert await call(locked, "GET") == arity("get")
    assert await call(locked, "CLIENT NOPE") == err("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.")
    assert await call(locked, "GET k") == NOAUTH
    assert await call(locked, "PING") == NOAUTH
    assert await call(locked, "SELECT 1") == NOAUTH
    assert await call(locked, "CLIENT SETNAME x") == NOAUTH
    assert await call(locked, "MULTI") == NOAUTH


async def test_auth_and_hello(locked, call):
    assert await call(locked, "AUTH wrong") == WRONGPASS
    assert await call(locked, "AUTH default wrong") == WRONGPASS
    assert await call(locked, "HELLO 3") == err(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> "
        "option can be used to authenticate the client and select the RESP protocol version at the same time")
    assert await call(locked, "HELLO 3 AUTH default wrong") == WRONGPASS
    assert locked.proto == 2
    reply = await call(locked, "HELLO 3 AUTH default secret")
    assert reply.startswith(b"%7\r\n") and locked.proto == 3
    assert await call(locked, "GET k") == b"_\r\n"
    assert await call(locked, "RESET") == b"+RESET\r\n"
    assert await call(locked, "GET k") == NOAUTH
    assert await call(locked, "AUTH secret") == OK
    assert await call(locked, "GET k") == NULL


async def test_quit_is_always_allowed(locked, call):
    assert await call(locked, "QUIT") == OK
    assert locked.closing


async def test_reset_is_allowed_before_auth(locked, call):
    """RESET is declared no_auth (as in Redis): +RESET, and the connection is still not authenticated."""
    assert await call(locked, "RESET") == b"+RESET\r\n"
    assert await call(locked, "GET k") == NOAUTH


async def test_http_request_raises_security_close(session):
    from respd.dispatch import execute
    from respd.errors import SecurityClose
    for argv in ([b"POST", b"/", b"HTTP/1.1"], [b"Host:", b"example.com"], [b"post"]):
        with pytest.raises(SecurityClose):
            execute(session, argv)


async def test_unexpected_handler_exception_is_an_error_reply(session, call, monkeypatch):
    from respd.commands.catalog import COMMANDS

    def boom(sess, argv):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(COMMANDS[b"echo"], "handler", boom)
    reply = await call(session, "ECHO x")
    assert re.fullmatch(rb"-ERR [^\r\n]*\r\n", reply)
    assert await call(session, "PING") == b"+PONG\r\n"


async def test_select_by_store_id(session, call):
    """respd extension (SPEC §11): SELECT <store-id>; numeric SELECT keeps Redis' exact replies."""
    assert await call(session, "SELECT t:db3") == OK
    assert session.db == 3 and session.store.id == "t:db3"
    assert await call(session, "SET k v") == OK
    assert await call(session, "SELECT 3") == OK
    assert await call(session, "GET k") == b"$1\r\nv\r\n"
    reply = await call(session, "SELECT t:nosuch")
    assert reply.startswith(b"-ERR ") and b"t:nosuch" in reply
    assert await call(session, "SELECT nosuch") == err("ERR value is not an integer or out of range")
    assert session.db == 3
    info = await call(session, "CLIENT INFO")
    assert b" db=3 " in info
