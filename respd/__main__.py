"""Command line: ``respd`` / ``python -m respd``.

    respd [--config FILE|DIR]... [--bind ADDR] [--port N] [--log-level LEVEL]
    respd --check-config FILE|DIR [FILE|DIR ...] [--bind ADDR] [--port N]   validate a registry and exit
    respd sql-schema STORE_ID [--config ...]    print the DDL of a SQL store

Any problem that prevents starting (unreadable file, invalid entry, unusable TLS files, port in use) is one line on
stderr and exit 1. ``--check-config`` runs every check a start runs short of listening and connecting to databases
(``validate``): the registry, building stores and users, the aclfile, the TLS files loaded into a real SSLContext,
and the bind addresses resolved; settings that have no effect (TLS files without ``tls_port``) are warnings.
"""
from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .errors import BIND_UNUSABLE, SQL_SCHEMA_NO_ID, SQL_SCHEMA_NOT_SQL, StartupError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="respd", description="A Redis-protocol server serving registry-defined stores.")
    p.add_argument("command", nargs="?", choices=["serve", "sql-schema"], default="serve",
                   help="serve (default) or sql-schema STORE_ID")
    p.add_argument("store_id", nargs="?", help="store id for sql-schema")
    p.add_argument("-c", "--config", action="append", metavar="FILE",
                   help="registry file or directory of .yaml files (repeatable; default: the embedded registry)")
    p.add_argument("--check-config", nargs="+", action="extend", metavar="FILE|DIR",
                   help="validate registry files or directories (as a start would, short of listening) and exit")
    p.add_argument("--bind", help="address(es) to listen on, space separated (default 127.0.0.1)")
    p.add_argument("-p", "--port", type=int, help="TCP port (default 6379; 0 picks a free one)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="logging level")
    p.add_argument("--version", action="version", version="respd %s" % __version__)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    # lazy (here and below): --help and --version answer without importing the registry, the server and trio
    # (about 0.3 s; python -X importtime -m respd --help)
    from .registry import ConfigError, load

    level = (args.log_level or "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"bind": args.bind, "port": args.port}
    try:
        if args.check_config:
            reg = load(args.check_config)
            from .server import make_app  # lazy: see above
            app = make_app(reg, overrides)  # builds stores and users: catches what only construction finds
            for warning in validate(reg, app.settings, resolve=True):
                print("respd: warning: %s" % warning, file=sys.stderr)
            print("%s: OK (%d entries, %d databases)" % (", ".join(reg.files), len(reg.entries),
                                                         len(reg.databases)))
            return 0
        reg = load(args.config)
        if args.command == "sql-schema":
            return _sql_schema(reg, args.store_id)
        if args.log_level is None and reg.server.get("log_level"):
            lvl = reg.server["log_level"]
            logging.getLogger().setLevel({"notice": "INFO"}.get(lvl, lvl.upper()))
        from .server import make_app, serve  # lazy: see above
        app = make_app(reg, overrides)
        for warning in validate(reg, app.settings):
            logging.getLogger("respd").warning("%s", warning)
    except ConfigError as e:
        print("respd: config error: %s" % e, file=sys.stderr)
        return 1
    import trio  # lazy: see above
    try:
        trio.run(serve, app)
    except StartupError as e:
        print("respd: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def validate(reg, settings: dict, resolve: bool = False) -> list:
    """The checks of a start that the registry alone cannot make: the TLS settings (files loaded into an
    SSLContext, ``tls_port`` != ``port``) and, with ``resolve``, the ``bind`` addresses. Raises ConfigError naming
    the file and the server setting; returns warnings (ConfigError texts) for settings without effect."""
    import socket  # lazy (main has imported the server by now): keeps --help fast

    from .net.tls import TLSConfigError, check_settings
    from .registry import ConfigError

    def where(*fields) -> str:
        for f in fields:
            if f in reg.server_files:
                return reg.server_files[f]
        return reg.files[-1] if reg.files else "<command line>"

    try:
        warnings = check_settings(settings)
    except TLSConfigError as e:
        raise ConfigError(where(e.field, "tls_port"), e.message, None, "server." + e.field) from None
    out = [str(ConfigError(where("tls_cert_file", "tls_key_file", "tls_ca_cert_file"), w, None, "server.tls_port"))
           for w in warnings]
    if resolve:
        for host in settings.get("bind", "127.0.0.1").split():
            try:
                socket.getaddrinfo(host, settings.get("port", 6379), type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
            except (OSError, UnicodeError) as e:
                raise ConfigError(where("bind"), BIND_UNUSABLE % (host, getattr(e, "strerror", None) or e), None,
                                  "server.bind") from None
    return out


def _sql_schema(reg, store_id) -> int:
    from .registry import build_stores  # lazy (main has imported it by now): keeps --help fast
    if not store_id:
        print("respd: %s" % SQL_SCHEMA_NO_ID, file=sys.stderr)
        return 2
    stores, _ = build_stores(reg)
    store = stores.get(store_id)
    if store is None or store.kind != "store.sql":
        known = ", ".join(sorted(s.id for s in stores.values() if s.kind == "store.sql")) or "none"
        print("respd: " + SQL_SCHEMA_NOT_SQL % (store_id, known), file=sys.stderr)
        return 1
    from backends.sql.schema import schema_ddl  # lazy: only sql-schema needs it
    print(schema_ddl(store))
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
