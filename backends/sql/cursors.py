"""SCAN cursors of a SQL store.

Pages are keyset pagination in key order over the primary key index (``WHERE key > last ORDER BY key LIMIT
count``): inserts and deletes never shift positions, so a full iteration returns every key present throughout,
exactly once. A key cannot be packed into a 64-bit cursor, so the cursor returned for a page is a number that maps
to the page's last key in a per-process table (bounded LRU of ``SCAN_CURSORS`` entries, numbers unique across
stores). A cursor that is not in the table (evicted, issued by another respd process, or before a restart)
restarts the iteration from the beginning: the client sees some keys twice but still sees every key, and the
iteration still terminates.
"""
from __future__ import annotations

import itertools
import random
from collections import OrderedDict
from typing import Any

#: Most SCAN cursors remembered per process (LRU); older ones restart their iteration.
SCAN_CURSORS = 10_000

# Cursor numbers are unique across stores so a cursor of one store is unknown (a restart) in another.
_cursor_numbers = itertools.count(random.randrange(1 << 20, 1 << 40))


class Cursors:
    """One store's cursors: cursor number -> the last key (as the SQL parameter) of the page that issued it."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: OrderedDict[int, Any] = OrderedDict()

    def position(self, cursor: int) -> Any:
        """The key after which the cursor's page starts; None to start from the beginning (cursor 0 or
        unknown)."""
        after = self._last.get(cursor) if cursor else None
        if after is not None:
            self._last.move_to_end(cursor)
        return after

    def issue(self, last: Any) -> int:
        """A new cursor for the page that ended with ``last``."""
        n = next(_cursor_numbers)
        self._last[n] = last
        if len(self._last) > SCAN_CURSORS:
            self._last.popitem(last=False)
        return n
