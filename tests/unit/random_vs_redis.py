"""Seeded random command sequences run on a respd session (memory or SQL store, through dispatch) and on
redis-server side by side: the driver the family tests share (tests/unit/test_*_random_vs_redis.py)."""
from __future__ import annotations

import random
from typing import Awaitable, Callable, Optional

from tests.helpers import split_command


async def replay(seed: int, app, call, redis, steps: int, command: Callable[[random.Random], list],
                 fixed: Callable[[list, bytes], object], state: Callable[[Callable], Awaitable[list]],
                 skip: Optional[Callable[[list, Callable], Awaitable[bool]]] = None) -> None:
    """``steps`` commands drawn by ``command(rng)`` (half the seeds in RESP3), each reply compared after
    ``fixed(argv, reply)`` (what of it Redis fixes), then ``state(run)`` of both servers compared. ``skip(argv,
    theirs)`` leaves out a command whose effect Redis chooses at random."""
    rng = random.Random(seed)
    sess = app.new_session("127.0.0.1:40001", "127.0.0.1:6379", 1)
    client = redis.client()

    async def mine(argv):
        return await call(sess, argv)

    async def theirs(argv):
        return client.call(*split_command(argv))

    try:
        if rng.random() < 0.5:
            assert (await mine(["HELLO", "3"]))[:1] == (await theirs(["HELLO", "3"]))[:1] == b"%"
        history = []
        for _ in range(steps):
            argv = command(rng)
            if skip is not None and await skip(argv, theirs):
                continue
            want, got = await theirs(argv), await mine(argv)
            history.append((argv, want, got))
            assert fixed(argv, got) == fixed(argv, want), history[-6:]
        assert await state(mine) == await state(theirs), history
    finally:
        client.close()
