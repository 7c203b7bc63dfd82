// ioredis' scripting as an application uses it, against the server on 127.0.0.1:PORT, database DB:
//   node define_command.js PORT DB
// Prints one JSON object of what each step returned (test_scripting_cli_node.py compares it); exits 1 on an
// unexpected error.
"use strict";
const Redis = require("ioredis");

const [port, db] = process.argv.slice(2).map(Number);
const settle = (p) => p.then((v) => v, (e) => "ERR " + e.message);
const replies = (rows) => rows.map(([err, v]) => (err ? "ERR " + err.message : v));

async function main() {
  const r = new Redis({ host: "127.0.0.1", port, db, maxRetriesPerRequest: 0, commandTimeout: 30000 });
  // Lua scripts with a fixed number of keys, and one that takes the number at call time
  r.defineCommand("incrTwice", {
    numberOfKeys: 1,
    lua: "local a = redis.call('INCRBY', KEYS[1], ARGV[1]) return {a, redis.call('INCRBY', KEYS[1], ARGV[1])}",
  });
  r.defineCommand("echoAll", { lua: "return {#KEYS, #ARGV, KEYS[1], ARGV[1]}" });
  r.defineCommand("fails", { numberOfKeys: 0, lua: "return redis.error_reply('MYERR custom failure')" });
  r.defineCommand("compareAndDelete", {
    numberOfKeys: 1,
    lua: "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  });
  const out = {};
  out.first = await r.incrTwice("n", 5); // EVALSHA, NOSCRIPT, EVAL
  out.again = await r.incrTwice("n", 1); // EVALSHA
  await r.script("FLUSH");
  out.afterFlush = await r.incrTwice("n", 1);
  out.dynamic = await r.echoAll(2, "k1", "k2", "a1");
  out.error = await settle(r.fails());
  await r.set("owner", "me");
  out.cadOther = await r.compareAndDelete("owner", "you");
  out.cadMine = await r.compareAndDelete("owner", "me");
  out.ownerLeft = await r.exists("owner");
  out.buffer = (await r.incrTwiceBuffer("n", 0)).map(String);

  const p = r.pipeline();
  p.set("m", "1");
  p.incrTwice("m", 2);
  p.fails();
  p.get("m");
  out.pipeline = replies(await p.exec());
  out.multi = replies(await r.multi().incrTwice("m", 1).echoAll(1, "x", "y").exec());
  out.eval = await r.eval("return {KEYS[1], ARGV[1], 3.9, false, 'ok'}", 1, "key", "arg");
  out.evalsha = await settle(r.evalsha("0123456789012345678901234567890123456789", 0));
  out.loaded = await r.script("LOAD", "return 'loaded'");
  out.exists = await r.script("EXISTS", out.loaded, "0123456789012345678901234567890123456789");
  await r.quit();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
