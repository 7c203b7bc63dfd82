"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and CLIENT (SPEC §4)."""
from __future__ import annotations

import time

from .. import REDIS_VERSION, errors
from ..errors import CommandError
from ..replies import NO_REPLY, OK, PONG, Map, Simple, Verbatim
from ..session import client_line
from .args import parse_int
from .spec import command, container

_CONN = ("connection", "fast")
RESET = Simple("RESET")


@command("PING", -1, ("fast",), (), _CONN, "connection", "Returns the server's liveliness response.")
def ping(sess, argv):
    if len(argv) > 2:
        raise CommandError(errors.wrong_arity("ping"))
    return PONG if len(argv) == 1 else argv[1]


@command("ECHO", 2, ("loading", "stale", "fast"), (), _CONN, "connection", "Returns the given string.")
def echo(sess, argv):
    return argv[1]


def hello_reply(sess) -> Map:
    return Map([(b"server", b"redis"), (b"version", REDIS_VERSION.encode()), (b"proto", sess.proto),
                (b"id", sess.id), (b"mode", b"standalone"), (b"role", b"master"), (b"modules", [])])


@command("HELLO", -1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), (), _CONN, "connection",
         "Handshakes with the Redis server.", since="6.0.0")
def hello(sess, argv):
    proto = None
    if len(argv) > 1:
        try:
            proto = parse_int(argv[1])
        except CommandError:
            raise CommandError(errors.HELLO_PROTO_NOT_INT) from None
        if proto not in (2, 3):
            raise CommandError(errors.NOPROTO)
    auth = None
    setname = None
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].upper()
        if opt == b"AUTH" and i + 2 < n:
            auth = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"SETNAME" and i + 1 < n:
            setname = argv[i + 1]
            i += 2
        else:
            raise CommandError(b"ERR Syntax error in HELLO option '" + argv[i] + b"'")
    if auth is None and not sess.authenticated:
        raise CommandError(errors.HELLO_NOAUTH)
    if setname is not None:
        _check_name(setname)
    if auth is not None:
        try:
            sess.app.auth.login(sess, auth[0], auth[1])  # raises WRONGPASS with nothing changed
        except CommandError as e:
            return sess.app.auth.answer_failure(sess, e)
    if setname is not None:
        sess.name = setname
    if proto is not None:
        sess.proto = proto
    return hello_reply(sess)


@command("AUTH", -2, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), (), _CONN, "connection",
         "Authenticates the connection.")
def auth(sess, argv):
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    try:
        if len(argv) == 2:
            sess.app.auth.login(sess, b"default", argv[1], one_arg=True)
        else:
            sess.app.auth.login(sess, argv[1], argv[2])
    except CommandError as e:  # WRONGPASS, answered after a delay past a few failures on this connection
        return sess.app.auth.answer_failure(sess, e)
    return OK


@command("SELECT", 2, ("loading", "stale", "fast"), (), _CONN, "connection",
         "Changes the selected database.")
def select(sess, argv):
    sess.app.select(sess, argv[1])
    return OK


@command("QUIT", -1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), (), _CONN, "connection",
         "Closes the connection.")
def quit_(sess, argv):
    sess.closing = True
    return OK


@command("RESET", 1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), (), _CONN, "connection",
         "Resets the connection.", since="6.2.0")
def reset(sess, argv):
    sess.app.monitors.pop(sess.id, None)  # leaves MONITOR mode
    sess.reset_multi()
    sess.unwatch()
    sess.proto = 2
    sess.name = b""
    sess.reply_mode = 0
    sess.no_evict = sess.no_touch = False
    sess.app.auth.reset(sess)
    sess.app.select_default(sess)
    return RESET


# --------------------------------------------------------------------------------------------------- CLIENT
container("CLIENT", -2, ("sentinel",), ("slow",), "connection", "A container for client connection commands.")
_C = ("admin", "noscript", "loading", "stale")


def _check_name(name: bytes) -> None:
    for c in name:
        if c < 0x21 or c > 0x7E:
            raise CommandError(errors.CLIENT_NAME)


@command("ID", 2, ("noscript", "loading", "stale"), (), ("slow", "connection"), "connection",
         "Returns the unique client ID of the connection.", since="5.0.0", parent="CLIENT")
def client_id(sess, argv):
    return sess.id


@command("SETNAME", 3, ("noscript", "loading", "stale"), (), ("slow", "connection"), "connection",
         "Sets the connection name.", since="2.6.9", parent="CLIENT")
def client_setname(sess, argv):
    _check_name(argv[2])
    sess.name = argv[2]
    return OK


@command("GETNAME", 2, ("noscript", "loading", "stale"), (), ("slow", "connection"), "connection",
         "Returns the name of the connection.", since="2.6.9", parent="CLIENT")
def client_getname(sess, argv):
    return sess.name or None


@command("SETINFO", 4, ("noscript", "loading", "stale"), (), ("slow", "connection"), "connection",
         "Sets information specific to the client or connection.", since="7.2.0", parent="CLIENT")
def client_setinfo(sess, argv):
    attr = argv[2].upper()
    val = argv[3]
    for c in val:
        if c < 0x21 or c > 0x7E:
            raise CommandError(b"ERR " + argv[2].lower() + b" cannot contain spaces, newlines or special "
                               b"characters.")
    if attr == b"LIB-NAME":
        sess.lib_name = val
    elif attr == b"LIB-VER":
        sess.lib_ver = val
    else:
        raise CommandError(b"ERR Unrecognized option '" + argv[2] + b"'")
    return OK


@command("INFO", 2, _C[1:], (), ("slow", "connection"), "connection",
         "Returns information about the connection.", since="6.2.0", parent="CLIENT")
def client_info(sess, argv):
    return Verbatim(client_line(sess, time.time()))


@command("LIST", -2, _C, (), ("admin", "slow", "dangerous", "connection"), "connection",
         "Lists open connections.", since="2.4.0", parent="CLIENT")
def client_list(sess, argv):
    now = time.time()
    ids = None
    if len(argv) > 2:
        opt = argv[2].upper()
        if opt == b"ID" and len(argv) > 3:
            ids = {parse_int(a, "ERR Invalid client ID") for a in argv[3:]}
        elif opt == b"TYPE" and len(argv) == 4:
            if argv[3].lower() not in (b"normal", b"master", b"replica", b"pubsub"):
                raise CommandError(b"ERR Unknown client type '" + argv[3] + b"'")
            if argv[3].lower() != b"normal":
                return Verbatim(b"")
        else:
            raise CommandError(errors.SYNTAX)
    return Verbatim(b"".join(client_line(s, now) for s in sess.app.clients.values()
                             if ids is None or s.id in ids))


@command("NO-EVICT", 3, _C, (), ("admin", "slow", "dangerous", "connection"), "connection",
         "Sets the client eviction mode of the connection.", since="7.0.0", parent="CLIENT")
def client_no_evict(sess, argv):
    sess.no_evict = _on_off(argv[2])
    return OK


@command("NO-TOUCH", 3, ("noscript", "loading", "stale"), (), ("slow", "connection"), "connection",
         "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", since="7.2.0",
         parent="CLIENT")
def client_no_touch(sess, argv):
    sess.no_touch = _on_off(argv[2])
    return OK


def _on_off(arg: bytes) -> bool:
    a = arg.upper()
    if a == b"ON":
        return True
    if a == b"OFF":
        return False
    raise CommandError(errors.SYNTAX)


@command("REPLY", 3, ("noscript", "loading", "stale"), (), ("slow", "connection"), "connection",
         "Instructs the server whether to reply to commands.", since="3.2.0", parent="CLIENT")
def client_reply(sess, argv):
    mode = argv[2].upper()
    if mode == b"ON":
        sess.reply_mode = 0
        return OK
    if mode == b"OFF":
        sess.reply_mode = 1
    elif mode == b"SKIP":
        sess.reply_mode = 2
    else:
        raise CommandError(errors.SYNTAX)
    return NO_REPLY


@command("KILL", -3, _C, (), ("admin", "slow", "dangerous", "connection"), "connection",
         "Terminates open connections.", since="2.4.0", parent="CLIENT")
def client_kill(sess, argv):
    """CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [TYPE type] [USER name]
    [SKIPME yes|no], as Redis 7.0: every filter given must match (they combine with AND); options are parsed in
    order and the first bad one answers its error before anything is killed. The old form answers +OK or
    ``No such client`` and may kill the caller itself; the new form answers the number killed and skips the caller
    unless ``SKIPME no``. A client killing itself gets its reply, then is closed."""
    app = sess.app
    filters = []
    skipme = True
    if len(argv) == 3:
        target = argv[2]
        filters.append(lambda s: s.addr.encode() == target)
        skipme = False
    else:
        i, n = 2, len(argv)
        while i < n:
            opt = argv[i].upper()
            if i + 1 >= n:
                raise CommandError(errors.SYNTAX)
            val = argv[i + 1]
            if opt == b"ID":
                cid = parse_int(val, "ERR client-id should be greater than 0")
                if cid < 1:
                    raise CommandError("ERR client-id should be greater than 0")
                filters.append(lambda s, cid=cid: s.id == cid)
            elif opt == b"TYPE":
                kind = val.lower()
                if kind not in (b"normal", b"master", b"slave", b"replica", b"pubsub"):
                    raise CommandError(b"ERR Unknown client type '" + val + b"'")
                filters.append(lambda s, kind=kind: kind == b"normal")  # respd clients are all normal clients
            elif opt == b"ADDR":
                filters.append(lambda s, val=val: s.addr.encode() == val)
            elif opt == b"LADDR":
                filters.append(lambda s, val=val: s.laddr.encode() == val)
            elif opt == b"USER":
                name = val.decode("utf-8", "surrogateescape")
                if app.auth.find(name) is None:
                    raise CommandError(b"ERR No such user '" + val + b"'")
                filters.append(lambda s, name=name: s.user == name)
            elif opt == b"SKIPME":
                flag = val.lower()
                if flag not in (b"yes", b"no"):
                    raise CommandError(errors.SYNTAX)
                skipme = flag == b"yes"
            else:
                raise CommandError(errors.SYNTAX)
            i += 2
    killed = 0
    for s in list(app.clients.values()):
        if all(f(s) for f in filters) and not (s is sess and skipme):
            if s is sess:
                sess.closing = True  # after this reply (Redis' CLIENT_CLOSE_AFTER_REPLY)
            else:
                app.kill_client(s)
            killed += 1
    if len(argv) == 3:
        if not killed:
            raise CommandError("ERR No such client")
        return OK
    return killed


@command("HELP", 2, ("loading", "stale"), (), ("slow", "connection"), "connection", "Returns helpful text about the "
         "different subcommands.", since="5.0.0", parent="CLIENT")
def client_help(sess, argv):
    return [Simple(line) for line in (
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "LIST [TYPE normal|master|replica|pubsub] [ID <id> [<id> ...]]", "    Return information about client connections.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "GETNAME", "    Return the name of the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client meta attr.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
        "    * USER <username>", "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
        "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
        "NO-EVICT (ON|OFF)", "    Protect the current client connection from eviction.",
        "NO-TOUCH (ON|OFF)", "    Will not touch LRU/LFU stats when this mode is on.",
        "HELP", "    Print this help.")]
