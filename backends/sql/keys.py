"""How Redis keys (bytes) travel to and from a SQL store's key column.

A VARCHAR(n) or TEXT column holds keys that are UTF-8 without NUL, at most n characters: any other key is refused
with ``InvalidKey`` before any SQL runs. A BYTEA column holds any bytes. Either way the column's order (UTF-8 byte
order equals code point order) is the order in which writers lock rows.
"""
from __future__ import annotations

from typing import Optional, Union

from backends.base import InvalidKey
from backends.glob import literal_prefix

#: ``KeyColumn.like`` when no key of the column can match the pattern.
NO_MATCH = object()


class KeyColumn:
    """The key column of one store: ``type`` is "varchar", "text" or "bytea"; ``max`` the VARCHAR length limit
    in characters (None: unlimited)."""

    __slots__ = ("store_id", "type", "max", "bytea")

    def __init__(self, store_id: str, type_: str = "varchar", max_: Optional[int] = 255):
        self.store_id = store_id
        self.type = type_
        self.max = max_
        self.bytea = type_ == "bytea"

    def param(self, key: bytes) -> Union[str, bytes]:
        """The SQL parameter for a key; InvalidKey when the column cannot hold it."""
        if self.bytea:
            return bytes(key)
        try:
            s = key.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidKey(self.store_id, "key is not valid UTF-8 (the key column is %s)" % self.type.upper()) \
                from None
        if "\x00" in s:
            raise InvalidKey(self.store_id, "key contains a NUL byte (the key column is %s)" % self.type.upper())
        if self.max is not None and len(s) > self.max:
            raise InvalidKey(self.store_id, "key is longer than %d characters (the key column is VARCHAR(%d))"
                             % (self.max, self.max))
        return s

    @staticmethod
    def key(k: Union[str, bytes]) -> bytes:
        """A key read from the column, as bytes."""
        return k.encode("utf-8") if isinstance(k, str) else bytes(k)

    def like(self, pattern: bytes):
        """A LIKE pattern selecting the keys that start with the glob's literal prefix: None when the glob has
        none (every key may match), ``NO_MATCH`` when no key of the column can match."""
        prefix = literal_prefix(pattern)  # a regex scan: a long pattern must not cost a Python loop per byte
        if not prefix:
            return None
        if self.bytea:
            return _like_escape(prefix)
        try:
            text = prefix.decode("utf-8")
        except UnicodeDecodeError as ex:
            if ex.reason != "unexpected end of data":
                return NO_MATCH  # invalid UTF-8 inside the prefix: no key of a text column can match
            text = prefix[:ex.start].decode("utf-8")  # a character cut by a wildcard: keep what precedes
        return _like_escape(text) if text else None


def _like_escape(prefix):
    esc = "\\" if isinstance(prefix, str) else b"\\"
    for ch in ("\\", "%", "_") if isinstance(prefix, str) else (b"\\", b"%", b"_"):
        prefix = prefix.replace(ch, esc + ch)
    return prefix + ("%" if isinstance(prefix, str) else b"%")
