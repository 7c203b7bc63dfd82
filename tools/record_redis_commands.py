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

OUT = Path(__file__).resolve().parent.parent / "respd" / "commands" / "redis_commands.json"


def _parse(buf: bytes, i: int):
    t = buf[i:i + 1]
    j = buf.index(b"\r\n", i)
    line = buf[i + 1:j]
    i = j + 2
    if t == b"+":
        return ("simple", line.decode()), i
    if t == b"-":
        raise RuntimeError(line.decode())
    if t == b":":
        return int(line), i
    if t == b"_":
        return None, i
    if t in (b"$", b"="):
        n = int(line)
        return buf[i:i + n].decode(), i + n + 2
    if t in (b"*", b"~"):
        out = []
        for _ in range(int(line)):
            v, i = _parse(buf, i)
            out.append(v)
        return (("set", out) if t == b"~" else out), i
    if t == b"%":
        out = {}
        for _ in range(int(line)):
            k, i = _parse(buf, i)
            v, i = _parse(buf, i)
            out[k] = v
        return out, i
    raise ValueError("unexpected RESP3 type %r" % t)


class _Client:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.call("HELLO", "3")

    def call(self, *args: str):
        self.sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode())
                                                          for a in args))
        while True:
            try:
                value, end = _parse(self.buf, 0)
            except (ValueError, IndexError):
                data = self.sock.recv(1 << 20)
                if not data:
                    raise EOFError("redis-server closed the connection")
                self.buf += data
                continue
            self.buf = self.buf[end:]
            return value


def _plain(value):
    """The typed parse without its set/status markers (the field names say which values are sets)."""
    if isinstance(value, tuple) and value[0] == "set":
        return [_plain(v) for v in value[1]]
    if isinstance(value, tuple) and value[0] == "simple":
        return value[1]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    c = _Client(port)
    version = c.call("INFO", "server").split("redis_version:")[1].split("\r\n")[0]
    docs, tips = {}, {}

    def visit(info):
        name = info[0]
        t = _plain(info[7])
        if t:
            tips[name] = t
        for sub in (info[9] if isinstance(info[9], list) else []):
            visit(sub)

    for info in c.call("COMMAND"):
        visit(info)
    for name, doc in c.call("COMMAND", "DOCS").items():
        subs = doc.pop("subcommands", {})
        docs[name] = _plain(doc)
        for sub_name, sub_doc in subs.items():
            sub_doc.pop("subcommands", None)
            docs[sub_name] = _plain(sub_doc)
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
