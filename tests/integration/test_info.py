"""INFO against what a user may see (issue 11 item 7): keyspace and stores only list the stores whose keys the user
may count (store.get and store.keys.count, the rule of SELECT and DBSIZE); Redis-rule users see every store, as
on Redis."""
from __future__ import annotations

import pytest

from tests.helpers import RawClient
from tests.integration.common import client, registry

ADMIN_SHA = "5fcf82bc15aef42cd3ec93e6d4b51c04df110cf77ee715f62f3f172ff8ed9de9"  # adminpw


@pytest.fixture
def info_server(tmp_path, server_factory):
    stores = [{"name": "db%d" % i, "kind": "store.memory", "max_size": 0} for i in range(3)]
    entries = [
        {"name": "admin", "kind": "security.user", "password_sha256": ADMIN_SHA, "groups": ["admins"]},
        {"name": "all", "kind": "security.policy", "groups": ["admins"],
         "policy": {"actions": ["*"], "resources": ["*"]}},
        # counts db0 and db2, but may not SELECT db2: only db0 is visible
        {"name": "app", "kind": "security.user", "password": "apppw"},
        {"name": "app-count", "kind": "security.policy", "users": ["app"],
         "policy": {"actions": ["store.get", "store.keys.count", "store.key.*"], "resources": ["t:db0"]}},
        {"name": "app-count2", "kind": "security.policy", "users": ["app"],
         "policy": {"actions": ["store.keys.count"], "resources": ["t:db2"]}},
        # may SELECT db1 but not count it: sees nothing
        {"name": "lister", "kind": "security.user", "password": "listerpw"},
        {"name": "lister-get", "kind": "security.policy", "users": ["lister"],
         "policy": {"actions": ["store.get", "store.keys.list"], "resources": ["t:db1"]}},
        # Redis rules only: behaves as on Redis, every db is listed
        {"name": "ruled", "kind": "security.user", "password": "ruledpw", "rules": "~app:* +@all -dbsize"},
    ]
    proc = server_factory([registry(tmp_path, entries, stores=stores)])
    admin = client(proc, username="admin", password="adminpw")
    for db in range(3):
        admin.execute_command("SELECT", db)
        admin.set("k%d" % db, "v")
        admin.set("t%d" % db, "v", ex=100)
    return proc


def info(proc, user, password, *sections) -> str:
    with RawClient(proc.port) as c:
        assert c.call("AUTH", user, password) == b"+OK\r\n"
        reply = c.call("INFO", *sections)
    head, _, body = reply.partition(b"\r\n")
    assert head == b"$%d" % (len(body) - 2)
    return body[:-2].decode()


def keyspace(proc, user, password) -> list[str]:
    text = info(proc, user, password, "keyspace")
    return [line for line in text.split("\r\n") if line and not line.startswith("#")]


def test_info_keyspace_shows_only_stores_the_user_may_count(info_server):
    assert keyspace(info_server, "admin", "adminpw") == ["db%d:keys=2,expires=1,avg_ttl=0" % i for i in range(3)]
    assert keyspace(info_server, "app", "apppw") == ["db0:keys=2,expires=1,avg_ttl=0"]
    assert keyspace(info_server, "lister", "listerpw") == []
    assert keyspace(info_server, "ruled", "ruledpw") == ["db%d:keys=2,expires=1,avg_ttl=0" % i for i in range(3)]
    # the same in the default INFO and in the respd "stores" section of INFO everything
    text = info(info_server, "app", "apppw")
    assert "db0:keys=2" in text and "db1:" not in text and "db2:" not in text
    stores = info(info_server, "app", "apppw", "everything").split("# Stores\r\n")[1]
    assert stores == "store_t:db0:kind=store.memory,max_size=0,dbs=0\r\n"
    app = client(info_server, username="app", password="apppw")
    assert app.dbsize() == 2  # the rule INFO follows: DBSIZE allowed on db0 ...
    with pytest.raises(Exception, match="'select' command"):
        app.execute_command("SELECT", 2)  # ... and db2 cannot be selected
