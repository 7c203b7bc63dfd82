"""Hash commands as command cases (the format of ``command_cases``), recorded from redis-server 7.0.15."""
from __future__ import annotations

HASHES: dict = {}
