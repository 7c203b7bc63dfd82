"""The poller: an accelerator over the client loop (``net.client``) for plain TCP clients.

One task waits on an epoll set of every polled client's socket (one trio wait per round, whatever the number of
ready clients) and serves each ready client's received bytes with ``client.serve_chunk``, synchronously. A
client's own task (``client.client_loop``) takes over only when the chunk must wait (``finish_chunk``): a reply
that is a coroutine (SQL stores), a send that would block, a big reply, closing. What the poller saves is the
per-chunk trio wait of a task per client (an ``epoll_ctl``, a reschedule, a task switch); bench/README.md has
the figures.
"""
from __future__ import annotations

import logging
import select
import time

import trio

from ..pipeline import DROP, run_busy
from .client import READ, Conn, serve_chunk, start_plain
from .transport import RECV_SIZE, accepted

log = logging.getLogger("respd.connection")  # the name its log lines had before respd/net/
_now = time.time
_wait_readable = trio.lowlevel.wait_readable


class Poller:
    """Serves every polled client from one task: one trio wait on an epoll set of their sockets per round, then
    each ready client once (receive, run, send) in the order epoll reports them, so no client waits behind
    another's whole backlog. A client whose chunk needs to wait is handed to its own task (``next`` returns);
    if its socket turns readable meanwhile, it leaves the set until the task gives it back (``_mute``). A client's
    step is written out in ``run``'s loop, not in a method: one Python call less per chunk (bench/README.md)."""

    def __init__(self, app) -> None:
        self.app = app
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.listeners: list = []   # the plain TCP listening sockets, for the busy round (with ``nursery``)
        self.nursery = None         # where the busy round starts the tasks of the clients it admits
        #: during a round: the flushes of subscribers and monitors given output by the round (``client._monitor``),
        #: run at its end, so that each sends once per round without a task switch; None between rounds
        self.round = None

    def add(self, c: Conn) -> None:
        self.conns[c.fd] = c
        try:
            self.epoll.register(c.fd, select.EPOLLIN)
        except FileExistsError:  # a descriptor number reused before the kernel dropped the old registration
            self.epoll.modify(c.fd, select.EPOLLIN)

    def remove(self, c: Conn) -> None:
        if self.conns.get(c.fd) is c:
            del self.conns[c.fd]
            try:
                self.epoll.unregister(c.fd)
            except (OSError, ValueError):
                pass

    async def next(self, c: Conn) -> int:
        """Called by the client's task: the poller serves the client until a chunk needs its task; that chunk's
        outcome, for ``finish_chunk``."""
        c.sess.idle = True
        c.wake = trio.Event()
        c.handed = False
        if c.muted and self.conns.get(c.fd) is c:
            self.epoll.modify(c.fd, select.EPOLLIN)
            c.muted = False
        await c.wake.wait()
        return c.status

    def hand_over(self, c: Conn, status: int) -> None:
        c.status = status
        c.handed = True
        if status == DROP:
            # the client is gone: forget it now (INFO, CLIENT LIST, maxclients), not when its task next runs
            c.dead = True
            self.remove(c)
            c.app.end_session(c.sess)
        c.wake.set()

    def _mute(self, c: Conn) -> None:
        """A handed client's socket is readable (it pipelines more, or hung up): leave it out of the set until its
        task gives it back. Done only then, not at every hand-over, which saves two epoll_ctl calls per awaited
        chunk of a client that waits for its reply (a SQL store at depth 1)."""
        try:
            self.epoll.modify(c.fd, 0)
        except OSError:
            pass
        c.muted = True

    def close(self) -> None:
        self.epoll.close()

    def busy_round(self) -> None:
        """Serve the clients that are waiting while a script runs on this thread past busy-reply-threshold (its
        count hook calls this, through ``app.threads``, from inside the chunk that runs the script): each ready
        client's requests get ``-BUSY``, but for SCRIPT KILL, SHUTDOWN NOSAVE and Redis' other ``allow_busy``
        commands (``pipeline.run_busy``). The script's own client and the clients handed to their tasks wait."""
        scripts = self.app.scripts
        running = scripts.running if scripts is not None else None
        own = running.sess if running is not None else None
        now = _now()
        self._admit_waiting()
        for fd, _ in self.epoll.poll(0):
            c = self.conns.get(fd)
            if c is None or c.dead or c.handed or c.sess is own:
                continue
            try:
                try:
                    data = c.transport.sock.recv(RECV_SIZE)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.hand_over(c, DROP)
                    continue
                status = serve_chunk(c, data, now, run_busy)
                if status != READ:
                    self.hand_over(c, status)
            except Exception:  # one client's failure must not reach the script's client
                log.exception("connection handler failed")
                c.out.clear()
                self.hand_over(c, DROP)

    def _admit_waiting(self) -> None:
        """The busy round's accept: new clients (redis-cli sending SCRIPT KILL...) are admitted and served by the
        round; their tasks start when the script is over."""
        if self.nursery is None:
            return
        for listener in self.listeners:
            while True:
                try:
                    sock, _ = listener.accept()
                except OSError:  # BlockingIOError: none waiting; other failures are left to the accept loop
                    break
                accepted(sock)
                start_plain(self.app, sock, self.nursery)

    async def run(self) -> None:
        epfd = self.epoll.fileno()
        poll = self.epoll.poll
        conns = self.conns
        hand_over = self.hand_over
        try:
            app = self.app
            while True:
                await _wait_readable(epfd)
                if app.script_gate is not None:  # a script runs in a worker with exclusive access
                    await app.script_gate.wait()
                now = _now()
                self.round = flushes = []
                for fd, _ in poll(0):
                    c = conns.get(fd)
                    if c is None or c.dead:
                        continue
                    if c.handed:
                        if not c.muted:
                            self._mute(c)
                        continue
                    try:  # one client's step: receive, then serve_chunk
                        try:
                            data = c.transport.sock.recv(RECV_SIZE)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            hand_over(c, DROP)
                            continue
                        status = serve_chunk(c, data, now)
                        if status == READ:
                            continue
                        if c.dead and status != DROP:  # killed while its replies wait (output buffer limits)
                            continue
                        hand_over(c, status)
                    except Exception:  # one client's failure must not stop the poller that serves the others
                        log.exception("connection handler failed")
                        c.out.clear()
                        hand_over(c, DROP)
                self.round = None
                for flush in flushes:
                    try:
                        flush()
                    except Exception:
                        log.exception("connection handler failed")
        finally:
            self.round = None
            self.close()
