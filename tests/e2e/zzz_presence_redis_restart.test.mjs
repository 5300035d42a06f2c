// Presence after Redis restarts (and loses every key): each worker
// renews its sockets' entries as soon as its Redis connection is back,
// and the users Redis had forgotten are announced online again, so a
// contact sees them online within seconds, not at the next refresh.
// Runs after zz_outage (both restart the test server's Redis).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { collect, connect, newUser, sleep } from './helpers.mjs';
import { direct, redis } from './chat-helpers.mjs';

const RUN = process.env.LNK_TEST_RUN;
const sockets = [];
after(() => { for (const s of sockets) s.close(); });

// zz_outage restarts Redis too and records the pid where scripts/test
// finds it at the end.
function redisPid() {
  const f = `${RUN}/redis.pid`;
  return Number(existsSync(f) ? readFileSync(f, 'utf8').trim() : process.env.REDIS_PID);
}

function ping() {
  try {
    return execFileSync('redis-cli', ['-p', process.env.REDIS_PORT, 'PING'],
      { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() === 'PONG';
  } catch {
    return false;
  }
}

async function restartRedis() {
  process.kill(redisPid(), 'SIGKILL');
  for (let i = 0; i < 50 && ping(); i++) await sleep(100);
  const child = spawn('redis-server', ['--port', process.env.REDIS_PORT, '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.unref();
  writeFileSync(`${RUN}/redis.pid`, `${child.pid}\n`);
  for (let i = 0; i < 100; i++) {
    if (ping()) return;
    await sleep(100);
  }
  throw new Error('redis did not come back');
}

test('presence after a Redis restart: a contact sees the user online again within seconds', { timeout: 60000 }, async (t) => {
  const [a, b] = [await newUser(), await newUser()];
  await direct(a, b);
  const sb = await connect(b.token, { transports: ['websocket'] });
  const status = collect(sb, 'user_online_status');
  const sa = await connect(a.token, { transports: ['polling'] });
  sockets.push(sa, sb);
  for (let i = 0; i < 50 && !status.some((e) => e.userId === a.id); i++) await sleep(100);
  // The status event can come before the entry is in Redis: the worker
  // may still be reconnecting after zz_outage's restart, and re-asserts
  // its sockets when it is back.
  for (let i = 0; i < 50 && redis('ZCARD', `presence:${a.id}`) !== '1'; i++) await sleep(100);
  assert.equal(redis('ZCARD', `presence:${a.id}`), '1');
  status.length = 0;

  await restartRedis();
  const t0 = Date.now();
  assert.equal(redis('EXISTS', `presence:${a.id}`), '0', 'the restart lost the keys');

  let on;
  while (!(on = status.find((e) => e.userId === a.id && e.isOnline)) && Date.now() - t0 < 10000) {
    await sleep(100);
  }
  assert.ok(on, 'the contact hears the user online again');
  t.diagnostic(`online again after ${Date.now() - t0} ms`);
  assert.equal(status.filter((e) => e.userId === a.id && !e.isOnline).length, 0, 'never offline');

  // Both users' entries are back in Redis, for tools that read them too
  // (each worker renews its own sockets when its connection is back: the
  // other worker's may follow the event by a moment).
  const back = (u) => redis('ZCARD', `presence:${u.id}`) === '1' && redis('ZCARD', `sockets:${u.id}`) === '1';
  for (let i = 0; i < 50 && !(back(a) && back(b)); i++) await sleep(100);
  for (const u of [a, b]) {
    assert.equal(redis('ZCARD', `presence:${u.id}`), '1');
    assert.equal(redis('ZCARD', `sockets:${u.id}`), '1');
    assert.equal(redis('GET', `user:${u.id}:online`), 'true');
  }
  assert.ok(sa.connected && sb.connected);
});
