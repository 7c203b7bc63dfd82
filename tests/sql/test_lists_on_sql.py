"""The list tests that hold on every store kind (tests/unit/test_lists.py, test_lists_random_vs_redis.py) on SQL stores."""
from tests.unit.test_lists import *  # noqa: F401,F403
from tests.unit.test_lists_random_vs_redis import *  # noqa: F401,F403
