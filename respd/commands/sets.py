"""Set commands: SADD, SREM, SMEMBERS... (issue #14). Being written."""
from __future__ import annotations
