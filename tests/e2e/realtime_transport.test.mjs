// The Socket.IO transport with the real socket.io-client, independent of
// /chat: this file starts its own server in the conformance mode (2 Kore
// workers, so polling requests and upgrades keep crossing workers) and
// uses its "/test" namespace (echo, acks, auth refusal, rooms).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, Manager } from 'socket.io-client';
import { freePort, waitPort } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let server;
let base;

before(async () => {
  const port = await freePort();
  server = spawn(path.join(ROOT, 'scripts/conformance'), [], {
    env: {
      ...process.env,
      WORKERS: '2',
      PORT: String(port),
      CORS_ORIGINS: 'http://app.example',
    },
    detached: true,
    stdio: 'ignore',
  });
  await waitPort(port);
  base = `http://127.0.0.1:${port}`;
});

after(() => {
  try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
});

function client(nsp, opts = {}) {
  return io(base + nsp, { forceNew: true, reconnection: false, ...opts });
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), 5000);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('connect_error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function next(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), 5000);
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 5000);
    socket.emit(event, ...args, (...reply) => { clearTimeout(timer); resolve(reply); });
  });
}

test('polling first, then the upgrade to websocket', async () => {
  const s = client('/test');
  let first;
  s.io.once('open', () => { first = s.io.engine.transport.name; });
  const upgraded = next(s.io.engine, 'upgrade');
  await connected(s);
  await upgraded;
  assert.equal(first, 'polling');
  assert.equal(s.io.engine.transport.name, 'websocket');

  const reply = await ack(s, 'message-with-ack', 1, 'two', { three: [true] });
  assert.deepEqual(reply, [1, 'two', { three: [true] }]);
  s.close();
});

test('websocket only: auth echo, events both ways, UTF-8', async () => {
  const s = client('/test', { transports: ['websocket'], auth: { token: 'abc' } });
  const auth = next(s, 'auth');
  await connected(s);
  assert.deepEqual((await auth)[0], { token: 'abc' });

  const back = next(s, 'message-back');
  s.emit('message', 'héllo € 😀', { n: 1.5, nested: [null, false] });
  assert.deepEqual(await back, ['héllo € 😀', { n: 1.5, nested: [null, false] }]);
  s.close();
});

test('polling only: acks and binary attachments cross workers', async () => {
  const s = client('/test', { transports: ['polling'] });
  await connected(s);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await ack(s, 'message-with-ack', i), [i]);
  }

  const back = next(s, 'message-back');
  const a = Buffer.from([1, 2, 3]);
  const b = Buffer.from([0, 0x1e, 0xff, 0x34]);
  s.emit('message', a, 'text', b);
  const [x, t, y] = await back;
  assert.deepEqual(Buffer.from(x), a);
  assert.equal(t, 'text');
  assert.deepEqual(Buffer.from(y), b);

  const reply = await ack(s, 'message-with-ack', { bin: b });
  assert.deepEqual(Buffer.from(reply[0].bin), b);
  s.close();
});

test('many polling clients at once on two workers', async () => {
  const sockets = await Promise.all(
    Array.from({ length: 8 }, () => connected(client('/test', { transports: ['polling'] }))),
  );
  const replies = await Promise.all(sockets.flatMap((s, i) =>
    [0, 1, 2].map((k) => ack(s, 'message-with-ack', i, k))));
  assert.equal(replies.length, 24);
  for (const s of sockets) s.close();
});

test('an unknown namespace gets connect_error "Invalid namespace"', async () => {
  const s = client('/nope', { transports: ['websocket'] });
  const err = await connected(s).then(() => null, (e) => e);
  assert.ok(err);
  assert.equal(err.message, 'Invalid namespace');
  s.close();
});

test('a refused CONNECT gives connect_error with message and data', async () => {
  const s = client('/test', { auth: { refuse: 'not today' } });
  const err = await connected(s).then(() => null, (e) => e);
  assert.ok(err);
  assert.equal(err.message, 'not today');
  assert.deepEqual(err.data, { reason: 'refused by test' });
  s.close();
});

test('a server-side disconnect is "io server disconnect"', async () => {
  const s = client('/test', { transports: ['websocket'] });
  await connected(s);
  const gone = next(s, 'disconnect');
  s.emit('disconnect-me');
  assert.equal((await gone)[0], 'io server disconnect');
  s.close();
});

test('two namespaces share one engine connection', async () => {
  const m = new Manager(base, { reconnection: false, transports: ['websocket'] });
  const main = m.socket('/');
  const other = m.socket('/test');
  await Promise.all([connected(main), connected(other)]);
  assert.equal(main.io.engine.id, other.io.engine.id);
  assert.notEqual(main.id, other.id);
  assert.equal(main.id.length, 20);

  const onMain = next(main, 'message-back');
  other.emit('message', 'to test');
  main.emit('message', 'to main');
  assert.deepEqual(await onMain, ['to main']);

  other.disconnect();
  assert.deepEqual(await ack(main, 'message-with-ack', 'still here'), ['still here']);
  main.close();
});

test('room events reach the other members on every worker, not the sender', async () => {
  const members = await Promise.all([
    connected(client('/test', { transports: ['websocket'] })),
    connected(client('/test', { transports: ['websocket'] })),
    connected(client('/test', { transports: ['polling'] })),
    connected(client('/test')),
  ]);
  for (const s of members) assert.deepEqual(await ack(s, 'join'), [true]);

  const [sender, ...others] = members;
  const got = [];
  sender.on('room-message', (m) => got.push(m));
  const arrivals = others.map((s) => next(s, 'room-message'));
  sender.emit('room', { text: 'hi all' });
  for (const a of await Promise.all(arrivals)) assert.deepEqual(a, [{ text: 'hi all' }]);

  // Delivery to the sender's own worker happens before its next ack.
  await ack(sender, 'message-with-ack', 'sync');
  assert.deepEqual(got, []);
  for (const s of members) s.close();
});

for (const transport of ['websocket', 'polling']) {
  test(`a message over maxPayload closes the connection (${transport})`, async () => {
    const s = client('/test', { transports: [transport] });
    await connected(s);
    const gone = next(s, 'disconnect');
    s.emit('message', 'x'.repeat(1_100_000));
    const [reason] = await gone;
    assert.match(reason, /transport (close|error)/);
    // the session is gone on the server too: a new one works
    s.close();
    const again = await connected(client('/test', { transports: [transport] }));
    assert.deepEqual(await ack(again, 'message-with-ack', 'ok'), ['ok']);
    again.close();
  });
}

test('polling answers carry CORS headers for allowed origins, and preflights pass', async () => {
  const origin = 'http://app.example';
  const res = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), origin);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  const body = await res.text();
  assert.match(body, /^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\["websocket"\]/);

  const other = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, {
    headers: { origin: 'http://evil.example' },
  });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null);

  const pre = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
});

test('Engine.IO errors use the reference codes and bodies', async () => {
  const cases = [
    ['?EIO=4', 400, { code: 0, message: 'Transport unknown' }],
    ['?EIO=4&transport=polling&sid=AQAAAAAAAAAAAAAAAAAA', 400, { code: 1, message: 'Session ID unknown' }],
    ['?EIO=3&transport=polling', 400, { code: 5, message: 'Unsupported protocol version' }],
  ];
  for (const [qs, status, body] of cases) {
    const res = await fetch(`${base}/socket.io/${qs}`);
    assert.equal(res.status, status, qs);
    assert.deepEqual(await res.json(), body, qs);
  }
  const post = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, { method: 'POST', body: '' });
  assert.equal(post.status, 400);
  assert.deepEqual(await post.json(), { code: 2, message: 'Bad handshake method' });
});
