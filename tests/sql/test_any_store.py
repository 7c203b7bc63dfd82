"""The suites every store kind must pass (tests/unit/any_store_*.py), on SQL stores: ``store_kind`` is ``"sql"``
here (tests/sql/conftest.py), so ``app``, ``session`` and ``make_store`` give stores in tables of the throwaway
PostgreSQL. tests/unit/test_any_store.py collects the same suites on memory stores.
"""
from tests.unit.any_store_dispatch import *  # noqa: F401,F403
from tests.unit.any_store_fast_path import *  # noqa: F401,F403
from tests.unit.any_store_introspection import *  # noqa: F401,F403
from tests.unit.any_store_keyspace import *  # noqa: F401,F403
from tests.unit.any_store_script_store import *  # noqa: F401,F403
from tests.unit.any_store_collections import *  # noqa: F401,F403
