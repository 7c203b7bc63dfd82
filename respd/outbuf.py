"""``client-output-buffer-limit``, as Redis 7.0 defines it, without I/O: parsing, formatting and the check.

A limit per client class is ``hard soft soft_seconds``: a client whose pending output reaches ``hard`` bytes is
closed at once; one that stays at or above ``soft`` bytes for longer than ``soft_seconds`` is closed too; 0 turns a
limit off. Classes are ``normal``, ``replica`` (alias ``slave``, the name Redis replies with) and ``pubsub``;
respd has no replicas: ``normal`` and ``pubsub`` (clients holding subscriptions, ``respd.pubsub``) apply,
``replica`` is kept for CONFIG GET/SET.
Defaults are Redis 7.0's: ``normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60``.

What "pending output" means in respd (``net.client.Conn.pending``): the encoded replies respd holds for a client
because the kernel would not take them (the client does not read). Redis measures its reply list before writing,
respd after trying to send; and respd stops reading from a client while output is pending (see respd/net/client.py),
so pending output is bounded by about ``FLUSH_AT`` plus the biggest single reply even with ``normal 0 0 0``.
``check`` applies the limits to a client; the network layer calls it when a send blocks, and ``clients_cron``
every half second for the clients in ``App.obuf_watch`` (a blocked send, or pending output at a soft limit).
"""
from __future__ import annotations

import logging
from typing import NamedTuple

from .errors import OBUF_BAD_CLASS, OBUF_BAD_VALUE, OBUF_WRONG_COUNT
from .session import client_line
from .units import parse_memory

log = logging.getLogger("respd.connection")  # the name its log lines had before respd/net/

#: class index -> the name Redis replies with; every accepted spelling maps to an index
CLASS_NAMES = ("normal", "slave", "pubsub")
_CLASSES = {b"normal": 0, b"slave": 1, b"replica": 1, b"pubsub": 2}
NORMAL, REPLICA, PUBSUB = 0, 1, 2



class Limit(NamedTuple):
    hard: int          # bytes, 0 = none
    soft: int          # bytes, 0 = none
    seconds: float     # how long the soft limit may be exceeded


DEFAULTS = (Limit(0, 0, 0), Limit(256 * 1024 ** 2, 64 * 1024 ** 2, 60), Limit(32 * 1024 ** 2, 8 * 1024 ** 2, 60))


def parse(value: bytes, current: tuple = DEFAULTS) -> tuple:
    """The limits after applying ``value`` (``class hard soft seconds``, repeated) to ``current``.

    All or nothing, as Redis: ValueError carries Redis' text for the first problem; classes not named keep their
    limits; an empty value changes nothing."""
    words = value.split()
    if len(words) % 4:
        raise ValueError(OBUF_WRONG_COUNT)
    new = list(current)
    for i in range(0, len(words), 4):
        cls = _CLASSES.get(words[i].lower())
        if cls is None:
            raise ValueError(OBUF_BAD_CLASS)
        hard, soft, secs = parse_memory(words[i + 1]), parse_memory(words[i + 2]), words[i + 3]
        if hard is None or soft is None or not secs.isdigit():
            raise ValueError(OBUF_BAD_VALUE)
        new[cls] = Limit(hard, soft, int(secs))
    return tuple(new)


def format_limits(limits: tuple) -> bytes:
    """CONFIG GET's value: ``normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60``."""
    return b" ".join(b"%s %d %d %d" % (CLASS_NAMES[i].encode(), lim.hard, lim.soft, lim.seconds)
                     for i, lim in enumerate(limits))


def over(limit: Limit, used: int, since: float, now: float) -> tuple[bool, float]:
    """Redis' checkClientOutputBufferLimits: (close the client?, the new "soft limit reached since" time, 0 when
    below it). ``since`` is the time the client was first seen at or above the soft limit, 0 if not."""
    if limit.hard and used >= limit.hard:
        return True, since
    if limit.soft and used >= limit.soft:
        if not since:
            return False, now
        return now - since > limit.seconds, since
    return False, 0.0


def check(c, now: float) -> None:
    """Close client ``c`` (a ``net.client.Conn``) if its pending output is over ``client-output-buffer-limit``
    (the pubsub class for a client holding subscriptions, else the normal class; respd has no replicas), logging
    it as Redis does."""
    app = c.app
    limit = app.obuf_limits[PUBSUB if c.sess.subs is not None else NORMAL]
    if not (limit.hard or limit.soft) or c.sess.closing:
        return
    close, c.soft_since = over(limit, c.pending(), c.soft_since, now)
    if c.soft_since:
        app.obuf_watch.add(c)  # clients_cron closes it if it stays there
    if close:
        app.stat_obuf_disconnections += 1
        log.warning("Client %s closed for overcoming of output buffer limits.",
                    client_line(c.sess, now).decode("utf-8", "replace").rstrip("\n"))
        app.kill_client(c.sess)
