// The bus between nodes: two servers (conformance mode, 2 workers each)
// sharing a Redis of their own. A room event published on one node
// reaches the room's members on the other, in publish order; with Redis
// gone events still reach the publishing node's own workers, and the
// nodes find each other again when Redis is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { freePort, waitPort } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const procs = [];
let redis;
let redisPort;
let redisDir;
const bases = [];

function startRedis() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', redisDir], { stdio: 'ignore' });
  return waitPort(redisPort);
}

function stopRedis() {
  return new Promise((resolve) => {
    redis.once('exit', resolve);
    redis.kill('SIGKILL');
  });
}

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lnk-bus-'));
  redisPort = await freePort();
  await startRedis();
  for (const node of ['busnodea', 'busnodeb']) {
    const port = await freePort();
    procs.push(spawn(path.join(ROOT, 'scripts/conformance'), [], {
      env: {
        ...process.env,
        WORKERS: '2',
        PORT: String(port),
        NODE_ID: node,
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(redisPort),
      },
      detached: true,
      stdio: 'ignore',
    }));
    await waitPort(port);
    bases.push(`http://127.0.0.1:${port}`);
  }
});

after(async () => {
  for (const p of procs) {
    try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  if (redis && redis.exitCode === null) await stopRedis();
  fs.rmSync(redisDir, { recursive: true, force: true });
});

function member(base, transports = ['websocket']) {
  const s = io(`${base}/test`, { forceNew: true, reconnection: false, transports });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), 5000);
    s.once('connect', () => {
      s.emit('join', () => { clearTimeout(timer); resolve(s); });
    });
    s.once('connect_error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function collect(socket, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n}`)), 5000);
    socket.on('room-message', (m) => {
      got.push(m);
      if (got.length === n) { clearTimeout(timer); resolve(got); }
    });
  });
}

// Redis subscriptions are made when a worker starts: wait until a
// publish from one node is seen on the other.
async function untilLinked(from, to) {
  for (let i = 0; i < 100; i++) {
    const seen = new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), 100);
      to.once('room-message', () => { clearTimeout(t); resolve(true); });
    });
    from.emit('room', { probe: i });
    if (await seen) return;
  }
  throw new Error('the nodes never saw each other through Redis');
}

test('room events cross nodes in publish order', async () => {
  const a1 = await member(bases[0]);
  const a2 = await member(bases[0], ['polling']);
  const b1 = await member(bases[1]);
  const b2 = await member(bases[1], ['polling']);
  await untilLinked(a1, b1);
  for (const s of [a2, b1, b2]) s.removeAllListeners('room-message');
  // let stray probes drain
  await new Promise((r) => setTimeout(r, 300));
  for (const s of [a2, b1, b2]) s.removeAllListeners('room-message');

  const want = Array.from({ length: 30 }, (_, i) => ({ seq: i }));
  const got = [a2, b1, b2].map((s) => collect(s, want.length));
  const self = [];
  a1.on('room-message', (m) => self.push(m));
  for (const m of want) a1.emit('room', m);
  for (const g of await Promise.all(got)) assert.deepEqual(g, want);
  assert.deepEqual(self, []);
  for (const s of [a1, a2, b1, b2]) s.close();
});

test('without Redis the node still delivers to its own workers, then relinks', async () => {
  const a1 = await member(bases[0]);
  const a2 = await member(bases[0], ['polling']);
  const b1 = await member(bases[1]);
  await stopRedis();

  const local = collect(a2, 1);
  a1.emit('room', { during: 'outage' });
  assert.deepEqual(await local, [{ during: 'outage' }]);

  await startRedis();
  await untilLinked(a1, b1);
  for (const s of [a1, a2, b1]) s.close();
});

test('a single node skips Redis; a node that joins later is heard at once', async () => {
  const { execFileSync } = await import('node:child_process');
  const numsub = () => Number(execFileSync('redis-cli', ['-p', String(redisPort), 'PUBSUB', 'NUMSUB',
    'lnk-chat:bus']).toString().trim().split('\n')[1]);
  // Node C alone on its own channel population: stop A and B first.
  for (const p of procs.splice(0)) {
    try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  for (let i = 0; i < 100 && numsub() > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(numsub(), 0);

  const start = async (node) => {
    const port = await freePort();
    procs.push(spawn(path.join(ROOT, 'scripts/conformance'), [], {
      env: { ...process.env, WORKERS: '2', PORT: String(port), NODE_ID: node,
        REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redisPort) },
      detached: true, stdio: 'ignore',
    }));
    await waitPort(port);
    return `http://127.0.0.1:${port}`;
  };
  const c = await start('busnodec');
  const c1 = await member(c);
  // Let C's once-a-second subscriber count say it is alone.
  await new Promise((r) => setTimeout(r, 2500));
  const d = await start('busnoded');
  for (let i = 0; i < 100 && numsub() < 4; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(numsub(), 4);
  const d1 = await member(d);
  const got = collect(d1, 1);
  c1.emit('room', { hello: 'd' });
  assert.deepEqual(await got, [{ hello: 'd' }]);
  for (const s of [c1, d1]) s.close();
});
