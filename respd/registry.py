"""The registry: YAML files → validated entries → store objects.

File shape (the seeds' shape)::

    version: "1.0"
    namespace: app                 # entry ids are namespace:name
    server: {...}                  # respd's own settings, see SERVER_FIELDS
    entries:
      - {name: cache, kind: store.memory, max_size: 10000, cleanup_interval: "5m"}

Several files merge: each has its own namespace, references between entries are full ids, ``server`` sections
merge key by key (a later file wins; ``databases`` maps merge index by index). Every field is validated with its
default; unknown kinds and fields are errors. Errors name the file, the entry and the field, in one line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import yaml

from backends.memory import MemoryStore
from backends.sql.names import validate_identifier

from . import REDIS_VERSION, notify, outbuf
from .units import parse_duration, parse_memory

ID_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
#: libyaml's safe loader when PyYAML was built with it (faster: bench/README.md, "Startup"), else PyYAML's
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conf", "respd.yaml")


class ConfigError(Exception):
    """A registry problem; ``str()`` is the one line shown to the user."""

    def __init__(self, file: str, message: str, entry: Optional[str] = None, field_: Optional[str] = None):
        where = file
        if entry:
            where += ": entry '%s'" % entry
        if field_:
            where += ", field '%s'" % field_ if entry else ": field '%s'" % field_
        super().__init__("%s: %s" % (where, message))
        self.file, self.entry, self.field = file, entry, field_


# ------------------------------------------------------------------------------------------ value converters
def _int(minimum: int = 0, maximum: Optional[int] = None) -> Callable:
    def conv(v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("must be an integer")
        if v < minimum or (maximum is not None and v > maximum):
            raise ValueError("must be between %d and %s" % (minimum, maximum if maximum is not None else "∞"))
        return v
    return conv


def _memory(v):
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    if isinstance(v, str):
        n = parse_memory(v.encode())
        if n is not None:
            return n
    raise ValueError("must be a memory size like 0, 1048576, \"512mb\" or \"1gb\"")


def _obuf_limits(v):
    """Redis' client-output-buffer-limit syntax: ``normal 0 0 0 pubsub 32mb 8mb 60`` (see respd.outbuf)."""
    if not isinstance(v, str):
        raise ValueError("must be a string like \"normal 0 0 0 pubsub 32mb 8mb 60\"")
    outbuf.parse(v.encode())  # ValueError with Redis' text
    return v


def _notify_events(v):
    """notify-keyspace-events: Redis' class characters (``KEA``, ``Ex``...; "" = off), see respd.notify."""
    if not isinstance(v, str) or notify.parse(v.encode()) is None:
        raise ValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return v


def _version(v):
    """redis_version: the Redis version respd reports (HELLO, INFO), three numbers like 7.0.15."""
    if not isinstance(v, str) or not re.fullmatch(r"\d{1,4}\.\d{1,4}\.\d{1,4}", v):
        raise ValueError("must be a version like \"7.0.15\" (three numbers)")
    return v


def _str(v):
    if not isinstance(v, str) or not v:
        raise ValueError("must be a non-empty string")
    return v


def _bool(v):
    if not isinstance(v, bool):
        raise ValueError("must be true or false")
    return v


def _choice(*options):
    def conv(v):
        if v not in options:
            raise ValueError("must be one of: " + ", ".join(options))
        return v
    return conv


def _dict(v):
    if not isinstance(v, dict):
        raise ValueError("must be a mapping")
    return v


def _list_of_str(v):
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError("must be a list of strings")
    return v


def _lifecycle(v):
    v = _dict(v)
    unknown = set(v) - {"auto_start"}
    if unknown:
        raise ValueError("unknown field(s): " + ", ".join(sorted(unknown)))
    if "auto_start" in v:
        _bool(v["auto_start"])
    return v


def _any(v):
    return v


_NOT_SET = object()

#: server settings: name -> (converter, default)
SERVER_FIELDS: dict[str, tuple] = {
    "bind": (_str, "127.0.0.1"),
    "port": (_int(0, 65535), 6379),
    "databases": (_dict, {}),
    "default_db": (_int(0), 0),
    "maxclients": (_int(1), 10000),
    "timeout": (_int(0), 0),
    "maxmemory": (_memory, 0),
    "proto_max_bulk_len": (_memory, 512 * 1024 * 1024),
    "client_query_buffer_limit": (_memory, 1024 * 1024 * 1024),
    "client_output_buffer_limit": (_obuf_limits, ""),
    "log_level": (_choice("debug", "info", "warning", "error", "critical", "notice"), "info"),
    "requirepass": (_str, None),
    "protected_mode": (_bool, True),
    "aclfile": (_str, None),
    "shutdown_grace": (parse_duration, 5.0),
    "save": (_any, ""),
    "tls_port": (_int(0, 65535), 0),
    "tls_cert_file": (_str, None),
    "tls_key_file": (_str, None),
    "tls_ca_cert_file": (_str, None),
    "tls_auth_clients": (_choice("yes", "no", "optional"), "no"),
    "tls_key_file_pass": (_str, None),
    "auth_failure_delay": (parse_duration, 1.0),
    "busy_reply_threshold": (parse_duration, 5.0),
    "lua_max_memory": (_memory, 64 * 1024 * 1024),
    "notify_keyspace_events": (_notify_events, ""),
    "redis_version": (_version, REDIS_VERSION),
}

_COMMON = {"name": (_str, _NOT_SET), "kind": (_str, _NOT_SET), "lifecycle": (_lifecycle, {}),
           "description": (_any, "")}

#: entry kinds: kind -> {field: (converter, default)}
KINDS: dict[str, dict] = {
    "store.memory": {"max_size": (_int(0), 10000), "cleanup_interval": (parse_duration, 300.0)},
    "store.sql": {"database": (_str, _NOT_SET), "table_name": (_str, _NOT_SET), "id_column_name": (_str, "key"),
                  "payload_column_name": (_str, "value"), "expire_column_name": (_str, "expires_at"),
                  "cleanup_interval": (parse_duration, 0.0), "max_size": (_int(0), 0),
                  "create_table": (_bool, False), "max_value_size": (_memory, 16 * 1024 * 1024)},
    "db.sql.postgres": {"dsn": (_str, None), "dsn_env": (_str, None), "pool": (_dict, {}),
                        "connect_timeout": (parse_duration, 5.0), "command_timeout": (parse_duration, 5.0)},
    "security.user": {"username": (_str, None), "password_sha256": (_any, None), "password": (_any, None),
                      "password_env": (_str, None), "enabled": (_bool, True), "groups": (_list_of_str, []),
                      "meta": (_dict, {}), "nopass": (_bool, False), "rules": (_any, None)},
    "security.policy": {"policy": (_dict, _NOT_SET), "groups": (_list_of_str, []), "users": (_list_of_str, [])},
}


@dataclass
class Entry:
    id: str
    kind: str
    file: str
    fields: dict


@dataclass
class Registry:
    files: list = field(default_factory=list)
    server: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)       # id -> Entry
    databases: dict = field(default_factory=dict)     # index -> (store id, file)
    server_files: dict = field(default_factory=dict)  # server setting -> the file that set it (the last one)

    def error(self, entry: Entry, field_: Optional[str], message: str) -> ConfigError:
        return ConfigError(entry.file, message, entry.id, field_)


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given; a directory stands for its *.yaml / *.yml files in name order."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            names = sorted(n for n in os.listdir(p) if n.endswith((".yaml", ".yml")))
            if not names:
                raise ConfigError(p, "directory contains no .yaml files")
            out += [os.path.join(p, n) for n in names]
        else:
            out.append(p)
    return out


def load(paths: Optional[list[str]] = None) -> Registry:
    """Read, merge and validate registry files (the embedded default when none are given)."""
    reg = Registry()
    for path in expand_paths(list(paths) if paths else [DEFAULT_CONFIG]):
        _load_file(reg, path)
    _validate(reg)
    return reg


def _load_file(reg: Registry, path: str) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=_SafeLoader)
    except OSError as e:
        raise ConfigError(path, "cannot read file: %s" % (e.strerror or e)) from None
    except UnicodeDecodeError as e:
        raise ConfigError(path, "cannot read file: not UTF-8 text (byte %d)" % e.start) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark is not None else ""
        raise ConfigError(path, "invalid YAML%s: %s" % (where, getattr(e, "problem", None) or e)) from None
    reg.files.append(path)
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise ConfigError(path, "the file must be a mapping with version, namespace, server and entries")
    unknown = set(doc) - {"version", "namespace", "server", "entries"}
    if unknown:
        raise ConfigError(path, "unknown top-level field(s): " + ", ".join(sorted(map(str, unknown))))
    if str(doc.get("version", "1.0")) not in ("1.0", "1"):
        raise ConfigError(path, "unsupported version %r (expected \"1.0\")" % doc.get("version"), None, "version")
    ns = doc.get("namespace")
    entries = doc.get("entries") or []
    if entries and (not isinstance(ns, str) or not ID_PART.match(ns)):
        raise ConfigError(path, "must be a name like \"app\" (letters, digits, _ . -)", None, "namespace")
    server = doc.get("server") or {}
    if not isinstance(server, dict):
        raise ConfigError(path, "must be a mapping", None, "server")
    for key, value in server.items():
        if key not in SERVER_FIELDS:
            raise ConfigError(path, "unknown server setting (known: %s)" % ", ".join(sorted(SERVER_FIELDS)),
                              None, "server.%s" % key)
        conv = SERVER_FIELDS[key][0]
        try:
            value = conv(value)
        except ValueError as e:
            raise ConfigError(path, str(e), None, "server.%s" % key) from None
        if key == "databases":
            for idx, sid in value.items():
                if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
                    raise ConfigError(path, "database indexes must be integers >= 0 (got %r)" % (idx,), None,
                                      "server.databases")
                if not isinstance(sid, str) or ":" not in sid:
                    raise ConfigError(path, "index %d must map to a store id like \"app:cache\" (got %r)"
                                      % (idx, sid), None, "server.databases")
                reg.databases[idx] = (sid, path)
        else:
            reg.server[key] = value
            reg.server_files[key] = path
    if not isinstance(entries, list):
        raise ConfigError(path, "must be a list", None, "entries")
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ConfigError(path, "entry #%d must be a mapping" % (i + 1), None, "entries")
        name = raw.get("name")
        label = "%s:%s" % (ns, name) if isinstance(name, str) else "#%d" % (i + 1)
        if not isinstance(name, str) or not ID_PART.match(name):
            raise ConfigError(path, "must be a name (letters, digits, _ . -)", label, "name")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ConfigError(path, "unknown kind %r (known: %s)" % (kind, ", ".join(sorted(KINDS))), label,
                              "kind")
        schema = dict(_COMMON, **KINDS[kind])
        fields = {}
        for key, value in raw.items():
            if key not in schema:
                raise ConfigError(path, "unknown field for kind %s (known: %s)"
                                  % (kind, ", ".join(sorted(k for k in schema if k not in ("name", "kind")))),
                                  label, str(key))
            try:
                fields[key] = schema[key][0](value)
            except ValueError as e:
                raise ConfigError(path, str(e), label, str(key)) from None
        for key, (_, default) in schema.items():
            if key not in fields:
                if default is _NOT_SET:
                    raise ConfigError(path, "is required for kind %s" % kind, label, key)
                fields[key] = default
        if label in reg.entries:
            raise ConfigError(path, "duplicate id (also defined in %s)" % reg.entries[label].file, label)
        reg.entries[label] = Entry(label, kind, path, fields)


def _validate(reg: Registry) -> None:
    for entry in reg.entries.values():
        f = entry.fields
        if entry.kind == "store.sql":
            db = reg.entries.get(f["database"])
            if db is None or db.kind != "db.sql.postgres":
                raise reg.error(entry, "database", "must name a db.sql.postgres entry by full id (got %r)"
                                % f["database"])
            for name in ("table_name", "id_column_name", "payload_column_name", "expire_column_name"):
                try:
                    validate_identifier(f[name], allow_schema=(name == "table_name"))
                except ValueError as e:
                    raise reg.error(entry, name, str(e)) from None
        elif entry.kind == "db.sql.postgres":
            if (f["dsn"] is None) == (f["dsn_env"] is None):
                raise reg.error(entry, "dsn", "exactly one of dsn or dsn_env must be set")
            pool = f["pool"]
            unknown = set(pool) - {"min", "max"}
            if unknown:
                raise reg.error(entry, "pool", "unknown field(s): " + ", ".join(sorted(map(str, unknown))))
            for k, default in (("min", 1), ("max", 10)):
                v = pool.get(k, default)
                if isinstance(v, bool) or not isinstance(v, int) or v < (0 if k == "min" else 1):
                    raise reg.error(entry, "pool.%s" % k, "must be an integer >= %d" % (0 if k == "min" else 1))
            if pool.get("min", 1) > pool.get("max", 10):
                raise reg.error(entry, "pool", "min must not exceed max")
    for idx, (sid, path) in sorted(reg.databases.items()):
        e = reg.entries.get(sid)
        if e is None or not e.kind.startswith("store."):
            raise ConfigError(path, "index %d refers to %r, which is not a store entry" % (idx, sid), None,
                              "server.databases")
    if "default_db" in reg.server and reg.databases and reg.server["default_db"] not in reg.databases:
        raise ConfigError(reg.files[-1], "index %d is not mapped in server.databases" % reg.server["default_db"],
                          None, "server.default_db")


def build_stores(reg: Registry) -> tuple[dict, dict]:
    """Create the store objects (not started): (store id -> Store, SELECT index -> Store)."""
    stores = {}
    databases = {}
    pg = {}
    tables = {}  # (host, port, dbname, schema.table) -> id of the SQL store using it
    for entry in reg.entries.values():
        f = entry.fields
        if entry.kind == "store.memory":
            stores[entry.id] = MemoryStore(entry.id, max_size=f["max_size"], cleanup_interval=f["cleanup_interval"])
        elif entry.kind == "store.sql":
            # lazy: the SQL backend loads psycopg, ~0.2 s of every start of a respd without SQL stores
            from backends.pg.pool import PgDatabase
            from backends.sql.store import SQLStore
            db_entry = reg.entries[f["database"]]
            if db_entry.id not in pg:
                dsn = db_entry.fields["dsn"]
                if dsn is None:
                    env = db_entry.fields["dsn_env"]
                    dsn = os.environ.get(env)
                    if not dsn:
                        raise reg.error(db_entry, "dsn_env", "environment variable %s is not set" % env)
                pool = db_entry.fields["pool"]
                pg[db_entry.id] = PgDatabase(db_entry.id, dsn, pool_min=pool.get("min", 1),
                                             pool_max=pool.get("max", 10),
                                             connect_timeout=db_entry.fields["connect_timeout"],
                                             command_timeout=db_entry.fields["command_timeout"])
            # Two stores on one table would silently share their keys (and FLUSHDB of one would wipe the other):
            # compare where the DSNs lead, not how they are spelled. An unqualified table is taken as public.
            # lazy: as above
            from backends.pg.dsn import database_target
            try:
                target = database_target(pg[db_entry.id].dsn)
            except ValueError as e:
                raise reg.error(db_entry, "dsn_env" if db_entry.fields["dsn"] is None else "dsn", str(e)) from None
            table = f["table_name"] if "." in f["table_name"] else "public." + f["table_name"]
            other = tables.setdefault(target + (table,), entry.id)
            if other != entry.id:
                raise reg.error(entry, "table_name", "table %s on database %s at %s:%s is already used by store "
                                "'%s'; each SQL store needs a table of its own" % (table, target[2], target[0],
                                                                                  target[1], other))
            try:
                stores[entry.id] = SQLStore(entry.id, pg[db_entry.id], table_name=f["table_name"],
                                            id_column_name=f["id_column_name"],
                                            payload_column_name=f["payload_column_name"],
                                            expire_column_name=f["expire_column_name"],
                                            cleanup_interval=f["cleanup_interval"], max_size=f["max_size"],
                                            create_table=f["create_table"], max_value_size=f["max_value_size"])
            except ValueError as e:
                raise reg.error(entry, None, str(e)) from None
    for entry in reg.entries.values():
        if entry.id in stores:
            stores[entry.id].auto_start = auto_start(entry)
    for idx, (sid, _) in reg.databases.items():
        databases[idx] = stores[sid]
    return stores, databases


def auto_start(entry: Entry) -> bool:
    """``lifecycle.auto_start`` (default true): start the store before accepting clients, a failure being fatal.
    False: start it in the background once respd is up, retrying until it works (commands on it answer
    ``-ERR store ... is unavailable`` meanwhile), so an unreachable database does not keep respd from starting."""
    return entry.fields.get("lifecycle", {}).get("auto_start", True)
