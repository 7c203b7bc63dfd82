"""Lua scripting (EVAL, EVALSHA, SCRIPT), sans-I/O: ``runtime`` (the sandboxed Lua 5.1 state, the script cache by
SHA1, bounds), ``convert`` (Lua ↔ RESP as Redis 7.0 converts, the ``redis`` table), ``bitops`` (the ``bit``
library). No command is registered yet: the command family and the trio layer's BUSY handling come next."""
