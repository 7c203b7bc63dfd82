"""Command line: ``respd`` / ``python -m respd``.

    respd [--config FILE|DIR]... [--bind ADDR] [--port N] [--log-level LEVEL]
    respd --check-config FILE|DIR [...]        validate a registry and exit
    respd sql-schema STORE_ID [--config ...]    print the DDL of a SQL store

Any problem that prevents starting (unreadable file, invalid entry, port in use) is one line on stderr and exit 1.
"""
from __future__ import annotations

import argparse
import logging
import sys

from . import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="respd", description="A Redis-protocol server serving registry-defined stores.")
    p.add_argument("command", nargs="?", choices=["serve", "sql-schema"], default="serve",
                   help="serve (default) or sql-schema STORE_ID")
    p.add_argument("store_id", nargs="?", help="store id for sql-schema")
    p.add_argument("-c", "--config", action="append", metavar="FILE",
                   help="registry file or directory of .yaml files (repeatable; default: the embedded registry)")
    p.add_argument("--check-config", action="append", metavar="FILE", help="validate registry file(s) and exit")
    p.add_argument("--bind", help="address(es) to listen on, space separated (default 127.0.0.1)")
    p.add_argument("-p", "--port", type=int, help="TCP port (default 6379; 0 picks a free one)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="logging level")
    p.add_argument("--version", action="version", version="respd %s" % __version__)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from .registry import ConfigError, load

    level = (args.log_level or "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.check_config:
            reg = load(args.check_config)
            from .server import make_app
            make_app(reg)  # builds stores and users: catches what only construction finds
            print("%s: OK (%d entries, %d databases)" % (", ".join(reg.files), len(reg.entries),
                                                         len(reg.databases)))
            return 0
        reg = load(args.config)
        if args.command == "sql-schema":
            return _sql_schema(reg, args.store_id)
        if args.log_level is None and reg.server.get("log_level"):
            lvl = reg.server["log_level"]
            logging.getLogger().setLevel({"notice": "INFO"}.get(lvl, lvl.upper()))
        from .server import StartupError, make_app, serve
        app = make_app(reg, {"bind": args.bind, "port": args.port})
    except ConfigError as e:
        print("respd: config error: %s" % e, file=sys.stderr)
        return 1
    import trio
    try:
        trio.run(serve, app)
    except StartupError as e:
        print("respd: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _sql_schema(reg, store_id) -> int:
    from .registry import build_stores
    if not store_id:
        print("respd: sql-schema needs a STORE_ID", file=sys.stderr)
        return 2
    stores, _ = build_stores(reg)
    store = stores.get(store_id)
    if store is None or store.kind != "store.sql":
        known = ", ".join(sorted(s.id for s in stores.values() if s.kind == "store.sql")) or "none"
        print("respd: %r is not a store.sql entry (SQL stores: %s)" % (store_id, known), file=sys.stderr)
        return 1
    from backends.sql import schema_ddl
    print(schema_ddl(store))
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
