"""Replies larger than one send: a pipeline of GETs of big values streams out in pieces (FLUSH_AT) and arrives
complete and in order, on RESP2 and RESP3."""
from __future__ import annotations

import pytest
import redis


@pytest.mark.parametrize("protocol", [2, 3])
def test_pipelined_gets_of_big_values_arrive_whole(respd, protocol):
    with redis.Redis(port=respd.port, protocol=protocol) as c:
        big = bytes(range(256)) * 4096  # 1 MiB
        assert c.set("big", big)
        assert c.set("small", "s")
        pipe = c.pipeline(transaction=False)
        for i in range(60):
            pipe.get("big" if i % 3 else "small")
        replies = pipe.execute()
        assert replies == [big if i % 3 else b"s" for i in range(60)]
        assert c.ping()
