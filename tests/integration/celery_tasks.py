"""The Celery application of tests/integration/test_lists_zsets_celery.py: the worker process loads it with
``celery -A tests.integration.celery_tasks worker ...`` (its broker URL from RESPD_CELERY_BROKER), the test process
builds the same application with ``make_app(url)`` to send tasks.

The broker is Celery's Redis transport (kombu): a task message is LPUSHed on the queue's list and the worker takes
it with BRPOP; until the worker acknowledges it, the message sits in the ``unacked`` hash and its delivery tag in
the ``unacked_index`` sorted set (ZADD, then HDEL/ZREM on ack, ``ZRANGE ... BYSCORE REV LIMIT WITHSCORES`` when
restoring messages a dead worker left).

Results travel through Celery's ``rpc://`` backend: the worker publishes each result as a message on the client's
own reply queue (a list of the same broker, LPUSH) and the client takes it with BRPOP. Celery's Redis *result
backend* cannot be used yet: it stores a result with SET and PUBLISH in one MULTI, and waits for it with SUBSCRIBE;
respd has no pub/sub until issue 16.

Remote control and events are switched off (``worker_enable_remote_control``, ``worker_send_task_events``): both
are broadcast through fanout exchanges, which kombu's Redis transport carries over pub/sub (PUBLISH/SUBSCRIBE),
respd has none until issue 16. With them, the worker is started ``--without-gossip --without-mingle
--without-heartbeat`` (gossip, mingle and heartbeats are events/broadcasts too).
"""
from __future__ import annotations

import os

import redis
from celery import Celery


def make_app(broker_url: str) -> Celery:
    app = Celery("respd_celery_tests", broker=broker_url, backend="rpc://")
    app.conf.update(
        worker_enable_remote_control=False,  # pidbox: a fanout exchange, i.e. pub/sub (issue 16)
        worker_send_task_events=False,        # events: a fanout exchange too
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=4,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},  # nothing is restored during a test
        result_expires=600,
        task_acks_late=False,
    )

    @app.task(name="respd.add", shared=False)
    def add(x, y):
        return x + y

    @app.task(name="respd.record", shared=False)
    def record(key, value):
        """Push ``value`` on the list ``key`` of the broker's database: a result the client waits for with BLPOP."""
        with redis.Redis.from_url(broker_url) as r:
            return r.rpush(key, value)

    @app.task(name="respd.claim", shared=False, bind=True)
    def claim(self, key, n):
        """Record that this worker ran task ``n``: RPUSH "hostname n" on the list ``key``."""
        with redis.Redis.from_url(broker_url) as r:
            r.rpush(key, "%s %d" % (self.request.hostname, n))
        return n

    @app.task(name="respd.fail", shared=False)
    def fail(message):
        raise ValueError(message)

    @app.task(name="respd.flaky", shared=False, bind=True, max_retries=3, default_retry_delay=0)
    def flaky(self, key):
        """Fails twice, then succeeds: each try counted with INCR; each retry is a new message on the queue."""
        with redis.Redis.from_url(broker_url) as r:
            tries = r.incr(key)
        if tries < 3:
            raise self.retry(countdown=0)
        return tries

    return app


app = make_app(os.environ.get("RESPD_CELERY_BROKER", "redis://127.0.0.1:6379/0"))
