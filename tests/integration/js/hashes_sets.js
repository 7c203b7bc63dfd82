// ioredis' hash and set API as an application uses it, against the server on 127.0.0.1:PORT, database DB:
//   node hashes_sets.js PORT DB
// Prints one JSON object of what each step returned (test_hashes_sets_clients.py compares it); set replies and
// hashtable orders are sorted here. Exits 1 on an unexpected error.
"use strict";
const Redis = require("ioredis");

const [port, db] = process.argv.slice(2).map(Number);
const settle = (p) => p.then((v) => v, (e) => "ERR " + e.message);
const replies = (rows) => rows.map(([err, v]) => (err ? "ERR " + err.message : v));
const sorted = (xs) => [...xs].sort();

async function scanAll(stream) {
  const seen = [];
  for await (const page of stream) seen.push(...page);
  return seen;
}

async function main() {
  const r = new Redis({ host: "127.0.0.1", port, db, maxRetriesPerRequest: 0, commandTimeout: 30000 });
  const out = {};
  out.hset = await r.hset("user:1", { name: "Ada", lang: "en", visits: 3 });
  out.hsetPairs = await r.hset("user:1", "lang", "fr", "city", "Paris");
  out.hget = await r.hget("user:1", "name");
  out.hgetall = await r.hgetall("user:1");
  out.hgetallMissing = await r.hgetall("nope");
  out.hmget = await r.hmget("user:1", "name", "nope");
  out.hincrby = await r.hincrby("user:1", "visits", 4);
  out.hincrbyfloat = await r.hincrbyfloat("user:1", "score", "2.5");
  out.hincrbyBad = await settle(r.hincrby("user:1", "name", 1));
  out.hdel = await r.hdel("user:1", "score", "nope");
  out.hkeys = await r.hkeys("user:1");
  out.hlen = await r.hlen("user:1");
  out.hrandfield = (await r.hrandfield("user:1", -3)).length;
  const wide = {};
  for (let i = 0; i < 600; i++) wide["f" + i] = String(i);
  await r.hset("wide", wide);
  const pairs = await scanAll(r.hscanStream("wide", { count: 50 }));
  const scanned = {};
  for (let i = 0; i < pairs.length; i += 2) scanned[pairs[i]] = pairs[i + 1];
  out.hscanFields = Object.keys(scanned).length;
  out.hscanSame = JSON.stringify(Object.keys(scanned).sort()) === JSON.stringify(Object.keys(wide).sort());
  out.hgetallBuffer = Object.keys(await r.hgetallBuffer("user:1")).length;

  out.sadd = await r.sadd("tags", "red", "green", "blue", "red");
  out.smembers = sorted(await r.smembers("tags"));
  out.sismember = await r.sismember("tags", "red");
  out.smismember = await r.smismember("tags", "red", "pink");
  await r.sadd("other", "green", "pink");
  out.sinter = sorted(await r.sinter("tags", "other"));
  out.sunion = sorted(await r.sunion("tags", "other"));
  out.sdiff = sorted(await r.sdiff("tags", "other"));
  out.sunionstore = await r.sunionstore("all", "tags", "other");
  out.smove = await r.smove("tags", "other", "red");
  out.scard = [await r.scard("tags"), await r.scard("other")];
  out.spop = (await r.spop("all", 2)).length;
  out.srandmember = (await r.srandmember("all", 10)).length;
  out.sscan = sorted(await scanAll(r.sscanStream("other", { match: "p*" })));
  out.wrongtype = await settle(r.sadd("user:1", "x"));

  out.pipeline = replies(await r.pipeline().hset("p", "a", "1").sadd("ps", "x").hgetall("p").get("p").exec());
  out.multi = replies(await r.multi().hincrby("p", "a", 2).scard("ps").exec());
  await r.quit();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
