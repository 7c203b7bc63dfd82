"""Sans-I/O request reader: bytes in, argument lists out. No sockets, no trio.

Usage::

    reader.feed(chunk)                 # at most one receive's worth (<= 64 KiB) at a time
    while batch := reader.drain():     # or: while (argv := reader.next()) is not None
        ...                            # argv: list[bytes], never empty
    # drain()/next() raise ProtocolError once the stream is malformed; requests before the bad frame come out first.

Modules: ``reference`` (Redis' framing, the one authority, and its limits), ``screens`` (what hiredis may read and
the checks of what it read), ``reader`` (``RequestReader``: hiredis over the screened receives, the reference parser
for everything else).
"""
from .reader import RequestReader
from .reference import split_inline, string2ll

__all__ = ["RequestReader", "split_inline", "string2ll"]
