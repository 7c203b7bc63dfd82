"""ACL commands: the Redis 7 surface over ``respd.auth`` users and the ``respd.acl`` engine (SPEC §8).

WHOAMI, USERS, LIST, GETUSER, CAT, DRYRUN, LOG [n|RESET], SETUSER, DELUSER, SAVE, LOAD, GENPASS, HELP. Runtime
users (SETUSER) and registry users share one table; SETUSER rules are applied to a copy so a bad rule changes
nothing, and live connections of a changed user get its new permissions at once. DELUSER closes the deleted
user's connections; ``off`` keeps them (as Redis).
"""
from __future__ import annotations

import os
import time
import weakref
from collections import deque
from typing import Optional

from .. import errors
from ..errors import CommandError
from ..replies import OK, Double, Err, Map, SetReply, Simple
from .args import try_int
from .table import COMMANDS, command, container, lookup

container("ACL", arity=-2, flags="sentinel", categories="slow", group="server", since="6.0.0",
          summary="A container for Access List Control commands.")
_A = "noscript loading stale"
_ADMIN = "admin " + _A
_ADMIN_CATS = "admin slow dangerous"
NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
              "ACL SETUSER command, and set aclfile in the server section of the registry to use ACL SAVE/LOAD.")


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
    from ..auth import describe_user
    _ensure_rules(user)
    return describe_user(user)


def _ensure_rules(user) -> None:
    if user.rules is None:
        from ..auth import RuleSet
        user.rules = RuleSet.commands_only() if user.policy_mode else RuleSet.allow_all()


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
    _ensure_rules(user)
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
    from ..auth import CATEGORIES
    if len(argv) > 3:
        raise CommandError(errors.wrong_arity("acl|cat"))
    if len(argv) == 2:
        return [c.encode() for c in CATEGORIES]
    cat = argv[2].lower().decode("latin-1")
    if cat not in CATEGORIES:
        raise CommandError(b"ERR Unknown category '" + argv[2][:128] + b"'")
    out = []
    for c in COMMANDS.values():
        if cat in c.categories:
            out.append(c.name.encode())
        out += [s.name.encode() for s in c.subcommands.values() if cat in s.categories]
    return out


def _dryrun(user, app, store, cmd, argv: list) -> Optional[bytes]:
    """ACL DRYRUN: None if the user could run argv, else Redis' explanation text."""
    perms = user.permissions
    if perms is None:
        return None
    from ..acl import DENIED_KEY
    r = perms.evaluate(app, store.id if store is not None else "", cmd, argv)
    if r is None:
        return None
    if r[0] == DENIED_KEY:
        return b"This user has no permissions to access the '" + r[2] + b"' key"
    return ("This user has no permissions to run the '%s' command" % r[2]).encode()


@command("dryrun", parent="ACL", arity=-4, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="7.0.0",
         summary="Simulates the execution of a command by a user, without executing the command.")
def acl_dryrun(sess, argv):
    user = _users(sess).get(_name(argv[2]))
    if user is None:
        raise CommandError(b"ERR User '" + argv[2][:128] + b"' not found")
    inner = argv[3:]
    if COMMANDS.get(inner[0].lower()) is None:
        raise CommandError(b"ERR Command '" + inner[0][:128] + b"' not found")
    cmd = lookup(inner)
    if isinstance(cmd, Err):
        if cmd.text.startswith(b"ERR unknown subcommand"):
            raise CommandError(b"ERR Command '" + inner[0][:128] + b"|" + inner[1][:128] + b"' not found")
        return cmd
    text = _dryrun(user, sess.app, sess.store, cmd, inner)
    return OK if text is None else text


# ------------------------------------------------------------------------------------------------- ACL LOG
class AclLog:
    """Redis' ACL LOG: recent denials, similar ones (same reason/context/object/user within 60 s of the entry's last
    event, among the 10 newest entries) merged into one entry with a count. As in Redis 7.0, a merge moves the
    entry's time to the new event: ``age-seconds`` is the time since its last event, so an entry kept alive by a
    steady stream of failed AUTHs stays one entry with a growing count."""

    def __init__(self, max_len: int = 128):
        self.entries: deque = deque()
        self.max_len = max_len
        self.executing = weakref.WeakSet()   # sessions running an EXEC's queue (dispatch._run_queue)

    def add(self, reason: str, obj: bytes, username: str, sess=None) -> None:
        now = time.time()
        # Redis' context: "multi" for a command refused while queued in MULTI or re-checked (or AUTH failing) in EXEC
        in_multi = sess is not None and (getattr(sess, "multi", None) is not None or sess in self.executing)
        context = "multi" if in_multi else "toplevel"
        info = b""
        if sess is not None:
            from .connection import client_line
            try:
                info = client_line(sess, now).rstrip(b"\n")
            except Exception:  # a half-initialised session must never break a denial
                info = b""
        for e in list(self.entries)[:10]:
            if e["reason"] == reason and e["context"] == context and e["object"] == obj \
                    and e["username"] == username and now - e["updated"] < 60:
                e["count"] += 1
                e["updated"] = now
                e["client-info"] = info
                return
        self.entries.appendleft({"count": 1, "reason": reason, "context": context, "object": obj,
                                 "username": username, "created": now, "updated": now, "client-info": info})
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()

    def reply(self, count: Optional[int] = None) -> list:
        now = time.time()
        out = []
        for e in list(self.entries)[:count if count is not None else len(self.entries)]:
            out.append(Map([(b"count", e["count"]), (b"reason", e["reason"].encode()),
                            (b"context", e["context"].encode()), (b"object", e["object"]),
                            (b"username", e["username"].encode()),
                            (b"age-seconds", Double(round(now - e["updated"], 3))),
                            (b"client-info", e["client-info"])]))
        return out


@command("log", parent="ACL", arity=-2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Lists recent security events generated due to ACL rules.")
def acl_log(sess, argv):
    acl = sess.app.acl
    if len(argv) > 3:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP.")
    if len(argv) == 3:
        if argv[2].upper() == b"RESET":
            acl.log.reset()
            return OK
        n = try_int(argv[2])
        if n is None:
            raise CommandError(errors.NOT_INTEGER)
        if n < 0:
            raise CommandError("ERR value is out of range, must be positive")
        return acl.log.reply(n)
    return acl.log.reply()


@command("setuser", parent="ACL", arity=-3, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Creates and modifies an ACL user and its rules.")
def acl_setuser(sess, argv):
    from ..auth import RuleError, RuleSet, apply_user_rules
    from ..auth import User
    raw = argv[2]
    if b" " in raw or b"\0" in raw:
        raise CommandError("ERR Usernames can't contain spaces or null characters")
    name = _name(raw)
    users = _users(sess)
    existing = users.get(name)
    if existing is not None:
        _ensure_rules(existing)
        user = existing.copy()
    else:
        user = User(name, enabled=False, nopass=False, rules=RuleSet(), origin="runtime")
    try:
        apply_user_rules(user, argv[3:])
    except RuleError as e:
        rule, reason = e.args
        raise CommandError(b"ERR Error in ACL SETUSER modifier '" + rule + b"': " + reason.encode()) from None
    if user.origin == "implicit":
        user.origin = "runtime"
    users[name] = user
    sess.app.acl.refresh(user)
    return OK


@command("deluser", parent="ACL", arity=-3, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Deletes ACL users, and terminates their connections.")
def acl_deluser(sess, argv):
    names = [_name(a) for a in argv[2:]]
    if "default" in names:
        raise CommandError("ERR The 'default' user cannot be removed")
    users = _users(sess)
    deleted = 0
    for n in names:
        if users.pop(n, None) is not None:
            deleted += 1
            sess.app.acl.drop(n, current=sess)
    return deleted


def _aclfile(sess) -> str:
    path = sess.app.settings.get("aclfile")
    if not path:
        raise CommandError(NO_ACLFILE)
    return path


@command("save", parent="ACL", arity=2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Saves the effective ACL rules in the configured ACL file.")
def acl_save(sess, argv):
    from ..security import save_aclfile
    path = _aclfile(sess)
    for u in _users(sess).values():
        _ensure_rules(u)
    try:
        save_aclfile(sess.app, path)
    except OSError as e:
        import logging
        logging.getLogger("respd.acl").error("ACL SAVE to %s failed: %s", path, e)
        raise CommandError("ERR There was an error trying to save the ACLs. Please check the server logs for more "
                           "information") from None
    return OK


@command("load", parent="ACL", arity=2, flags=_ADMIN, categories=_ADMIN_CATS, group="server", since="6.0.0",
         summary="Reloads the rules from the configured ACL file.")
def acl_load(sess, argv):
    from ..security import AclFileError, load_aclfile
    path = _aclfile(sess)
    try:
        load_aclfile(sess.app, path, current=sess)
    except AclFileError as e:
        raise CommandError("ERR " + str(e)) from None
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
            raise CommandError("ERR ACL GENPASS argument must be the number of bits for the output password, a "
                               "positive number up to 4096")
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
