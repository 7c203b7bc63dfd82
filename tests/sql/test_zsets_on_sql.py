"""The sorted set tests that hold on every store kind (tests/unit/test_zsets.py, test_zsets_random_vs_redis.py) on SQL
stores."""
from tests.unit.test_zsets import *  # noqa: F401,F403
from tests.unit.test_zsets_random_vs_redis import *  # noqa: F401,F403
