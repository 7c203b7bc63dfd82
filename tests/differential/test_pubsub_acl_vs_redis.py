"""Redis' channel permissions (``&pattern``, ``allchannels``, ``resetchannels``) beside a live redis-server 7.0.15:
PUBLISH, SPUBLISH, SUBSCRIBE and SSUBSCRIBE need every channel to match one of the user's patterns, PSUBSCRIBE
needs each pattern to equal one of them, UNSUBSCRIBE and its kin are never refused; refusals are the same NOPERM
text and the same ACL LOG entries (reason ``channel``). A user given +@all without channel rules may use no
channel, as a Redis 7 user created with the default ``acl-pubsub-default resetchannels``."""
from __future__ import annotations

import re

import pytest

from tests.differential.common import Pair, flush_both

USERS = {
    "alice": ["~*", "+@all"],
    "bob": ["~*", "+@all", "&news*", "&ex[ab]"],
    "carol": ["~*", "+@all", "allchannels"],
    "dave": ["~*", "+@all", "&*", "resetchannels", "&a?"],
}
COMMANDS = [["PUBLISH", "news.1", "hi"], ["PUBLISH", "other", "hi"], ["PUBLISH", "ab", "x"], ["SPUBLISH", "news", "x"],
            ["SUBSCRIBE", "news.2", "other"], ["SUBSCRIBE", "news.3"], ["PSUBSCRIBE", "news*"],
            ["PSUBSCRIBE", "news.*"], ["PSUBSCRIBE", "ex[ab]", "a?"], ["SSUBSCRIBE", "newsy"],
            ["UNSUBSCRIBE", "other"], ["PUNSUBSCRIBE", "zz"], ["SUNSUBSCRIBE", "q"]]
_NOISE = re.compile(rb"\$\d+\r\n(\d+\.\d+|id=[^\r]*)\r\n")


@pytest.mark.parametrize("user", sorted(USERS))
def test_channel_rules(redis, respd, user):
    flush_both(redis.port, respd.port)
    with Pair(redis.port, respd.port) as admin:
        for cmd in (["ACL", "SETUSER", user, "reset", "on", ">pw", *USERS[user]], ["ACL", "LOG", "RESET"],
                    ["ACL", "GETUSER", user]):
            expected, got = admin.run(cmd)
            assert got == expected, cmd
        for cmd in COMMANDS:
            with Pair(redis.port, respd.port) as pair:
                pair.run(["AUTH", user, "pw"])
                expected, got = pair.run(cmd)
                assert got == expected, (user, cmd)
        expected, got = admin.run(["ACL", "LOG", "20"])
        assert _NOISE.sub(b"<t>", got) == _NOISE.sub(b"<t>", expected)


@pytest.mark.parametrize("user", sorted(USERS))
def test_dryrun_names_the_channel(redis, respd, user):
    """ACL DRYRUN explains a channel refusal as Redis does ("... access the 'x' channel"); it said "run the 'b'x''
    command" before."""
    with Pair(redis.port, respd.port) as admin:
        expected, got = admin.run(["ACL", "SETUSER", user, "reset", "on", ">pw", *USERS[user]])
        assert got == expected
        for cmd in COMMANDS:
            expected, got = admin.run(["ACL", "DRYRUN", user, *cmd])
            assert got == expected, (user, cmd)
