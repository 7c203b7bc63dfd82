"""Users, policies and the ACL surface through real clients against a real ``python -m respd``.

redis-py (sync, asyncio, RESP2/RESP3, username/password, redis:// URLs) and redis-cli (--user/--pass) see exactly
the exceptions and texts Redis gives them. The policy table of ``tests/unit/acl_cases.py`` is replayed
over the network on memory stores and on SQL stores (PostgreSQL), and its Redis-rule part against a real
redis-server, so the oracle itself is checked against Redis.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from tests.helpers import RedisProcess, RespdProcess, encode_command, free_port
from tests.integration.common import client, registry
from tests.pgserver import pg_server  # noqa: F401  (session fixture)
from tests.unit.acl_cases import CASES, RULE_USERS, SEED, registry_entries

NOPERM_KEY_TEXT = "this user has no permissions to access one of the keys used as arguments"


# ----------------------------------------------------------------------------------------- the policy table
def _apply_rule_users(admin):
    for name, (rules, _) in RULE_USERS.items():
        admin.execute_command("ACL", "SETUSER", name, "reset", "on", ">pw", "+@all", *rules)


def _seed(admin):
    admin.flushall()
    admin.mset(SEED)
    admin.expire("ok:1", 1000)
    admin.expire("no:1", 1000)


def _snapshot(admin, admin1):
    out = []
    for db, c in (("0", admin), ("1", admin1)):
        for k in sorted(c.keys("*")):
            out.append((db, k, c.get(k), c.ttl(k)))
    return out


def _replay(port, cases, user_filter=lambda name: True):
    """Run the cases against the server on port; returns a list of mismatch descriptions."""
    admin = redis.Redis(port=port, username="admin", password="pw", decode_responses=True)
    admin1 = redis.Redis(port=port, username="admin", password="pw", db=1, decode_responses=True)
    users = {}
    bad = []
    for name, argv, allowed in cases:
        if not user_filter(name):
            continue
        c = users.get(name)
        if c is None:
            c = users[name] = redis.Redis(port=port, username=name, password="pw", decode_responses=True)
        _seed(admin)
        before = _snapshot(admin, admin1)
        try:
            c.execute_command(*argv)
            denied = None
        except redis.exceptions.NoPermissionError as e:
            denied = str(e)
        except redis.exceptions.ResponseError:
            denied = None
        if allowed and denied is not None:
            bad.append("%s %s: denied (%s) but should run" % (name, argv, denied))
        elif not allowed:
            if denied != NOPERM_KEY_TEXT:
                bad.append("%s %s: expected the key NOPERM, got %r" % (name, argv, denied))
            elif _snapshot(admin, admin1) != before:
                bad.append("%s %s: denied but data changed" % (name, argv))
    for c in list(users.values()) + [admin, admin1]:
        c.close()
    return bad


@pytest.fixture(scope="module")
def memory_table_server(tmp_path_factory):
    path = registry(tmp_path_factory.mktemp("acl-mem"), registry_entries())
    proc = RespdProcess(configs=[path]).start()
    yield proc
    proc.stop()


def test_policy_table_memory(memory_table_server):
    admin = redis.Redis(port=memory_table_server.port, username="admin", password="pw")
    _apply_rule_users(admin)
    assert _replay(memory_table_server.port, CASES) == []


def test_policy_table_sql(tmp_path, pg_server, server_factory):
    stores = [{"name": "pg", "kind": "db.sql.postgres", "dsn": pg_server.dsn, "pool": {"min": 1, "max": 4}}]
    tag = "acl%d" % (int(time.time() * 1000) % 10**9)
    for i in (0, 1):
        stores.append({"name": "db%d" % i, "kind": "store.sql", "database": "t:pg", "create_table": True,
                       "table_name": "%s_db%d" % (tag, i), "max_size": 0})
    proc = server_factory([registry(tmp_path, registry_entries(), stores=stores)])
    admin = redis.Redis(port=proc.port, username="admin", password="pw")
    _apply_rule_users(admin)
    # a sample of every command class keeps the SQL round trips reasonable; all users, all key variants
    cases = [c for i, c in enumerate(CASES) if c[0] in ("p_read", "p_write", "p_has", "r_read", "r_write")]
    assert _replay(proc.port, cases) == []


def test_rule_users_oracle_matches_redis():
    """The Redis-rule half of the table, on a real redis-server: Redis denies exactly what respd denies."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    proc = RedisProcess().start()
    try:
        admin = redis.Redis(port=proc.port)
        admin.execute_command("ACL", "SETUSER", "admin", "on", ">pw", "~*", "&*", "+@all")
        _apply_rule_users(admin)
        assert _replay(proc.port, CASES, lambda n: n in RULE_USERS) == []
    finally:
        proc.stop()


# -------------------------------------------------------------------------------------- clients and errors
@pytest.fixture
def policy_server(tmp_path, server_factory):
    entries = [
        {"name": "admin", "kind": "security.user", "password_sha256":
            "5fcf82bc15aef42cd3ec93e6d4b51c04df110cf77ee715f62f3f172ff8ed9de9", "groups": ["admins"]},  # adminpw
        {"name": "app", "kind": "security.user", "password": "apppw", "meta": {"prefix": "app:*"}},
        {"name": "all", "kind": "security.policy", "groups": ["admins"],
         "policy": {"actions": ["*"], "resources": ["*"]}},
        {"name": "app-store", "kind": "security.policy", "users": ["app"],
         "policy": {"actions": ["store.get", "store.keys.list"], "resources": ["t:db0"]}},
        {"name": "app-keys", "kind": "security.policy", "users": ["app"],
         "policy": {"actions": ["store.key.*"], "resources": ["t:db0"],
                    "conditions": [{"field": "meta.key", "operator": "glob", "value_from": "actor.meta.prefix"}]}},
    ]
    return server_factory([registry(tmp_path, entries)])


def test_redis_py_username_password(policy_server):
    app = client(policy_server, username="app", password="apppw")
    assert app.set("app:1", "v") is True and app.get("app:1") == b"v"
    with pytest.raises(redis.exceptions.NoPermissionError, match="access one of the keys"):
        app.get("other")
    with pytest.raises(redis.exceptions.NoPermissionError, match="access one of the keys"):
        app.mset({"app:2": "x", "other": "y"})
    admin = client(policy_server, username="admin", password="adminpw")
    assert admin.exists("app:2", "other") == 0
    admin.set("other", "secret")
    assert app.keys("*") == [b"app:1"]                    # KEYS never shows unreadable keys
    assert sorted(app.scan_iter()) == [b"app:1"]
    with pytest.raises(redis.exceptions.NoPermissionError, match="'select' command"):
        client(policy_server, username="app", password="apppw", db=1).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(policy_server, username="app", password="wrong").ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(policy_server).ping()                        # default user disabled: NOAUTH


def test_redis_py_resp3_and_url(policy_server):
    r3 = client(policy_server, username="app", password="apppw", protocol=3)
    assert r3.ping() is True and r3.set("app:k", "1") and r3.incr("app:k") == 2
    with pytest.raises(redis.exceptions.NoPermissionError):
        r3.incr("nope")
    url = redis.Redis.from_url("redis://app:apppw@127.0.0.1:%d/0" % policy_server.port)
    assert url.get("app:k") == b"2"
    with pytest.raises(redis.exceptions.NoPermissionError):
        url.get("nope")


async def test_redis_py_asyncio(policy_server):
    import redis.asyncio as aredis
    # redis.asyncio needs an asyncio loop: run it in a thread from this trio test
    import trio

    def body():
        import asyncio

        async def main():
            c = aredis.Redis(port=policy_server.port, username="app", password="apppw", protocol=3)
            await c.set("app:a", "1")
            v = await c.get("app:a")
            try:
                await c.get("other")
                denied = False
            except redis.exceptions.NoPermissionError:
                denied = True
            await c.aclose()
            return v, denied

        return asyncio.run(main())

    v, denied = await trio.to_thread.run_sync(body)
    assert v == b"1" and denied


def test_redis_cli_user_pass(policy_server):
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    base = ["redis-cli", "-p", str(policy_server.port), "--no-auth-warning"]
    out = subprocess.run(base + ["--user", "app", "--pass", "apppw", "SET", "app:c", "1"], capture_output=True,
                         text=True, timeout=20).stdout
    assert out.strip() == "OK"
    out = subprocess.run(base + ["--user", "app", "--pass", "apppw", "GET", "other"], capture_output=True, text=True,
                         timeout=20).stdout
    assert out.strip() == "NOPERM " + NOPERM_KEY_TEXT
    out = subprocess.run(base + ["--user", "app", "--pass", "bad", "GET", "app:c"], capture_output=True, text=True,
                         timeout=20)
    assert "WRONGPASS" in out.stdout + out.stderr or "AUTH failed" in out.stdout + out.stderr
    out = subprocess.run(base + ["-u", "redis://app:apppw@127.0.0.1:%d/0" % policy_server.port, "GET", "app:c"],
                         capture_output=True, text=True, timeout=20).stdout
    assert out.strip() == "1"


def test_auth_failures_are_counted_and_logged(policy_server):
    admin = client(policy_server, username="admin", password="adminpw")
    before = admin.info("stats")["auth_failures"]
    with policy_server.client() as raw:          # a raw connection: redis-py would retry the handshake
        for _ in range(3):
            assert raw.cmd("AUTH admin nope").startswith(b"-WRONGPASS")
    assert admin.info("stats")["auth_failures"] == before + 3
    assert "failed AUTH for user 'admin' from 127.0.0.1:" in policy_server.stderr_text()
    log = admin.acl_log()
    assert log[0]["reason"] == "auth" and log[0]["username"] == "admin" and log[0]["count"] == 3
    # further failures from 127.0.0.1 are only counted until the next summary line (tests/unit/test_auth_failure_log.py
    # checks that huge user names are cut there too, tests/integration/test_auth_failures.py the bound on lines)


def test_runtime_users_and_connections(policy_server):
    admin = client(policy_server, username="admin", password="adminpw")
    admin.acl_setuser("rt", enabled=True, passwords=["+rtpw"], keys=["rt:*"], commands=["+@all"])
    rt = client(policy_server, username="rt", password="rtpw")
    assert rt.set("rt:1", "v") and rt.acl_whoami() == "rt"
    with pytest.raises(redis.exceptions.NoPermissionError):
        rt.get("x")
    assert admin.acl_getuser("rt")["keys"] == ["~rt:*"] or "~rt:*" in str(admin.acl_getuser("rt")["keys"])
    admin.acl_setuser("rt", enabled=False)
    assert rt.get("rt:1") == b"v"                        # off: existing connections keep working
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(policy_server, username="rt", password="rtpw").ping()
    assert admin.acl_deluser("rt") == 1
    with pytest.raises(redis.exceptions.ConnectionError):
        rt.execute_command("PING")
    assert "rt" not in admin.acl_users()


def test_aclfile_save_and_load(tmp_path, server_factory):
    aclfile = tmp_path / "users.acl"
    path = registry(tmp_path, server={"aclfile": str(aclfile)})
    proc = server_factory([path])
    r = client(proc)
    r.execute_command("ACL", "SETUSER", "saved", "on", ">pw1", "~s:*", "-@all", "+get", "+set")
    assert r.execute_command("ACL", "SAVE") == b"OK"
    text = aclfile.read_text()
    assert "user saved on #" in text and "~s:* resetchannels -@all +get +set" in text
    assert "pw1" not in text
    proc.stop()
    proc2 = server_factory([path])
    c = client(proc2, username="saved", password="pw1")
    assert c.set("s:1", "v") and c.get("s:1") == b"v"
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.delete("s:1")
    aclfile.write_text("user saved on >pw2 ~* +@all\nbogus line\n")
    r2 = client(proc2)
    with pytest.raises(redis.exceptions.ResponseError, match="should start with user keyword"):
        r2.execute_command("ACL", "LOAD")
    assert c.get("s:1") == b"v"                          # nothing changed
    aclfile.write_text("user saved on >pw2 ~* +@all\n")
    assert r2.execute_command("ACL", "LOAD") == b"OK"
    assert client(proc2, username="saved", password="pw2").delete("s:1") == 1


def test_startup_rejects_a_broken_aclfile(tmp_path):
    from tests.helpers import run_respd_cli
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user x on +nosuch\n")
    path = registry(tmp_path, server={"aclfile": str(aclfile)})
    res = run_respd_cli("--config", str(path), "--port", str(free_port()))
    assert res.returncode == 1 and "Unknown command or category name in ACL" in res.stderr


def test_requirepass(tmp_path, server_factory):
    proc = server_factory([registry(tmp_path, server={"requirepass": "s3cret"})])
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(proc).ping()
    assert client(proc, password="s3cret").ping() is True
    assert client(proc, username="default", password="s3cret").ping() is True


@pytest.mark.parametrize("password,expected", [
    ("s3cret", b"+OK\r\n+OK\r\n+OK\r\n:20000\r\n"),
    ("wrong", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
              b"-ERR Protocol error: unauthenticated bulk length\r\n"),
])
def test_auth_lifts_the_limits_for_what_follows_in_the_same_packet(tmp_path, server_factory, password, expected):
    """Redis runs each request before it reads the next: requests pipelined after AUTH in one packet (a client
    flushing its offline queue on connect) get the authenticated limits, a 20 KB value and 13 arguments here."""
    proc = server_factory([registry(tmp_path, server={"requirepass": "s3cret"})])
    packet = (encode_command("AUTH", password) + encode_command("SET", "k", "v" * 20000)
              + encode_command("MSET", *["a"] * 12) + encode_command("STRLEN", "k"))
    with proc.client() as c:
        c.send(packet)
        if password == "s3cret":
            assert b"".join(c.read_replies(4)) == expected
            assert c.cmd("PING") == b"+PONG\r\n"
        else:
            assert c.read_until_closed() == expected


# ------------------------------------------------------------------------------------------- protected mode
def _non_loopback_ip():
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


@pytest.mark.parametrize("server, refused", [
    ({"bind": "0.0.0.0"}, True),
    ({"bind": "0.0.0.0", "protected_mode": False}, False),
    ({"bind": "0.0.0.0", "requirepass": "pw"}, False),
])
def test_protected_mode(tmp_path, server_factory, server, refused):
    ip = _non_loopback_ip()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address to connect from")
    proc = server_factory([registry(tmp_path, server=server)])
    with socket.create_connection((ip, proc.port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        data = s.recv(4096)
    if refused:
        assert data.startswith(b"-DENIED Redis is running in protected mode")
    else:
        assert data in (b"+PONG\r\n", b"-NOAUTH Authentication required.\r\n")
    assert client(proc, password=server.get("requirepass")).ping() is True   # loopback always served


# ------------------------------------------------------------------------------------------ the example registry
def test_example_registry(monkeypatch, server_factory):
    """conf/examples/acl.yaml does what its comments say."""
    from tests.helpers import REPO_ROOT
    monkeypatch.setenv("RESPD_ADMIN_PASSWORD", "adm")
    proc = server_factory([REPO_ROOT / "conf" / "examples" / "acl.yaml"])
    admin = client(proc, username="admin", password="adm")
    admin.mset({"web:1": "a", "other": "b", "x:secret:1": "s", "web:secret:2": "t"})
    client(proc, username="admin", password="adm", db=1).mset({"sess:web:1": "A", "sess:api:1": "B"})
    assert admin.get("x:secret:1") == b"s"                      # the deny excludes admins (meta.role)
    web = client(proc, username="web", password="secret")
    assert web.get("web:1") == b"a"
    for denied in (lambda: web.get("other"), lambda: web.get("web:secret:2"), lambda: web.flushdb()):
        with pytest.raises(redis.exceptions.NoPermissionError):
            denied()
    assert web.set("web:secret:2", "new") is True               # writing is not reading
    web1 = client(proc, username="web", password="secret", db=1)
    assert web1.get("sess:web:1") == b"A"
    with pytest.raises(redis.exceptions.NoPermissionError):
        web1.get("sess:api:1")
    reporter = client(proc, username="reporter", password="secret")
    assert sorted(reporter.keys("*")) == [b"other", b"web:1"]    # secrets never listed
    assert reporter.dbsize() == 4
    with pytest.raises(redis.exceptions.NoPermissionError):
        reporter.set("other", "x")
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(proc).get("web:1")                                 # no anonymous access
