"""PostgreSQL under trio: the only package that knows psycopg's internals.

Modules: ``connection`` (``TrioConnection``: psycopg's async connection driven by trio, and what others may ask
about a connection's state), ``pipeline`` (the stores' fast path: prepared statements in one libpq pipeline per
call, ``run_statements`` / ``execute``), ``pool`` (``PgDatabase``: the pool and the statement batcher, ``Merge``),
``errors`` (``DatabaseUnavailable``, ``OutcomeUnknown``, which failures mean the connection is gone), ``dsn``
(what a connection string designates). This package's ``__init__`` imports nothing.
"""
