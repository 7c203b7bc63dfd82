"""Values with units, as the configuration and CONFIG SET spell them (memory sizes, durations), and the one
process fact they are compared with (the resident set size).

No respd imports: the registry (YAML settings), the App (CONFIG SET, maxmemory), the output-buffer limits
(``respd.outbuf``) and INFO/MEMORY read their sizes and durations here.
"""
from __future__ import annotations

import os
import re
import resource
from typing import Any, Optional

#: Redis' memory units (``memtoull``): k/m/g are powers of 1000, kb/mb/gb powers of 1024
MEMORY_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000 ** 2, b"mb": 1024 ** 2, b"g": 1000 ** 3,
                b"gb": 1024 ** 3}

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_BAD_DURATION = "must be a duration like \"30s\", \"5m\", \"1h\" or 0"


def parse_memory(value: bytes) -> Optional[int]:
    """Redis memory values: digits with an optional unit (k, kb, m, mb, g, gb); None when invalid."""
    v = value.strip().lower()
    i = len(v)
    while i and not v[i - 1:i].isdigit():
        i -= 1
    num, unit = v[:i], v[i:]
    if not num.isdigit() or unit not in MEMORY_UNITS:
        return None
    return int(num) * MEMORY_UNITS[unit]


def parse_duration(value: Any) -> float:
    """Seconds from 0, a number of seconds, or "500ms" / "30s" / "5m" / "1h" / "1d"; ValueError (the text says
    what is expected) otherwise."""
    if isinstance(value, bool):
        raise ValueError(_BAD_DURATION)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("must not be negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.fullmatch(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise ValueError(_BAD_DURATION)


def rss() -> int:
    """The process's resident set size in bytes (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
