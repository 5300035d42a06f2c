// Security review item 3: login limits were per account only, so 30
// different e-mails from one address never got 429 (password spraying),
// and 20 wrong passwords from anyone locked the owner out for an hour.
// Now failed logins count per client address, per account from one
// address, and against a much higher per-account ceiling; good logins
// give their hit back. The client address comes from X-Real-IP /
// X-Forwarded-For only when the peer is a trusted proxy (loopback by
// default), which is where the shipped nginx runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import {
  api, freePort, newUser, sleep, startFails, startRedis, startServer, unique,
} from './helpers.mjs';

const LIMITS = { pair: 3, address: 5, account: 8 };
const ENV = {
  RATE_LIMIT_LOGINS: String(LIMITS.pair),
  RATE_LIMIT_LOGINS_PER_ADDRESS: String(LIMITS.address),
  RATE_LIMIT_LOGINS_PER_ACCOUNT: String(LIMITS.account),
};
const stops = [];
let srv;

// A server with the low limits and a Redis of its own.
async function limitedServer(env = {}) {
  const redis = await startRedis();
  stops.push(redis.stop);
  const s = await startServer({ ...ENV, REDIS_PORT: String(redis.port), ...env });
  stops.unshift(s.stop);
  return s;
}

before(async () => { srv = await limitedServer(); });
after(async () => { for (const stop of stops) await stop(); });

function login(email, password, headers = {}, base = srv.base) {
  return api('POST', '/api/auth/login', { body: { email, password }, headers, base });
}

const ghost = () => `${unique('spray')}@test.lnk`;
const statuses = (rs) => rs.map((r) => r.status);

function assert429(r, limit) {
  assert.equal(r.status, 429, r.text);
  assert.equal(r.body.message, 'Too many login attempts, try again later');
  assert.equal(r.headers.get('x-ratelimit-limit'), String(limit));
  assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
  assert.ok(Number(r.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 3600, `Retry-After ${retry}`);
}

test('item 3: password spraying, 30 different e-mails from one address get 429', async () => {
  const ip = { 'x-real-ip': '198.51.100.1' };
  const rs = [];
  for (let i = 0; i < 30; i++) rs.push(await login(ghost(), 'Winter2024!', ip));
  assert.deepEqual(statuses(rs), [...Array(LIMITS.address).fill(401),
    ...Array(30 - LIMITS.address).fill(429)]);
  // Each answer carries the limit closest to refusing: first this
  // e-mail's (3 per address), then the address's own.
  assert.equal(rs[0].headers.get('x-ratelimit-limit'), String(LIMITS.pair));
  assert.equal(rs[0].headers.get('x-ratelimit-remaining'), String(LIMITS.pair - 1));
  assert.equal(rs[4].headers.get('x-ratelimit-limit'), String(LIMITS.address));
  assert.equal(rs[4].headers.get('x-ratelimit-remaining'), '0');
  assert429(rs[29], LIMITS.address);
  // Another address is not affected.
  assert.equal((await login(ghost(), 'Winter2024!', { 'x-real-ip': '198.51.100.2' })).status, 401);
});

test('item 3: 20 wrong passwords from an attacker do not lock the owner out', async () => {
  const u = await newUser();
  const rs = [];
  for (let i = 0; i < 20; i++) rs.push(await login(u.email, `guess-${i}`, { 'x-real-ip': '203.0.113.10' }));
  assert.deepEqual(statuses(rs), [...Array(LIMITS.pair).fill(401), ...Array(20 - LIMITS.pair).fill(429)]);
  assert429(rs[LIMITS.pair], LIMITS.pair);
  // The owner, elsewhere, with the right password.
  const own = await login(u.email, u.password, { 'x-real-ip': '203.0.113.20' });
  assert.equal(own.status, 200, own.text);
  assert.ok(own.body.accessToken);
  // And a wrong guess of the owner's own is still a plain 401.
  assert.equal((await login(u.email, 'typo', { 'x-real-ip': '203.0.113.20' })).status, 401);
});

test('item 3: good logins are not counted; a per-account ceiling holds across addresses', async () => {
  const u = await newUser();
  const home = { 'x-real-ip': '192.0.2.50' };
  for (let i = 0; i < LIMITS.pair + 5; i++) {
    const r = await login(u.email, u.password, home);
    assert.equal(r.status, 200, `good login ${i}: ${r.text}`);
    assert.equal(r.headers.get('x-ratelimit-remaining'), String(LIMITS.pair), 'nothing used up');
  }
  // A distributed guess: 2 per address stays under the per-address limits...
  const rs = [];
  for (let i = 0; i < LIMITS.account / 2; i++) {
    for (let k = 0; k < 2; k++) {
      rs.push(await login(u.email, `guess-${i}-${k}`, { 'x-real-ip': `198.18.0.${i + 1}` }));
    }
  }
  assert.deepEqual(statuses(rs), Array(LIMITS.account).fill(401));
  // ...and then the account's ceiling stops it, from anywhere.
  assert429(await login(u.email, 'one-more', { 'x-real-ip': '198.18.1.1' }), LIMITS.account);
  assert.equal((await login(u.email, u.password, home)).status, 429,
    'past the ceiling the account waits for its window, owner included');
});

test('item 3: X-Forwarded-For counts its right-most hop, not what the client wrote before it', async () => {
  const rs = [];
  for (let i = 0; i < 10; i++) {
    rs.push(await login(ghost(), 'x1234567', { 'x-forwarded-for': `10.${i}.0.1, 203.0.113.77` }));
  }
  assert.deepEqual(statuses(rs), [...Array(LIMITS.address).fill(401),
    ...Array(10 - LIMITS.address).fill(429)]);
});

test('item 3: client headers are ignored unless the peer is a trusted proxy', async () => {
  const strict = await limitedServer({ TRUSTED_PROXIES: '192.0.2.1' });
  const rs = [];
  for (let i = 0; i < 10; i++) {
    rs.push(await login(ghost(), 'x1234567', {
      'x-real-ip': `198.51.100.${100 + i}`, 'x-forwarded-for': `198.51.100.${100 + i}` }, strict.base));
  }
  assert.deepEqual(statuses(rs), [...Array(LIMITS.address).fill(401),
    ...Array(10 - LIMITS.address).fill(429)]);
});

test('item 3: a bad TRUSTED_PROXIES or login limit stops start-up naming the variable', async () => {
  for (const [env, pattern] of [
    [{ TRUSTED_PROXIES: '10.0.0.0/8,proxy.example' }, /TRUSTED_PROXIES must be/],
    [{ TRUSTED_PROXIES: '10.0.0.0/40' }, /TRUSTED_PROXIES must be/],
    [{ RATE_LIMIT_LOGINS_PER_ADDRESS: 'many' }, /RATE_LIMIT_LOGINS_PER_ADDRESS must be a whole number/],
    [{ RATE_LIMIT_LOGINS_PER_ACCOUNT: '0' }, /RATE_LIMIT_LOGINS_PER_ACCOUNT must be a whole number/],
  ]) {
    assert.match(await startFails(env), pattern, JSON.stringify(env));
  }
});

// Behind the shipped conf/nginx.conf (ports, upstream and certificate
// rewritten as tls_front.test.mjs does), whatever X-Real-IP or
// X-Forwarded-For a client sends, it is counted as the address nginx saw.
test('item 3: behind the shipped nginx, a client cannot choose its address', async () => {
  const behind = await limitedServer();
  const dir = join(process.env.LNK_TEST_RUN, 'nginx-login-limits');
  for (const d of ['logs', 'tmp', 'cert']) mkdirSync(join(dir, d), { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', join(dir, 'cert/privkey.pem'), '-out', join(dir, 'cert/fullchain.pem')],
  { stdio: 'ignore' });
  const ca = readFileSync(join(dir, 'cert/fullchain.pem'));
  const port = await freePort();
  const conf = readFileSync(new URL('../../conf/nginx.conf', import.meta.url), 'utf8')
    .replace(/^\s*listen \[::\].*$/gm, '')
    .replace(/listen 443 ssl;/, `listen 127.0.0.1:${port} ssl;`)
    .replace(/listen 80;/, `listen 127.0.0.1:${await freePort()};`)
    .replace(/server 127\.0\.0\.1:3001;/, `server ${new URL(behind.base).host};`)
    .replace(/^worker_processes auto;/m, 'worker_processes 1;')
    .replace(/worker_connections 16384;/, 'worker_connections 1024;');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', `${dir}/`, '-g', 'daemon off;'],
    { stdio: 'ignore' });
  const pidFile = join(process.env.LNK_TEST_RUN, 'nginx-login-limits.pid');
  writeFileSync(pidFile, `${nginx.pid}\n`);
  const post = (headers) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ email: ghost(), password: 'x1234567' });
    const req = https.request({ host: 'localhost', port, path: '/api/auth/login', method: 'POST', ca,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
    (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(body);
  });
  try {
    for (let i = 0; ; i++) {
      try { await post({}); break; } catch (err) {
        if (i > 50) throw err;
        await sleep(100);
      }
    }
    const got = [];
    for (let i = 1; i < 10; i++) {
      got.push(await post({ 'x-real-ip': `198.51.100.${i}`, 'x-forwarded-for': `198.51.100.${i}` }));
    }
    // The first probe above was attempt 1.
    assert.deepEqual(got, [...Array(LIMITS.address - 1).fill(401), ...Array(10 - LIMITS.address).fill(429)]);
  } finally {
    nginx.kill('SIGTERM');
    rmSync(pidFile, { force: true });
  }
});
