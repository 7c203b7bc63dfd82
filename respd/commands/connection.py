"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and CLIENT (SPEC §4)."""
from __future__ import annotations

import time

from .. import errors, pubsub
from ..errors import CommandError
from ..replies import NO_REPLY, OK, PONG, Map, Simple, Verbatim
from ..session import client_line
from .args import Options, parse_int
from .table import command, container

_CONN = "connection fast"
_SESSION = "noscript loading stale fast no_auth allow_busy"   # the flags of AUTH, HELLO, QUIT, RESET
RESET = Simple("RESET")


@command("ping", arity=-1, flags="fast", categories=_CONN, group="connection",
         summary="Returns the server's liveliness response.")
def ping(sess, argv):
    if len(argv) > 2:
        raise CommandError(errors.wrong_arity("ping"))
    if sess.subs is not None and sess.proto == 2:  # Redis' subscribed-mode form: ["pong", argument or ""]
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return PONG if len(argv) == 1 else argv[1]


@command("echo", arity=2, flags="loading stale fast", categories=_CONN, group="connection",
         summary="Returns the given string.")
def echo(sess, argv):
    return argv[1]


def hello_reply(sess) -> Map:
    return Map([(b"server", b"redis"), (b"version", sess.app.redis_version.encode()), (b"proto", sess.proto),
                (b"id", sess.id), (b"mode", b"standalone"), (b"role", b"master"), (b"modules", [])])


def _check_name(name: bytes) -> bytes:
    for c in name:
        if c < 0x21 or c > 0x7E:
            raise CommandError(errors.CLIENT_NAME)
    return name


# Redis checks a SETNAME name when it meets it, before the options after it (and before NOAUTH)
_HELLO_OPTIONS = Options("[AUTH username password] [SETNAME clientname]", convert={"SETNAME": _check_name},
                         error=errors.hello_option)


@command("hello", arity=-1, flags=_SESSION, categories=_CONN, group="connection", since="6.0.0",
         switches_store=True, summary="Handshakes with the Redis server.")
def hello(sess, argv):
    """HELLO [protover [AUTH username password] [SETNAME clientname]]"""
    proto = None
    if len(argv) > 1:
        try:
            proto = parse_int(argv[1])
        except CommandError:
            raise CommandError(errors.HELLO_PROTO_NOT_INT) from None
        if proto not in (2, 3):
            raise CommandError(errors.NOPROTO)
    opts = _HELLO_OPTIONS.parse(argv, 2)
    auth = opts.get("AUTH")
    setname = opts.get("SETNAME")
    if auth is None and not sess.authenticated:
        raise CommandError(errors.HELLO_NOAUTH)
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


@command("auth", arity=-2, flags=_SESSION, categories=_CONN, group="connection", switches_store=True,
         summary="Authenticates the connection.")
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


@command("select", arity=2, flags="loading stale fast", categories=_CONN, group="connection", switches_store=True,
         selects_store=True, summary="Changes the selected database.")
def select(sess, argv):
    sess.app.select(sess, argv[1])
    return OK


@command("quit", arity=-1, flags=_SESSION, categories=_CONN, group="connection", multi_immediate=True,
         summary="Closes the connection.")
def quit_(sess, argv):
    sess.closing = True
    return OK


@command("reset", arity=1, flags=_SESSION, categories=_CONN, group="connection", since="6.2.0",
         multi_immediate=True, summary="Resets the connection.")
def reset(sess, argv):
    sess.app.monitors.pop(sess.id, None)  # leaves MONITOR mode
    pubsub.leave(sess)  # and every Pub/Sub subscription, without confirmations
    sess.app.tracking.disable(sess)  # and client tracking
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
container("CLIENT", arity=-2, flags="sentinel", categories="slow", group="connection",
          summary="A container for client connection commands.")
_C = "admin noscript loading stale"
_PLAIN = "noscript loading stale"


@command("id", parent="CLIENT", arity=2, flags=_PLAIN, categories="slow connection",
         group="connection", since="5.0.0", summary="Returns the unique client ID of the connection.")
def client_id(sess, argv):
    return sess.id


@command("setname", parent="CLIENT", arity=3, flags=_PLAIN, categories="slow connection",
         group="connection", since="2.6.9", summary="Sets the connection name.")
def client_setname(sess, argv):
    _check_name(argv[2])
    sess.name = argv[2]
    return OK


@command("getname", parent="CLIENT", arity=2, flags=_PLAIN, categories="slow connection",
         group="connection", since="2.6.9", summary="Returns the name of the connection.")
def client_getname(sess, argv):
    return sess.name or None


@command("setinfo", parent="CLIENT", arity=4, flags=_PLAIN, categories="slow connection",
         group="connection", since="7.2.0", summary="Sets information specific to the client or connection.")
def client_setinfo(sess, argv):
    attr = argv[2].upper()
    val = argv[3]
    for c in val:
        if c < 0x21 or c > 0x7E:
            raise CommandError(errors.setinfo_value(argv[2]))
    if attr == b"LIB-NAME":
        sess.lib_name = val
    elif attr == b"LIB-VER":
        sess.lib_ver = val
    else:
        raise CommandError(errors.unrecognized_option(argv[2]))
    return OK


@command("info", parent="CLIENT", arity=2, flags=_PLAIN, categories="slow connection",
         group="connection", since="6.2.0", summary="Returns information about the connection.")
def client_info(sess, argv):
    return Verbatim(client_line(sess, time.time()))


@command("list", parent="CLIENT", arity=-2, flags=_C, categories="admin slow dangerous connection",
         group="connection", since="2.4.0", summary="Lists open connections.")
def client_list(sess, argv):
    now = time.time()
    ids = None
    kind = None
    if len(argv) > 2:
        opt = argv[2].upper()
        if opt == b"ID" and len(argv) > 3:
            ids = {parse_int(a, errors.INVALID_CLIENT_ID) for a in argv[3:]}
        elif opt == b"TYPE" and len(argv) == 4:
            if argv[3].lower() not in (b"normal", b"master", b"replica", b"pubsub"):
                raise CommandError(errors.unknown_client_type(argv[3]))
            kind = argv[3].lower()
        else:
            raise CommandError(errors.SYNTAX)
    return Verbatim(b"".join(client_line(s, now) for s in sess.app.clients.values()
                             if (ids is None or s.id in ids) and (kind is None or _client_type(s) == kind)))


def _client_type(sess) -> bytes:
    """Redis' getClientType for respd's clients: ``pubsub`` while holding subscriptions, else ``normal`` (monitors
    included, as in Redis; respd has no replicas or masters)."""
    return b"pubsub" if sess.subs is not None else b"normal"


@command("no-evict", parent="CLIENT", arity=3, flags=_C, categories="admin slow dangerous connection",
         group="connection", since="7.0.0", summary="Sets the client eviction mode of the connection.")
def client_no_evict(sess, argv):
    sess.no_evict = _on_off(argv[2])
    return OK


@command("no-touch", parent="CLIENT", arity=3, flags=_PLAIN, categories="slow connection",
         group="connection", since="7.2.0",
         summary="Controls whether commands sent by the client affect the LRU/LFU of accessed keys.")
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


@command("reply", parent="CLIENT", arity=3, flags=_PLAIN, categories="slow connection",
         group="connection", since="3.2.0", summary="Instructs the server whether to reply to commands.")
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


def _client_id(val: bytes) -> int:
    cid = parse_int(val, errors.CLIENT_ID)
    if cid < 1:
        raise CommandError(errors.CLIENT_ID)
    return cid


def _kill_type(val: bytes) -> bytes:
    kind = val.lower()
    if kind not in (b"normal", b"master", b"slave", b"replica", b"pubsub"):
        raise CommandError(errors.unknown_client_type(val))
    return kind


def _kill_user(app, val: bytes) -> str:
    name = val.decode("utf-8", "surrogateescape")
    if app.auth.find(name) is None:
        raise CommandError(errors.no_such_user(val))
    return name


def _yes_no(val: bytes) -> bool:
    flag = val.lower()
    if flag not in (b"yes", b"no"):
        raise CommandError(errors.SYNTAX)
    return flag == b"yes"


# each filter checked when it is met, in order; a filter given twice: the last one counts (as in Redis)
_KILL_OPTIONS = Options("[ID client-id] [TYPE type] [ADDR ip:port] [LADDR ip:port] [USER username] [SKIPME yes-no]",
                        convert={"ID": _client_id, "TYPE": _kill_type, "SKIPME": _yes_no})
_KILL_FILTERS = (("ID", lambda cid: lambda s: s.id == cid),
                 ("TYPE", lambda kind: lambda s: kind == _client_type(s)),
                 ("ADDR", lambda addr: lambda s: s.addr.encode() == addr),
                 ("LADDR", lambda addr: lambda s: s.laddr.encode() == addr),
                 ("USER", lambda name: lambda s: s.user == name))


@command("kill", parent="CLIENT", arity=-3, flags=_C, categories="admin slow dangerous connection",
         group="connection", since="2.4.0", summary="Terminates open connections.")
def client_kill(sess, argv):
    """CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [TYPE type] [USER name]
    [SKIPME yes|no], as Redis 7.0: every filter given must match (they combine with AND); options are parsed in
    order and the first bad one answers its error before anything is killed; a filter given twice counts once, with
    its last value. The old form answers +OK or
    ``No such client`` and may kill the caller itself; the new form answers the number killed and skips the caller
    unless ``SKIPME no``. A client killing itself gets its reply, then is closed."""
    app = sess.app
    if len(argv) == 3:
        target = argv[2]
        filters = [lambda s: s.addr.encode() == target]
        skipme = False
    else:
        opts = _KILL_OPTIONS.parse(argv, 2, convert={"USER": lambda val: _kill_user(app, val)})
        filters = [test(opts[name]) for name, test in _KILL_FILTERS if name in opts]
        skipme = opts.get("SKIPME", True)
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
            raise CommandError(errors.NO_SUCH_CLIENT)
        return OK
    return killed


@command("unblock", parent="CLIENT", arity=-3, flags=_C, categories="admin slow dangerous connection",
         group="connection", since="5.0.0",
         summary="Unblock a client blocked in a blocking command from a different connection.",
         complexity="O(log N) where N is the number of client connections")
def client_unblock(sess, argv):
    """CLIENT UNBLOCK client-id [TIMEOUT|ERROR] -> 1 when that client was blocked (BLPOP and its kin) and is now
    answered as if its timeout had passed, or with ``-UNBLOCKED``; 0 otherwise. The reason is checked before the
    id, as Redis does."""
    if len(argv) > 4:
        raise CommandError(errors.subcommand_syntax(argv[1], "CLIENT"))
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            error = True
        elif reason != b"timeout":
            raise CommandError(errors.UNBLOCK_REASON)
    target = sess.app.clients.get(parse_int(argv[2]))
    return 1 if target is not None and sess.app.blocking.unblock(target, error) else 0


@command("help", parent="CLIENT", arity=2, flags="loading stale", categories="slow connection",
         group="connection", since="5.0.0", summary="Returns helpful text about the different subcommands.")
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
        "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]", "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO", "    Report tracking status for the current connection.",
        "CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
        "NO-EVICT (ON|OFF)", "    Protect the current client connection from eviction.",
        "NO-TOUCH (ON|OFF)", "    Will not touch LRU/LFU stats when this mode is on.",
        "HELP", "    Print this help.")]
