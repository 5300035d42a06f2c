// Foundation: health and behaviour while Redis or the database is down.
// Runs last (it stops and restarts the services scripts/test started).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { api, newUser, sleep } from './helpers.mjs';

const RUN = process.env.LNK_TEST_RUN;
// Health details (which check is down) are for the metrics token only.
const DETAILS = { token: process.env.METRICS_TOKEN };

function stop(pid) {
  try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
}

function start(name, cmd, args) {
  const child = spawn(cmd, args, { stdio: 'ignore', detached: false });
  child.unref();
  writeFileSync(`${RUN}/${name}.pid`, `${child.pid}\n`);
  return child.pid;
}

async function until(fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(200);
  }
}

test('health: everything up is 200 ok with both checks', async () => {
  const r = await api('GET', '/api/health', DETAILS);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.equal(r.body.info.mongodb.status, 'up');
  assert.equal(r.body.info.redis.status, 'up');
  assert.deepEqual(r.body.error, {});
  for (const p of ['/api/health/ready', '/api/health/live', '/api/health/database', '/api/health/redis']) {
    assert.equal((await api('GET', p)).status, 200, p);
  }
  const s = await api('GET', '/api/health/status', DETAILS);
  assert.equal(s.body.status, 'ok');
  assert.equal(typeof s.body.uptime, 'number');
  assert.match(s.body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('fix 17: Redis down is 200 "degraded", and the API keeps working', async () => {
  const u = await newUser();
  stop(process.env.REDIS_PID);
  try {
    const r = await until(async () => {
      const h = await api('GET', '/api/health', DETAILS);
      return h.body.status === 'degraded' ? h : null;
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.error.redis.status, 'down');
    assert.equal(r.body.info.mongodb.status, 'up');
    assert.equal((await api('GET', '/api/health/redis')).status, 200);
    // rate limits fail open: logins and packages still work
    assert.equal((await api('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status, 200);
    assert.equal((await api('GET', '/api/users/profile/packages', { token: u.token })).status, 200);
  } finally {
    start('redis', 'redis-server', ['--port', process.env.REDIS_PORT, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  }
  const back = await until(async () => {
    const h = await api('GET', '/api/health');
    return h.body.status === 'ok' ? h : null;
  });
  assert.equal(back.status, 200);
});

test('fix 17: database down is 503 with the same shape, then 200 again without a restart', async () => {
  const u = await newUser();
  stop(process.env.FERRETDB_PID);
  try {
    const r = await until(async () => {
      const h = await api('GET', '/api/health', DETAILS);
      return h.status === 503 ? h : null;
    });
    assert.equal(r.body.status, 'error');
    assert.equal(r.body.error.mongodb.status, 'down');
    assert.ok('info' in r.body && 'details' in r.body);
    assert.equal((await api('GET', '/api/health/database')).status, 503);
    assert.equal((await api('GET', '/api/health/live')).status, 200, 'liveness does not depend on the database');
    const t0 = Date.now();
    const me = await api('GET', '/api/auth/me', { token: u.token });
    assert.equal(me.status, 503);
    assert.equal(me.body.statusCode, 503);
    assert.ok(Date.now() - t0 < 10000, 'fails fast instead of hanging');
  } finally {
    // The same launcher on the same PostgreSQL: the data outlives FerretDB.
    start('ferretdb', process.env.FERRETDB_BIN, ['-listen-addr', `127.0.0.1:${process.env.MONGO_PORT}`,
      '-postgresql-url', process.env.PG_URL]);
  }
  const back = await until(async () => {
    const h = await api('GET', '/api/health');
    return h.status === 200 ? h : null;
  }, 30000);
  assert.equal(back.body.status, 'ok');
  const me = await api('GET', '/api/auth/me', { token: u.token });
  assert.equal(me.status, 200, 'data from before the outage is still there');
});
