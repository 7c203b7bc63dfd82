"""The catalogue: importing this module declares every command in ``respd.commands.table``.

The only place a new family is added. Whoever needs the populated table (dispatch, the permissions engine's
category lists, tools) imports this module; importing ``commands.table`` or ``commands.args`` alone does not.
"""
from __future__ import annotations

# in this order: COMMANDS keeps it, and ACL CAT and the ACL rule texts list commands in it
from . import strings, keys, connection, transactions, meta, server, acl, introspection, scripting, hashes, sets, lists, blocking, zsets, zranges, zalgebra, pubsub, tracking  # noqa: F401,I001
from .table import COMMANDS, LOOKUP  # noqa: F401
