"""Pub/Sub on one node against a live redis-server 7.0.15: the same conversation (a subscriber, a publisher, an
onlooker) is held with both servers in RESP2 and RESP3, and every reply each connection receives is compared byte
for byte: (un)subscribe confirmations, message and pmessage and smessage frames (arrays in RESP2, pushes in RESP3),
PUBLISH's receiver counts, PUBSUB's introspection, the RESP2 subscribed-mode refusals, PING and RESET in that mode,
and the unsubscribe-all replies when nothing is subscribed.

Where Redis answers in its hash-table order (an unsubscribe-all of several names, PUBSUB CHANNELS) the names are
compared sorted (and the counts in the order they came); everything else in order.
"""
from __future__ import annotations

import pytest

from tests.helpers import RawClient, encode_command, reply_end


def _sorted_items(reply: bytes) -> bytes:
    """An array reply with its elements sorted (PUBSUB CHANNELS lists in hash-table order)."""
    head = reply.index(b"\r\n") + 2
    items, i = [], head
    while i < len(reply):
        j = reply_end(reply, i)
        items.append(reply[i:j])
        i = j
    return reply[:head] + b"".join(sorted(items))


class Conversation:
    """Connections to one server; ``say(conn, *argv, n=1)`` sends a command and returns its ``n`` replies,
    ``hear(conn, n)`` the next ``n`` replies that arrive without a request (messages)."""

    def __init__(self, port: int, proto: str) -> None:
        self.conns = [RawClient(port) for _ in range(3)]
        for c in self.conns:
            if proto == "3":
                c.call("HELLO", "3")
        self.log: list = []

    def close(self) -> None:
        for c in self.conns:
            c.close()

    def say(self, i: int, *argv, n: int = 1, unordered: bool = False, sort_items: bool = False) -> None:
        c = self.conns[i]
        c.send(encode_command(*argv))
        replies = c.read_replies(n)
        if sort_items:
            replies = [_sorted_items(r) for r in replies]
        self._record(i, argv, replies, unordered)

    def hear(self, i: int, n: int, unordered: bool = False) -> None:
        self._record(i, ("(hear)",), self.conns[i].read_replies(n), unordered)

    def _record(self, i, argv, replies, unordered) -> None:
        if unordered:  # confirmations in hash-table order: which names, and the counts as they went down
            parts = [r[:-2].rsplit(b"\r\n", 1) for r in replies]
            replies = (sorted(p[0] for p in parts), [p[1] for p in parts])
        self.log.append((i, argv, replies))


def conversation(port: int, proto: str) -> list:
    """The whole exchange on one server; the log of (connection, request, replies)."""
    cv = Conversation(port, proto)
    sub, pub, look = 0, 1, 2
    try:
        cv.say(look, "PUBSUB", "NUMPAT")
        cv.say(sub, "UNSUBSCRIBE")              # nothing subscribed: one confirmation, null name, count 0
        cv.say(sub, "PUNSUBSCRIBE")
        cv.say(sub, "SUNSUBSCRIBE")
        cv.say(sub, "SUBSCRIBE", "ps:a", "ps:b", "ps:a", n=3)
        cv.say(sub, "PSUBSCRIBE", "ps:*", "h?llo", "[x]y", "ps:*", n=4)
        cv.say(pub, "PUBLISH", "ps:a", "one")   # channel + pattern: 2 deliveries
        cv.hear(sub, 2)
        cv.say(pub, "PUBLISH", "hello", "two")
        cv.hear(sub, 1)
        cv.say(pub, "PUBLISH", "xy", "")
        cv.hear(sub, 1)
        cv.say(pub, "PUBLISH", "nobody", "x")
        cv.say(pub, "EVAL", "return redis.call('publish', 'ps:a', 'from lua')", "0")  # a script publishes
        cv.hear(sub, 2)
        cv.say(pub, "EVAL", "return redis.call('subscribe', 'ps:a')", "0")
        cv.say(pub, "PUBLISH", "ps:b", b"\x00\r\n\xff binary")
        cv.hear(sub, 2)
        cv.say(sub, "PING")
        cv.say(sub, "PING", "arg")
        cv.say(sub, "GET", "k")                 # RESP2: refused; RESP3: answered
        cv.say(sub, "CONFIG", "GET", "maxmemory")
        cv.say(sub, "MULTI")
        if proto == "3":
            cv.say(sub, "DISCARD")
        cv.say(sub, "SSUBSCRIBE", "ps:s1", "ps:s2", n=2)
        cv.say(pub, "SPUBLISH", "ps:s1", "shard")
        cv.hear(sub, 1)
        cv.say(pub, "PUBLISH", "ps:s1", "not a shard message")  # the pattern ps:* hears it, the shard channel not
        cv.hear(sub, 1)
        cv.say(pub, "SPUBLISH", "ps:a", "x")   # a channel name is no shard channel
        cv.say(look, "PUBSUB", "NUMSUB", "ps:a", "ps:b", "ps:none")
        cv.say(look, "PUBSUB", "NUMSUB")
        cv.say(look, "PUBSUB", "NUMPAT")
        cv.say(look, "PUBSUB", "CHANNELS", "ps:*", sort_items=True)
        cv.say(look, "PUBSUB", "CHANNELS", "ps:[a]")
        cv.say(look, "PUBSUB", "SHARDCHANNELS", "ps:*", sort_items=True)
        cv.say(look, "PUBSUB", "SHARDNUMSUB", "ps:s1", "ps:a")
        cv.say(look, "PUBSUB", "HELP")
        cv.say(look, "PUBSUB", "CHANNELS", "a", "b")
        cv.say(look, "PUBSUB", "NUMPAT", "x")
        cv.say(look, "PUBSUB", "NOPE")
        cv.say(look, "PUBSUB")
        cv.say(look, "SUBSCRIBE")
        cv.say(look, "PUBLISH", "x")
        # RESP3: a subscriber publishing to itself gets the message before PUBLISH's reply
        if proto == "3":
            cv.say(sub, "PUBLISH", "ps:a", "self", n=3)
        cv.say(sub, "UNSUBSCRIBE", "ps:b", "ps:never", n=2)
        cv.say(sub, "PUNSUBSCRIBE", "[x]y")
        cv.say(sub, "PUNSUBSCRIBE", n=2, unordered=True)
        cv.say(sub, "SUNSUBSCRIBE", n=2, unordered=True)
        cv.say(sub, "PING")                     # still subscribed to ps:a
        cv.say(sub, "UNSUBSCRIBE")
        cv.say(sub, "UNSUBSCRIBE")
        cv.say(sub, "PING")                     # no longer subscribed: the plain form
        cv.say(sub, "GET", "k")
        cv.say(look, "PUBSUB", "NUMPAT")
        cv.say(look, "PUBSUB", "CHANNELS", "ps:*")
        # RESET leaves subscribed mode without confirmations
        cv.say(sub, "SUBSCRIBE", "ps:r")
        cv.say(sub, "PSUBSCRIBE", "ps:r*")
        cv.say(sub, "RESET")
        cv.say(pub, "PUBLISH", "ps:r", "x")
        cv.say(sub, "GET", "k")
        # inside MULTI: SUBSCRIBE is queued and runs in EXEC, SSUBSCRIBE is refused there
        cv.say(look, "MULTI")
        cv.say(look, "SUBSCRIBE", "ps:m")
        cv.say(look, "SSUBSCRIBE", "ps:ms")
        cv.say(look, "EXEC")
        cv.say(pub, "PUBLISH", "ps:m", "after exec")
        cv.hear(look, 1)
        cv.say(look, "QUIT")
        return cv.log
    finally:
        cv.close()


@pytest.mark.parametrize("proto", ["2", "3"])
def test_pubsub_conversation_matches_redis(redis, respd, proto):
    expected = conversation(redis.port, proto)
    got = conversation(respd.port, proto)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert g == e


def test_info_and_client_list_counts(redis, respd):
    def look(port):
        with RawClient(port) as sub, RawClient(port) as other:
            sub.call("SUBSCRIBE", "ps:i1")
            sub.call("SUBSCRIBE", "ps:i2")
            sub.call("PSUBSCRIBE", "ps:p*")
            sub.call("SSUBSCRIBE", "ps:s")
            info = other.call("INFO", "stats").decode()
            stats = [ln for ln in info.split("\r\n") if ln.startswith(("pubsub_", "pubsubshard_"))]
            line = other.call("CLIENT", "LIST").decode()
            mine = [ln for ln in line.split("\n") if "cmd=ssubscribe" in ln][0]
            fields = [f for f in mine.split() if f.split("=")[0] in ("flags", "sub", "psub", "ssub", "multi")]
            return stats, fields
    assert look(respd.port) == look(redis.port)


def test_client_list_and_kill_by_type(redis, respd):
    def look(port):
        with RawClient(port) as sub, RawClient(port) as plain, RawClient(port) as other:
            sub.call("CLIENT", "SETNAME", "subscriber")
            plain.call("CLIENT", "SETNAME", "plain")
            sub.call("SUBSCRIBE", "ps:t")
            names = {}
            for kind in ("normal", "pubsub", "replica", "master"):
                text = other.call("CLIENT", "LIST", "TYPE", kind).decode()
                names[kind] = sorted(f[5:] for ln in text.split("\n") for f in ln.split() if f.startswith("name="))
            killed = other.call("CLIENT", "KILL", "TYPE", "pubsub")
            gone = sub.is_closed()
            return names, killed, gone, other.call("PUBSUB", "NUMSUB", "ps:t")
    assert look(respd.port) == look(redis.port)


def test_shard_channels_are_not_keys(redis, respd):
    """SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH declare their channels with a not_key key spec (COMMAND INFO shows it), but
    key extraction leaves them out: COMMAND GETKEYS finds no keys and ACL key patterns do not apply to them."""
    def look(port):
        with RawClient(port) as admin, RawClient(port) as user:
            out = [admin.call("COMMAND", "GETKEYS", "SPUBLISH", "ch", "m"),
                   admin.call("COMMAND", "GETKEYS", "SSUBSCRIBE", "a", "b"),
                   admin.call("COMMAND", "GETKEYSANDFLAGS", "SUNSUBSCRIBE", "a"),
                   admin.call("ACL", "SETUSER", "ps-user", "on", ">pw", "~foo*", "&*", "+@all")]
            out.append(user.call("AUTH", "ps-user", "pw"))
            out.append(user.call("SPUBLISH", "bar", "x"))
            out.append(user.call("GET", "bar"))
            out.append(user.call("SSUBSCRIBE", "bar"))
            out.append(admin.call("ACL", "DELUSER", "ps-user"))
            return out
    assert look(respd.port) == look(redis.port)


@pytest.mark.parametrize("mode", ["OFF", "SKIP"])
def test_client_reply_off_does_not_silence_pubsub(redis, respd, mode):
    """Confirmations and messages are pushes: CLIENT REPLY OFF/SKIP does not silence them (Redis'
    CLIENT_PUSHING); the replies around them are silenced as usual."""
    def look(port):
        with RawClient(port) as sub, RawClient(port) as pub:
            sub.send(encode_command("CLIENT", "REPLY", mode) + encode_command("SUBSCRIBE", "ps:off")
                     + encode_command("PING"))
            first = sub.read_reply()  # the confirmation
            pub.call("PUBLISH", "ps:off", "m")
            sub.send(encode_command("PING", "last"))
            rest = sub.read_reply()  # the message (PING's reply is silenced in OFF mode, not in SKIP's second)
            if mode == "SKIP":
                rest += sub.read_reply()
            return first, rest
    assert look(respd.port) == look(redis.port)


@pytest.mark.parametrize("proto", ["2", "3"])
def test_pipelined_in_one_write(redis, respd, proto):
    """Subscribing, refused and allowed commands, messages to itself and leaving, all in one received chunk."""
    cmds = [["HELLO", proto], ["SUBSCRIBE", "ps:p1", "ps:p2"], ["PING"], ["GET", "k"], ["PUBLISH", "ps:p1", "me"],
            ["UNSUBSCRIBE", "ps:p1"], ["PSUBSCRIBE", "ps:*"], ["UNSUBSCRIBE"], ["PUNSUBSCRIBE"], ["GET", "k"],
            ["PING"]]

    def look(port):
        with RawClient(port) as c:
            c.send(b"".join(encode_command(*cmd) for cmd in cmds))
            c.send(encode_command("ECHO", "end"))
            replies = []
            while not replies or replies[-1] != b"$3\r\nend\r\n":
                replies.append(c.read_reply())
            return replies[1:]  # HELLO's map differs (server version, id)
    assert look(respd.port) == look(redis.port)
