"""The command table (``COMMANDS``), filled by importing every command family module."""
from .table import COMMANDS, Command, KeySpec  # noqa: F401
from . import strings, keys, connection, transactions, server, acl  # noqa: F401,E402
from . import introspection  # noqa: F401,E402  (MONITOR, MEMORY, OBJECT)
