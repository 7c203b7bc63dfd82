"""Keyspace notifications' sans-I/O core (``respd.notify``): the class flags against Redis' table, the channels,
events published through the pipeline to a subscriber, expiry (lazy, the sweep, the active cycle) and what a
store without an index is called. The streams are compared with redis-server's in
tests/differential/test_notify_vs_redis.py."""
from __future__ import annotations

import itertools

import pytest

from respd import notify
from respd.dispatch import execute
from tests.unit.pipelined import bare_client as _client, run_bare as _run

#: Redis 7.0.15's server.h: NOTIFY_* bit values, and the characters of keyspaceEventsStringToFlags
REDIS_FLAGS = {"K": 1 << 0, "E": 1 << 1, "g": 1 << 2, "$": 1 << 3, "l": 1 << 4, "s": 1 << 5, "h": 1 << 6,
               "z": 1 << 7, "x": 1 << 8, "e": 1 << 9, "t": 1 << 10, "m": 1 << 11, "d": 1 << 13, "n": 1 << 14}
REDIS_ALL = sum(REDIS_FLAGS[c] for c in "g$lshzxetd")


def redis_to_string(flags: int) -> str:
    """keyspaceEventsFlagsToString, transcribed from notify.c as the reference."""
    if flags & REDIS_ALL == REDIS_ALL:
        out = "A"
    else:
        out = "".join(c for c in "g$lshzxetdn" if flags & REDIS_FLAGS[c])
    for c in "KEm":
        if flags & REDIS_FLAGS[c]:
            out += c
    return out


def test_each_character_is_redis_class():
    for c, bit in REDIS_FLAGS.items():
        assert notify.parse(c.encode()) == bit, c
    assert notify.parse(b"A") == REDIS_ALL
    assert notify.parse(b"A") & notify.MISS == 0 and notify.parse(b"A") & notify.NEW == 0


@pytest.mark.parametrize("bad", [b"Q", b"KEZ", b"a", b" ", b"K E", b"\x00", b"KEA!"])
def test_other_characters_are_refused(bad):
    assert notify.parse(bad) is None


def test_round_trip_matches_redis_for_every_combination():
    """Every subset of the 14 classes: parse(to_string(f)) == f and the string is Redis' canonical one."""
    bits = list(REDIS_FLAGS.values())
    for n in range(len(bits) + 1):
        for combo in itertools.combinations(bits, n):
            f = sum(combo)
            text = notify.to_string(f)
            assert text.decode() == redis_to_string(f)
            # as in Redis, "A" leaves n out of the string (keyspaceEventsFlagsToString): lossy only there
            assert notify.parse(text) == (f & ~notify.NEW if f & REDIS_ALL == REDIS_ALL else f)


@pytest.mark.parametrize("given,shown", [("KEA", "AKE"), ("Elx", "lxE"), ("Kn", "nK"), ("", ""), ("AKEm", "AKEm"),
                                          ("nmE", "nEm"), ("g$lshzxetd", "A"), ("AAn", "A"), ("KEAn", "AKE"),
                                          ("xxK", "xK")])
def test_canonical_strings(given, shown):
    assert notify.to_string(notify.parse(given.encode())) == shown.encode()


def test_channels():
    assert notify.channels(b"0", b"set", b"k") == (b"__keyspace@0__:k", b"__keyevent@0__:set")
    assert notify.channels(b"12", b"del", b"a:b\x00c") == (b"__keyspace@12__:a:b\x00c", b"__keyevent@12__:del")


async def test_db_label_is_the_lowest_index_or_the_store_id(app):
    s0 = app.databases[0]
    app.databases[9] = s0  # a store mapped twice: its lowest index
    assert notify.db_label(app, s0) == b"0"
    assert notify.db_label(app, app.databases[5]) == b"5"
    del app.databases[5]
    lone = app.stores["t:db5"]
    assert notify.db_label(app, lone) == b"t:db5"


# ------------------------------------------------------------------------------------------------ through requests


def _msgs(c) -> list[tuple[bytes, bytes]]:
    """(channel, message) of the pmessages pending for c."""
    out = []
    for frame in c.out:
        parts = frame.split(b"\r\n")
        out.append((parts[6], parts[8]))
    c.out.clear()
    c.size = 0
    return out


def _listener(app, flags: bytes):
    app.notify_flags = notify.parse(flags)
    notify.install(app)
    sub = _client(app)
    _run(sub, "PSUBSCRIBE", "__key*__:*")
    return sub


async def test_events_and_new_through_the_pipeline(app):
    sub = _listener(app, b"KEAn")
    c = _client(app)
    assert _run(c, "SET", "k", "v") == b"+OK\r\n"
    assert _msgs(sub) == [(b"__keyspace@0__:k", b"new"), (b"__keyevent@0__:new", b"k"),
                          (b"__keyspace@0__:k", b"set"), (b"__keyevent@0__:set", b"k")]
    _run(c, "RPUSH", "l", "a")
    _run(c, "LPOP", "l")
    assert [m for ch, m in _msgs(sub) if ch.startswith(b"__keyspace")] == [b"new", b"rpush", b"lpop", b"del"]


async def test_nothing_changed_nothing_sent(app):
    sub = _listener(app, b"KEA")
    c = _client(app)
    for argv in (("DEL", "nokey"), ("SET", "k", "v", "XX"), ("LPOP", "nol"), ("SREM", "nos", "a"),
                 ("EXPIRE", "nokey", "1"), ("PERSIST", "nokey"), ("HDEL", "noh", "f"), ("ZREM", "noz", "m"),
                 ("LPUSH", "k2", "a"), ("SET", "k2", "v")):
        _run(c, *argv)
    got = _msgs(sub)
    # only LPUSH k2 and SET k2 changed anything
    assert [m for ch, m in got if ch.startswith(b"__keyspace")] == [b"lpush", b"set"]
    _run(c, "INCR", "k2")  # WRONGTYPE-free error (not an integer): no event
    assert _msgs(sub) == []


async def test_off_means_no_rule_runs(app):
    app.notify_flags = 0
    notify.install(app)
    sub = _client(app)
    _run(sub, "PSUBSCRIBE", "*")
    c = _client(app)
    _run(c, "SET", "k", "v")
    assert sub.out == []
    assert all(s.on_expired is None for s in app.stores.values())


async def test_a_store_without_index_is_named_by_its_id(app):
    sub = _listener(app, b"KE$")
    c = _client(app)
    del app.databases[7]
    _run(c, "SELECT", "t:db7")
    _run(c, "SET", "k", "v")
    assert _msgs(sub) == [(b"__keyspace@t:db7__:k", b"set"), (b"__keyevent@t:db7__:set", b"k")]


async def test_lazy_expiry_sends_expired_before_the_commands_own_events(app, clock):
    sub = _listener(app, b"KEAn")
    c = _client(app)
    _run(c, "SET", "k", "v", "PX", "100")
    _msgs(sub)
    clock.advance_ms(101)
    _run(c, "SET", "k", "w")  # finds k expired: expired, then new and set as for a missing key (Redis' order)
    assert [m for ch, m in _msgs(sub) if ch.startswith(b"__keyspace")] == [b"expired", b"new", b"set"]
    _run(c, "SET", "g", "v", "PX", "100")
    _msgs(sub)
    clock.advance_ms(101)
    assert _run(c, "GET", "g") == b"$-1\r\n"
    assert _msgs(sub) == [(b"__keyspace@0__:g", b"expired"), (b"__keyevent@0__:expired", b"g")]


async def test_the_sweep_and_the_active_cycle_send_expired(app, clock):
    sub = _listener(app, b"Ex")
    store = app.databases[0]
    for i in range(5):
        store.set(b"s%d" % i, b"v", None, False, clock.ms + 10)
    clock.advance_ms(20)
    assert await store.sweep() == 5
    assert sorted(m for _, m in _msgs(sub)) == [b"s%d" % i for i in range(5)]
    for i in range(3):
        store.set(b"a%d" % i, b"v", None, False, clock.ms + 10)
    store.set(b"later", b"v", None, False, clock.ms + 100_000)
    clock.advance_ms(20)
    assert notify.active_expire_cycle(app) == 3
    assert sorted(m for _, m in _msgs(sub)) == [b"a0", b"a1", b"a2"]


async def test_active_expiry_is_bounded_per_call(app, clock):
    """active_expire checks at most its budget of keys per call, and goes on where it stopped."""
    store = app.databases[1]
    n = 5000
    for i in range(n):
        store.set(b"k%d" % i, b"v", None, False, clock.ms + 10)
    clock.advance_ms(20)
    checked, removed = store.active_expire(2000)
    assert (checked, removed) == (2000, 2000)
    checked, removed = store.active_expire(2000)
    assert (checked, removed) == (2000, 2000)
    assert store.active_expire(2000) == (1000, 1000)
    assert store.dbsize() == 0


async def test_active_expiry_looks_only_at_what_is_due(app, clock):
    """Deadlines in a heap: many keys with a long TTL cost nothing per tick; a TTL changed since it was set leaves
    a stale entry that is skipped; flushing or turning x off drops the heap."""
    app.config_set([(b"notify-keyspace-events", b"Ex")])
    store = app.databases[2]
    for i in range(3000):
        store.set(b"far%d" % i, b"v", None, False, clock.ms + 3_600_000)
    for i in range(10):
        store.set(b"near%d" % i, b"v", None, False, clock.ms + 10)
    store.expire(b"near0", clock.ms + 3_600_000)  # moved: its first deadline is stale
    clock.advance_ms(20)
    assert store.active_expire(2000) == (10, 9)
    assert store.active_expire(2000) == (0, 0)
    assert store.dbsize() == 3001
    store.flush()
    assert store.active_expire(2000) == (0, 0)
    app.config_set([(b"notify-keyspace-events", b"")])
    assert store._deadlines is None


async def test_config_set_installs_and_removes_the_expiry_hook(app):
    app.config_set([(b"notify-keyspace-events", b"Ex")])
    assert all(s.on_expired is not None for s in app.stores.values())
    app.config_set([(b"notify-keyspace-events", b"KEA")])  # A holds x
    assert all(s.on_expired is not None for s in app.stores.values())
    app.config_set([(b"notify-keyspace-events", b"x")])  # no channel kind: nothing would be sent
    assert all(s.on_expired is None for s in app.stores.values())
    app.config_set([(b"notify-keyspace-events", b"")])
    assert app.notify_flags == 0


async def test_served_blocked_client_sends_its_pop(app):
    sub = _listener(app, b"Kl$g")
    blocked = _client(app)
    app.blocking.wait = lambda blocking, w: "waiting"  # the trio layer's part (a coroutine there)
    assert execute(blocked.sess, [b"BLPOP", b"q", b"0"]) == "waiting"
    c = _client(app)
    _run(c, "RPUSH", "q", "x")
    assert [m for ch, m in _msgs(sub)] == [b"rpush", b"lpop", b"del"]


async def test_keymiss_for_each_missing_key_looked_up(app):
    sub = _listener(app, b"Em")
    c = _client(app)
    _run(c, "SET", "a", "1")
    _run(c, "MGET", "a", "x", "a", "x")
    _run(c, "GET", "a")
    _run(c, "SET", "y", "v", "GET")  # SET ... GET reads y first (Redis' getGenericCommand)
    _run(c, "LPUSH", "a", "v")  # an error: nothing
    assert _msgs(sub) == [(b"__keyevent@0__:keymiss", b"x")] * 2 + [(b"__keyevent@0__:keymiss", b"y")]
    app.config_set([(b"notify-keyspace-events", b"KEA")])  # A leaves m out
    _run(c, "GET", "nokey")
    assert _msgs(sub) == []


async def test_rules_do_not_run_when_nobody_listens(app, monkeypatch):
    app.config_set([(b"notify-keyspace-events", b"KEAnm")])
    store = app.databases[0]
    probes = []
    real = store.exists
    monkeypatch.setattr(store, "exists", lambda keys: probes.append(keys) or real(keys))
    c = _client(app)
    _run(c, "SET", "k", "v")
    _run(c, "GET", "nokey")
    assert probes == []
    sub = _client(app)
    _run(sub, "SUBSCRIBE", "anything")  # someone on this node might hear: rules run
    _run(c, "SET", "k2", "v")
    assert probes == [[b"k2"]]


async def test_a_failing_delivery_never_reaches_the_writer(app, monkeypatch, clock):
    _listener(app, b"KEA")
    c = _client(app)

    def broken(*a, **kw):
        raise RuntimeError("defect")

    monkeypatch.setattr(notify.pubsub, "publish", broken)
    assert _run(c, "SET", "k", "v", "PX", "10") == b"+OK\r\n"
    clock.advance_ms(20)
    assert _run(c, "GET", "k") == b"$-1\r\n"  # the expiry hook failing inside the store's read changes nothing


async def test_expired_only_keeps_the_direct_path(app):
    """x alone (what an expiry listener needs) runs no command rule: the pipeline's direct path stays."""
    from respd.pipeline import is_plain
    c = _client(app)
    app.config_set([(b"notify-keyspace-events", b"Ex")])
    assert app.notify_rules == 0 and is_plain(c.sess, app)
    app.config_set([(b"notify-keyspace-events", b"Egx")])
    assert app.notify_rules and not is_plain(c.sess, app)
    app.config_set([(b"notify-keyspace-events", b"gx")])  # no channel kind: nothing would be sent
    assert app.notify_rules == 0
