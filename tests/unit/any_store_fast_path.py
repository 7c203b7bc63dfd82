"""``pipeline.run_requests`` runs GET and 3-argument SET inline on plain sessions (the handlers' bodies, without a
call). This proves the inline copies answer exactly what the commands' handlers answer through ``dispatch.execute``:
the same encoded bytes, the same store state afterwards and the same errorstats, for many variants of GET and SET
(missing keys, empty, binary and big values around the inline encoder's 4 KiB limit, expired keys, a key holding
another type, a full store, SET's options, RESP2 and RESP3) on a synchronous store (memory) and an asynchronous one
(SQL, whose replies are coroutines).

Each variant runs twice on two fresh stores with the same setup: once as a received chunk through
``run_requests`` (with the GET and SET handlers made to fail, so only the inline copies can answer), once through
``execute``; the replies, a GET and PTTL of the key afterwards, and ``app.error_stats`` must be equal (``compare``).

A suite for every store kind: collected where it is imported, by tests/unit/test_any_store.py (memory stores) and
tests/sql/test_any_store.py (SQL stores); the variants on a key of another type (``FOREIGN``, memory only) run in
tests/unit/test_fast_path.py.
"""
from __future__ import annotations

import contextlib
import inspect

import pytest

from backends.base import WrongType
from backends.memory import MemoryStore
from respd.security.users import Auth
from respd.state import App
from respd.commands.catalog import LOOKUP
from respd.pipeline import AWAIT, DONE, ClientState, add_reply, is_plain, run_requests
from respd.protocol import RequestReader
from tests.helpers import encode_command, execute_bytes, split_command

class _Foreign(MemoryStore):
    """A memory store where keys starting with ``list:`` hold another type (as foreign SQL rows may)."""

    def get(self, key):
        if key.startswith(b"list:") and key in self._data:
            raise WrongType()
        return super().get(key)

    def set(self, key, value, cond=None, get=False, expire=None):
        if get and key.startswith(b"list:") and key in self._data:
            raise WrongType()
        return super().set(key, value, cond, get, expire)


def _refuse(sess, argv):
    raise AssertionError("the handler ran: the inline copy in run_requests was meant to answer")


@contextlib.contextmanager
def _handlers_refuse(argv: list[bytes]):
    """GET and 3-argument SET must be answered inline: their handlers refuse while the chunk runs."""
    name = argv[0].upper()
    cmd = LOOKUP[name] if name in (b"GET", b"SET") and (name == b"GET" or len(argv) == 3) else None
    if cmd is None:
        yield
        return
    handler, cmd.handler = cmd.handler, _refuse
    try:
        yield
    finally:
        cmd.handler = handler


async def _fresh_app(make_store, kind: str, max_size: int) -> App:
    """A new, empty store (the same id each time: errors name it) as db 0 of a new App."""
    store_id = "t:fastpath"
    if kind == "foreign":
        store = _Foreign(store_id, max_size=max_size, cleanup_interval=0)
    else:
        store = await make_store(store_id, max_size=max_size)
    return App({store.id: store}, {0: store}, {"port": 0}, Auth())


async def _inline(app: App, sess, argv: list[bytes]) -> bytes:
    c = ClientState(app, sess, RequestReader(authenticated=sess.authenticated))
    assert is_plain(sess, app)
    c.reader.feed(encode_command(*argv))
    with _handlers_refuse(argv):
        status = run_requests(c)
        if status == AWAIT:
            coro, c.coro = c.coro, None
            status = add_reply(c, await coro)
    assert status == DONE
    return b"".join(c.out)


async def _side(make_store, kind, max_size, proto, setup, argv, inline: bool, clock):
    app = await _fresh_app(make_store, kind, max_size)
    try:
        sess = app.new_session("127.0.0.1:40000", "127.0.0.1:6379", 5)
        sess.proto = proto
        for cmd in setup:
            if isinstance(cmd, int):
                clock.advance_ms(cmd)
            elif isinstance(cmd, tuple) and cmd[0] == "typed":  # a typed value (the store module of scripts)
                r = app.databases[0].store(cmd[1], cmd[2])
                if inspect.iscoroutine(r):
                    await r
            elif isinstance(cmd, tuple):  # a raw value under a foreign type
                app.databases[0]._data[cmd[0]] = cmd[1]
            else:
                await execute_bytes(sess, cmd)
        app.error_stats.clear()
        reply = await (_inline(app, sess, argv) if inline else execute_bytes(sess, argv))
        errors = dict(app.error_stats)
        key = argv[1]
        after = (await execute_bytes(sess, ["GET", key]) if not key.startswith(b"list:") else b"",
                 await execute_bytes(sess, ["PTTL", key]))
        return reply, errors, after
    finally:
        for store in app.stores.values():
            await store.aclose()


BIG = [4093, 4094, 4095, 4096, 4097, 70000]
#: (name, setup, request, max_size); setup items: a command, an int (advance the clock by ms), a (key, raw) pair,
#: ("typed", key, value): a typed value written by ``Store.store`` (what the scripts' store module writes)
VARIANTS = [
    ("get-missing", [], "GET k", 0),
    ("get-hit", ["SET k hello"], "GET k", 0),
    ("get-empty", [["SET", "k", b""]], "GET k", 0),
    ("get-binary", [["SET", "k", b"a\r\nb\x00\xff$-1\r\n"]], "GET k", 0),
    ("get-binary-key", [["SET", b"\x00k\r\n", b"v"]], ["GET", b"\x00k\r\n"], 0),
    ("get-ttl-alive", ["SET k v PX 500", 499], "GET k", 0),
    ("get-expired", ["SET k v PX 500", 500], "GET k", 0),
    ("get-expired-later", ["SET k v EX 1", 1001], "GET k", 0),
    ("get-full-store", ["SET a 1", "SET k 2"], "GET k", 2),
    ("get-int-looking", ["SET k 12345"], "GET k", 0),
    ("set-new", [], "SET k v", 0),
    ("set-overwrite", ["SET k old"], "SET k new", 0),
    ("set-overwrite-ttl", ["SET k old EX 100"], "SET k new", 0),
    ("set-over-expired", ["SET k old PX 10", 20], "SET k new", 0),
    ("set-empty", [], ["SET", "k", b""], 0),
    ("set-binary", [], ["SET", "k", b"\r\n\x00\xff"], 0),
    ("set-full-new-key", ["SET a 1", "SET b 2"], "SET k v", 2),
    ("set-full-existing-key", ["SET a 1", "SET k 2"], "SET k v", 2),
    ("set-nx-missing", [], "SET k v NX", 0),
    ("set-nx-present", ["SET k old"], "SET k v NX", 0),
    ("set-xx-missing", [], "SET k v XX", 0),
    ("set-get", ["SET k old"], "SET k v GET", 0),
    ("set-get-missing", [], "SET k v GET", 0),
    ("set-ex", [], "SET k v EX 100", 0),
    ("set-px-zero", [], "SET k v PX 0", 0),
    ("set-ex-not-int", [], "SET k v EX soon", 0),
    ("set-keepttl", ["SET k old EX 100"], "SET k v KEEPTTL", 0),
    ("set-syntax", [], "SET k v NX XX", 0),
    ("get-typed-int", [("typed", b"k", 42)], "GET k", 0),
    ("get-typed-float", [("typed", b"k", -0.25)], "GET k", 0),
    ("get-typed-map", [("typed", b"k", {b"a": [1, 2]})], "GET k", 0),
    ("get-typed-list", [("typed", b"k", [b"x"])], "GET k", 0),
    ("get-typed-bool", [("typed", b"k", True)], "GET k", 0),
    ("set-over-typed-map", [("typed", b"k", {b"a": 1})], "SET k v", 0),
    ("set-get-typed-map", [("typed", b"k", {b"a": 1})], "SET k v GET", 0),
    ("set-get-typed-int", [("typed", b"k", 7)], "SET k v GET", 0),
] + [("get-%d-bytes" % n, [["SET", "k", b"x" * n]], "GET k", 0) for n in BIG] \
  + [("set-%d-bytes" % n, [], ["SET", "k", b"y" * n], 0) for n in BIG]
FOREIGN = [
    ("get-wrongtype", [(b"list:l", b"payload")], "GET list:l", 0),
    ("set-over-wrongtype", [(b"list:l", b"payload")], "SET list:l v", 0),
    ("set-get-wrongtype", [(b"list:l", b"payload")], "SET list:l v GET", 0),
]


async def compare(make_store, clock, kind, setup, request, max_size):
    argv = split_command(request)
    for proto in (2, 3):
        inline = await _side(make_store, kind, max_size, proto, setup, argv, True, clock)
        checked = await _side(make_store, kind, max_size, proto, setup, argv, False, clock)
        assert inline == checked, "RESP%d %r: inline %r, handler %r" % (proto, request, inline, checked)


@pytest.mark.parametrize("name,setup,request_,max_size", VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_inline_get_and_set_answer_as_their_handlers(name, setup, request_, max_size, make_store, clock):
    await compare(make_store, clock, "store", setup, request_, max_size)


async def test_the_inline_copies_are_what_answers(make_store, clock, store_kind):
    """The guard works: with a plain session the handlers are not called; through execute they are."""
    app = await _fresh_app(make_store, "store", 0)
    sess = app.new_session()
    assert await _inline(app, sess, [b"SET", b"k", b"v"]) == b"+OK\r\n"
    with _handlers_refuse([b"GET", b"k"]):
        assert (await execute_bytes(sess, "GET k")).startswith(b"-ERR internal error")
    for store in app.stores.values():
        await store.aclose()
