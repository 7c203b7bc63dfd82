"""Every error text respd sends, byte for byte as Redis 7.0 words it (SPEC.md), and the exception that carries one.

Handlers raise ``CommandError(TEXT)``; ``respd.dispatch`` turns it into an error reply. Texts are data so tests can
compare them with a real Redis.
"""
from __future__ import annotations


class CommandError(Exception):
    """An error reply: ``text`` is the full message including its code (``ERR ...``, ``WRONGTYPE ...``)."""

    def __init__(self, text: str | bytes):
        super().__init__(text)
        self.text = text


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid request; the connection answers ``ERR Protocol error`` and closes."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class SecurityClose(Exception):
    """An HTTP request (``POST``, ``Host:``) reached the port: close at once without any reply."""


class StartupError(Exception):
    """A problem that prevents the server from starting; str() is the one line shown to the user."""


SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
OVERFLOW = "ERR increment or decrement would overflow"
DECR_OVERFLOW = "ERR decrement would overflow"
INCR_NAN = "ERR increment would produce NaN or Infinity"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
NO_SUCH_KEY = "ERR no such key"
DB_RANGE = "ERR DB index is out of range"
OFFSET_RANGE = "ERR offset is out of range"
STRING_TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
INVALID_CURSOR = "ERR invalid cursor"
SAME_OBJECT = "ERR source and destination objects are the same"
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_NO_MULTI = "ERR EXEC without MULTI"
DISCARD_NO_MULTI = "ERR DISCARD without MULTI"
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NO_PASSWORD = ("ERR AUTH <password> called without any password configured for the default user. "
                    "Are you sure your configuration is correct?")
HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
                "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
                "version at the same time")
NOPROTO = "NOPROTO unsupported protocol version"
HELLO_PROTO_NOT_INT = "ERR Protocol version is not an integer or out of range"
CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
MAX_CLIENTS = "ERR max number of clients reached"
OOM = "OOM command not allowed when used memory > 'maxmemory'."
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CMD = "NOPERM this user has no permissions to run the '{}' command"
EXPIRE_NX_XX = "ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_LT = "ERR GT and LT options at the same time are not compatible"
# MONITOR, OBJECT (respd.commands.introspection)
MONITOR_IN_EXEC = "ERR MONITOR isn't allowed for DENY BLOCKING client"
MONITOR_KEYSPACE = "ERR Replica can't interact with the keyspace"
LFU_NOT_SELECTED = ("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
                    "switching between policies at runtime LRU and LFU data will take some time to adjust.")
IDLETIME_NOT_TRACKED = "ERR respd does not track key access times, idle time not tracked."
# CONFIG SET and SELECT by store id (respd.state): bytes templates, the name or id as the client sent it
NO_SUCH_STORE = b"ERR no such store '%s'"
CONFIG_SET_UNKNOWN = b"ERR Unknown option or number of arguments for CONFIG SET - '%s'"
CONFIG_SET_FAILED = b"ERR CONFIG SET failed (possibly related to argument '%s') - %s"
# ... the reasons CONFIG_SET_FAILED gives (after its " - ")
CONFIG_IMMUTABLE = "can't set immutable config"
CONFIG_NOT_MEMORY = "argument must be a memory value"
CONFIG_BULK_LEN_RANGE = "argument must be between 1048576 and 9223372036854775807 inclusive"
CONFIG_NOT_INTEGER = "argument couldn't be parsed into an integer"
CONFIG_MAXCLIENTS_OS = "The operating system is not able to handle the specified number of clients, try with {}"
CONFIG_NOEVICTION_ONLY = "respd stores never evict; only noeviction is supported"
CONFIG_LOGLEVEL = "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"
CONFIG_NOT_AT_RUNTIME = "respd does not support changing this setting at runtime"
# App.fit_open_files (a StartupError: shown to the user, respd does not start)
STARTUP_ULIMIT = ("Your current 'ulimit -n' of {} is not enough for the server to start. Please increase your open "
                  "file limit to at least {}.")
# the request reader's ProtocolError texts (respd.protocol): answered "-ERR Protocol error: <text>", then a close
PROTO_TOO_BIG_INLINE = "too big inline request"
PROTO_TOO_BIG_COUNT = "too big mbulk count string"
PROTO_TOO_BIG_LENGTH = "too big bulk count string"
PROTO_MULTIBULK_LENGTH = "invalid multibulk length"
PROTO_UNAUTH_MULTIBULK = "unauthenticated multibulk length"
PROTO_EXPECTED_DOLLAR = "expected '$', got '{}'"
PROTO_BULK_LENGTH = "invalid bulk length"
PROTO_UNAUTH_BULK = "unauthenticated bulk length"
PROTO_UNBALANCED_QUOTES = "unbalanced quotes in request"


# ---- texts of respd/commands/ (option parsing, families)
# (keep this line: section anchor)

# ---- texts of respd/security/ (users, ACL rules, policies, aclfile)
# (keep this line: section anchor)

# ---- texts of respd/net/, respd/server.py, startup and the pipeline
# (keep this line: section anchor)

# ---- store errors as replies (backends' domain errors, mapped at the edge)
# (keep this line: section anchor)

def wrong_arity(name: str) -> str:
    return f"ERR wrong number of arguments for '{name}' command"


def _c_string(s: bytes) -> bytes:
    """What Redis' printf ``%s`` shows of an argument: the bytes before its first NUL."""
    nul = s.find(b"\x00")
    return s if nul < 0 else s[:nul]


def unknown_subcommand(sub: bytes, container: str) -> bytes:
    return b"ERR unknown subcommand '" + _c_string(sub)[:128] + b"'. Try " + container.encode() + b" HELP."


def unknown_command(argv: list[bytes]) -> bytes:
    """Redis' text: the name cut to 128 bytes, then quoted args appended while the text is under 128 bytes (each
    shown up to its first NUL, as printf shows a C string)."""
    args = b""
    for a in argv[1:]:
        if len(args) >= 128:
            break
        budget = 128 - len(args)
        args += b"'" + _c_string(a)[:budget] + b"' "
    return b"ERR unknown command '" + _c_string(argv[0])[:128] + b"', with args beginning with: " + args
