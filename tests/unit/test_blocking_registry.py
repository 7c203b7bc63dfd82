"""The registry of blocked clients (``respd.blocking``) without I/O: when a client counts as blocked in INFO's
blocked_clients."""
from __future__ import annotations

import types

from backends.pg.pool import PgDatabase
from backends.sql.store import SQLStore
from respd.blocking import Blocking, Waiter


def test_a_sql_waiter_counts_once_its_first_look_found_nothing():
    """A SQL store's waiter is registered before its first look (so a creation meanwhile is not missed) but counts
    in blocked_clients only after that look: a test (or an operator) that sees it blocked knows the look is done.
    It counted at once before, and a PostgreSQL outage right then answered the 'blocked' client an error."""
    store = SQLStore("t:s", PgDatabase("t:db", "host=127.0.0.1"), table_name="t")  # never started: no I/O here
    reg = Blocking()
    reg.wait = lambda registry, waiter: None
    sess = types.SimpleNamespace(store=store, blocked=None)
    w = Waiter(sess, [b"q"], lambda key: None, 0)
    reg.block(w)
    assert sess.blocked is w and reg.blocked == 0
    reg.count(w)
    reg.count(w)
    assert reg.blocked == 1
    reg.leave(w)
    assert reg.blocked == 0 and sess.blocked is None
    w2 = Waiter(sess, [b"q"], lambda key: None, 0)
    reg.block(w2)
    reg.leave(w2)  # gone before its first look ended: never counted, nothing to take back
    assert reg.blocked == 0
