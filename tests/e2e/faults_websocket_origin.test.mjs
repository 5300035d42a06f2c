// The websocket handshake applies CORS_ORIGINS to its Origin header, as
// polling does (browsers apply no CORS to websockets): another origin is
// refused with 403 before the upgrade; no Origin (not a browser), an
// allowed one and the server's own pages are accepted. scripts/test runs
// the server with CORS_ORIGINS=http://localhost:3000,http://allowed.example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { io } from 'socket.io-client';
import { BASE, newUser } from './helpers.mjs';

const { host, port } = new URL(BASE);

// A raw websocket handshake: resolves {status, body} (101: upgraded).
function handshake(query, origin) {
  return new Promise((resolve, reject) => {
    const headers = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
      'sec-websocket-version': '13',
    };
    if (origin !== undefined) headers.origin = origin;
    const req = http.request({ host: '127.0.0.1', port, path: `/socket.io/?EIO=4&${query}`, headers });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function pollingSid() {
  const r = await fetch(`${BASE}/socket.io/?EIO=4&transport=polling`);
  assert.equal(r.status, 200);
  return JSON.parse((await r.text()).slice(1)).sid;
}

test('websocket handshake: a foreign Origin is refused with 403, none, an allowed one and our own are accepted', async () => {
  const refused = await handshake('transport=websocket', 'http://evil.example');
  assert.equal(refused.status, 403);
  assert.deepEqual(JSON.parse(refused.body), { code: 4, message: 'Forbidden' });

  for (const origin of [undefined, 'http://allowed.example', 'http://localhost:3000', `http://${host}`]) {
    assert.equal((await handshake('transport=websocket', origin)).status, 101, `origin ${origin}`);
  }
  // Near misses of an allowed origin are other origins.
  for (const origin of ['http://allowed.example.evil.example', 'https://allowed.example', 'null',
    `http://${host}.evil.example`]) {
    assert.equal((await handshake('transport=websocket', origin)).status, 403, `origin ${origin}`);
  }
});

test('websocket upgrade of a polling session: a foreign Origin is refused, the session goes on polling', async () => {
  const sid = await pollingSid();
  const refused = await handshake(`transport=websocket&sid=${sid}`, 'http://evil.example');
  assert.equal(refused.status, 403);
  assert.deepEqual(JSON.parse(refused.body), { code: 4, message: 'Forbidden' });

  // Still a polling session: its POST is answered (an unknown sid gets 400).
  const post = await fetch(`${BASE}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' });
  assert.equal(post.status, 200);
  assert.equal(await post.text(), 'ok');

  const other = await pollingSid();
  assert.equal((await handshake(`transport=websocket&sid=${other}`, 'http://allowed.example')).status, 101);
});

test('socket.io-client over websocket: refused from a foreign Origin, connected from an allowed one', async () => {
  const u = await newUser();
  const open = (origin) => new Promise((resolve) => {
    const s = io(`${BASE}/chat`, {
      auth: { token: u.token }, forceNew: true, reconnection: false,
      transports: ['websocket'], extraHeaders: { origin },
    });
    s.once('connect', () => { s.close(); resolve('connected'); });
    s.once('connect_error', (e) => { s.close(); resolve(`refused: ${e.message}`); });
  });
  assert.match(await open('http://evil.example'), /^refused/);
  assert.equal(await open('http://allowed.example'), 'connected');
});
