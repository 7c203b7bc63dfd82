"""SQL identifier validation, importable without psycopg (``respd --check-config`` uses it: keep this module free
of imports from the rest of the package)."""
from __future__ import annotations

import re

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def validate_identifier(name: str, allow_schema: bool = False) -> str:
    """Return name when it is a plain SQL identifier (``schema.table`` when allowed); ValueError otherwise."""
    parts = name.split(".") if allow_schema else [name]
    if len(parts) > 2 or not all(IDENTIFIER.match(p) for p in parts):
        raise ValueError("invalid identifier %r: use letters, digits and _ (at most 63, not starting with a digit)"
                         % name)
    return name
