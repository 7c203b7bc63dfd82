"""Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH
and PUBSUB (CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB, HELP), declared as Redis 7.0.15 declares them.

The bookkeeping and the delivery live in ``respd.pubsub``. (Un)subscribe confirmations are several replies to one
command (one per name), so they come back already encoded for the client's protocol (``Push``: sent even under
CLIENT REPLY OFF): arrays in RESP2, push frames in RESP3. A client that now holds subscriptions is handed to the
out-of-band write path by the pipeline (``pipeline.run_requests``), as MONITOR is. Messages reach subscribers on
this node only.
"""
from __future__ import annotations

from .. import errors, pubsub
from ..errors import CommandError
from ..replies import Push, Simple
from .table import Keys, command, container

_SUB = "pubsub noscript loading stale"
_SHARD_KEYS = (Keys(1, "not_key", last=-1),)


@command("subscribe", arity=-2, flags=_SUB, categories="pubsub slow", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of channels to subscribe to.",
         summary="Listen for messages published to the given channels")
def subscribe(sess, argv):
    return Push(pubsub.subscribe(sess, argv[1:], "channels"))


@command("unsubscribe", arity=-1, flags=_SUB, categories="pubsub slow", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a channel.",
         summary="Stop listening for messages posted to the given channels")
def unsubscribe(sess, argv):
    return Push(pubsub.unsubscribe(sess, argv[1:], "channels"))


@command("psubscribe", arity=-2, flags=_SUB, categories="pubsub slow", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of patterns the client is already subscribed to.",
         summary="Listen for messages published to channels matching the given patterns")
def psubscribe(sess, argv):
    return Push(pubsub.psubscribe(sess, argv[1:]))


@command("punsubscribe", arity=-1, flags=_SUB, categories="pubsub slow", group="pubsub", since="2.0.0",
         complexity="O(N+M) where N is the number of patterns the client is already subscribed and M is the number "
                    "of total patterns subscribed in the system (by any client).",
         summary="Stop listening for messages posted to channels matching the given patterns")
def punsubscribe(sess, argv):
    return Push(pubsub.unsubscribe(sess, argv[1:], "patterns"))


@command("ssubscribe", arity=-2, flags=_SUB, keys=_SHARD_KEYS, categories="pubsub slow", group="pubsub",
         since="7.0.0", complexity="O(N) where N is the number of shard channels to subscribe to.",
         summary="Listen for messages published to the given shard channels")
def ssubscribe(sess, argv):
    if sess.in_exec:  # Redis refuses it to any DENY BLOCKING client, MULTI included (unlike SUBSCRIBE)
        raise CommandError(errors.pubsub_deny_blocking("SSUBSCRIBE"))
    return Push(pubsub.subscribe(sess, argv[1:], "shards"))


@command("sunsubscribe", arity=-1, flags=_SUB, keys=_SHARD_KEYS, categories="pubsub slow", group="pubsub",
         since="7.0.0", complexity="O(N) where N is the number of clients already subscribed to a shard channel.",
         summary="Stop listening for messages posted to the given shard channels")
def sunsubscribe(sess, argv):
    return Push(pubsub.unsubscribe(sess, argv[1:], "shards"))


@command("publish", arity=3, flags="pubsub loading stale fast", categories="pubsub fast", group="pubsub",
         since="2.0.0", complexity="O(N+M) where N is the number of clients subscribed to the receiving channel and "
                                   "M is the total number of subscribed patterns (by any client).",
         summary="Post a message to a channel")
def publish(sess, argv):
    return pubsub.publish(sess.app, argv[1], argv[2])


@command("spublish", arity=3, flags="pubsub loading stale fast", keys=(Keys(1, "not_key"),),
         categories="pubsub fast", group="pubsub", since="7.0.0",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard channel.",
         summary="Post a message to a shard channel")
def spublish(sess, argv):
    return pubsub.publish(sess.app, argv[1], argv[2], shard=True)


# --------------------------------------------------------------------------------------------------- PUBSUB
container("PUBSUB", arity=-2, categories="slow", group="pubsub", since="2.8.0",
          summary="A container for Pub/Sub commands")
_INTRO = "pubsub loading stale"


def _pattern(argv, container_sub: bytes):
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(container_sub, "PUBSUB"))
    return argv[2] if len(argv) == 3 else None


@command("channels", parent="PUBSUB", arity=-2, flags=_INTRO, categories="pubsub slow", group="pubsub",
         since="2.8.0", complexity="O(N) where N is the number of active channels, and assuming constant time "
                                   "pattern matching (relatively short channels and patterns)",
         summary="List active channels")
def pubsub_channels(sess, argv):
    return pubsub.channels(sess.app, _pattern(argv, argv[1]))


@command("numsub", parent="PUBSUB", arity=-2, flags=_INTRO, categories="pubsub slow", group="pubsub",
         since="2.8.0", complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels",
         summary="Get the count of subscribers for channels")
def pubsub_numsub(sess, argv):
    return pubsub.numsub(sess.app, argv[2:])


@command("numpat", parent="PUBSUB", arity=2, flags=_INTRO, categories="pubsub slow", group="pubsub",
         since="2.8.0", complexity="O(1)", summary="Get the count of unique patterns pattern subscriptions")
def pubsub_numpat(sess, argv):
    return len(sess.app.pubsub.patterns)


@command("shardchannels", parent="PUBSUB", arity=-2, flags=_INTRO, categories="pubsub slow", group="pubsub",
         since="7.0.0", complexity="O(N) where N is the number of active shard channels, and assuming constant "
                                   "time pattern matching (relatively short shard channels).",
         summary="List active shard channels")
def pubsub_shardchannels(sess, argv):
    return pubsub.channels(sess.app, _pattern(argv, argv[1]), shard=True)


@command("shardnumsub", parent="PUBSUB", arity=-2, flags=_INTRO, categories="pubsub slow", group="pubsub",
         since="7.0.0", complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard "
                                   "channels",
         summary="Get the count of subscribers for shard channels")
def pubsub_shardnumsub(sess, argv):
    return pubsub.numsub(sess.app, argv[2:], shard=True)


_HELP = ("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
         "CHANNELS [<pattern>]",
         "    Return the currently active channels matching a <pattern> (default: '*').",
         "NUMPAT",
         "    Return number of subscriptions to patterns.",
         "NUMSUB [<channel> ...]",
         "    Return the number of subscribers for the specified channels, excluding",
         "    pattern subscriptions(default: no channels).",
         "SHARDCHANNELS [<pattern>]",
         "    Return the currently active shard level channels matching a <pattern> (default: '*').",
         "SHARDNUMSUB [<shardchannel> ...]",
         "    Return the number of subscribers for the specified shard level channel(s)",
         "HELP",
         "    Prints this help.")


@command("help", parent="PUBSUB", arity=2, flags="loading stale", categories="slow", group="pubsub", since="6.2.0",
         complexity="O(1)", summary="Show helpful text about the different subcommands")
def pubsub_help(sess, argv):
    return [Simple(s) for s in _HELP]
