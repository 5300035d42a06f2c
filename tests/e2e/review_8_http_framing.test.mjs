// Security review item 8: lax HTTP framing. Conflicting or malformed
// framing (RFC 9112 §6.3) is a 400 and the connection is closed, so the
// server is safe behind any proxy; pipelined requests are answered in
// order, never held silently. Everything over raw TCP (node:net).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BASE } from './helpers.mjs';

const { hostname: HOST, port: PORT } = new URL(BASE);
const LOGIN = '{"email":"nobody@test.lnk","password":"secret123"}';

// The responses in what the server sent: [{status, headers, body}].
function parseResponses(buf) {
  const out = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end === -1) break;
    const lines = buf.subarray(off, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    if (buf.length < end + 4 + len) break;
    const body = buf.subarray(end + 4, end + 4 + len).toString();
    out.push({ status, headers, body, json: body && headers['content-type']?.startsWith('application/json') ? JSON.parse(body) : undefined });
    off = end + 4 + len;
  }
  return out;
}

// Writes the chunks (a pause between them), then collects what comes
// back until the server closes or `want` responses are in (or ms pass).
function exchange(chunks, { want = Infinity, ms = 3000, gap = 150 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(PORT), HOST);
    let buf = Buffer.alloc(0);
    let closed = false;
    const t0 = Date.now();
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ responses: parseResponses(buf), closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(finish, ms);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (parseResponses(buf).length >= want) finish();
    });
    s.on('end', () => { closed = true; finish(); });
    s.on('error', (e) => { if (e.code === 'ECONNRESET') { closed = true; finish(); } else reject(e); });
    s.on('connect', async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, gap));
        s.write(chunks[i]);
      }
    });
  });
}

function login(extra, body = LOGIN) {
  return `POST /api/auth/login HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/json\r\n${extra}\r\n${body}`;
}

async function assertRefused(request, status, message) {
  const r = await exchange([request]);
  assert.equal(r.responses.length, 1, 'one answer');
  const [res] = r.responses;
  assert.equal(res.status, status);
  assert.equal(res.headers.connection, 'close');
  assert.equal(res.json.statusCode, status);
  if (message) assert.equal(res.json.message, message);
  assert.ok(r.closed, 'the server closes the connection');
  assert.ok(r.ms < 2000, `closed after ${r.ms} ms`);
}

test('item 8: Content-Length together with Transfer-Encoding: chunked is a 400 and closes', async () => {
  await assertRefused(login(`Content-Length: ${LOGIN.length}\r\nTransfer-Encoding: chunked\r\n`),
    400, 'Content-Length together with Transfer-Encoding');
  // The classic smuggle: a chunked body that ends early, a request after it.
  await assertRefused(login('Content-Length: 44\r\nTransfer-Encoding: chunked\r\n',
    '0\r\n\r\nGET /api/metrics HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
  await assertRefused(login(`Transfer-Encoding: chunked\r\nContent-Length: ${LOGIN.length}\r\n`), 400);
});

test('item 8: two different Content-Length headers are a 400 and close', async () => {
  await assertRefused(login(`Content-Length: ${LOGIN.length}\r\nContent-Length: 5\r\n`),
    400, 'Conflicting Content-Length headers');
  await assertRefused(login(`Content-Length: 5\r\nContent-Length: ${LOGIN.length}\r\n`), 400);
  // The same value twice frames the message one way only.
  const r = await exchange([login(`Content-Length: ${LOGIN.length}\r\nContent-Length: ${LOGIN.length}\r\n`)], { want: 1 });
  assert.equal(r.responses[0].status, 401);
});

test('item 8: a malformed Content-Length (+27, a list, a sign, hex, spaces) is a 400 and closes', async () => {
  for (const v of [`+${LOGIN.length}`, `${LOGIN.length}, ${LOGIN.length}`, '-1', '0x33', `${LOGIN.length} 1`, '99999999999999999999']) {
    await assertRefused(login(`Content-Length: ${v}\r\n`), 400, 'Invalid Content-Length');
  }
});

test('item 8: Transfer-Encoding without Content-Length is refused and closes', async () => {
  await assertRefused(login('Transfer-Encoding: chunked\r\n', `${LOGIN.length.toString(16)}\r\n${LOGIN}\r\n0\r\n\r\n`),
    411, 'Transfer-Encoding is not supported: send Content-Length');
  await assertRefused(`GET /api/health/live HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400);
});

test('item 8: a lone CR or a NUL in the head is a 400 and closes', async () => {
  await assertRefused(`GET /api/health/live HTTP/1.1\r\nHost: x\r\nX-A: b\rContent-Length: 5\r\n\r\n`, 400, 'Malformed request head');
  await assertRefused(`GET /api/health/live HTTP/1.1\r\nHost: x\r\nX-A: b\0\r\nContent-Length: 5\r\n\r\n`, 400, 'Malformed request head');
});

test('item 8: a request pipelined after a POST body is answered, in order', async () => {
  const r = await exchange([login(`Content-Length: ${LOGIN.length}\r\n`) +
    `GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n`], { want: 2 });
  assert.deepEqual(r.responses.map((x) => x.status), [401, 200]);
  assert.ok(r.ms < 2000, `answered after ${r.ms} ms`);
});

test('item 8: three GETs in one write are answered in order', async () => {
  const paths = ['/api/health/live', '/api/nothing', '/api/health/status'];
  const r = await exchange([paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')], { want: 3 });
  assert.deepEqual(r.responses.map((x) => x.status), [200, 404, 200]);
  assert.equal(r.responses[2].json.status, 'ok');
});

test('item 8: a body sent in pieces, then the next request, still answered in order', async () => {
  const head = login(`Content-Length: ${LOGIN.length}\r\n`, '');
  const r = await exchange([head, LOGIN.slice(0, 10), LOGIN.slice(10) + 'GET /api/nothing HTTP/1.1\r\nHost: x\r\n\r\n'],
    { want: 2 });
  assert.deepEqual(r.responses.map((x) => x.status), [401, 404]);
});

test('item 8: a GET body is read and dropped, never taken for the next request', async () => {
  const smuggled = 'GET /api/nothing HTTP/1.1\r\nHost: x\r\n\r\n';
  const r = await exchange([`GET /api/health/live HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
    'GET /api/health/status HTTP/1.1\r\nHost: x\r\n\r\n'], { want: 2 });
  assert.deepEqual(r.responses.map((x) => x.status), [200, 200]);
  assert.equal(r.responses[1].json.status, 'ok');
  // In pieces too.
  const p = await exchange([`DELETE /api/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n`,
    smuggled.slice(0, 5), smuggled.slice(5)], { want: 2, ms: 1500 });
  assert.deepEqual(p.responses.map((x) => x.status), [404]);
});

test('item 8: after a refused request in a pipeline the earlier answers still come first', async () => {
  const r = await exchange([`GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n` +
    login(`Content-Length: 2\r\nContent-Length: 3\r\n`, '{}')]);
  assert.deepEqual(r.responses.map((x) => x.status), [200, 400]);
  assert.ok(r.closed);
});

test('item 8: a POST without Content-Length is a 411, one over the body limit a 413, both answered before a close', async () => {
  await assertRefused(`POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n`,
    411, 'Content-Length required');
  // The client goes on sending its 64 MiB body: it still reads the 413.
  const piece = Buffer.alloc(256 * 1024, 'a');
  const r = await exchange([login(`Content-Length: ${64 * 1024 * 1024}\r\n`, ''), ...Array(8).fill(piece)],
    { gap: 10 });
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0].status, 413);
  assert.equal(r.responses[0].json.message, 'Request body too large');
  assert.ok(r.closed);
});
