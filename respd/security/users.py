"""Authentication: who a connection is (AUTH, HELLO AUTH, RESET), and what a failed login costs the guesser.

``Auth`` (``app.auth``) holds the user table (name → ``User``) and logs sessions in: ``login`` sets
``sess.user``, ``sess.authenticated`` and ``sess.permissions`` (the user's compiled ``Permissions``, None = allowed
everything) or raises ``AuthFailure`` (WRONGPASS) leaving the session as it was. A failed login is counted (INFO
``auth_failures``), recorded in ACL LOG through the ``on_failure`` hook the app's security object installs, written
to the server log through the rate-limited ``FailureLog``, and, past ``FREE_FAILURES`` on one connection, answered
only after ``failure_delay`` seconds (``answer_failure``).
"""
from __future__ import annotations

import logging
import time
import weakref
from typing import Optional

from .. import errors
from ..errors import CommandError
from .model import User

log = logging.getLogger("respd.auth")


class AuthFailure(CommandError):
    """WRONGPASS for a failed AUTH / HELLO AUTH, with the delay its reply is owed (seconds, 0 = answer at once)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(errors.WRONGPASS)
        self.delay = delay


#: failed AUTHs a connection may make before the replies to its further failures are delayed
FREE_FAILURES = 3


class Auth:
    """The user table and the login logic shared by AUTH and HELLO.

    A failed login is counted (INFO ``auth_failures``), recorded in ACL LOG (``on_failure``), reported through the
    rate-limited ``FailureLog``, and, past ``FREE_FAILURES`` on one connection, answered only after
    ``failure_delay`` seconds: the handler returns a coroutine that sleeps in that client's own task
    (``answer_failure``), so other clients are served meanwhile and the client's later requests wait their turn."""

    def __init__(self, failure_delay: float = 1.0) -> None:
        self.users: dict[str, User] = {"default": User("default", nopass=True)}
        self.failures = 0
        self.on_failure = None   # security.runtime records failed AUTHs in ACL LOG through this hook
        self.failure_log = FailureLog()
        self.failure_delay = failure_delay
        self.sleep = None        # an async sleep(seconds) while the server runs (trio.sleep), else no delay
        self._conn_failures: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # session -> failures

    def default_open(self) -> bool:
        """True when new connections are authenticated as ``default`` without AUTH."""
        d = self.users.get("default")
        return d is not None and d.enabled and d.nopass

    def attach_default(self, sess) -> None:
        d = self.users.get("default")
        sess.user = "default"
        sess.authenticated = self.default_open()
        sess.permissions = d.permissions if d is not None else None

    def login(self, sess, username: bytes, password: bytes, one_arg: bool = False) -> None:
        """Authenticate sess as username, or raise AuthFailure (WRONGPASS; the session keeps its current user)."""
        if one_arg:
            d = self.users.get("default")
            if d is not None and d.nopass:
                raise CommandError(errors.AUTH_NO_PASSWORD)
        name = username.decode("utf-8", "surrogateescape")
        user = self.users.get(name)
        if user is None or not user.enabled or not user.check_password(password):
            self.failures += 1
            self.failure_log.failed(getattr(sess, "addr", "?"), name)
            if self.on_failure is not None:
                self.on_failure(sess, name)
            n = self._conn_failures.get(sess, 0) + 1
            self._conn_failures[sess] = n
            raise AuthFailure(self.failure_delay if n > FREE_FAILURES else 0.0)
        sess.user = user.name
        sess.authenticated = True
        sess.permissions = user.permissions

    def answer_failure(self, sess, e: CommandError):
        """What a handler gives back for a failed login: re-raises ``e`` at once, or returns a coroutine raising it
        after the delay the connection is owed (dispatch maps either to the error reply). No delay once the server
        is shutting down, so that a guesser's pipeline does not hold the shutdown until its grace period ends."""
        delay = getattr(e, "delay", 0.0)
        if not delay or self.sleep is None or getattr(sess.app, "draining", False):
            raise e
        return self._answer_later(e, delay)

    async def _answer_later(self, e: CommandError, delay: float):
        await self.sleep(delay)
        raise e

    def reset(self, sess) -> None:
        self.attach_default(sess)

    def find(self, name: str) -> Optional[User]:
        return self.users.get(name)


class FailureLog:
    """Failed AUTHs in the server log, bounded: a guesser must not be able to fill the disk.

    The first failure from a host (the client address without its port) is logged on its own WARNING line; further
    failures from that host are only counted, and every ``interval`` seconds (``flush``, run by the server) each
    such host gets one line: ``N failed AUTH attempts from HOST in the last S s (users: ...)``. A host with no
    failure during a whole interval is forgotten, so its next failure is logged in full again. At most
    ``max_hosts`` hosts are tracked per interval; failures from further hosts are counted together on one line.
    So the log grows by at most about ``2 * max_hosts + 1`` lines per interval, whatever the guessing rate;
    a last ``flush`` at shutdown reports what is still counted."""

    MAX_USERS = 3   # user names quoted per summary line

    def __init__(self, interval: float = 60.0, max_hosts: int = 256, clock=time.monotonic,
                 logger: logging.Logger = log) -> None:
        self.interval = interval
        self.max_hosts = max_hosts
        self.clock = clock
        self.log = logger
        self.hosts: dict = {}            # host -> [failures since its last line, time of that line, {user: n}]
        self.others = [0, 0.0, {}]       # failures from hosts beyond max_hosts, same shape
        self.next_flush = clock() + interval

    @staticmethod
    def host_of(addr: str) -> str:
        if addr.startswith("["):
            return addr[1:addr.find("]")]
        host, sep, port = addr.rpartition(":")
        return host if sep and port.isdigit() else addr

    def failed(self, addr: str, user: str) -> None:
        now = self.clock()
        if now >= self.next_flush:
            self.flush()
        host = self.host_of(addr)
        rec = self.hosts.get(host)
        if rec is None and len(self.hosts) < self.max_hosts:
            self.hosts[host] = [0, now, {}]
            self.log.warning("failed AUTH for user %s from %s (further failures from %s are counted and "
                             "reported every %d s)", _shown(user), addr, host, self.interval)
            return
        if rec is None:
            rec = self.others
            if not rec[0]:
                rec[1] = now
        rec[0] += 1
        users = rec[2]
        if user in users or len(users) < self.MAX_USERS:
            users[user] = users.get(user, 0) + 1

    def flush(self) -> None:
        """One summary line per host with failures counted since its last line; hosts without any are dropped."""
        now = self.clock()
        self.next_flush = now + self.interval
        for host, rec in list(self.hosts.items()):
            if rec[0]:
                self._summary(rec, "from " + host, now)
            else:
                del self.hosts[host]
        if self.others[0]:
            self._summary(self.others, "from other addresses (more than %d hosts failed)" % self.max_hosts, now)

    def _summary(self, rec: list, source: str, now: float) -> None:
        users = ", ".join("%s (%d)" % (_shown(u), n) for u, n in rec[2].items())
        more = sum(rec[2].values()) < rec[0]
        self.log.warning("%d failed AUTH attempts %s in the last %d s (users: %s%s)", rec[0], source,
                         max(1, round(now - rec[1])), users, ", ..." if more else "")
        rec[0], rec[1], rec[2] = 0, now, {}

    async def run(self, sleep) -> None:
        """Flush every interval until cancelled; a last flush on the way out (shutdown) reports what is left."""
        try:
            while True:
                await sleep(max(0.0, self.next_flush - self.clock()))
                if self.clock() >= self.next_flush:
                    self.flush()
        finally:
            self.flush()


def _shown(name: str) -> str:
    """A user name for the log: repr-quoted (no control characters reach the log) and cut to 64 characters."""
    return repr(name) if len(name) <= 64 else repr(name[:64]) + "...(%d chars)" % len(name)

