"""ACL commands: the Redis 7 surface over ``respd.security`` (SPEC §8).

WHOAMI, USERS, LIST, GETUSER, CAT, DRYRUN, LOG [n|RESET], SETUSER, DELUSER, SAVE, LOAD, GENPASS, HELP. Runtime
users (SETUSER) and registry users share one table (``app.auth.users``); SETUSER rules are applied to a copy so a
bad rule changes nothing, and live connections of a changed user get its new permissions at once
(``app.security``). DELUSER closes the deleted user's connections; ``off`` keeps them (as Redis).
"""
from __future__ import annotations

import logging
import os

from .. import errors
from ..errors import CommandError
from ..replies import OK, Err, Map, SetReply, Simple
from ..security import engine, loading, rules
from .args import try_int
from .table import COMMANDS, command, container, lookup

container("ACL", arity=-2, flags="sentinel", categories="slow", group="server", since="6.0.0",
          summary="A container for Access List Control commands.")
_A = "noscript loading stale"
_ADMIN = "admin " + _A
_ADMIN_CATS = "admin slow dangerous"
log = logging.getLogger("respd.acl")


def _users(sess) -> dict:
    return sess.app.auth.users


def _name(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


@command("whoami", parent="ACL", arity=2, flags=_A, categories="slow", group="server", since="6.0.0",
         summary="Returns the authenticated username of the current connection.")
def acl_whoami(sess, argv):
    return _enc(sess.user)


@command("users", parent="ACL", arity=2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Lists all ACL users.")
def acl_users(sess, argv):
    return sorted(_enc(u) for u in _users(sess))


def describe(user) -> bytes:
    rules.ensure_rules(user)
    return rules.describe_user(user)


@command("list", parent="ACL", arity=2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Dumps the effective rules in ACL file format.")
def acl_list(sess, argv):
    return [describe(u) for _, u in sorted(_users(sess).items(), key=lambda kv: _enc(kv[0]))]


@command("getuser", parent="ACL", arity=3, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Lists the ACL rules of a user.")
def acl_getuser(sess, argv):
    user = _users(sess).get(_name(argv[2]))
    if user is None:
        return None
    rules.ensure_rules(user)
    flags = [b"on" if user.enabled else b"off"]
    if user.nopass:
        flags.append(b"nopass")
    if user.sanitize:
        flags.append(user.sanitize.encode())
    rs = user.rules
    items = [(b"flags", SetReply(flags)), (b"passwords", [h.encode() for h in user.password_hashes]),
             (b"commands", rs.commands_text()), (b"keys", rs.keys_text()),
             (b"channels", rs.channels_text(reset_word=False)),
             (b"selectors", [Map([(b"commands", s.commands_text()), (b"keys", s.keys_text()),
                                  (b"channels", s.channels_text(reset_word=False))]) for s in user.selectors])]
    if user.policy_mode:
        items.append((b"policies", [p.encode() for p in user.policy_ids]))
    return Map(items)


@command("cat", parent="ACL", arity=-2, flags=_A, categories="slow", group="server", since="6.0.0",
         summary="Lists the ACL categories, or the commands inside a category.")
def acl_cat(sess, argv):
    if len(argv) > 3:
        raise CommandError(errors.wrong_arity("acl|cat"))
    if len(argv) == 2:
        return [c.encode() for c in rules.CATEGORIES]
    cat = argv[2].lower().decode("latin-1")
    if cat not in rules.CATEGORIES:
        raise CommandError(errors.ACL_UNKNOWN_CATEGORY % argv[2][:128])
    out = []
    for c in COMMANDS.values():
        if cat in c.categories:
            out.append(c.name.encode())
        out += [s.name.encode() for s in c.subcommands.values() if cat in s.categories]
    return out


@command("dryrun", parent="ACL", arity=-4, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="7.0.0",
         summary="Simulates the execution of a command by a user, without executing the command.")
def acl_dryrun(sess, argv):
    user = _users(sess).get(_name(argv[2]))
    if user is None:
        raise CommandError(errors.ACL_NO_SUCH_USER % argv[2][:128])
    inner = argv[3:]
    if COMMANDS.get(inner[0].lower()) is None:
        raise CommandError(errors.ACL_NO_SUCH_COMMAND % inner[0][:128])
    cmd = lookup(inner)
    if isinstance(cmd, Err):
        if cmd.text.startswith(errors.UNKNOWN_SUBCOMMAND):
            raise CommandError(errors.ACL_NO_SUCH_COMMAND % (inner[0][:128] + b"|" + inner[1][:128]))
        return cmd
    text = engine.dryrun(user, sess.app, sess.store, cmd, inner)
    return OK if text is None else text


@command("log", parent="ACL", arity=-2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Lists recent security events generated due to ACL rules.")
def acl_log(sess, argv):
    security = sess.app.security
    if len(argv) > 3:
        raise CommandError(errors.ACL_LOG_ARGS)
    if len(argv) == 3:
        if argv[2].upper() == b"RESET":
            security.log.reset()
            return OK
        n = try_int(argv[2])
        if n is None:
            raise CommandError(errors.NOT_INTEGER)
        if n < 0:
            raise CommandError(errors.ACL_LOG_NEGATIVE)
        return security.log.reply(n)
    return security.log.reply()


@command("setuser", parent="ACL", arity=-3, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Creates and modifies an ACL user and its rules.")
def acl_setuser(sess, argv):
    raw = argv[2]
    if b" " in raw or b"\0" in raw:
        raise CommandError(errors.ACL_USERNAME_CHARS)
    try:
        sess.app.security.set_user(_name(raw), argv[3:])
    except rules.RuleError as e:
        rule, reason = e.args
        raise CommandError(errors.ACL_SETUSER_MODIFIER % (rule, reason.encode())) from None
    return OK


@command("deluser", parent="ACL", arity=-3, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Deletes ACL users, and terminates their connections.")
def acl_deluser(sess, argv):
    names = [_name(a) for a in argv[2:]]
    if "default" in names:
        raise CommandError(errors.ACL_DELETE_DEFAULT)
    deleted = 0
    for n in names:
        if sess.app.security.delete_user(n, current=sess):
            deleted += 1
    return deleted


def _aclfile(sess) -> str:
    path = sess.app.settings.get("aclfile")
    if not path:
        raise CommandError(errors.ACL_NO_ACLFILE)
    return path


@command("save", parent="ACL", arity=2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Saves the effective ACL rules in the configured ACL file.")
def acl_save(sess, argv):
    path = _aclfile(sess)
    try:
        loading.save_aclfile(sess.app, path)
    except OSError as e:
        log.error("ACL SAVE to %s failed: %s", path, e)
        raise CommandError(errors.ACL_SAVE_FAILED) from None
    return OK


@command("load", parent="ACL", arity=2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Reloads the rules from the configured ACL file.")
def acl_load(sess, argv):
    path = _aclfile(sess)
    try:
        loading.load_aclfile(sess.app, path, current=sess)
    except loading.AclFileError as e:
        raise CommandError(errors.ACL_LOAD_FAILED % e) from None
    return OK


@command("genpass", parent="ACL", arity=-2, flags=_A, categories="slow", group="server", since="6.0.0",
         summary="Generates a pseudorandom, secure password that can be used to identify ACL users.")
def acl_genpass(sess, argv):
    bits = 256
    if len(argv) > 3:
        raise CommandError(errors.wrong_arity("acl|genpass"))
    if len(argv) == 3:
        bits = try_int(argv[2])
        if bits is None or bits <= 0 or bits > 4096:
            raise CommandError(errors.ACL_GENPASS_BITS)
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


_HELP = (
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]", "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]", "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]", "    Returns whether the user can execute the given command without "
    "executing the command.",
    "GETUSER <username>", "    Get the user's details.",
    "GENPASS [<bits>]", "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST", "    Show users details in config file format.",
    "LOAD", "    Reload users from the ACL file.",
    "LOG [<count> | RESET]", "    Show the ACL log entries.",
    "SAVE", "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]", "    Create or modify a user with the specified attributes.",
    "USERS", "    List all the registered usernames.",
    "WHOAMI", "    Return the current connection username.",
    "HELP", "    Print this help.")


@command("help", parent="ACL", arity=2, flags="loading stale", categories="slow", group="server", since="6.0.0",
         summary="Returns helpful text about the different subcommands.")
def acl_help(sess, argv):
    return [Simple(s) for s in _HELP]
