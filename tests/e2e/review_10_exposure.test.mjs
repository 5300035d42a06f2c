// Security review item 10: exposure. /api/metrics answers only
// Authorization: Bearer $METRICS_TOKEN (403 when none is configured);
// health answers anonymous callers with their status alone; every
// response carries X-Content-Type-Options: nosniff; the demo and docs
// pages have a strict Content-Security-Policy and still work in
// Chromium; heads over 8 KB get 431 / 414, not a TCP reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { api, BASE, freePort, launchChromium, newUser, sleep, waitPort } from './helpers.mjs';

const TOKEN = process.env.METRICS_TOKEN;
const HEALTH = ['/api/health', '/api/health/ready', '/api/health/live', '/api/health/database',
  '/api/health/redis', '/api/health/status'];

test('item 10: /api/metrics needs the metrics token', async () => {
  assert.ok(TOKEN, 'scripts/test exports METRICS_TOKEN');
  const anon = await api('GET', '/api/metrics');
  assert.equal(anon.status, 401);
  assert.match(anon.headers.get('www-authenticate'), /^Bearer/);
  assert.doesNotMatch(anon.text, /http_requests_total/);
  for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
    const r = await api('GET', '/api/metrics', { headers: { authorization: auth } });
    assert.equal(r.status, 401, auth);
  }
  // A user's access token is no metrics token.
  const u = await newUser();
  assert.equal((await api('GET', '/api/metrics', { token: u.token })).status, 401);
  const ok = await api('GET', '/api/metrics', { token: TOKEN });
  assert.equal(ok.status, 200);
  assert.match(ok.text, /^# HELP /m);
});

test('item 10: health answers anonymous callers with the status alone', async () => {
  for (const p of HEALTH) {
    const r = await api('GET', p);
    assert.equal(r.status, 200, p);
    assert.deepEqual(Object.keys(r.body), ['status'], p);
    assert.doesNotMatch(r.text, /127\.0\.0\.1|host|port|node/, p);
  }
  // With the token: the details, as before.
  const d = await api('GET', '/api/health', { token: TOKEN });
  assert.equal(d.body.info.mongodb.status, 'up');
  assert.equal(typeof d.body.details.redis.port, 'number');
  const s = await api('GET', '/api/health/status', { token: TOKEN });
  assert.equal(typeof s.body.node, 'string');
  assert.equal(typeof s.body.uptime, 'number');
  // A wrong token is an anonymous caller.
  const w = await api('GET', '/api/health', { token: `${TOKEN}x` });
  assert.deepEqual(w.body, { status: 'ok' });
});

// A second server of the same build, without METRICS_TOKEN.
async function serverWithoutToken() {
  const port = await freePort();
  const conf = path.join(process.env.LNK_TEST_RUN, 'review10-kore.conf');
  fs.writeFileSync(conf, fs.readFileSync(process.env.KORE_CONF, 'utf8').replace(/^workers.*$/m, 'workers\t\t1'));
  const env = { ...process.env, PORT: String(port), NODE_ID: 'review10', METRICS_TOKEN: '' };
  const child = spawn('kore', ['-fnrc', conf], { env, detached: true, stdio: 'ignore' });
  await waitPort(port);
  return { base: `http://127.0.0.1:${port}`, stop: () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } } };
}

test('item 10: without METRICS_TOKEN the metrics are refused (403) and health has no details', async () => {
  const srv = await serverWithoutToken();
  try {
    for (const auth of [undefined, 'Bearer ', `Bearer ${TOKEN}`]) {
      const r = await fetch(`${srv.base}/api/metrics`, { headers: auth ? { authorization: auth } : {} });
      assert.equal(r.status, 403);
      assert.equal((await r.json()).statusCode, 403);
    }
    const h = await fetch(`${srv.base}/api/health`, { headers: { authorization: 'Bearer ' } });
    assert.deepEqual(Object.keys(await h.json()), ['status']);
  } finally {
    srv.stop();
  }
});

test('item 10: a bad METRICS_TOKEN stops start-up naming the variable', async () => {
  const out = await new Promise((resolve) => {
    const child = spawn('kore', ['-fnrc', process.env.KORE_CONF], {
      env: { PATH: process.env.PATH, JWT_SECRET: 'config-test-secret-0123456789', METRICS_TOKEN: 'short' },
      detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c) => { text += c; });
    child.stderr.on('data', (c) => { text += c; });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10000);
    child.on('exit', () => { clearTimeout(timer); resolve(text); });
  });
  assert.match(out, /METRICS_TOKEN must be at least 16 characters/);
});

test('item 10: every response carries X-Content-Type-Options: nosniff', async () => {
  const u = await newUser();
  const probes = [
    ['GET', '/api/health'], ['GET', '/api/auth/me'], ['POST', '/api/auth/login', '{bad'],
    ['GET', '/api/nothing'], ['DELETE', '/api/auth/login'], ['OPTIONS', '/api/auth/login'],
    ['GET', '/api/metrics'], ['GET', '/'], ['GET', '/app.js'], ['GET', '/api/docs'],
    ['GET', '/api/docs/openapi.json'], ['GET', '/upload/chat/images/none.png'],
    ['GET', '/no/such/file'], ['GET', '/socket.io/?EIO=4&transport=polling'],
  ];
  for (const [method, p, raw] of probes) {
    const r = await fetch(`${BASE}${p}`, {
      method,
      headers: { 'content-type': 'application/json', origin: 'http://allowed.example',
        authorization: `Bearer ${u.token}`, 'access-control-request-method': 'POST' },
      body: raw,
    });
    await r.arrayBuffer();
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${method} ${p} (${r.status})`);
  }
});

// The raw answer to a request over TCP, and whether it was a reset.
// The client does not shut its side: Kore drops a connection at once
// when the peer half-closes (EPOLLRDHUP), answered or not. `more` is
// sent after the request, piece by piece, as a client still sending.
function rawRequest(text, more = []) {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(BASE);
    const s = net.connect(Number(port), hostname);
    let got = '';
    let reset = false;
    s.on('data', (d) => { got += d; });
    s.on('error', (e) => { reset = e.code === 'ECONNRESET'; });
    s.on('close', () => resolve({ got, reset }));
    s.setTimeout(5000, () => s.destroy());
    s.write(text);
    more.forEach((m, i) => setTimeout(() => { if (!s.destroyed) s.write(m); }, 20 * (i + 1)));
  });
}

test('item 10: headers over 8 KB are a 431, a URL over 8 KB or over 2 KB a 414, not a reset', async () => {
  for (const [text, status] of [
    [`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`, 431],
    [`GET /api/health HTTP/1.1\r\nHost: x\r\n${'X-Many: aaaaaaaaaaaaaaaa\r\n'.repeat(400)}\r\n`, 431],
    [`GET /api/health?q=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    [`GET /api/health?q=${'a'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ]) {
    for (const more of [[], Array(10).fill('b'.repeat(4000))]) {
      const r = await rawRequest(text, more);
      assert.equal(r.reset, false, `no reset (${status}, ${more.length} more)`);
      assert.match(r.got, new RegExp(`^HTTP/1.1 ${status} `));
      assert.match(r.got, /\r\nconnection: close\r\n/);
      const body = JSON.parse(r.got.slice(r.got.indexOf('\r\n\r\n') + 4));
      assert.equal(body.statusCode, status);
    }
  }
  // Below the limits all is as before.
  const ok = await fetch(`${BASE}/api/health?q=${'a'.repeat(1500)}`, { headers: { 'x-big': 'a'.repeat(6000) } });
  assert.equal(ok.status, 200);
});

test('item 10: the demo and docs pages have a strict CSP and still work in Chromium', { timeout: 60000 }, async (t) => {
  for (const p of ['/', '/api/docs']) {
    const r = await fetch(`${BASE}${p}`);
    const csp = r.headers.get('content-security-policy');
    assert.ok(csp, `${p}: a CSP`);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, p);
  }

  const browser = await launchChromium();
  if (browser === null) {
    t.skip('no chromium');
    return;
  }
  try {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation',
        (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (/CSP|Content Security Policy/.test(m.text())) problems.push(m.text()); });

    await page.goto(`${BASE}/api/docs`);
    await page.waitForSelector('.opblock', { timeout: 15000 });

    const u = await newUser();
    await page.goto(`${BASE}/`);
    await page.fill('#auth-email', u.email);
    await page.fill('#auth-password', u.password);
    await page.click('#login');
    await page.waitForSelector('#status.online', { timeout: 15000 });
    // The socket upgrades to a websocket (connect-src 'self' lets it).
    let transport;
    for (let i = 0; i < 50 && transport !== 'websocket'; i++) {
      await sleep(100);
      transport = await page.evaluate(() => state.socket.io.engine.transport.name); // eslint-disable-line no-undef
    }
    assert.equal(transport, 'websocket');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
