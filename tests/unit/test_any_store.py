"""The suites every store kind must pass, on memory stores (``store_kind`` of tests/conftest.py);
tests/sql/test_any_store.py collects the same suites on SQL stores. A suite is a module ``any_store_*.py`` of
tests and fixtures taking ``app``, ``session`` or ``make_store``; a star import collects all of it in both places.
"""
from tests.unit.any_store_dispatch import *  # noqa: F401,F403
from tests.unit.any_store_fast_path import *  # noqa: F401,F403
from tests.unit.any_store_introspection import *  # noqa: F401,F403
from tests.unit.any_store_keyspace import *  # noqa: F401,F403
from tests.unit.any_store_script_store import *  # noqa: F401,F403
from tests.unit.any_store_collections import *  # noqa: F401,F403
