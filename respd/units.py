"""Units and process facts: sizes, durations, the process's memory."""
from __future__ import annotations

import os
import resource


def rss() -> int:
    """The process's resident set size in bytes (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
