"""Client-side caching commands: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (Redis 7.0.15's checks, order
and texts; ``src/networking.c`` clientCommand). The state and the invalidations live in ``respd.tracking``."""
from __future__ import annotations

from .. import errors
from ..errors import CommandError
from ..protocol import string2ll
from ..replies import OK, Map, SetReply
from .table import command

_FLAGS = "noscript loading stale"


def _parse(sess, argv: list):
    """The options after ON|OFF, checked in order as Redis parses them: (redirect, bcast, optin, optout, noloop,
    prefixes)."""
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list = []
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect != 0:
                raise CommandError(errors.TRACKING_ONE_REDIRECT)
            value = string2ll(argv[j])
            if value is None:
                raise CommandError(errors.NOT_INTEGER)
            redirect = value
            if value not in sess.app.clients:
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
    return redirect, bcast, optin, optout, noloop, prefixes


def _check_prefixes(tr, prefixes: list) -> None:
    """checkPrefixCollisionsOrReply: no prefix may be a prefix of another (the client's own, or given)."""
    for i, p in enumerate(prefixes):
        if tr is not None:
            for old in sorted(tr.prefixes):
                if p.startswith(old) or old.startswith(p):
                    raise CommandError(errors.prefix_overlap_existing(p, old))
        for q in prefixes[i + 1:]:
            if p.startswith(q) or q.startswith(p):
                raise CommandError(errors.prefix_overlap_given(p, q))


@command("tracking", parent="CLIENT", arity=-3, flags=_FLAGS, categories="slow connection", group="connection",
         since="6.0.0", complexity="O(1). Some options may introduce additional complexity.",
         summary="Enable or disable server assisted client side caching support")
def client_tracking(sess, argv):
    """CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]"""
    redirect, bcast, optin, optout, noloop, prefixes = _parse(sess, argv)
    mode = argv[2].lower()
    tracking = sess.app.tracking
    if mode == b"on":
        tr = sess.tracking
        if not bcast and prefixes:
            raise CommandError(errors.TRACKING_PREFIX_NEEDS_BCAST)
        if tr is not None and tr.bcast != bcast:
            raise CommandError(errors.TRACKING_SWITCH_BCAST)
        if bcast and (optin or optout):
            raise CommandError(errors.TRACKING_BCAST_OPTS)
        if optin and optout:
            raise CommandError(errors.TRACKING_OPTIN_OPTOUT)
        if tr is not None and ((optin and tr.optout) or (optout and tr.optin)):
            raise CommandError(errors.TRACKING_SWITCH_OPT)
        if bcast:
            _check_prefixes(tr, prefixes)
        tracking.enable(sess, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        tracking.disable(sess)
    else:
        raise CommandError(errors.SYNTAX)
    return OK


@command("caching", parent="CLIENT", arity=3, flags=_FLAGS, categories="slow connection", group="connection",
         since="6.0.0", summary="Instruct the server about tracking or not keys in the next request")
def client_caching(sess, argv):
    """CLIENT CACHING YES|NO: whether the next command (or transaction) is tracked, in OPTIN/OPTOUT mode."""
    tr = sess.tracking
    if tr is None:
        raise CommandError(errors.CACHING_NOT_TRACKING)
    opt = argv[2].lower()
    if opt == b"yes":
        if not tr.optin:
            raise CommandError(errors.CACHING_YES_OPTIN)
    elif opt == b"no":
        if not tr.optout:
            raise CommandError(errors.CACHING_NO_OPTOUT)
    else:
        raise CommandError(errors.SYNTAX)
    tr.caching = True
    return OK


@command("getredir", parent="CLIENT", arity=2, flags=_FLAGS, categories="slow connection", group="connection",
         since="6.0.0", summary="Get tracking notifications redirection client ID if any")
def client_getredir(sess, argv):
    """-1 while tracking is off, 0 when on without a redirect, else the redirect's client id."""
    tr = sess.tracking
    return -1 if tr is None else tr.redirect


@command("trackinginfo", parent="CLIENT", arity=2, flags=_FLAGS, categories="slow connection", group="connection",
         since="6.2.0", summary="Return information about server assisted client side caching for the current "
                                "connection")
def client_trackinginfo(sess, argv):
    """A map (a flat array in RESP2): flags (a set), redirect (-1 when off), prefixes (BCAST's, in byte order)."""
    tr = sess.tracking
    if tr is None:
        return Map([(b"flags", SetReply([b"off"])), (b"redirect", -1), (b"prefixes", [])])
    return Map([(b"flags", SetReply(tr.flags())), (b"redirect", tr.redirect), (b"prefixes", sorted(tr.prefixes))])
