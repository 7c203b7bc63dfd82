// ioredis' blocking pops against the server on 127.0.0.1:PORT, database DB:   node blocking.js PORT DB
// A pop answered at once, pops timing out (null), pops blocked (timeout 0) until another connection pushes, and
// Redis' errors. Prints one JSON object (test_lists_zsets_clients.py compares it). Exits 1 on an unexpected error.
"use strict";
const Redis = require("ioredis");

const [port, db] = process.argv.slice(2).map(Number);
const settle = (p) => p.then((v) => v, (e) => e.message);
const options = { host: "127.0.0.1", port, db, maxRetriesPerRequest: 0 };

// until the connection named `name` is blocked (CLIENT LIST: flag b, cmd a blocking pop), polled
async function blocked(admin, name) {
  for (let i = 0; i < 3000; i++) {
    const lines = (await admin.client("LIST")).split("\n");
    const mine = lines.filter((l) => l.includes(" name=" + name + " "));
    if (mine.some((l) => / flags=\w*b /.test(l) && / cmd=(blpop|brpop|blmove) /.test(l))) return;
    await new Promise((ok) => setTimeout(ok, 10));
  }
  throw new Error(name + " never blocked");
}

async function main() {
  const r = new Redis({ ...options, connectionName: "js-admin" });
  const w = new Redis({ ...options, connectionName: "js-waiter" });
  const out = {};
  await r.rpush("q", "a", "b");
  out.now = await w.blpop("empty", "q", 1);
  out.timeout = await w.blpop("nothing", 0.05);
  out.timeoutBrpop = await w.brpop("nothing", "neither", 0.05);

  let pending = w.blpop("q1", "q2", 0);
  await blocked(r, "js-waiter");
  await r.rpush("q2", "x", "y");
  out.served = await pending;
  out.left = await r.lrange("q2", 0, -1);

  pending = w.brpop("q3", 30);
  await blocked(r, "js-waiter");
  await r.lpush("q3", "a", "b");
  out.servedBrpop = await pending;

  pending = w.blmove("src", "dst", "LEFT", "RIGHT", 0);
  await blocked(r, "js-waiter");
  await r.rpush("src", "m");
  out.blmove = await pending;

  await r.set("s", "x");
  out.wrongtype = await settle(w.blpop("s", 1));
  out.negative = await settle(w.blpop("q", -1));
  r.disconnect();
  w.disconnect();
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
