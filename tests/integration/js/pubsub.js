// ioredis' Pub/Sub against the server on 127.0.0.1:PORT:   node pubsub.js PORT
// A subscriber on a channel and a pattern gets what another connection publishes ("message", "pmessage" events),
// then unsubscribes (by name: ioredis' unsubscribe() without names waits forever, on redis-server too) and
// runs an ordinary command again. Prints one JSON object (test_pubsub_clients.py compares
// it). Exits 1 on an unexpected error.
"use strict";
const Redis = require("ioredis");

const port = Number(process.argv[2]);
const options = { host: "127.0.0.1", port, maxRetriesPerRequest: 0 };

async function main() {
  const sub = new Redis(options);
  const pub = new Redis(options);
  const out = { messages: [] };
  const all = new Promise((done) => {
    const heard = (...args) => {
      out.messages.push(args);
      if (out.messages.length === 3) done();
    };
    sub.on("message", (channel, message) => heard("message", channel, message));
    sub.on("pmessage", (pattern, channel, message) => heard("pmessage", pattern, channel, message));
  });
  out.subscribed = await sub.subscribe("js-news", "js-other");
  out.psubscribed = await sub.psubscribe("js-n*");
  out.receivers = [await pub.publish("js-news", "hello"), await pub.publish("js-other", "x")];
  await all;
  out.unsubscribed = await sub.unsubscribe("js-news", "js-other");
  out.punsubscribed = await sub.punsubscribe("js-n*");
  out.after = await sub.ping();
  out.afterPublish = await pub.publish("js-news", "nobody");
  sub.disconnect();
  pub.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
