"""Record Redis' command metadata for respd's COMMAND DOCS / COMMAND INFO tips.

Usage: ``python tools/record_redis_commands.py [PORT]`` with a redis-server 7.0.15 listening on PORT (default 6379);
writes ``respd/commands/redis_commands.json``.

What is recorded, per command and subcommand (full names such as ``client|setname``), exactly as Redis 7.0.15
replies them: the ``COMMAND DOCS`` map without its ``subcommands`` entry (respd lists only the subcommands it
implements) and the ``tips`` of ``COMMAND INFO``. Arity, flags, key positions, key specs and ACL categories are not
recorded: respd declares them in its command table (``respd.commands.table``), which dispatch and ACL use, and
``tests/differential/test_command_meta_vs_redis.py`` compares that table with redis-server.

The JSON keeps Redis' field order. Value types follow from the field names (see ``commands.meta._docs_value``): maps are
objects, ``flags``/``doc_flags`` are sets of status strings, ``history`` is a set of [since, change] pairs, other
strings are bulk strings. Redis' command documentation is BSD-3 licensed (redis/redis 7.0).
"""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import hiredis

OUT = Path(__file__).resolve().parent.parent / "respd" / "commands" / "redis_commands.json"


class _Client:
    """One RESP3 connection; hiredis parses the replies (maps as dicts, sets and arrays as lists, statuses as str)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = hiredis.Reader(encoding="utf-8")
        self.call("HELLO", "3")

    def call(self, *args: str):
        self.sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode())
                                                          for a in args))
        while True:
            value = self.reader.gets()
            if value is not False:
                if isinstance(value, hiredis.ReplyError):
                    raise RuntimeError(str(value))
                return value
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("redis-server closed the connection")
            self.reader.feed(data)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    c = _Client(port)
    version = c.call("INFO", "server").split("redis_version:")[1].split("\r\n")[0]
    docs, tips = {}, {}

    def visit(info):
        name = info[0]
        t = info[7]
        if t:
            tips[name] = t
        for sub in (info[9] if isinstance(info[9], list) else []):
            visit(sub)

    for info in c.call("COMMAND"):
        visit(info)
    for name, doc in c.call("COMMAND", "DOCS").items():
        subs = doc.pop("subcommands", {})
        docs[name] = doc
        for sub_name, sub_doc in subs.items():
            sub_doc.pop("subcommands", None)
            docs[sub_name] = sub_doc
    lines = ['{"redis_version": %s,' % json.dumps(version), ' "tips": {']
    lines.append(",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in sorted(tips.items())))
    lines.append(' },\n "docs": {')
    lines.append(",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v, separators=(",", ":")))
                            for k, v in sorted(docs.items())))
    lines.append(" }\n}\n")
    OUT.write_text("\n".join(lines))
    print("%s: %d commands documented, %d with tips (redis %s)" % (OUT, len(docs), len(tips), version))


if __name__ == "__main__":
    main()
