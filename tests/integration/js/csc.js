// node-redis' client-side cache (RESP3, clientSideCache) against the server on 127.0.0.1:PORT, database DB:
//   node csc.js PORT [DB]
// The client caches what it reads (CLIENT TRACKING ON behind the scenes), answers repeated reads from memory, and
// drops an entry when the server's invalidation push arrives after another connection wrote the key (a null
// after a flush drops everything). Prints one JSON object (test_tracking_clients.py compares it). Exits 1 on an
// unexpected error.
"use strict";
const { createClient } = require("redis");

const port = Number(process.argv[2]);
const url = `redis://127.0.0.1:${port}/${Number(process.argv[3] || 0)}`;

async function until(what, test) {
  for (let i = 0; i < 1000; i++) {  // a hang guard, not a timing assertion
    if (test()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("gave up waiting for " + what);
}

async function main() {
  const cached = createClient({ url, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
  const other = createClient({ url });
  await cached.connect();
  await other.connect();
  const csc = cached.clientSideCache;
  const out = {};
  await other.set("csc:k", "v1");
  await other.hSet("csc:h", "f", "1");
  out.first = await cached.get("csc:k");
  out.again = await cached.get("csc:k");
  out.hash = await cached.hGetAll("csc:h");
  out.hashAgain = await cached.hGetAll("csc:h");
  out.afterReads = { hits: csc.stats().hitCount, misses: csc.stats().missCount, size: csc.size() };
  const list = await other.sendCommand(["CLIENT", "LIST"]);
  out.trackingFlags = list.split("\n").filter((l) => / flags=t\S* /.test(l)).length;
  await other.set("csc:k", "v2");
  await until("the invalidation of csc:k", () => csc.size() === 1);
  out.afterWrite = await cached.get("csc:k");
  await other.hSet("csc:h", "f", "2");
  await until("the invalidation of csc:h", () => csc.size() === 1);
  out.hashAfterWrite = await cached.hGetAll("csc:h");
  await other.flushAll();
  await until("the flush", () => csc.size() === 0);
  out.afterFlush = await cached.get("csc:k");
  out.end = { hits: csc.stats().hitCount, misses: csc.stats().missCount };
  await cached.quit();
  await other.quit();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
