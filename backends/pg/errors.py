"""How the database layer reports failures, and which errors mean that the connection (or the server) is gone.

``DatabaseUnavailable`` and ``OutcomeUnknown`` are what callers of ``backends.pg`` see when the database did not
answer; ``DATABASE_ERRORS`` is every exception a database operation may raise when it fails (psycopg's own errors
included); ``connection_lost`` tells a lost connection from a problem with one statement.
"""
from __future__ import annotations

import re
import psycopg
import trio
from psycopg import errors as pg_errors


class DatabaseUnavailable(Exception):
    """The database did not answer: no connection could be obtained (refused, unreachable, timed out, pool
    closed), or the connection was lost or timed out during a statement.

    Raised for a write, it means the write was NOT applied (see ``PgDatabase.run``), unless it is the subclass
    :class:`OutcomeUnknown`. ``reason`` is fit for clients (no host, port or socket path: see
    :func:`public_reason`); ``detail`` is the full text, for the log."""

    def __init__(self, db_id: str, reason: str):
        super().__init__(db_id, reason)
        self.db_id = db_id
        self.detail = reason
        self.reason = public_reason(reason)

    def __str__(self) -> str:
        return "database %s unavailable: %s" % (self.db_id, self.detail)


class OutcomeUnknown(DatabaseUnavailable):
    """The connection was lost, or the deadline passed, while a COMMIT was in flight: the write may or may not
    have been applied, and nothing can tell which before answering. ``reason`` says "outcome unknown"."""


_WHERE = re.compile(r'(?:connection failed: )?connection to server (?:at "[^"]*"(?: \([^)]*\))?, port \d+|on socket '
                    r'"[^"]*") failed: ')
_RESOLVE = re.compile(r"could not resolve host \S+")


def public_reason(text: str) -> str:
    """An error text without the database's host, port or socket path (libpq puts them in connection errors):
    clients are told that the database failed and why, the log says where."""
    return _RESOLVE.sub("could not resolve the database host", _WHERE.sub("connection to the database failed: ", text))



def one_line(ex: BaseException) -> str:
    """The first line of an exception's text (its class name when it has none)."""
    text = str(ex).strip().splitlines()
    return text[0] if text else type(ex).__name__


def is_timeout(ex: BaseException) -> bool:
    """Whether ex is a deadline that passed (trio's, or psycopg's wait timeout)."""
    return isinstance(ex, (trio.TooSlowError, pg_errors._WaitTimeout))


def connection_lost(ex: BaseException, conn=None) -> bool:
    """Whether ex means the connection (or the server) is gone, rather than a problem with one statement.
    ``conn``: the connection ex came from, if known (a closed one is lost whatever the error)."""
    if isinstance(ex, (DatabaseUnavailable, OSError, trio.TooSlowError, pg_errors._WaitTimeout)):
        return True
    if conn is not None and conn.closed:
        return True
    return isinstance(ex, (psycopg.OperationalError, psycopg.InterfaceError)) and not isinstance(
        ex, (pg_errors.TransactionRollback, pg_errors.QueryCanceled, pg_errors.LockNotAvailable))


def unavailable(db_id: str, ex: BaseException) -> DatabaseUnavailable:
    """ex as a DatabaseUnavailable of database db_id."""
    if isinstance(ex, DatabaseUnavailable):
        return ex
    if is_timeout(ex):
        return DatabaseUnavailable(db_id, "timed out")
    return DatabaseUnavailable(db_id, one_line(ex))


#: What a database operation raises when the database failed it: psycopg's errors (the statement's own included),
#: DatabaseUnavailable, socket errors and trio's deadline.
DATABASE_ERRORS = (psycopg.Error, DatabaseUnavailable, OSError, trio.TooSlowError)
