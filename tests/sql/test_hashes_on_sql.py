"""tests/unit/test_hashes_any_store.py on SQL stores (``store_kind`` is ``"sql"`` here: tests/sql/conftest.py)."""
from tests.unit.test_hashes_any_store import *  # noqa: F401,F403
