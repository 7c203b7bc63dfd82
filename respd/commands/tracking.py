"""CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO: client-side caching's commands, with
Redis 7.0.15's checks in its order (``src/networking.c``); the mechanism is ``respd.tracking``."""
from __future__ import annotations

from .. import errors
from ..errors import CommandError
from ..replies import OK, Map, SetReply
from ..tracking import prefix_conflict
from .args import parse_int
from .table import command

_T = "noscript loading stale"


@command("tracking", parent="CLIENT", arity=-3, flags=_T, categories="slow connection", group="connection",
         since="6.0.0", summary="Enable or disable server assisted client side caching support",
         complexity="O(1). Some options may introduce additional complexity.")
def client_tracking(sess, argv):
    app = sess.app
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list = []
    j, n = 3, len(argv)
    while j < n:
        opt = argv[j].lower()
        more = j + 1 < n
        if opt == b"redirect" and more:
            j += 1
            if redirect:
                raise CommandError(errors.TRACKING_ONE_REDIRECT)
            redirect = parse_int(argv[j])
            if redirect not in app.clients:
                raise CommandError(errors.TRACKING_NO_REDIRECT_CLIENT)
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    mode = argv[2].lower()
    st = sess.tracking
    if mode == b"on":
        if not bcast and prefixes:
            raise CommandError(errors.TRACKING_PREFIX_NEEDS_BCAST)
        if st is not None and st.bcast != bcast:
            raise CommandError(errors.TRACKING_SWITCH_BCAST)
        if bcast and (optin or optout):
            raise CommandError(errors.TRACKING_BCAST_OPTS)
        if optin and optout:
            raise CommandError(errors.TRACKING_OPTIN_OPTOUT)
        if st is not None and ((optin and st.optout) or (optout and st.optin)):
            raise CommandError(errors.TRACKING_SWITCH_OPT)
        if bcast:
            conflict = prefix_conflict(st.prefixes if st is not None else [], prefixes)
            if conflict is not None:
                raise CommandError(conflict)
        app.tracking.enable(sess, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        app.tracking.disable(sess)
    else:
        raise CommandError(errors.SYNTAX)
    return OK


@command("caching", parent="CLIENT", arity=3, flags=_T, categories="slow connection", group="connection",
         since="6.0.0", summary="Instruct the server about tracking or not keys in the next request",
         complexity="O(1)")
def client_caching(sess, argv):
    st = sess.tracking
    if st is None:
        raise CommandError(errors.CACHING_NOT_TRACKING)
    opt = argv[2].lower()
    if opt == b"yes":
        if not st.optin:
            raise CommandError(errors.CACHING_YES)
    elif opt == b"no":
        if not st.optout:
            raise CommandError(errors.CACHING_NO)
    else:
        raise CommandError(errors.SYNTAX)
    st.caching = True
    return OK


@command("getredir", parent="CLIENT", arity=2, flags=_T, categories="slow connection", group="connection",
         since="6.0.0", summary="Get tracking notifications redirection client ID if any", complexity="O(1)")
def client_getredir(sess, argv):
    st = sess.tracking
    return st.redirect if st is not None else -1


@command("trackinginfo", parent="CLIENT", arity=2, flags=_T, categories="slow connection", group="connection",
         since="6.2.0",
         summary="Return information about server assisted client side caching for the current connection",
         complexity="O(1)")
def client_trackinginfo(sess, argv):
    info = sess.app.tracking.info(sess)
    info[1] = SetReply([f.encode() for f in info[1]])
    return Map(list(zip(info[0::2], info[1::2])))
