// Amplifiers: one client must not turn into a flood at everyone else.
// Typing is announced per user and conversation only when it changes
// (renewed at most every 3 s while it lasts), and a user has at most
// MAX_SOCKETS_PER_USER (default 20) sockets across workers and nodes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { io } from 'socket.io-client';
import { BASE, collect, connect, newUser, sleep } from './helpers.mjs';
import { group, redis } from './chat-helpers.mjs';

const sockets = [];
after(() => { for (const s of sockets) s.close(); });

async function open(token, opts = {}) {
  const s = await connect(token, { transports: ['websocket'], ...opts });
  sockets.push(s);
  return s;
}

function ack(socket, event, payload) {
  return socket.timeout(60000).emitWithAck(event, payload);
}

// Resolves with the socket, or with the connect_error.
function tryConnect(token, transports) {
  return new Promise((resolve) => {
    const s = io(`${BASE}/chat`, { auth: { token }, forceNew: true, reconnection: false, transports });
    const timer = setTimeout(() => { s.close(); resolve(new Error('timeout')); }, 15000);
    s.once('connect', () => { clearTimeout(timer); sockets.push(s); resolve(s); });
    s.once('connect_error', (err) => { clearTimeout(timer); s.close(); resolve(err); });
  });
}

test('amplifier: 1,000 typing_start from one socket are one user_typing at each member (renewed at most every 3 s)', { timeout: 120000 }, async (t) => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const cid = (await group(a, [b, c], 'typists'))._id;
  const sa = await open(a.token);
  const members = [await open(b.token), await open(c.token, { transports: ['polling'] })];
  const heard = members.map((s) => collect(s, 'user_typing'));

  const t0 = Date.now();
  const acks = await Promise.all(Array.from({ length: 1000 }, () =>
    ack(sa, 'typing_start', { conversationId: cid })));
  const took = Date.now() - t0;
  assert.ok(acks.every((r) => r.success === true));
  await sleep(1000);
  const allowed = 1 + Math.ceil((took + 1000) / 3000);
  for (const got of heard) {
    const on = got.filter((e) => e.userId === a.id && e.isTyping);
    t.diagnostic(`1,000 typing_start in ${took} ms: ${on.length} user_typing at a member`);
    assert.ok(on.length >= 1, 'the start is announced');
    assert.ok(on.length <= allowed, `${on.length} announcements for 1,000 starts in ${took} ms`);
    assert.equal(on[0].conversationId, cid);
    assert.equal(on[0].user.id, a.id);
  }

  // 1,000 stops: one change, one announcement.
  for (const got of heard) got.length = 0;
  await Promise.all(Array.from({ length: 1000 }, () =>
    ack(sa, 'typing_stop', { conversationId: cid })));
  await sleep(1000);
  for (const got of heard) {
    assert.deepEqual(got.map((e) => e.isTyping), [false]);
  }
  assert.equal(redis('EXISTS', `typing:${cid}:${a.id}`), '0');
});

test('amplifier: alternating typing_start/typing_stop is folded, and the last state is what members see', { timeout: 120000 }, async (t) => {
  const [a, b] = [await newUser(), await newUser()];
  const cid = (await group(a, [b], 'flip-flop'))._id;
  const sa = await open(a.token);
  const sb = await open(b.token);
  const got = collect(sb, 'user_typing');

  const t0 = Date.now();
  for (let i = 0; i < 300; i++) {
    sa.emit('typing_start', { conversationId: cid });
    sa.emit('typing_stop', { conversationId: cid });
  }
  await ack(sa, 'typing_stop', { conversationId: cid });
  const took = Date.now() - t0;
  await sleep(1000);
  const mine = got.filter((e) => e.userId === a.id);
  t.diagnostic(`600 alternating changes in ${took} ms: ${mine.length} user_typing at the member`);
  // A burst of 5 changes, then 2 per second (each start with its stop).
  assert.ok(mine.length <= 2 * (5 + Math.ceil((took + 1000) / 500)),
    `${mine.length} announcements for 600 changes in ${took} ms`);
  assert.ok(mine.length >= 2);
  assert.equal(mine[mine.length - 1].isTyping, false, 'the last thing heard is the stop');
  // Starts and stops pair up: never two starts in a row.
  for (let i = 1; i < mine.length; i++) {
    assert.notEqual(mine[i].isTyping, mine[i - 1].isTyping, 'alternates');
  }

  // After the flood a real start is heard again once the bucket refills.
  await sleep(1500);
  got.length = 0;
  await ack(sa, 'typing_start', { conversationId: cid });
  await sleep(500);
  assert.deepEqual(got.filter((e) => e.userId === a.id).map((e) => e.isTyping), [true]);
});

test('amplifier: a user has at most 20 sockets across workers; the rest get connect_error, and a closed one frees its place', { timeout: 120000 }, async () => {
  const u = await newUser();
  // 60 at once, both transports (they spread over both workers).
  const tries = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    tryConnect(u.token, i % 2 ? ['websocket'] : ['polling'])));
  const ok = tries.filter((t) => !(t instanceof Error));
  const refused = tries.filter((t) => t instanceof Error);
  assert.equal(ok.length, 20, `${ok.length} accepted`);
  assert.equal(refused.length, 40);
  for (const e of refused) {
    assert.equal(e.message, 'Too many connections');
    assert.match(e.data.reason, /MAX_SOCKETS_PER_USER/);
  }
  assert.equal(redis('ZCARD', `sockets:${u.id}`), '20');

  // Away sockets still count.
  await Promise.all(ok.map((s) => ack(s, 'user_online', { isOnline: false })));
  assert.ok((await tryConnect(u.token, ['websocket'])) instanceof Error);

  // Closing one frees a place (once its close is counted).
  ok[0].close();
  let again;
  for (let i = 0; i < 50; i++) {
    again = await tryConnect(u.token, ['websocket']);
    if (!(again instanceof Error)) break;
    await sleep(100);
  }
  assert.ok(!(again instanceof Error), 'a place was freed');
  assert.ok((await tryConnect(u.token, ['polling'])) instanceof Error, 'and only one');

  // The others are unaffected.
  const other = await newUser();
  assert.ok((await tryConnect(other.token, ['websocket'])).connected);
});

test('amplifier: a bad MAX_SOCKETS_PER_USER stops start-up naming the variable', async () => {
  const out = await new Promise((resolve) => {
    const child = spawn('kore', ['-fnrc', process.env.KORE_CONF], {
      env: { PATH: process.env.PATH, JWT_SECRET: 'config-test-secret-0123456789', PORT: '1',
        MAX_SOCKETS_PER_USER: '0' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, text }); });
  });
  assert.notEqual(out.code, 0);
  assert.match(out.text, /MAX_SOCKETS_PER_USER must be a whole number from 1 to 10000/);
});
