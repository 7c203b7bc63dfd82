"""The functions RQ jobs run in tests/integration/test_lists_zsets_clients.py (a worker process imports them by
name, so they live in a module of their own)."""
from __future__ import annotations

from rq import get_current_job


def add(x, y):
    return x + y


def note(key, text):
    """Write ``text`` at ``key`` through the worker's own connection: a side effect the test reads back."""
    get_current_job().connection.set(key, text)
    return key


def fail(message):
    raise ValueError(message)
