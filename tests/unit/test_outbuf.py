"""respd.outbuf: client-output-buffer-limit parsing (Redis 7.0's rules and texts) and the hard/soft check."""
from __future__ import annotations

import pytest

from respd import errors, outbuf
from respd.outbuf import DEFAULTS, Limit


@pytest.mark.parametrize("value, expected", [
    (b"", DEFAULTS),
    (b"normal 1 2 3", (Limit(1, 2, 3),) + DEFAULTS[1:]),
    (b"NORMAL 1kb 2k 0 replica 1mb 1m 5", (Limit(1024, 2000, 0), Limit(1024 ** 2, 1000 ** 2, 5), DEFAULTS[2])),
    (b"slave 1 1 1 pubsub 1gb 1g 9", (DEFAULTS[0], Limit(1, 1, 1), Limit(1024 ** 3, 1000 ** 3, 9))),
    (b"normal 1 1 1 normal 2 2 2", (Limit(2, 2, 2),) + DEFAULTS[1:]),
])
def test_parse(value, expected):
    assert outbuf.parse(value) == expected


@pytest.mark.parametrize("value, error", [
    (b"normal 1 2", errors.OBUF_WRONG_COUNT),
    (b"normal 1 2 3 pubsub", errors.OBUF_WRONG_COUNT),
    (b"master 1 2 3", errors.OBUF_BAD_CLASS),
    (b"normal 1 2 3 bogus 1 2 3", errors.OBUF_BAD_CLASS),
    (b"normal 1x 2 3", errors.OBUF_BAD_VALUE),
    (b"normal 1 -2 3", errors.OBUF_BAD_VALUE),
    (b"normal 1 2 -3", errors.OBUF_BAD_VALUE),
    (b"normal 1 2 3a", errors.OBUF_BAD_VALUE),
])
def test_parse_errors_change_nothing(value, error):
    with pytest.raises(ValueError) as e:
        outbuf.parse(value)
    assert str(e.value) == error


def test_format_is_redis_config_get():
    assert outbuf.format_limits(DEFAULTS) == b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


def test_hard_limit_closes_at_once():
    assert outbuf.over(Limit(100, 0, 0), 99, 0.0, 10.0) == (False, 0.0)
    assert outbuf.over(Limit(100, 0, 0), 100, 0.0, 10.0) == (True, 0.0)


def test_soft_limit_needs_to_last_longer_than_its_seconds():
    lim = Limit(0, 100, 2)
    close, since = outbuf.over(lim, 150, 0.0, 10.0)
    assert (close, since) == (False, 10.0)                  # first seen over it
    assert outbuf.over(lim, 150, since, 12.0) == (False, 10.0)
    assert outbuf.over(lim, 150, since, 12.5) == (True, 10.0)
    assert outbuf.over(lim, 50, since, 11.0) == (False, 0.0)  # back under it: the clock restarts


def test_zero_means_no_limit():
    assert outbuf.over(Limit(0, 0, 0), 10 ** 12, 0.0, 1.0) == (False, 0.0)
