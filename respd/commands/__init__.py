"""Commands: the table (``table``), argument parsing (``args``), one module per family, and ``catalog``, which
loads every family into the table."""
