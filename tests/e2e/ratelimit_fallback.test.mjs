// Security review item 4: every rate limit used to turn off while Redis
// was down (120 messages in a row were 120 x 201 with a limit of 100).
// Without Redis each worker now counts on its own, so a limit holds per
// worker: at most workers x limit get through. This suite runs a server
// of its own, with low limits and a Redis port nobody listens on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, connect, freePort, newUser, startServer } from './helpers.mjs';

const WORKERS = 2; // scripts/test's KORE_CONF
const LIMIT = { messages: 5, logins: 3, uploads: 2 };
let srv;

before(async () => {
  srv = await startServer({
    REDIS_PORT: String(await freePort()),
    RATE_LIMIT_MESSAGES: String(LIMIT.messages),
    RATE_LIMIT_LOGINS: String(LIMIT.logins),
    RATE_LIMIT_LOGINS_PER_ADDRESS: String(LIMIT.logins),
    RATE_LIMIT_LOGINS_PER_ACCOUNT: String(LIMIT.logins),
    RATE_LIMIT_UPLOADS: String(LIMIT.uploads),
    RATE_LIMIT_REGISTRATIONS: String(LIMIT.logins),
  });
  const h = await api('GET', '/api/health', { base: srv.base });
  assert.equal(h.body.status, 'degraded', 'this server has no Redis');
});

after(async () => { if (srv) await srv.stop(); });

function tally(rs) {
  const t = {};
  for (const r of rs) t[r.status] = (t[r.status] || 0) + 1;
  return t;
}

async function conversation(a, b) {
  const r = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [b.id], type: 'direct' }, base: srv.base });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  return r.body._id;
}

test('item 4: Redis down, REST messages are still limited per worker (429 + headers)', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const cid = await conversation(a, b);
  const rs = [];
  for (let i = 0; i < 30; i++) {
    rs.push(await api('POST', `/api/conversations/${cid}/messages`, {
      token: a.token, body: { content: `m${i}` }, base: srv.base }));
  }
  const t = tally(rs);
  console.log(`${JSON.stringify(t)}`);
  assert.ok(t[201] >= LIMIT.messages && t[201] <= WORKERS * LIMIT.messages, JSON.stringify(t));
  assert.equal(t[201] + t[429], 30, JSON.stringify(t));
  const over = rs.find((r) => r.status === 429);
  assert.equal(over.body.message, 'Rate limit exceeded');
  assert.equal(over.headers.get('x-ratelimit-limit'), String(LIMIT.messages));
  assert.equal(over.headers.get('x-ratelimit-remaining'), '0');
  assert.ok(Number(over.headers.get('retry-after')) > 0);
});

test('item 4: Redis down, socket send_message is limited too', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const cid = await conversation(a, b);
  const s = await connect(a.token, { base: srv.base });
  try {
    const acks = [];
    for (let i = 0; i < 20; i++) {
      acks.push(await s.timeout(5000).emitWithAck('send_message', {
        conversationId: cid, message: { content: `s${i}` } }));
    }
    const ok = acks.filter((x) => x.success).length;
    // One socket lives on one worker: that worker's count alone.
    assert.equal(ok, LIMIT.messages, JSON.stringify(acks.map((x) => x.success)));
    assert.ok(acks.filter((x) => !x.success).every((x) => x.error === 'Rate limit exceeded'));
  } finally {
    s.close();
  }
});

test('item 4: Redis down, wrong logins end in 429 instead of 401 forever', async () => {
  const u = await newUser();
  const rs = [];
  for (let i = 0; i < 30; i++) {
    rs.push(await api('POST', '/api/auth/login', {
      body: { email: u.email, password: 'wrong-password' }, base: srv.base }));
  }
  const t = tally(rs);
  console.log(`${JSON.stringify(t)}`);
  assert.ok(t[401] >= LIMIT.logins && t[401] <= WORKERS * LIMIT.logins, JSON.stringify(t));
  assert.equal(t[401] + t[429], 30, JSON.stringify(t));
  const over = rs.find((r) => r.status === 429);
  assert.ok(Number(over.headers.get('retry-after')) > 0);
  assert.ok(over.headers.get('x-ratelimit-limit'));
});

test('item 4: Redis down, uploads are limited too', async () => {
  const u = await newUser();
  const rs = [];
  for (let i = 0; i < 10; i++) {
    const form = new FormData();
    form.append('file', new Blob(['plain text file\n'], { type: 'text/plain' }), `n${i}.txt`);
    const res = await fetch(`${srv.base}/api/upload/chat-files`, {
      method: 'POST', headers: { authorization: `Bearer ${u.token}` }, body: form });
    await res.text();
    rs.push(res);
  }
  const t = tally(rs);
  console.log(`${JSON.stringify(t)}`);
  assert.ok(t[201] >= LIMIT.uploads && t[201] <= WORKERS * LIMIT.uploads, JSON.stringify(t));
  assert.equal(t[201] + t[429], 10, JSON.stringify(t));
});
