"""Hostile glob patterns on a real respd (issue 11, item 3): with one key of 75 ``a``, ``KEYS a*a*...*a*b`` (32
stars) took exponential time in the backtracking regex respd used, pinning the CPU for good so that no other client
was ever served again (the bug class of Redis' CVE-2022-36021). KEYS, SCAN MATCH and ACL key patterns must answer,
and another client must be served meanwhile. The socket timeouts are hang guards, not performance bounds."""
from __future__ import annotations

from tests.helpers import RawClient, encode_command

HOSTILE = b"a*" * 32 + b"b"
KEY = b"a" * 75
GUARD = 60.0  # seconds: generous, a hang guard only


def test_hostile_keys_and_scan_answer_while_others_are_served(respd_factory):
    proc = respd_factory()
    with RawClient(proc.port, timeout=GUARD) as attacker, RawClient(proc.port, timeout=GUARD) as other:
        assert attacker.call("SET", KEY, "1") == b"+OK\r\n"
        requests = [("KEYS", HOSTILE), ("SCAN", "0", "MATCH", HOSTILE), ("KEYS", b"*" + HOSTILE),
                    ("SCAN", "0", "MATCH", b"*a" * 40 + b"*b", "COUNT", "1000"), ("KEYS", b"a*" * 500_000 + b"b")] * 3
        attacker.send(b"".join(encode_command(*r) for r in requests))
        # the other client's PING goes in while the attacker's pipeline is being served
        assert other.call("PING") == b"+PONG\r\n"
        replies = attacker.read_replies(len(requests))
        assert replies == [b"*0\r\n", b"*2\r\n$1\r\n0\r\n*0\r\n", b"*0\r\n", b"*2\r\n$1\r\n0\r\n*0\r\n",
                           b"*0\r\n"] * 3
        assert other.call("GET", KEY) == b"$1\r\n1\r\n"
        # the same patterns still match what they should
        assert attacker.call("SET", KEY + b"b", "1") == b"+OK\r\n"
        assert attacker.call("KEYS", HOSTILE) == b"*1\r\n$76\r\n" + KEY + b"b\r\n"


def test_hostile_acl_key_pattern(respd_factory):
    """An ACL key pattern is matched on every key a user's command names: the same bound applies."""
    proc = respd_factory()
    with RawClient(proc.port, timeout=GUARD) as admin, RawClient(proc.port, timeout=GUARD) as user, \
            RawClient(proc.port, timeout=GUARD) as other:
        assert admin.call("SET", KEY, "1") == b"+OK\r\n"
        assert admin.call("ACL", "SETUSER", "hostile", "on", "nopass", b"~" + HOSTILE, "+@all") == b"+OK\r\n"
        assert user.call("AUTH", "hostile", "x") == b"+OK\r\n"
        user.send(encode_command("GET", KEY) * 5)
        assert other.call("PING") == b"+PONG\r\n"
        for reply in user.read_replies(5):
            assert reply.startswith(b"-NOPERM ")
        assert user.call("SET", KEY + b"b", "2") == b"+OK\r\n"
