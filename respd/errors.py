"""Every error text respd sends, byte for byte as Redis 7.0 words it (SPEC.md), and the exception that carries one.

Handlers raise ``CommandError(TEXT)``; ``respd.dispatch`` turns it into an error reply. Texts are data so tests can
compare them with a real Redis.
"""
from __future__ import annotations

from backends.base import CorruptValue, InvalidKey, NoSuchKey, StoreError, StoreFull, StoreUnavailable, WrongType

from .replies import Err


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


# ---- texts of respd/commands/ (option parsing, families)
# (keep this line: section anchor)
LCS_TYPES = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."
LCS_TOO_LARGE = "ERR LCS inputs too large for respd (at most %d table cells)"
EXECABORT_BECAUSE = "EXECABORT Transaction discarded because of: "
EXEC_FAILED = "ERR transaction failed: %s"
INTERNAL_ERROR = "ERR internal error while executing '%s'"
NOT_IN_MULTI = "ERR Command not allowed inside a transaction"
SWAPDB_UNSUPPORTED = "ERR SWAPDB is not supported by respd: databases are mapped to configured stores"


def rules_changed(refusal: bytes) -> str:
    """EXEC's reply for a queued command its user may no longer run (``refusal``: the NOPERM it gets now)."""
    if refusal.startswith(NOPERM_CMD[:NOPERM_CMD.index("'")].encode()):
        reason = "no permission to execute the command or subcommand"
    elif refusal.startswith(NOPERM_KEY.encode()):
        reason = "no permission to touch the specified keys"
    else:
        reason = "no permission"
    return ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
            "This command is no longer allowed for the following reason: " + reason)


GETKEYS_INVALID_COMMAND = "ERR Invalid command specified"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
GETKEYS_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_NOT_FOUND = "ERR Invalid arguments specified for command"
CONFIG_REWRITE_UNSUPPORTED = "ERR CONFIG REWRITE is not supported: respd's configuration lives in its registry files"
NO_SHUTDOWN = "ERR No shutdown in progress."
SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."
DEBUG_NOT_ALLOWED = ('ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can '
                     'run it from a local connection, otherwise you need to set this option in the configuration '
                     'file, and then restart the server.')
NO_CLUSTER = "ERR This instance has cluster support disabled"
NO_SUCH_CLIENT = "ERR No such client"
CLIENT_ID = "ERR client-id should be greater than 0"
INVALID_CLIENT_ID = "ERR Invalid client ID"


def hello_option(arg: bytes) -> bytes:
    return b"ERR Syntax error in HELLO option '" + arg + b"'"


def unknown_client_type(arg: bytes) -> bytes:
    return b"ERR Unknown client type '" + arg + b"'"


def no_such_user(arg: bytes) -> bytes:
    return b"ERR No such user '" + arg + b"'"


def setinfo_value(attr: bytes) -> bytes:
    return b"ERR " + attr.lower() + b" cannot contain spaces, newlines or special characters."


def unrecognized_option(arg: bytes) -> bytes:
    return b"ERR Unrecognized option '" + arg + b"'"


def unsupported_option(arg: bytes) -> bytes:
    """EXPIRE's error for an argument that is none of its options."""
    return b"ERR Unsupported option " + arg



# ---- texts of respd/security/ (users, ACL rules, policies, aclfile)
# (keep this line: section anchor)

# ---- texts of respd/net/, respd/server.py, startup and the pipeline
# (keep this line: section anchor)

# ---- store errors as replies (backends' domain errors, mapped at the edge)
# (keep this line: section anchor)
def store_error(e: StoreError):
    """Domain errors from backends, as the RESP errors clients act on (an ``Err`` reply)."""
    if isinstance(e, WrongType):
        return Err(WRONGTYPE)
    if isinstance(e, StoreFull):
        return Err("OOM command not allowed when store '%s' is full (max_size %d)" % (e.store_id, e.limit))
    if isinstance(e, NoSuchKey):
        return Err(NO_SUCH_KEY)
    if isinstance(e, InvalidKey):
        return Err("ERR invalid key for store '%s': %s" % (e.store_id, e.reason))
    if isinstance(e, CorruptValue):
        return Err(b"ERR undecodable value for key '" + e.key[:128] + b"' in store '" + e.store_id.encode()
                   + b"': " + e.reason.encode())
    if isinstance(e, StoreUnavailable):
        return Err("ERR store '%s' is unavailable: %s" % (e.store_id, e.reason))
    return Err("ERR store error: %s" % e)



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
