"""django-redis and ``limits`` (the rate limiter under Flask-Limiter and slowapi) on redis-server, a respd memory
store and a respd SQL store (issue 13).

django-redis' ``incr``/``decr`` run an EVAL and, when it fails, fall back to a TTL + GET + SET that is not atomic:
before issue 13, 4 threads × 300 ``incr`` ended at 702 on a memory store and 545 on a SQL store instead of 1200.
``limits``' fixed-window and sliding-window-counter strategies count in Lua scripts (EVALSHA): with several
threads hitting one limit, exactly the limit's number of hits may pass. The moving-window strategy (lists) is
tested in test_lists_zsets_clients.py.
"""
from __future__ import annotations

import threading

import pytest
from django.conf import settings
from limits import RateLimitItemPerHour
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter

from tests.integration.scripting_targets import sql_respd, target  # noqa: F401  (fixtures)

if not settings.configured:
    settings.configure(USE_TZ=True)

from django_redis.cache import RedisCache  # noqa: E402  (needs the settings above)

THREADS = 4
LONG = 60  # seconds: lock timeouts never expire during a test


@pytest.fixture
def cache(target):
    c = RedisCache(target.url, {"OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient",
                                            "SOCKET_TIMEOUT": 30}})
    yield c
    c.client.get_client().connection_pool.disconnect()


def in_threads(fn, n=THREADS):
    """Run ``fn(i)`` in ``n`` threads; the list of what each returned (exceptions are re-raised here)."""
    out = [None] * n
    errors = []

    def run(i):
        try:
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001  (re-raised below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return out


# ------------------------------------------------------------------------------------------------ django-redis
def test_django_incr_decr_exact_under_threads(cache):
    cache.set("n", 0, timeout=None)
    seen = in_threads(lambda i: [cache.incr("n") for _ in range(300)])
    assert cache.get("n") == 1200
    assert sorted(v for part in seen for v in part) == list(range(1, 1201))  # each saw a value of its own
    in_threads(lambda i: [cache.decr("n", 2) for _ in range(150)])
    assert cache.get("n") == 0


def test_django_incr_keeps_ttl_and_refuses_missing_keys(cache):
    cache.set("t", 10, timeout=100)
    assert cache.incr("t", 5) == 15
    assert cache.decr("t") == 14
    assert 50 < cache.ttl("t") <= 100  # kept (django-redis reads it only on its fallback path)
    with pytest.raises(ValueError):
        cache.incr("missing")
    assert cache.get("missing") is None


def test_django_lock(cache):
    with cache.lock("dl", timeout=LONG) as held:
        assert held.owned()
        assert cache.ttl("dl") > 0  # the lock is a key of the cache (django-redis prefixes its name)
        assert not cache.lock("dl", timeout=LONG).acquire(blocking=False)
    assert cache.lock("dl", timeout=LONG).acquire(blocking=False)


def test_django_lock_from_threads_guards_a_read_modify_write(cache):
    cache.set("guarded", 0, timeout=None)
    holders = [0]
    overlaps = []
    guard = threading.Lock()

    def work(i):
        for _ in range(25):
            with cache.lock("dlock", timeout=LONG, sleep=0.005, blocking_timeout=30):
                with guard:
                    holders[0] += 1
                    if holders[0] != 1:
                        overlaps.append(holders[0])
                cache.set("guarded", cache.get("guarded") + 1, timeout=None)
                with guard:
                    holders[0] -= 1

    in_threads(work)
    assert overlaps == []
    assert cache.get("guarded") == 100


# ------------------------------------------------------------------------------------------------ limits
STRATEGIES = {"fixed-window": FixedWindowRateLimiter, "sliding-window-counter": SlidingWindowCounterRateLimiter}


@pytest.fixture
def storage(target):
    s = RedisStorage(target.url, socket_timeout=30)
    yield s
    s.get_connection().connection_pool.disconnect()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_limits_window(storage, strategy):
    limiter = STRATEGIES[strategy](storage)
    item = RateLimitItemPerHour(5)  # an hour: no window ends during the test
    assert [limiter.hit(item, "user", "a") for _ in range(6)] == [True] * 5 + [False]
    assert limiter.test(item, "user", "a") is False
    assert limiter.get_window_stats(item, "user", "a").remaining == 0
    assert limiter.test(item, "user", "b") is True  # another identifier has its own count
    assert limiter.hit(item, "user", "b", cost=5) is True
    assert limiter.hit(item, "user", "b") is False
    limiter.clear(item, "user", "a")
    assert limiter.get_window_stats(item, "user", "a").remaining == 5
    assert limiter.hit(item, "user", "a") is True
    assert limiter.get_window_stats(item, "user", "a").remaining == 4


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_limits_exact_under_threads(storage, strategy):
    limiter = STRATEGIES[strategy](storage)
    item = RateLimitItemPerHour(100)
    passed = in_threads(lambda i: sum(limiter.hit(item, "busy") for _ in range(50)))
    assert sum(passed) == 100
    assert limiter.get_window_stats(item, "busy").remaining == 0
