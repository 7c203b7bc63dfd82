"""The Celery application of tests/integration/test_pubsub_clients.py's Celery test: Redis as broker AND as result
backend, with Celery's defaults otherwise (remote control and gossip on). The Redis result backend stores a
result with SET and PUBLISH in one MULTI and the client waits for it with SUBSCRIBE; remote control and gossip are
fanout exchanges, which kombu's Redis transport carries over PUBLISH/PSUBSCRIBE. The worker loads it with
``celery -A tests.integration.celery_pubsub_tasks worker`` (its URL from RESPD_CELERY_URL)."""
from __future__ import annotations

import os

from celery import Celery


def make_app(url: str) -> Celery:
    app = Celery("respd_celery_pubsub", broker=url, backend=url)
    app.conf.update(worker_hijack_root_logger=False, broker_connection_retry_on_startup=True, result_expires=600)

    @app.task(name="respd.pubsub.add", shared=False)
    def add(x, y):
        return x + y

    return app


app = make_app(os.environ.get("RESPD_CELERY_URL", "redis://127.0.0.1:6379/0"))
