// Realtime: the /chat namespace with the real socket.io-client against the
// real server (2 Kore workers): auth, every client event with its ack,
// every server event reaching the right clients and not outsiders.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { io } from 'socket.io-client';
import { MongoClient, ObjectId } from 'mongodb';
import { api, BASE, collect, connect, newUser, once, sleep } from './helpers.mjs';

const SECRET = process.env.JWT_SECRET;
const sockets = [];

after(() => { for (const s of sockets) s.close(); });

async function open(token, opts) {
  const s = await connect(token, opts);
  sockets.push(s);
  return s;
}

function emitAck(socket, event, payload) {
  return socket.timeout(5000).emitWithAck(event, payload);
}

async function direct(a, b) {
  const r = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [b.id], type: 'direct' } });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  return r.body._id;
}

function connectError(opts) {
  return new Promise((resolve, reject) => {
    const s = io(`${BASE}/chat`, { forceNew: true, reconnection: false, ...opts });
    const timer = setTimeout(() => { s.close(); reject(new Error('no connect_error')); }, 5000);
    s.on('connect', () => { clearTimeout(timer); s.close(); reject(new Error('connected')); });
    s.on('connect_error', (err) => { clearTimeout(timer); s.close(); resolve(err); });
  });
}

for (const [name, transports] of [
  ['polling first, then websocket', undefined],
  ['websocket only', ['websocket']],
  ['polling only', ['polling']],
]) {
  test(`connect with auth.token: ${name}`, async () => {
    const u = await newUser();
    const s = await open(u.token, transports ? { transports } : {});
    assert.ok(s.connected);
    assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
    // Round trip through the namespace, whatever the transport.
    const conv = await direct(u, await newUser());
    assert.deepEqual(await emitAck(s, 'join_conversation', { conversationId: conv }), { success: true });
    if (!transports) {
      await new Promise((r) => { if (s.io.engine.transport.name === 'websocket') r(); else s.io.engine.once('upgrade', r); });
      assert.equal(s.io.engine.transport.name, 'websocket');
    }
  });
}

test('connect with the Authorization header or ?token=', async () => {
  const u = await newUser();
  const h = await open(undefined, { extraHeaders: { authorization: `Bearer ${u.token}` }, transports: ['polling'] });
  assert.ok(h.connected);
  const q = await open(undefined, { query: { token: u.token } });
  assert.ok(q.connected);
});

test('fix 1: bad, expired, refresh and missing tokens get connect_error Unauthorized', async () => {
  const u = await newUser();
  const now = Math.floor(Date.now() / 1000);
  const cases = {
    missing: {},
    garbage: { auth: { token: 'nope' } },
    'bad signature': { auth: { token: jwt.sign({ sub: u.id, typ: 'access' }, 'wrong-secret-0123456789abc') } },
    expired: { auth: { token: jwt.sign({ sub: u.id, typ: 'access', exp: now - 5 }, SECRET) } },
    refresh: { auth: { token: u.refreshToken } },
    'unknown user': { auth: { token: jwt.sign({ sub: new ObjectId().toHexString() }, SECRET, { expiresIn: 60 }) } },
  };
  for (const [name, opts] of Object.entries(cases)) {
    const err = await connectError(opts);
    assert.equal(err.message, 'Unauthorized', name);
    assert.equal(typeof err.data.reason, 'string', name);
  }
});

test('fix 1: a socket is disconnected when its token expires', async () => {
  const u = await newUser();
  const token = jwt.sign({ sub: u.id, typ: 'access' }, SECRET, { expiresIn: 2 });
  const s = await open(token);
  const got = await once(s, 'disconnect', 5000);
  const reason = Array.isArray(got) ? got[0] : got;
  assert.equal(reason, 'io server disconnect');
});

test('join_conversation: ack, and 404 for a conversation the user is not in', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sc = await open(c.token);
  assert.deepEqual(await emitAck(sc, 'join_conversation', { conversationId: conv }),
    { success: false, error: 'Conversation not found' });
  assert.deepEqual(await emitAck(sc, 'join_conversation', { conversationId: 'xyz' }),
    { success: false, error: 'conversationId must be a mongodb id' });
  assert.deepEqual(await emitAck(sc, 'join_conversation', 'not an object'),
    { success: false, error: 'Invalid payload: expected an object' });
});

test('send_message: ack with the message; the room gets new_message, message_received, conversation_updated; outsiders get nothing', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token, { transports: ['websocket'] });
  const sc = await open(c.token);
  const outsider = [];
  sc.onAny((ev) => outsider.push(ev));
  const order = [];
  for (const ev of ['new_message', 'message_received', 'conversation_updated']) sb.on(ev, () => order.push(ev));
  const gotB = once(sb, 'new_message');

  const ack = await emitAck(sa, 'send_message', {
    conversationId: conv, message: { content: 'Yo', type: 'text', senderId: c.id } });
  assert.equal(ack.success, true);
  assert.equal(ack.message.content, 'Yo');
  assert.equal(ack.message.senderId._id, a.id, 'a spoofed senderId is ignored');
  assert.equal(ack.message.conversationId, conv);

  const nm = await gotB;
  assert.equal(nm.conversationId, conv);
  assert.equal(nm.message._id, ack.message._id);
  await sleep(300);
  assert.deepEqual(order, ['new_message', 'message_received', 'conversation_updated']);
  assert.deepEqual(outsider.filter((e) => e !== 'user_online_status'), []);
});

test('send_message: foreign conversation, wrong types and empty content are refused in the ack', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sc = await open(c.token);
  assert.deepEqual(await emitAck(sc, 'send_message', { conversationId: conv, message: { content: 'hi' } }),
    { success: false, error: 'Conversation not found' });
  const sa = await open(a.token);
  for (const message of [{ content: 5 }, { content: '' }, { content: 'x', type: 'system' }, 'str']) {
    const r = await emitAck(sa, 'send_message', { conversationId: conv, message });
    assert.equal(r.success, false, JSON.stringify(message));
    assert.equal(typeof r.error, 'string');
  }
  const client = new MongoClient(process.env.MONGODB_URI);
  try {
    assert.equal(await client.db().collection('messages').countDocuments({ conversationId: new ObjectId(conv) }), 0);
  } finally {
    await client.close();
  }
});

test('send_message with clientMessageId twice stores one message and announces it once', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token);
  const got = collect(sb, 'new_message');
  const m = { content: 'once', clientMessageId: 'abc-123' };
  const r1 = await emitAck(sa, 'send_message', { conversationId: conv, message: m });
  const r2 = await emitAck(sa, 'send_message', { conversationId: conv, message: m });
  assert.equal(r1.message._id, r2.message._id);
  await sleep(500);
  assert.equal(got.length, 1);
});

test('mark_read: message_read to the room; 404 for someone else\'s message', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token);
  const sent = await emitAck(sa, 'send_message', { conversationId: conv, message: { content: 'read me' } });
  const seen = once(sa, 'message_read');
  assert.deepEqual(await emitAck(sb, 'mark_read', { messageId: sent.message._id, conversationId: conv }),
    { success: true });
  const ev = await seen;
  assert.equal(ev.messageId, sent.message._id);
  assert.equal(ev.conversationId, conv);
  assert.equal(ev.readBy, b.id);
  const sc = await open(c.token);
  const r = await emitAck(sc, 'mark_read', { messageId: sent.message._id, conversationId: conv });
  assert.equal(r.success, false);
  const unread = await api('GET', `/api/conversations/${conv}/unread-count`, { token: b.token });
  assert.equal(unread.body.unreadCount, 0);
});

test('typing: others in the room hear it with the user, not the typist; outsiders refused', async () => {
  const [a, b, c] = [await newUser({ name: 'Typist' }), await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token);
  const self = collect(sa, 'user_typing');
  const on = once(sb, 'user_typing');
  assert.deepEqual(await emitAck(sa, 'typing_start', { conversationId: conv }), { success: true });
  const ev = await on;
  assert.deepEqual(ev, { conversationId: conv, userId: a.id, isTyping: true,
    user: { id: a.id, name: 'Typist' } });
  const off = once(sb, 'user_typing');
  assert.deepEqual(await emitAck(sa, 'typing_stop', { conversationId: conv }), { success: true });
  assert.deepEqual(await off, { conversationId: conv, userId: a.id, isTyping: false });
  assert.equal(self.length, 0, 'the typist does not hear itself');
  const sc = await open(c.token);
  assert.deepEqual(await emitAck(sc, 'typing_start', { conversationId: conv }),
    { success: false, error: 'Conversation not found' });
});

test('fix 15: typing expires server-side after ~10 s without a stop', { timeout: 20000 }, async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token);
  const on = once(sb, 'user_typing');
  await emitAck(sa, 'typing_start', { conversationId: conv });
  await on;
  const t0 = Date.now();
  const off = await once(sb, 'user_typing', 15000);
  assert.equal(off.isTyping, false);
  const waited = Date.now() - t0;
  assert.ok(waited > 8000 && waited < 13000, `expired after ${waited} ms`);
});

test('fix 8: a new conversation joins every online participant before new_conversation', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const sa = await open(a.token);
  const sb1 = await open(b.token);
  const sb2 = await open(b.token, { transports: ['websocket'] });
  const nc = once(sb2, 'new_conversation');
  const conv = await direct(a, b);
  const ev = await nc;
  assert.equal(ev.conversation._id, conv);
  // No join_conversation: both of b's sockets are already in the room.
  const m1 = once(sb1, 'new_message');
  const m2 = once(sb2, 'new_message');
  await emitAck(sa, 'send_message', { conversationId: conv, message: { content: 'first' } });
  assert.equal((await m1).message.content, 'first');
  assert.equal((await m2).message.content, 'first');
});

test('fix 10: REST actions reach sockets: send, edit, react, read, delete, archive', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sb = await open(b.token);
  const events = [];
  for (const ev of ['new_message', 'message_received', 'conversation_updated', 'message_updated',
    'message_read', 'message_deleted']) {
    sb.on(ev, (d) => events.push([ev, d]));
  }
  const sent = await api('POST', `/api/conversations/${conv}/messages`, { token: a.token, body: { content: 'rest' } });
  assert.equal(sent.status, 201);
  const mid = sent.body._id;
  await api('PUT', `/api/messages/${mid}`, { token: a.token, body: { content: 'edited' } });
  await api('POST', `/api/messages/${mid}/reaction`, { token: a.token, body: { reaction: '👍' } });
  await api('POST', `/api/messages/${mid}/read`, { token: b.token });
  await api('DELETE', `/api/messages/${mid}`, { token: a.token });
  await sleep(700);
  const names = events.map(([n]) => n);
  for (const n of ['new_message', 'message_received', 'conversation_updated', 'message_updated',
    'message_read', 'message_deleted']) {
    assert.ok(names.includes(n), `${n} missing from ${names}`);
  }
  const del = events.find(([n]) => n === 'message_deleted')[1];
  assert.deepEqual(del, { conversationId: conv, messageId: mid });
});

test('fix 14: presence is per user across sockets: offline only after the last one', async () => {
  const [a, b] = [await newUser(), await newUser()];
  await direct(a, b);
  const sb = await open(b.token);
  const status = collect(sb, 'user_online_status');
  const a1 = await open(a.token);
  const a2 = await open(a.token, { transports: ['websocket'] });
  await sleep(500);
  assert.deepEqual(status.filter((s) => s.userId === a.id).map((s) => s.isOnline), [true]);
  a1.close();
  await sleep(500);
  assert.deepEqual(status.filter((s) => s.userId === a.id).map((s) => s.isOnline), [true]);
  a2.close();
  const off = await once(sb, 'user_online_status', 3000, (s) => s.userId === a.id && !s.isOnline);
  assert.equal(off.isOnline, false);
  assert.match(off.lastSeen, /Z$/);
});

test('fix 14: presence goes only to users who share a conversation', async () => {
  const [a, b, stranger] = [await newUser(), await newUser(), await newUser()];
  await direct(a, b);
  const ss = await open(stranger.token);
  const seen = collect(ss, 'user_online_status');
  const sb = await open(b.token);
  const heard = once(sb, 'user_online_status', 3000, (s) => s.userId === a.id);
  await open(a.token);
  await heard;
  await sleep(300);
  assert.equal(seen.filter((s) => s.userId === a.id).length, 0);
});

test('user_online: a client can mark itself offline and online again', async () => {
  const [a, b] = [await newUser(), await newUser()];
  await direct(a, b);
  const sb = await open(b.token);
  const sa = await open(a.token);
  const off = once(sb, 'user_online_status', 3000, (s) => s.userId === a.id && !s.isOnline);
  assert.deepEqual(await emitAck(sa, 'user_online', { isOnline: false }), { success: true });
  await off;
  const on = once(sb, 'user_online_status', 3000, (s) => s.userId === a.id && s.isOnline);
  assert.deepEqual(await emitAck(sa, 'user_online', { isOnline: true }), { success: true });
  await on;
  assert.equal((await emitAck(sa, 'user_online', { isOnline: 'yes' })).success, false);
});

test('leave_conversation: the socket stops receiving that room', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token);
  assert.deepEqual(await emitAck(sb, 'leave_conversation', { conversationId: conv }), { success: true });
  const got = collect(sb, 'new_message');
  await emitAck(sa, 'send_message', { conversationId: conv, message: { content: 'gone?' } });
  await sleep(500);
  assert.equal(got.length, 0);
  assert.deepEqual(await emitAck(sb, 'join_conversation', { conversationId: conv }), { success: true });
  const back = once(sb, 'new_message');
  await emitAck(sa, 'send_message', { conversationId: conv, message: { content: 'back' } });
  assert.equal((await back).message.content, 'back');
});

test('reconnect, then afterSeq catches up with nothing missing', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  let sb = await open(b.token);
  const seen = collect(sb, 'new_message');
  for (let i = 1; i <= 3; i++) {
    await emitAck(sa, 'send_message', { conversationId: conv, message: { content: `m${i}` } });
  }
  await sleep(300);
  const lastSeq = Math.max(...seen.map((e) => e.message.seq));
  sb.close();
  for (let i = 4; i <= 8; i++) {
    await emitAck(sa, 'send_message', { conversationId: conv, message: { content: `m${i}` } });
  }
  sb = await open(b.token);
  const r = await api('GET', `/api/conversations/${conv}/messages?afterSeq=${lastSeq}`, { token: b.token });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.messages.map((m) => m.content), ['m4', 'm5', 'm6', 'm7', 'm8']);
  assert.deepEqual(r.body.messages.map((m) => m.seq), [4, 5, 6, 7, 8]);
});

test('acks keep coming on one socket while another client searches and sends', { timeout: 60000 }, async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token);
  const sb = await open(b.token);
  let stop = false;
  const load = (async () => {
    let n = 0;
    while (!stop) {
      await Promise.all([
        api('GET', '/api/messages/search?q=m&limit=100', { token: b.token }),
        api('POST', `/api/conversations/${conv}/messages`, { token: b.token, body: { content: `load ${n}` } }),
        emitAck(sb, 'send_message', { conversationId: conv, message: { content: `sock ${n}` } }),
      ]);
      n += 1;
    }
    return n;
  })();
  let acks = 0;
  for (let i = 0; i < 100; i++) {
    const r = await emitAck(sa, 'typing_start', { conversationId: conv });
    assert.deepEqual(r, { success: true });
    acks += 1;
  }
  stop = true;
  const rounds = await load;
  assert.equal(acks, 100);
  assert.ok(rounds > 0);
});

test('fix 14: sockets that close right after connecting leave no ghost presence in Redis', async () => {
  const { execFileSync } = await import('node:child_process');
  const [a, b] = [await newUser(), await newUser()];
  await direct(a, b);
  const sb = await open(b.token);
  const quick = await Promise.all(Array.from({ length: 10 }, () => connect(a.token)));
  for (const s of quick) s.close();
  await once(sb, 'user_online_status', 5000, (s) => s.userId === a.id && !s.isOnline);
  await sleep(500);
  const zcard = execFileSync('redis-cli', ['-p', process.env.REDIS_PORT, 'ZCARD', `presence:${a.id}`])
    .toString().trim();
  assert.equal(zcard, '0');
  const online = execFileSync('redis-cli', ['-p', process.env.REDIS_PORT, 'EXISTS', `user:${a.id}:online`])
    .toString().trim();
  assert.equal(online, '0');
});

test('a flood of socket events is queued, answered, and does not exhaust the worker', { timeout: 120000 }, async () => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = await direct(a, b);
  const sa = await open(a.token, { transports: ['websocket'] });
  const ghost = new ObjectId().toHexString();
  const N = 9000;
  // Each mark_read is a job on a task thread; without a bound on tasks in
  // flight 9000 at once need 18000 descriptors (more than the worker has).
  const acks = await Promise.all(Array.from({ length: N }, () =>
    sa.timeout(100000).emitWithAck('mark_read', { messageId: ghost, conversationId: conv })));
  assert.equal(acks.length, N);
  assert.ok(acks.every((r) => r.success === false && typeof r.error === 'string'));
  // The same socket and the REST side still work.
  assert.deepEqual(await emitAck(sa, 'join_conversation', { conversationId: conv }), { success: true });
  assert.equal((await api('GET', '/api/health')).status, 200);
});
