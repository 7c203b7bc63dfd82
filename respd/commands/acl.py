"""ACL commands (the Redis surface over ``respd.auth`` users and ``respd.acl`` policies)."""
from __future__ import annotations

from ..errors import CommandError
from ..replies import Simple
from .spec import command, container

container("ACL", -2, ("sentinel",), ("slow",), "server", "A container for Access List Control commands.",
          since="6.0.0")
_A = ("noscript", "loading", "stale")


@command("WHOAMI", 2, _A, (), ("slow",), "server", "Returns the authenticated username of the current connection.",
         since="6.0.0", parent="ACL")
def acl_whoami(sess, argv):
    return sess.user.encode()


@command("USERS", 2, ("admin",) + _A, (), ("admin", "slow", "dangerous"), "server", "Lists all ACL users.",
         since="6.0.0", parent="ACL")
def acl_users(sess, argv):
    return sorted(u.encode() for u in sess.app.auth.users)


def describe(user) -> bytes:
    parts = ["user", user.name, "on" if user.enabled else "off"]
    if user.nopass:
        parts.append("nopass")
    parts += ["#" + h for h in user.password_hashes]
    parts += ["~*", "&*", "+@all"] if user.permissions is None else user.permissions.describe()
    return " ".join(parts).encode()


@command("LIST", 2, ("admin",) + _A, (), ("admin", "slow", "dangerous"), "server",
         "Dumps the effective rules in ACL file format.", since="6.0.0", parent="ACL")
def acl_list(sess, argv):
    return [describe(u) for _, u in sorted(sess.app.auth.users.items())]


@command("HELP", 2, ("loading", "stale"), (), ("slow",), "server", "Returns helpful text about the different "
         "subcommands.", since="6.0.0", parent="ACL")
def acl_help(sess, argv):
    return [Simple(s) for s in ("ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                "WHOAMI", "    Return the current connection username.",
                                "USERS", "    List all the registered usernames.",
                                "LIST", "    Show users details in config file format.",
                                "HELP", "    Print this help.")]
