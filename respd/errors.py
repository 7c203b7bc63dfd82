"""Every error text respd sends, byte for byte as Redis 7.0 words it (SPEC.md), and the exception that carries one.

Handlers raise ``CommandError(TEXT)``; ``respd.dispatch`` turns it into an error reply. Texts are data so tests can
compare them with a real Redis.
"""
from __future__ import annotations

from backends.base import (CorruptValue, InvalidKey, NoSuchKey, StoreError, StoreFull, StoreUnavailable, ValueTooLarge,
                           WrongType)

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
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
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


# -- hashes (respd/commands/hashes.py): keep this line, add below it
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
HASH_INCR_NAN_OR_INF = "ERR value is NaN or Infinity"
HRANDFIELD_COUNT_RANGE = ("ERR value is out of range, value must between -9223372036854775807 and "
                          "9223372036854775807")
VALUE_OUT_OF_RANGE = "ERR value is out of range"
HRANDFIELD_TOO_MANY = "ERR HRANDFIELD count too large for respd (at most %d fields with repeats)"

# -- sets (respd/commands/sets.py): keep this line, add below it
SPOP_COUNT = "ERR value is out of range, must be positive"
SRANDMEMBER_RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
SRANDMEMBER_TOO_MANY = "ERR SRANDMEMBER count too large for respd (at most %d members with repeats)"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"

# -- lists (respd/commands/lists.py): keep this line, add below it
POP_COUNT = "ERR value is out of range, must be positive"
INDEX_OUT_OF_RANGE = "ERR index out of range"
LPOS_RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "
                  "negative to start from the end of the list")
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
LMPOP_COUNT_POSITIVE = "ERR count should be greater than 0"

# -- sorted sets (respd/commands/zsets.py): keep this line, add below it
ZADD_XX_NX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIRS = "ERR INCR option supports a single increment-element pair"
ZSCORE_NAN = "ERR resulting score is not a number (NaN)"
ZRANGE_NOT_FLOAT = "ERR min or max is not a float"
ZRANGE_NOT_LEX = "ERR min or max not valid string range item"
ZRANGE_LIMIT_BY_RANK = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
ZRANGE_WITHSCORES_BYLEX = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
ZWEIGHT_NOT_FLOAT = "ERR weight value is not a float"
ZRANDMEMBER_TOO_MANY = "ERR ZRANDMEMBER count too large for respd (at most %d members with repeats)"


def zset_numkeys(command: str) -> str:
    """ZUNION/ZINTER/ZDIFF(STORE)/ZINTERCARD with numkeys below 1."""
    return "ERR at least 1 input key is needed for '%s' command" % command


# -- blocking operations (respd/blocking.py, BLPOP and its kin): keep this line, add below it
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
UNBLOCK_REASON = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"


# -- pub/sub (respd/commands/pubsub.py, respd/pubsub.py): keep this line, add below it
def pubsub_deny_blocking(command: str) -> str:
    """SUBSCRIBE and its kin run where a reply per command is expected (SSUBSCRIBE inside EXEC)."""
    return "ERR %s isn't allowed for a DENY BLOCKING client" % command


def pubsub_context(command: str) -> str:
    """A RESP2 client holding subscriptions runs anything else."""
    return ("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
            "this context" % command)


def subcommand_syntax(sub: bytes, container: str) -> bytes:
    """Redis' addReplySubcommandSyntaxError: the subcommand as typed."""
    return (b"ERR unknown subcommand or wrong number of arguments for '" + _c_string(sub)[:128] + b"'. Try "
            + container.encode() + b" HELP.")



# ---- texts of respd/security/ (users, ACL rules, policies, aclfile)
# (keep this line: section anchor)
# ACL SETUSER / aclfile rules: the reason Redis gives after "Error in ACL SETUSER modifier '<rule>': "
ACL_RULE_SYNTAX = "Syntax error"
ACL_RULE_UNKNOWN = "Unknown command or category name in ACL"
ACL_KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have "
                      "any effect. Try 'resetkeys' to start with an empty list of patterns")
ACL_CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does "
                          "not have any effect. Try 'resetchannels' to start with an empty list of channels")
ACL_NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
ACL_BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
ACL_SUB_FIRSTARG = "Allowing first-arg of a subcommand is not supported"
# ACL DRYRUN's answer for a refused command (a bulk string, not an error)
ACL_DRYRUN_KEY = b"This user has no permissions to access the '%s' key"
ACL_DRYRUN_COMMAND = "This user has no permissions to run the '%s' command"
ACL_DRYRUN_CHANNEL = b"This user has no permissions to access the '%s' channel"
# registry security.user entries (the field named in the ConfigError)
USER_ONE_PASSWORD = "set only one of password_sha256, password and password_env"
USER_PASSWORD_SHA256 = "must be a 64-character hex SHA-256 digest"
USER_PASSWORD_EMPTY = "must be a non-empty string"
USER_PASSWORD_ENV = "environment variable %s is not set"
USER_RULES_TYPE = "must be a string or a list of Redis ACL rules like \"+@all -@dangerous\""
USER_RULES_NOT_HERE = "%r: set enabled/nopass/passwords with their own fields"
USER_NAME_CHARS = "user names cannot contain spaces or NUL"
USER_NO_PASSWORD = "a user needs a password (password_sha256, password_env) or nopass: true"
USER_TWICE = "user %r is defined twice"
# registry security.policy entries
POLICY_NOT_MAPPING = "must be a mapping with actions, resources, effect and conditions"
POLICY_UNKNOWN_FIELDS = "unknown field(s): %s"
POLICY_STRINGS = "must be a non-empty list of strings"
POLICY_NO_ACTION = "%r matches no action (known: %s)"
POLICY_NO_RESOURCE = ("%r is not a store id or command name (use a pattern such as \"app:*\" for stores defined "
                      "later)")
POLICY_EFFECT = "must be allow or deny"
POLICY_CONDITIONS = "must be a list of {field, operator, value | value_from}"
POLICY_CONDITION = "must be a mapping {field, operator, value | value_from}"
POLICY_FIELD = "must be one of actor.id, actor.groups, actor.meta.<name>, resource, action, meta.key (got %r)"
POLICY_OPERATOR = "must be one of %s"
POLICY_VALUE_TWICE = "set only one of value and value_from"
POLICY_VALUE_FROM = "must name a field like actor.meta.tenant (got %r)"
POLICY_NO_VALUE = "operator %s needs value or value_from"
POLICY_IN_LIST = "operator in needs a list"
POLICY_REGEX = "must be a valid regular expression"
POLICY_GLOB = "must be a Redis glob pattern string"
POLICY_NO_USER = "no security.user named %r (use the AUTH name or the entry id)"
# aclfile (ACL LOAD answers "ERR " + these; at startup they are a ConfigError)
ACLFILE_NO_USER_KEYWORD = "%s:%d should start with user keyword followed by the username. "
ACLFILE_DUPLICATE = "WARNING: Duplicate user '%s' found on line %d. "
ACLFILE_REGISTRY_USER = "%s:%d: user '%s' is defined in the registry and cannot be redefined here. "
ACLFILE_BAD_RULE = "%s:%d: Error in applying operation '%s': %s. "
ACLFILE_NO_CHANGE = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
ACLFILE_OPEN = "Error loading ACLs, opening file '%s': %s"
ACLFILE_MISSING = "No such file or directory"
ACLFILE_UNREADABLE = "cannot read aclfile: %s"
# the ACL command family (respd.commands.acl), over the security package
ACL_LOAD_FAILED = "ERR %s"   # + the aclfile problem (loading.AclFileError)
ACL_NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via "
                  "the ACL SETUSER command, and set aclfile in the server section of the registry to use ACL "
                  "SAVE/LOAD.")
ACL_UNKNOWN_CATEGORY = b"ERR Unknown category '%s'"
ACL_NO_SUCH_USER = b"ERR User '%s' not found"
ACL_NO_SUCH_COMMAND = b"ERR Command '%s' not found"
ACL_LOG_ARGS = "ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP."
ACL_LOG_NEGATIVE = "ERR value is out of range, must be positive"
ACL_USERNAME_CHARS = "ERR Usernames can't contain spaces or null characters"
ACL_SETUSER_MODIFIER = b"ERR Error in ACL SETUSER modifier '%s': %s"
ACL_DELETE_DEFAULT = "ERR The 'default' user cannot be removed"
ACL_SAVE_FAILED = "ERR There was an error trying to save the ACLs. Please check the server logs for more information"
ACL_GENPASS_BITS = ("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number "
                    "up to 4096")


# ---- texts of respd/net/, respd/server.py, startup and the pipeline
# (keep this line: section anchor)
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

# ---- texts of respd/scripting/ (the Lua runtime: EVAL's compile and run errors, the redis.* API inside Lua)
# (keep this line: section anchor)
SCRIPT_COMPILE = "ERR Error compiling script (new function): "
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
SCRIPT_KILLED = "ERR Script killed by user with SCRIPT KILL..."
SHEBANG_INVALID = "ERR Invalid script shebang"
SHEBANG_ENGINE = "ERR Unexpected engine in script shebang: %s"
SHEBANG_OPTION = "ERR Unknown lua shebang option: %s"
SHEBANG_FLAG = "ERR Unexpected flag in script shebang: %s"
# EVAL, SCRIPT and redis.call's checks (respd/commands/scripting.py, respd/scriptcall.py), as Redis 7.0 words them
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"
NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
              "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
BUSY_SCRIPT = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
SCRIPT_FLUSH_MODE = "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
SCRIPT_RO_WRITE_FLAG = "ERR Can not execute a script with write flag using *_ro command."
SCRIPT_OOM_FLAG = "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
CALL_UNKNOWN = "ERR Unknown Redis command called from script"
CALL_ARITY = "ERR Wrong number of args calling Redis command from script"
CALL_NOSCRIPT = "ERR This Redis command is not allowed from script"
CALL_DENIED_CMD = "ERR The user executing the script can't run this command or subcommand"
CALL_DENIED_KEY = ("ERR The user executing the script can't access at least one of the keys mentioned in the "
                   "command arguments")
CALL_RO_WRITE = "ERR Write commands are not allowed from read-only scripts."
CALL_NOT_IN_PLACE = ("ERR respd: this script runs on the server's thread (its store is a memory store) and cannot "
                     "wait for the SQL store '%s'; run it with a SQL store selected")
#: the texts respd's Lua raises or returns (redis.call, redis.log... as Redis 7.0's script_lua.c words them);
#: the runtime passes this table to its Lua code
LUA_TEXTS = {
    "no_args": "Please specify at least one argument for this redis lib call",
    "bad_arg": "Lua redis lib command arguments must be strings or integers",
    "wrong_args": "wrong number of arguments",
    "wrong_args_or_type": "wrong number or type of arguments",
    "log_args": "redis.log() requires two arguments or more.",
    "log_level_type": "First argument must be a number (log level).",
    "log_level": "Invalid debug level.",
    "setresp_args": "redis.setresp() requires one argument.",
    "setresp_version": "RESP version must be 2 or 3.",
    "set_repl_args": "redis.set_repl() requires two arguments.",
    "set_repl_flags": "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
    "run_failed": "-ERR Error running script %s, %s",
    "no_err": "the error raised carries no 'err' text",
    "version": "7.0.15",
    "version_num": 0x0007000F,
}
# the `store` module inside scripts (respd/scripting/storelib.py): the messages its functions return as `nil, msg`
STORE_TEXTS = {
    "unavailable": "store module not available",
    "bad_id": "store id must be a string",
    "no_store": "no such store '%s'",
    "denied_store": "NOPERM this user has no permissions to use the '%s' store",
    "denied_key": "NOPERM this user has no permissions to access the '%s' key",
    "denied_clear": "NOPERM this user has no permissions to clear the '%s' store",
    "not_object": "not a store object (call its methods with ':', as obj:get(key))",
    "released": "store released",
    "not_found": "key not found",
    "bad_key": "key must be a string or a number",
    "no_value": "value expected",
    "bad_value": "cannot store a %s",
    "bad_table_key": "table keys must be strings, numbers or booleans",
    "cyclic": "cannot store a table that contains itself",
    "too_deep": "cannot store tables nested more than %d levels deep",
    "too_big": "value exceeds the maximum allowed size (proto-max-bulk-len)",
    "bad_ttl": "ttl must be a positive number of seconds",
    "ext_value": "the stored value has a msgpack type Lua cannot hold (ext %d)",
    "set_value": "the stored value is a Redis set, which has no Lua table form: read it with redis.call('SMEMBERS', key)",
    "zset_value": ("the stored value is a Redis sorted set, which has no Lua table form: read it with "
                   "redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')"),
    "no_memory": "not enough memory",
    "internal": "internal error: %s",
}


# ---- store errors as replies (backends' domain errors, mapped at the edge)
# (keep this line: section anchor)
def store_error(e: StoreError):
    """Domain errors from backends, as the RESP errors clients act on (an ``Err`` reply)."""
    if isinstance(e, WrongType):
        return Err(WRONGTYPE + ": " + e.detail if e.detail else WRONGTYPE)
    if isinstance(e, ValueTooLarge):
        return Err(b"ERR the value of key '" + e.key[:128] + b"' would take %d bytes, over store '%s' max_value_size "
                   b"of %d bytes" % (e.size, e.store_id.encode(), e.limit))
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


UNKNOWN_SUBCOMMAND = b"ERR unknown subcommand '"


def unknown_subcommand(sub: bytes, container: str) -> bytes:
    return UNKNOWN_SUBCOMMAND + _c_string(sub)[:128] + b"'. Try " + container.encode() + b" HELP."


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


# ------------------------------------------------------------------------------------------ client tracking (#16)
TRACKING_ONE_REDIRECT = "ERR A client can only redirect to a single other client"
TRACKING_NO_REDIRECT_CLIENT = "ERR The client ID you want redirect to does not exist"
TRACKING_PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
TRACKING_SWITCH_BCAST = ("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
                         "re-enabling it with a different mode.")
TRACKING_BCAST_OPTS = "ERR OPTIN and OPTOUT are not compatible with BCAST"
TRACKING_OPTIN_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
TRACKING_SWITCH_OPT = ("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
                       "re-enabling it with a different mode.")
CACHING_NOT_TRACKING = ("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
                        "OPTOUT mode enabled")
CACHING_YES = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
CACHING_NO = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."


# ------------------------------------------------------------------------------------------ keyspace notifications (#16)
#: CONFIG SET notify-keyspace-events (and the registry's notify_keyspace_events) with a character outside Redis' set
NOTIFY_BAD_CLASS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
