// Presence of sockets nobody closes: a SIGKILLed worker's, a dead
// node's. Their entries stop being refreshed and expire (PRESENCE_TTL,
// 30 s); the sweep (worker 1 of every node, every 5 s) removes them and
// announces the user offline, once, to the users who share a
// conversation with them. Two more nodes share the test server's Redis
// and database (the test server itself is left alone): one loses a
// worker and keeps sweeping, the other is killed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, collect, connect, freePort, newUser, once, onTwoWorkers, serverPidOf, sleep, waitPort } from './helpers.mjs';
import { group, redis } from './chat-helpers.mjs';

const RUN = process.env.LNK_TEST_RUN;
const TTL = 30000;
const SWEEP = 5000;
const nodes = {};
const sockets = [];

// A server node of its own on the same Redis and database.
async function startNode(name, workers) {
  const conf = path.join(RUN, `kore-${name}.conf`);
  fs.writeFileSync(conf, fs.readFileSync(process.env.KORE_CONF, 'utf8')
    .replace(/^workers\s+\d+/m, `workers\t\t${workers}`));
  const port = await freePort();
  const log = fs.openSync(path.join(RUN, `kore-${name}.log`), 'w');
  const child = spawn('kore', ['-fnrc', conf], {
    env: { ...process.env, PORT: String(port), NODE_ID: name },
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  await waitPort(port);
  nodes[name] = { child, base: `http://127.0.0.1:${port}` };
  return nodes[name];
}

function killNode(name) {
  try { process.kill(-nodes[name].child.pid, 'SIGKILL'); } catch { /* gone */ }
}

before(async () => {
  await startNode('sweepworker', 2);
  await startNode('sweepdead', 1);
});

after(() => {
  for (const s of sockets) s.close();
  for (const name of Object.keys(nodes)) killNode(name);
});

async function open(token, base = BASE) {
  const s = await connect(token, { transports: ['websocket'] }, base);
  sockets.push(s);
  return s;
}

async function until(fn, ms) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(100);
  }
}

const offline = (uid) => (e) => e.userId === uid && e.isOnline === false;

test('presence sweep: a user whose only socket was on a killed worker, or on a killed node, goes offline once, within TTL + sweep', { timeout: 180000 }, async (t) => {
  const [a1, a2, b, c] = [await newUser(), await newUser(), await newUser(), await newUser()];
  await group(b, [a1, a2, c], 'sweep');

  // b on the test server, c and a1 on the node that loses a worker (a1
  // only on that worker), a2 on the node that dies.
  const sb = await open(b.token);
  const sc = await open(c.token, nodes.sweepworker.base);
  const heard = [collect(sb, 'user_online_status'), collect(sc, 'user_online_status')];

  const { byPid } = await onTwoWorkers(() => open(a1.token, nodes.sweepworker.base),
    nodes.sweepworker.base);
  const victim = [...byPid.keys()].find((pid) => pid !== serverPidOf(sc, nodes.sweepworker.base));
  for (const [pid, list] of byPid) {
    if (pid !== victim) for (const s of list) s.close();
  }
  await open(a2.token, nodes.sweepdead.base);

  await until(() => heard.every((h) => [a1, a2].every((u) =>
    h.some((e) => e.userId === u.id && e.isOnline))), 10000);

  for (const h of heard) h.length = 0;
  const t0 = Date.now();
  process.kill(victim, 'SIGKILL');
  killNode('sweepdead');

  const got = await Promise.all([sb, sc].flatMap((s) => [a1, a2].map((u) =>
    once(s, 'user_online_status', TTL + 2 * SWEEP + 15000, offline(u.id))
      .then((e) => ({ e, at: Date.now() - t0 })))));
  for (const { e, at } of got) {
    t.diagnostic(`${e.userId} offline after ${at} ms, lastSeen ${e.lastSeen}`);
    const seen = Date.parse(e.lastSeen);
    assert.ok(seen <= t0 + 1000 && seen >= t0 - TTL, `lastSeen ${e.lastSeen} is the last refresh`);
    assert.ok(at <= TTL + 2 * SWEEP + 15000);
  }

  // Once, although two nodes sweep; and nothing is left in Redis.
  await sleep(2 * SWEEP);
  for (const h of heard) {
    for (const u of [a1, a2]) {
      assert.equal(h.filter(offline(u.id)).length, 1, `one offline for ${u.id}`);
    }
  }
  for (const u of [a1, a2]) {
    assert.equal(redis('ZCARD', `presence:${u.id}`), '0');
    assert.equal(redis('ZCARD', `sockets:${u.id}`), '0');
    assert.equal(redis('EXISTS', `user:${u.id}:online`), '0');
  }
  const left = redis('ZRANGE', 'presence:expiry', '0', '-1').split('\n')
    .filter((m) => m.startsWith(a1.id) || m.startsWith(a2.id));
  assert.deepEqual(left, []);
  // The survivors were not touched.
  assert.ok(sb.connected && sc.connected);
  assert.equal(heard[0].filter(offline(c.id)).length, 0);
});
