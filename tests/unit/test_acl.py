"""The permission engine without sockets: Redis rules (SETUSER parsing, ACL LIST text, errors), key/command checks
through ``dispatch.execute``, registry policies (validation, conditions, deny-over-allow, stores), glob patterns.

Apps are built from registry YAML with ``respd.server.make_app`` (memory stores), sessions talk through
``dispatch.execute`` and replies are compared as encoded bytes, exactly what a client would receive (the helpers
are in ``acl_cases.py``).
"""
from __future__ import annotations

import pytest

from respd import errors
from respd.security import engine, model
from respd.registry import ConfigError
from tests.unit.acl_cases import NOPERM_KEY, build, noperm_cmd, policy, run, session, user


@pytest.fixture
def app(tmp_path):
    """The embedded-like app: no security configuration, default user allowed everything."""
    return build(tmp_path)


@pytest.fixture
def admin(app):
    return session(app)


# ===================================================================================== Redis rules and ACL LIST
@pytest.mark.parametrize("rules, line", [
    ([], b"user u off resetchannels -@all"),
    (["on", "nopass", "~*", "&*", "+@all"], b"user u on nopass ~* &* +@all"),
    (["+@all", "-@write", "+set"], b"user u off resetchannels +@all -@write +set"),
    (["-@all", "+@read", "-get"], b"user u off resetchannels -@all +@read -get"),
    (["allcommands", "allkeys", "on", "nopass"], b"user u on nopass ~* resetchannels +@all"),
    (["on", "nopass", "~a*", "+get", "(~b* +set)"],
     b"user u on nopass ~a* resetchannels -@all +get (~b* resetchannels -@all +set)"),
    (["on", "nopass", "~a*", "+get", "(~b*", "+set)"],
     b"user u on nopass ~a* resetchannels -@all +get (~b* resetchannels -@all +set)"),
    (["~app:*", "%R~ro:*", "%W~wo:*", "%RW~rw:*", "&ch*"],
     b"user u off ~app:* %R~ro:* %W~wo:* ~rw:* resetchannels &ch* -@all"),
    (["+get", "+set", "-get", "+get"], b"user u off resetchannels -@all +set +get"),
    (["+client|getname", "+select|0"], b"user u off resetchannels -@all +client|getname +select|0"),
    (["~a", "resetkeys", "~b"], b"user u off ~b resetchannels -@all"),
    (["~a", "allkeys", "~*"], b"user u off ~* resetchannels -@all"),
    ([">pw", "nopass"], b"user u off nopass resetchannels -@all"),
    (["nopass", ">pw"], b"user u off #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 "
                        b"resetchannels -@all"),
    ([">pw", "resetpass"], b"user u off resetchannels -@all"),
    (["on", ">pw", "~*", "+@all", "reset"], b"user u off sanitize-payload resetchannels -@all"),
    (["(~b* +set)", "clearselectors"], b"user u off resetchannels -@all"),
])
def test_setuser_then_list(admin, rules, line):
    assert run(admin, "ACL", "SETUSER", "u", *rules) == b"+OK\r\n"
    lines = encode_list(run(admin, "ACL LIST"))
    assert line in lines


def encode_list(reply: bytes) -> list:
    """The bulk strings of a flat RESP array."""
    parts = reply.split(b"\r\n")
    return [parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i].startswith(b"$")]


@pytest.mark.parametrize("rule, reason", [
    ("badrule", "Syntax error"),
    ("+nosuchcmd", "Unknown command or category name in ACL"),
    ("+@nosuchcat", "Unknown command or category name in ACL"),
    ("-select|0", "Unknown command or category name in ACL"),
    ("+client|nosuch", "Unknown command or category name in ACL"),
    ("+client|setname|x", "Allowing first-arg of a subcommand is not supported"),
    ("%X~k", "Syntax error"),
    ("%~k", "Syntax error"),
    ("#abc", errors.ACL_BAD_HASH),
    ("#" + "A" * 64, errors.ACL_BAD_HASH),
    ("!" + "a" * 64, errors.ACL_NO_SUCH_PASSWORD),
    ("<nope", errors.ACL_NO_SUCH_PASSWORD),
    ("(~a +nosuch)", "Unknown command or category name in ACL"),
])
def test_setuser_errors_change_nothing(admin, rule, reason):
    got = run(admin, "ACL", "SETUSER", "e", "on", rule)
    assert got == ("-ERR Error in ACL SETUSER modifier '%s': %s\r\n" % (rule, reason)).encode()
    assert run(admin, "ACL USERS") == b"*1\r\n$7\r\ndefault\r\n"


def test_setuser_patterns_after_allkeys_are_errors(admin):
    assert run(admin, "ACL SETUSER u allkeys") == b"+OK\r\n"
    assert run(admin, "ACL SETUSER u ~x").startswith(b"-ERR Error in ACL SETUSER modifier '~x': Adding a pattern "
                                                      b"after the * pattern (or the 'allkeys' flag)")
    assert run(admin, "ACL SETUSER u %RW~*").startswith(b"-ERR Error in ACL SETUSER modifier '%RW~*': Adding")
    assert run(admin, "ACL SETUSER u ~*") == b"+OK\r\n"  # "~*" is allkeys itself
    assert run(admin, "ACL SETUSER u allchannels &x").startswith(b"-ERR Error in ACL SETUSER modifier '&x': "
                                                                 b"Adding a pattern after the * pattern (or the "
                                                                 b"'allchannels' flag)")


def test_username_validation(admin):
    assert run(admin, "ACL", "SETUSER", "bad user") == b"-ERR Usernames can't contain spaces or null characters\r\n"
    assert run(admin, "ACL", "SETUSER", "bad\0user") == b"-ERR Usernames can't contain spaces or null characters\r\n"


def test_getuser_map(admin):
    run(admin, "ACL", "SETUSER", "u1", "on", ">pw", "~app:*", "%R~ro:*", "&ch*", "-@all", "+get", "(~b* +set)")
    admin.proto = 3
    got = run(admin, "ACL GETUSER u1")
    assert got == (b"%6\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n"
                   b"$9\r\npasswords\r\n*1\r\n$64\r\n30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"
                   b"\r\n$8\r\ncommands\r\n$10\r\n-@all +get\r\n$4\r\nkeys\r\n$14\r\n~app:* %R~ro:*\r\n"
                   b"$8\r\nchannels\r\n$4\r\n&ch*\r\n$9\r\nselectors\r\n*1\r\n%3\r\n$8\r\ncommands\r\n$10\r\n"
                   b"-@all +set\r\n$4\r\nkeys\r\n$3\r\n~b*\r\n$8\r\nchannels\r\n$0\r\n\r\n")
    assert run(admin, "ACL GETUSER nosuch") == b"_\r\n"


def test_cat(admin):
    got = encode_list(run(admin, "ACL CAT"))
    assert len(got) == 21 and got[0] == b"keyspace"
    assert run(admin, "ACL CAT nosuch") == b"-ERR Unknown category 'nosuch'\r\n"
    string = set(encode_list(run(admin, "ACL CAT string")))
    assert {b"get", b"set", b"mget", b"incrbyfloat"} <= string and b"del" not in string
    assert b"client|kill" in set(encode_list(run(admin, "ACL CAT admin")))


def test_genpass(admin):
    assert len(encode_list(b"*1\r\n" + run(admin, "ACL GENPASS"))[0]) == 64
    assert run(admin, "ACL GENPASS 5").startswith(b"$2\r\n")
    assert run(admin, "ACL GENPASS 0").startswith(b"-ERR ACL GENPASS argument must be")


def test_deluser_default_and_count(admin):
    assert run(admin, "ACL DELUSER default x") == b"-ERR The 'default' user cannot be removed\r\n"
    run(admin, "ACL SETUSER x")
    assert run(admin, "ACL DELUSER x y") == b":1\r\n"


def test_no_aclfile(admin):
    assert run(admin, "ACL SAVE").startswith(b"-ERR This Redis instance is not configured to use an ACL file.")
    assert run(admin, "ACL LOAD").startswith(b"-ERR This Redis instance is not configured to use an ACL file.")


# ======================================================================================= Redis-rule permissions
def redis_user(app, admin, name, *rules):
    assert run(admin, "ACL", "SETUSER", name, "on", "nopass", *rules) == b"+OK\r\n"
    return session(app, name, "x")


def test_allow_all_users_have_no_permission_object(app, admin):
    assert admin.permissions is None
    s = redis_user(app, admin, "all", "~*", "&*", "+@all")
    assert s.permissions is None
    s2 = redis_user(app, admin, "almost", "~*", "&*", "+@all", "-get")
    assert s2.permissions is not None
    s3 = redis_user(app, admin, "nochannels", "~*", "+@all")  # resetchannels: pub/sub channels are checked
    assert s3.permissions is not None


def test_command_then_key_permission(app, admin):
    s = redis_user(app, admin, "po", "~a*", "-@all", "+get")
    assert run(s, "GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert run(s, "GET b") == NOPERM_KEY
    assert run(s, "SET b v") == noperm_cmd("set")
    assert run(s, "GET a1") == b"$-1\r\n"
    assert run(s, "AUTH po x") == b"+OK\r\n"      # never subject to command rules
    assert run(s, "CLIENT SETNAME n") == noperm_cmd("client|setname")
    assert run(s, "ACL WHOAMI") == noperm_cmd("acl|whoami")


def test_first_arg_rule(app, admin):
    s = redis_user(app, admin, "fa", "~*", "-@all", "+select|0")
    assert run(s, "SELECT 0") == b"+OK\r\n"
    assert run(s, "SELECT 1") == noperm_cmd("select")


@pytest.mark.parametrize("rules, allowed, denied", [
    (["%R~k*"], ["GET k", "EXISTS k", "TTL k", "STRLEN k", "MGET k k2", "TYPE k", "GETRANGE k 0 1"],
     ["SET k v", "DEL k", "INCR k", "EXPIRE k 10", "GETDEL k", "SET k v GET", "APPEND k v", "MSET k 1",
      "RENAME k k2", "COPY k k2", "GETEX k"]),
    (["%W~k*"], ["SET k v", "DEL k", "APPEND k v", "EXISTS k", "STRLEN k", "EXPIRE k 10", "MSET k 1 k2 2",
                 "PERSIST k"],
     ["GET k", "INCR k", "SET k v GET", "GETDEL k", "GETSET k v", "MGET k", "RENAME k k2", "GETEX k"]),
    (["~k*"], ["GET k", "SET k v GET", "RENAME k k2", "COPY k k2", "GETDEL k", "INCR k"],
     ["GET x", "MGET k x", "MSET k 1 x 2", "EXISTS k x", "DEL x", "RENAME k x", "COPY x k"]),
    (["%R~k*", "%W~w*"], ["COPY k w"], ["COPY w k", "RENAME w k", "RENAME k2 w"]),
])
def test_redis_key_permissions(app, admin, rules, allowed, denied):
    s = redis_user(app, admin, "kp", "+@all", *rules)
    for cmd in allowed:
        run(admin, "SET k 1")
        assert run(s, cmd) != NOPERM_KEY, cmd
    for cmd in denied:
        run(admin, "SET k 1")
        assert run(s, cmd) == NOPERM_KEY, cmd


def test_keys_scan_dbsize_are_not_filtered_for_redis_users(app, admin):
    run(admin, "MSET app:1 v other o")
    s = redis_user(app, admin, "kp", "~app:*", "+@all")
    assert sorted(encode_list(run(s, "KEYS *"))) == [b"app:1", b"other"]
    assert run(s, "DBSIZE") == b":2\r\n"


def test_selectors(app, admin):
    run(admin, "ACL", "SETUSER", "sel", "on", "nopass", "~a*", "+get", "(~b* +set)")
    assert run(admin, "ACL DRYRUN sel GET a1") == b"+OK\r\n"
    assert run(admin, "ACL DRYRUN sel SET b1 v") == b"+OK\r\n"
    assert run(admin, "ACL DRYRUN sel GET b1") == b"$51\r\nThis user has no permissions to access the 'b1' key\r\n"
    assert run(admin, "ACL DRYRUN sel DEL a1") == b"$53\r\nThis user has no permissions to run the 'del' command\r\n"


def test_dryrun_errors(admin):
    run(admin, "ACL SETUSER d on nopass ~app:* -@all +get")
    assert run(admin, "ACL DRYRUN nosuch GET x") == b"-ERR User 'nosuch' not found\r\n"
    assert run(admin, "ACL DRYRUN d NOSUCHCMD x") == b"-ERR Command 'NOSUCHCMD' not found\r\n"
    assert run(admin, "ACL DRYRUN d GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert run(admin, "ACL DRYRUN d") == b"-ERR wrong number of arguments for 'acl|dryrun' command\r\n"


def test_denied_command_is_not_executed_and_multi_aborts(app, admin):
    s = redis_user(app, admin, "kp", "~a*", "+@all")
    assert run(s, "MSET a1 1 b1 2") == NOPERM_KEY
    assert run(admin, "EXISTS a1 b1") == b":0\r\n"     # no partial MSET
    run(admin, "SET a2 keep")
    assert run(s, "DEL a2 b2") == NOPERM_KEY
    assert run(admin, "GET a2") == b"$4\r\nkeep\r\n"   # no partial DEL
    assert run(s, "MULTI") == b"+OK\r\n"
    assert run(s, "SET a3 v") == b"+QUEUED\r\n"
    assert run(s, "GET b3") == NOPERM_KEY              # refused at queue time
    assert run(s, "EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert run(admin, "EXISTS a3") == b":0\r\n"


def test_acl_log_and_stats(app, admin):
    s = redis_user(app, admin, "lg", "~a*", "-@all", "+get")
    run(admin, "ACL LOG RESET")
    run(s, "GET b")
    run(s, "GET b")
    run(s, "SET a v")
    bad = session(app)
    assert run(bad, "AUTH ghost pw").startswith(b"-WRONGPASS")
    admin.proto = 3
    log = run(admin, "ACL LOG")
    assert log.startswith(b"*3\r\n")
    assert b"reason\r\n$4\r\nauth" in log and b"object\r\n$4\r\nAUTH" in log and b"$5\r\nghost" in log
    assert b"$5\r\ncount\r\n:2\r\n$6\r\nreason\r\n$3\r\nkey\r\n" in log and b"object\r\n$1\r\nb\r\n" in log
    assert b"object\r\n$3\r\nset" in log
    assert run(admin, "ACL LOG 1").startswith(b"*1\r\n")
    assert run(admin, "ACL LOG -1") == b"-ERR value is out of range, must be positive\r\n"
    assert run(admin, "ACL LOG RESET") == b"+OK\r\n" and run(admin, "ACL LOG") == b"*0\r\n"
    assert app.stat_denied_key == 2 and app.stat_denied_cmd == 1 and app.auth.failures == 1
    info = run(admin, "INFO stats")
    assert b"acl_access_denied_key:2" in info and b"auth_failures:1" in info


def test_setuser_applies_to_live_connections_and_deluser_closes(app, admin):
    s = redis_user(app, admin, "live", "~*", "+@all")
    assert run(s, "SET k v") == b"+OK\r\n"
    run(admin, "ACL SETUSER live -set")
    assert run(s, "SET k v") == noperm_cmd("set")
    run(admin, "ACL SETUSER live off")
    assert run(s, "GET k") == b"$1\r\nv\r\n"          # disabling keeps connections
    killed = []
    app.killers[s.id] = lambda: killed.append(s.id)
    assert run(admin, "ACL DELUSER live") == b":1\r\n"
    assert killed == [s.id]
    me = redis_user(app, admin, "self", "~*", "+@all")
    assert run(me, "ACL DELUSER self") == b":1\r\n" and me.closing


def test_default_user_off_and_requirepass(tmp_path):
    app = build(tmp_path, server={"requirepass": "sekret"})
    s = session(app)
    assert run(s, "GET k") == b"-NOAUTH Authentication required.\r\n"
    assert run(s, "AUTH wrong").startswith(b"-WRONGPASS")
    assert run(s, "AUTH sekret") == b"+OK\r\n"
    assert run(s, "GET k") == b"$-1\r\n"
    s2 = session(app)
    assert run(s2, "AUTH default sekret") == b"+OK\r\n"
    lines = encode_list(run(s, "ACL LIST"))
    assert lines[0].startswith(b"user default on #") and lines[0].endswith(b" ~* &* +@all")


def test_default_reopened_serves_waiting_connections(app, admin):
    run(admin, "ACL SETUSER default off")
    waiting = session(app)
    assert run(waiting, "GET k") == b"-NOAUTH Authentication required.\r\n"
    run(admin, "ACL SETUSER default on nopass")
    assert run(waiting, "GET k") == b"$-1\r\n"


def test_config_set_requirepass(app, admin):
    assert run(admin, "CONFIG SET requirepass pw2") == b"+OK\r\n"
    assert run(admin, "GET k") == b"$-1\r\n"                 # this connection stays authenticated
    s = session(app)
    assert run(s, "GET k") == b"-NOAUTH Authentication required.\r\n"
    assert run(s, "AUTH pw2") == b"+OK\r\n"
    assert run(admin, "CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
    assert encode_list(run(admin, "ACL LIST"))[0] == b"user default on nopass ~* &* +@all"


def test_auth_one_arg_without_password(admin):
    assert run(admin, "AUTH x") == (b"-ERR AUTH <password> called without any password configured for the default "
                                    b"user. Are you sure your configuration is correct?\r\n")


# ======================================================================================= registry policies
def test_user_without_policies_can_do_nothing_with_data(tmp_path):
    app = build(tmp_path, [user("lonely")])
    s = session(app, "lonely")
    assert run(s, "PING") == b"+PONG\r\n"
    assert run(s, "GET k") == NOPERM_KEY
    assert run(s, "SET k v") == NOPERM_KEY
    assert run(s, "KEYS *") == noperm_cmd("keys")
    assert run(s, "DBSIZE") == noperm_cmd("dbsize")
    assert run(s, "FLUSHALL") == noperm_cmd("flushall")
    assert run(s, "SELECT 1") == noperm_cmd("select")
    assert run(s, "CONFIG GET maxmemory") == noperm_cmd("config|get")
    assert run(s, "ACL SETUSER lonely ~* +@all") == noperm_cmd("acl|setuser")


def test_unauthenticated_when_users_are_configured(tmp_path):
    app = build(tmp_path, [user("u"), policy("p", ["*"], users=["u"])])
    s = session(app)
    assert run(s, "PING") == b"-NOAUTH Authentication required.\r\n"
    assert run(s, "AUTH u nope").startswith(b"-WRONGPASS")
    assert run(s, "AUTH u pw") == b"+OK\r\n" and s.permissions is None  # allow-all policy: the fast path


def test_admin_policy_and_deny_over_allow(tmp_path):
    app = build(tmp_path, [
        user("ops", groups=["ops"]),
        policy("all", ["*"], groups=["ops"]),
        policy("no-secrets", ["store.key.get"], effect="deny", groups=["ops"],
               conditions=[{"field": "meta.key", "operator": "glob", "value": "secret:*"}]),
    ])
    s = session(app, "ops")
    assert run(s, "SET secret:1 v") == b"+OK\r\n"
    assert run(s, "GET secret:1") == NOPERM_KEY
    assert run(s, "MGET a secret:1") == NOPERM_KEY
    assert run(s, "EXISTS secret:1") == b":1\r\n"
    assert run(s, "GET a") == b"$-1\r\n"
    run(s, "SET a 1")
    assert sorted(encode_list(run(s, "KEYS *"))) == [b"a"]        # KEYS never reveals unreadable keys
    assert run(s, "SCAN 0") == b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
    assert run(s, "DBSIZE") == b":2\r\n"
    assert run(s, "CONFIG GET maxmemory").startswith(b"*2")


def test_store_level_policies(tmp_path):
    app = build(tmp_path, [
        user("app1"),
        policy("use-db0", ["store.get", "store.key.*"], ["t:db0"], users=["app1"]),
        policy("read-other", ["store.get", "store.key.get"], ["t:other"], users=["t:app1"]),
    ])
    admin = session(app, None)
    s = session(app, "app1")
    assert run(s, "SET k v") == b"+OK\r\n"
    assert run(s, "SELECT 1") == noperm_cmd("select")
    assert s.db == 0
    assert run(s, "SELECT t:db1") == noperm_cmd("select")
    assert run(s, "SELECT 2") == b"+OK\r\n"
    assert run(s, "GET k") == b"$-1\r\n"
    assert run(s, "SET k v") == NOPERM_KEY
    assert run(s, "SELECT t:db0") == b"+OK\r\n"
    # MOVE / COPY into a store where the user may not write
    assert run(s, "MOVE k 2") == NOPERM_KEY
    assert run(s, "COPY k k2 DB 2") == NOPERM_KEY
    assert run(s, "COPY k k2") == b":1\r\n"
    assert admin.permissions is None  # default: disabled, but the session predates nothing: it is unauthenticated
    assert run(admin, "GET k") == b"-NOAUTH Authentication required.\r\n"


def test_start_store_without_store_get(tmp_path):
    """The connection stays on its default store; commands touching it are refused until SELECT."""
    app = build(tmp_path, [user("u"), policy("p", ["store.get", "store.key.*", "store.keys.*"], ["t:db1"],
                                             users=["u"])])
    s = session(app, "u")
    assert run(s, "GET k") == NOPERM_KEY
    assert run(s, "KEYS *") == noperm_cmd("keys")
    assert run(s, "PING") == b"+PONG\r\n"
    assert run(s, "SELECT 1") == b"+OK\r\n"
    assert run(s, "SET k v") == b"+OK\r\n" and run(s, "KEYS *") == b"*1\r\n$1\r\nk\r\n"


def test_queued_select_is_taken_into_account(tmp_path):
    app = build(tmp_path, [user("u"), policy("p", ["store.get", "store.key.*"], ["t:db0"], users=["u"]),
                           policy("p1", ["store.get"], ["t:db1"], users=["u"])])
    s = session(app, "u")
    assert run(s, "MULTI") == b"+OK\r\n"
    assert run(s, "SELECT 1") == b"+QUEUED\r\n"
    assert run(s, "GET k") == NOPERM_KEY   # would run on t:db1, where keys are not readable
    assert run(s, "EXEC").startswith(b"-EXECABORT")


def test_flushall_needs_flush_on_every_store(tmp_path):
    app = build(tmp_path, [user("u"), user("v"),
                           policy("p", ["store.get", "store.flush"], ["t:db0", "t:db1"], users=["u"]),
                           policy("q", ["store.get", "store.flush"], ["*"], users=["v"])])
    u, v = session(app, "u"), session(app, "v")
    assert run(u, "FLUSHDB") == b"+OK\r\n"
    assert run(u, "FLUSHALL") == noperm_cmd("flushall")
    assert run(v, "FLUSHALL") == b"+OK\r\n"


def test_admin_commands_by_name(tmp_path):
    app = build(tmp_path, [user("u"), policy("p", ["server.admin"], ["config|get", "acl|*"], users=["u"])])
    s = session(app, "u")
    assert run(s, "CONFIG GET maxmemory").startswith(b"*2")
    assert run(s, "CONFIG SET maxmemory 0") == noperm_cmd("config|set")
    assert run(s, "ACL WHOAMI") == b"$1\r\nu\r\n"
    assert run(s, "CLIENT KILL ID 99") == noperm_cmd("client|kill")


def test_rules_narrow_policy_users(tmp_path):
    app = build(tmp_path, [user("u", rules="+@all -@dangerous -set"), policy("p", ["*"], users=["u"])])
    s = session(app, "u")
    assert run(s, "GET k") == b"$-1\r\n"
    assert run(s, "SET k v") == noperm_cmd("set")
    assert run(s, "FLUSHALL") == noperm_cmd("flushall")
    assert run(s, "KEYS *") == noperm_cmd("keys")


def test_rules_only_registry_user_is_a_redis_user(tmp_path):
    app = build(tmp_path, [user("r", rules="~app:* +@all")])
    s = session(app, "r")
    run(s, "SET app:1 v")
    assert run(s, "GET x") == NOPERM_KEY
    assert run(s, "SELECT 1") == b"+OK\r\n"
    lines = encode_list(run(s, "ACL LIST"))
    assert any(line.startswith(b"user r on #") and line.endswith(b" ~app:* &* +@all") for line in lines)


@pytest.mark.parametrize("cond, key, allowed", [
    ({"field": "meta.key", "operator": "glob", "value": "user:[0-9]*"}, "user:1", True),
    ({"field": "meta.key", "operator": "glob", "value": "user:[0-9]*"}, "user:x", False),
    ({"field": "meta.key", "operator": "eq", "value": "exact"}, "exact", True),
    ({"field": "meta.key", "operator": "eq", "value": "exact"}, "exact2", False),
    ({"field": "meta.key", "operator": "ne", "value": "exact"}, "other", True),
    ({"field": "meta.key", "operator": "in", "value": ["a", "b"]}, "b", True),
    ({"field": "meta.key", "operator": "in", "value": ["a", "b"]}, "c", False),
    ({"field": "meta.key", "operator": "contains", "value": ":pub:"}, "x:pub:y", True),
    ({"field": "meta.key", "operator": "matches", "value": "k[0-9]+"}, "k12", True),
    ({"field": "meta.key", "operator": "matches", "value": "k[0-9]+"}, "k12x", False),   # full match
    ({"field": "meta.key", "operator": "lt", "value": "m"}, "a", True),
    ({"field": "meta.key", "operator": "gt", "value": 10}, "9", False),                   # numeric compare
    ({"field": "meta.key", "operator": "gt", "value": 10}, "11", True),
    ({"field": "meta.key", "operator": "exists"}, "any", True),
    ({"field": "meta.key", "operator": "glob", "value_from": "actor.meta.prefix"}, "acme:1", True),
    ({"field": "meta.key", "operator": "glob", "value_from": "actor.meta.prefix"}, "other:1", False),
    ({"field": "actor.meta.tier", "operator": "gt", "value": 2}, "k", True),
    ({"field": "actor.meta.tier", "operator": "lt", "value": 2}, "k", False),
    ({"field": "actor.id", "operator": "eq", "value": "u"}, "k", True),
    ({"field": "actor.groups", "operator": "contains", "value": "g"}, "k", True),
    ({"field": "actor.meta.missing", "operator": "exists", "value": False}, "k", True),
    ({"field": "actor.meta.nested.x", "operator": "eq", "value": 1}, "k", True),
    ({"field": "resource", "operator": "glob", "value": "t:db*"}, "k", True),
    ({"field": "action", "operator": "in", "value": ["store.key.get"]}, "k", True),
])
def test_conditions(tmp_path, cond, key, allowed):
    app = build(tmp_path, [
        user("u", groups=["g"], meta={"prefix": "acme:*", "tier": 3, "nested": {"x": 1}}),
        policy("store", ["store.get"], users=["u"]),
        policy("c", ["store.key.get"], conditions=[cond], users=["u"]),
    ])
    s = session(app, "u")
    assert (run(s, "GET", key) != NOPERM_KEY) is allowed


def test_policy_users_group_star(tmp_path):
    app = build(tmp_path, [user("a", groups=["x"]), user("b"),
                           policy("everyone", ["store.get", "store.key.get"], groups=["*"]),
                           policy("deny-b", ["*"], effect="deny", users=["b"])])
    assert run(session(app, "a"), "GET k") == b"$-1\r\n"
    assert run(session(app, "b"), "GET k") == NOPERM_KEY


@pytest.mark.parametrize("body, field, message", [
    ({"actions": ["store.key.read"], "resources": ["*"]}, "policy.actions", "matches no action"),
    ({"actions": [], "resources": ["*"]}, "policy.actions", "non-empty list"),
    ({"actions": ["*"], "resources": ["t:nosuch"]}, "policy.resources", "is not a store id"),
    ({"actions": ["*"], "resources": ["*"], "effect": "maybe"}, "policy.effect", "allow or deny"),
    ({"actions": ["*"], "resources": ["*"], "extra": 1}, "policy", "unknown field"),
    ({"actions": ["*"], "resources": ["*"], "conditions": [{"field": "meta.nope", "operator": "eq", "value": 1}]},
     "policy.conditions[0].field", "must be one of"),
    ({"actions": ["*"], "resources": ["*"], "conditions": [{"field": "meta.key", "operator": "like", "value": 1}]},
     "policy.conditions[0].operator", "must be one of"),
    ({"actions": ["*"], "resources": ["*"], "conditions": [{"field": "meta.key", "operator": "eq"}]},
     "policy.conditions[0]", "needs value or value_from"),
    ({"actions": ["*"], "resources": ["*"], "conditions": [{"field": "meta.key", "operator": "in", "value": "a"}]},
     "policy.conditions[0].value", "needs a list"),
    ({"actions": ["*"], "resources": ["*"], "conditions": [{"field": "meta.key", "operator": "matches",
                                                              "value": "("}]},
     "policy.conditions[0].value", "regular expression"),
])
def test_policy_validation(tmp_path, body, field, message):
    with pytest.raises(ConfigError) as ei:
        build(tmp_path, [user("u"), {"name": "p", "kind": "security.policy", "policy": body, "users": ["u"]}])
    text = str(ei.value)
    assert "entry 't:p'" in text and "field '%s'" % field in text and message in text, text


def test_policy_naming_unknown_user(tmp_path):
    with pytest.raises(ConfigError, match="no security.user named 'ghost'"):
        build(tmp_path, [user("u"), policy("p", ["*"], users=["ghost"])])


@pytest.mark.parametrize("rules, message", [
    ("+nosuch", "Unknown command"),
    ("on", "set enabled/nopass/passwords with their own fields"),
    (42, "must be a string or a list"),
])
def test_user_rules_validation(tmp_path, rules, message):
    with pytest.raises(ConfigError, match=message):
        build(tmp_path, [user("u", rules=rules)])


def test_key_condition_on_a_keyless_action_does_not_match(tmp_path):
    """meta.key conditions make a statement inapplicable to store.get: grant the store separately."""
    app = build(tmp_path, [user("u"), policy("p", ["store.get", "store.key.get"], ["t:db0"], users=["u"],
                                             conditions=[{"field": "meta.key", "operator": "glob", "value": "a*"}])])
    assert run(session(app, "u"), "GET a1") == NOPERM_KEY


def test_decisions_are_cached_per_store_and_command(tmp_path):
    app = build(tmp_path, [user("u"), policy("p", ["store.key.get"], ["t:db0"], users=["u"],
                                             conditions=[{"field": "meta.key", "operator": "glob",
                                                          "value": "a*"}]),
                           policy("s", ["store.get"], ["t:db0"], users=["u"])])
    s = session(app, "u")
    sel = s.permissions.sels[0]
    for _ in range(3):
        assert run(s, "GET a1") == b"$-1\r\n"
        assert run(s, "GET b1") == NOPERM_KEY
    assert set(sel.plans) == {("t:db0", "get")}
    assert set(sel.decisions) == {("t:db0", "store.get"), ("t:db0", "store.key.get")}


# ======================================================================================= glob edge cases
@pytest.mark.parametrize("pattern, key, match", [
    (b"a*", b"a", True), (b"a*", b"ba", False), (b"*", b"", True), (b"a?c", b"abc", True),
    (b"a?c", b"ac", False), (b"[abc]x", b"bx", True), (b"[^a]x", b"ax", False), (b"[^a]x", b"bx", True),
    (b"[!a]x", b"!x", True), (b"[!a]x", b"bx", False), (b"[a-c]", b"b", True), (b"[c-a]", b"b", True),
    (b"a\\*", b"a*", True), (b"a\\*", b"ab", False), (b"[\\]]", b"]", True), (b"ab[", b"ab", False),
    (b"k:*", b"k:\xff\x00", True), (b"K*", b"k1", False), (b"*:secret:*", b"x:secret:y", True),
])
def test_glob_patterns_in_key_rules(app, admin, pattern, key, match):
    assert run(admin, b"ACL", b"SETUSER", b"g", b"on", b"nopass", b"+@all", b"~" + pattern) == b"+OK\r\n"
    s = session(app, "g", "x")
    assert (run(s, b"EXISTS", key) != NOPERM_KEY) is match


def test_spec_actions_come_from_key_flags():
    from respd.commands.catalog import COMMANDS
    assert engine.spec_actions(COMMANDS[b"get"].keys[0].flags) == (model.KEY_GET,)
    assert engine.spec_actions(COMMANDS[b"incr"].keys[0].flags) == (model.KEY_GET, model.KEY_SET)
    assert engine.spec_actions(COMMANDS[b"del"].keys[0].flags) == (model.KEY_DELETE,)
    assert engine.spec_actions(COMMANDS[b"exists"].keys[0].flags) == (model.KEY_HAS,)


def test_acl_log_arguments_and_save_failure_texts(tmp_path):
    """Redis 7.0's texts for ACL LOG with too many arguments and for an ACL SAVE that cannot write its file."""
    app = build(tmp_path, server={"aclfile": str(tmp_path / "no-such-dir" / "users.acl")})
    s = session(app)
    assert run(s, "ACL LOG 1 2") == \
        b"-ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP.\r\n"
    assert run(s, "ACL SAVE") == (b"-ERR There was an error trying to save the ACLs. Please check the server logs for "
                                  b"more information\r\n")
