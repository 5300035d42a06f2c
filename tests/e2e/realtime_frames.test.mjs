// The WebSocket frame reader (src/engineio/ws_reader.c) byte for byte:
// a raw TCP client against the conformance fixture's /engine.io/ echo
// (1 Kore worker), sending what no well-behaved library sends on its
// own: many frames in one segment, frames cut at every byte, fragmented
// messages, control frames, and protocol errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitPort } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
let server;
let port;

before(async () => {
  port = await freePort();
  server = spawn(path.join(ROOT, 'scripts/conformance'), [], {
    env: { ...process.env, WORKERS: '1', PORT: String(port) },
    detached: true,
    stdio: 'ignore',
  });
  await waitPort(port);
});

after(() => {
  try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
});

// A client frame: always masked, as RFC 6455 requires of clients.
function frame(op, payload, { fin = true, mask = true, len } = {}) {
  const data = Buffer.from(payload);
  const n = len ?? data.length;
  let head;
  if (n < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | op, (mask ? 0x80 : 0) | n]);
  } else if (n <= 0xffff) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | op;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | op;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  if (!mask) return Buffer.concat([head, data]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([head, key, body]);
}

// Connects, upgrades, and collects the server's frames. Engine.IO pings
// ("2", every 300 ms in the fixture) are answered so the session stays.
async function open() {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const key = crypto.randomBytes(16).toString('base64');
  sock.write('GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
    `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);

  const c = { sock, frames: [], waiters: [], closed: false, buf: Buffer.alloc(0) };
  let headerDone = false;
  const wake = () => { for (const w of c.waiters.splice(0)) w(); };
  sock.on('data', (chunk) => {
    c.buf = Buffer.concat([c.buf, chunk]);
    if (!headerDone) {
      const end = c.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      c.status = c.buf.subarray(0, end).toString().split('\r\n')[0];
      c.buf = c.buf.subarray(end + 4);
      headerDone = true;
    }
    for (;;) {
      if (c.buf.length < 2) break;
      let n = c.buf[1] & 0x7f;
      let off = 2;
      if (n === 126) { if (c.buf.length < 4) break; n = c.buf.readUInt16BE(2); off = 4; }
      else if (n === 127) { if (c.buf.length < 10) break; n = Number(c.buf.readBigUInt64BE(2)); off = 10; }
      if (c.buf.length < off + n) break;
      const f = { op: c.buf[0] & 0x0f, fin: (c.buf[0] & 0x80) !== 0,
        data: Buffer.from(c.buf.subarray(off, off + n)) };
      c.buf = c.buf.subarray(off + n);
      if (f.op === OP.text && f.data.toString() === '2') sock.write(frame(OP.text, '3'));
      else c.frames.push(f);
    }
    wake();
  });
  sock.on('close', () => { c.closed = true; wake(); });
  sock.on('error', () => {});

  const first = await next(c);
  assert.equal(c.status, 'HTTP/1.1 101 Switching Protocols');
  assert.equal(first.op, OP.text);
  assert.match(first.data.toString(), /^0\{"sid":/);
  return c;
}

async function next(c, ms = 3000) {
  const deadline = Date.now() + ms;
  while (c.frames.length === 0) {
    if (c.closed) throw new Error('connection closed');
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('no frame');
    await new Promise((resolve) => {
      const t = setTimeout(resolve, left);
      c.waiters.push(() => { clearTimeout(t); resolve(); });
    });
  }
  return c.frames.shift();
}

async function texts(c, n) {
  const out = [];
  while (out.length < n) {
    const f = await next(c);
    assert.equal(f.op, OP.text);
    out.push(f.data.toString());
  }
  return out;
}

async function closedWith(c, code) {
  const f = await next(c);
  assert.equal(f.op, OP.close);
  assert.equal(f.data.readUInt16BE(0), code);
  const deadline = Date.now() + 3000;
  while (!c.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.closed, true, 'the server drops the connection');
}

test('many frames in one segment are all read, in order', async () => {
  const c = await open();
  const msgs = Array.from({ length: 50 }, (_, i) => `4message ${i}`);
  c.sock.write(Buffer.concat(msgs.map((m) => frame(OP.text, m))));
  assert.deepEqual(await texts(c, 50), msgs);
  c.sock.destroy();
});

test('frames cut at every byte are put back together', async () => {
  const c = await open();
  const bytes = Buffer.concat([frame(OP.text, '4first'), frame(OP.text, '4' + 'é'.repeat(100)),
    frame(OP.text, '4last')]);
  for (const b of bytes) {
    c.sock.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await texts(c, 3), ['4first', '4' + 'é'.repeat(100), '4last']);
  c.sock.destroy();
});

test('a 300 KB message in 64 KiB pieces arrives whole', async () => {
  const c = await open();
  const big = '4' + crypto.randomBytes(150_000).toString('hex');
  const bytes = frame(OP.text, big);
  for (let i = 0; i < bytes.length; i += 65536) {
    c.sock.write(bytes.subarray(i, i + 65536));
    await new Promise((r) => setTimeout(r, 5));
  }
  const [echo] = await texts(c, 1);
  assert.equal(echo.length, big.length);
  assert.equal(echo, big);
  c.sock.destroy();
});

test('a fragmented message is delivered once, whole, with pings between', async () => {
  const c = await open();
  c.sock.write(Buffer.concat([
    frame(OP.text, '4hel', { fin: false }),
    frame(OP.ping, 'mid'),
    frame(OP.cont, 'lo wo', { fin: false }),
    frame(OP.cont, 'rld'),
    frame(OP.text, '4after'),
  ]));
  const pong = await next(c);
  assert.equal(pong.op, OP.pong);
  assert.equal(pong.data.toString(), 'mid');
  assert.deepEqual(await texts(c, 2), ['4hello world', '4after']);
  c.sock.destroy();
});

test('a close frame is echoed with its code and the connection ends', async () => {
  const code = Buffer.alloc(2);
  code.writeUInt16BE(1000);
  const c = await open();
  c.sock.write(frame(OP.close, code));
  await closedWith(c, 1000);
});

test('protocol errors close with 1002: unmasked, continuation without a start, reserved opcode', async () => {
  for (const bad of [frame(OP.text, '4x', { mask: false }), frame(OP.cont, 'x'), frame(3, 'x')]) {
    const c = await open();
    c.sock.write(bad);
    await closedWith(c, 1002);
  }
});

test('a frame over websocket_maxframe closes with 1009 before its payload arrives', async () => {
  const c = await open();
  // Only the header of a 2 MiB frame: the reader refuses it from that.
  c.sock.write(frame(OP.text, '', { len: 2 * 1024 * 1024 }).subarray(0, 14));
  await closedWith(c, 1009);
});
