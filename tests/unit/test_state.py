"""respd.state.App without I/O: CONFIG SET's validation texts (all or nothing) and SELECT by store id.

The texts live in respd.errors; these cases pin the bytes a client gets, as they were before issue 12 moved them.
"""
from __future__ import annotations

import pytest

from backends.memory import MemoryStore
from respd.errors import CommandError
from respd.security.users import Auth
from respd.state import App

FAILED = b"ERR CONFIG SET failed (possibly related to argument '%s') - %s"


@pytest.fixture
def app():
    store = MemoryStore("t:a", max_size=0, cleanup_interval=0)
    return App({"t:a": store}, {0: store}, {"port": 0}, Auth())


@pytest.mark.parametrize("name, value, text", [
    (b"nosuch", b"1", b"ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
    (b"port", b"1", FAILED % (b"port", b"can't set immutable config")),
    (b"maxmemory", b"x", FAILED % (b"maxmemory", b"argument must be a memory value")),
    (b"proto-max-bulk-len", b"10",
     FAILED % (b"proto-max-bulk-len", b"argument must be between 1048576 and 9223372036854775807 inclusive")),
    (b"maxclients", b"0", FAILED % (b"maxclients", b"argument couldn't be parsed into an integer")),
    (b"timeout", b"+5", FAILED % (b"timeout", b"argument couldn't be parsed into an integer")),
    (b"maxmemory-policy", b"allkeys-lru",
     FAILED % (b"maxmemory-policy", b"respd stores never evict; only noeviction is supported")),
    (b"loglevel", b"loud", FAILED % (b"loglevel", b"argument(s) must be one of the following: debug, verbose, "
                                                  b"notice, warning, nothing")),
    (b"hz", b"5", FAILED % (b"hz", b"respd does not support changing this setting at runtime")),
    (b"client-output-buffer-limit", b"foo 1 2 3",
     FAILED % (b"client-output-buffer-limit", b"Invalid client class specified in buffer limit configuration.")),
])
def test_config_set_refusals(app, name, value, text):
    before = app.timeout
    with pytest.raises(CommandError) as ei:
        app.config_set([(b"timeout", b"7"), (name, value)])  # all or nothing: timeout is not applied either
    assert ei.value.text == text
    assert app.timeout == before


def test_config_set_applies_every_pair(app):
    app.config_set([(b"timeout", b"7"), (b"maxmemory", b"2mb"), (b"loglevel", b"WARNING")])
    assert (app.timeout, app.maxmemory, app.loglevel) == (7, 2 * 1024 * 1024, "warning")


@pytest.mark.parametrize("arg, text", [
    (b"1", "ERR DB index is out of range"),
    (b"-1", "ERR DB index is out of range"),
    (b"01", "ERR value is not an integer or out of range"),
    (b"abc", "ERR value is not an integer or out of range"),
    (b"t:zz%s\xff", b"ERR no such store 't:zz%s\xff'"),
])
def test_select_refusals(app, arg, text):
    sess = app.new_session()
    with pytest.raises(CommandError) as ei:
        app.select(sess, arg)
    assert ei.value.text == text
    assert sess.db == 0


def test_select_by_store_id(app):
    sess = app.new_session()
    app.select(sess, b"t:a")
    assert sess.store is app.stores["t:a"] and sess.db == 0
