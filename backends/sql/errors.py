"""How a SQL store reports failures: to clients (``SchemaError``, ``SQLStoreUnavailable``) and to the log
(``Health``: one line when the database stops answering and one when it is back)."""
from __future__ import annotations

import logging
import time
from typing import Optional

from backends.base import StoreError, StoreUnavailable

_log = logging.getLogger("respd.sql")

#: Seconds between two log lines about one store's availability (transitions within it are counted instead).
HEALTH_LOG_INTERVAL = 10.0


class SchemaError(StoreError):
    """The configured table or columns do not exist or have unusable types (raised by ``start()``)."""

    def __init__(self, store_id: str, reason: str):
        super().__init__(store_id, reason)
        self.store_id = store_id
        self.reason = reason

    def __str__(self) -> str:
        return "store %s: %s" % (self.store_id, self.reason)


class SQLStoreUnavailable(StoreUnavailable):
    """StoreUnavailable with a readable message (the server prints it when a store cannot start).

    ``reason`` goes to clients and never names the database's host or port; ``detail`` (the full text, for the
    log and for ``str()``) may. A reason containing "outcome unknown" means a write may or may not have been
    applied; any other reason means it was not."""

    def __init__(self, store_id: str, reason: str, detail: Optional[str] = None):
        super().__init__(store_id, reason)
        self.detail = detail or reason

    def __str__(self) -> str:
        return "store %s is unavailable: %s" % (self.store_id, self.detail)


class Health:
    """Logs when a store's database stops answering and when it is back: one line per transition, at most one
    line per ``HEALTH_LOG_INTERVAL`` seconds while it stays down or flaps (what happened meanwhile is counted in
    the next line). Lines name the store and the database's host and port (which replies to clients never do)."""

    __slots__ = ("store_id", "where", "down", "since", "failures", "logged_at", "logged_down", "flaps")

    def __init__(self, store_id: str, where: str):
        self.store_id = store_id
        self.where = where
        self.down = False
        self.since = 0.0
        self.failures = 0
        self.logged_at = -1e18
        self.logged_down = False  # the current outage was announced (so its end is too)
        self.flaps = 0  # outages neither announced nor reported since the last line

    def failed(self, detail: str) -> None:
        now = time.monotonic()
        self.failures += 1
        if not self.down:
            self.down, self.since, self.logged_down = True, now, False
        if now - self.logged_at < HEALTH_LOG_INTERVAL:
            return
        if not self.logged_down:
            extra = " (%d short outages since the last line)" % self.flaps if self.flaps else ""
            _log.warning("store %s: PostgreSQL at %s unavailable: %s%s", self.store_id, self.where, detail, extra)
            self.logged_down, self.flaps = True, 0
        else:
            _log.warning("store %s: PostgreSQL at %s still unavailable after %.0fs (%d operations failed): %s",
                         self.store_id, self.where, now - self.since, self.failures, detail)
        self.logged_at = now

    def ok(self) -> None:
        now = time.monotonic()
        self.down = False
        if self.logged_down:
            _log.warning("store %s: PostgreSQL at %s back after %.1fs (%d operations failed)", self.store_id,
                         self.where, now - self.since, self.failures)
            self.logged_at = now
        else:
            self.flaps += 1
        self.logged_down = False
        self.failures = 0
