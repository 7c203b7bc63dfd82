"""Hash commands: HSET, HGET, HGETALL... (issue #14). Being written."""
from __future__ import annotations
