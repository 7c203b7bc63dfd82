"""Registry loading: validation errors name file, entry and field in one line; directories and merged files."""
from __future__ import annotations

import pytest

from backends.memory import MemoryStore
from respd.registry import DEFAULT_CONFIG, ConfigError, build_stores, load
from respd.units import parse_duration
from tests.helpers import memory_registry


def load_error(paths) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        load([str(p) for p in paths])
    msg = str(e.value)
    assert "\n" not in msg
    return e.value


def assert_names(err: ConfigError, path, entry=None, field=None, *words):
    msg = str(err)
    assert str(path) in msg, msg
    if entry is not None:
        assert "entry '%s'" % entry in msg, msg
    if field is not None:
        assert "field '%s'" % field in msg, msg
    for w in words:
        assert w in msg, msg


def test_embedded_default_registry():
    reg = load()
    assert reg.files == [DEFAULT_CONFIG]
    assert sorted(reg.databases) == list(range(16))
    stores, databases = build_stores(reg)
    assert len(stores) == 16
    assert all(isinstance(s, MemoryStore) for s in stores.values())
    assert databases[3].id == "default:db3"
    assert databases[0].max_size == 0 and databases[0].cleanup_interval == 300


def test_minimal_file_and_defaults(write_yaml):
    p = write_yaml("a.yaml", memory_registry("app", {"cache": {}, "sessions": {"max_size": 5,
                                                                              "cleanup_interval": "30s"}}))
    reg = load([str(p)])
    assert set(reg.entries) == {"app:cache", "app:sessions"}
    stores, databases = build_stores(reg)
    assert stores["app:cache"].max_size == 10000              # documented default
    assert stores["app:cache"].cleanup_interval == 300.0
    assert stores["app:sessions"].max_size == 5
    assert stores["app:sessions"].cleanup_interval == 30.0
    assert databases[0] is stores["app:cache"] and databases[1] is stores["app:sessions"]


@pytest.mark.parametrize("kind", ["store.nosuch", "memory", None, 5])
def test_unknown_kind(write_yaml, kind):
    doc = memory_registry("app", {"c": {}})
    doc["entries"][0]["kind"] = kind
    if kind is None:
        del doc["entries"][0]["kind"]
    p = write_yaml("k.yaml", doc)
    err = load_error([p])
    assert_names(err, p, "app:c", "kind", "unknown kind", "store.memory")


def test_unknown_field(write_yaml):
    p = write_yaml("f.yaml", memory_registry("app", {"c": {"max_sizee": 3}}))
    assert_names(load_error([p]), p, "app:c", "max_sizee", "unknown field", "max_size")


@pytest.mark.parametrize("field,value,words", [
    ("max_size", -1, ["must be between"]),
    ("max_size", "ten", ["must be an integer"]),
    ("max_size", True, ["must be an integer"]),
    ("max_size", 1.5, ["must be an integer"]),
    ("cleanup_interval", "5 parsecs", ["duration"]),
    ("cleanup_interval", -3, ["negative"]),
    ("cleanup_interval", False, ["duration"]),
    ("lifecycle", {"auto_stop": True}, ["auto_stop"]),
    ("lifecycle", {"auto_start": "yes"}, ["true or false"]),
])
def test_bad_entry_values(write_yaml, field, value, words):
    p = write_yaml("v.yaml", memory_registry("app", {"c": {field: value}}))
    assert_names(load_error([p]), p, "app:c", field, *words)


@pytest.mark.parametrize("key,value,words", [
    ("port", 70000, ["between"]),
    ("port", "6379", ["integer"]),
    ("maxclients", 0, ["between"]),
    ("log_level", "loud", ["one of"]),
    ("protected_mode", "no", ["true or false"]),
    ("maxmemory", "lots", ["memory size"]),
    ("shutdown_grace", "soon", ["duration"]),
    ("colour", "blue", ["unknown server setting"]),
    ("notify_keyspace_events", "KEZ", ["Invalid event class character", "Ag$lshzxeKEtmdn"]),
    ("notify_keyspace_events", 3, ["Invalid event class character"]),
    ("redis_version", "7.4", ["three numbers"]),
    ("redis_version", 7.4, ["three numbers"]),
])
def test_bad_server_settings(write_yaml, key, value, words):
    p = write_yaml("s.yaml", memory_registry("app", {"c": {}}, server={key: value}))
    assert_names(load_error([p]), p, None, "server.%s" % key, *words)


def test_server_values_converted(write_yaml):
    p = write_yaml("s.yaml", memory_registry("app", {"c": {}}, server={"maxmemory": "1mb", "shutdown_grace": "500ms",
                                                                      "maxclients": 7}))
    reg = load([str(p)])
    assert reg.server["maxmemory"] == 1024 * 1024
    assert reg.server["shutdown_grace"] == 0.5
    assert reg.server["maxclients"] == 7


@pytest.mark.parametrize("databases,words", [
    ({0: "app:nosuch"}, ["index 0", "app:nosuch", "not a store"]),
    ({0: "nosuch:c"}, ["index 0"]),
    ({0: "c"}, ["store id like"]),
    ({-1: "app:c"}, ["integers >= 0"]),
    ({"zero": "app:c"}, ["integers >= 0"]),
])
def test_bad_database_references(write_yaml, databases, words):
    p = write_yaml("d.yaml", memory_registry("app", {"c": {}}, databases=databases))
    assert_names(load_error([p]), p, None, "server.databases", *words)


def test_database_reference_to_non_store_entry(write_yaml):
    doc = memory_registry("app", {"c": {}}, databases={0: "app:u"})
    doc["entries"].append({"name": "u", "kind": "security.user", "nopass": True})
    p = write_yaml("d.yaml", doc)
    assert_names(load_error([p]), p, None, "server.databases", "app:u", "not a store")


def test_default_db_must_be_mapped(write_yaml):
    p = write_yaml("d.yaml", memory_registry("app", {"c": {}}, server={"default_db": 4}))
    assert_names(load_error([p]), p, None, "server.default_db", "index 4")


@pytest.mark.parametrize("text,field,words", [
    ("version: '2.0'\nnamespace: a\nentries: []\n", "version", ["unsupported version"]),
    ("namespace: a\nentries: []\nextra: 1\n", None, ["unknown top-level field", "extra"]),
    ("entries:\n  - {name: c, kind: store.memory}\n", "namespace", ["must be a name"]),
    ("namespace: 'bad ns'\nentries:\n  - {name: c, kind: store.memory}\n", "namespace", ["must be a name"]),
    ("namespace: a\nentries: {c: 1}\n", "entries", ["must be a list"]),
    ("namespace: a\nentries:\n  - just-a-string\n", "entries", ["must be a mapping"]),
    ("namespace: a\nserver: [1]\n", "server", ["must be a mapping"]),
    ("- 1\n- 2\n", None, ["must be a mapping"]),
    ("namespace: a\nentries: [\n", None, ["invalid YAML"]),
])
def test_file_shape_errors(write_yaml, text, field, words):
    p = write_yaml("shape.yaml", text)
    assert_names(load_error([p]), p, None, field, *words)


def test_bad_entry_name(write_yaml):
    p = write_yaml("n.yaml", "namespace: a\nentries:\n  - {name: 'has space', kind: store.memory}\n")
    assert_names(load_error([p]), p, None, "name", "must be a name")


def test_unreadable_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert_names(load_error([missing]), missing, None, None, "cannot read file")


def test_not_utf8_file(write_yaml, registry_dir):
    p = registry_dir / "bin.yaml"
    p.write_bytes(b"namespace: \xff\xfe\n")
    assert_names(load_error([p]), p, None, None, "not UTF-8")


def test_empty_file_is_allowed(write_yaml):
    p = write_yaml("empty.yaml", "")
    reg = load([str(p)])
    assert reg.entries == {} and reg.files == [str(p)]


def test_directory_of_files_in_name_order(registry_dir, write_yaml):
    write_yaml("20-b.yaml", memory_registry("b", {"c": {}}, databases={1: "b:c"}))
    write_yaml("10-a.yml", memory_registry("a", {"c": {}}, databases={0: "a:c", 1: "a:c"}))
    write_yaml("README.txt", "not yaml: [")
    reg = load([str(registry_dir)])
    assert [p.rsplit("/", 1)[1] for p in reg.files] == ["10-a.yml", "20-b.yaml"]
    assert set(reg.entries) == {"a:c", "b:c"}
    assert reg.databases[0][0] == "a:c"
    assert reg.databases[1][0] == "b:c"          # the later file wins index by index


def test_empty_directory(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    assert_names(load_error([d]), d, None, None, "no .yaml files")


def test_error_in_directory_names_the_file(registry_dir, write_yaml):
    write_yaml("a.yaml", memory_registry("a", {"c": {}}))
    bad = write_yaml("b.yaml", memory_registry("b", {"c": {"max_size": "x"}}, databases={}))
    assert_names(load_error([registry_dir]), bad, "b:c", "max_size")


def test_merged_namespaces_and_server_sections(write_yaml):
    a = write_yaml("a.yaml", memory_registry("app", {"cache": {}}, server={"maxclients": 5, "timeout": 10}))
    b = write_yaml("b.yaml", memory_registry("other", {"cache": {"max_size": 2}}, databases={2: "other:cache"},
                                             server={"maxclients": 9}))
    reg = load([str(a), str(b)])
    assert set(reg.entries) == {"app:cache", "other:cache"}
    assert reg.server["maxclients"] == 9 and reg.server["timeout"] == 10
    stores, databases = build_stores(reg)
    assert databases[0].id == "app:cache" and databases[2].id == "other:cache"
    assert stores["other:cache"].max_size == 2


def test_cross_file_reference_by_full_id(write_yaml):
    a = write_yaml("a.yaml", memory_registry("app", {"cache": {}}, databases={}))
    b = write_yaml("b.yaml", {"version": "1.0", "namespace": "srv", "server": {"databases": {0: "app:cache"}}})
    reg = load([str(a), str(b)])
    assert reg.databases[0][0] == "app:cache"
    # a reference without the namespace is not an id
    c = write_yaml("c.yaml", {"version": "1.0", "namespace": "srv", "server": {"databases": {0: "cache"}}})
    assert_names(load_error([a, c]), c, None, "server.databases")


def test_duplicate_id_across_files(write_yaml):
    a = write_yaml("a.yaml", memory_registry("app", {"cache": {}}))
    b = write_yaml("b.yaml", memory_registry("app", {"cache": {}}, databases={}))
    err = load_error([a, b])
    assert_names(err, b, "app:cache", None, "duplicate id", str(a))


@pytest.mark.parametrize("value,seconds", [(0, 0.0), (30, 30.0), ("500ms", 0.5), ("30s", 30.0), ("5m", 300.0),
                                           ("1h", 3600.0), ("1d", 86400.0), ("1.5s", 1.5), (" 2m ", 120.0)])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "5x", "m", -1, True, None, [1]])
def test_parse_duration_errors(value):
    with pytest.raises(ValueError):
        parse_duration(value)
