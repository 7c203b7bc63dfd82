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

# ---- texts of respd/security/ (users, ACL rules, policies, aclfile)
# (keep this line: section anchor)

# ---- texts of respd/net/, respd/server.py, startup and the pipeline
# (keep this line: section anchor)
class StartupError(Exception):
    """A problem that prevents the server from starting; str() is the one line shown to the user."""


PROTOCOL_ERROR = b"-ERR Protocol error: "   # + the reader's reason + CRLF; the connection then closes
PROTECTED_MODE = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    "default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    "from external computers to respd you may adopt one of the following solutions: 1) Set protected_mode: false "
    "in the server section of the registry, MAKING SURE respd is not publicly accessible from internet if you do "
    "so. 2) Set up an authentication password for the default user (requirepass, or a security.user entry named "
    "default with a password). NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.")
CANNOT_LISTEN = "cannot listen%s on %s port %d: %s"               # " (TLS)" or "", host, port, reason
STORE_START_FAILED = "store %s failed to start: %s"
# TLS settings (TLSConfigError: the setting's name, then this text)
TLS_NEEDS_PORT = "%s set but tls_port is not: respd will not accept TLS connections"
TLS_SAME_PORT = "must differ from port (both are %d)"
TLS_REQUIRED = "is required when tls_port is set"
TLS_NEEDS_CA = "'%s' needs tls_ca_cert_file (the CA that signs client certificates)"
TLS_NO_CERT = "%s holds no PEM certificate (%s)"
TLS_KEY_ENCRYPTED = "%s is encrypted: set tls_key_file_pass, or use an unencrypted key"
TLS_KEY_MISMATCH = "%s does not match the certificate in tls_cert_file %s"
TLS_KEY_WRONG_PASS = "wrong tls_key_file_pass, or not a PEM private key"
TLS_KEY_NOT_PEM = "not a PEM private key"
TLS_CANNOT_LOAD_KEY = "cannot load %s: %s (%s)"
TLS_CANNOT_LOAD_PAIR = "cannot load %s / %s: %s"
TLS_CANNOT_LOAD = "cannot load %s: %s"
TLS_CANNOT_READ = "cannot read %s: %s"
# client-output-buffer-limit values (respd.outbuf.parse, Redis 7.0's words)
OBUF_WRONG_COUNT = "Wrong number of arguments in buffer limit configuration."
OBUF_BAD_CLASS = "Invalid client class specified in buffer limit configuration."
OBUF_BAD_VALUE = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
# command line (respd/__main__.py)
BIND_UNUSABLE = "cannot use address %r: %s"
SQL_SCHEMA_NO_ID = "sql-schema needs a STORE_ID"
SQL_SCHEMA_NOT_SQL = "%r is not a store.sql entry (SQL stores: %s)"

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
