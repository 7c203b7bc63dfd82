"""Worker threads for scripts that may wait on a SQL store (``respd.scriptcall``), and the hook that serves other
clients while a script runs on the server's thread past ``busy-reply-threshold``. The floors below see only this
object (``app.threads``), never trio."""
from __future__ import annotations

from typing import Any, Callable

import trio


class Threads:
    def __init__(self, app) -> None:
        self.app = app

    async def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in a worker thread; its result (or exception). Not abandoned on cancellation: a script
        always finishes (SCRIPT KILL, or the shutdown, stops it)."""
        return await trio.to_thread.run_sync(fn)

    @staticmethod
    def back(afn: Callable, *args) -> Any:
        """From the worker thread: run ``await afn(*args)`` on the server's thread, in the context of the task
        that started the worker (its store transaction included); its result or exception."""
        return trio.from_thread.run(afn, *args)

    @staticmethod
    def lock() -> trio.Lock:
        return trio.Lock()

    def on_slow(self) -> None:
        """Called by a script's count hook past the busy threshold, on the server's thread: let the poller
        answer the clients that are waiting (``Poller.busy_round``)."""
        poller = self.app.poller
        if poller is not None:
            poller.busy_round()
