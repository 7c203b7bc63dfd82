"""Registry channel policies (issue 16): ``pubsub.publish`` (PUBLISH, SPUBLISH) and ``pubsub.subscribe``
(SUBSCRIBE, SSUBSCRIBE, PSUBSCRIBE) with channel names or fnmatch patterns as resources. A registry user may use only
the channels its policies allow; a PSUBSCRIBE pattern must be allowed as written. Before, registry users could use
every channel."""
from __future__ import annotations

import pytest

from respd import errors
from respd.registry import ConfigError
from tests.unit.acl_cases import build, policy, run, session, user

NOPERM_CHANNEL = b"-" + errors.NOPERM_CHANNEL.encode() + b"\r\n"


@pytest.fixture
def app(tmp_path):
    return build(tmp_path, [
        user("pub", groups=["apps"]), user("sub", groups=["apps"]), user("none"), user("admin"),
        policy("admin-all", ["*"], ["*"], users=["admin"]),
        policy("data", ["store.get", "store.key.*"], ["*"], groups=["apps"], users=["none"]),
        policy("news-out", ["pubsub.publish"], ["news.*", "alerts"], users=["pub"]),
        policy("news-in", ["pubsub.subscribe"], ["news.*"], users=["sub"]),
        policy("no-secret", ["pubsub.*"], ["news.secret*"], effect="deny", groups=["apps"]),
    ])


@pytest.mark.parametrize("who, argv, allowed", [
    ("pub", ["PUBLISH", "news.sport", "m"], True),
    ("pub", ["PUBLISH", "alerts", "m"], True),
    ("pub", ["SPUBLISH", "news.x", "m"], True),
    ("pub", ["PUBLISH", "weather", "m"], False),
    ("pub", ["PUBLISH", "news.secret.1", "m"], False),   # a deny wins
    ("pub", ["SUBSCRIBE", "news.sport"], False),         # publishing is not subscribing
    ("sub", ["PUBLISH", "news.sport", "m"], False),
    ("sub", ["SUBSCRIBE", "news.a", "news.b"], True),
    ("sub", ["SUBSCRIBE", "news.a", "weather"], False),  # every channel must be allowed
    ("sub", ["SSUBSCRIBE", "news.a"], True),
    ("sub", ["PSUBSCRIBE", "news.*"], True),             # the pattern as written
    ("sub", ["PSUBSCRIBE", "news.a*"], False),           # not a resource as written: refused (as Redis' &rules)
    ("sub", ["PSUBSCRIBE", "*"], False),
    ("sub", ["SUBSCRIBE", "news.secret"], False),
    ("none", ["PUBLISH", "news.sport", "m"], False),     # policies on data only: no channel
    ("none", ["SUBSCRIBE", "x"], False),
])
def test_channel_policies(app, who, argv, allowed):
    s = session(app, who)
    reply = run(s, *argv)
    if allowed:
        assert not reply.startswith(b"-"), reply
    else:
        assert reply == NOPERM_CHANNEL
    admin = session(app, "admin")
    dry = run(admin, "ACL", "DRYRUN", who, *argv)
    if allowed:
        assert dry == b"+OK\r\n"
    else:
        assert dry.startswith(b"$") and b"channel" in dry


def test_refusals_are_counted_and_logged(app):
    s = session(app, "pub")
    assert run(s, "PUBLISH", "weather", "m") == NOPERM_CHANNEL
    admin = session(app, "admin")
    log = run(admin, "ACL", "LOG", "1")
    assert b"$7\r\nchannel\r\n" in log and b"$7\r\nweather\r\n" in log
    assert b"acl_access_denied_channel:1" in run(admin, "INFO", "stats")


def test_a_star_policy_user_may_use_every_channel(tmp_path):
    app = build(tmp_path, [user("all"), policy("everything", ["*"], ["*"], users=["all"])])
    s = session(app, "all")
    assert run(s, "PUBLISH", "anything", "m") == b":0\r\n"


def test_channel_resources_need_no_store(tmp_path):
    """A policy of channel actions only names channels: they are not checked against the store ids (a policy
    naming a missing store is an error otherwise)."""
    build(tmp_path, [user("u"), policy("p", ["pubsub.publish"], ["orders"], users=["u"])])
    with pytest.raises(ConfigError):
        build(tmp_path, [user("u"), policy("p", ["store.key.get"], ["orders"], users=["u"])])


def test_a_user_restricted_on_channels_only_keeps_the_direct_path(tmp_path):
    """``~* +@all`` without ``&*`` (Redis 7's default for a new user) is checked on Pub/Sub commands only: its data
    commands keep the pipeline's direct path (they took the checked path for every command before)."""
    from respd.pipeline import is_plain
    app = build(tmp_path)
    admin = session(app)
    assert run(admin, "ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all") == b"+OK\r\n"
    s = session(app, "app")
    assert is_plain(s, app)
    assert run(s, "SET", "k", "v") == b"+OK\r\n"
    assert run(s, "PUBLISH", "ch", "m") == NOPERM_CHANNEL
    assert run(admin, "ACL", "SETUSER", "app", "&ch") == b"+OK\r\n"
    assert run(s, "PUBLISH", "ch", "m") == b":0\r\n"
    assert run(admin, "ACL", "SETUSER", "app", "-get") == b"+OK\r\n"
    assert not is_plain(s, app)
    assert run(s, "GET", "k").startswith(b"-NOPERM")
